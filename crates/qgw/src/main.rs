//! `qgw`: the command line client of qencode-gateway.
//!
//! This file only parses the command line, dispatches to the command's module and
//! turns the outcome into an exit code; each command lives in its own module.

mod cli;
mod connect;
mod fail;
mod health;
mod live;
mod output;
mod progress;
mod query;
mod retry;
mod tasks;
mod transcode;
mod transport;
mod upload;
mod watch;

use clap::{CommandFactory, Parser};
use cli::{Cli, Command};
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let json = cli.common.json;
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: starting the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(dispatch(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            failure.print(json);
            failure.exit_code()
        }
    }
}

/// Runs the chosen command.
async fn dispatch(cli: Cli) -> Result<(), fail::Failure> {
    let output = output::Output::new(cli.common.json);
    if let Command::Completions { shell } = cli.command {
        // Generated into memory: clap_complete panics on a failed write to stdout.
        let mut script = Vec::new();
        clap_complete::generate(shell, &mut Cli::command(), "qgw", &mut script);
        return output::write_stdout(&script);
    }
    let clients = connect::Clients::new(&cli.common)?;
    match cli.command {
        Command::Transcode(args) => transcode::transcode(&clients, output, args).await,
        Command::Start(args) => transcode::start(&clients, output, args).await,
        Command::Status { tasks } => transcode::status(&clients, output, tasks).await,
        Command::Watch { task } => watch::run(&clients, output, &task).await,
        Command::Upload(args) => upload::run(&clients, output, args).await,
        Command::Tasks(command) => tasks::run(&clients, output, command).await,
        Command::Live(command) => live::run(&clients, output, command).await,
        Command::Health => health::run(&clients, output).await,
        Command::Completions { .. } => Ok(()),
    }
}
