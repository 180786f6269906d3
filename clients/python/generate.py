"""Regenerates the committed gRPC stubs of qencode_gateway_client from ../../proto.

    python3 clients/python/generate.py           # rewrite src/qencode_gateway_client/v1/
    python3 clients/python/generate.py --check   # exit 1 if the committed stubs are stale

Needs grpcio-tools at exactly the version in requirements-dev.txt: protoc's output
differs between versions, so the CI check would otherwise flap.

The stubs are committed (not generated at install time) so `pip install` needs no
protoc and installs exactly what CI tested. protoc writes imports as
`from qencode.gateway.v1 import x_pb2`; they are rewritten to
`from qencode_gateway_client.v1 import x_pb2` so the stubs live inside this package
and never claim the top-level `qencode` name (Qencode's own SDK is called `qencode`).
"""

import argparse
import pathlib
import re
import sys
import tempfile

from grpc_tools import protoc

HERE = pathlib.Path(__file__).resolve().parent
PROTO_ROOT = HERE.parents[1] / "proto"
PROTO_PACKAGE_DIR = pathlib.Path("qencode/gateway/v1")
OUT = HERE / "src" / "qencode_gateway_client" / "v1"
IMPORT = re.compile(r"^from qencode\.gateway\.v1 import ", re.MULTILINE)


def generate() -> dict[str, str]:
    """Runs protoc into a temporary directory; returns {file name: rewritten text}."""
    include = pathlib.Path(protoc.__file__).parent / "_proto"
    files = sorted(str(p.relative_to(PROTO_ROOT)) for p in (PROTO_ROOT / PROTO_PACKAGE_DIR).glob("*.proto"))
    with tempfile.TemporaryDirectory(prefix="qencode-gateway-stubs-") as out:
        args = ["protoc", f"-I{PROTO_ROOT}", f"-I{include}", f"--python_out={out}", f"--pyi_out={out}", f"--grpc_python_out={out}", *files]
        if protoc.main(args) != 0:
            raise SystemExit("protoc failed")
        generated = {}
        for path in sorted((pathlib.Path(out) / PROTO_PACKAGE_DIR).iterdir()):
            # grpc_python_out writes a _grpc.py for every file; only services need one.
            text = path.read_text()
            if path.name.endswith("_pb2_grpc.py") and "class " not in text:
                continue
            generated[path.name] = IMPORT.sub("from qencode_gateway_client.v1 import ", text)
    generated["__init__.py"] = '"""Generated from proto/qencode/gateway/v1 by clients/python/generate.py; do not edit."""\n'
    return generated


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="compare instead of writing")
    args = parser.parse_args()
    generated = generate()
    existing = {p.name for p in OUT.glob("*") if p.is_file()}
    if args.check:
        stale = sorted(n for n, t in generated.items() if not (OUT / n).is_file() or (OUT / n).read_text() != t)
        stale += sorted(existing - set(generated))
        if stale:
            print("stale stubs (run python3 clients/python/generate.py):", *stale, file=sys.stderr)
            return 1
        print(f"{len(generated)} generated files are current")
        return 0
    OUT.mkdir(parents=True, exist_ok=True)
    for name in existing - set(generated):
        (OUT / name).unlink()
    for name, text in generated.items():
        (OUT / name).write_text(text)
    print(f"wrote {len(generated)} files to {OUT.relative_to(HERE)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
