#!/usr/bin/env python3
"""Two rules of the source tree that keep it easy to find one's way in:

- no two files under src/ share a file name (a name says which file, without its path);
- no source file under src/ or crates/*/src is over MAX_LINES lines (about 450: one
  purpose a file).

Prints each breach and exits 1 if any.
"""
import collections
import glob
import sys

MAX_LINES = 460

names = collections.defaultdict(list)
for path in glob.glob("src/**/*.rs", recursive=True):
    names[path.rsplit("/", 1)[-1]].append(path)
breaches = [f"{name} is the name of {len(paths)} files: {', '.join(sorted(paths))}"
            for name, paths in sorted(names.items()) if len(paths) > 1 and name not in ("lib.rs", "main.rs")]
for path in sorted(glob.glob("src/**/*.rs", recursive=True) + glob.glob("crates/*/src/**/*.rs", recursive=True)):
    with open(path, encoding="utf-8") as f:
        lines = sum(1 for _ in f)
    if lines > MAX_LINES:
        breaches.append(f"{path} has {lines} lines (at most {MAX_LINES})")
for breach in breaches:
    print(breach)
if breaches:
    sys.exit(1)
print(f"{sum(len(p) for p in names.values())} files under src/, names distinct, none over {MAX_LINES} lines")
