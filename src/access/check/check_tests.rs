//! Unit tests of [`super`], kept in their own file so the module itself stays short.

use super::*;

fn access(text: &str) -> Access {
    let policy = Policy::parse(text).unwrap();
    let (_tx, rx) = watch::channel(Arc::new(policy));
    Access::new(Some(rx), Some(Mesh::Linkerd))
}

fn linkerd(id: &'static str) -> http::HeaderMap {
    let mut headers = http::HeaderMap::new();
    headers.insert("l5d-client-id", http::HeaderValue::from_static(id));
    headers
}

const POLICY: &str = r#"
[[callers]]
name = "viewer"
identity = "viewer.ns"
allow = ["qencode.gateway.v1.LiveStreaming/*"]
max_watchers = 1
"#;

#[test]
fn identity_then_policy_then_watchers() {
    let access = access(POLICY);
    let m = "qencode.gateway.v1.LiveStreaming/WatchStream";
    let kind = |r: Result<Admitted, Refused>| r.unwrap_err().error.kind;
    assert_eq!(
        kind(access.check(m, true, &http::HeaderMap::new(), None)),
        ErrorKind::Unauthenticated
    );
    assert_eq!(
        kind(access.check(m, true, &linkerd("other.ns"), None)),
        ErrorKind::Unauthenticated
    );
    let denied = access
        .check(
            "qencode.gateway.v1.Transcoding/CreateTask",
            false,
            &linkerd("viewer.ns"),
            None,
        )
        .unwrap_err();
    assert_eq!(denied.error.kind, ErrorKind::PermissionDenied);
    assert_eq!(
        denied.error.metadata.get("caller").map(String::as_str),
        Some("viewer")
    );
    // The audit line names the caller the error names.
    assert_eq!(denied.caller.as_deref(), Some("viewer"));
    let unknown = access
        .check(m, true, &linkerd("other.ns"), None)
        .unwrap_err();
    assert_eq!(unknown.caller, None, "no caller was identified");
    let first = access.check(m, true, &linkerd("viewer.ns"), None).unwrap();
    assert_eq!(first.caller.as_deref(), Some("viewer"));
    let over = access
        .check(m, true, &linkerd("viewer.ns"), None)
        .unwrap_err();
    assert_eq!(over.error.kind, ErrorKind::ResourceExhausted);
    assert_eq!(over.caller.as_deref(), Some("viewer"));
    drop(first);
    assert!(access.check(m, true, &linkerd("viewer.ns"), None).is_ok());
    // Health stays open.
    assert!(access
        .check(
            "grpc.health.v1.Health/Check",
            false,
            &http::HeaderMap::new(),
            None
        )
        .unwrap()
        .caller
        .is_none());
}

#[test]
fn without_a_policy_nothing_is_checked() {
    let access = Access::open();
    assert!(access
        .check(
            "qencode.gateway.v1.Transcoding/CreateTask",
            false,
            &http::HeaderMap::new(),
            None
        )
        .unwrap()
        .caller
        .is_none());
}
