//! The gateway's gRPC codec: prost, with a small initial encode buffer.
//!
//! tonic's default codec reserves an 8 KiB encode buffer for every response body and
//! keeps it for the body's lifetime. For unary calls that is noise; for watch streams,
//! which stay open for hours by the thousand, it was the largest cost per watcher.
//! [`GatewayEncoder`] starts with a token buffer and reserves each message's exact
//! encoded length before writing it: a body then holds one buffer the size of its
//! largest message (a queued task's status is ~300 bytes, a finished one's ~1.3 KiB),
//! where a fixed start size either wastes memory on small messages or, on a larger one,
//! reallocates and copies in the middle of the encode and keeps the doubled buffer.
//!
//! Decoding goes through [`GatewayDecoder`]: tonic-prost answers a request that is not
//! valid protobuf with INTERNAL, which tells the caller the gateway broke; gRPC's
//! convention (and the caller's retry logic) wants INVALID_ARGUMENT for a malformed
//! message. Before decoding, it refuses a message that would take more memory decoded
//! than [`super::decoded_size::MAX_DECODED_BYTES`] (many tiny elements).

use std::marker::PhantomData;
use tonic::{
    codec::{BufferSettings, Codec, DecodeBuf, Decoder, EncodeBuf, Encoder},
    Status,
};
use tonic_prost::ProstCodec;

/// Initial encode buffer per response body: a token; [`GatewayEncoder`] reserves what
/// each message needs. Not zero: tonic also uses it as the growth step of compressed
/// bodies, and divides by it.
const ENCODE_BUFFER: usize = 64;
/// tonic's default: yield after this many bytes are buffered.
const YIELD_THRESHOLD: usize = 32 * 1024;

/// Prost encoding into exactly sized buffers (see the module doc), and decoding that
/// answers malformed messages with INVALID_ARGUMENT.
#[derive(Debug, Clone, Copy)]
pub struct GatewayCodec<T, U>(PhantomData<(T, U)>);

impl<T, U> Default for GatewayCodec<T, U> {
    fn default() -> Self {
        GatewayCodec(PhantomData)
    }
}

impl<T, U> Codec for GatewayCodec<T, U>
where
    T: prost::Message + Send + 'static,
    U: prost::Message + prost::Name + Default + Send + 'static,
{
    type Encode = T;
    type Decode = U;
    type Encoder = GatewayEncoder<T>;
    type Decoder = GatewayDecoder<<ProstCodec<T, U> as Codec>::Decoder, U>;

    fn encoder(&mut self) -> Self::Encoder {
        GatewayEncoder(PhantomData)
    }

    fn decoder(&mut self) -> Self::Decoder {
        GatewayDecoder(
            ProstCodec::<T, U>::raw_decoder(BufferSettings::default()),
            PhantomData,
        )
    }
}

/// Prost encoding into a buffer grown once, to the message's exact length (see the
/// module doc).
#[derive(Debug)]
pub struct GatewayEncoder<T>(PhantomData<fn(T)>);

impl<T: prost::Message> Encoder for GatewayEncoder<T> {
    type Item = T;
    type Error = Status;

    fn encode(&mut self, item: T, buf: &mut EncodeBuf<'_>) -> Result<(), Status> {
        // What `Message::encode` does (one length pass, then the bytes), with the
        // length used to grow the buffer once instead of piecewise.
        buf.reserve(item.encoded_len());
        item.encode_raw(buf);
        Ok(())
    }

    fn buffer_settings(&self) -> BufferSettings {
        BufferSettings::new(ENCODE_BUFFER, YIELD_THRESHOLD)
    }
}

/// A decoder of `U` whose failures are INVALID_ARGUMENT and which bounds the decoded
/// size (see the module doc).
#[derive(Debug)]
pub struct GatewayDecoder<D, U>(D, PhantomData<fn() -> U>);

impl<D, U> Decoder for GatewayDecoder<D, U>
where
    D: Decoder<Error = Status>,
    U: prost::Name,
{
    type Item = D::Item;
    type Error = Status;

    fn decode(&mut self, buf: &mut DecodeBuf<'_>) -> Result<Option<Self::Item>, Status> {
        use bytes::Buf;
        // The whole message is one contiguous buffer here.
        super::decoded_size::check(U::NAME, buf.chunk()).map_err(super::status::to_status)?;
        self.0.decode(buf).map_err(super::status::malformed_message)
    }

    fn buffer_settings(&self) -> BufferSettings {
        self.0.buffer_settings()
    }
}
