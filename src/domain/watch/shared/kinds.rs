//! What the fleet shares is the same for every kind of watched item (tasks, live
//! streams): a lease per item, a stored snapshot, a channel of changes. [`Watched`] is the
//! little that differs: the Redis names of each kind, whether its leases gather on one
//! replica, and which states end a watch. Leases, snapshots and subscriptions are written
//! once, generic over it.
//!
//! Key names (after `GATEWAY_REDIS_PREFIX`), kept apart so a task token and a stream id
//! can never meet in one key:
//!
//! | kind | lease | snapshot | channel | gathering key |
//! | --- | --- | --- | --- | --- |
//! | task | `lease:<token>` | `snap:<token>` | `task:<token>` | `poller:task` |
//! | stream | `stream-lease:<id>` | `stream-snap:<id>` | `stream:<id>` | none |
//!
//! Stream ids are not secret and may name keys; stream keys are, and they are part of
//! the stored [`LiveStream`] (the same message the gateway returns to its callers), which
//! is one more reason Redis must be private.

pub use crate::fleet::Kind;
use crate::pb::{LiveStream, TaskStatus};

// The names each kind uses in Redis; the enum itself lives with the Redis handle, which
// counts leases per kind.
impl Kind {
    /// Key name of an item's lease, before the id.
    pub fn lease(self) -> &'static str {
        match self {
            Kind::Task => "lease:",
            Kind::Stream => "stream-lease:",
        }
    }

    /// Key name of an item's stored snapshot, before the id.
    pub fn snapshot(self) -> &'static str {
        match self {
            Kind::Task => "snap:",
            Kind::Stream => "stream-snap:",
        }
    }

    /// Channel name of an item's changes, before the id.
    pub fn channel(self) -> &'static str {
        match self {
            Kind::Task => "task:",
            Kind::Stream => "stream:",
        }
    }

    /// The key whose holder gathers this kind's leases, or `None` when they stay where
    /// they were first taken.
    ///
    /// Tasks gather: one replica polling 100 tasks asks one batched status request per
    /// interval, three replicas polling a third each would ask three. Streams do not: the
    /// Live API reads one stream per GET, so a stream costs one request per interval
    /// whoever polls it, and gathering would only delay a replica's first claim by a tick
    /// and move leases around for nothing. Spread leases also spread the polling work.
    pub fn gathering_key(self) -> Option<&'static str> {
        match self {
            Kind::Task => Some("poller:task"),
            Kind::Stream => None,
        }
    }

    /// The kind's name in logs and metric names.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Task => "task",
            Kind::Stream => "stream",
        }
    }
}

/// A state the fleet shares: protobuf (the gateway's own model, compact, the same on
/// every replica of one version), with its kind and the states that end a watch.
pub trait Watched: prost::Message + Default + Clone + PartialEq + Send + Sync + 'static {
    /// Which kind of item this state belongs to.
    const KIND: Kind;
    /// True for states after which the item changes no more (watches end).
    fn is_terminal(&self) -> bool;
}

impl Watched for TaskStatus {
    const KIND: Kind = Kind::Task;
    fn is_terminal(&self) -> bool {
        crate::upstream::task_status::is_terminal(self)
    }
}

impl Watched for LiveStream {
    const KIND: Kind = Kind::Stream;
    fn is_terminal(&self) -> bool {
        crate::domain::watch::stream_source::is_final(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_names_never_meet_task_names() {
        for name in [Kind::lease, Kind::snapshot, Kind::channel] {
            let (task, stream) = (name(Kind::Task), name(Kind::Stream));
            assert!(!stream.starts_with(task) && !task.starts_with(stream));
        }
        assert_eq!(Kind::Task.lease(), "lease:", "task key names are unchanged");
        assert_eq!(Kind::Task.snapshot(), "snap:");
        assert_eq!(Kind::Task.channel(), "task:");
    }
}
