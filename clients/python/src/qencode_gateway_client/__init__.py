"""Python client for qencode-gateway.

    from qencode_gateway_client import Client, query_pb2

    with Client("localhost:50051") as client:
        task = client.create_task()
        client.start_encode(task.task_token, query_pb2.TranscodingQuery(
            source="https://example.com/video.mp4", format=[query_pb2.Format(output="mp4", size="640x360")]))
        status = client.follow_task(task.task_token, timeout=120)

The generated messages and stubs are in `qencode_gateway_client.v1`.
"""

from .client import TERMINAL_TASK_STATES, Client, new_request_id
from .errors import FieldViolation, GatewayError
from .target import Target, parse_target
from .v1 import live_stream_pb2, live_streaming_pb2, query_pb2, task_status_pb2, transcoding_pb2, watch_pb2

__all__ = [
    "Client",
    "FieldViolation",
    "GatewayError",
    "TERMINAL_TASK_STATES",
    "Target",
    "live_stream_pb2",
    "live_streaming_pb2",
    "new_request_id",
    "parse_target",
    "query_pb2",
    "task_status_pb2",
    "transcoding_pb2",
    "watch_pb2",
]
