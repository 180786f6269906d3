//! The `qencode-gateway` binary: config -> telemetry -> (sandbox when no key) -> bind ->
//! [`qencode_gateway::run`] until SIGTERM/SIGINT -> flush.

use clap::Parser;
#[cfg(feature = "sandbox")]
use qencode_gateway::support::{config::Command, embedded};
use qencode_gateway::{
    gateway::Files,
    run,
    support::{
        config::{parse_error, Cli, Config},
        telemetry,
    },
    Gateway, Listeners,
};
use std::{net::SocketAddr, process::ExitCode};
use tokio::net::TcpListener;
use tracing::{debug, error, info, warn};

/// About a fifth of the gateway's user-space instructions per GetStatus went to glibc's
/// malloc and free; mimalloc's thread-local free lists make the same allocations cheaper
/// (figures in docs/BENCHMARKS.md).
#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Exit code for bad configuration (EX_USAGE), as linkerd uses.
const EXIT_CONFIG: u8 = 64;

fn main() -> ExitCode {
    // First, before the heap grows: huge pages made idle memory double and the cost of a
    // watcher depend on luck (see the module).
    let huge_pages_off = qencode_gateway::support::huge_pages::disable();
    let cli = match Cli::try_parse() {
        Ok(cli) if cli.help_all => {
            print!("{}", Cli::help_all());
            return ExitCode::SUCCESS;
        }
        Ok(cli) => cli,
        // --help and --version.
        Err(e) if !e.use_stderr() => {
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            let args: Vec<_> = std::env::args_os().collect();
            let line = parse_error::one_line(&e, &args, |env| std::env::var_os(env).is_some());
            eprintln!("qencode-gateway: {line}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    if let Err(problem) = cli.gateway.check() {
        eprintln!("qencode-gateway: {problem}");
        return ExitCode::from(EXIT_CONFIG);
    }
    let files = match Files::load(&cli.gateway) {
        Ok(files) => files,
        Err(problem) => {
            eprintln!("qencode-gateway: {problem}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    #[cfg(not(feature = "sandbox"))]
    if cli.gateway.wants_sandbox() {
        eprintln!(
            "qencode-gateway: QENCODE_API_KEY is not set and this build has no built-in sandbox \
             (cargo feature `sandbox`): set QENCODE_API_KEY, or run `qencode-sandbox` and set \
             QENCODE_API_URL, QENCODE_LIVE_API_URL and QENCODE_API_KEY to its address and key"
        );
        return ExitCode::from(EXIT_CONFIG);
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("qencode-gateway: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        // Inside the runtime: the OTLP exporter's gRPC client needs it.
        let telemetry = telemetry::init(cli.gateway.log_format);
        if !huge_pages_off {
            debug!("transparent huge pages stay as the host sets them (no per-process switch)");
        }
        #[cfg(feature = "sandbox")]
        let outcome = match cli.command {
            Some(Command::Sandbox(args)) => qencode_sandbox::cli::run(args, signal())
                .await
                .map_err(|e| e.to_string()),
            None => serve(cli.gateway, files).await,
        };
        #[cfg(not(feature = "sandbox"))]
        let outcome = serve(cli.gateway, files).await;
        telemetry.shutdown();
        match outcome {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                error!(error = %e, "stopped with an error");
                ExitCode::FAILURE
            }
        }
    })
}

/// The gateway proper: the sandbox when no key is set, the three listeners, then [`run`].
async fn serve(mut config: Config, files: Files) -> Result<(), String> {
    // Three listeners, each capped at GATEWAY_MAX_CONNECTIONS.
    qencode_gateway::support::fd_limit::ensure(3, u64::from(config.limits.max_connections));
    // Bound first: the sandbox's callback URL is the HTTP listener's real address.
    let listeners = Listeners {
        grpc: bind(config.listen, "GATEWAY_LISTEN").await?,
        http: bind(config.http_listen, "GATEWAY_HTTP_LISTEN").await?,
        admin: bind(config.admin_listen, "GATEWAY_ADMIN_LISTEN").await?,
    };
    let http_addr = listeners
        .http
        .local_addr()
        .map_err(|e| format!("cannot read the HTTP listener's address: {e}"))?;
    #[cfg(feature = "sandbox")]
    let _sandbox = embedded::start_if_unconfigured(&mut config, http_addr)
        .await
        .map_err(|e| format!("cannot start the sandbox: {e}"))?;
    #[cfg(not(feature = "sandbox"))]
    let _ = (&mut config, http_addr);
    let gateway = Gateway::from_files(&config, files).map_err(|e| e.message.clone())?;
    open_ledger(&gateway.ledger).await?;
    let shutdown = gateway.shutdown.clone();
    tokio::spawn(async move {
        signal().await;
        shutdown.begin();
    });
    run(gateway, listeners).await.map_err(|e| e.to_string())?;
    info!("stopped");
    Ok(())
}

/// Connects and migrates the ledger before serving, and says where it is. A local
/// file that cannot be opened stops the start (a misconfiguration); a Postgres that
/// is down only delays submissions (refused with UNAVAILABLE until it answers).
async fn open_ledger(ledger: &qencode_gateway::ledger::Ledger) -> Result<(), String> {
    if !ledger.is_on() {
        warn!(
            "no ledger (GATEWAY_DATABASE_URL=off): a pure proxy; request ids, ListTasks, \
             GetTask and budgets are refused"
        );
        return Ok(());
    }
    match ledger.ready().await {
        Ok(()) => {
            info!(ledger = %ledger.display(), "ledger ready");
            Ok(())
        }
        Err(e) if ledger.is_local() => Err(format!("cannot open the ledger: {}", e.message)),
        Err(e) => {
            warn!(ledger = %ledger.display(), error = %e.message, "the ledger is unavailable; submissions are refused until it answers");
            Ok(())
        }
    }
}

async fn bind(addr: SocketAddr, setting: &str) -> Result<TcpListener, String> {
    TcpListener::bind(addr)
        .await
        .map_err(|e| format!("cannot listen on {addr} ({setting}): {e}"))
}

/// Completes on SIGINT or SIGTERM.
async fn signal() {
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => signal.recv().await,
            Err(e) => {
                error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending().await
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<Option<()>>();
    tokio::select! {
        _ = tokio::signal::ctrl_c() => info!("SIGINT received"),
        _ = terminate => info!("SIGTERM received"),
    }
}
