//! Qencode Transcoding API client: form-encoded POSTs, JSON answers with an `error` code.

use super::status_answer::StatusAnswer;
use super::{
    client::{Body, HttpClient, JsonResponse, Operation},
    codes::{body_retry_after, error_code, map_code, TokenUse},
    Deadline,
};
use crate::pb::TaskStatus;
use crate::support::reasons;
use crate::{
    support::{
        error::{Error, ErrorKind},
        secret::Secret,
    },
    upstream::{
        auth::{IssuedToken, TokenCallError, TokenSource},
        lenient::string_of,
    },
};
use chrono::{NaiveDateTime, Utc};
use futures::future::BoxFuture;
use http::Method;
use serde_json::{Map, Value};
use std::{collections::BTreeMap, time::Duration};
use url::Url;

/// Lifetime assumed when the upstream's `expire` is missing, unreadable or in the past.
const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(3600);
/// Lifetimes beyond this are capped (a far-future `expire` is more likely a bug).
const MAX_TOKEN_LIFETIME: Duration = Duration::from_secs(24 * 3600);

const ACCESS_TOKEN: Operation = Operation {
    api: "transcoding",
    name: "access_token",
    route: "/v1/access_token",
    idempotent: true,
    error_code,
};
const CREATE_TASK: Operation = Operation {
    api: "transcoding",
    name: "create_task",
    route: "/v1/create_task",
    idempotent: false,
    error_code,
};
const START_ENCODE: Operation = Operation {
    api: "transcoding",
    name: "start_encode2",
    route: "/v1/start_encode2",
    idempotent: false,
    error_code,
};
const START_ENCODE_PROFILES: Operation = Operation {
    api: "transcoding",
    name: "start_encode",
    route: "/v1/start_encode",
    idempotent: false,
    error_code,
};
const STATUS: Operation = Operation {
    api: "transcoding",
    name: "status",
    route: "/v1/status",
    idempotent: true,
    error_code,
};

/// A created task.
#[derive(Debug, Clone)]
pub struct CreatedTask {
    /// The task token.
    pub task_token: String,
    /// The TUS upload endpoint.
    pub upload_url: String,
}

/// The Transcoding API at one base URL.
#[derive(Clone)]
pub struct TranscodingClient {
    http: HttpClient,
    endpoints: std::sync::Arc<Endpoints>,
}

/// Every endpoint under the base URL, joined once: building a `Url` re-parses it, which
/// showed up on every GetStatus and CreateTask.
struct Endpoints {
    access_token: Url,
    create_task: Url,
    start_encode2: Url,
    start_encode: Url,
    status: Url,
    upload_file: Url,
}

impl TranscodingClient {
    /// A client for the API at `base` (e.g. `https://api.qencode.com`).
    pub fn new(http: HttpClient, base: Url) -> Self {
        let endpoint = |path: &str| {
            let mut url = base.clone();
            let joined = format!("{}{}", url.path().trim_end_matches('/'), path);
            url.set_path(&joined);
            url
        };
        let endpoints = Endpoints {
            access_token: endpoint("/v1/access_token"),
            create_task: endpoint("/v1/create_task"),
            start_encode2: endpoint("/v1/start_encode2"),
            start_encode: endpoint("/v1/start_encode"),
            status: endpoint("/v1/status"),
            upload_file: endpoint("/v1/upload_file"),
        };
        TranscodingClient {
            http,
            endpoints: std::sync::Arc::new(endpoints),
        }
    }

    /// The main status endpoint, `<base>/v1/status`.
    pub fn main_status_url(&self) -> &Url {
        &self.endpoints.status
    }

    /// `<base>/v1/upload_file`: the upload endpoint when the task's `upload_url` is
    /// unknown (right for the sandbox; Qencode may use separate storage hosts).
    pub fn fallback_upload_url(&self) -> Url {
        self.endpoints.upload_file.clone()
    }

    /// The HTTP client underneath (direct uploads share it).
    pub fn http(&self) -> &HttpClient {
        &self.http
    }

