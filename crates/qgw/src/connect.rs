//! The channel to the gateway and the metadata every call carries.
//!
//! The channel connects lazily so an unreachable gateway surfaces as an `UNAVAILABLE`
//! status on the first call (naming the address: see `transport.rs`), printed and
//! mapped to an exit code like any other error.

use crate::transport::Transport;
use crate::{cli::Common, fail::Failure};
use qencode_gateway_proto::pb::{
    live_streaming_client::LiveStreamingClient, transcoding_client::TranscodingClient,
};
use std::time::Duration;
use tonic::{
    metadata::{Ascii, MetadataValue},
    service::{interceptor::InterceptedService, Interceptor},
    transport::{Certificate, ClientTlsConfig, Endpoint, Identity},
    Request, Status,
};

/// How long establishing the connection may take before a call fails.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// A channel with the caller's credentials attached to each call.
pub type Authed = InterceptedService<Transport, Credentials>;

/// Adds `authorization` and `x-qencode-project` to every request.
#[derive(Clone, Debug, Default)]
pub struct Credentials {
    bearer: Option<MetadataValue<Ascii>>,
    project: Option<MetadataValue<Ascii>>,
}

impl Interceptor for Credentials {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        if let Some(bearer) = &self.bearer {
            request
                .metadata_mut()
                .insert("authorization", bearer.clone());
        }
        if let Some(project) = &self.project {
            request
                .metadata_mut()
                .insert("x-qencode-project", project.clone());
        }
        Ok(request)
    }
}

/// Clients of both services over one channel.
pub struct Clients {
    /// Channel without credentials (health checks are open).
    pub channel: Transport,
    credentials: Credentials,
    /// `--timeout`: the budget of a submission's attempts together (`retry.rs`).
    pub timeout: Option<Duration>,
}

impl Clients {
    /// Builds the (lazy) channel from the common flags.
    pub fn new(common: &Common) -> Result<Self, Failure> {
        let invalid = |e: &dyn std::fmt::Display| {
            Failure::local(format!("--target {:?}: {e}", common.target))
        };
        let (uri, tls) = dial_uri(&common.target, common.tls).map_err(|e| invalid(&e))?;
        let mut endpoint = Endpoint::from_shared(uri.clone())
            .map_err(|e| invalid(&e))?
            .connect_timeout(CONNECT_TIMEOUT);
        if tls {
            endpoint = endpoint
                .tls_config(tls_config(common, &uri)?)
                .map_err(|e| Failure::local(format!("TLS: {e}")))?;
        }
        let header = |name: &str, value: String| {
            MetadataValue::try_from(value)
                .map_err(|_| Failure::local(format!("{name} must be printable ASCII")))
        };
        let credentials = Credentials {
            bearer: common
                .token
                .as_ref()
                .map(|token| {
                    // Sensitive: kept out of any debug output of the request.
                    let mut value = header("--token", format!("Bearer {token}"))?;
                    value.set_sensitive(true);
                    Ok::<_, Failure>(value)
                })
                .transpose()?,
            project: common
                .project
                .as_ref()
                .map(|project| header("--project", project.clone()))
                .transpose()?,
        };
        Ok(Self {
            channel: Transport::new(endpoint.connect_lazy(), &uri, common.timeout),
            credentials,
            timeout: common.timeout,
        })
    }

    /// A Transcoding client.
    pub fn transcoding(&self) -> TranscodingClient<Authed> {
        TranscodingClient::with_interceptor(self.channel.clone(), self.credentials.clone())
    }

    /// A LiveStreaming client.
    pub fn live(&self) -> LiveStreamingClient<Authed> {
        LiveStreamingClient::with_interceptor(self.channel.clone(), self.credentials.clone())
    }
}

