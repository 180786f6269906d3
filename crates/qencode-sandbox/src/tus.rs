//! Direct upload: the TUS 1.0 core protocol plus the `creation` extension, at
//! `/v1/upload_file/<task_token>[/<file_uuid>]`. Bytes are kept in memory; a
//! complete upload can then be used as a `tus:<file_uuid>` source.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_LENGTH, CONTENT_TYPE, LOCATION};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::BytesMut;
use futures::StreamExt;

use super::base_url::BaseUrl;
use super::fault::FaultKind;
use super::ids;
use super::middleware::AppliedFault;
use super::record::Endpoint;
use super::state::Upload;
use super::Sandbox;

const TUS_VERSION: &str = "1.0.0";
const TUS_RESUMABLE: HeaderName = HeaderName::from_static("tus-resumable");
const TUS_VERSION_HEADER: HeaderName = HeaderName::from_static("tus-version");
const TUS_EXTENSION: HeaderName = HeaderName::from_static("tus-extension");
const TUS_MAX_SIZE: HeaderName = HeaderName::from_static("tus-max-size");
const UPLOAD_LENGTH: HeaderName = HeaderName::from_static("upload-length");
const UPLOAD_OFFSET: HeaderName = HeaderName::from_static("upload-offset");
const UPLOAD_METADATA: HeaderName = HeaderName::from_static("upload-metadata");
const UPLOAD_DEFER_LENGTH: HeaderName = HeaderName::from_static("upload-defer-length");
const OFFSET_CONTENT_TYPE: &str = "application/offset+octet-stream";

/// `OPTIONS /v1/upload_file[/...]`: advertises the protocol version and
/// extensions.
pub(crate) async fn options(State(sandbox): State<Sandbox>) -> Response {
    let max = sandbox.shared.lock().config.max_upload_size;
    let mut response = tus(StatusCode::NO_CONTENT);
    let headers = response.headers_mut();
    headers.insert(TUS_VERSION_HEADER, HeaderValue::from_static(TUS_VERSION));
    headers.insert(TUS_EXTENSION, HeaderValue::from_static("creation"));
    headers.insert(TUS_MAX_SIZE, HeaderValue::from(max));
    response
}

/// `POST /v1/upload_file/<task_token>`: creates an upload of `Upload-Length`
/// bytes and answers its URL in `Location`.
pub(crate) async fn create(
    State(sandbox): State<Sandbox>,
    Path(task_token): Path<String>,
    BaseUrl(base): BaseUrl,
    headers: HeaderMap,
) -> Response {
    if let Some(rejection) = reject_version(&headers) {
        return rejection;
    }
    if headers.contains_key(UPLOAD_DEFER_LENGTH) {
        return tus_error(
            StatusCode::BAD_REQUEST,
            "Upload-Defer-Length is not supported",
        );
    }
    let Some(length) = header_u64(&headers, &UPLOAD_LENGTH) else {
        return tus_error(StatusCode::BAD_REQUEST, "Upload-Length is required");
    };
    let metadata = match headers.get(UPLOAD_METADATA).map(|v| v.to_str()) {
        None => None,
        Some(Ok(metadata)) => Some(metadata.to_string()),
        Some(Err(_)) => return tus_error(StatusCode::BAD_REQUEST, "invalid Upload-Metadata"),
    };
    let file_uuid = ids::new_file_uuid();
    {
        let mut inner = sandbox.shared.lock();
        if !ids::is_hex32(&task_token) || !inner.tasks.contains_key(&task_token) {
            return tus_error(StatusCode::NOT_FOUND, "unknown task token");
        }
        if length > inner.config.max_upload_size {
            return tus_error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "Upload-Length exceeds Tus-Max-Size",
            );
        }
        inner.uploads.insert(
            file_uuid.clone(),
            Upload {
                task_token: task_token.clone(),
                length,
                metadata,
                data: BytesMut::new(),
                received: 0,
                patching: 0,
            },
        );
    }
    let location = format!("{base}/v1/upload_file/{task_token}/{file_uuid}");
    let Ok(location) = HeaderValue::from_str(&location) else {
        return tus_error(StatusCode::INTERNAL_SERVER_ERROR, "cannot build Location");
    };
    tracing::info!(%task_token, %file_uuid, length, "upload created");
    let mut response = tus(StatusCode::CREATED);
    response.headers_mut().insert(LOCATION, location);
    response
}

