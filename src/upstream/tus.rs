//! Qencode's direct-upload storage, spoken in TUS 1.0 (the core protocol plus the
//! `creation` extension). One request per call: resuming, retrying and deciding what to
//! send next are the upload domain's business ([`crate::domain::upload`]), because only it holds
//! the bytes.
//!
//! URLs here carry the task token, which lets anyone holding it start the task, so they
//! never reach a log line or an error message.

use super::{
    client::{no_error_code, HttpClient, Operation, RawResponse},
    Deadline,
};
use crate::support::error::{Error, ErrorKind};
use crate::support::reasons;
use bytes::Bytes;
use http::{header, header::HeaderName, Method, StatusCode};
use url::Url;

const TUS_VERSION: &str = "1.0.0";
const TUS_RESUMABLE: HeaderName = HeaderName::from_static("tus-resumable");
pub(crate) const UPLOAD_LENGTH: HeaderName = HeaderName::from_static("upload-length");
pub(crate) const UPLOAD_OFFSET: HeaderName = HeaderName::from_static("upload-offset");
const UPLOAD_METADATA: HeaderName = HeaderName::from_static("upload-metadata");
const OFFSET_CONTENT_TYPE: &str = "application/offset+octet-stream";
const CREATE: Operation = Operation {
    api: "transcoding",
    name: "tus_create",
    route: "/v1/upload_file/{task_token}",
    idempotent: false,
    error_code: no_error_code,
};
const PATCH: Operation = Operation {
    api: "transcoding",
    name: "tus_patch",
    route: "/v1/upload_file/{task_token}/{file_uuid}",
    idempotent: false,
    error_code: no_error_code,
};
const HEAD: Operation = Operation {
    api: "transcoding",
    name: "tus_head",
    route: "/v1/upload_file/{task_token}/{file_uuid}",
    idempotent: true,
    error_code: no_error_code,
};

/// Why a TUS request did not succeed, sorted by what the caller can do about it.
#[derive(Debug)]
pub enum TusFailure {
    /// Worth resuming: a 5xx, a transport failure or timeout, an offset conflict, or a
    /// success answer without a readable offset.
    Transient {
        /// What happened.
        error: Error,
        /// The `Upload-Offset` the answer carried (409 Conflict does), if any.
        offset: Option<u64>,
    },
    /// HEAD is not supported (405, 501, or 404 without an offset).
    NoHead,
    /// Repeating will not help.
    Fatal(Error),
}

impl TusFailure {
    /// The error inside, whatever the kind of failure.
    pub fn into_error(self) -> Error {
        match self {
            TusFailure::Transient { error, .. } | TusFailure::Fatal(error) => error,
            TusFailure::NoHead => Error::upstream(
                ErrorKind::Internal,
                reasons::UPLOAD_PROTOCOL,
                "Qencode's storage does not support TUS HEAD",
            ),
        }
    }
}

/// A TUS client over the shared HTTP client.
#[derive(Clone)]
pub struct TusClient {
    http: HttpClient,
}

impl TusClient {
    /// A client sending through `http` (same timeouts, TLS and redirect policy).
    pub fn new(http: HttpClient) -> Self {
        TusClient { http }
    }

    /// `POST <url>`: creates an upload of `length` bytes; returns its location, resolved
    /// against `url` (the storage may answer a relative `Location`).
    pub async fn create(
        &self,
        url: &Url,
        length: u64,
        metadata: Option<&str>,
        deadline: Deadline,
    ) -> Result<Url, TusFailure> {
        let mut headers = vec![
            (TUS_RESUMABLE, TUS_VERSION.to_owned()),
            (UPLOAD_LENGTH, length.to_string()),
        ];
        if let Some(metadata) = metadata {
            headers.push((UPLOAD_METADATA, metadata.to_owned()));
        }
        let response = self
            .send(CREATE, Method::POST, url, headers, None, deadline)
            .await?;
        if response.status != StatusCode::CREATED {
            return Err(refused(CREATE, &response));
        }
        resolve_location(url, &response.headers).map_err(TusFailure::Fatal)
    }

