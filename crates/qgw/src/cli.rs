//! The command line grammar: every subcommand and flag `qgw` accepts.
//!
//! Kept apart from the code that runs the commands so `--help`, completions and the
//! grammar can be read in one place.

use clap::{Args, Parser, Subcommand};
use std::{path::PathBuf, time::Duration};

/// The exit codes, shown at the end of `qgw --help` so scripts can rely on them.
const EXIT_CODES: &str = "\
Exit codes:
  0        success
  1        local failure (file unreadable, bad --query-file, TLS files)
  2        usage error (unknown flag, missing argument, --format size not WxH)
  3        the task or stream ended in an error state
  10+code  the gateway answered a gRPC error: 10 + its numeric code, e.g.
           13 INVALID_ARGUMENT, 14 DEADLINE_EXCEEDED (--timeout expired),
           15 NOT_FOUND, 19 FAILED_PRECONDITION,
           24 UNAVAILABLE (also: gateway unreachable), 26 UNAUTHENTICATED";

/// Command line client of qencode-gateway.
#[derive(Debug, Parser)]
#[command(name = "qgw", version, about, after_help = EXIT_CODES)]
pub struct Cli {
    /// Connection and output flags shared by every subcommand.
    #[command(flatten)]
    pub common: Common,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Flags every subcommand accepts.
#[derive(Debug, Args)]
pub struct Common {
    /// Gateway address: host:port, `[::1]:port`, http://host:port or https://host:port
    /// (`https://` implies TLS; a bare host:port is plaintext unless --tls).
    #[arg(
        long,
        global = true,
        env = "QGW_TARGET",
        default_value = "http://127.0.0.1:50051"
    )]
    pub target: String,
    /// Use TLS even if the target says http://.
    #[arg(long, global = true)]
    pub tls: bool,
    /// PEM CA certificate that signs the gateway's certificate (default: system roots).
    #[arg(long, global = true, value_name = "PEM")]
    pub ca: Option<PathBuf>,
    /// PEM client certificate for mutual TLS (with --key).
    #[arg(long, global = true, value_name = "PEM", requires = "key")]
    pub cert: Option<PathBuf>,
    /// PEM private key of --cert.
    #[arg(long, global = true, value_name = "PEM", requires = "cert")]
    pub key: Option<PathBuf>,
    /// Sent as `authorization: Bearer <TOKEN>` on every call.
    #[arg(long, global = true, env = "QGW_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Sent as `x-qencode-project` on every call.
    #[arg(long, global = true, env = "QGW_PROJECT")]
    pub project: Option<String>,
    /// Deadline of each call until its answer starts, e.g. 30s, 500ms, 2m (default: none).
    #[arg(long, global = true, value_parser = parse_duration)]
    pub timeout: Option<Duration>,
    /// Print one JSON object per line instead of text and progress bars.
    #[arg(long, global = true)]
    pub json: bool,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a task and start it (one Transcode call), optionally watching it.
    Transcode(TranscodeArgs),
    /// Start an existing task (e.g. one whose source was uploaded).
    Start(StartArgs),
    /// Print the status of one or more tasks.
    Status {
        /// Task tokens.
        #[arg(required = true)]
        tasks: Vec<String>,
    },
    /// Follow a task until it ends: progress per task and per output, then output URLs.
    Watch {
        /// Task token.
        task: String,
    },
    /// Upload a local file into a new task (CreateTask + UploadFile), optionally start it.
    Upload(UploadArgs),
    /// Manage live streams.
    #[command(subcommand)]
    Live(LiveCommand),
    /// Check the gateway's health (server and both services).
    Health,
    /// Print a shell completion script.
    Completions {
        /// Shell to complete for.
        shell: clap_complete::Shell,
    },
}