/// `HEAD /v1/upload_file/<task_token>/<file_uuid>`: the current offset, from
/// which an interrupted client resumes.
pub(crate) async fn head(
    State(sandbox): State<Sandbox>,
    Path((task_token, file_uuid)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    if let Some(rejection) = reject_version(&headers) {
        return rejection;
    }
    let inner = sandbox.shared.lock();
    let Some(upload) = find(&inner.uploads, &task_token, &file_uuid) else {
        return tus(StatusCode::NOT_FOUND);
    };
    let mut response = tus(StatusCode::OK);
    let out = response.headers_mut();
    out.insert(UPLOAD_OFFSET, HeaderValue::from(upload.offset()));
    out.insert(UPLOAD_LENGTH, HeaderValue::from(upload.length));
    out.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Some(metadata) = upload
        .metadata
        .as_deref()
        .and_then(|m| HeaderValue::from_str(m).ok())
    {
        out.insert(UPLOAD_METADATA, metadata);
    }
    response
}

/// `PATCH /v1/upload_file/<task_token>/<file_uuid>`: appends the body at
/// `Upload-Offset`.
pub(crate) async fn patch(
    State(sandbox): State<Sandbox>,
    Path((task_token, file_uuid)): Path<(String, String)>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    if let Some(rejection) = reject_version(&headers) {
        return rejection;
    }
    let content_type = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok());
    if content_type.map(str::trim) != Some(OFFSET_CONTENT_TYPE) {
        return tus_error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Content-Type must be application/offset+octet-stream",
        );
    }
    let Some(offset) = header_u64(&headers, &UPLOAD_OFFSET) else {
        return tus_error(StatusCode::BAD_REQUEST, "Upload-Offset is required");
    };
    let remaining = {
        let inner = sandbox.shared.lock();
        let Some(upload) = find(&inner.uploads, &task_token, &file_uuid) else {
            return tus(StatusCode::NOT_FOUND);
        };
        if upload.offset() != offset {
            return offset_conflict(upload.offset());
        }
        upload.length.saturating_sub(offset)
    };
    if header_u64(&headers, &CONTENT_LENGTH).is_some_and(|len| len > remaining) {
        return tus_error(StatusCode::PAYLOAD_TOO_LARGE, "body exceeds Upload-Length");
    }

    if let Some(upload) = find_mut(&mut sandbox.shared.lock().uploads, &task_token, &file_uuid) {
        upload.patching += 1;
    }
    let read = read_body(body, remaining).await;
    if let Some(upload) = find_mut(&mut sandbox.shared.lock().uploads, &task_token, &file_uuid) {
        upload.patching = upload.patching.saturating_sub(1);
        upload.received += match &read {
            Ok(data) | Err(BodyError::Aborted(data)) => data.len() as u64,
            Err(BodyError::TooLarge) => 0,
        };
    }
    let (data, complete) = match read {
        Ok(data) => (data, true),
        Err(BodyError::TooLarge) => {
            return tus_error(StatusCode::PAYLOAD_TOO_LARGE, "body exceeds Upload-Length")
        }
        // The client went away mid-body: keep what arrived, as TUS servers do, so
        // it can resume from HEAD.
        Err(BodyError::Aborted(partial)) => (partial, false),
    };
    let fault = if complete {
        take_patch_fault(&sandbox)
    } else {
        None
    };
    let kept = match &fault {
        Some(FaultKind::PatchFailAfter { bytes }) => data.len().min(*bytes),
        _ => data.len(),
    };

    let new_offset = {
        let mut inner = sandbox.shared.lock();
        let Some(upload) = find_mut(&mut inner.uploads, &task_token, &file_uuid) else {
            return tus(StatusCode::NOT_FOUND);
        };
        // Another PATCH may have landed while this body was being read.
        if upload.offset() != offset {
            return offset_conflict(upload.offset());
        }
        upload.data.extend_from_slice(&data[..kept]);
        upload.offset()
    };
    tracing::debug!(%task_token, %file_uuid, offset = new_offset, "upload patched");

    if let Some(kind) = fault {
        let mut response = tus_error(StatusCode::INTERNAL_SERVER_ERROR, "upload interrupted");
        response.extensions_mut().insert(AppliedFault(kind));
        return response;
    }
    if !complete {
        return tus_error(StatusCode::BAD_REQUEST, "request body was interrupted");
    }
    let mut response = tus(StatusCode::NO_CONTENT);
    response
        .headers_mut()
        .insert(UPLOAD_OFFSET, HeaderValue::from(new_offset));
    response
}

