//! How much memory a request message will take once prost decodes it, estimated from
//! its wire bytes before anything is decoded.
//!
//! `GATEWAY_MAX_MESSAGE_SIZE` bounds bytes on the wire, not what they become: an empty
//! `Format` is 2 bytes on the wire and about 2.6 KiB as a struct, so a 4 MB request of
//! 600,000 empty formats peaked at 2.9 GB while it was decoded, before any gateway code
//! could look at it (`cargo bench --bench abuse`, case 4), and 16 MiB of them would be
//! about 21 GB. This walks the protobuf wire format with the message's descriptor, adds
//! up a conservative size of what each field decodes to, and refuses the request with
//! RESOURCE_EXHAUSTED as soon as the total passes [`MAX_DECODED_BYTES`]. The walk is
//! linear in the message and allocates nothing; a message it cannot read is left to
//! prost, which reports it precisely.

use crate::support::error::{Error, ErrorKind, GATEWAY_DOMAIN};
use crate::support::reasons;
use prost_reflect::{Cardinality, DescriptorPool, FieldDescriptor, Kind, MessageDescriptor};
use std::{collections::HashMap, sync::OnceLock};

/// Most memory a request may take decoded. Far above any real request (a query with
/// a thousand outputs is a few MiB decoded) and the 16 MiB upload pieces, whose bytes
/// decode to themselves.
pub const MAX_DECODED_BYTES: usize = 64 << 20;

/// A field's inline slot in its struct, unless it is a message held inline: an
/// `Option<String>` or a `Vec` is 24 bytes, no scalar is larger.
const PER_FIELD: usize = 24;
/// A string, bytes or list value's heap allocation, besides its bytes.
const PER_ALLOCATION: usize = 16;
/// Nesting past this is left to prost, which refuses it (its limit is 100).
const MAX_DEPTH: usize = 100;

/// Refuses `bytes` (a `message`, named as prost's `Name::NAME`) when it would decode to
/// more than [`MAX_DECODED_BYTES`]; messages of other packages pass.
pub fn check(message: &str, bytes: &[u8]) -> Result<(), Error> {
    let Some(descriptor) = schema().requests.get(message) else {
        return Ok(());
    };
    let mut budget = Budget {
        left: MAX_DECODED_BYTES,
    };
    match walk(descriptor, bytes, 0, &mut budget) {
        Err(OverBudget) => Err(too_large(message)),
        Ok(()) => Ok(()),
    }
}

fn too_large(message: &str) -> Error {
    Error::new(
        ErrorKind::ResourceExhausted,
        GATEWAY_DOMAIN,
        reasons::REQUEST_TOO_LARGE_DECODED,
        format!(
            "the {message} would take more than {} MiB of memory once decoded (many tiny \
             elements); send fewer elements",
            MAX_DECODED_BYTES >> 20
        ),
    )
    .with_metadata("limit_bytes", MAX_DECODED_BYTES)
}

/// What the walk knows of the schema, built once.
struct Schema {
    /// Our package's top-level messages by short name (every request type is one).
    requests: HashMap<String, MessageDescriptor>,
    /// Each message's struct size, by full name (see [`inline_size`]).
    sizes: HashMap<String, usize>,
}

fn schema() -> &'static Schema {
    static SCHEMA: OnceLock<Schema> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        let Ok(pool) = DescriptorPool::decode(crate::pb::FILE_DESCRIPTOR_SET) else {
            return Schema {
                requests: HashMap::new(),
                sizes: HashMap::new(),
            };
        };
        let requests = pool
            .all_messages()
            .filter(|m| m.package_name() == "qencode.gateway.v1")
            .filter(|m| m.parent_message().is_none())
            .map(|m| (m.name().to_owned(), m))
            .collect();
        let sizes = pool
            .all_messages()
            .map(|m| (m.full_name().to_owned(), inline_size(&m, &mut Vec::new())))
            .collect();
        Schema { requests, sizes }
    })
}

/// A message's struct size as prost lays it out, from above: every field a 24-byte
/// slot, except singular message fields, which prost holds inline (`Option<Msg>`), so
/// they count their own struct. A message inside itself is boxed by prost (8 bytes).
fn inline_size(message: &MessageDescriptor, open: &mut Vec<String>) -> usize {
    if open.iter().any(|name| name == message.full_name()) {
        return 8;
    }
    open.push(message.full_name().to_owned());
    let size = message
        .fields()
        .map(|field| match field.kind() {
            Kind::Message(inner) if !is_list(&field) && !field.is_map() => {
                8 + inline_size(&inner, open)
            }
            _ => PER_FIELD,
        })
        .sum::<usize>()
        + PER_ALLOCATION;
    open.pop();
    size
}

struct Budget {
    left: usize,
}

#[derive(Debug)]
struct OverBudget;

impl Budget {
    fn spend(&mut self, bytes: usize) -> Result<(), OverBudget> {
        self.left = self.left.checked_sub(bytes).ok_or(OverBudget)?;
        Ok(())
    }
}

