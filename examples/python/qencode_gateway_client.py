"""Generates the Python gRPC stubs for qencode-gateway from the repository's protos.

Imported by the examples; stubs are written to a temporary directory on first use so
nothing generated is committed. After `generate()`, import from `qencode.gateway.v1`.
"""

import pathlib
import sys
import tempfile

from grpc_tools import protoc

PROTO_ROOT = pathlib.Path(__file__).resolve().parents[2] / "proto"
_generated = None


def generate() -> pathlib.Path:
    """Generates the stubs once and puts them on sys.path."""
    global _generated
    if _generated is None:
        out = pathlib.Path(tempfile.mkdtemp(prefix="qencode-gateway-stubs-"))
        include = pathlib.Path(protoc.__file__).parent / "_proto"
        files = sorted(str(p.relative_to(PROTO_ROOT)) for p in PROTO_ROOT.rglob("*.proto"))
        code = protoc.main(
            ["protoc", f"-I{PROTO_ROOT}", f"-I{include}", f"--python_out={out}", f"--grpc_python_out={out}", *files]
        )
        if code != 0:
            raise RuntimeError(f"protoc failed with exit code {code}")
        sys.path.insert(0, str(out))
        _generated = out
    return _generated
