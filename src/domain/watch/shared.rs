//! Watched items shared across a fleet through Redis: one replica polls each watched
//! task and live stream (a lease per item) and publishes what it sees, and a verified
//! callback reaching any replica reaches every replica's watchers. [`kinds`] is what
//! differs between tasks and streams (key names, gathering, terminal states); the rest
//! is written once. Built on [`crate::fleet`]'s Redis handle; without Redis every
//! replica works alone.

pub mod kinds;
pub mod leases;
pub mod snapshot_codec;
pub mod snapshots;

pub use kinds::{Kind, Watched};
