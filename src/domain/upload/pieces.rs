//! Gathers the caller's chunks (any size) into pieces of the configured chunk size, one
//! PATCH each, and enforces the declared size as the bytes arrive.
//!
//! Only one piece is held at a time: the uploader asks for the next piece after the
//! previous one is stored, and until then nothing more is read from the request stream,
//! so gRPC flow control slows the caller down instead of the gateway buffering.

use crate::support::error::{Error, ErrorKind, GATEWAY_DOMAIN};
use crate::support::reasons;
use bytes::{Bytes, BytesMut};
use futures::{Stream, StreamExt};
use std::time::Duration;

/// How long the caller may send nothing before the upload is given up, so a stalled
/// caller does not hold a piece's memory forever.
const IDLE_TIMEOUT: Duration = Duration::from_secs(120);

/// The caller's chunks, regrouped into pieces.
pub struct Pieces<S> {
    chunks: S,
    /// The declared size: exactly this many bytes must arrive.
    size: u64,
    /// Bytes per piece (the last one may be shorter).
    piece_size: u64,
    /// Bytes read from the caller so far.
    received: u64,
    /// Bytes handed out in pieces so far.
    handed_out: u64,
    /// The part of the last chunk that did not fit in the previous piece.
    carry: Option<Bytes>,
    /// The previous piece's buffer, handed back once stored, so an upload reuses one
    /// allocation instead of leaving the allocator a trail of piece-sized blocks.
    spare: Option<BytesMut>,
}

impl<S> Pieces<S>
where
    S: Stream<Item = Result<Bytes, Error>> + Unpin,
{
    /// Pieces of `piece_size` bytes (at least 1) from a stream that must carry `size` bytes.
    pub fn new(chunks: S, size: u64, piece_size: u64) -> Self {
        Self::starting_at(chunks, size, 0, piece_size)
    }

    /// Pieces of a file of `size` bytes whose first `start` bytes the storage already
    /// holds: the stream carries the rest, and offsets count from the file's start.
    pub fn starting_at(chunks: S, size: u64, start: u64, piece_size: u64) -> Self {
        let start = start.min(size);
        Pieces {
            chunks,
            size,
            piece_size: piece_size.max(1),
            received: start,
            handed_out: start,
            carry: None,
            spare: None,
        }
    }

    /// Hands a stored piece back for reuse; kept only when nothing else holds it.
    pub fn recycle(&mut self, piece: Bytes) {
        if let Ok(mut buffer) = piece.try_into_mut() {
            buffer.clear();
            self.spare = Some(buffer);
        }
    }

    /// The next piece and its offset in the file, or `None` once every byte was handed
    /// out. The last piece is handed out only after the stream has ended, so a stream
    /// carrying too much is refused before the upload is complete upstream.
    pub async fn next(&mut self) -> Result<Option<(u64, Bytes)>, Error> {
        let remaining = self.size - self.handed_out;
        if remaining == 0 {
            return Ok(None);
        }
        // At most `piece_size`, which the configuration caps far below `usize::MAX`.
        let target = usize::try_from(remaining.min(self.piece_size)).unwrap_or(usize::MAX);
        let mut piece = self.spare.take().unwrap_or_default();
        piece.reserve(target);
        while piece.len() < target {
            let chunk = match self.carry.take() {
                Some(chunk) => chunk,
                None => self.read().await?.ok_or_else(|| self.ended_short())?,
            };
            let room = target - piece.len();
            if chunk.len() > room {
                piece.extend_from_slice(&chunk[..room]);
                self.carry = Some(chunk.slice(room..));
            } else {
                piece.extend_from_slice(&chunk);
            }
        }
        let offset = self.handed_out;
        self.handed_out += target as u64;
        if self.handed_out == self.size {
            // Any further byte makes `read` fail; only the stream's end gets past this.
            if self.read().await?.is_some() {
                return Err(self.too_many());
            }
        }
        Ok(Some((offset, piece.freeze())))
    }

    /// The next non-empty chunk; refuses it when it takes the total past `size`.
    async fn read(&mut self) -> Result<Option<Bytes>, Error> {
        loop {
            let next = tokio::time::timeout(IDLE_TIMEOUT, self.chunks.next())
                .await
                .map_err(|_| idle())?;
            match next {
                None => return Ok(None),
                Some(Err(error)) => return Err(error),
                Some(Ok(chunk)) if chunk.is_empty() => continue,
                Some(Ok(chunk)) => {
                    self.received += chunk.len() as u64;
                    if self.received > self.size {
                        return Err(self.too_many());
                    }
                    return Ok(Some(chunk));
                }
            }
        }
    }

    fn too_many(&self) -> Error {
        Error::invalid_field(
            "chunk",
            format!(
                "the stream carries more than metadata.size = {} bytes",
                self.size
            ),
        )
    }

    fn ended_short(&self) -> Error {
        Error::invalid_field(
            "metadata.size",
            format!(
                "is {} bytes but the stream ended after {}",
                self.size, self.received
            ),
        )
    }
}

