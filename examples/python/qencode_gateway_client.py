"""Generates the Python gRPC stubs for qencode-gateway from the repository's protos.

Imported by the examples; stubs are written to a temporary directory on first use so
nothing generated is committed. After `generate()`, import from `qencode.gateway.v1`.
"""

import pathlib
import sys
import tempfile
import time

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


def follow_task(client, task_token, timeout, outputs=("videos",)):
    """Polls GetStatus, printing each change, until the task ends or `timeout` seconds pass.

    Returns 0 when the task completed (after printing the outputs listed in `outputs`),
    1 when it failed or timed out.
    """
    from qencode.gateway.v1 import task_status_pb2, transcoding_pb2

    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        report = client.GetStatus(transcoding_pb2.GetStatusRequest(task_tokens=[task_token]), timeout=10)
        status = report.statuses.get(task_token)
        if status is not None and (status.status, round(status.percent)) != last:
            last = (status.status, round(status.percent))
            print(f"  {status.status:<12} {status.percent:5.1f}%")
        if status is not None and status.state == task_status_pb2.TASK_STATE_COMPLETED:
            for kind in outputs:
                for output in getattr(status, kind):
                    print(f"  output {output.tag} ({output.user_tag}): {output.url}")
            print("completed")
            return 0
        if status is not None and status.error:
            print(f"task failed: {status.error_description}", file=sys.stderr)
            return 1
        time.sleep(0.5)
    print("timed out waiting for the task", file=sys.stderr)
    return 1
