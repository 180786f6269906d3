//! An upload survives its gateway: the real binary is SIGKILLed mid-upload, and a new
//! gateway process continues the upload from the storage's offset with only the bytes
//! the storage lacks. The sandbox runs in this test process, so it outlives both
//! gateways, and its counters say what was really sent upstream.

mod common;

use common::upload::*;
use common::*;
use qencode_gateway::{
    domain::upload::resume_token::ResumeToken,
    pb::{self, transcoding_client::TranscodingClient, upload_file_request::Part},
};
use qencode_sandbox::{Endpoint, Sandbox, SandboxHandle};
use std::{
    process::{Child, Command, Stdio},
    time::Duration,
};
use tonic::{transport::Channel, Code};

/// A gateway process, SIGKILLed when dropped (a failing test leaves nothing behind).
struct Gateway {
    child: Child,
    client: TranscodingClient<Channel>,
}

impl Gateway {
    async fn start(sandbox: &SandboxHandle, piece: usize) -> Gateway {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(env!("CARGO_BIN_EXE_qencode-gateway"))
            .env_clear()
            .env("GATEWAY_DATABASE_URL", "off")
            .env("QENCODE_API_KEY", API_KEY)
            .env("QENCODE_API_URL", sandbox.base_url())
            .env("GATEWAY_LISTEN", format!("127.0.0.1:{port}"))
            .env("GATEWAY_HTTP_LISTEN", "127.0.0.1:0")
            .env("GATEWAY_ADMIN_LISTEN", "127.0.0.1:0")
            .env("GATEWAY_UPLOAD_CHUNK_SIZE", piece.to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let endpoint = format!("http://127.0.0.1:{port}");
        let channel = eventually(
            "the gateway listening",
            Duration::from_secs(20),
            async || {
                Channel::from_shared(endpoint.clone())
                    .unwrap()
                    .connect()
                    .await
            },
        )
        .await;
        Gateway {
            child,
            client: TranscodingClient::new(channel),
        }
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        self.kill();
    }
}

fn resume_metadata(task_token: &str, size: u64, token: &str, offset: u64) -> pb::UploadFileRequest {
    let mut message = metadata(task_token, size);
    if let Some(Part::Metadata(m)) = message.part.as_mut() {
        m.resume_token = Some(token.to_owned());
        m.offset = Some(offset);
    }
    message
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sigkilled_gateway_s_upload_resumes_through_a_new_process_sending_only_the_rest() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sandbox = Sandbox::start(listener, fast_sandbox()).await.unwrap();
    let data = pattern(8 << 20, 17);
    let size = data.len() as u64;

    // The first gateway: the token comes from CreateUpload, before any byte flows,
    // because a caller whose gateway dies hears nothing more from it.
    let mut first = Gateway::start(&sandbox, PIECE).await;
    let task_token = create(&mut first.client).await;
    let (token, file_uuid) = create_upload(&mut first, &task_token, size).await;
    assert_eq!(sandbox.count(Endpoint::TusCreate), 1);

    // 3 MiB and a bit: twelve pieces are stored, the bit waits in the gateway's piece
    // buffer and dies with it.
    let feed = feed(first.client.clone());
    feed.send(resume_metadata(&task_token, size, &token, 0))
        .await;
    let sent = 3 * (1 << 20) + 100_000;
    feed.send_data(&data[..sent]).await;
    wait_until("3 MiB stored", || {
        sandbox
            .upload_progress(&file_uuid)
            .is_some_and(|p| p.stored == 3 << 20)
    })
    .await;
    first.kill();
    let cut = feed
        .finish()
        .await
        .expect_err("the gateway died mid-upload");
    assert!(
        matches!(
            cut.code(),
            Code::Unavailable | Code::Unknown | Code::Cancelled
        ),
        "{cut:?}"
    );
    wait_until("no PATCH in flight", || {
        sandbox
            .upload_progress(&file_uuid)
            .is_some_and(|p| p.patching == 0)
    })
    .await;
    let before = sandbox.upload_progress(&file_uuid).expect("the upload");
    assert_eq!(before.stored, 3 << 20);
    assert_eq!(before.received, before.stored, "{before:?}");

    resume_through_a_new_gateway(&sandbox, PIECE, &task_token, &token, &file_uuid, &data).await;
    sandbox.shutdown().await;
}

/// Starts a new gateway process, which knows nothing of the upload but what the token
/// says, and finishes the upload through it, checking that a wrong offset is refused,
/// that only the missing bytes go upstream and that the file is complete.
async fn resume_through_a_new_gateway(
    sandbox: &SandboxHandle,
    piece: usize,
    task_token: &str,
    token: &str,
    file_uuid: &str,
    data: &[u8],
) {
    let size = data.len() as u64;
    let before = sandbox.upload_progress(file_uuid).expect("the upload");
    let mut second = Gateway::start(sandbox, piece).await;
    let stored = second
        .client
        .get_upload(pb::GetUploadRequest {
            task_token: task_token.to_owned(),
            resume_token: token.to_owned(),
        })
        .await
        .expect("get_upload")
        .into_inner();
    assert_eq!(stored.bytes_stored, before.stored);
    assert_eq!(stored.size, Some(size));
    let offset = stored.bytes_stored;

    // A wrong declared offset is refused before a byte is stored, naming the right one.
    let mut wrong = vec![resume_metadata(task_token, size, token, offset - 1)];
    wrong.push(chunk(&data[offset as usize - 1..offset as usize + 10]));
    let status = upload(&mut second.client, wrong)
        .await
        .expect_err("a wrong offset");
    let details = assert_reason(&status, Code::FailedPrecondition, "UPLOAD_OFFSET_MISMATCH");
    let info = details.error_info().expect("ErrorInfo");
    assert_eq!(
        info.metadata.get("bytes_stored"),
        Some(&offset.to_string()),
        "{info:?}"
    );
    assert_eq!(
        info.metadata.get("resume_token").map(String::as_str),
        Some(token)
    );

    // The rest, and only the rest.
    let mut rest = vec![resume_metadata(task_token, size, token, offset)];
    rest.extend(data[offset as usize..].chunks(1_000_003).map(chunk));
    let done = upload(&mut second.client, rest)
        .await
        .expect("the resumed upload");
    assert_eq!(done.bytes_stored, size);
    assert_eq!(done.source_uri, format!("tus:{file_uuid}"));
    assert_eq!(done.resume_token, token);
    let after = sandbox.upload_progress(file_uuid).expect("the upload");
    assert_eq!(after.stored, size);
    assert_eq!(
        after.received, size,
        "bytes were sent upstream twice: {after:?}"
    );
    let held = sandbox.upload_bytes(file_uuid).expect("the upload");
    assert!(held == data, "the stored bytes differ from the sent ones");
    assert_eq!(sandbox.count(Endpoint::TusCreate), 1, "no second upload");
    second.kill();
}

/// CreateUpload through `gateway`: the token, and the file id it names.
async fn create_upload(gateway: &mut Gateway, task_token: &str, size: u64) -> (String, String) {
    let created = gateway
        .client
        .create_upload(pb::CreateUploadRequest {
            metadata: match metadata(task_token, size).part {
                Some(Part::Metadata(m)) => Some(m),
                _ => None,
            },
        })
        .await
        .expect("create_upload")
        .into_inner();
    let file_uuid = ResumeToken::decode(&created.resume_token)
        .expect("a token the gateway reads")
        .file_uuid;
    (created.resume_token, file_uuid)
}

/// The case: SIGKILL while a PATCH body is on the wire, so the storage keeps a
/// piece cut at an arbitrary byte, which the new gateway must continue from exactly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gateway_killed_mid_patch_resumes_from_the_byte_the_storage_kept() {
    const BIG_PIECE: usize = 16 << 20;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sandbox = Sandbox::start(listener, fast_sandbox()).await.unwrap();
    let data = pattern(40 << 20, 19);
    let size = data.len() as u64;
    let mut first = Gateway::start(&sandbox, BIG_PIECE).await;
    let task_token = create(&mut first.client).await;
    let (token, file_uuid) = create_upload(&mut first, &task_token, size).await;

