import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class WatchEventKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    WATCH_EVENT_KIND_UNSPECIFIED: _ClassVar[WatchEventKind]
    WATCH_EVENT_KIND_SNAPSHOT: _ClassVar[WatchEventKind]
    WATCH_EVENT_KIND_CHANGE: _ClassVar[WatchEventKind]
    WATCH_EVENT_KIND_HEARTBEAT: _ClassVar[WatchEventKind]
    WATCH_EVENT_KIND_STALE: _ClassVar[WatchEventKind]
WATCH_EVENT_KIND_UNSPECIFIED: WatchEventKind
WATCH_EVENT_KIND_SNAPSHOT: WatchEventKind
WATCH_EVENT_KIND_CHANGE: WatchEventKind
WATCH_EVENT_KIND_HEARTBEAT: WatchEventKind
WATCH_EVENT_KIND_STALE: WatchEventKind

class UpstreamUnavailable(_message.Message):
    __slots__ = ("since", "failed_polls", "reason")
    SINCE_FIELD_NUMBER: _ClassVar[int]
    FAILED_POLLS_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    since: _timestamp_pb2.Timestamp
    failed_polls: int
    reason: str
    def __init__(self, since: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., failed_polls: _Optional[int] = ..., reason: _Optional[str] = ...) -> None: ...