    /// `PATCH <location>`: appends `body` at `offset`; returns the new offset.
    pub async fn patch(
        &self,
        location: &Url,
        offset: u64,
        body: Bytes,
        deadline: Deadline,
    ) -> Result<u64, TusFailure> {
        let headers = vec![
            (TUS_RESUMABLE, TUS_VERSION.to_owned()),
            (UPLOAD_OFFSET, offset.to_string()),
            (header::CONTENT_TYPE, OFFSET_CONTENT_TYPE.to_owned()),
        ];
        let response = self
            .send(
                PATCH,
                Method::PATCH,
                location,
                headers,
                Some(body),
                deadline,
            )
            .await?;
        match response.status {
            StatusCode::NO_CONTENT | StatusCode::OK => {
                upload_offset(&response).ok_or_else(|| TusFailure::Transient {
                    error: protocol_error(
                        "Qencode's storage accepted a PATCH without a readable Upload-Offset",
                    ),
                    offset: None,
                })
            }
            StatusCode::CONFLICT => Err(TusFailure::Transient {
                error: Error::upstream(
                    ErrorKind::Unavailable,
                    reasons::UPLOAD_OFFSET_CONFLICT,
                    "Qencode's storage holds a different offset than the gateway sent",
                )
                .with_metadata("http_status", 409),
                offset: upload_offset(&response),
            }),
            _ => Err(refused(PATCH, &response)),
        }
    }

    /// `HEAD <location>`: how many bytes the storage holds.
    pub async fn head(&self, location: &Url, deadline: Deadline) -> Result<Head, TusFailure> {
        let headers = vec![(TUS_RESUMABLE, TUS_VERSION.to_owned())];
        let response = self
            .send(HEAD, Method::HEAD, location, headers, None, deadline)
            .await?;
        let offset = upload_offset(&response);
        match (response.status, offset) {
            (status, Some(offset)) if status.is_success() => Ok(Head {
                offset,
                length: header_count(&response.headers, &UPLOAD_LENGTH),
            }),
            (
                StatusCode::METHOD_NOT_ALLOWED
                | StatusCode::NOT_IMPLEMENTED
                | StatusCode::NOT_FOUND,
                None,
            ) => Err(TusFailure::NoHead),
            _ => Err(refused(HEAD, &response)),
        }
    }

    async fn send(
        &self,
        op: Operation,
        method: Method,
        url: &Url,
        headers: Vec<(HeaderName, String)>,
        body: Option<Bytes>,
        deadline: Deadline,
    ) -> Result<RawResponse, TusFailure> {
        self.http
            .exchange(op, method, url, &headers, body, deadline)
            .await
            .map_err(|error| match error.kind {
                // Transport failures and upstream timeouts; the caller's own deadline
                // (DEADLINE_EXCEEDED) is final.
                ErrorKind::Unavailable => TusFailure::Transient {
                    error,
                    offset: None,
                },
                _ => TusFailure::Fatal(error),
            })
    }
}

/// What HEAD tells of an upload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Head {
    /// Bytes the storage holds.
    pub offset: u64,
    /// The upload's declared `Upload-Length`, when the answer carries it (a resumed
    /// upload must declare the same size).
    pub length: Option<u64>,
}

/// `Upload-Offset` of an answer, when it is a plain number.
fn upload_offset(response: &RawResponse) -> Option<u64> {
    header_count(&response.headers, &UPLOAD_OFFSET)
}

