//! The grpcio client shape: `benches/grpcio_watchers.py` under a Python that has grpcio
//! (`BENCH_PYTHON`, else `python3`), so the gateway serves real gRPC C-core connections
//! with their own HTTP/2 settings, headers, BDP pings and window updates.

use super::Watched;
use std::{
    io::{BufRead, BufReader, Write},
    process::{Child, ChildStdin, Command, Stdio},
    sync::mpsc,
};

/// Where the Python client package is (its generated stubs are what the script calls).
const CLIENT_PACKAGE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/clients/python/src");

/// The Python to run the client with, when it can import grpc and the client package's
/// stubs (with their dependencies: `pip install clients/python`).
pub fn python() -> Option<String> {
    let python = std::env::var("BENCH_PYTHON").unwrap_or_else(|_| "python3".to_owned());
    let check = format!(
        "import sys; sys.path.insert(0, {CLIENT_PACKAGE:?}); import grpc, qencode_gateway_client.v1.transcoding_pb2_grpc"
    );
    let imports = Command::new(&python)
        .args(["-c", &check])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    imports.then_some(python)
}

/// The Python client with its channels connected and no stream open yet.
pub struct Client {
    child: Child,
    stdin: ChildStdin,
    lines: mpsc::Receiver<String>,
}

impl Client {
    /// Starts the client against `endpoint` (`http://host:port`) for `watchers` streams,
    /// `per_connection` on each channel, over `tokens`; returns once its channels are
    /// connected.
    pub async fn connect(
        python: &str,
        endpoint: &str,
        tokens: &[String],
        watchers: usize,
        per_connection: usize,
    ) -> Client {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/grpcio_watchers.py");
        let mut child = Command::new(python)
            .arg(script)
            .arg(endpoint.trim_start_matches("http://"))
            .arg(watchers.to_string())
            .arg(per_connection.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the grpcio client");
        let mut stdin = child.stdin.take().expect("client stdin");
        for token in tokens {
            writeln!(stdin, "{token}").expect("write a token");
        }
        writeln!(stdin).expect("end the tokens");
        stdin.flush().expect("flush the tokens");
        // The client's lines are read on a thread of their own, so this runtime keeps
        // serving the sandbox meanwhile.
        let stdout = child.stdout.take().expect("client stdout");
        let (sender, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if sender.send(line).is_err() {
                    return;
                }
            }
        });
        let mut client = Client {
            child,
            stdin,
            lines,
        };
        let line = client.next_line().await;
        assert_eq!(
            line.as_deref(),
            Some("connected"),
            "grpcio client: {line:?}"
        );
        client
    }

    /// Opens the streams; `on_open` runs once every stream has its first message (or
    /// ended without one). Returns when every stream has ended.
    pub async fn watch(mut self, on_open: impl FnOnce()) -> Watched {
        writeln!(self.stdin, "go").expect("start the watches");
        self.stdin.flush().expect("flush");
        let mut watched = Watched::default();
        let mut on_open = Some(on_open);
        while let Some(line) = self.next_line().await {
            let mut words = line.split_whitespace();
            let what = words.next();
            let numbers: Vec<usize> = words.filter_map(|w| w.parse().ok()).collect();
            match (what, numbers.as_slice()) {
                (Some("open"), [failed]) => {
                    watched.failed_first = *failed;
                    if let Some(on_open) = on_open.take() {
                        on_open();
                    }
                }
                (Some("done"), [updates, completed]) => {
                    watched.updates = *updates;
                    watched.completed = *completed;
                }
                _ => panic!("unexpected line from the grpcio client: {line}"),
            }
        }
        let status = self.child.wait().expect("wait for the grpcio client");
        assert!(status.success(), "the grpcio client failed: {status}");
        watched
    }

    /// The client's next line; `None` once it closed its output.
    async fn next_line(&mut self) -> Option<String> {
        loop {
            match self.lines.try_recv() {
                Ok(line) => return Some(line),
                Err(mpsc::TryRecvError::Disconnected) => return None,
                Err(mpsc::TryRecvError::Empty) => {
                    tokio::time::sleep(std::time::Duration::from_millis(10)).await
                }
            }
        }
    }
}
