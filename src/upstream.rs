//! Everything that talks to Qencode over HTTP.
//!
//! - [`http`]: the one client (timeouts, body limits, spans, request metrics,
//!   non-JSON bodies) and the retry loop.
//! - [`transport`]: one exchange on the wire (hyper-util over rustls, or reqwest
//!   through a proxy), and what its failures were.
//! - [`deadline`]: the caller's [`Deadline`] and the per-attempt timeout it allows.
//! - [`retry`]: which failures are worth another attempt, and the backoff between them.
//! - [`trusted`]: which returned URLs may be followed.
//! - [`codes`]: the Transcoding API's numeric error codes, mapped by meaning.
//! - [`transcoding`]: the Transcoding API client.
//! - [`task_status`]: reads the Transcoding API's status objects leniently.
//! - [`status_answer`]: reads a whole status answer straight into protobuf (the hot path).
//! - [`tus`]: TUS 1.0 to the direct-upload storage.
//! - [`live`]: the Live Streaming API client.
//! - [`live_stream`]: reads the Live Streaming API's stream objects leniently.

pub mod cause;
pub mod codes;
pub mod deadline;
pub mod http;
pub mod live;
pub mod live_stream;
#[cfg(test)]
pub(crate) mod properties;
pub mod retry;
pub mod status_answer;
pub mod task_status;
pub mod transcoding;
pub mod transport;
pub mod trusted;
pub mod tus;

pub use deadline::Deadline;
pub use http::{HttpClient, Operation};
pub use trusted::TrustedHosts;
