//! What every layer leans on: settings, the domain error, telemetry, metrics, the
//! shutdown signal, secrets, and the in-process sandbox of the no-key mode.

pub mod config;
#[cfg(feature = "sandbox")]
pub mod embedded;
pub mod error;
pub mod fd_limit;
pub mod huge_pages;
pub mod limit_hits;
pub mod metrics;
pub mod process_metrics;
pub mod reasons;
pub mod secret;
pub mod shutdown;
pub mod telemetry;
