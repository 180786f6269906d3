//! The command line grammar: every subcommand and flag `qgw` accepts.
//!
//! Kept apart from the code that runs the commands so `--help`, completions and the
//! grammar can be read in one place.

use clap::{Args, Parser, Subcommand, ValueEnum};
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
    /// Deadline of each call until its answer starts, e.g. 30s, 500ms, 2m (default: none);
    /// for transcode and start, of all their attempts together.
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
    /// The tasks the gateway's ledger holds (a gateway with GATEWAY_DATABASE_URL set).
    #[command(subcommand)]
    Tasks(TasksCommand),
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
    /// Makes the call idempotent: a repeat with the same id within 24 h gets the first
    /// call's task instead of a new one (default: a new UUID per run, under which qgw
    /// retries failed attempts safely).
    #[arg(long, value_name = "ID")]
    pub request_id: Option<String>,
    /// A label KEY=VALUE kept in the gateway's ledger (see `qgw tasks list --label`);
    /// repeat for more.
    #[arg(long = "label", value_name = "KEY=VALUE", value_parser = parse_label)]
    pub labels: Vec<(String, String)>,
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
    /// Makes the call idempotent (see `qgw transcode --request-id`).
    #[arg(long, value_name = "ID")]
    pub request_id: Option<String>,
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

/// `qgw tasks ...`.
#[derive(Debug, Subcommand)]
pub enum TasksCommand {
    /// The tasks created through the gateway in the project, newest first.
    List(ListArgs),
    /// One task as the ledger holds it: who created it, labels, times, query, status.
    Get {
        /// Task token.
        task: String,
    },
}

/// `qgw tasks list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Most tasks per page (1-1000; the gateway's default is 50).
    #[arg(long, value_parser = clap::value_parser!(i32).range(1..=1000))]
    pub page_size: Option<i32>,
    /// Start at this page (a next_page_token printed by an earlier list).
    #[arg(long)]
    pub page_token: Option<String>,
    /// Follow every page to the end.
    #[arg(long)]
    pub all: bool,
    /// Only tasks in this phase.
    #[arg(long, value_enum)]
    pub phase: Option<Phase>,
    /// Only tasks this caller (a policy name) created.
    #[arg(long)]
    pub caller: Option<String>,
    /// Only tasks carrying this label; repeat for more (all must match).
    #[arg(long = "label", value_name = "KEY=VALUE", value_parser = parse_label)]
    pub labels: Vec<(String, String)>,
    /// Only tasks created at or after this RFC 3339 time, e.g. 2025-01-31T00:00:00Z.
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    pub created_after: Option<prost_types::Timestamp>,
    /// Only tasks created before this RFC 3339 time.
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    pub created_before: Option<prost_types::Timestamp>,
}

/// Where a listed task is.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Phase {
    /// Created or running.
    Active,
    /// Completed.
    Completed,
    /// Failed.
    Failed,
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

/// Parses `KEY=VALUE` (the value may be empty or hold `=`; the gateway checks the rest).
fn parse_label(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((key, value)) if !key.is_empty() => Ok((key.to_owned(), value.to_owned())),
        _ => Err(format!("{text:?} is not KEY=VALUE")),
    }
}

/// Parses an RFC 3339 time such as `2025-01-31T00:00:00Z` or `...+02:00`.
fn parse_time(text: &str) -> Result<prost_types::Timestamp, String> {
    text.parse()
        .map_err(|_| format!("{text:?} is not an RFC 3339 time like 2025-01-31T00:00:00Z"))
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
    fn labels_and_times() {
        assert_eq!(parse_label("a=b"), Ok(("a".into(), "b".into())));
        assert_eq!(parse_label("a=b=c"), Ok(("a".into(), "b=c".into())));
        assert_eq!(parse_label("a="), Ok(("a".into(), String::new())));
        assert!(parse_label("=b").is_err());
        assert!(parse_label("ab").is_err());
        let time = parse_time("2025-01-31T01:02:03Z").expect("valid");
        assert_eq!(time.seconds, 1_738_285_323);
        let offset = parse_time("2025-01-31T03:02:03+02:00").expect("valid");
        assert_eq!(offset.seconds, time.seconds);
        assert!(parse_time("yesterday").is_err());
    }

    #[test]
    fn grammar_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
