//! What an operator and a grpcurl user see: health for the server and each service,
//! server reflection in both v1 (grpcurl) and v1alpha (Python's grpcio-reflection), the
//! HTTP ports split by audience (callbacks / admin), and the binary's handling of bad
//! configuration.

mod common;

use common::*;
use std::process::Command;
use tonic_health::pb::{
    health_check_response::ServingStatus, health_client::HealthClient, HealthCheckRequest,
};

#[tokio::test(start_paused = true)]
async fn health_reports_every_service_serving() {
    let env = start().await;
    let mut health = HealthClient::new(env.channel().await);
    for service in [
        "",
        "qencode.gateway.v1.Transcoding",
        "qencode.gateway.v1.LiveStreaming",
    ] {
        let response = health
            .check(HealthCheckRequest {
                service: service.into(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(response.status(), ServingStatus::Serving, "{service:?}");
    }
    let unknown = health
        .check(HealthCheckRequest {
            service: "nope.Service".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), tonic::Code::NotFound);
    env.stop().await;
}

#[tokio::test(start_paused = true)]
async fn reflection_lists_both_services_in_v1_and_v1alpha() {
    let env = start().await;
    let channel = env.channel().await;
    let wanted = [
        "qencode.gateway.v1.LiveStreaming",
        "qencode.gateway.v1.Transcoding",
        "grpc.health.v1.Health",
    ];

    use tonic_reflection::pb::v1;
    let request = v1::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(v1::server_reflection_request::MessageRequest::ListServices(
            String::new(),
        )),
    };
    let mut stream = v1::server_reflection_client::ServerReflectionClient::new(channel.clone())
        .server_reflection_info(tokio_stream::iter(vec![request]))
        .await
        .unwrap()
        .into_inner();
    let Some(v1::server_reflection_response::MessageResponse::ListServicesResponse(list)) =
        stream.message().await.unwrap().unwrap().message_response
    else {
        panic!("not a service list")
    };
    let names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
    for name in wanted {
        assert!(
            names.iter().any(|n| n == name),
            "v1 lacks {name}: {names:?}"
        );
    }

    use tonic_reflection::pb::v1alpha;
    let request = v1alpha::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(
            v1alpha::server_reflection_request::MessageRequest::FileContainingSymbol(
                "qencode.gateway.v1.TranscodingQuery".into(),
            ),
        ),
    };
    let mut stream = v1alpha::server_reflection_client::ServerReflectionClient::new(channel)
        .server_reflection_info(tokio_stream::iter(vec![request]))
        .await
        .unwrap()
        .into_inner();
    let Some(v1alpha::server_reflection_response::MessageResponse::FileDescriptorResponse(files)) =
        stream.message().await.unwrap().unwrap().message_response
    else {
        panic!("no file descriptor")
    };
    assert!(!files.file_descriptor_proto.is_empty());
    env.stop().await;
}

/// grpcurl decodes error details only if reflection resolves their types.
#[tokio::test(start_paused = true)]
async fn reflection_resolves_the_error_detail_types() {
    use prost::Message;
    use tonic_reflection::pb::v1;
    let env = start().await;
    let mut client = v1::server_reflection_client::ServerReflectionClient::new(env.channel().await);
    for (symbol, message) in [
        ("google.rpc.BadRequest", "BadRequest"),
        ("google.rpc.ErrorInfo", "ErrorInfo"),
        ("google.rpc.RetryInfo", "RetryInfo"),
        ("google.rpc.Status", "Status"),
    ] {
        let request = v1::ServerReflectionRequest {
            host: String::new(),
            message_request: Some(
                v1::server_reflection_request::MessageRequest::FileContainingSymbol(symbol.into()),
            ),
        };
        let mut stream = client
            .server_reflection_info(tokio_stream::iter(vec![request]))
            .await
            .unwrap()
            .into_inner();
        let Some(v1::server_reflection_response::MessageResponse::FileDescriptorResponse(files)) =
            stream.message().await.unwrap().unwrap().message_response
        else {
            panic!("no file descriptor for {symbol}")
        };
        let found = files.file_descriptor_proto.iter().any(|raw| {
            let file = prost_types::FileDescriptorProto::decode(raw.as_slice()).unwrap();
            file.package() == "google.rpc" && file.message_type.iter().any(|m| m.name() == message)
        });
        assert!(found, "{symbol} not in the returned descriptors");
    }
    // The imports resolve too (grpcurl asks for them by file name).
    for file in [
        "google/protobuf/any.proto",
        "google/protobuf/duration.proto",
    ] {
        let request = v1::ServerReflectionRequest {
            host: String::new(),
            message_request: Some(
                v1::server_reflection_request::MessageRequest::FileByFilename(file.into()),
            ),
        };
        let mut stream = client
            .server_reflection_info(tokio_stream::iter(vec![request]))
            .await
            .unwrap()
            .into_inner();
        let response = stream.message().await.unwrap().unwrap().message_response;
        assert!(
            matches!(
                response,
                Some(v1::server_reflection_response::MessageResponse::FileDescriptorResponse(_))
            ),
            "{file}: {response:?}"
        );
    }
    env.stop().await;
}

#[tokio::test(start_paused = true)]
async fn metrics_and_probes_answer_only_on_the_admin_port_and_callbacks_only_on_the_http_port() {
    let env = start_with(fast_sandbox(), |c| {
        c.callback_url = Some(url::Url::parse(&format!("http://{}", c.http_listen)).unwrap());
    })
    .await;
    env.wait_serving().await;
    let http = reqwest::Client::new();
    let get = |base: &url::Url, path: &str| http.get(base.join(path).unwrap()).send();
    let (admin, callbacks) = (env.admin_url(), env.http_url());

    let metrics = get(&admin, "metrics").await.unwrap();
    assert_eq!(metrics.status(), 200);
    assert!(metrics.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain"));
    let text = metrics.text().await.unwrap();
    assert!(text.contains("gateway_watchers_open"));
    // prometheus-client ends each HELP text with a period of its own.
    let helps: Vec<&str> = text.lines().filter(|l| l.starts_with("# HELP ")).collect();
    assert!(helps.len() >= 10, "{text}");
    for help in helps {
        assert!(
            help.ends_with('.') && !help.ends_with(".."),
            "a HELP text ends in one period: {help}"
        );
    }
    let healthz = get(&admin, "healthz").await.unwrap();
    assert_eq!(
        (healthz.status().as_u16(), healthz.text().await.unwrap()),
        (200, "ok\n".into())
    );
    assert_eq!(get(&admin, "readyz").await.unwrap().status(), 200);

    // The port an ingress exposes shows nothing of the gateway's insides.
    for path in ["metrics", "healthz", "readyz"] {
        let response = get(&callbacks, path).await.unwrap();
        assert_eq!(response.status(), 404, "/{path} on the callback port");
    }
    // A callback is heard on the callback port (401: not signed) and not on the admin one.
    let post = |base: &url::Url, path: &str| {
        http.post(base.join(path).unwrap())
            .header("content-type", "application/x-www-form-urlencoded")
            .body("task_token=t&status=%7B%7D")
            .send()
    };
    for path in ["callbacks/task/unsigned", "callbacks/stream/unsigned"] {
        let heard = post(&callbacks, path).await.unwrap().status();
        assert!(heard != 404 && heard.is_client_error(), "{path}: {heard}");
        assert_eq!(
            post(&admin, path).await.unwrap().status(),
            404,
            "{path} on admin"
        );
    }
    env.stop().await;
}

fn gateway(args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_qencode-gateway"));
    command
        .args(args)
        .env_clear()
        .env("GATEWAY_DATABASE_URL", "off");
    for (k, v) in env {
        command.env(k, v);
    }
    command.output().expect("run the gateway binary")
}

#[test]
fn bad_settings_exit_64_with_one_line_naming_the_setting() {
    for (args, env, names) in [
        (vec!["--listen", "nope"], vec![], "--listen"),
        (
            vec![],
            vec![("GATEWAY_UPSTREAM_TIMEOUT", "soon")],
            "--upstream-timeout",
        ),
        (
            vec![],
            vec![("QENCODE_API_URL", "https://api.qencode.com")],
            "QENCODE_API_KEY",
        ),
        (
            vec!["--api-key", "sk-SECRET-x", "--api-url", "ftp://x"],
            vec![],
            "--api-url",
        ),
        (
            vec![],
            vec![("GATEWAY_POLICY_FILE", "/nonexistent/policy.toml")],
            "GATEWAY_POLICY_FILE",
        ),
        (
            vec![],
            vec![
                ("GATEWAY_TLS_CERT", "/nonexistent/cert.pem"),
                ("GATEWAY_TLS_KEY", "/nonexistent/key.pem"),
            ],
            "GATEWAY_TLS_CERT",
        ),
        (
            vec![],
            vec![("GATEWAY_TLS_CERT", "/nonexistent/cert.pem")],
            "GATEWAY_TLS_KEY",
        ),
        (
            vec![],
            vec![("GATEWAY_TRUST_MESH_IDENTITY", "consul")],
            "--trust-mesh-identity",
        ),
        (
            vec![],
            vec![("GATEWAY_ADMIN_LISTEN", "0.0.0.0:8080")],
            "GATEWAY_HTTP_LISTEN and GATEWAY_ADMIN_LISTEN",
        ),
    ] {
        let output = gateway(&args, &env);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(64), "{args:?} {env:?}: {stderr}");
        assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
        assert!(stderr.contains(names), "{stderr}");
        assert!(!stderr.contains("sk-SECRET"), "{stderr}");
    }
}

#[test]
fn a_bad_policy_file_exits_64_naming_its_line_and_problem() {
    let path = std::env::temp_dir().join(format!("qgw-policy-{}.toml", std::process::id()));
    std::fs::write(
        &path,
        "[[callers]]\nname = \"batch\"\nbearer_sha256 = \"not-hex\"\n",
    )
    .unwrap();
    let output = gateway(&[], &[("GATEWAY_POLICY_FILE", path.to_str().unwrap())]);
    let _ = std::fs::remove_file(&path);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(64), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("GATEWAY_POLICY_FILE")
            && stderr.contains("line 2")
            && stderr.contains("bearer_sha256"),
        "{stderr}"
    );
}

