//! Request ids and the ledger through `qgw`: a retried transcode starts one encode,
//! `--request-id` reaches the gateway, and `qgw tasks list|get` print what the ledger
//! holds (as a table, and as JSON lines), off a terminal.

mod common;

use qencode_sandbox::{Endpoint, Fault, FaultKind};
use serde_json::Value;
use std::{
    net::SocketAddr,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    time::Duration,
};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
    sync::Notify,
    time::Instant,
};

/// The JSON objects of `stdout`, one per line.
fn json_lines(stdout: &str) -> Vec<Value> {
    stdout
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect()
}

/// The task tokens among `lines`, in order.
fn tokens(lines: &[Value]) -> Vec<String> {
    lines
        .iter()
        .filter_map(|line| line["task_token"].as_str().map(str::to_owned))
        .collect()
}

/// `qgw --json transcode` of a one-output query with `extra` flags; its task token.
async fn transcode(env: &common::Env, extra: &[&str]) -> String {
    let mut args = vec![
        "--json",
        "transcode",
        "--source",
        "https://example.com/in.mp4",
        "--format",
        "mp4:640x360",
    ];
    args.extend_from_slice(extra);
    common::json_field(&common::ok_stdout(&env.qgw(&args).await), "task_token")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_attempt_is_retried_under_one_request_id_and_starts_once() {
    let env = common::start_with_ledger().await;
    // Qencode's proxy fails the first create_task: the gateway answers UNAVAILABLE.
    env.sandbox.inject(Fault::once(
        Endpoint::CreateTask,
        FaultKind::Html { status: 503 },
    ));
    let token = transcode(&env, &["--label", "team=video"]).await;
    assert_eq!(env.sandbox.count(Endpoint::CreateTask), 2, "one retry");
    assert_eq!(env.sandbox.count(Endpoint::StartEncode), 1, "one start");

    // Both attempts carried the same generated id: the ledger holds one task under it.
    let stdout = common::ok_stdout(&env.qgw(&["--json", "tasks", "list"]).await);
    let lines = json_lines(&stdout);
    assert_eq!(tokens(&lines), [token.as_str()], "{stdout}");
    let request_id = lines[0]["request_id"].as_str().expect("a request id");
    assert_eq!(request_id.len(), 36, "a UUID: {request_id}");
    assert_eq!(lines[0]["labels"]["team"], "video");
    env.stop();
}

/// A TCP proxy to `gateway` whose first connection can be made to lose what the
/// gateway answers (`swallow`) and then be cut (`cut`), as a proxy or a network that
/// fails after the gateway has done the work; later connections pass everything.
struct LossyProxy {
    addr: SocketAddr,
    swallow: Arc<AtomicBool>,
    cut: Arc<Notify>,
}

impl LossyProxy {
    async fn start(gateway: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let addr = listener.local_addr().expect("proxy addr");
        let swallow = Arc::new(AtomicBool::new(false));
        let cut = Arc::new(Notify::new());
        let (first_swallow, first_cut) = (swallow.clone(), cut.clone());
        tokio::spawn(async move {
            let mut first = true;
            while let Ok((client, _)) = listener.accept().await {
                let upstream = TcpStream::connect(gateway).await.expect("dial gateway");
                let lossy = std::mem::take(&mut first);
                let (swallow, cut) = (first_swallow.clone(), first_cut.clone());
                tokio::spawn(async move {
                    let pipe = relay(client, upstream, lossy.then_some(swallow));
                    if lossy {
                        // Dropping the relay closes both sockets.
                        tokio::select! { _ = pipe => {}, _ = cut.notified() => {} }
                    } else {
                        pipe.await;
                    }
                });
            }
        });
        Self { addr, swallow, cut }
    }
}

/// Copies bytes both ways until either side closes; with `swallow`, what the gateway
/// sends is dropped while the flag is set.
async fn relay(client: TcpStream, upstream: TcpStream, swallow: Option<Arc<AtomicBool>>) {
    let (mut client_read, mut client_write) = client.into_split();
    let (mut gateway_read, mut gateway_write) = upstream.into_split();
    let up = tokio::io::copy(&mut client_read, &mut gateway_write);
    let down = async {
        let mut buffer = vec![0u8; 16 * 1024];
        while let Ok(n @ 1..) = gateway_read.read(&mut buffer).await {
            if swallow.as_ref().is_some_and(|s| s.load(Ordering::SeqCst)) {
                continue;
            }
            if client_write.write_all(&buffer[..n]).await.is_err() {
                return;
            }
        }
    };
    tokio::select! { _ = up => {}, _ = down => {} }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_answer_lost_after_the_start_is_fetched_again_not_started_again() {
    let env = common::start_with_ledger().await;
    let proxy = LossyProxy::start(env.addr).await;
    // Time to lose the answer in: start_encode2 is answered after 500 ms.
    env.sandbox.inject(Fault::once(
        Endpoint::StartEncode,
        FaultKind::Delay(Duration::from_millis(500)),
    ));
    let mut command = common::qgw();
    command.args([
        "--target",
        &format!("http://{}", proxy.addr),
        "--json",
        "transcode",
        "--source",
        "https://example.com/in.mp4",
        "--format",
        "mp4",
    ]);
    let run = tokio::spawn(common::run_bounded(command));
    // The start reached Qencode: from now on the gateway's answer is lost...
    common::eventually("start_encode2 sent", Duration::from_secs(10), || {
        env.sandbox.count(Endpoint::StartEncode) == 1
    })
    .await;
    proxy.swallow.store(true, Ordering::SeqCst);
    // ...and once the gateway has recorded it, the connection fails.
    common::eventually("the start recorded", Duration::from_secs(10), async || {
        let stdout = common::ok_stdout(&env.qgw(&["--json", "tasks", "list"]).await);
        json_lines(&stdout)
            .first()
            .is_some_and(|task| task.get("start_time").is_some())
    })
    .await;
    proxy.cut.notify_one();

    let output = run.await.expect("qgw ran");
    let token = common::json_field(&common::ok_stdout(&output), "task_token");
    // The retry, under the same request id, got the first call's task.
    assert_eq!(env.sandbox.count(Endpoint::StartEncode), 1);
    assert_eq!(env.sandbox.count(Endpoint::CreateTask), 1);
    let stdout = common::ok_stdout(&env.qgw(&["--json", "tasks", "list"]).await);
    assert_eq!(tokens(&json_lines(&stdout)), [token]);
    env.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_request_id_given_twice_gets_the_same_task() {
    let env = common::start_with_ledger().await;
    let first = transcode(&env, &["--request-id", "order-42"]).await;
    let second = transcode(&env, &["--request-id", "order-42"]).await;
    assert_eq!(first, second);
    assert_eq!(env.sandbox.count(Endpoint::StartEncode), 1);

    // The same id with another request is refused, naming the field: exit 13.
    let output = env
        .qgw(&[
            "transcode",
            "--request-id",
            "order-42",
            "--source",
            "https://example.com/other.mp4",
            "--format",
            "mp4",
        ])
        .await;
    assert_eq!(output.status.code(), Some(13), "{}", common::text(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("REQUEST_ID_REUSED"), "{stderr}");
    assert!(stderr.contains("field request_id"), "{stderr}");

    let record = json_lines(&common::ok_stdout(
        &env.qgw(&["--json", "tasks", "get", &first]).await,
    ))
    .remove(0);
    assert_eq!(record["request_id"], "order-42");

    // `qgw start` passes its id too: a repeat does not start the task again.
    let file = std::env::temp_dir().join(format!("qgw-tasks-{}.mp4", std::process::id()));
    std::fs::write(&file, [7u8; 1000]).expect("write sample");
    let output = env
        .qgw(&["--json", "upload", &file.to_string_lossy()])
        .await;
    let _ = std::fs::remove_file(&file);
    let stdout = common::ok_stdout(&output);
    let (task, source) = (
        common::json_field(&stdout, "task_token"),
        common::json_field(&stdout, "source_uri"),
    );
    for _ in 0..2 {
        let args = [
            "start", "--task", &task, "--source", &source, "--format", "mp4",
        ];
        let mut args = args.to_vec();
        args.extend(["--request-id", "start-7"]);
        common::ok_stdout(&env.qgw(&args).await);
    }
    assert_eq!(env.sandbox.count(Endpoint::StartEncode), 2, "one per task");
    env.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn tasks_list_and_get_print_the_ledger() {
    let env = common::start_with_ledger().await;
    let prod_a = transcode(&env, &["--label", "env=prod"]).await;
    let dev = transcode(&env, &["--label", "env=dev"]).await;
    let prod_b = transcode(&env, &["--label", "env=prod", "--label", "tier=1"]).await;

    // A table: a header, then one row per task, newest first.
    let stdout = common::ok_stdout(&env.qgw(&["tasks", "list"]).await);
    let rows: Vec<&str> = stdout.lines().collect();
    assert!(
        rows[0].starts_with("TASK ") && rows[0].ends_with("LABELS"),
        "{stdout}"
    );
    assert_eq!(rows.len(), 4, "{stdout}");
    for (row, token) in rows[1..].iter().zip([&*prod_b, &*dev, &*prod_a]) {
        assert!(row.starts_with(token), "{token} in {stdout}");
    }
    assert!(rows[1].ends_with("env=prod,tier=1"), "{stdout}");
    assert!(
        !stdout.contains('\u{1b}') && !stdout.contains('\r'),
        "{stdout:?}"
    );

    // Filters, in JSON lines.
    let list = async |args: &[&str]| {
        let mut all = vec!["--json", "tasks", "list"];
        all.extend_from_slice(args);
        json_lines(&common::ok_stdout(&env.qgw(&all).await))
    };
    assert_eq!(
        tokens(&list(&["--label", "env=prod"]).await),
        [&*prod_b, &*prod_a]
    );
    assert_eq!(
        tokens(&list(&["--label", "env=prod", "--label", "tier=1"]).await),
        [&*prod_b]
    );
    assert!(list(&["--phase", "failed"]).await.is_empty());
    assert!(list(&["--created-after", "2999-01-01T00:00:00Z"])
        .await
        .is_empty());
    assert_eq!(
        list(&["--created-before", "2999-01-01T00:00:00+02:00"])
            .await
            .len(),
        3
    );

    // One page, and where the next starts; or every page with --all.
    let page = list(&["--page-size", "2"]).await;
    assert_eq!(tokens(&page), [&*prod_b, &*dev]);
    let next = page[2]["next_page_token"].as_str().expect("next page");
    assert_eq!(
        tokens(&list(&["--page-size", "2", "--page-token", next]).await),
        [&*prod_a]
    );
    let every = list(&["--page-size", "1", "--all"]).await;
    assert_eq!(tokens(&every), [&*prod_b, &*dev, &*prod_a]);
    assert!(every
        .iter()
        .all(|line| line.get("next_page_token").is_none()));
    let line = &every[0];
    assert!(line["status"]["state"].is_string(), "{line}");
    assert!(
        line["create_time"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z')),
        "{line}"
    );

    // Text mode says where the next page starts on stderr, not in the table.
    let output = env.qgw(&["tasks", "list", "--page-size", "1"]).await;
    assert_eq!(common::ok_stdout(&output).lines().count(), 2);
    assert!(String::from_utf8_lossy(&output.stderr).contains("--page-token"));

    // One task, as lines and as one object.
    let stdout = common::ok_stdout(&env.qgw(&["tasks", "get", &prod_b]).await);
    assert!(stdout.starts_with(&prod_b), "{stdout}");
    assert!(stdout.contains("labels: env=prod,tier=1"), "{stdout}");
    assert!(stdout.contains("request id: "), "{stdout}");
    assert!(stdout.contains("query: {"), "{stdout}");
    let object = json_lines(&common::ok_stdout(
        &env.qgw(&["--json", "tasks", "get", &dev]).await,
    ));
    assert_eq!(object.len(), 1);
    assert_eq!(object[0]["task_token"], dev.as_str());
    assert_eq!(object[0]["labels"]["env"], "dev");

    // A task the ledger does not hold: NOT_FOUND, exit 15.
    let output = env
        .qgw(&["tasks", "get", "0123456789abcdef0123456789abcdef"])
        .await;
    assert_eq!(output.status.code(), Some(15), "{}", common::text(&output));

    // Bad flags are usage errors.
    for bad in [
        ["tasks", "list", "--created-after", "yesterday"],
        ["tasks", "list", "--label", "novalue"],
        ["tasks", "list", "--page-size", "0"],
    ] {
        let output = env.qgw(&bad).await;
        assert_eq!(output.status.code(), Some(2), "{}", common::text(&output));
    }
    env.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn without_a_ledger_only_a_given_request_id_is_refused() {
    let env = common::start().await;
    // The generated id is dropped: the transcode works as before.
    transcode(&env, &[]).await;
    assert_eq!(env.sandbox.count(Endpoint::StartEncode), 1);
    // A caller's own id, and the task list, are FAILED_PRECONDITION: exit 19.
    for args in [
        &[
            "transcode",
            "--request-id",
            "r1",
            "--source",
            "https://example.com/a.mp4",
            "--format",
            "mp4",
        ][..],
        &["tasks", "list"][..],
    ] {
        let output = env.qgw(args).await;
        assert_eq!(output.status.code(), Some(19), "{}", common::text(&output));
        assert!(String::from_utf8_lossy(&output.stderr).contains("LEDGER_OFF"));
    }
    assert_eq!(env.sandbox.count(Endpoint::StartEncode), 1);
    env.stop();
}

#[tokio::test]
async fn retries_stop_within_the_timeout() {
    // Nothing listens: every attempt is UNAVAILABLE; the retries end inside --timeout.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let mut command = common::qgw();
    command.args([
        "--target",
        &format!("127.0.0.1:{port}"),
        "--timeout",
        "1s",
        "transcode",
        "--source",
        "https://example.com/a.mp4",
        "--format",
        "mp4",
    ]);
    let started = Instant::now();
    let output = common::run_bounded(command).await;
    assert_eq!(output.status.code(), Some(24), "{}", common::text(&output));
    // 1 s of attempts and waits, plus the process's start: far under the 3.75 s the
    // backoffs of five attempts would take unbounded.
    assert!(
        started.elapsed() < Duration::from_millis(2500),
        "{:?}",
        started.elapsed()
    );
}
