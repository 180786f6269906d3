//! `qgw live ...`: one LiveStreaming call per subcommand, the stream printed readably
//! (state as a word, ingest and playback URLs on their own lines).

use crate::{
    cli::{LiveCommand, StreamArgs},
    connect::Clients,
    fail::Failure,
    output::{line, stream_json, stream_state, stream_text, Output},
};
use qencode_gateway_proto::pb::{self, StreamState, WatchEventKind};
use serde_json::json;
use tokio_stream::StreamExt;

/// Runs one live subcommand.
pub async fn run(clients: &Clients, output: Output, command: LiveCommand) -> Result<(), Failure> {
    let mut live = clients.live();
    let stream = match command {
        LiveCommand::Create(args) => {
            live.create_stream(pb::CreateStreamRequest {
                params: Some(params(args)),
                extra_json: None,
            })
            .await?
            .into_inner()
            .stream
        }
        LiveCommand::List => {
            let streams = live
                .list_streams(pb::ListStreamsRequest {})
                .await?
                .into_inner()
                .streams;
            for stream in &streams {
                print_stream(output, stream)?;
            }
            return Ok(());
        }
        LiveCommand::Get { id } => {
            live.get_stream(pb::GetStreamRequest { stream_id: id })
                .await?
                .into_inner()
                .stream
        }
        LiveCommand::Update { id, params: args } => {
            live.update_stream(pb::UpdateStreamRequest {
                stream_id: id,
                params: Some(params(args)),
                extra_json: None,
            })
            .await?
            .into_inner()
            .stream
        }
        LiveCommand::Start { id } => {
            live.start_stream(pb::StartStreamRequest { stream_id: id })
                .await?
                .into_inner()
                .stream
        }
        LiveCommand::Stop { id } => {
            live.stop_stream(pb::StopStreamRequest { stream_id: id })
                .await?
                .into_inner()
                .stream
        }
        LiveCommand::Delete { id } => {
            let status = live
                .delete_stream(pb::DeleteStreamRequest {
                    stream_id: id.clone(),
                })
                .await?
                .into_inner()
                .status
                .unwrap_or_default();
            let state = stream_state(status.state());
            output.emit(json!({"id": id, "state": state}), || {
                format!("{id}  {state}")
            })?;
            return Ok(());
        }
        LiveCommand::Watch { id } => return watch(clients, output, id).await,
    };
    match stream {
        Some(stream) => print_stream(output, &stream),
        None => Err(Failure::Rpc(tonic::Status::internal(
            "the gateway answered without a stream",
        ))),
    }
}

/// Prints each change of a stream until it is stopped or deleted.
async fn watch(clients: &Clients, output: Output, id: String) -> Result<(), Failure> {
    let mut events = clients
        .live()
        .watch_stream(pb::WatchStreamRequest { stream_id: id })
        .await?
        .into_inner();
    let mut last_state = None;
    while let Some(event) = events.next().await {
        let event = event?;
        if event.kind() == WatchEventKind::Heartbeat {
            continue;
        }
        let Some(stream) = event.stream else { continue };
        let state = stream.status.as_ref().map(|s| s.state());
        if output.json {
            line(stream_json(&stream)?)?;
        } else if state != last_state {
            let word = state.map_or_else(|| "unknown".to_owned(), stream_state);
            line(format!("{}  {word}", stream.id))?;
        }
        last_state = state;
        if matches!(state, Some(StreamState::Stopped | StreamState::Deleted)) {
            return Ok(());
        }
    }
    Err(Failure::Rpc(tonic::Status::unavailable(
        "the watch stream ended before the stream stopped (gateway shutting down?)",
    )))
}

fn print_stream(output: Output, stream: &pb::LiveStream) -> Result<(), Failure> {
    let value = stream_json(stream)?;
    output.emit(value, || stream_text(stream))
}

fn params(args: StreamArgs) -> pb::StreamParams {
    pb::StreamParams {
        name: args.name,
        input_format: args.input_format,
        output_format: args.output_format,
        ..Default::default()
    }
}