/// A count header of an answer (`Upload-Offset`, `Upload-Length`), when it is what TUS
/// 1.0 allows: one line holding a non-negative decimal number (the space or tab HTTP
/// allows around a field value aside). Two lines are ambiguous, so unreadable: taking
/// either would resume from an offset the storage may not hold.
pub(crate) fn header_count(headers: &header::HeaderMap, name: &HeaderName) -> Option<u64> {
    let mut lines = headers.get_all(name).iter();
    let (Some(value), None) = (lines.next(), lines.next()) else {
        return None;
    };
    let text = value.to_str().ok()?.trim_matches([' ', '\t']);
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// The `Location` of a creation answer, resolved against the creation `url` (the
/// storage may answer a relative one). Not yet checked: the trusted-host rule is the
/// caller's.
pub(crate) fn resolve_location(url: &Url, headers: &header::HeaderMap) -> Result<Url, Error> {
    let location = headers
        .get(header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| protocol_error("Qencode's storage created the upload without a Location"))?;
    url.join(location.trim())
        .map_err(|_| protocol_error("Qencode's storage answered an unreadable upload Location"))
}

/// The failure an unexpected answer means, mapped by what it says about the upload.
fn refused(op: Operation, response: &RawResponse) -> TusFailure {
    let status = response.status;
    let said = body_text(&response.body);
    let message = format!(
        "Qencode's storage answered {} with HTTP {status}{said}",
        op.name
    );
    let (kind, reason) = match status.as_u16() {
        500..=599 => {
            let error = Error::upstream(
                ErrorKind::Unavailable,
                reasons::UPSTREAM_HTTP_ERROR,
                message,
            )
            .with_metadata("http_status", status.as_u16());
            return TusFailure::Transient {
                error,
                offset: None,
            };
        }
        // On creation the task token is what the storage did not find; later, the
        // upload itself has gone (expired or removed): only a new upload helps.
        404 | 410 if op.name == CREATE.name => {
            (ErrorKind::NotFound, reasons::UPLOAD_TASK_NOT_FOUND)
        }
        404 | 410 => (ErrorKind::Aborted, reasons::UPLOAD_GONE),
        413 if op.name == CREATE.name => (ErrorKind::InvalidArgument, reasons::UPLOAD_TOO_LARGE),
        401 | 403 => (ErrorKind::PermissionDenied, reasons::UPLOAD_FORBIDDEN),
        _ => (ErrorKind::Internal, reasons::UPLOAD_REFUSED),
    };
    let mut error =
        Error::upstream(kind, reason, message).with_metadata("http_status", status.as_u16());
    if kind == ErrorKind::InvalidArgument {
        error = error.with_violation(
            "metadata.size",
            "is larger than Qencode's storage accepts (Tus-Max-Size)",
        );
    }
    TusFailure::Fatal(error)
}

/// `": <text>"` for a short plain-text body, so messages say what the storage said.
pub(crate) fn body_text(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.is_empty() || text.len() > 200 || text.starts_with('<') {
        return String::new();
    }
    let clean: String = text.chars().filter(|c| !c.is_control()).collect();
    format!(": {clean}")
}

fn protocol_error(message: &str) -> Error {
    Error::upstream(ErrorKind::Unavailable, reasons::UPLOAD_PROTOCOL, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(status: u16, offset: Option<&str>, body: &str) -> RawResponse {
        let mut headers = header::HeaderMap::new();
        if let Some(offset) = offset {
            headers.insert(UPLOAD_OFFSET, offset.parse().unwrap());
        }
        RawResponse {
            status: StatusCode::from_u16(status).unwrap(),
            headers,
            body: Bytes::from(body.to_owned()),
        }
    }

    #[test]
    fn offsets_must_be_plain_numbers() {
        assert_eq!(upload_offset(&response(204, Some("42"), "")), Some(42));
        assert_eq!(upload_offset(&response(204, Some("-1"), "")), None);
        assert_eq!(upload_offset(&response(204, Some("4x"), "")), None);
        assert_eq!(upload_offset(&response(204, None, "")), None);
    }

    /// Found by `upload::properties::counts_read_exactly_what_tus_allows`: with two
    /// `Upload-Offset` lines the first one was taken.
    #[test]
    fn a_repeated_offset_is_unreadable() {
        let mut answer = response(204, Some("0"), "");
        answer
            .headers
            .append(UPLOAD_OFFSET, header::HeaderValue::from_static("0"));
        assert_eq!(upload_offset(&answer), None);
        assert_eq!(upload_offset(&response(204, Some(" 7\t"), "")), Some(7));
    }

    #[test]
    fn answers_map_by_meaning() {
        let kind = |op, status, body: &str| match refused(op, &response(status, None, body)) {
            TusFailure::Fatal(e) => (e.kind, e.reason.to_string(), e.message.clone()),
            TusFailure::Transient { error, .. } => {
                (error.kind, "transient".into(), error.message.clone())
            }
            TusFailure::NoHead => unreachable!(),
        };
        assert_eq!(kind(PATCH, 503, "<html>").1, "transient");
        assert_eq!(kind(CREATE, 404, "").0, ErrorKind::NotFound);
        assert_eq!(kind(PATCH, 404, "").0, ErrorKind::Aborted);
        assert_eq!(kind(CREATE, 413, "").0, ErrorKind::InvalidArgument);
        let (k, _, message) = kind(PATCH, 415, "Content-Type must be x");
        assert_eq!(k, ErrorKind::Internal);
        assert!(message.ends_with("HTTP 415 Unsupported Media Type: Content-Type must be x"));
    }
}
