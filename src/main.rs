//! The `qencode-gateway` binary: parse config, set up logging, start the sandbox when no
//! API key is set, bind, serve until SIGTERM/SIGINT.

use clap::Parser;
use qencode_gateway::{
    config::{Cli, Command, Config, SandboxArgs, Secret},
    http::serve_http,
    sandbox::{Sandbox, SandboxConfig},
    serve, telemetry, Gateway,
};
use std::process::ExitCode;
use tokio::net::TcpListener;
use tracing::{error, info, warn};

/// Exit code for bad configuration (EX_USAGE), as linkerd uses.
const EXIT_CONFIG: u8 = 64;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => {
            // --help and --version.
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            let rendered = e.to_string();
            let line = rendered.lines().next().unwrap_or("invalid configuration");
            eprintln!("qencode-gateway: {}", line.trim_start_matches("error: "));
            return ExitCode::from(EXIT_CONFIG);
        }
    };
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
        let code = match cli.command {
            Some(Command::Sandbox(args)) => run_sandbox(args).await,
            None => run_gateway(cli.gateway).await,
        };
        telemetry.shutdown();
        code
    })
}

async fn run_gateway(mut config: Config) -> ExitCode {
    if let Err(problem) = config.check() {
        eprintln!("qencode-gateway: {problem}");
        return ExitCode::from(EXIT_CONFIG);
    }
    let _sandbox = match config.wants_sandbox() {
        false => None,
        true => {
            let key = format!("sandbox-{}", uuid::Uuid::new_v4().simple());
            let listener = match TcpListener::bind(config.sandbox_listen).await {
                Ok(listener) => listener,
                Err(e) => {
                    error!(addr = %config.sandbox_listen, error = %e, "cannot listen for the sandbox (GATEWAY_SANDBOX_LISTEN)");
                    return ExitCode::FAILURE;
                }
            };
            let sandbox_config = SandboxConfig {
                api_keys: vec![key.clone()],
                live_api_keys: vec![key.clone()],
                ..SandboxConfig::default()
            };
            let handle = match Sandbox::start(listener, sandbox_config).await {
                Ok(handle) => handle,
                Err(e) => {
                    error!(error = %e, "cannot start the sandbox");
                    return ExitCode::FAILURE;
                }
            };
            warn!(
                sandbox_url = %handle.base_url(),
                "no QENCODE_API_KEY set: serving the built-in Qencode SANDBOX. Nothing is really transcoded; set QENCODE_API_KEY to use Qencode"
            );
            config.api_url = url::Url::parse(&handle.base_url()).ok();
            config.live_api_url = config.api_url.clone();
            config.api_key = Some(Secret::new(key));
            Some(handle)
        }
    };
    let gateway = match Gateway::from_config(&config) {
        Ok(gateway) => gateway,
        Err(e) => {
            error!(error = %e, "cannot build the gateway");
            return ExitCode::FAILURE;
        }
    };
    let listener = match TcpListener::bind(config.listen).await {
        Ok(listener) => listener,
        Err(e) => {
            error!(addr = %config.listen, error = %e, "cannot listen (GATEWAY_LISTEN)");
            return ExitCode::FAILURE;
        }
    };
    let http_listener = match TcpListener::bind(config.http_listen).await {
        Ok(listener) => listener,
        Err(e) => {
            error!(addr = %config.http_listen, error = %e, "cannot listen (GATEWAY_HTTP_LISTEN)");
            return ExitCode::FAILURE;
        }
    };
    // One signal, two servers: each waits on its own receiver.
    let (stop, stopped) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        shutdown_signal().await;
        stop.send_replace(true);
    });
    let until_stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|stopped| *stopped).await;
    };
    let http = tokio::spawn(serve_http(
        http_listener,
        gateway.clone(),
        until_stopped(stopped.clone()),
    ));
    let grace = config.shutdown_grace;
    let grpc = serve(listener, gateway, until_stopped(stopped.clone()));
    // From the signal on, the drain gets `grace`; then the process exits anyway.
    let grace_over = async move {
        until_stopped(stopped).await;
        tokio::time::sleep(grace).await;
    };
    let code = tokio::select! {
        result = grpc => match result {
            Ok(()) => {
                info!("stopped");
                ExitCode::SUCCESS
            }
            Err(e) => {
                error!(error = %e, "server failed");
                ExitCode::FAILURE
            }
        },
        () = grace_over => {
            warn!(grace_s = grace.as_secs_f64(), "shutdown grace period over with calls still in flight; exiting anyway");
            ExitCode::FAILURE
        }
    };
    match tokio::time::timeout(std::time::Duration::from_secs(1), http).await {
        Ok(Ok(Err(e))) => error!(error = %e, "HTTP listener failed"),
        Err(_) => warn!("HTTP listener still busy at exit"),
        _ => {}
    }
    code
}

async fn run_sandbox(args: SandboxArgs) -> ExitCode {
    let listener = match TcpListener::bind(args.listen).await {
        Ok(listener) => listener,
        Err(e) => {
            error!(addr = %args.listen, error = %e, "cannot listen (SANDBOX_LISTEN)");
            return ExitCode::FAILURE;
        }
    };
    let config = SandboxConfig {
        api_keys: args
            .api_keys
            .iter()
            .map(|k| k.expose().to_owned())
            .collect(),
        phase_duration: args.phase_duration,
        ..SandboxConfig::default()
    };
    let handle = match Sandbox::start(listener, config).await {
        Ok(handle) => handle,
        Err(e) => {
            error!(error = %e, "cannot start the sandbox");
            return ExitCode::FAILURE;
        }
    };
    info!(url = %handle.base_url(), "serving the Qencode sandbox only");
    shutdown_signal().await;
    handle.shutdown().await;
    ExitCode::SUCCESS
}

/// Completes on SIGINT or SIGTERM.
async fn shutdown_signal() {
    let interrupt = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            error!(error = %e, "cannot listen for SIGINT");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(e) => {
                error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => info!("SIGINT received"),
        () = terminate => info!("SIGTERM received"),
    }
}