/// TLS to `uri` (whose host the certificate must name) with the `--ca`/`--cert`/`--key`
/// of `common`.
fn tls_config(common: &Common, uri: &str) -> Result<ClientTlsConfig, Failure> {
    let read = |path: &std::path::Path| {
        std::fs::read(path).map_err(|e| Failure::local(format!("reading {}: {e}", path.display())))
    };
    let mut config = ClientTlsConfig::new();
    if let Some(domain) = url_host(uri) {
        config = config.domain_name(domain);
    }
    config = match &common.ca {
        Some(ca) => config.ca_certificate(Certificate::from_pem(read(ca)?)),
        None => config.with_native_roots(),
    };
    if let (Some(cert), Some(key)) = (&common.cert, &common.key) {
        config = config.identity(Identity::from_pem(read(cert)?, read(key)?));
    }
    Ok(config)
}

/// The URI to dial for `target`, and whether it is TLS (`https://`, or `--tls`).
///
/// tonic needs a scheme: a bare `host:port` or `[::1]:port` reached it as is and every
/// call failed with `UNKNOWN: transport error`, so it gets `http://` (`https://` with
/// `--tls`). tonic only speaks TLS to `https://` URIs, so `--tls` also turns an
/// `http://` target into `https://` rather than silently staying in plaintext.
fn dial_uri(target: &str, tls: bool) -> Result<(String, bool), String> {
    let (scheme, rest) = target
        .split_once("://")
        .map_or(("http", target), |(scheme, rest)| (scheme, rest));
    let tls = match scheme.to_ascii_lowercase().as_str() {
        "http" => tls,
        "https" => true,
        _ => {
            return Err(format!(
                "unknown scheme {scheme:?}: use http:// or https://"
            ))
        }
    };
    if rest.is_empty() {
        return Err("no host: use host:port, http://host:port or https://host:port".into());
    }
    let scheme = if tls { "https" } else { "http" };
    Ok((format!("{scheme}://{rest}"), tls))
}

/// The host of `target`, which TLS verifies the certificate against.
fn url_host(target: &str) -> Option<String> {
    let rest = target.split_once("://").map_or(target, |(_, rest)| rest);
    let authority = rest.split('/').next()?;
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next()?,
        None => authority
            .rsplit_once(':')
            .map_or(authority, |(host, _)| host),
    };
    (!host.is_empty()).then(|| host.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets() {
        let dial = |target, tls| dial_uri(target, tls).expect(target);
        assert_eq!(dial("gw:1", false), ("http://gw:1".into(), false));
        assert_eq!(dial("gw:1", true), ("https://gw:1".into(), true));
        assert_eq!(dial("[::1]:1", false), ("http://[::1]:1".into(), false));
        assert_eq!(
            dial("http://[::1]:1", false),
            ("http://[::1]:1".into(), false)
        );
        assert_eq!(dial("http://gw:1", false), ("http://gw:1".into(), false));
        assert_eq!(dial("http://gw:1", true), ("https://gw:1".into(), true));
        assert_eq!(dial("https://gw:1", false), ("https://gw:1".into(), true));
        assert_eq!(dial("HTTPS://gw:1", false), ("https://gw:1".into(), true));
        assert!(dial_uri("ftp://gw:1", false).is_err());
        assert!(dial_uri("http://", false).is_err());
        assert!(dial_uri("", false).is_err());
    }

    #[test]
    fn credentials_become_metadata() {
        let mut credentials = Credentials {
            bearer: Some(MetadataValue::from_static("Bearer secret")),
            project: Some(MetadataValue::from_static("p1")),
        };
        let request = credentials.call(Request::new(())).expect("intercepted");
        let metadata = request.metadata();
        assert_eq!(
            metadata.get("authorization").map(|v| v.to_str().ok()),
            Some(Some("Bearer secret"))
        );
        assert_eq!(
            metadata.get("x-qencode-project").map(|v| v.to_str().ok()),
            Some(Some("p1"))
        );
        let request = Credentials::default()
            .call(Request::new(()))
            .expect("intercepted");
        assert!(request.metadata().get("authorization").is_none());
    }

    #[test]
    fn hosts() {
        assert_eq!(
            url_host("https://gw.example:443").as_deref(),
            Some("gw.example")
        );
        assert_eq!(
            url_host("https://gw.example").as_deref(),
            Some("gw.example")
        );
        assert_eq!(url_host("https://[::1]:50051").as_deref(), Some("::1"));
    }
}
