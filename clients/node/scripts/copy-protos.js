// Copies the repository's proto/qencode into protos/ so a packed (or copied) package
// carries the exact protos it was built from. Runs at `prepare`/`prepack`; inside a
// repository checkout the loader also finds ../../proto directly, so a symlinked
// install works without it.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const source = path.resolve(__dirname, '..', '..', '..', 'proto', 'qencode');
const target = path.resolve(__dirname, '..', 'protos', 'qencode');
if (!fs.existsSync(source)) {
  // Installing from a tarball: the protos are already inside.
  process.exit(0);
}
fs.rmSync(target, { recursive: true, force: true });
fs.cpSync(source, target, { recursive: true });
