import datetime

from qencode_gateway_client.v1 import query_pb2 as _query_pb2
from qencode_gateway_client.v1 import task_status_pb2 as _task_status_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from qencode_gateway_client.v1 import watch_pb2 as _watch_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class TaskPhase(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TASK_PHASE_UNSPECIFIED: _ClassVar[TaskPhase]
    TASK_PHASE_ACTIVE: _ClassVar[TaskPhase]
    TASK_PHASE_COMPLETED: _ClassVar[TaskPhase]
    TASK_PHASE_FAILED: _ClassVar[TaskPhase]
TASK_PHASE_UNSPECIFIED: TaskPhase
TASK_PHASE_ACTIVE: TaskPhase
TASK_PHASE_COMPLETED: TaskPhase
TASK_PHASE_FAILED: TaskPhase

class CreateTaskRequest(_message.Message):
    __slots__ = ("request_id", "labels")
    class LabelsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    labels: _containers.ScalarMap[str, str]
    def __init__(self, request_id: _Optional[str] = ..., labels: _Optional[_Mapping[str, str]] = ...) -> None: ...

class CreateTaskResponse(_message.Message):
    __slots__ = ("task_token", "upload_url")
    TASK_TOKEN_FIELD_NUMBER: _ClassVar[int]
    UPLOAD_URL_FIELD_NUMBER: _ClassVar[int]
    task_token: str
    upload_url: str
    def __init__(self, task_token: _Optional[str] = ..., upload_url: _Optional[str] = ...) -> None: ...

class StartEncodeRequest(_message.Message):
    __slots__ = ("task_token", "query", "query_json", "payload", "request_id")
    TASK_TOKEN_FIELD_NUMBER: _ClassVar[int]
    QUERY_FIELD_NUMBER: _ClassVar[int]
    QUERY_JSON_FIELD_NUMBER: _ClassVar[int]
    PAYLOAD_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    task_token: str
    query: _query_pb2.TranscodingQuery
    query_json: str
    payload: str
    request_id: str
    def __init__(self, task_token: _Optional[str] = ..., query: _Optional[_Union[_query_pb2.TranscodingQuery, _Mapping]] = ..., query_json: _Optional[str] = ..., payload: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class StartEncodeResponse(_message.Message):
    __slots__ = ("status_url",)
    STATUS_URL_FIELD_NUMBER: _ClassVar[int]
    status_url: str
    def __init__(self, status_url: _Optional[str] = ...) -> None: ...

class StartEncodeProfilesRequest(_message.Message):
    __slots__ = ("task_token", "profiles", "source", "stitch", "transfer_method", "payload", "output_path_variables", "start_time", "duration", "request_id")
    class OutputPathVariablesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    TASK_TOKEN_FIELD_NUMBER: _ClassVar[int]
    PROFILES_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    STITCH_FIELD_NUMBER: _ClassVar[int]
    TRANSFER_METHOD_FIELD_NUMBER: _ClassVar[int]
    PAYLOAD_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_PATH_VARIABLES_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    DURATION_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    task_token: str
    profiles: _containers.RepeatedScalarFieldContainer[str]
    source: str
    stitch: _containers.RepeatedCompositeFieldContainer[_query_pb2.StitchItem]
    transfer_method: str
    payload: str
    output_path_variables: _containers.ScalarMap[str, str]
    start_time: float
    duration: float
    request_id: str
    def __init__(self, task_token: _Optional[str] = ..., profiles: _Optional[_Iterable[str]] = ..., source: _Optional[str] = ..., stitch: _Optional[_Iterable[_Union[_query_pb2.StitchItem, _Mapping]]] = ..., transfer_method: _Optional[str] = ..., payload: _Optional[str] = ..., output_path_variables: _Optional[_Mapping[str, str]] = ..., start_time: _Optional[float] = ..., duration: _Optional[float] = ..., request_id: _Optional[str] = ...) -> None: ...

class StartEncodeProfilesResponse(_message.Message):
    __slots__ = ("status_url",)
    STATUS_URL_FIELD_NUMBER: _ClassVar[int]
    status_url: str
    def __init__(self, status_url: _Optional[str] = ...) -> None: ...

class TranscodeRequest(_message.Message):
    __slots__ = ("query", "query_json", "payload", "request_id", "labels")
    class LabelsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    QUERY_FIELD_NUMBER: _ClassVar[int]
    QUERY_JSON_FIELD_NUMBER: _ClassVar[int]
    PAYLOAD_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    query: _query_pb2.TranscodingQuery
    query_json: str
    payload: str
    request_id: str
    labels: _containers.ScalarMap[str, str]
    def __init__(self, query: _Optional[_Union[_query_pb2.TranscodingQuery, _Mapping]] = ..., query_json: _Optional[str] = ..., payload: _Optional[str] = ..., request_id: _Optional[str] = ..., labels: _Optional[_Mapping[str, str]] = ...) -> None: ...

class TranscodeResponse(_message.Message):
    __slots__ = ("task_token", "status_url")
    TASK_TOKEN_FIELD_NUMBER: _ClassVar[int]
    STATUS_URL_FIELD_NUMBER: _ClassVar[int]
    task_token: str
    status_url: str
    def __init__(self, task_token: _Optional[str] = ..., status_url: _Optional[str] = ...) -> None: ...

class GetStatusRequest(_message.Message):
    __slots__ = ("task_tokens",)
    TASK_TOKENS_FIELD_NUMBER: _ClassVar[int]
    task_tokens: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, task_tokens: _Optional[_Iterable[str]] = ...) -> None: ...

class GetStatusResponse(_message.Message):
    __slots__ = ("statuses", "unknown_task_tokens")
    class StatusesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: _task_status_pb2.TaskStatus
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[_task_status_pb2.TaskStatus, _Mapping]] = ...) -> None: ...
    STATUSES_FIELD_NUMBER: _ClassVar[int]
    UNKNOWN_TASK_TOKENS_FIELD_NUMBER: _ClassVar[int]
    statuses: _containers.MessageMap[str, _task_status_pb2.TaskStatus]
    unknown_task_tokens: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, statuses: _Optional[_Mapping[str, _task_status_pb2.TaskStatus]] = ..., unknown_task_tokens: _Optional[_Iterable[str]] = ...) -> None: ...

