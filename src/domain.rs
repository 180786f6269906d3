//! The domain, with no tonic in it: Transcoding and LiveStreaming requests checked and
//! carried out, uploads, watchers, and what they share (which caller owns which task
//! and stream, the callback URL's signature, the ids put into upstream paths).

pub mod ids;
pub mod labels;
pub mod live;
pub mod owners;
pub mod signer;
pub mod token_memory;
pub mod transcoding;
pub mod upload;
pub mod watch;
