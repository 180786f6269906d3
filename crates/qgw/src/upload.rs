//! `qgw upload`: CreateTask, then the file over the UploadFile client stream.
//!
//! The file is read chunk by chunk into a small channel, so memory stays at a few
//! chunks whatever the file size and gRPC flow control paces the reading; the byte bar
//! advances as chunks are handed to the stream.

use crate::{cli::UploadArgs, connect::Clients, fail::Failure, output::Output, query};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use qencode_gateway_proto::pb::{self, upload_file_request::Part};
use serde_json::json;
use std::path::Path;
use tokio::{io::AsyncReadExt, sync::mpsc};
use tokio_stream::wrappers::ReceiverStream;

/// Chunks read ahead of the stream.
const READ_AHEAD: usize = 4;

/// Uploads `args.file` into a new task and optionally starts (and watches) it.
pub async fn run(clients: &Clients, output: Output, args: UploadArgs) -> Result<(), Failure> {
    // Checked before anything is created upstream.
    let start_query = if args.start { Some(&args.query) } else { None };
    if start_query.is_some_and(|q| q.formats.is_empty() && q.query_file.is_none()) {
        return Err(Failure::local("--start needs --format or --query-file"));
    }
    if args.chunk_size == 0 {
        return Err(Failure::local("--chunk-size must be at least 1"));
    }
    let file = tokio::fs::File::open(&args.file)
        .await
        .map_err(|e| Failure::local(format!("opening {}: {e}", args.file.display())))?;
    let size = file
        .metadata()
        .await
        .map_err(|e| Failure::local(format!("reading {}: {e}", args.file.display())))?
        .len();
    let task = clients
        .transcoding()
        .create_task(pb::CreateTaskRequest::default())
        .await?
        .into_inner();
    let metadata = pb::UploadMetadata {
        task_token: task.task_token.clone(),
        file_name: file_name(&args.file),
        size,
        content_type: None,
        // The gateway remembers the upload URL of tasks it created.
        upload_url: None,
        resume_token: None,
        offset: None,
    };
    let bar = byte_bar(size, output);
    let (sender, receiver) = mpsc::channel(READ_AHEAD);
    let reader = tokio::spawn(feed(file, metadata, args.chunk_size, sender, bar.clone()));
    let answer = clients
        .transcoding()
        .upload_file(ReceiverStream::new(receiver))
        .await;
    bar.finish();
    // A read error ends the stream early; report it rather than the gateway's answer
    // to the short upload.
    match reader.await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => {
            return Err(Failure::local(format!(
                "reading {}: {e}",
                args.file.display()
            )))
        }
        Err(e) => {
            return Err(Failure::local(format!(
                "reading {}: {e}",
                args.file.display()
            )))
        }
    }
    let uploaded = answer?.into_inner();
    output.emit(
        json!({
            "task_token": task.task_token,
            "source_uri": uploaded.source_uri,
            "bytes_stored": uploaded.bytes_stored,
        }),
        || {
            format!(
                "uploaded {} bytes\n  task: {}\n  source: {}",
                uploaded.bytes_stored, task.task_token, uploaded.source_uri
            )
        },
    )?;
    if let Some(query_args) = start_query {
        let query = query::build(Some(uploaded.source_uri.clone()), query_args)?;
        let request_id = crate::retry::RequestId::from_flag(None);
        crate::transcode::start_task(clients, output, &task.task_token, query, &request_id).await?;
        if args.watch {
            crate::watch::run(clients, output, &task.task_token).await?;
        }
    }
    Ok(())
}

/// Sends the metadata, then the file in `chunk_size` pieces; stops if the call ended.
async fn feed(
    mut file: tokio::fs::File,
    metadata: pb::UploadMetadata,
    chunk_size: usize,
    sender: mpsc::Sender<pb::UploadFileRequest>,
    bar: ProgressBar,
) -> std::io::Result<()> {
    let message = |part| pb::UploadFileRequest { part: Some(part) };
    if sender
        .send(message(Part::Metadata(metadata)))
        .await
        .is_err()
    {
        return Ok(());
    }
    loop {
        let mut chunk = vec![0; chunk_size];
        let read = file.read(&mut chunk).await?;
        if read == 0 {
            return Ok(());
        }
        chunk.truncate(read);
        if sender.send(message(Part::Chunk(chunk))).await.is_err() {
            // The gateway answered early (an error); its status says why.
            return Ok(());
        }
        bar.inc(read as u64);
    }
}

/// A byte bar with rate and ETA on a terminal; hidden otherwise.
fn byte_bar(size: u64, output: Output) -> ProgressBar {
    if !output.terminal {
        return ProgressBar::hidden();
    }
    let style =
        ProgressStyle::with_template("[{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} ETA {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
    ProgressBar::with_draw_target(Some(size), ProgressDrawTarget::stderr()).with_style(style)
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map_or_else(|| "upload".to_owned(), |n| n.to_string_lossy().into_owned())
}
