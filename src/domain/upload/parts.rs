//! The order rules of an upload's message stream: the metadata first and only there,
//! then the file's chunks. Kept apart from the gRPC adapter so the rules are domain
//! code with their own tests, and apart from the uploader, which sees only bytes.

use crate::{
    pb::{upload_file_request::Part, UploadMetadata},
    support::error::Error,
};
use bytes::Bytes;
use futures::{Stream, StreamExt};

/// Splits a stream of message parts (`None`: a message carrying neither) into the
/// metadata and the stream of chunks after it. A misplaced part ends the chunk stream
/// with `INVALID_ARGUMENT` naming it, as soon as it arrives.
pub async fn split<S>(
    mut parts: S,
) -> Result<
    (
        UploadMetadata,
        impl Stream<Item = Result<Bytes, Error>> + Send + Unpin,
    ),
    Error,
>
where
    S: Stream<Item = Result<Option<Part>, Error>> + Send + Unpin,
{
    let metadata = match parts.next().await {
        Some(Ok(Some(Part::Metadata(metadata)))) => metadata,
        Some(Err(error)) => return Err(error),
        None => {
            return Err(Error::invalid_field(
                "metadata",
                "is required in the first message; the stream was empty",
            ))
        }
        Some(Ok(Some(Part::Chunk(_)))) => {
            return Err(Error::invalid_field(
                "metadata",
                "must be the first message, before any chunk",
            ))
        }
        Some(Ok(None)) => {
            return Err(Error::invalid_field(
                "metadata",
                "is required in the first message, which carried nothing",
            ))
        }
    };
    let chunks = parts.map(|part| match part? {
        Some(Part::Chunk(bytes)) => Ok(Bytes::from(bytes)),
        Some(Part::Metadata(_)) => Err(Error::invalid_field(
            "metadata",
            "must be sent once, in the first message",
        )),
        None => Err(Error::invalid_field(
            "part",
            "must carry metadata or a chunk",
        )),
    });
    Ok((metadata, chunks))
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::stream;

    fn metadata() -> Part {
        Part::Metadata(UploadMetadata {
            task_token: "t".into(),
            size: 3,
            ..Default::default()
        })
    }

    async fn fields(parts: Vec<Option<Part>>) -> Vec<Result<Bytes, String>> {
        let parts = stream::iter(parts.into_iter().map(Ok));
        match split(parts).await {
            Err(error) => vec![Err(error.violations[0].field.clone())],
            Ok((_, chunks)) => {
                chunks
                    .map(|c| c.map_err(|e| e.violations[0].field.clone()))
                    .collect()
                    .await
            }
        }
    }

    #[tokio::test]
    async fn metadata_first_then_chunks() {
        let got = fields(vec![
            Some(metadata()),
            Some(Part::Chunk(b"ab".to_vec())),
            Some(Part::Chunk(b"c".to_vec())),
        ])
        .await;
        assert_eq!(got, vec![Ok(Bytes::from("ab")), Ok(Bytes::from("c"))]);
    }

    #[tokio::test]
    async fn misplaced_parts_name_their_field() {
        let err = |field: &str| vec![Err(field.to_owned())];
        assert_eq!(fields(vec![]).await, err("metadata"));
        assert_eq!(
            fields(vec![Some(Part::Chunk(vec![1])), Some(metadata())]).await,
            err("metadata")
        );
        assert_eq!(fields(vec![None]).await, err("metadata"));
        let twice = fields(vec![Some(metadata()), Some(metadata())]).await;
        assert_eq!(twice, err("metadata"));
        let empty = fields(vec![Some(metadata()), None]).await;
        assert_eq!(empty, err("part"));
    }
}
