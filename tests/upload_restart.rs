//! An upload survives its gateway: the real binary is SIGKILLed mid-upload, and a new
//! gateway process continues the upload from the storage's offset with only the bytes
//! the storage lacks. The sandbox runs in this test process, so it outlives both
//! gateways, and its counters say what was really sent upstream.

mod common;

use common::upload::*;
use common::*;
use qencode_gateway::{
    pb::{self, transcoding_client::TranscodingClient, upload_file_request::Part},
    upload::token::ResumeToken,
};
use qencode_sandbox::{Endpoint, Sandbox, SandboxHandle};
use std::{
    process::{Child, Command, Stdio},
    time::Duration,
};
use tokio::time::Instant;
use tonic::{transport::Channel, Code};

/// A gateway process, SIGKILLed when dropped (a failing test leaves nothing behind).
struct Gateway {
    child: Child,
    client: TranscodingClient<Channel>,
}

impl Gateway {
    async fn start(sandbox: &SandboxHandle) -> Gateway {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(env!("CARGO_BIN_EXE_qencode-gateway"))
            .env_clear()
            .env("QENCODE_API_KEY", API_KEY)
            .env("QENCODE_API_URL", sandbox.base_url())
            .env("GATEWAY_LISTEN", format!("127.0.0.1:{port}"))
            .env("GATEWAY_HTTP_LISTEN", "127.0.0.1:0")
            .env("GATEWAY_UPLOAD_CHUNK_SIZE", PIECE.to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let give_up = Instant::now() + Duration::from_secs(20);
        let channel = loop {
            if let Ok(channel) = Channel::from_shared(format!("http://127.0.0.1:{port}"))
                .unwrap()
                .connect()
                .await
            {
                break channel;
            }
            assert!(Instant::now() < give_up, "the gateway never listened");
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
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
    let mut first = Gateway::start(&sandbox).await;
    let task_token = create(&mut first.client).await;
    let created = first
        .client
        .create_upload(pb::CreateUploadRequest {
            metadata: match metadata(&task_token, size).part {
                Some(Part::Metadata(m)) => Some(m),
                _ => unreachable!(),
            },
        })
        .await
        .expect("create_upload")
        .into_inner();
    let token = created.resume_token;
    let file_uuid = ResumeToken::decode(&token)
        .expect("a token the gateway reads")
        .file_uuid;
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

    // A new gateway process: it knows nothing of the upload but what the token says.
    let mut second = Gateway::start(&sandbox).await;
    let stored = second
        .client
        .get_upload(pb::GetUploadRequest {
            task_token: task_token.clone(),
            resume_token: token.clone(),
        })
        .await
        .expect("get_upload")
        .into_inner();
    assert_eq!(stored.bytes_stored, before.stored);
    assert_eq!(stored.size, Some(size));
    let offset = stored.bytes_stored;

    // A wrong declared offset is refused before a byte is stored, naming the right one.
    let mut wrong = vec![resume_metadata(&task_token, size, &token, offset - 1)];
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
    assert_eq!(info.metadata.get("resume_token"), Some(&token));

    // The rest, and only the rest.
    let mut rest = vec![resume_metadata(&task_token, size, &token, offset)];
    rest.extend(data[offset as usize..].chunks(1_000_003).map(chunk));
    let done = upload(&mut second.client, rest)
        .await
        .expect("the resumed upload");
    assert_eq!(done.bytes_stored, size);
    assert_eq!(done.source_uri, format!("tus:{file_uuid}"));
    assert_eq!(done.resume_token, token);
    let after = sandbox.upload_progress(&file_uuid).expect("the upload");
    assert_eq!(after.stored, size);
    assert_eq!(
        after.received, size,
        "bytes were sent upstream twice: {after:?}"
    );
    let held = sandbox.upload_bytes(&file_uuid).expect("the upload");
    assert!(held == data, "the stored bytes differ from the sent ones");
    assert_eq!(sandbox.count(Endpoint::TusCreate), 1, "no second upload");
    second.kill();
    sandbox.shutdown().await;
}