enum BodyError {
    TooLarge,
    Aborted(BytesMut),
}

/// Reads the body, refusing more than `limit` bytes.
async fn read_body(body: Body, limit: u64) -> Result<BytesMut, BodyError> {
    let mut data = BytesMut::new();
    let mut stream = body.into_data_stream();
    while let Some(chunk) = stream.next().await {
        let Ok(chunk) = chunk else {
            return Err(BodyError::Aborted(data));
        };
        if (data.len() + chunk.len()) as u64 > limit {
            return Err(BodyError::TooLarge);
        }
        data.extend_from_slice(&chunk);
    }
    Ok(data)
}

/// Takes a queued `PatchFailAfter` if it is next in line for TUS PATCH.
fn take_patch_fault(sandbox: &Sandbox) -> Option<FaultKind> {
    let mut inner = sandbox.shared.lock();
    match inner.faults.peek(Endpoint::TusPatch) {
        Some(FaultKind::PatchFailAfter { .. }) => inner.faults.take(Endpoint::TusPatch),
        _ => None,
    }
}

fn find<'a>(
    uploads: &'a std::collections::HashMap<String, Upload>,
    task_token: &str,
    file_uuid: &str,
) -> Option<&'a Upload> {
    uploads
        .get(file_uuid)
        .filter(|upload| upload.task_token == task_token)
}

fn find_mut<'a>(
    uploads: &'a mut std::collections::HashMap<String, Upload>,
    task_token: &str,
    file_uuid: &str,
) -> Option<&'a mut Upload> {
    uploads
        .get_mut(file_uuid)
        .filter(|upload| upload.task_token == task_token)
}

/// TUS requires `Tus-Resumable` on every request but OPTIONS; a missing or
/// different version is answered 412 with the supported one.
fn reject_version(headers: &HeaderMap) -> Option<Response> {
    if headers.get(TUS_RESUMABLE).and_then(|v| v.to_str().ok()) == Some(TUS_VERSION) {
        return None;
    }
    let mut response = tus_error(
        StatusCode::PRECONDITION_FAILED,
        "Tus-Resumable 1.0.0 is required",
    );
    response
        .headers_mut()
        .insert(TUS_VERSION_HEADER, HeaderValue::from_static(TUS_VERSION));
    Some(response)
}

fn header_u64(headers: &HeaderMap, name: &HeaderName) -> Option<u64> {
    let value = headers.get(name)?.to_str().ok()?;
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    value.parse().ok()
}

fn offset_conflict(current: u64) -> Response {
    let mut response = tus_error(StatusCode::CONFLICT, "Upload-Offset does not match");
    response
        .headers_mut()
        .insert(UPLOAD_OFFSET, HeaderValue::from(current));
    response
}

/// An empty response carrying `Tus-Resumable`.
fn tus(status: StatusCode) -> Response {
    let mut response = status.into_response();
    response
        .headers_mut()
        .insert(TUS_RESUMABLE, HeaderValue::from_static(TUS_VERSION));
    response
}

/// A plain-text error carrying `Tus-Resumable`.
fn tus_error(status: StatusCode, message: &'static str) -> Response {
    let mut response = (status, message).into_response();
    response
        .headers_mut()
        .insert(TUS_RESUMABLE, HeaderValue::from_static(TUS_VERSION));
    response
}
