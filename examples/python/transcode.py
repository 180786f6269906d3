"""CreateTask -> StartEncode -> GetStatus until the task completes, through qencode-gateway.

Usage: python3 examples/python/transcode.py [--target localhost:50051] [--timeout 120]
Needs the client package: pip install ./clients/python (from the repository root).
Exits 0 when the task completed, 1 otherwise.
"""

import argparse
import sys

from qencode_gateway_client import Client, GatewayError, query_pb2, task_status_pb2


def print_status(status):
    print(f"  {status.status:<12} {status.percent:5.1f}%")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--target", default="localhost:50051")
    parser.add_argument("--source", default="https://example.com/video.mp4")
    parser.add_argument("--timeout", type=float, default=120.0)
    args = parser.parse_args()

    with Client(args.target, timeout=10) as client:
        client.wait_ready(timeout=30)
        task = client.create_task()
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
        started = client.start_encode(task.task_token, query, payload="example")
        print(f"started; upstream status endpoint {started.status_url}")

        status = client.follow_task(task.task_token, timeout=args.timeout, on_change=print_status)
    if status.state != task_status_pb2.TASK_STATE_COMPLETED:
        print(f"task failed: {status.error_description}", file=sys.stderr)
        return 1
    for output in [*status.videos, *status.images]:
        print(f"  output {output.tag} ({output.user_tag}): {output.url}")
    print("completed")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (GatewayError, TimeoutError) as error:
        print(f"failed: {error}", file=sys.stderr)
        sys.exit(1)