class WatchStatusRequest(_message.Message):
    __slots__ = ("task_token",)
    TASK_TOKEN_FIELD_NUMBER: _ClassVar[int]
    task_token: str
    def __init__(self, task_token: _Optional[str] = ...) -> None: ...

class WatchStatusResponse(_message.Message):
    __slots__ = ("kind", "status", "stale")
    KIND_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    STALE_FIELD_NUMBER: _ClassVar[int]
    kind: _watch_pb2.WatchEventKind
    status: _task_status_pb2.TaskStatus
    stale: _watch_pb2.UpstreamUnavailable
    def __init__(self, kind: _Optional[_Union[_watch_pb2.WatchEventKind, str]] = ..., status: _Optional[_Union[_task_status_pb2.TaskStatus, _Mapping]] = ..., stale: _Optional[_Union[_watch_pb2.UpstreamUnavailable, _Mapping]] = ...) -> None: ...

class UploadFileRequest(_message.Message):
    __slots__ = ("metadata", "chunk")
    METADATA_FIELD_NUMBER: _ClassVar[int]
    CHUNK_FIELD_NUMBER: _ClassVar[int]
    metadata: UploadMetadata
    chunk: bytes
    def __init__(self, metadata: _Optional[_Union[UploadMetadata, _Mapping]] = ..., chunk: _Optional[bytes] = ...) -> None: ...

class UploadMetadata(_message.Message):
    __slots__ = ("task_token", "file_name", "size", "content_type", "upload_url", "resume_token", "offset")
    TASK_TOKEN_FIELD_NUMBER: _ClassVar[int]
    FILE_NAME_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    CONTENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    UPLOAD_URL_FIELD_NUMBER: _ClassVar[int]
    RESUME_TOKEN_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    task_token: str
    file_name: str
    size: int
    content_type: str
    upload_url: str
    resume_token: str
    offset: int
    def __init__(self, task_token: _Optional[str] = ..., file_name: _Optional[str] = ..., size: _Optional[int] = ..., content_type: _Optional[str] = ..., upload_url: _Optional[str] = ..., resume_token: _Optional[str] = ..., offset: _Optional[int] = ...) -> None: ...

