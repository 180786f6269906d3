//! Qencode's Live Streaming API: `/v1/access_token/<api_key>` (API key → JWT
//! bearer token) and the `/v1/live-streams` resource with its start/stop,
//! playback id and simulcast target sub-resources.
//!
//! Unlike the Transcoding API, this one reports failures by HTTP status with a
//! `{"message": ...}` body, so the gateway's status mapping can be exercised.
//!
//! A started stream walks starting → waiting → launching → live one
//! `live_phase_duration` at a time (the sandbox pretends an encoder connects), and
//! a stopped one stopping → stopped. Like task progress, the status is derived
//! from the time elapsed on [`tokio::time::Instant`] at each request, so a paused
//! test clock drives it.

mod auth;
mod callbacks;
mod control;
mod error;
mod params;
mod path;
mod phase;
mod playback;
mod render;
mod simulcast;
mod state;
mod streams;
mod token;

pub(crate) use control::{start, stop};
pub(crate) use error::{method_not_allowed, not_found};
pub(crate) use playback::{add_playback_id, remove_playback_id};
pub(crate) use simulcast::{add_simulcast_target, remove_simulcast_target};
pub(crate) use state::LiveState;
pub use state::{LivePlaybackId, LiveSimulcastTarget, LiveStreamSnapshot};
pub(crate) use streams::{create, delete, get, list, update};
pub(crate) use token::access_token;