/// The `[env: NAME` entries of a help text.
fn settings_in(help: &str) -> Vec<String> {
    help.split("[env: ")
        .skip(1)
        .filter_map(|rest| rest.split(['=', ']']).next().map(str::to_owned))
        .collect()
}

#[test]
fn help_lists_what_an_operator_sets_and_help_all_every_setting_without_values() {
    let env = [("QENCODE_API_KEY", "sk-SECRET-help")];
    let output = gateway(&["--help"], &env);
    assert!(output.status.success());
    let help = String::from_utf8_lossy(&output.stdout);
    let short = settings_in(&help);
    assert!(
        short.len() <= 20,
        "--help lists {} settings: {short:?}",
        short.len()
    );
    for name in [
        "QENCODE_API_KEY",
        "QENCODE_API_URL",
        "QENCODE_LIVE_API_KEY",
        "QENCODE_LIVE_API_URL",
        "GATEWAY_LISTEN",
        "GATEWAY_HTTP_LISTEN",
        "GATEWAY_ADMIN_LISTEN",
        "GATEWAY_TLS_CERT",
        "GATEWAY_TLS_KEY",
        "GATEWAY_TLS_CLIENT_CA",
        "GATEWAY_TRUST_MESH_IDENTITY",
        "GATEWAY_POLICY_FILE",
        "GATEWAY_REDIS_URL",
    ] {
        assert!(short.iter().any(|s| s == name), "--help lacks {name}");
    }
    assert!(
        help.contains("--help-all"),
        "--help does not say where the rest is"
    );
    assert!(!help.contains("sk-SECRET-help"));

    let output = gateway(&["--help-all"], &env);
    assert!(output.status.success());
    let all_help = String::from_utf8_lossy(&output.stdout);
    let all = settings_in(&all_help);
    for name in short.iter().chain(
        [
            "QENCODE_TRUSTED_DOMAIN",
            "GATEWAY_SANDBOX_LISTEN",
            "GATEWAY_UPSTREAM_TIMEOUT",
            "GATEWAY_UPSTREAM_CONNECT_TIMEOUT",
            "GATEWAY_MAX_CONNECTIONS",
            "GATEWAY_STREAM_WINDOW_SIZE",
            "GATEWAY_POLICY_POLL_INTERVAL",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect::<Vec<_>>()
        .iter(),
    ) {
        assert!(all.iter().any(|s| s == name), "--help-all lacks {name}");
    }
    assert!(
        all.len() > short.len() + 20,
        "--help-all lists only {}",
        all.len()
    );
    assert!(!all_help.contains("sk-SECRET-help"));
}

#[tokio::test(start_paused = true)]
async fn health_follows_the_upstream_key_through_watch() {
    use qencode_sandbox::SandboxConfig;
    let env = start_with(SandboxConfig { ..fast_sandbox() }, |c| {
        c.health_check_interval = std::time::Duration::from_millis(100)
    })
    .await;
    env.wait_serving().await;
    let mut health = HealthClient::new(env.channel().await);
    let mut watch = health
        .watch(HealthCheckRequest {
            service: "qencode.gateway.v1.Transcoding".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        watch.message().await.unwrap().unwrap().status(),
        ServingStatus::Serving
    );

    // The upstream stops accepting the key: the next token request fails.
    env.sandbox.set_api_keys(vec![]);
    env.sandbox.revoke_tokens();
    let mut client = env.transcoding().await;
    let status = client
        .create_task(qencode_gateway::pb::CreateTaskRequest::default())
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::FailedPrecondition);
    let next = tokio::time::timeout(std::time::Duration::from_secs(5), watch.message())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(next.status(), ServingStatus::NotServing);
    // The other service and the server as a whole are unaffected.
    let live = health
        .check(HealthCheckRequest {
            service: "qencode.gateway.v1.LiveStreaming".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(live.status(), ServingStatus::Serving);

    // The key is accepted again: the monitor notices within its retry pace.
    env.sandbox.set_api_keys(vec![API_KEY.to_owned()]);
    let next = tokio::time::timeout(std::time::Duration::from_secs(5), watch.message())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(next.status(), ServingStatus::Serving);
    client
        .create_task(qencode_gateway::pb::CreateTaskRequest::default())
        .await
        .unwrap();
    env.stop().await;
}

/// The binary's log from its start until it serves gRPC (then it is killed): plain
/// lines on stdout. `env` comes on top of loopback listeners on free ports.
fn start_log(env: &[(&str, &str)]) -> String {
    use std::io::{BufRead, BufReader};
    let mut command = Command::new(env!("CARGO_BIN_EXE_qencode-gateway"));
    command
        .env_clear()
        .env("GATEWAY_DATABASE_URL", "off")
        .envs([
            ("GATEWAY_LISTEN", "127.0.0.1:0"),
            ("GATEWAY_HTTP_LISTEN", "127.0.0.1:0"),
            ("GATEWAY_ADMIN_LISTEN", "127.0.0.1:0"),
            ("GATEWAY_SANDBOX_LISTEN", "127.0.0.1:0"),
        ]);
    command.envs(env.iter().copied());
    let mut child = command
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start the gateway");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut log = String::new();
    // Each line comes within a bound; the start ends with "serving gRPC".
    while let Ok(line) = rx.recv_timeout(std::time::Duration::from_secs(30)) {
        log.push_str(&line);
        log.push('\n');
        if line.contains("serving gRPC") {
            break;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        log.contains("serving gRPC"),
        "the gateway never served: {log}"
    );
    log
}

#[test]
fn a_short_file_limit_is_one_short_warn_line_at_start() {
    // Caps no host's file limit covers: the limit is short everywhere.
    let log = start_log(&[("GATEWAY_MAX_CONNECTIONS", "4000000000")]);
    let warns: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("WARN") && l.contains("open-file limit"))
        .collect();
    assert_eq!(warns.len(), 1, "{log}");
    assert!(warns[0].len() <= 200, "one short line: {}", warns[0]);
    assert!(warns[0].contains("GATEWAY_MAX_CONNECTIONS"), "{}", warns[0]);
}

/// Runs the binary with `env` on loopback listeners (free ports) and returns its exit
/// code and stderr; a binary still running after 20 s (it took the settings and
/// serves) is killed and reported as `None`.
fn exit_of(env: &[(&str, &str)]) -> (Option<i32>, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_qencode-gateway"));
    command
        .env_clear()
        .env("GATEWAY_DATABASE_URL", "off")
        .envs([
            ("GATEWAY_LISTEN", "127.0.0.1:0"),
            ("GATEWAY_HTTP_LISTEN", "127.0.0.1:0"),
            ("GATEWAY_ADMIN_LISTEN", "127.0.0.1:0"),
            ("GATEWAY_SANDBOX_LISTEN", "127.0.0.1:0"),
        ]);
    command.envs(env.iter().copied());
    let mut child = command
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start the gateway");
    let mut stderr = child.stderr.take().expect("stderr");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut text = String::new();
        let _ = std::io::Read::read_to_string(&mut stderr, &mut text);
        let _ = tx.send(text);
    });
    // stderr closes when the process exits.
    let text = rx.recv_timeout(std::time::Duration::from_secs(20));
    let _ = child.kill();
    let status = child.wait().expect("wait for the gateway");
    match text {
        Ok(text) => (status.code(), text),
        Err(_) => (None, "still running".into()),
    }
}

/// Writes a policy file named after the test and returns its path.
fn policy_file(name: &str, text: &str) -> std::path::PathBuf {
    let path = std::env::temp_dir().join(format!("qgw-{name}-{}.toml", std::process::id()));
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn a_policy_typo_or_an_empty_policy_exits_64_naming_the_line_and_nearest_name() {
    let typo = policy_file(
        "typo",
        "[[callers]]\nname = \"batch\"\nidentity = \"batch\"\nallow = [\"qencode.gateway.v1.Transcoding/GetStatuses\"]\n",
    );
    let empty = policy_file("empty", "");
    for (path, wanted) in [
        (
            &typo,
            &[
                "line 4",
                "did you mean \"qencode.gateway.v1.Transcoding/GetStatus\"",
            ][..],
        ),
        (&empty, &["defines no [[callers]]"][..]),
    ] {
        let (code, stderr) = exit_of(&[
            ("GATEWAY_POLICY_FILE", path.to_str().unwrap()),
            ("QENCODE_API_KEY", "k"),
            ("QENCODE_API_URL", "http://127.0.0.1:9/"),
        ]);
        let _ = std::fs::remove_file(path);
        assert_eq!(code, Some(64), "{stderr}");
        assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
        for part in wanted {
            assert!(stderr.contains(part), "{part:?} missing: {stderr}");
        }
    }
}

#[test]
fn a_policy_without_any_key_exits_64_saying_the_sandbox_is_off_and_how_to_reach_one() {
    let path = policy_file(
        "nokey",
        "[[callers]]\nname = \"batch\"\nidentity = \"batch\"\nallow = [\"*\"]\n",
    );
    let (code, stderr) = exit_of(&[("GATEWAY_POLICY_FILE", path.to_str().unwrap())]);
    let _ = std::fs::remove_file(&path);
    assert_eq!(code, Some(64), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    for part in [
        "QENCODE_API_KEY is not set",
        "policy file",
        "built-in sandbox",
        "qencode-gateway sandbox",
        "QENCODE_API_URL",
    ] {
        assert!(stderr.contains(part), "{part:?} missing: {stderr}");
    }
}
