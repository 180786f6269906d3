from qencode_gateway_client.v1 import options_pb2 as _options_pb2
from qencode_gateway_client.v1 import query_pb2 as _query_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class StreamState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    STREAM_STATE_UNSPECIFIED: _ClassVar[StreamState]
    STREAM_STATE_CREATED: _ClassVar[StreamState]
    STREAM_STATE_STARTING: _ClassVar[StreamState]
    STREAM_STATE_WAITING: _ClassVar[StreamState]
    STREAM_STATE_LAUNCHING: _ClassVar[StreamState]
    STREAM_STATE_LIVE: _ClassVar[StreamState]
    STREAM_STATE_IDLE: _ClassVar[StreamState]
    STREAM_STATE_STOPPING: _ClassVar[StreamState]
    STREAM_STATE_STOPPED: _ClassVar[StreamState]
    STREAM_STATE_DELETED: _ClassVar[StreamState]
STREAM_STATE_UNSPECIFIED: StreamState
STREAM_STATE_CREATED: StreamState
STREAM_STATE_STARTING: StreamState
STREAM_STATE_WAITING: StreamState
STREAM_STATE_LAUNCHING: StreamState
STREAM_STATE_LIVE: StreamState
STREAM_STATE_IDLE: StreamState
STREAM_STATE_STOPPING: StreamState
STREAM_STATE_STOPPED: StreamState
STREAM_STATE_DELETED: StreamState

class StreamStatus(_message.Message):
    __slots__ = ("state", "name", "timestamp")
    STATE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    state: StreamState
    name: str
    timestamp: str
    def __init__(self, state: _Optional[_Union[StreamState, str]] = ..., name: _Optional[str] = ..., timestamp: _Optional[str] = ...) -> None: ...

class StreamParams(_message.Message):
    __slots__ = ("name", "input_format", "output_format", "stream_timeout", "framerate", "callback_url", "playback_domain", "dvr", "mode")
    NAME_FIELD_NUMBER: _ClassVar[int]
    INPUT_FORMAT_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_FORMAT_FIELD_NUMBER: _ClassVar[int]
    STREAM_TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    FRAMERATE_FIELD_NUMBER: _ClassVar[int]
    CALLBACK_URL_FIELD_NUMBER: _ClassVar[int]
    PLAYBACK_DOMAIN_FIELD_NUMBER: _ClassVar[int]
    DVR_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    name: str
    input_format: str
    output_format: str
    stream_timeout: int
    framerate: _query_pb2.NumberOrString
    callback_url: str
    playback_domain: str
    dvr: Dvr
    mode: str
    def __init__(self, name: _Optional[str] = ..., input_format: _Optional[str] = ..., output_format: _Optional[str] = ..., stream_timeout: _Optional[int] = ..., framerate: _Optional[_Union[_query_pb2.NumberOrString, _Mapping]] = ..., callback_url: _Optional[str] = ..., playback_domain: _Optional[str] = ..., dvr: _Optional[_Union[Dvr, _Mapping]] = ..., mode: _Optional[str] = ...) -> None: ...

class Dvr(_message.Message):
    __slots__ = ("enabled", "destination", "stream_source", "resolution", "format", "max_file_duration")
    ENABLED_FIELD_NUMBER: _ClassVar[int]
    DESTINATION_FIELD_NUMBER: _ClassVar[int]
    STREAM_SOURCE_FIELD_NUMBER: _ClassVar[int]
    RESOLUTION_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    MAX_FILE_DURATION_FIELD_NUMBER: _ClassVar[int]
    enabled: int
    destination: _containers.RepeatedCompositeFieldContainer[DvrDestination]
    stream_source: str
    resolution: str
    format: _containers.RepeatedScalarFieldContainer[str]
    max_file_duration: int
    def __init__(self, enabled: _Optional[int] = ..., destination: _Optional[_Iterable[_Union[DvrDestination, _Mapping]]] = ..., stream_source: _Optional[str] = ..., resolution: _Optional[str] = ..., format: _Optional[_Iterable[str]] = ..., max_file_duration: _Optional[int] = ...) -> None: ...

class DvrDestination(_message.Message):
    __slots__ = ("url", "key", "secret", "permissions", "storage_class")
    URL_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    SECRET_FIELD_NUMBER: _ClassVar[int]
    PERMISSIONS_FIELD_NUMBER: _ClassVar[int]
    STORAGE_CLASS_FIELD_NUMBER: _ClassVar[int]
    url: str
    key: str
    secret: str
    permissions: str
    storage_class: str
    def __init__(self, url: _Optional[str] = ..., key: _Optional[str] = ..., secret: _Optional[str] = ..., permissions: _Optional[str] = ..., storage_class: _Optional[str] = ...) -> None: ...

class PlaybackId(_message.Message):
    __slots__ = ("id", "policy", "playback_url", "created")
    ID_FIELD_NUMBER: _ClassVar[int]
    POLICY_FIELD_NUMBER: _ClassVar[int]
    PLAYBACK_URL_FIELD_NUMBER: _ClassVar[int]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    id: str
    policy: str
    playback_url: str
    created: str
    def __init__(self, id: _Optional[str] = ..., policy: _Optional[str] = ..., playback_url: _Optional[str] = ..., created: _Optional[str] = ...) -> None: ...

class SimulcastTarget(_message.Message):
    __slots__ = ("id", "url", "stream_key")
    ID_FIELD_NUMBER: _ClassVar[int]
    URL_FIELD_NUMBER: _ClassVar[int]
    STREAM_KEY_FIELD_NUMBER: _ClassVar[int]
    id: str
    url: str
    stream_key: str
    def __init__(self, id: _Optional[str] = ..., url: _Optional[str] = ..., stream_key: _Optional[str] = ...) -> None: ...

class LiveStream(_message.Message):
    __slots__ = ("id", "name", "status", "server_urls", "stream_key", "playback_ids", "origin_host", "origin_url", "created_at", "params", "simulcast_targets", "quality")
    class ServerUrlsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    SERVER_URLS_FIELD_NUMBER: _ClassVar[int]
    STREAM_KEY_FIELD_NUMBER: _ClassVar[int]
    PLAYBACK_IDS_FIELD_NUMBER: _ClassVar[int]
    ORIGIN_HOST_FIELD_NUMBER: _ClassVar[int]
    ORIGIN_URL_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    PARAMS_FIELD_NUMBER: _ClassVar[int]
    SIMULCAST_TARGETS_FIELD_NUMBER: _ClassVar[int]
    QUALITY_FIELD_NUMBER: _ClassVar[int]
    id: str
    name: str
    status: StreamStatus
    server_urls: _containers.ScalarMap[str, str]
    stream_key: str
    playback_ids: _containers.RepeatedCompositeFieldContainer[PlaybackId]
    origin_host: str
    origin_url: str
    created_at: str
    params: StreamParams
    simulcast_targets: _containers.RepeatedCompositeFieldContainer[SimulcastTarget]
    quality: str
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., status: _Optional[_Union[StreamStatus, _Mapping]] = ..., server_urls: _Optional[_Mapping[str, str]] = ..., stream_key: _Optional[str] = ..., playback_ids: _Optional[_Iterable[_Union[PlaybackId, _Mapping]]] = ..., origin_host: _Optional[str] = ..., origin_url: _Optional[str] = ..., created_at: _Optional[str] = ..., params: _Optional[_Union[StreamParams, _Mapping]] = ..., simulcast_targets: _Optional[_Iterable[_Union[SimulcastTarget, _Mapping]]] = ..., quality: _Optional[str] = ...) -> None: ...
