//! What a task's state looks like in Redis (stored snapshots and channel messages):
//! a tag byte, then the protobuf `TaskStatus`. Protobuf because it is the gateway's own
//! model, compact, and the same on every replica of one version; the tag lets a stored
//! snapshot also say "Qencode does not know this task".

use crate::pb::TaskStatus;
use prost::Message;

const VALUE: u8 = b'v';
const MISSING: u8 = b'm';

/// A task state shared through Redis.
#[derive(Debug, Clone, PartialEq)]
pub enum Shared {
    /// The task's status (boxed: it is large, `Missing` is nothing).
    Value(Box<TaskStatus>),
    /// The upstream does not know the task.
    Missing,
}

/// Encodes a state.
pub fn encode(state: &Shared) -> Vec<u8> {
    match state {
        Shared::Value(status) => {
            let mut bytes = Vec::with_capacity(1 + status.encoded_len());
            bytes.push(VALUE);
            status.encode(&mut bytes).unwrap_or_default();
            bytes
        }
        Shared::Missing => vec![MISSING],
    }
}

/// Decodes a state; `None` for bytes this version does not understand.
pub fn decode(bytes: &[u8]) -> Option<Shared> {
    match bytes.split_first()? {
        (&VALUE, rest) => TaskStatus::decode(rest)
            .ok()
            .map(|status| Shared::Value(Box::new(status))),
        (&MISSING, []) => Some(Shared::Missing),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_garbage() {
        let status = TaskStatus {
            percent: Some(42.0),
            ..Default::default()
        };
        let value = Shared::Value(Box::new(status));
        assert_eq!(decode(&encode(&value)), Some(value));
        assert_eq!(decode(&encode(&Shared::Missing)), Some(Shared::Missing));
        assert_eq!(decode(b""), None);
        assert_eq!(decode(b"x123"), None);
    }
}
