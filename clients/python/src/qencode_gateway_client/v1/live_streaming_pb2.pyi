from qencode_gateway_client.v1 import live_stream_pb2 as _live_stream_pb2
from qencode_gateway_client.v1 import watch_pb2 as _watch_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class CreateStreamRequest(_message.Message):
    __slots__ = ("params", "extra_json")
    PARAMS_FIELD_NUMBER: _ClassVar[int]
    EXTRA_JSON_FIELD_NUMBER: _ClassVar[int]
    params: _live_stream_pb2.StreamParams
    extra_json: str
    def __init__(self, params: _Optional[_Union[_live_stream_pb2.StreamParams, _Mapping]] = ..., extra_json: _Optional[str] = ...) -> None: ...

class CreateStreamResponse(_message.Message):
    __slots__ = ("stream",)
    STREAM_FIELD_NUMBER: _ClassVar[int]
    stream: _live_stream_pb2.LiveStream
    def __init__(self, stream: _Optional[_Union[_live_stream_pb2.LiveStream, _Mapping]] = ...) -> None: ...

class GetStreamRequest(_message.Message):
    __slots__ = ("stream_id",)
    STREAM_ID_FIELD_NUMBER: _ClassVar[int]
    stream_id: str
    def __init__(self, stream_id: _Optional[str] = ...) -> None: ...

class GetStreamResponse(_message.Message):
    __slots__ = ("stream",)
    STREAM_FIELD_NUMBER: _ClassVar[int]
    stream: _live_stream_pb2.LiveStream
    def __init__(self, stream: _Optional[_Union[_live_stream_pb2.LiveStream, _Mapping]] = ...) -> None: ...

class ListStreamsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListStreamsResponse(_message.Message):
    __slots__ = ("streams",)
    STREAMS_FIELD_NUMBER: _ClassVar[int]
    streams: _containers.RepeatedCompositeFieldContainer[_live_stream_pb2.LiveStream]
    def __init__(self, streams: _Optional[_Iterable[_Union[_live_stream_pb2.LiveStream, _Mapping]]] = ...) -> None: ...

class UpdateStreamRequest(_message.Message):
    __slots__ = ("stream_id", "params", "extra_json")
    STREAM_ID_FIELD_NUMBER: _ClassVar[int]
    PARAMS_FIELD_NUMBER: _ClassVar[int]
    EXTRA_JSON_FIELD_NUMBER: _ClassVar[int]
    stream_id: str
    params: _live_stream_pb2.StreamParams
    extra_json: str
    def __init__(self, stream_id: _Optional[str] = ..., params: _Optional[_Union[_live_stream_pb2.StreamParams, _Mapping]] = ..., extra_json: _Optional[str] = ...) -> None: ...

class UpdateStreamResponse(_message.Message):
    __slots__ = ("stream",)
    STREAM_FIELD_NUMBER: _ClassVar[int]
    stream: _live_stream_pb2.LiveStream
    def __init__(self, stream: _Optional[_Union[_live_stream_pb2.LiveStream, _Mapping]] = ...) -> None: ...

class DeleteStreamRequest(_message.Message):
    __slots__ = ("stream_id",)
    STREAM_ID_FIELD_NUMBER: _ClassVar[int]
    stream_id: str
    def __init__(self, stream_id: _Optional[str] = ...) -> None: ...

class DeleteStreamResponse(_message.Message):
    __slots__ = ("status",)
    STATUS_FIELD_NUMBER: _ClassVar[int]
    status: _live_stream_pb2.StreamStatus
    def __init__(self, status: _Optional[_Union[_live_stream_pb2.StreamStatus, _Mapping]] = ...) -> None: ...

class StartStreamRequest(_message.Message):
    __slots__ = ("stream_id",)
    STREAM_ID_FIELD_NUMBER: _ClassVar[int]
    stream_id: str
    def __init__(self, stream_id: _Optional[str] = ...) -> None: ...

class StartStreamResponse(_message.Message):
    __slots__ = ("stream",)
    STREAM_FIELD_NUMBER: _ClassVar[int]
    stream: _live_stream_pb2.LiveStream
    def __init__(self, stream: _Optional[_Union[_live_stream_pb2.LiveStream, _Mapping]] = ...) -> None: ...

class StopStreamRequest(_message.Message):
    __slots__ = ("stream_id",)
    STREAM_ID_FIELD_NUMBER: _ClassVar[int]
    stream_id: str
    def __init__(self, stream_id: _Optional[str] = ...) -> None: ...

