"""CreateTask -> StartEncode -> GetStatus until the task completes, through qencode-gateway.

Usage: python3 examples/python/transcode.py [--target localhost:50051] [--timeout 120]
Exits 0 when the task completed, 1 otherwise.
"""

import argparse
import sys
import time

import grpc

from qencode_gateway_client import generate

generate()
from qencode.gateway.v1 import query_pb2, task_status_pb2  # noqa: E402  (generated above)
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

    deadline = time.monotonic() + args.timeout
    last = None
    while time.monotonic() < deadline:
        report = client.GetStatus(pb2.GetStatusRequest(task_tokens=[task.task_token]), timeout=10)
        status = report.statuses.get(task.task_token)
        if status is not None and (status.status, round(status.percent)) != last:
            last = (status.status, round(status.percent))
            print(f"  {status.status:<12} {status.percent:5.1f}%")
        if status is not None and status.state == task_status_pb2.TASK_STATE_COMPLETED:
            for output in list(status.videos) + list(status.images):
                print(f"  output {output.tag} ({output.user_tag}): {output.url}")
            print("completed")
            return 0
        if status is not None and status.error:
            print(f"task failed: {status.error_description}", file=sys.stderr)
            return 1
        time.sleep(0.5)
    print("timed out waiting for the task", file=sys.stderr)
    return 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except grpc.RpcError as error:
        print(f"gRPC error {error.code().name}: {error.details()}", file=sys.stderr)
        sys.exit(1)
