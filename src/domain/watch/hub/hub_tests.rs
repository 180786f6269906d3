//! Unit tests of [`super`], kept in their own file so the module itself stays short.

use super::*;

#[tokio::test(start_paused = true)]
async fn new_ids_coalesce_and_leave_with_their_watchers() {
    let hub: Hub<u32> = Hub::new(WatcherLimit::new(10));
    let a = hub.subscribe("a").unwrap();
    let _b = hub.subscribe("b").unwrap();
    let now = Instant::now();
    assert!(
        hub.due(now, Duration::ZERO).0.is_empty(),
        "coalescing window"
    );
    let (mut due, _) = hub.due(now + COALESCE, Duration::ZERO);
    due.sort();
    assert_eq!(due, ["a", "b"]);
    drop(a);
    let (due, _) = hub.due(now + COALESCE, Duration::ZERO);
    assert_eq!(due, ["b"], "a has no watchers left");
}

#[tokio::test(start_paused = true)]
async fn equal_values_wake_nobody_and_terminal_ids_stop() {
    let hub: Hub<u32> = Hub::new(WatcherLimit::new(10));
    let mut sub = hub.subscribe("a").unwrap();
    let later = Instant::now() + Duration::from_secs(5);
    hub.publish("a", Observed::Value(Arc::new(1)), false, later);
    assert!(sub.rx.has_changed().unwrap());
    sub.rx.borrow_and_update();
    hub.publish("a", Observed::Value(Arc::new(1)), false, later);
    assert!(!sub.rx.has_changed().unwrap(), "same value, no wake-up");
    hub.publish("a", Observed::Value(Arc::new(2)), true, later);
    assert!(sub.rx.has_changed().unwrap());
    assert!(
        hub.due(later, Duration::ZERO).0.is_empty(),
        "terminal ids are not polled"
    );
    assert!(
        !hub.push("a", 3, false),
        "callbacks after the end are ignored"
    );
}

#[tokio::test(start_paused = true)]
async fn a_state_read_earlier_than_the_current_one_is_never_published() {
    let hub: Hub<u32> = Hub::new(WatcherLimit::new(10));
    let mut sub = hub.subscribe("a").unwrap();
    let later = Instant::now() + Duration::from_secs(5);
    let at = |ms| Some(ObservedAt(ms));
    hub.publish_observed(
        "a",
        Observed::Value(Arc::new(36499)),
        false,
        later,
        at(20_000),
    );
    sub.rx.borrow_and_update();
    // A snapshot read 20 s earlier (Redis resuming): dropped, nobody woken.
    hub.publish_observed("a", Observed::Value(Arc::new(36299)), true, later, at(0));
    assert!(
        !sub.rx.has_changed().unwrap(),
        "an older state wakes nobody"
    );
    assert_eq!(hub.current("a").as_deref(), Some(&36499));
    assert!(hub.is_watched("a"), "an older terminal state ends nothing");
    assert!(!hub.push_observed("b", 1, false, at(0)), "nobody watches b");
    hub.push_observed("a", 36299, false, at(19_999));
    assert_eq!(
        hub.current("a").as_deref(),
        Some(&36499),
        "pushed: the same rule"
    );
    // The same reading twice, a newer one, an unstamped one: published.
    hub.publish_observed(
        "a",
        Observed::Value(Arc::new(36500)),
        false,
        later,
        at(20_000),
    );
    assert_eq!(hub.current("a").as_deref(), Some(&36500));
    hub.push_observed("a", 36600, false, at(21_000));
    assert_eq!(hub.current("a").as_deref(), Some(&36600));
    hub.push_observed("a", 36700, false, None);
    assert_eq!(
        hub.current("a").as_deref(),
        Some(&36700),
        "unstamped: as before"
    );
    // Local readings are stamped now, so they pass anything read before.
    hub.publish("a", Observed::Value(Arc::new(36800)), false, later);
    assert_eq!(hub.current("a").as_deref(), Some(&36800));
    hub.push_observed("a", 1, false, at(21_000));
    assert_eq!(hub.current("a").as_deref(), Some(&36800));
}

#[tokio::test(start_paused = true)]
async fn failures_in_a_row_make_the_state_stale_until_a_value_comes() {
    let hub: Hub<u32> = Hub::new(WatcherLimit::new(10));
    let mut sub = hub.subscribe("a").unwrap();
    let later = Instant::now() + Duration::from_secs(5);
    hub.publish("a", Observed::Value(Arc::new(1)), false, later);
    sub.rx.borrow_and_update();
    for _ in 1..STALE_AFTER_FAILED_POLLS {
        assert!(!hub.fail("a", "UPSTREAM_TIMEOUT".into(), later));
        assert!(!sub.rx.has_changed().unwrap(), "one failure alarms nobody");
    }
    assert!(hub.fail("a", "UPSTREAM_UNAVAILABLE".into(), later));
    let stale = match sub.rx.borrow_and_update().clone() {
        Some(Observed::Stale(v, stale)) => (*v, stale),
        other => panic!("not stale: {other:?}"),
    };
    assert_eq!(stale.0, 1);
    assert_eq!(stale.1.failed_polls, STALE_AFTER_FAILED_POLLS);
    assert_eq!(stale.1.reason, "UPSTREAM_UNAVAILABLE");
    assert_eq!(
        hub.current("a").as_deref(),
        Some(&1),
        "the last state stands"
    );
    hub.publish("a", Observed::Value(Arc::new(1)), false, later);
    assert!(
        sub.rx.has_changed().unwrap(),
        "an equal value ends the staleness"
    );
    assert!(matches!(
        &*sub.rx.borrow_and_update(),
        Some(Observed::Value(v)) if **v == 1
    ));
    assert!(
        !hub.fail("a", "UPSTREAM_TIMEOUT".into(), later),
        "counting restarts"
    );
}
