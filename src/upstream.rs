//! Everything that talks to Qencode over HTTP.
//!
//! - [`client`]: the one client (timeouts, body limits, spans, request metrics,
//!   non-JSON bodies) and the retry loop.
//! - [`transport`]: one exchange on the wire (hyper-util over rustls, or reqwest
//!   through a proxy), and what its failures were.
//! - [`deadline`]: the caller's [`Deadline`] and the per-attempt timeout it allows.
//! - [`retry`]: which failures are worth another attempt, and the backoff between them.
//! - [`trusted`]: which returned URLs may be followed.
//! - [`codes`]: the Transcoding API's numeric error codes, mapped by meaning.
//! - [`busy`]: sending again a request Qencode answered "busy" having done nothing.
//! - [`transcoding_api`]: the Transcoding API client.
//! - [`task_status`]: reads the Transcoding API's status objects leniently.
//! - [`status_answer`]: reads a whole status answer straight into protobuf (the hot path).
//! - [`tus`]: TUS 1.0 to the direct-upload storage.
//! - [`live_api`]: the Live Streaming API client.
//! - [`live_stream`]: reads the Live Streaming API's stream objects leniently.

pub mod auth;
pub mod busy;
pub mod cause;
pub mod client;
pub mod codes;
pub mod deadline;
pub mod lenient;
pub mod live_api;
pub mod live_stream;
pub mod retry;
pub mod status_answer;
pub mod task_status;
pub mod transcoding_api;
pub mod transport;
pub mod trusted;
pub mod tus;
#[cfg(test)]
pub(crate) mod upstream_properties;

pub use client::{HttpClient, Operation};
pub use deadline::Deadline;
pub use trusted::TrustedHosts;
