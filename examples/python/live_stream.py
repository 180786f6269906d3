"""A live stream's whole life through qencode-gateway's LiveStreaming service:
create -> start -> live -> add/remove a playback id and a simulcast target -> stop ->
delete -> NOT_FOUND.

Usage: python3 examples/python/live_stream.py [--target localhost:50051] [--timeout 60]
Exits 0 when every step behaved as documented, 1 otherwise.
"""

import argparse
import sys
import time

import grpc

from qencode_gateway_client import generate

generate()
from qencode.gateway.v1 import live_stream_pb2 as stream_pb2  # noqa: E402  (generated above)
from qencode.gateway.v1 import live_streaming_pb2 as pb2  # noqa: E402
from qencode.gateway.v1 import live_streaming_pb2_grpc as pb2_grpc  # noqa: E402


def wait_for(client, stream_id, state, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        stream = client.GetStream(pb2.GetStreamRequest(stream_id=stream_id), timeout=10).stream
        if stream.status.state == state:
            return stream
        time.sleep(0.2)
    raise TimeoutError(f"stream never reached {stream_pb2.StreamState.Name(state)}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--target", default="localhost:50051")
    parser.add_argument("--timeout", type=float, default=60.0)
    args = parser.parse_args()

    channel = grpc.insecure_channel(args.target)
    grpc.channel_ready_future(channel).result(timeout=30)
    client = pb2_grpc.LiveStreamingStub(channel)

    params = stream_pb2.StreamParams(name="python-example", input_format="rtmp", output_format="hls")
    stream = client.CreateStream(pb2.CreateStreamRequest(params=params), timeout=10).stream
    print(f"created {stream.id} ({stream.status.name}); ingest at {stream.server_urls['rtmp']}")

    client.StartStream(pb2.StartStreamRequest(stream_id=stream.id), timeout=10)
    live = wait_for(client, stream.id, stream_pb2.STREAM_STATE_LIVE, args.timeout)
    print(f"live; WebRTC ingest {live.server_urls.get('webrtc', '-')}")

    with_playback = client.AddPlaybackId(pb2.AddPlaybackIdRequest(stream_id=stream.id, policy="authenticated"), timeout=10).stream
    playback = next(p for p in with_playback.playback_ids if p.policy == "authenticated")
    print(f"added playback id {playback.id}: {playback.playback_url}")
    client.RemovePlaybackId(pb2.RemovePlaybackIdRequest(stream_id=stream.id, playback_id=playback.id), timeout=10)

    target_request = pb2.AddSimulcastTargetRequest(stream_id=stream.id, url="rtmp://a.rtmp.youtube.com/live2", stream_key="example-key")
    target = client.AddSimulcastTarget(target_request, timeout=10).stream.simulcast_targets[0]
    print(f"added simulcast target {target.id} -> {target.url}")
    client.RemoveSimulcastTarget(pb2.RemoveSimulcastTargetRequest(stream_id=stream.id, target_id=target.id), timeout=10)

    try:
        client.DeleteStream(pb2.DeleteStreamRequest(stream_id=stream.id), timeout=10)
        print("deleting a live stream should have failed", file=sys.stderr)
        return 1
    except grpc.RpcError as error:
        assert error.code() == grpc.StatusCode.FAILED_PRECONDITION, error
        print("delete while live refused: FAILED_PRECONDITION, as documented")

    client.StopStream(pb2.StopStreamRequest(stream_id=stream.id), timeout=10)
    wait_for(client, stream.id, stream_pb2.STREAM_STATE_STOPPED, args.timeout)
    deleted = client.DeleteStream(pb2.DeleteStreamRequest(stream_id=stream.id), timeout=10)
    print(f"deleted at {deleted.status.timestamp}")
    try:
        client.GetStream(pb2.GetStreamRequest(stream_id=stream.id), timeout=10)
        print("a deleted stream is still there", file=sys.stderr)
        return 1
    except grpc.RpcError as error:
        if error.code() != grpc.StatusCode.NOT_FOUND:
            raise
    print("completed: the deleted stream is NOT_FOUND")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (grpc.RpcError, TimeoutError, AssertionError) as error:
        print(f"failed: {error}", file=sys.stderr)
        sys.exit(1)