    let Feed { tx, call } = feed(first.client.clone());
    let sender = {
        let data = data.clone();
        let first = resume_metadata(&task_token, size, &token, 0);
        tokio::spawn(async move {
            let _ = tx.send(first).await;
            for piece in data.chunks(64 * 1024) {
                if tx.send(chunk(piece)).await.is_err() {
                    return;
                }
            }
            std::future::pending::<()>().await;
        })
    };
    // The second PATCH's body is being read: the first piece is stored. Polled every
    // millisecond: a PATCH body in flight lasts only milliseconds.
    eventually_every(
        "the second PATCH in flight",
        Duration::from_secs(20),
        Duration::from_millis(1),
        || {
            sandbox
                .upload_progress(&file_uuid)
                .is_some_and(|p| p.patching == 1 && p.stored == BIG_PIECE as u64)
        },
    )
    .await;
    first.kill();
    let cut = tokio::time::timeout(Duration::from_secs(30), call)
        .await
        .expect("the call ended")
        .expect("call task")
        .expect_err("the gateway died mid-upload");
    sender.abort();
    assert_ne!(cut.code(), Code::Ok);
    wait_until("the cut PATCH landed", || {
        sandbox
            .upload_progress(&file_uuid)
            .is_some_and(|p| p.patching == 0)
    })
    .await;
    let before = sandbox.upload_progress(&file_uuid).expect("the upload");
    eprintln!(
        "killed mid-PATCH: the storage kept {} of {size} bytes",
        before.stored
    );
    assert!(
        before.stored >= BIG_PIECE as u64 && before.stored <= 2 * BIG_PIECE as u64,
        "{before:?}"
    );
    assert_eq!(before.received, before.stored, "{before:?}");
    resume_through_a_new_gateway(&sandbox, BIG_PIECE, &task_token, &token, &file_uuid, &data).await;
    sandbox.shutdown().await;
}
