//! Settings of who may call: TLS and mTLS on the gRPC listener, the trusted mesh and
//! the policy file. Flattened into [`super::Config`]; their files are loaded by
//! [`Access::check`] at start so a missing or bad one stops the process (exit 64).

use super::parse_interval;
use crate::{access::identity::mesh::Mesh, edge::server_tls::TlsFiles};
use clap::Args;
use std::{path::PathBuf, time::Duration};

/// Access settings.
#[derive(Debug, Clone, Args)]
pub struct Access {
    /// PEM certificate chain of the gRPC listener; with GATEWAY_TLS_KEY it serves TLS
    /// only. Reloaded when the file changes.
    #[arg(long, env = "GATEWAY_TLS_CERT")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key of GATEWAY_TLS_CERT.
    #[arg(long, env = "GATEWAY_TLS_KEY")]
    pub tls_key: Option<PathBuf>,
    /// PEM CA certificates: when set, clients must present a certificate chaining to
    /// one of them (mTLS); its URI SAN (SPIFFE id), else first DNS SAN, is the caller's
    /// identity.
    #[arg(long, env = "GATEWAY_TLS_CLIENT_CA")]
    pub tls_client_ca: Option<PathBuf>,
    /// Trust the caller identity a mesh sidecar puts in headers: istio
    /// (x-forwarded-client-cert URI) or linkerd (l5d-client-id). Only safe when the
    /// sidecar is the only way in.
    #[arg(long, env = "GATEWAY_TRUST_MESH_IDENTITY", value_enum)]
    pub trust_mesh_identity: Option<Mesh>,
    /// TOML file of callers, their identities or bearer token digests, allowed methods
    /// and limits. Unset: every client that reaches the port may call everything.
    #[arg(long, env = "GATEWAY_POLICY_FILE")]
    pub policy_file: Option<PathBuf>,
    /// How often the policy file is re-read (also on SIGHUP).
    #[arg(long, hide = true, env = "GATEWAY_POLICY_POLL_INTERVAL", default_value = "5s", value_parser = parse_interval)]
    pub policy_poll_interval: Duration,
}

impl Access {
    /// The TLS files, when TLS is configured.
    pub fn tls_files(&self) -> Option<TlsFiles> {
        Some(TlsFiles {
            cert: self.tls_cert.clone()?,
            key: self.tls_key.clone()?,
            client_ca: self.tls_client_ca.clone(),
        })
    }

    /// Loads every file once, so a bad one is reported at start naming its setting.
    pub fn check(&self) -> Result<(), String> {
        match (&self.tls_cert, &self.tls_key) {
            (Some(_), None) => return Err("GATEWAY_TLS_CERT is set without GATEWAY_TLS_KEY".into()),
            (None, Some(_)) => return Err("GATEWAY_TLS_KEY is set without GATEWAY_TLS_CERT".into()),
            _ => {}
        }
        if self.tls_client_ca.is_some() && self.tls_cert.is_none() {
            return Err(
                "GATEWAY_TLS_CLIENT_CA needs GATEWAY_TLS_CERT and GATEWAY_TLS_KEY (mTLS is TLS)"
                    .into(),
            );
        }
        // The files themselves are read once, by `gateway::Files::load`.
        Ok(())
    }
}