/// What a query is made of: `--format` outputs or a JSON file.
#[derive(Debug, Args)]
pub struct QueryArgs {
    /// An output as OUTPUT:WxH (e.g. mp4:640x360) or OUTPUT alone; repeat for more.
    #[arg(long = "format", value_name = "OUTPUT:WxH", value_parser = crate::query::parse_format)]
    pub formats: Vec<qencode_gateway_proto::pb::Format>,
    /// A Qencode query as JSON (`{"query": {...}}` or the inner object), sent as is.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["formats"])]
    pub query_file: Option<PathBuf>,
}

/// `qgw transcode`.
#[derive(Debug, Args)]
pub struct TranscodeArgs {
    /// Source URL (http(s), s3, or tus:UUID of an upload).
    #[arg(long, conflicts_with = "query_file")]
    pub source: Option<String>,
    /// Outputs.
    #[command(flatten)]
    pub query: QueryArgs,
    /// Follow the task until it ends.
    #[arg(long)]
    pub watch: bool,
}

/// `qgw start`.
#[derive(Debug, Args)]
pub struct StartArgs {
    /// Task token (from CreateTask or `qgw upload`).
    #[arg(long)]
    pub task: String,
    /// Source URL (default for an uploaded task: pass the `tus:` URI upload printed).
    #[arg(long, conflicts_with = "query_file")]
    pub source: Option<String>,
    /// Outputs.
    #[command(flatten)]
    pub query: QueryArgs,
    /// Follow the task until it ends.
    #[arg(long)]
    pub watch: bool,
}

/// `qgw upload`.
#[derive(Debug, Args)]
pub struct UploadArgs {
    /// The file to upload.
    pub file: PathBuf,
    /// Start the task with the upload as its source (needs --format or --query-file).
    #[arg(long)]
    pub start: bool,
    /// Outputs for --start.
    #[command(flatten)]
    pub query: QueryArgs,
    /// Follow the started task until it ends.
    #[arg(long, requires = "start")]
    pub watch: bool,
    /// Bytes per UploadFile chunk.
    #[arg(long, default_value_t = 256 * 1024)]
    pub chunk_size: usize,
}

/// `qgw live ...`.
#[derive(Debug, Subcommand)]
pub enum LiveCommand {
    /// Create a stream.
    Create(StreamArgs),
    /// List every stream.
    List,
    /// Show one stream.
    Get {
        /// Stream id.
        id: String,
    },
    /// Change a stream's parameters.
    Update {
        /// Stream id.
        id: String,
        /// New parameters.
        #[command(flatten)]
        params: StreamArgs,
    },
    /// Start a stream.
    Start {
        /// Stream id.
        id: String,
    },
    /// Stop a stream.
    Stop {
        /// Stream id.
        id: String,
    },
    /// Delete a (stopped) stream.
    Delete {
        /// Stream id.
        id: String,
    },
    /// Follow a stream's state until it is stopped or deleted.
    Watch {
        /// Stream id.
        id: String,
    },
}

/// Stream parameters settable from the command line.
#[derive(Debug, Args)]
pub struct StreamArgs {
    /// Stream name.
    #[arg(long)]
    pub name: Option<String>,
    /// Ingest protocol, e.g. rtmp or srt.
    #[arg(long)]
    pub input_format: Option<String>,
    /// Playback format, e.g. hls.
    #[arg(long)]
    pub output_format: Option<String>,
}

/// Parses `30s`, `500ms`, `2m` or plain seconds.
fn parse_duration(text: &str) -> Result<Duration, String> {
    let (number, unit) = match text.find(|c: char| !c.is_ascii_digit() && c != '.') {
        Some(at) => text.split_at(at),
        None => (text, "s"),
    };
    let value: f64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration like 30s, 500ms or 2m"))?;
    let seconds = match unit {
        "ms" => value / 1000.0,
        "s" => value,
        "m" => value * 60.0,
        _ => return Err(format!("unknown unit {unit:?} (use ms, s or m)")),
    };
    Duration::try_from_secs_f64(seconds).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("5"), Ok(Duration::from_secs(5)));
        assert!(parse_duration("5h").is_err());
        assert!(parse_duration("x").is_err());
    }

    #[test]
    fn grammar_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
