"""A small synchronous client for qencode-gateway over grpcio.

Every method is one RPC (or a loop of them for the helpers); every failure is raised as
GatewayError with the gateway's error details decoded. The raw stubs stay reachable as
`client.transcoding` and `client.live` for anything not wrapped here.
"""

from __future__ import annotations

import datetime
import os
import time
import uuid
from typing import Callable, Iterable, Iterator, Mapping, Optional, Sequence, TypeVar, Union

import grpc
from google.protobuf import timestamp_pb2

from .errors import GatewayError
from .target import parse_target
from .v1 import live_stream_pb2 as stream_pb2
from .v1 import live_streaming_pb2 as live_pb2
from .v1 import live_streaming_pb2_grpc as live_grpc
from .v1 import query_pb2
from .v1 import task_status_pb2
from .v1 import transcoding_pb2 as pb2
from .v1 import transcoding_pb2_grpc as pb2_grpc
from .v1 import watch_pb2

T = TypeVar("T")

# States after which a task's status never changes.
TERMINAL_TASK_STATES = frozenset(
    {task_status_pb2.TASK_STATE_COMPLETED, task_status_pb2.TASK_STATE_ERROR, task_status_pb2.TASK_STATE_FAILED}
)
# Bytes per UploadFile message: well under gRPC's default 4 MiB message limit.
UPLOAD_CHUNK_BYTES = 256 * 1024


def new_request_id() -> str:
    """A fresh request id (a UUID v4) for `transcode`, `create_task`, `start_encode` and
    `start_encode_profiles`.

    Make one per submission and pass the same one again when repeating that submission
    after a failure whose outcome is unknown (UNAVAILABLE, DEADLINE_EXCEEDED, a dropped
    connection): within 24 h the gateway then returns the first call's answer instead of
    creating or starting another task. The client does not retry by itself.
    """
    return str(uuid.uuid4())


def _timestamp(value: Union[None, datetime.datetime, timestamp_pb2.Timestamp]) -> Optional[timestamp_pb2.Timestamp]:
    if value is None or isinstance(value, timestamp_pb2.Timestamp):
        return value
    if value.tzinfo is None:
        raise ValueError("pass an aware datetime (with tzinfo), e.g. datetime.now(timezone.utc)")
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(value.astimezone(datetime.timezone.utc))
    return stamp


def _query_kind(query: Optional[query_pb2.TranscodingQuery], query_json: Optional[str]) -> dict:
    if (query is None) == (query_json is None):
        raise ValueError("pass exactly one of query and query_json")
    return {"query": query} if query is not None else {"query_json": query_json}


def _open_channel(target: str, credentials: Optional[grpc.ChannelCredentials], ca: Optional[bytes]) -> grpc.Channel:
    address, tls = parse_target(target)
    if credentials is not None and ca is not None:
        raise ValueError("pass ca or credentials, not both (credentials may carry the CA)")
    if tls is False and (credentials is not None or ca is not None):
        raise ValueError(f"gateway target {target!r} is plaintext (http://): use https:// with ca or credentials")
    if credentials is None and (tls or ca is not None):
        credentials = grpc.ssl_channel_credentials(root_certificates=ca)
    return grpc.secure_channel(address, credentials) if credentials is not None else grpc.insecure_channel(address)


