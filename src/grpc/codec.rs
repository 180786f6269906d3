//! The gateway's gRPC codec: prost, with a small initial encode buffer.
//!
//! tonic's default codec reserves an 8 KiB encode buffer for every response body and
//! keeps it for the body's lifetime. For unary calls that is noise; for watch streams,
//! which stay open for hours by the thousand, it was the largest cost per watcher. Our
//! messages are a few hundred bytes, so 1 KiB is enough and the buffer still grows on
//! demand for large ones (e.g. a long stream list).
//!
//! Decoding goes through [`GatewayDecoder`]: tonic-prost answers a request that is not
//! valid protobuf with INTERNAL, which tells the caller the gateway broke; gRPC's
//! convention (and the caller's retry logic) wants INVALID_ARGUMENT for a malformed
//! message. Before decoding, it refuses a message that would take more memory decoded
//! than [`super::decoded_size::MAX_DECODED_BYTES`] (many tiny elements).

use std::marker::PhantomData;
use tonic::{
    codec::{BufferSettings, Codec, DecodeBuf, Decoder},
    Status,
};
use tonic_prost::ProstCodec;

/// Initial encode buffer per response body.
const ENCODE_BUFFER: usize = 1024;
/// tonic's default: yield after this many bytes are buffered.
const YIELD_THRESHOLD: usize = 32 * 1024;

/// Prost encoding with a 1 KiB initial encode buffer (see the module doc).
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
    type Encoder = <ProstCodec<T, U> as Codec>::Encoder;
    type Decoder = GatewayDecoder<<ProstCodec<T, U> as Codec>::Decoder, U>;

    fn encoder(&mut self) -> Self::Encoder {
        ProstCodec::<T, U>::raw_encoder(BufferSettings::new(ENCODE_BUFFER, YIELD_THRESHOLD))
    }

    fn decoder(&mut self) -> Self::Decoder {
        GatewayDecoder(
            ProstCodec::<T, U>::raw_decoder(BufferSettings::default()),
            PhantomData,
        )
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
