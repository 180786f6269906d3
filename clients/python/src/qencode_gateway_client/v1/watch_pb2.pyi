from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from typing import ClassVar as _ClassVar

DESCRIPTOR: _descriptor.FileDescriptor

class WatchEventKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    WATCH_EVENT_KIND_UNSPECIFIED: _ClassVar[WatchEventKind]
    WATCH_EVENT_KIND_SNAPSHOT: _ClassVar[WatchEventKind]
    WATCH_EVENT_KIND_CHANGE: _ClassVar[WatchEventKind]
    WATCH_EVENT_KIND_HEARTBEAT: _ClassVar[WatchEventKind]
WATCH_EVENT_KIND_UNSPECIFIED: WatchEventKind
WATCH_EVENT_KIND_SNAPSHOT: WatchEventKind
WATCH_EVENT_KIND_CHANGE: WatchEventKind
WATCH_EVENT_KIND_HEARTBEAT: WatchEventKind
