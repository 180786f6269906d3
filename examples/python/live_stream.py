"""A live stream's whole life through qencode-gateway's LiveStreaming service:
create -> start -> live -> add/remove a playback id and a simulcast target -> stop ->
delete -> NOT_FOUND.

Usage: python3 examples/python/live_stream.py [--target localhost:50051] [--timeout 60]
Needs: pip install ./clients/python. Exits 0 when every step behaved as documented, 1 otherwise.
"""

import argparse
import sys

import grpc

from qencode_gateway_client import Client, GatewayError, live_stream_pb2 as stream_pb2


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--target", default="localhost:50051")
    parser.add_argument("--timeout", type=float, default=60.0)
    args = parser.parse_args()

    client = Client(args.target, timeout=10)
    client.wait_ready(timeout=30)

    params = stream_pb2.StreamParams(name="python-example", input_format="rtmp", output_format="hls")
    stream = client.create_stream(params)
    print(f"created {stream.id} ({stream.status.name}); ingest at {stream.server_urls['rtmp']}")

    client.start_stream(stream.id)
    live = client.wait_for_stream(stream.id, stream_pb2.STREAM_STATE_LIVE, args.timeout)
    print(f"live; WebRTC ingest {live.server_urls.get('webrtc', '-')}")

    with_playback = client.add_playback_id(stream.id, policy="authenticated")
    playback = next(p for p in with_playback.playback_ids if p.policy == "authenticated")
    print(f"added playback id {playback.id}: {playback.playback_url}")
    client.remove_playback_id(stream.id, playback.id)

    target = client.add_simulcast_target(stream.id, "rtmp://a.rtmp.youtube.com/live2", "example-key").simulcast_targets[0]
    print(f"added simulcast target {target.id} -> {target.url}")
    client.remove_simulcast_target(stream.id, target.id)

    try:
        client.delete_stream(stream.id)
        print("deleting a live stream should have failed", file=sys.stderr)
        return 1
    except GatewayError as error:
        assert error.code == grpc.StatusCode.FAILED_PRECONDITION, error
        print(f"delete while live refused: FAILED_PRECONDITION ({error.reason}), as documented")

    client.stop_stream(stream.id)
    client.wait_for_stream(stream.id, stream_pb2.STREAM_STATE_STOPPED, args.timeout)
    deleted = client.delete_stream(stream.id)
    print(f"deleted at {deleted.timestamp}")
    try:
        client.get_stream(stream.id)
        print("a deleted stream is still there", file=sys.stderr)
        return 1
    except GatewayError as error:
        if error.code != grpc.StatusCode.NOT_FOUND:
            raise
    client.close()
    print("completed: the deleted stream is NOT_FOUND")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (GatewayError, TimeoutError, AssertionError) as error:
        print(f"failed: {error}", file=sys.stderr)
        sys.exit(1)
