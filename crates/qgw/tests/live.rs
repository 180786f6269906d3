//! A live stream's whole life through `qgw live`.

mod common;

#[tokio::test(flavor = "multi_thread")]
async fn live_lifecycle() {
    let env = common::start().await;
    let created = common::ok_stdout(
        &env.qgw(&["--json", "live", "create", "--name", "qgw-test"])
            .await,
    );
    let id = common::json_field(&created, "id");

    let text = common::ok_stdout(&env.qgw(&["live", "get", &id]).await);
    assert!(
        text.contains("qgw-test") && text.contains("created"),
        "{text}"
    );
    assert!(text.contains("ingest "), "ingest URLs printed: {text}");

    let listed = common::ok_stdout(&env.qgw(&["live", "list"]).await);
    assert!(listed.contains(&id), "{listed}");

    let updated = common::ok_stdout(&env.qgw(&["live", "update", &id, "--name", "renamed"]).await);
    assert!(updated.contains("renamed"), "{updated}");

    common::ok_stdout(&env.qgw(&["live", "start", &id]).await);
    common::ok_stdout(&env.qgw(&["live", "stop", &id]).await);
    // Watch ends once the stream is stopped.
    let watched = common::ok_stdout(&env.qgw(&["live", "watch", &id]).await);
    assert!(
        watched
            .lines()
            .last()
            .is_some_and(|l| l.ends_with("stopped")),
        "{watched}"
    );

    let deleted = common::ok_stdout(&env.qgw(&["live", "delete", &id]).await);
    assert!(deleted.contains(&id), "{deleted}");
    let output = env.qgw(&["live", "get", &id]).await;
    assert_eq!(
        output.status.code(),
        Some(15),
        "NOT_FOUND after delete: {}",
        common::text(&output)
    );
    env.stop();
}