class StopStreamResponse(_message.Message):
    __slots__ = ("stream",)
    STREAM_FIELD_NUMBER: _ClassVar[int]
    stream: _live_stream_pb2.LiveStream
    def __init__(self, stream: _Optional[_Union[_live_stream_pb2.LiveStream, _Mapping]] = ...) -> None: ...

class AddPlaybackIdRequest(_message.Message):
    __slots__ = ("stream_id", "policy")
    STREAM_ID_FIELD_NUMBER: _ClassVar[int]
    POLICY_FIELD_NUMBER: _ClassVar[int]
    stream_id: str
    policy: str
    def __init__(self, stream_id: _Optional[str] = ..., policy: _Optional[str] = ...) -> None: ...

class AddPlaybackIdResponse(_message.Message):
    __slots__ = ("stream",)
    STREAM_FIELD_NUMBER: _ClassVar[int]
    stream: _live_stream_pb2.LiveStream
    def __init__(self, stream: _Optional[_Union[_live_stream_pb2.LiveStream, _Mapping]] = ...) -> None: ...

class RemovePlaybackIdRequest(_message.Message):
    __slots__ = ("stream_id", "playback_id")
    STREAM_ID_FIELD_NUMBER: _ClassVar[int]
    PLAYBACK_ID_FIELD_NUMBER: _ClassVar[int]
    stream_id: str
    playback_id: str
    def __init__(self, stream_id: _Optional[str] = ..., playback_id: _Optional[str] = ...) -> None: ...

class RemovePlaybackIdResponse(_message.Message):
    __slots__ = ("stream",)
    STREAM_FIELD_NUMBER: _ClassVar[int]
    stream: _live_stream_pb2.LiveStream
    def __init__(self, stream: _Optional[_Union[_live_stream_pb2.LiveStream, _Mapping]] = ...) -> None: ...

class AddSimulcastTargetRequest(_message.Message):
    __slots__ = ("stream_id", "url", "stream_key")
    STREAM_ID_FIELD_NUMBER: _ClassVar[int]
    URL_FIELD_NUMBER: _ClassVar[int]
    STREAM_KEY_FIELD_NUMBER: _ClassVar[int]
    stream_id: str
    url: str
    stream_key: str
    def __init__(self, stream_id: _Optional[str] = ..., url: _Optional[str] = ..., stream_key: _Optional[str] = ...) -> None: ...

class AddSimulcastTargetResponse(_message.Message):
    __slots__ = ("stream",)
    STREAM_FIELD_NUMBER: _ClassVar[int]
    stream: _live_stream_pb2.LiveStream
    def __init__(self, stream: _Optional[_Union[_live_stream_pb2.LiveStream, _Mapping]] = ...) -> None: ...

class RemoveSimulcastTargetRequest(_message.Message):
    __slots__ = ("stream_id", "target_id")
    STREAM_ID_FIELD_NUMBER: _ClassVar[int]
    TARGET_ID_FIELD_NUMBER: _ClassVar[int]
    stream_id: str
    target_id: str
    def __init__(self, stream_id: _Optional[str] = ..., target_id: _Optional[str] = ...) -> None: ...

class RemoveSimulcastTargetResponse(_message.Message):
    __slots__ = ("stream",)
    STREAM_FIELD_NUMBER: _ClassVar[int]
    stream: _live_stream_pb2.LiveStream
    def __init__(self, stream: _Optional[_Union[_live_stream_pb2.LiveStream, _Mapping]] = ...) -> None: ...

class WatchStreamRequest(_message.Message):
    __slots__ = ("stream_id",)
    STREAM_ID_FIELD_NUMBER: _ClassVar[int]
    stream_id: str
    def __init__(self, stream_id: _Optional[str] = ...) -> None: ...

class WatchStreamResponse(_message.Message):
    __slots__ = ("kind", "stream", "stale")
    KIND_FIELD_NUMBER: _ClassVar[int]
    STREAM_FIELD_NUMBER: _ClassVar[int]
    STALE_FIELD_NUMBER: _ClassVar[int]
    kind: _watch_pb2.WatchEventKind
    stream: _live_stream_pb2.LiveStream
    stale: _watch_pb2.UpstreamUnavailable
    def __init__(self, kind: _Optional[_Union[_watch_pb2.WatchEventKind, str]] = ..., stream: _Optional[_Union[_live_stream_pb2.LiveStream, _Mapping]] = ..., stale: _Optional[_Union[_watch_pb2.UpstreamUnavailable, _Mapping]] = ...) -> None: ...
