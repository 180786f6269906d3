"""The watchers bench's grpcio client: real gRPC C-core clients, as Python users run them.

Run by `cargo bench --bench watchers` (when `python3 -c "import grpc"` works, or with
BENCH_PYTHON pointing at a Python that has grpcio), or by hand:

    python3 benches/grpcio_watchers.py <host:port> <watchers> <streams per connection>

Reads task tokens from stdin, one a line, until an empty line. Connects one channel per
`streams per connection` watchers, every channel its own connection (a distinct channel
option keeps grpc-core from sharing subchannels), prints `connected` and waits for a line
on stdin (the bench reads the gateway's memory before any stream opens). Then opens
`watchers` WatchStatus streams, watching token `i % len(tokens)` on stream `i`, and
prints `open <failed>` once every stream has its first message (or has ended without
one), reading on (the bench reads the gateway's memory then), and
`done <updates> <completed>` when every stream has ended.
"""

import asyncio
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "clients", "python", "src"))

import grpc  # noqa: E402
from qencode_gateway_client.v1 import (  # noqa: E402
    task_status_pb2,
    transcoding_pb2,
    transcoding_pb2_grpc,
)

COMPLETED = task_status_pb2.TASK_STATE_COMPLETED


async def main() -> None:
    target, watchers, per_connection = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    tokens = []
    for line in sys.stdin:
        line = line.strip()
        if not line:
            break
        tokens.append(line)
    connections = -(-watchers // per_connection)
    # A distinct option per channel: grpc-core otherwise shares one subchannel (one
    # connection) between channels with the same target and arguments.
    channels = [
        grpc.aio.insecure_channel(target, options=[("grpc.channel_id", i)])
        for i in range(connections)
    ]
    for channel in channels:
        await channel.channel_ready()
    print("connected", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)

    opened = 0
    failed = 0
    updates = 0
    completed = 0
    all_open = asyncio.Event()

    def first_seen(ok: bool) -> None:
        nonlocal opened, failed
        opened += 1
        failed += 0 if ok else 1
        if opened == watchers:
            all_open.set()

    async def watch(i: int) -> None:
        nonlocal updates, completed
        stub = transcoding_pb2_grpc.TranscodingStub(channels[i // per_connection])
        call = stub.WatchStatus(transcoding_pb2.WatchStatusRequest(task_token=tokens[i % len(tokens)]))
        first = True
        try:
            async for message in call:
                if first:
                    first = False
                    first_seen(True)
                updates += 1
                if message.status.state == COMPLETED:
                    completed += 1
        except grpc.aio.AioRpcError:
            pass
        if first:
            first_seen(False)

    tasks = [asyncio.ensure_future(watch(i)) for i in range(watchers)]
    await all_open.wait()
    print(f"open {failed}", flush=True)
    await asyncio.gather(*tasks)
    print(f"done {updates} {completed}", flush=True)
    for channel in channels:
        await channel.close()


if __name__ == "__main__":
    asyncio.run(main())
