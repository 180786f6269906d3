"""The client package end to end: create -> start -> WatchStatus until completed, a
transcode sent twice under one request id (one task), the task list filtered by label,
then a bad request whose BadRequest detail must name the offending field. The gateway
needs a ledger (GATEWAY_DATABASE_URL, on by default) for the request id and the list.

Usage: python3 clients/python/examples/transcode.py [--target localhost:50051] [--ca ca.pem] [--timeout 60] [--quick]
--target takes host:port, http://host:port or https://host:port (--ca: PEM of a private
CA); --quick skips the two tasks and makes only the bad request (CI uses it to try each
form of --target).
Exits 0 when both behaved as documented, 1 otherwise (CI runs it on the sandbox).
"""

import argparse
import sys

import grpc

from qencode_gateway_client import Client, GatewayError, new_request_id, query_pb2, task_status_pb2


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--target", default="localhost:50051")
    parser.add_argument("--ca", help="PEM file of the CA that signs the gateway's certificate")
    parser.add_argument("--timeout", type=float, default=60.0)
    parser.add_argument("--quick", action="store_true", help="only the bad request")
    args = parser.parse_args()

    ca = None
    if args.ca:
        with open(args.ca, "rb") as file:
            ca = file.read()
    with Client(args.target, ca=ca, timeout=10) as client:
        client.wait_ready(timeout=30)
        if args.quick:
            return bad_request(client)
        task = client.create_task()
        query = query_pb2.TranscodingQuery(
            source="https://example.com/video.mp4", format=[query_pb2.Format(output="mp4", size="640x360")]
        )
        client.start_encode(task.task_token, query)
        print(f"started {task.task_token}")
        final = None
        for status in client.watch(task.task_token, timeout=args.timeout):
            print(f"  {status.status:<12} {status.percent:5.1f}%")
            final = status
        if final is None or final.state != task_status_pb2.TASK_STATE_COMPLETED:
            print("the task did not complete", file=sys.stderr)
            return 1
        print("completed")

        # The same from a transcoding profile saved in the account (the sandbox knows
        # the ids Qencode's own examples use).
        task = client.create_task()
        client.start_encode_profiles(task.task_token, ["5adb0584aa43b"], source="https://example.com/video.mp4")
        print(f"started {task.task_token} from a profile")
        final = None
        for status in client.watch(task.task_token, timeout=args.timeout):
            final = status
        if final is None or final.state != task_status_pb2.TASK_STATE_COMPLETED:
            print("the profile task did not complete", file=sys.stderr)
            return 1
        print(f"completed from a profile: {len(final.videos)} video output(s)")
        if ledger(client, query) != 0:
            return 1
        return bad_request(client)


def ledger(client: Client, query: query_pb2.TranscodingQuery) -> int:
    # A repeat under the same request id (as after a lost answer) gets the same task.
    request_id, run = new_request_id(), new_request_id()
    first = client.transcode(query, request_id=request_id, labels={"example": run})
    again = client.transcode(query, request_id=request_id, labels={"example": run})
    second = client.transcode(query, request_id=new_request_id(), labels={"example": run})
    if first.task_token != again.task_token or second.task_token == first.task_token:
        print("one request id should mean one task", file=sys.stderr)
        return 1
    record = client.get_task(first.task_token)
    listed = [t.task_token for t in client.tasks(labels={"example": run}, page_size=1)]
    print(f"ledger: {record.task_token} request_id={record.request_id} listed={len(listed)}")
    if record.request_id != request_id or listed != [second.task_token, first.task_token]:
        print(f"expected both tasks, newest first: {listed}", file=sys.stderr)
        return 1
    return 0


def bad_request(client: Client) -> int:
    # No task tokens at all: the gateway refuses it before any upstream call.
    try:
        client.get_status()
        print("an empty GetStatus should have failed", file=sys.stderr)
        return 1
    except GatewayError as error:
        fields = [v.field for v in error.field_violations]
        print(f"bad request: {error.code.name} reason={error.reason} fields={fields}")
        if error.code != grpc.StatusCode.INVALID_ARGUMENT or "task_tokens" not in fields:
            print("expected INVALID_ARGUMENT naming task_tokens", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (GatewayError, TimeoutError, grpc.FutureTimeoutError, ValueError) as error:
        print(f"failed: {str(error) or type(error).__name__}", file=sys.stderr)
        sys.exit(1)
