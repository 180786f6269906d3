//! The `qencode-sandbox` binary: a Qencode-compatible server for other teams' tests and
//! local development. `qencode-sandbox --listen 127.0.0.1:8100 --api-key k` serves both
//! APIs with key `k` until SIGINT or SIGTERM.

use clap::Parser;
use qencode_sandbox::cli::{run, SandboxArgs};
use std::{io::IsTerminal, process::ExitCode};

/// Command line of `qencode-sandbox`.
#[derive(Debug, Parser)]
#[command(name = "qencode-sandbox", version, about, long_about = None)]
struct Cli {
    #[command(flatten)]
    args: SandboxArgs,
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        // Colour codes only for a person at a terminal; log collectors and tests read
        // plain `key=value` fields.
        .with_ansi(std::io::stderr().is_terminal())
        // The default reports a failed log write with `eprintln!`, which panics once
        // stderr is a closed pipe (a test or supervisor that stopped reading): every
        // request that logged would then lose its connection.
        .log_internal_errors(false)
        .init();
    match run(cli.args, stopped()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "sandbox failed");
            ExitCode::FAILURE
        }
    }
}

/// Completes on SIGINT or SIGTERM.
async fn stopped() {
    let terminate = async {
        #[cfg(unix)]
        if let Ok(mut signal) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            signal.recv().await;
            return;
        }
        std::future::pending::<()>().await;
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = terminate => {}
    }
    tracing::info!("stopping");
}
