//! Unit tests of the ledger on an in-memory SQLite database: claims and leases, and
//! pruning in batches. (Both databases are covered end to end in tests/ledger*.rs.)

use super::{
    requests::{Claim, RequestKey, Step},
    tasks::NewTask,
    DatabaseUrl, Ledger,
};
use std::time::Duration;

fn key(id: &str) -> RequestKey {
    RequestKey {
        project: "main".into(),
        caller: "c".into(),
        request_id: id.into(),
    }
}

#[tokio::test]
async fn a_claim_is_mine_then_busy_then_done_and_a_lapsed_lease_is_taken_over() {
    let ledger = Ledger::new(&DatabaseUrl::memory()).unwrap();
    let Claim::Mine { lease, step, .. } = ledger
        .claim(&key("r"), "fp", Duration::from_secs(30))
        .await
        .unwrap()
    else {
        panic!("the first claim is mine");
    };
    assert_eq!(step, Step::Begun);
    assert!(matches!(
        ledger
            .claim(&key("r"), "fp", Duration::from_secs(30))
            .await
            .unwrap(),
        Claim::Busy
    ));
    let reused = ledger
        .claim(&key("r"), "other", Duration::from_secs(30))
        .await
        .unwrap_err();
    assert_eq!(reused.violations[0].field, "request_id");
    ledger
        .advance(&lease, Step::Starting, Some("t1"))
        .await
        .unwrap();
    // The holder dies: once its lease is released (or lapses), a retry resumes.
    ledger.release(&lease).await;
    let Claim::Mine {
        lease: second,
        step,
        task_token,
    } = ledger
        .claim(&key("r"), "fp", Duration::from_secs(30))
        .await
        .unwrap()
    else {
        panic!("a released claim is taken over");
    };
    assert_eq!((step, task_token.as_deref()), (Step::Starting, Some("t1")));
    // The first holder's late write is refused: it lost the lease.
    assert!(ledger.advance(&lease, Step::Done, None).await.is_err());
    ledger
        .task_started(
            &second,
            "t1",
            &serde_json::json!({}),
            r#"{"task_token":"t1"}"#,
        )
        .await
        .unwrap();
    match ledger
        .claim(&key("r"), "fp", Duration::from_secs(30))
        .await
        .unwrap()
    {
        Claim::Done(response) => assert_eq!(response, r#"{"task_token":"t1"}"#),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_lease_that_lapsed_is_taken_over() {
    let ledger = Ledger::new(&DatabaseUrl::memory()).unwrap();
    let claim = ledger.claim(&key("l"), "fp", Duration::ZERO).await.unwrap();
    assert!(matches!(claim, Claim::Mine { .. }));
    tokio::time::sleep(Duration::from_millis(5)).await;
    let again = ledger
        .claim(&key("l"), "fp", Duration::from_secs(30))
        .await
        .unwrap();
    assert!(
        matches!(
            again,
            Claim::Mine {
                step: Step::Begun,
                ..
            }
        ),
        "{again:?}"
    );
}

#[tokio::test]
async fn pruning_deletes_old_tasks_in_batches_and_keeps_the_rest() {
    let ledger = Ledger::new(&DatabaseUrl::memory()).unwrap();
    let mut conn = ledger.pool().await.unwrap().acquire().await.unwrap();
    for i in 0..5 {
        let task = NewTask {
            task_token: format!("{i:032}"),
            project: "main".into(),
            labels: [("team".to_owned(), "a".to_owned())].into(),
            ..NewTask::default()
        };
        Ledger::insert_task(&mut conn, &task).await.unwrap();
    }
    drop(conn);
    let future = super::now_ms() + 60_000;
    assert_eq!(ledger.prune_tasks(future, 2).await.unwrap(), 2);
    assert_eq!(ledger.prune_tasks(future, 2).await.unwrap(), 2);
    assert_eq!(ledger.prune_tasks(future, 2).await.unwrap(), 1);
    assert_eq!(ledger.prune_tasks(future, 2).await.unwrap(), 0);
    // Tasks younger than the cutoff stay.
    let mut conn = ledger.pool().await.unwrap().acquire().await.unwrap();
    Ledger::insert_task(
        &mut conn,
        &NewTask {
            task_token: "f".repeat(32),
            project: "main".into(),
            ..NewTask::default()
        },
    )
    .await
    .unwrap();
    drop(conn);
    assert_eq!(
        ledger.prune(Duration::from_secs(3600)).await.unwrap(),
        (0, 0)
    );
    assert!(ledger
        .task("main", &"f".repeat(32))
        .await
        .unwrap()
        .is_some());
}