class Client:
    """Calls qencode.gateway.v1 Transcoding and LiveStreaming.

    `target` is `host:port`, `[::1]:port`, `http://host:port` (plaintext) or
    `https://host:port` (TLS, checked against the system's roots, or against `ca`: PEM
    bytes of a private CA). `host:port` is plaintext unless `ca` or `credentials`
    (e.g. grpc.ssl_channel_credentials(...) for mutual TLS) is given; an `http://` target
    with either is refused. Or pass an existing `channel`. `timeout` is the deadline in
    seconds of each unary call; `metadata` is sent with every call.
    """

    def __init__(
        self,
        target: str = "localhost:50051",
        *,
        channel: Optional[grpc.Channel] = None,
        credentials: Optional[grpc.ChannelCredentials] = None,
        ca: Optional[bytes] = None,
        timeout: float = 30.0,
        metadata: Sequence[tuple[str, str]] = (),
    ):
        if channel is None:
            channel = _open_channel(target, credentials, ca)
            self._owns_channel = True
        else:
            self._owns_channel = False
        self.channel = channel
        self.timeout = timeout
        self.metadata = tuple(metadata)
        self.transcoding = pb2_grpc.TranscodingStub(channel)
        self.live = live_grpc.LiveStreamingStub(channel)

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._owns_channel:
            self.channel.close()

    def wait_ready(self, timeout: float = 30.0) -> None:
        """Blocks until the channel connects; raises grpc.FutureTimeoutError after `timeout`."""
        grpc.channel_ready_future(self.channel).result(timeout=timeout)

    def _unary(self, method: Callable[..., T], request: object, timeout: Optional[float] = None) -> T:
        try:
            return method(request, timeout=timeout or self.timeout, metadata=self.metadata)
        except grpc.RpcError as error:
            raise GatewayError.from_rpc_error(error) from error

    def _stream(self, call: Iterable[T]) -> Iterator[T]:
        try:
            yield from call
        except grpc.RpcError as error:
            raise GatewayError.from_rpc_error(error) from error
        finally:
            cancel = getattr(call, "cancel", None)
            if cancel is not None:
                cancel()  # a caller that stops iterating early must not leave the stream open

    # --- Transcoding -------------------------------------------------------------------

    # Submissions take `request_id` (see `new_request_id`: a repeat with the same id and
    # request returns the first answer; needs a gateway with a ledger) and, where the
    # proto has them, `labels` kept in the gateway's ledger (`list_tasks` filters on them).

    def create_task(self, *, request_id: str = "", labels: Optional[Mapping[str, str]] = None) -> pb2.CreateTaskResponse:
        request = pb2.CreateTaskRequest(request_id=request_id, labels=dict(labels or {}))
        return self._unary(self.transcoding.CreateTask, request)

    def start_encode(
        self,
        task_token: str,
        query: Optional[query_pb2.TranscodingQuery] = None,
        *,
        query_json: Optional[str] = None,
        payload: Optional[str] = None,
        request_id: str = "",
    ) -> pb2.StartEncodeResponse:
        request = pb2.StartEncodeRequest(
            task_token=task_token, payload=payload, request_id=request_id, **_query_kind(query, query_json)
        )
        return self._unary(self.transcoding.StartEncode, request)

    def start_encode_profiles(
        self,
        task_token: str,
        profiles: Sequence[str],
        *,
        source: Optional[str] = None,
        stitch: Optional[Sequence[query_pb2.StitchItem]] = None,
        transfer_method: Optional[str] = None,
        payload: Optional[str] = None,
        output_path_variables: Optional[dict[str, str]] = None,
        start_time: Optional[float] = None,
        duration: Optional[float] = None,
        request_id: str = "",
    ) -> pb2.StartEncodeProfilesResponse:
        """Starts a task from transcoding profiles saved in the Qencode account
        (`/v1/start_encode`); unknown profile ids are NOT_FOUND."""
        request = pb2.StartEncodeProfilesRequest(
            task_token=task_token,
            profiles=list(profiles),
            source=source,
            stitch=list(stitch or ()),
            transfer_method=transfer_method,
            payload=payload,
            output_path_variables=dict(output_path_variables or {}),
            start_time=start_time,
            duration=duration,
            request_id=request_id,
        )
        return self._unary(self.transcoding.StartEncodeProfiles, request)

    def transcode(
        self,
        query: Optional[query_pb2.TranscodingQuery] = None,
        *,
        query_json: Optional[str] = None,
        payload: Optional[str] = None,
        request_id: str = "",
        labels: Optional[Mapping[str, str]] = None,
    ) -> pb2.TranscodeResponse:
        request = pb2.TranscodeRequest(
            payload=payload, request_id=request_id, labels=dict(labels or {}), **_query_kind(query, query_json)
        )
        return self._unary(self.transcoding.Transcode, request)

    def get_task(self, task_token: str) -> pb2.TaskRecord:
        """The task as the gateway's ledger holds it (caller, labels, request id, times,
        redacted query, latest status); NOT_FOUND when the ledger does not hold it."""
        return self._unary(self.transcoding.GetTask, pb2.GetTaskRequest(task_token=task_token)).task

    def list_tasks(
        self,
        *,
        page_size: int = 0,
        page_token: str = "",
        phase: int = pb2.TASK_PHASE_UNSPECIFIED,
        caller: str = "",
        labels: Optional[Mapping[str, str]] = None,
        created_after: Union[None, datetime.datetime, timestamp_pb2.Timestamp] = None,
        created_before: Union[None, datetime.datetime, timestamp_pb2.Timestamp] = None,
    ) -> pb2.ListTasksResponse:
        """One page of the project's tasks, newest first; pass its `next_page_token` (with
        the same filters) for the next, or use `tasks`. `phase` is a TaskPhase
        (`transcoding_pb2.TASK_PHASE_ACTIVE`, ...); every label given must match."""
        request = pb2.ListTasksRequest(
            page_size=page_size,
            page_token=page_token,
            phase=phase,
            caller=caller,
            labels=dict(labels or {}),
            created_after=_timestamp(created_after),
            created_before=_timestamp(created_before),
        )
        return self._unary(self.transcoding.ListTasks, request)

    def tasks(self, **filters) -> Iterator[pb2.TaskRecord]:
        """Every task `list_tasks(**filters)` selects, following the pages (each fetched
        when the previous one is used up)."""
        page_token = filters.pop("page_token", "")
        while True:
            page = self.list_tasks(page_token=page_token, **filters)
            yield from page.tasks
            if not page.next_page_token:
                return
            page_token = page.next_page_token

    def get_status(self, *task_tokens: str) -> pb2.GetStatusResponse:
        return self._unary(self.transcoding.GetStatus, pb2.GetStatusRequest(task_tokens=task_tokens))

    def watch_status(self, task_token: str, timeout: Optional[float] = None) -> Iterator[pb2.WatchStatusResponse]:
        """The WatchStatus stream: a snapshot, then changes and heartbeats."""
        call = self.transcoding.WatchStatus(
            pb2.WatchStatusRequest(task_token=task_token), timeout=timeout, metadata=self.metadata
        )
        return self._stream(call)

    def upload_file(
        self,
        task_token: str,
        data: Union[bytes, str, os.PathLike, Iterable[bytes]],
        *,
        size: Optional[int] = None,
        file_name: str = "",
        content_type: Optional[str] = None,
        upload_url: Optional[str] = None,
        resume_token: Optional[str] = None,
        offset: Optional[int] = None,
        timeout: Optional[float] = None,
    ) -> pb2.UploadFileResponse:
        """Uploads `data` (bytes, a file path, or an iterable of chunks with `size`) as the
        task's source; use the answer's `source_uri` as the query's `source`.

        To resume an interrupted upload pass its `resume_token` (from `create_upload`,
        an earlier answer, or `GatewayError.metadata["resume_token"]`) and `offset`, the
        bytes the storage holds (`get_upload`, or `metadata["bytes_stored"]`): bytes and
        file paths are then sent from `offset` on; an iterable must yield only the rest.
        """
        start = offset or 0
        if isinstance(data, (bytes, bytearray)):
            size = len(data)
            chunks: Iterable[bytes] = (data[i : i + UPLOAD_CHUNK_BYTES] for i in range(start, len(data), UPLOAD_CHUNK_BYTES))
        elif isinstance(data, (str, os.PathLike)):
            path = os.fspath(data)
            size, file_name = os.path.getsize(path), file_name or os.path.basename(path)
            chunks = _file_chunks(path, start)
        else:
            if size is None:
                raise ValueError("size is required when data is an iterable of chunks")
            chunks = data
        metadata = pb2.UploadMetadata(
            task_token=task_token,
            file_name=file_name,
            size=size,
            content_type=content_type,
            upload_url=upload_url,
            resume_token=resume_token,
            offset=offset,
        )

        def requests() -> Iterator[pb2.UploadFileRequest]:
            yield pb2.UploadFileRequest(metadata=metadata)
            for chunk in chunks:
                yield pb2.UploadFileRequest(chunk=chunk)

        try:
            return self.transcoding.UploadFile(requests(), timeout=timeout, metadata=self.metadata)
        except grpc.RpcError as error:
            raise GatewayError.from_rpc_error(error) from error

    def create_upload(
        self,
        task_token: str,
        size: int,
        *,
        file_name: str = "",
        content_type: Optional[str] = None,
        upload_url: Optional[str] = None,
        timeout: Optional[float] = None,
    ) -> str:
        """Creates the task's upload without sending a byte; returns its resume token, so
        the upload can be resumed even when the gateway dies mid-call."""
        metadata = pb2.UploadMetadata(
            task_token=task_token, file_name=file_name, size=size, content_type=content_type, upload_url=upload_url
        )
        request = pb2.CreateUploadRequest(metadata=metadata)
        return self._unary(self.transcoding.CreateUpload, request, timeout).resume_token

    def get_upload(self, task_token: str, resume_token: str, *, timeout: Optional[float] = None) -> pb2.GetUploadResponse:
        """How many bytes of the upload the storage holds (`bytes_stored`): where a resumed
        `upload_file` starts."""
        request = pb2.GetUploadRequest(task_token=task_token, resume_token=resume_token)
        return self._unary(self.transcoding.GetUpload, request, timeout)

    # --- Transcoding helpers -----------------------------------------------------------

    def follow_task(
        self,
        task_token: str,
        timeout: float = 600.0,
        poll_interval: float = 0.5,
        on_change: Optional[Callable[[task_status_pb2.TaskStatus], None]] = None,
    ) -> task_status_pb2.TaskStatus:
        """Polls GetStatus until the task reaches a terminal state; returns that status.

        Polling works through any proxy; `watch` is the push equivalent. Raises
        TimeoutError after `timeout` seconds. `on_change` sees each new (state, percent).
        """
        deadline = time.monotonic() + timeout
        last = None
        while True:
            status = self.get_status(task_token).statuses.get(task_token)
            if status is not None:
                seen = (status.state, status.status, round(status.percent))
                if seen != last and on_change is not None:
                    on_change(status)
                last = seen
                if status.state in TERMINAL_TASK_STATES or status.error:
                    return status
            if time.monotonic() + poll_interval > deadline:
                raise TimeoutError(f"task {task_token} did not finish within {timeout} s")
            time.sleep(poll_interval)

    def watch(self, task_token: str, timeout: float = 600.0) -> Iterator[task_status_pb2.TaskStatus]:
        """Yields the task's status from WatchStatus at each snapshot and change (not
        heartbeats, nor the STALE marker of an upstream outage, which repeats the last
        status; read `watch_status` to see those), ending after a terminal state.
        `timeout` bounds the whole stream."""
        for message in self.watch_status(task_token, timeout=timeout):
            if message.kind in (watch_pb2.WATCH_EVENT_KIND_HEARTBEAT, watch_pb2.WATCH_EVENT_KIND_STALE):
                continue
            yield message.status
            if message.status.state in TERMINAL_TASK_STATES or message.status.error:
                return

    # --- LiveStreaming -----------------------------------------------------------------

    def create_stream(self, params: Optional[stream_pb2.StreamParams] = None, *, extra_json: Optional[str] = None) -> stream_pb2.LiveStream:
        return self._unary(self.live.CreateStream, live_pb2.CreateStreamRequest(params=params, extra_json=extra_json)).stream

    def get_stream(self, stream_id: str) -> stream_pb2.LiveStream:
        return self._unary(self.live.GetStream, live_pb2.GetStreamRequest(stream_id=stream_id)).stream

    def list_streams(self) -> list[stream_pb2.LiveStream]:
        return list(self._unary(self.live.ListStreams, live_pb2.ListStreamsRequest()).streams)

    def update_stream(
        self, stream_id: str, params: Optional[stream_pb2.StreamParams] = None, *, extra_json: Optional[str] = None
    ) -> stream_pb2.LiveStream:
        request = live_pb2.UpdateStreamRequest(stream_id=stream_id, params=params, extra_json=extra_json)
        return self._unary(self.live.UpdateStream, request).stream

    def delete_stream(self, stream_id: str) -> stream_pb2.StreamStatus:
        return self._unary(self.live.DeleteStream, live_pb2.DeleteStreamRequest(stream_id=stream_id)).status

    def start_stream(self, stream_id: str) -> stream_pb2.LiveStream:
        return self._unary(self.live.StartStream, live_pb2.StartStreamRequest(stream_id=stream_id)).stream

    def stop_stream(self, stream_id: str) -> stream_pb2.LiveStream:
        return self._unary(self.live.StopStream, live_pb2.StopStreamRequest(stream_id=stream_id)).stream

    def add_playback_id(self, stream_id: str, policy: str = "public") -> stream_pb2.LiveStream:
        return self._unary(self.live.AddPlaybackId, live_pb2.AddPlaybackIdRequest(stream_id=stream_id, policy=policy)).stream

    def remove_playback_id(self, stream_id: str, playback_id: str) -> stream_pb2.LiveStream:
        request = live_pb2.RemovePlaybackIdRequest(stream_id=stream_id, playback_id=playback_id)
        return self._unary(self.live.RemovePlaybackId, request).stream

    def add_simulcast_target(self, stream_id: str, url: str, stream_key: str) -> stream_pb2.LiveStream:
        request = live_pb2.AddSimulcastTargetRequest(stream_id=stream_id, url=url, stream_key=stream_key)
        return self._unary(self.live.AddSimulcastTarget, request).stream

    def remove_simulcast_target(self, stream_id: str, target_id: str) -> stream_pb2.LiveStream:
        request = live_pb2.RemoveSimulcastTargetRequest(stream_id=stream_id, target_id=target_id)
        return self._unary(self.live.RemoveSimulcastTarget, request).stream

    def watch_stream(self, stream_id: str, timeout: Optional[float] = None) -> Iterator[live_pb2.WatchStreamResponse]:
        """The WatchStream stream; it ends by itself after a stopped or deleted state."""
        call = self.live.WatchStream(live_pb2.WatchStreamRequest(stream_id=stream_id), timeout=timeout, metadata=self.metadata)
        return self._stream(call)

    def wait_for_stream(self, stream_id: str, state: int, timeout: float = 60.0, poll_interval: float = 0.2) -> stream_pb2.LiveStream:
        """Polls GetStream until the stream is in `state` (a StreamState); TimeoutError after `timeout`."""
        deadline = time.monotonic() + timeout
        while True:
            stream = self.get_stream(stream_id)
            if stream.status.state == state:
                return stream
            if time.monotonic() + poll_interval > deadline:
                raise TimeoutError(f"stream {stream_id} never reached {stream_pb2.StreamState.Name(state)}")
            time.sleep(poll_interval)


def _file_chunks(path: str, start: int = 0) -> Iterator[bytes]:
    with open(path, "rb") as f:
        f.seek(start)
        while block := f.read(UPLOAD_CHUNK_BYTES):
            yield block