    async fn post(
        &self,
        op: Operation,
        url: &Url,
        form: Vec<(&'static str, String)>,
        deadline: Deadline,
    ) -> Result<JsonResponse, Error> {
        self.http
            .send(op, Method::POST, url, &[], &Body::Form(form), deadline)
            .await
    }

    /// A POST Qencode may answer "busy" (8) having done nothing: sent again as
    /// [`super::busy`] allows.
    async fn post_unless_busy(
        &self,
        op: Operation,
        url: &Url,
        form: Vec<(&'static str, String)>,
        deadline: Deadline,
    ) -> Result<JsonResponse, Error> {
        super::busy::while_busy(op.name, deadline, || {
            self.post(op, url, form.clone(), deadline)
        })
        .await
    }

    /// `/v1/access_token`.
    pub async fn access_token(&self, api_key: &Secret) -> Result<IssuedToken, Error> {
        let form = vec![("api_key", api_key.expose().to_owned())];
        let response = self
            .post(
                ACCESS_TOKEN,
                &self.endpoints.access_token,
                form,
                Deadline::NONE,
            )
            .await?;
        let body = success(&response, TokenUse::ApiKey).map_err(|e| e.error)?;
        let token =
            string_of(body.get("token")).ok_or_else(|| malformed(ACCESS_TOKEN, "has no token"))?;
        let lifetime = token_lifetime(
            string_of(body.get("expire")).as_deref(),
            Utc::now().naive_utc(),
        );
        Ok(IssuedToken {
            value: Secret::new(token),
            lifetime,
        })
    }

    /// `/v1/create_task` with the session token.
    pub async fn create_task(
        &self,
        token: &Secret,
        deadline: Deadline,
    ) -> Result<CreatedTask, TokenCallError> {
        let form = vec![("token", token.expose().to_owned())];
        let response = self
            .post_unless_busy(CREATE_TASK, &self.endpoints.create_task, form, deadline)
            .await
            .map_err(TokenCallError::Other)?;
        let body = success(&response, TokenUse::SessionToken).map_err(|e| {
            if e.session_token_rejected {
                TokenCallError::TokenRejected(e.error)
            } else {
                TokenCallError::Other(e.error)
            }
        })?;
        let task_token = string_of(body.get("task_token"))
            .ok_or_else(|| TokenCallError::Other(malformed(CREATE_TASK, "has no task_token")))?;
        Ok(CreatedTask {
            task_token,
            upload_url: string_of(body.get("upload_url")).unwrap_or_default(),
        })
    }

    /// `/v1/start_encode2`; returns the `status_url` the upstream gave.
    pub async fn start_encode2(
        &self,
        task_token: &str,
        query_json: String,
        payload: Option<String>,
        deadline: Deadline,
    ) -> Result<String, Error> {
        let mut form = vec![("task_token", task_token.to_owned()), ("query", query_json)];
        if let Some(payload) = payload {
            form.push(("payload", payload));
        }
        let response = self
            .post_unless_busy(START_ENCODE, &self.endpoints.start_encode2, form, deadline)
            .await?;
        let body = success(&response, TokenUse::TaskToken).map_err(|e| e.error)?;
        Ok(string_of(body.get("status_url")).unwrap_or_default())
    }

    /// `/v1/start_encode` (a start from saved profiles) with its form fields, which
    /// include the task token; returns the `status_url` the upstream gave.
    pub async fn start_encode_profiles(
        &self,
        form: Vec<(&'static str, String)>,
        deadline: Deadline,
    ) -> Result<String, Error> {
        let response = self
            .post_unless_busy(
                START_ENCODE_PROFILES,
                &self.endpoints.start_encode,
                form,
                deadline,
            )
            .await?;
        let body = success(&response, TokenUse::TaskToken).map_err(|e| e.error)?;
        Ok(string_of(body.get("status_url")).unwrap_or_default())
    }

    /// `/v1/status` at `endpoint` (the main one or a task's master endpoint); returns the
    /// `statuses` object: each token's status, `None` where the answer has `null` (an
    /// unknown token) or no status object.
    ///
    /// Read straight into protobuf ([`StatusAnswer`]); only an answer that is not a
    /// success is read again as a `Value`, to map its error like every other answer.
    pub async fn status(
        &self,
        endpoint: &Url,
        task_tokens: &[String],
        deadline: Deadline,
    ) -> Result<BTreeMap<String, Option<TaskStatus>>, Error> {
        let form = vec![("task_tokens", task_tokens.join(","))];
        let response: JsonResponse<StatusAnswer> = self
            .http
            .send(
                STATUS,
                Method::POST,
                endpoint,
                &[],
                &Body::Form(form),
                deadline,
            )
            .await?;
        let answer = response.body;
        if response.status.is_success() && answer.is_object && answer.code.is_none() {
            return answer
                .statuses
                .ok_or_else(|| malformed(STATUS, "has no statuses object"));
        }
        let body = std::str::from_utf8(&response.text)
            .ok()
            .and_then(|text| crate::upstream::lenient::parse_json(text).ok())
            .unwrap_or(Value::Null);
        let as_value = JsonResponse {
            status: response.status,
            retry_after: response.retry_after,
            body,
            text: response.text,
            headers: response.headers,
        };
        success(&as_value, TokenUse::TaskToken).map_err(|e| e.error)?;
        Err(malformed(STATUS, "has no statuses object"))
    }
}

/// The body of a successful answer, or the mapped error.
fn success(
    response: &JsonResponse,
    token_use: TokenUse,
) -> Result<&Map<String, Value>, super::codes::CodeError> {
    let body = &response.body;
    if let Some(code) = error_code(body) {
        let message =
            string_of(body.get("message")).or_else(|| string_of(body.get("error_description")));
        let retry_after = body_retry_after(body).or(response.retry_after);
        let field = string_of(body.get("field"));
        return Err(map_code(
            code,
            message.as_deref(),
            field.as_deref(),
            token_use,
            retry_after,
        ));
    }
    if response.status == http::StatusCode::TOO_MANY_REQUESTS {
        return Err(super::codes::CodeError {
            error: rate_limited(response.retry_after),
            session_token_rejected: false,
        });
    }
    match body {
        Value::Object(map) if response.status.is_success() => Ok(map),
        _ => Err(super::codes::CodeError {
            error: Error::upstream(
                ErrorKind::Unavailable,
                reasons::UPSTREAM_UNEXPECTED_RESPONSE,
                format!(
                    "Qencode answered HTTP {} with JSON that is not a success object",
                    response.status
                ),
            )
            .with_metadata("http_status", response.status.as_u16()),
            session_token_rejected: false,
        }),
    }
}

/// HTTP 429 without an error code: UNAVAILABLE, as the Live API's 429 is, with the
/// `Retry-After` delay (5 s when the answer names none) as RetryInfo.
fn rate_limited(retry_after: Option<Duration>) -> Error {
    Error::upstream(
        ErrorKind::Unavailable,
        reasons::QENCODE_RATE_LIMITED,
        "Qencode is rate limiting (HTTP 429); retry later",
    )
    .with_metadata("http_status", 429)
    .with_retry_after(retry_after.unwrap_or(Duration::from_secs(5)))
}

fn malformed(op: Operation, what: &str) -> Error {
    Error::upstream(
        ErrorKind::Unavailable,
        reasons::UPSTREAM_UNEXPECTED_RESPONSE,
        format!("Qencode's answer to {} {what}", op.name),
    )
}

/// The lifetime of a token whose `expire` is `expire` (UTC, `2020-12-31 23:59:59` or
/// `2018-09-03T14:01:56`), seen at `now`.
pub fn token_lifetime(expire: Option<&str>, now: NaiveDateTime) -> Duration {
    let parsed = expire.and_then(|text| {
        let text = text.trim().trim_end_matches('Z');
        ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f"]
            .iter()
            .find_map(|format| NaiveDateTime::parse_from_str(text, format).ok())
    });
    match parsed
        .map(|at| at - now)
        .and_then(|left| left.to_std().ok())
    {
        Some(left) if !left.is_zero() => left.min(MAX_TOKEN_LIFETIME),
        _ => DEFAULT_TOKEN_LIFETIME,
    }
}

/// The Transcoding API's token source for the shared token manager.
pub struct TranscodingTokens {
    /// The client that asks for tokens.
    pub client: TranscodingClient,
    /// The API key; sent only in the token request's form body.
    pub api_key: Secret,
}

impl TokenSource for TranscodingTokens {
    fn api(&self) -> &'static str {
        "transcoding"
    }

    fn fetch(&self) -> BoxFuture<'_, Result<IssuedToken, Error>> {
        Box::pin(self.client.access_token(&self.api_key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S").unwrap()
    }

    #[test]
    fn expire_in_both_documented_shapes() {
        let now = at("2020-12-31 22:59:59");
        assert_eq!(
            token_lifetime(Some("2020-12-31 23:59:59"), now),
            Duration::from_secs(3600)
        );
        assert_eq!(
            token_lifetime(Some("2020-12-31T23:29:59"), now),
            Duration::from_secs(1800)
        );
        assert_eq!(
            token_lifetime(Some("2020-12-31T23:29:59Z"), now),
            Duration::from_secs(1800)
        );
    }

    #[test]
    fn missing_past_or_absurd_expire_gets_a_sane_lifetime() {
        let now = at("2020-12-31 22:59:59");
        assert_eq!(token_lifetime(None, now), DEFAULT_TOKEN_LIFETIME);
        assert_eq!(
            token_lifetime(Some("yesterday"), now),
            DEFAULT_TOKEN_LIFETIME
        );
        assert_eq!(
            token_lifetime(Some("2019-01-01 00:00:00"), now),
            DEFAULT_TOKEN_LIFETIME
        );
        assert_eq!(
            token_lifetime(Some("2099-01-01 00:00:00"), now),
            MAX_TOKEN_LIFETIME
        );
    }

    #[test]
    fn endpoints_keep_a_base_path() {
        let http = HttpClient::new(Duration::from_secs(1), Duration::from_secs(1)).unwrap();
        let client =
            TranscodingClient::new(http, Url::parse("http://127.0.0.1:9/prefix/").unwrap());
        assert_eq!(
            client.main_status_url().as_str(),
            "http://127.0.0.1:9/prefix/v1/status"
        );
    }
}