class UploadFileResponse(_message.Message):
    __slots__ = ("source_uri", "bytes_stored", "resume_token")
    SOURCE_URI_FIELD_NUMBER: _ClassVar[int]
    BYTES_STORED_FIELD_NUMBER: _ClassVar[int]
    RESUME_TOKEN_FIELD_NUMBER: _ClassVar[int]
    source_uri: str
    bytes_stored: int
    resume_token: str
    def __init__(self, source_uri: _Optional[str] = ..., bytes_stored: _Optional[int] = ..., resume_token: _Optional[str] = ...) -> None: ...

class CreateUploadRequest(_message.Message):
    __slots__ = ("metadata",)
    METADATA_FIELD_NUMBER: _ClassVar[int]
    metadata: UploadMetadata
    def __init__(self, metadata: _Optional[_Union[UploadMetadata, _Mapping]] = ...) -> None: ...

class CreateUploadResponse(_message.Message):
    __slots__ = ("resume_token",)
    RESUME_TOKEN_FIELD_NUMBER: _ClassVar[int]
    resume_token: str
    def __init__(self, resume_token: _Optional[str] = ...) -> None: ...

class GetUploadRequest(_message.Message):
    __slots__ = ("task_token", "resume_token")
    TASK_TOKEN_FIELD_NUMBER: _ClassVar[int]
    RESUME_TOKEN_FIELD_NUMBER: _ClassVar[int]
    task_token: str
    resume_token: str
    def __init__(self, task_token: _Optional[str] = ..., resume_token: _Optional[str] = ...) -> None: ...

class GetUploadResponse(_message.Message):
    __slots__ = ("bytes_stored", "size")
    BYTES_STORED_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    bytes_stored: int
    size: int
    def __init__(self, bytes_stored: _Optional[int] = ..., size: _Optional[int] = ...) -> None: ...

class GetTaskRequest(_message.Message):
    __slots__ = ("task_token",)
    TASK_TOKEN_FIELD_NUMBER: _ClassVar[int]
    task_token: str
    def __init__(self, task_token: _Optional[str] = ...) -> None: ...

class GetTaskResponse(_message.Message):
    __slots__ = ("task",)
    TASK_FIELD_NUMBER: _ClassVar[int]
    task: TaskRecord
    def __init__(self, task: _Optional[_Union[TaskRecord, _Mapping]] = ...) -> None: ...

class TaskRecord(_message.Message):
    __slots__ = ("task_token", "project", "caller", "request_id", "labels", "create_time", "start_time", "update_time", "status", "query_json", "restarted_as")
    class LabelsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    TASK_TOKEN_FIELD_NUMBER: _ClassVar[int]
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    CALLER_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    QUERY_JSON_FIELD_NUMBER: _ClassVar[int]
    RESTARTED_AS_FIELD_NUMBER: _ClassVar[int]
    task_token: str
    project: str
    caller: str
    request_id: str
    labels: _containers.ScalarMap[str, str]
    create_time: _timestamp_pb2.Timestamp
    start_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    status: _task_status_pb2.TaskStatus
    query_json: str
    restarted_as: str
    def __init__(self, task_token: _Optional[str] = ..., project: _Optional[str] = ..., caller: _Optional[str] = ..., request_id: _Optional[str] = ..., labels: _Optional[_Mapping[str, str]] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., status: _Optional[_Union[_task_status_pb2.TaskStatus, _Mapping]] = ..., query_json: _Optional[str] = ..., restarted_as: _Optional[str] = ...) -> None: ...

class ListTasksRequest(_message.Message):
    __slots__ = ("page_size", "page_token", "phase", "caller", "labels", "created_after", "created_before")
    class LabelsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    PHASE_FIELD_NUMBER: _ClassVar[int]
    CALLER_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    CREATED_AFTER_FIELD_NUMBER: _ClassVar[int]
    CREATED_BEFORE_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    phase: TaskPhase
    caller: str
    labels: _containers.ScalarMap[str, str]
    created_after: _timestamp_pb2.Timestamp
    created_before: _timestamp_pb2.Timestamp
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., phase: _Optional[_Union[TaskPhase, str]] = ..., caller: _Optional[str] = ..., labels: _Optional[_Mapping[str, str]] = ..., created_after: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., created_before: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ListTasksResponse(_message.Message):
    __slots__ = ("tasks", "next_page_token")
    TASKS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    tasks: _containers.RepeatedCompositeFieldContainer[TaskRecord]
    next_page_token: str
    def __init__(self, tasks: _Optional[_Iterable[_Union[TaskRecord, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...
