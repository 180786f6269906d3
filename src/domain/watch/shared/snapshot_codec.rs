//! What a watched item's state looks like in Redis (stored snapshots and channel
//! messages): a tag byte, then the protobuf message ([`crate::domain::watch::shared::kinds::Watched`]: a
//! `TaskStatus` or a `LiveStream`). Protobuf because it is the gateway's own model,
//! compact, and the same on every replica of one version; the tag lets a stored snapshot
//! also say "Qencode does not know this item".

use prost::Message;

const VALUE: u8 = b'v';
const MISSING: u8 = b'm';

/// A state shared through Redis.
#[derive(Debug, Clone, PartialEq)]
pub enum Shared<V> {
    /// The item's state (boxed: it is large, `Missing` is nothing).
    Value(Box<V>),
    /// The upstream does not know the item.
    Missing,
}

/// Encodes a state.
pub fn encode<V: Message>(state: &Shared<V>) -> Vec<u8> {
    match state {
        Shared::Value(value) => {
            let mut bytes = Vec::with_capacity(1 + value.encoded_len());
            bytes.push(VALUE);
            value.encode(&mut bytes).unwrap_or_default();
            bytes
        }
        Shared::Missing => vec![MISSING],
    }
}

/// Decodes a state; `None` for bytes this version does not understand.
pub fn decode<V: Message + Default>(bytes: &[u8]) -> Option<Shared<V>> {
    match bytes.split_first()? {
        (&VALUE, rest) => V::decode(rest)
            .ok()
            .map(|value| Shared::Value(Box::new(value))),
        (&MISSING, []) => Some(Shared::Missing),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pb::{LiveStream, TaskStatus};

    #[test]
    fn round_trips_and_refuses_garbage() {
        let status = TaskStatus {
            percent: Some(42.0),
            ..Default::default()
        };
        let value = Shared::Value(Box::new(status));
        assert_eq!(decode(&encode(&value)), Some(value));
        let missing: Shared<TaskStatus> = Shared::Missing;
        assert_eq!(decode(&encode(&missing)), Some(missing));
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
        assert_eq!(decode(&encode(&value)), Some(value));
    }
}