fn idle() -> Error {
    Error::new(
        ErrorKind::DeadlineExceeded,
        GATEWAY_DOMAIN,
        reasons::UPLOAD_STREAM_IDLE,
        format!("the caller sent nothing for {IDLE_TIMEOUT:?}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::stream;

    fn chunks(sizes: &[usize]) -> impl Stream<Item = Result<Bytes, Error>> + Unpin {
        let mut next = 0u8;
        let chunks: Vec<_> = sizes
            .iter()
            .map(|&n| {
                let chunk: Vec<u8> = (0..n)
                    .map(|_| {
                        next = next.wrapping_add(1);
                        next
                    })
                    .collect();
                Ok(Bytes::from(chunk))
            })
            .collect();
        stream::iter(chunks)
    }

    async fn all(sizes: &[usize], size: u64, piece: u64) -> Result<Vec<(u64, usize)>, String> {
        let mut pieces = Pieces::new(chunks(sizes), size, piece);
        let mut out = Vec::new();
        loop {
            match pieces.next().await {
                Ok(Some((offset, bytes))) => out.push((offset, bytes.len())),
                Ok(None) => return Ok(out),
                Err(e) => return Err(e.violations[0].field.clone()),
            }
        }
    }

    #[tokio::test]
    async fn regroups_any_chunk_sizes_into_pieces() {
        let got = all(&[3, 0, 7, 1, 9], 20, 8).await;
        assert_eq!(got, Ok(vec![(0, 8), (8, 8), (16, 4)]));
        assert_eq!(all(&[20], 20, 8).await, Ok(vec![(0, 8), (8, 8), (16, 4)]));
        assert_eq!(all(&[1; 5], 5, 100).await, Ok(vec![(0, 5)]));
    }

    #[tokio::test]
    async fn bytes_arrive_in_order() {
        let mut pieces = Pieces::new(chunks(&[5, 6]), 11, 4);
        let mut data = Vec::new();
        while let Some((_, piece)) = pieces.next().await.unwrap() {
            data.extend_from_slice(&piece);
        }
        assert_eq!(data, (1..=11).collect::<Vec<u8>>());
    }

    #[tokio::test]
    async fn a_recycled_piece_buffer_is_reused() {
        let mut pieces = Pieces::new(chunks(&[8]), 8, 4);
        let (_, first) = pieces.next().await.unwrap().unwrap();
        let address = first.as_ptr();
        pieces.recycle(first);
        let (_, second) = pieces.next().await.unwrap().unwrap();
        assert_eq!(second.as_ptr(), address);
        assert_eq!(&second[..], &[5, 6, 7, 8]);
    }

    #[tokio::test]
    async fn a_resumed_upload_counts_offsets_from_the_file_s_start() {
        let mut pieces = Pieces::starting_at(chunks(&[3, 9]), 20, 8, 8);
        let mut got = Vec::new();
        while let Some((offset, piece)) = pieces.next().await.unwrap() {
            got.push((offset, piece.len()));
        }
        assert_eq!(got, [(8, 8), (16, 4)]);
        // The rest must be exactly size - start bytes.
        let mut short = Pieces::starting_at(chunks(&[5]), 20, 8, 8);
        assert!(short.next().await.is_err());
    }

    #[tokio::test]
    async fn wrong_totals_are_refused() {
        assert_eq!(all(&[5, 5], 9, 4).await, Err("chunk".into()));
        assert_eq!(all(&[9, 1], 9, 4).await, Err("chunk".into()));
        assert_eq!(all(&[8], 9, 4).await, Err("metadata.size".into()));
    }

    #[tokio::test]
    async fn too_many_is_seen_before_the_piece_it_overflows_is_handed_out() {
        // 10 bytes into a 9-byte upload with 100-byte pieces: no piece at all.
        let mut pieces = Pieces::new(chunks(&[10]), 9, 100);
        assert!(pieces.next().await.is_err());
    }
}
