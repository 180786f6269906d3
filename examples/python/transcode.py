"""CreateTask -> StartEncode -> GetStatus until the task completes, through qencode-gateway.

Usage: python3 examples/python/transcode.py [--target localhost:50051] [--timeout 120]
Exits 0 when the task completed, 1 otherwise.
"""

import argparse
import sys

import grpc

from qencode_gateway_client import follow_task, generate

generate()
from qencode.gateway.v1 import query_pb2  # noqa: E402  (generated above)
from qencode.gateway.v1 import transcoding_pb2 as pb2  # noqa: E402
from qencode.gateway.v1 import transcoding_pb2_grpc as pb2_grpc  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--target", default="localhost:50051")
    parser.add_argument("--source", default="https://example.com/video.mp4")
    parser.add_argument("--timeout", type=float, default=120.0)
    args = parser.parse_args()

    channel = grpc.insecure_channel(args.target)
    grpc.channel_ready_future(channel).result(timeout=30)
    client = pb2_grpc.TranscodingStub(channel)

    task = client.CreateTask(pb2.CreateTaskRequest(), timeout=10)
    print(f"created task {task.task_token} (direct uploads go to {task.upload_url}/{task.task_token})")

    query = query_pb2.TranscodingQuery(
        source=args.source,
        format=[
            query_pb2.Format(
                output="mp4",
                size="640x360",
                framerate=query_pb2.NumberOrString(text="29.97"),
                keyframe=query_pb2.NumberOrString(text="3s"),
                tag="360p",
            ),
            query_pb2.Format(output="thumbnail", time=0.5, tag="poster"),
        ],
    )
    started = client.StartEncode(pb2.StartEncodeRequest(task_token=task.task_token, query=query, payload="example"), timeout=10)
    print(f"started; upstream status endpoint {started.status_url}")

    return follow_task(client, task.task_token, args.timeout, outputs=("videos", "images"))


if __name__ == "__main__":
    try:
        sys.exit(main())
    except grpc.RpcError as error:
        print(f"gRPC error {error.code().name}: {error.details()}", file=sys.stderr)
        sys.exit(1)
