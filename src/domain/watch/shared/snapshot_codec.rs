//! What a watched item's state looks like in Redis (stored snapshots and channel
//! messages): a tag byte, then the protobuf message ([`crate::domain::watch::shared::kinds::Watched`]: a
//! `TaskStatus` or a `LiveStream`). Protobuf because it is the gateway's own model,
//! compact, and the same on every replica of one version; the tag lets a stored snapshot
//! also say "Qencode does not know this item".
//!
//! A value carries when it was read from the upstream ([`ObservedAt`]), so a replica
//! never hands its watchers a state older than one they have. The stamp is one more
//! protobuf field after the value's, numbered [`STAMP_FIELD`]: a replica of an earlier
//! version skips it as an unknown field and reads the value as before (a rolling upgrade
//! keeps sharing), and its own unstamped values read here as stamped `None`.

use crate::domain::watch::ObservedAt;
use prost::Message;

const VALUE: u8 = b'v';
const MISSING: u8 = b'm';
/// The stamp's field number: the largest protobuf allows, so no field of `TaskStatus`
/// or `LiveStream` will ever take it.
pub const STAMP_FIELD: u32 = 536_870_911;

/// A state shared through Redis.
#[derive(Debug, Clone, PartialEq)]
pub enum Shared<V> {
    /// The item's state (boxed: it is large, `Missing` is nothing).
    Value(Box<V>),
    /// The upstream does not know the item.
    Missing,
}

/// The stamp, read from the same bytes as the value (prost skips the value's fields).
#[derive(Clone, PartialEq, prost::Message)]
struct Stamp {
    /// [`ObservedAt`]'s milliseconds.
    #[prost(uint64, optional, tag = "536870911")]
    observed_at_ms: Option<u64>,
}

/// Encodes a state without its stamp: what a holder compares to tell a change.
pub fn encode_state<V: Message>(state: &Shared<V>) -> Vec<u8> {
    match state {
        Shared::Value(value) => {
            let mut bytes = Vec::with_capacity(1 + value.encoded_len() + 11);
            bytes.push(VALUE);
            value.encode(&mut bytes).unwrap_or_default();
            bytes
        }
        Shared::Missing => vec![MISSING],
    }
}

/// Encodes a state read from the upstream at `at`.
pub fn encode<V: Message>(state: &Shared<V>, at: ObservedAt) -> Vec<u8> {
    let mut bytes = encode_state(state);
    if let Shared::Value(_) = state {
        let stamp = Stamp {
            observed_at_ms: Some(at.0),
        };
        stamp.encode(&mut bytes).unwrap_or_default();
    }
    bytes
}

/// Decodes a state and when it was read (`None` for a value an earlier version
/// stored, and for `Missing`); `None` for bytes this version does not understand.
pub fn decode<V: Message + Default>(bytes: &[u8]) -> Option<(Shared<V>, Option<ObservedAt>)> {
    match bytes.split_first()? {
        (&VALUE, rest) => {
            let value = V::decode(rest).ok()?;
            let at = Stamp::decode(rest).ok()?.observed_at_ms.map(ObservedAt);
            Some((Shared::Value(Box::new(value)), at))
        }
        (&MISSING, []) => Some((Shared::Missing, None)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pb::{LiveStream, TaskStatus};

    const AT: ObservedAt = ObservedAt(1_765_000_000_123);

    #[test]
    fn round_trips_and_refuses_garbage() {
        let status = TaskStatus {
            percent: Some(42.0),
            ..Default::default()
        };
        let value = Shared::Value(Box::new(status));
        assert_eq!(decode(&encode(&value, AT)), Some((value, Some(AT))));
        let missing: Shared<TaskStatus> = Shared::Missing;
        assert_eq!(decode(&encode(&missing, AT)), Some((missing, None)));
        assert_eq!(decode::<TaskStatus>(b""), None);
        assert_eq!(decode::<TaskStatus>(b"x123"), None);
    }

    #[test]
    fn streams_round_trip() {
        let stream = LiveStream {
            id: "0b0e6c8e-5d3c-4b7e-9e51-2f4f7c3d8a11".into(),
            name: "studio".into(),
            ..Default::default()
        };
        let value = Shared::Value(Box::new(stream));
        assert_eq!(decode(&encode(&value, AT)), Some((value, Some(AT))));
    }

    #[test]
    fn earlier_versions_and_this_one_read_each_other() {
        let status = TaskStatus {
            percent: Some(3.6499),
            ..Default::default()
        };
        let value = Shared::Value(Box::new(status.clone()));
        // An earlier version's decoder: the tag, then the value; the stamp is skipped.
        let stamped = encode(&value, AT);
        assert_eq!(TaskStatus::decode(&stamped[1..]).unwrap(), status);
        // What an earlier version stored: read here, unstamped.
        let unstamped = encode_state(&value);
        assert_eq!(decode(&unstamped), Some((value, None)));
        assert_eq!(&stamped[..unstamped.len()], &unstamped[..]);
    }
}
