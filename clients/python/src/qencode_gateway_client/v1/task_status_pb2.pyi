from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class TaskState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TASK_STATE_UNSPECIFIED: _ClassVar[TaskState]
    TASK_STATE_DOWNLOADING: _ClassVar[TaskState]
    TASK_STATE_QUEUED: _ClassVar[TaskState]
    TASK_STATE_ENCODING: _ClassVar[TaskState]
    TASK_STATE_SAVING: _ClassVar[TaskState]
    TASK_STATE_COMPLETED: _ClassVar[TaskState]
    TASK_STATE_SAVED: _ClassVar[TaskState]
    TASK_STATE_ERROR: _ClassVar[TaskState]
    TASK_STATE_FAILED: _ClassVar[TaskState]
    TASK_STATE_CREATED: _ClassVar[TaskState]
TASK_STATE_UNSPECIFIED: TaskState
TASK_STATE_DOWNLOADING: TaskState
TASK_STATE_QUEUED: TaskState
TASK_STATE_ENCODING: TaskState
TASK_STATE_SAVING: TaskState
TASK_STATE_COMPLETED: TaskState
TASK_STATE_SAVED: TaskState
TASK_STATE_ERROR: TaskState
TASK_STATE_FAILED: TaskState
TASK_STATE_CREATED: TaskState

class TaskStatus(_message.Message):
    __slots__ = ("state", "status", "percent", "error", "error_description", "status_url", "videos", "audios", "images", "warnings", "source_size", "duration", "incremental_tag")
    STATE_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    PERCENT_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    ERROR_DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    STATUS_URL_FIELD_NUMBER: _ClassVar[int]
    VIDEOS_FIELD_NUMBER: _ClassVar[int]
    AUDIOS_FIELD_NUMBER: _ClassVar[int]
    IMAGES_FIELD_NUMBER: _ClassVar[int]
    WARNINGS_FIELD_NUMBER: _ClassVar[int]
    SOURCE_SIZE_FIELD_NUMBER: _ClassVar[int]
    DURATION_FIELD_NUMBER: _ClassVar[int]
    INCREMENTAL_TAG_FIELD_NUMBER: _ClassVar[int]
    state: TaskState
    status: str
    percent: float
    error: bool
    error_description: str
    status_url: str
    videos: _containers.RepeatedCompositeFieldContainer[OutputStatus]
    audios: _containers.RepeatedCompositeFieldContainer[OutputStatus]
    images: _containers.RepeatedCompositeFieldContainer[OutputStatus]
    warnings: _containers.RepeatedCompositeFieldContainer[TaskWarning]
    source_size: float
    duration: float
    incremental_tag: str
    def __init__(self, state: _Optional[_Union[TaskState, str]] = ..., status: _Optional[str] = ..., percent: _Optional[float] = ..., error: _Optional[bool] = ..., error_description: _Optional[str] = ..., status_url: _Optional[str] = ..., videos: _Optional[_Iterable[_Union[OutputStatus, _Mapping]]] = ..., audios: _Optional[_Iterable[_Union[OutputStatus, _Mapping]]] = ..., images: _Optional[_Iterable[_Union[OutputStatus, _Mapping]]] = ..., warnings: _Optional[_Iterable[_Union[TaskWarning, _Mapping]]] = ..., source_size: _Optional[float] = ..., duration: _Optional[float] = ..., incremental_tag: _Optional[str] = ...) -> None: ...

class OutputStatus(_message.Message):
    __slots__ = ("state", "status", "percent", "tag", "user_tag", "profile", "url", "output_format", "bitrate", "duration", "size", "storage", "meta", "error", "error_description")
    STATE_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    PERCENT_FIELD_NUMBER: _ClassVar[int]
    TAG_FIELD_NUMBER: _ClassVar[int]
    USER_TAG_FIELD_NUMBER: _ClassVar[int]
    PROFILE_FIELD_NUMBER: _ClassVar[int]
    URL_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_FORMAT_FIELD_NUMBER: _ClassVar[int]
    BITRATE_FIELD_NUMBER: _ClassVar[int]
    DURATION_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    STORAGE_FIELD_NUMBER: _ClassVar[int]
    META_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    ERROR_DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    state: TaskState
    status: str
    percent: float
    tag: str
    user_tag: str
    profile: str
    url: str
    output_format: str
    bitrate: float
    duration: float
    size: float
    storage: _struct_pb2.Struct
    meta: _struct_pb2.Struct
    error: bool
    error_description: str
    def __init__(self, state: _Optional[_Union[TaskState, str]] = ..., status: _Optional[str] = ..., percent: _Optional[float] = ..., tag: _Optional[str] = ..., user_tag: _Optional[str] = ..., profile: _Optional[str] = ..., url: _Optional[str] = ..., output_format: _Optional[str] = ..., bitrate: _Optional[float] = ..., duration: _Optional[float] = ..., size: _Optional[float] = ..., storage: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., meta: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., error: _Optional[bool] = ..., error_description: _Optional[str] = ...) -> None: ...

class TaskWarning(_message.Message):
    __slots__ = ("message", "details", "tag")
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    DETAILS_FIELD_NUMBER: _ClassVar[int]
    TAG_FIELD_NUMBER: _ClassVar[int]
    message: str
    details: str
    tag: str
    def __init__(self, message: _Optional[str] = ..., details: _Optional[str] = ..., tag: _Optional[str] = ...) -> None: ...
