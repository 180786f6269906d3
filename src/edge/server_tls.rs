//! TLS on the gRPC listener (`GATEWAY_TLS_CERT`, `GATEWAY_TLS_KEY`), and mTLS when
//! `GATEWAY_TLS_CLIENT_CA` is set: client certificates are then required and verified
//! against that CA, and the certificate's SAN is the caller's identity
//! ([`crate::access::identity`]).
//!
//! The listener runs the handshake itself (not tonic's TLS), so certificates can change
//! without a restart: before each handshake the files' modification times are checked
//! (one `stat` per file, cheap next to a handshake), and changed files are loaded for
//! the next connections. A file that no longer loads keeps the previous configuration
//! and is logged, so rotating certificates can never take the listener down.

use rustls::{
    pki_types::{pem::PemObject, CertificateDer, PrivateKeyDer},
    server::WebPkiClientVerifier,
    RootCertStore, ServerConfig,
};
use std::{
    path::{Path, PathBuf},
    sync::{Arc, Mutex, PoisonError},
    time::SystemTime,
};
use tokio_rustls::TlsAcceptor;
use tracing::{info, warn};

/// The PEM files of the listener's TLS.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    /// The server's certificate chain.
    pub cert: PathBuf,
    /// Its private key.
    pub key: PathBuf,
    /// CA certificates that client certificates must chain to; set means mTLS.
    pub client_ca: Option<PathBuf>,
}

/// The current TLS configuration, reloaded when its files change.
pub struct Tls {
    files: TlsFiles,
    current: Mutex<Loaded>,
}

struct Loaded {
    /// The files' modification times when loaded.
    stamps: Vec<Option<SystemTime>>,
    acceptor: TlsAcceptor,
}

impl Tls {
    /// Loads `files`; the problem names the setting whose file is wrong.
    pub fn load(files: TlsFiles) -> Result<Self, String> {
        let stamps = stamps(&files);
        let acceptor = TlsAcceptor::from(server_config(&files)?);
        Ok(Tls {
            files,
            current: Mutex::new(Loaded { stamps, acceptor }),
        })
    }

    /// True when client certificates are required.
    pub fn mutual(&self) -> bool {
        self.files.client_ca.is_some()
    }

    /// The acceptor for the next handshake, reloaded first when a file changed.
    pub fn acceptor(&self) -> TlsAcceptor {
        let now = stamps(&self.files);
        let mut current = self.current.lock().unwrap_or_else(PoisonError::into_inner);
        if now != current.stamps {
            // Whatever happens, do not retry these same files on every handshake.
            current.stamps = now;
            match server_config(&self.files) {
                Ok(config) => {
                    current.acceptor = TlsAcceptor::from(config);
                    info!("TLS certificates reloaded");
                }
                Err(problem) => {
                    warn!(problem = %problem, "TLS files changed but do not load; keeping the previous certificates");
                }
            }
        }
        current.acceptor.clone()
    }
}

fn stamps(files: &TlsFiles) -> Vec<Option<SystemTime>> {
    [
        Some(&files.cert),
        Some(&files.key),
        files.client_ca.as_ref(),
    ]
    .into_iter()
    .flatten()
    .map(|path| std::fs::metadata(path).and_then(|m| m.modified()).ok())
    .collect()
}

fn certificates(path: &Path, setting: &str) -> Result<Vec<CertificateDer<'static>>, String> {
    let problem = |what: String| format!("{setting} {}: {what}", path.display());
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| problem(e.to_string()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| problem(e.to_string()))?;
    if certs.is_empty() {
        return Err(problem("no PEM certificate in it".into()));
    }
    Ok(certs)
}

/// Builds the rustls configuration: h2 only (gRPC), client certificates required and
/// verified when a client CA is set.
fn server_config(files: &TlsFiles) -> Result<Arc<ServerConfig>, String> {
    let chain = certificates(&files.cert, "GATEWAY_TLS_CERT")?;
    let key = PrivateKeyDer::from_pem_file(&files.key)
        .map_err(|e| format!("GATEWAY_TLS_KEY {}: {e}", files.key.display()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = match &files.client_ca {
        None => WebPkiClientVerifier::no_client_auth(),
        Some(path) => {
            let mut roots = RootCertStore::empty();
            for cert in certificates(path, "GATEWAY_TLS_CLIENT_CA")? {
                roots
                    .add(cert)
                    .map_err(|e| format!("GATEWAY_TLS_CLIENT_CA {}: {e}", path.display()))?;
            }
            WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
                .build()
                .map_err(|e| format!("GATEWAY_TLS_CLIENT_CA {}: {e}", path.display()))?
        }
    };
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS: {e}"))?
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key)
        .map_err(|e| format!("GATEWAY_TLS_CERT/GATEWAY_TLS_KEY: {e}"))?;
    config.alpn_protocols = vec![b"h2".to_vec()];
    Ok(Arc::new(config))
}
