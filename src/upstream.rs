//! Everything that talks to Qencode over HTTP.
//!
//! [`http`] is the one reqwest client (timeouts, deadlines, retries, non-JSON bodies),
//! [`trusted`] decides which returned URLs may be followed, [`codes`] maps Qencode's
//! numeric error codes by meaning, [`transcoding`] is the Transcoding API client,
//! [`task_status`] reads its status objects leniently and [`tus`] speaks TUS 1.0 to the
//! direct-upload storage.

pub mod codes;
pub mod http;
pub mod live;
pub mod live_stream;
pub mod task_status;
pub mod transcoding;
pub mod trusted;
pub mod tus;

pub use http::{Deadline, HttpClient, Operation};
pub use trusted::TrustedHosts;