/// Adds up one message's decoded size. Unreadable wire data ends the walk quietly.
fn walk(
    message: &MessageDescriptor,
    mut bytes: &[u8],
    depth: usize,
    budget: &mut Budget,
) -> Result<(), OverBudget> {
    let size = schema().sizes.get(message.full_name()).copied();
    budget.spend(size.unwrap_or(PER_FIELD * message.fields().len() + PER_ALLOCATION))?;
    if depth >= MAX_DEPTH {
        return Ok(());
    }
    while !bytes.is_empty() {
        let Some(tag) = varint(&mut bytes) else {
            return Ok(());
        };
        let field = message.get_field((tag >> 3) as u32);
        match tag & 7 {
            0 => {
                if varint(&mut bytes).is_none() {
                    return Ok(());
                }
                if field.as_ref().is_some_and(is_list) {
                    budget.spend(8)?;
                }
            }
            1 | 5 => {
                let width = if tag & 7 == 1 { 8 } else { 4 };
                let Some(rest) = bytes.get(width..) else {
                    return Ok(());
                };
                bytes = rest;
                if field.as_ref().is_some_and(is_list) {
                    budget.spend(8)?;
                }
            }
            2 => {
                let Some(len) = varint(&mut bytes).and_then(|l| usize::try_from(l).ok()) else {
                    return Ok(());
                };
                let Some(payload) = bytes.get(..len) else {
                    return Ok(());
                };
                bytes = &bytes[len..];
                match field.as_ref().map(|f| (f.kind(), f)) {
                    Some((Kind::Message(inner), field)) => {
                        // A list or map element also takes its slot in the list.
                        if is_list(field) || field.is_map() {
                            budget.spend(PER_FIELD)?;
                        }
                        walk(&inner, payload, depth + 1, budget)?;
                    }
                    // Packed scalars: at most 8 bytes each, at least one byte on the wire.
                    Some((Kind::String | Kind::Bytes, _)) | None => {
                        budget.spend(PER_ALLOCATION + payload.len())?
                    }
                    Some(_) => budget.spend(PER_ALLOCATION + payload.len() * 8)?,
                }
            }
            // Groups (long deprecated) and invalid wire types: prost's to refuse.
            _ => return Ok(()),
        }
    }
    Ok(())
}

fn is_list(field: &FieldDescriptor) -> bool {
    field.cardinality() == Cardinality::Repeated
}

/// A base-128 varint, advancing `bytes`; `None` when it is cut off or too long.
fn varint(bytes: &mut &[u8]) -> Option<u64> {
    let mut value = 0u64;
    for (i, byte) in bytes.iter().enumerate().take(10) {
        value |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            *bytes = &bytes[i + 1..];
            return Some(value);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pb;
    use prost::Message;

    fn query_with_formats(n: usize) -> Vec<u8> {
        pb::StartEncodeRequest {
            task_token: "a".repeat(32),
            query_kind: Some(pb::start_encode_request::QueryKind::Query(
                pb::TranscodingQuery {
                    source: Some("https://example.com/a.mp4".into()),
                    format: vec![pb::Format::default(); n],
                    ..Default::default()
                },
            )),
            ..Default::default()
        }
        .encode_to_vec()
    }

    #[test]
    fn real_requests_pass_and_many_tiny_elements_do_not() {
        assert!(check("StartEncodeRequest", &query_with_formats(100)).is_ok());
        let hostile = query_with_formats(600_000);
        assert!(
            hostile.len() < 4 << 20,
            "{} bytes on the wire",
            hostile.len()
        );
        let refused = check("StartEncodeRequest", &hostile).unwrap_err();
        assert_eq!(refused.kind, ErrorKind::ResourceExhausted);
        assert_eq!(refused.reason, "REQUEST_TOO_LARGE_DECODED");
    }

    #[test]
    fn the_estimate_is_not_below_what_prost_builds() {
        // 10,000 empty formats: the estimate must cover at least their struct size.
        let bytes = query_with_formats(10_000);
        let descriptor = &schema().requests["StartEncodeRequest"];
        let mut budget = Budget { left: usize::MAX };
        walk(descriptor, &bytes, 0, &mut budget).unwrap();
        let estimated = usize::MAX - budget.left;
        let actual = 10_000 * std::mem::size_of::<pb::Format>();
        assert!(
            estimated >= actual,
            "estimated {estimated}, structs alone {actual}"
        );
    }

    #[test]
    fn upload_pieces_pass_and_junk_is_left_to_prost() {
        let piece = pb::UploadFileRequest {
            part: Some(pb::upload_file_request::Part::Chunk(vec![7; 16 << 20])),
        }
        .encode_to_vec();
        assert!(check("UploadFileRequest", &piece).is_ok());
        for junk in [&[0xff_u8; 12][..], &[0x0a, 0x7f], &[0x0b], &[]] {
            assert!(check("StartEncodeRequest", junk).is_ok());
        }
        assert!(check("NoSuchMessage", &[1, 2, 3]).is_ok());
    }
}
