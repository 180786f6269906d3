"""CreateTask -> CreateUpload -> UploadFile (interrupted, then resumed) -> StartEncode
with the `tus:` source -> GetStatus until the task completes, through qencode-gateway.

Usage: python3 examples/python/upload.py [--target localhost:50051] [--file clip.mp4] [--mib 20]
                                         [--interrupt-at 0.6] [--timeout 120]
Without --file it writes a sample file (--mib MiB of deterministic bytes) to a temporary
directory, uploads it and removes it. Needs: pip install ./clients/python.

Resuming: CreateUpload returns the upload's resume token before any byte flows (an
UploadFile call answers only at its end, and a gateway that dies mid-call says
nothing). The first UploadFile stops after --interrupt-at of the file, as a cut
connection or a killed gateway would; its error carries `resume_token` and
`bytes_stored`, and GetUpload tells the same when there was no error to read. The second
UploadFile, possibly through another gateway process, sends only the rest.
--interrupt-at 0 uploads in one go. Exits 0 when the task completed, 1 otherwise.
"""

import argparse
import hashlib
import os
import sys
import tempfile
import time

from qencode_gateway_client import Client, GatewayError, query_pb2, task_status_pb2


def write_sample(path, size):
    """Writes `size` deterministic bytes (a sample stands in for a video: the sandbox
    does not decode it)."""
    with open(path, "wb") as f:
        counter = 0
        while size > 0:
            block = hashlib.sha256(counter.to_bytes(8, "big")).digest() * 2048
            f.write(block[:size])
            size -= min(size, len(block))
            counter += 1


def first_bytes(path, count, chunk=1 << 20):
    """The first `count` bytes of the file, in chunks: an upload cut short."""
    with open(path, "rb") as f:
        while count > 0:
            block = f.read(min(chunk, count))
            if not block:
                return
            count -= len(block)
            yield block


def upload(client, task_token, path, interrupt_at, timeout):
    """Uploads the file, interrupted after `interrupt_at` of it and resumed."""
    size = os.path.getsize(path)
    # The token first: whatever happens to the calls below, the upload can continue.
    token = client.create_upload(task_token, size, file_name=os.path.basename(path), content_type="video/mp4")
    offset = 0
    if interrupt_at > 0:
        cut = int(size * interrupt_at)
        try:
            client.upload_file(task_token, first_bytes(path, cut), size=size, resume_token=token, offset=0, timeout=timeout)
            raise SystemExit("the cut-short upload unexpectedly completed")
        except GatewayError as error:
            # Errors after the upload exists name it and say how much is stored.
            print(f"interrupted after sending {cut} bytes: {error.code.name} ({error.reason}); "
                  f"the storage holds {error.metadata.get('bytes_stored')} bytes")
            assert error.metadata.get("resume_token") == token
        # Without an error to read (the gateway died), ask: any gateway process answers.
        offset = client.get_upload(task_token, token).bytes_stored
        print(f"resuming at byte {offset}: sending the remaining {size - offset} bytes")
    return client.upload_file(task_token, path, content_type="video/mp4", resume_token=token, offset=offset, timeout=timeout)


def run(client, path, interrupt_at, timeout) -> int:
    task = client.create_task()
    print(f"created task {task.task_token}")
    size = os.path.getsize(path)
    started = time.monotonic()
    uploaded = upload(client, task.task_token, path, interrupt_at, timeout)
    print(f"uploaded {uploaded.bytes_stored} bytes in {time.monotonic() - started:.1f} s as {uploaded.source_uri}")
    if uploaded.bytes_stored != size:
        print(f"expected {size} bytes stored", file=sys.stderr)
        return 1

    query = query_pb2.TranscodingQuery(
        source=uploaded.source_uri, format=[query_pb2.Format(output="mp4", size="640x360", tag="360p")]
    )
    client.start_encode(task.task_token, query)
    print("started")
    status = client.follow_task(task.task_token, timeout=timeout, on_change=lambda s: print(f"  {s.status:<12} {s.percent:5.1f}%"))
    if status.state != task_status_pb2.TASK_STATE_COMPLETED:
        print(f"task failed: {status.error_description}", file=sys.stderr)
        return 1
    for output in status.videos:
        print(f"  output {output.tag} ({output.user_tag}): {output.url}")
    print("completed")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--target", default="localhost:50051")
    parser.add_argument("--file", help="upload this file instead of a generated sample")
    parser.add_argument("--mib", type=int, default=20, help="size of the generated sample")
    parser.add_argument("--interrupt-at", type=float, default=0.6, help="fraction sent before the simulated interruption (0: none)")
    parser.add_argument("--timeout", type=float, default=120.0)
    args = parser.parse_args()

    with Client(args.target, timeout=10) as client:
        client.wait_ready(timeout=30)
        if args.file:
            return run(client, args.file, args.interrupt_at, args.timeout)
        with tempfile.TemporaryDirectory(prefix="qencode-upload-") as tmp:
            path = os.path.join(tmp, "sample.mp4")
            write_sample(path, args.mib * 1024 * 1024)
            return run(client, path, args.interrupt_at, args.timeout)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (GatewayError, TimeoutError) as error:
        print(f"failed: {error}", file=sys.stderr)
        sys.exit(1)
