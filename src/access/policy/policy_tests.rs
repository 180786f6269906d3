//! Unit tests of [`super`], kept in their own file so the module itself stays short.

use super::*;
use ring::digest::{digest, SHA256};

fn sha(token: &str) -> String {
    hex::encode(digest(&SHA256, token.as_bytes()))
}

#[test]
fn a_policy_parses_and_matches_callers() {
    let text = format!(
        r#"
[[callers]]
name = "encoder"
identity = "spiffe://example.org/encoder"
allow = ["qencode.gateway.v1.Transcoding/*"]
rate_per_second = 2.5

[[callers]]
name = "dashboard"
bearer_sha256 = "{}"
allow = ["qencode.gateway.v1.LiveStreaming/GetStream"]
max_watchers = 3
"#,
        sha("dash-token")
    );
    let policy = Policy::parse(&text).unwrap();
    let encoder = policy
        .caller(Some("spiffe://example.org/encoder"), None)
        .unwrap();
    assert_eq!(&*encoder.name, "encoder");
    assert_eq!(encoder.burst, 3.0);
    assert!(encoder.allows("qencode.gateway.v1.Transcoding/CreateTask"));
    assert!(!encoder.allows("qencode.gateway.v1.TranscodingX/CreateTask"));
    let token = |t: &str| {
        let mut d = [0u8; 32];
        d.copy_from_slice(digest(&SHA256, t.as_bytes()).as_ref());
        d
    };
    let dashboard = policy.caller(None, Some(&token("dash-token"))).unwrap();
    assert_eq!(&*dashboard.name, "dashboard");
    assert!(dashboard.allows("qencode.gateway.v1.LiveStreaming/GetStream"));
    assert!(!dashboard.allows("qencode.gateway.v1.LiveStreaming/StopStream"));
    assert!(policy.caller(None, Some(&token("wrong"))).is_none());
    assert!(policy
        .caller(Some("spiffe://example.org/encoder"), Some(&token("wrong")))
        .is_none());
    assert!(policy
        .caller(Some("spiffe://example.org/other"), None)
        .is_none());
    assert!(policy.caller(None, None).is_none());
}

#[test]
fn problems_name_their_line() {
    let err = Policy::parse("[[callers]]\nname = \"a\"\nallow = [\"x\"\n").unwrap_err();
    assert!(err.starts_with("line "), "{err}");
    let err = Policy::parse("[[callers]]\n\nname = \"a\"\nbearer_sha256 = \"abc\"\n").unwrap_err();
    assert!(
        err.starts_with("line 3: caller \"a\"") && err.contains("64 hex"),
        "{err}"
    );
    let err = Policy::parse("[[callers]]\nname = \"a\"\nallow = [\"*\"]\n").unwrap_err();
    assert!(err.contains("needs an identity"), "{err}");
    let err = Policy::parse("[[callers]]\nname = \"a\"\nidentity = \"i\"\nallow = [\"Svc\"]\n")
        .unwrap_err();
    assert!(err.contains("allow entry"), "{err}");
    let err =
        Policy::parse("[[callers]]\nname = \"a\"\nidentity = \"i\"\ncolour = 1\n").unwrap_err();
    assert!(err.starts_with("line 4"), "{err}");
}

/// A caller to append to a policy that needs one to be valid.
const A_CALLER: &str = "\n[[callers]]\nname = \"a\"\nidentity = \"i\"\n";

#[test]
fn a_policy_without_callers_is_refused() {
    for text in [
        "",
        "# nothing yet\n",
        "[projects.main]\napi_key_env = \"K\"\n",
    ] {
        let err = Policy::parse(text).unwrap_err();
        assert!(err.contains("defines no [[callers]]"), "{text:?}: {err}");
    }
}

#[test]
fn allow_entries_name_real_methods_on_their_line() {
    let text = "[[callers]]\nname = \"a\"\nidentity = \"i\"\nallow = [\n  \"qencode.gateway.v1.Transcoding/GetStatus\",\n  \"qencode.gateway.v1.Transcoding/CreateTsk\",\n]\n";
    let err = Policy::parse(text).unwrap_err();
    assert!(
        err.starts_with("line 6: caller \"a\": allow entry")
            && err.contains("did you mean \"qencode.gateway.v1.Transcoding/CreateTask\""),
        "{err}"
    );
    let err = Policy::parse(
        "[[callers]]\nname = \"a\"\nidentity = \"i\"\nallow = [\"qencode.gateway.v2.Transcoding/*\"]\n",
    )
    .unwrap_err();
    assert!(
        err.starts_with("line 4: ")
            && err.contains("names no service")
            && err.contains("qencode.gateway.v1.Transcoding/*"),
        "{err}"
    );
    let ok = "[[callers]]\nname = \"a\"\nidentity = \"i\"\nallow = [\"qencode.gateway.v1.LiveStreaming/*\", \"grpc.health.v1.Health/Check\", \"*\"]\n";
    assert_eq!(Policy::parse(ok).unwrap().callers[0].allow.len(), 3);
}

#[test]
fn projects_name_their_key_sources_and_callers_only_defined_projects() {
    let text = r#"
[projects.main]
api_key_env = "KEY_MAIN"

[projects.archive]
api_key_file = "/run/secrets/archive"
live_api_key_env = "LIVE_ARCHIVE"

[[callers]]
name = "a"
identity = "i"
projects = ["archive", "main"]
"#;
    let policy = Policy::parse(text).unwrap();
    let a = &policy.callers[0];
    assert_eq!(&*a.project, "main", "the default project is main");
    assert!(a.may_use("archive") && a.may_use("main") && !a.may_use("other"));
    assert_eq!(a.projects.len(), 2, "no duplicates");
    let archive = &policy.projects["archive"];
    assert_eq!(archive.line, 5);
    assert_eq!(
        archive.api_key,
        KeySource::File("/run/secrets/archive".into())
    );

    // Keys are read from their sources; a missing one names its line and source.
    let env = |name: &str| (name == "KEY_MAIN").then(|| "k-main".to_owned());
    let err = policy.project_keys(&env).unwrap_err();
    assert!(
        err.starts_with("line 5: project \"archive\": api_key: file /run/secrets/archive"),
        "{err}"
    );
    let only_main = Policy::parse(&format!(
        "[projects.main]\napi_key_env = \"KEY_MAIN\"\n{A_CALLER}"
    ))
    .unwrap();
    let keys = only_main.project_keys(&env).unwrap();
    assert_eq!(keys[0].api_key.expose(), "k-main");
    assert_eq!(
        keys[0].live_api_key.expose(),
        "k-main",
        "live defaults to the same key"
    );
    let err = Policy::parse(&format!(
        "[projects.main]\napi_key_env = \"NOPE\"\n{A_CALLER}"
    ))
    .unwrap()
    .project_keys(&env)
    .unwrap_err();
    assert!(
        err.contains("environment variable NOPE is not set"),
        "{err}"
    );
    assert!(!err.contains("k-main"));

    // Unknown projects, both sources at once, no source, bad names.
    let err = Policy::parse(
        "[projects.main]\napi_key_env = \"K\"\n\n[[callers]]\nname = \"a\"\nidentity = \"i\"\nproject = \"other\"\n",
    )
    .unwrap_err();
    assert!(
        err.starts_with("line 5: caller \"a\": project names \"other\""),
        "{err}"
    );
    let err = Policy::parse("[[callers]]\nname = \"a\"\nidentity = \"i\"\nprojects = [\"x\"]\n")
        .unwrap_err();
    assert!(err.contains("only project is \"main\""), "{err}");
    let err =
        Policy::parse("[projects.p]\napi_key_env = \"K\"\napi_key_file = \"/k\"\n").unwrap_err();
    assert!(
        err.starts_with("line 1: project \"p\": set api_key_env or api_key_file, not both"),
        "{err}"
    );
    let err = Policy::parse("[projects.p]\nlive_api_key_env = \"K\"\n").unwrap_err();
    assert!(err.contains("needs api_key_env or api_key_file"), "{err}");
    let err = Policy::parse("[projects.\"a b\"]\napi_key_env = \"K\"\n").unwrap_err();
    assert!(err.contains("a project name is"), "{err}");
    let err = Policy::parse("[projects.p]\napi_key = \"the-key\"\n").unwrap_err();
    assert!(
        err.starts_with("line 2"),
        "a key in the policy is refused: {err}"
    );
}

#[test]
fn the_shipped_example_policy_is_valid() {
    let text = include_str!("../../../deploy/kubernetes/components/policy/policy.toml");
    let policy = Policy::parse(text).unwrap();
    assert_eq!(policy.callers.len(), 2);
}

#[test]
fn budgets_parse_and_zero_is_refused_with_its_line() {
    let text = |caller_max: u32, project_max: u32| {
        format!(
            "[projects.main]\napi_key_env = \"K\"\nmax_active_tasks = {project_max}\n\n\
             [[callers]]\nname = \"c\"\nidentity = \"spiffe://x/c\"\nallow = [\"*\"]\n\
             max_active_tasks = {caller_max}\nmax_tasks_per_day = 100\n"
        )
    };
    let policy = Policy::parse(&text(2, 5)).unwrap();
    let caller = &policy.callers[0];
    assert_eq!(
        (caller.max_active_tasks, caller.max_tasks_per_day),
        (Some(2), Some(100))
    );
    assert_eq!(policy.projects["main"].max_active_tasks, Some(5));
    let problem = Policy::parse(&text(0, 5)).unwrap_err();
    assert!(problem.starts_with("line 6: caller \"c\""), "{problem}");
    let problem = Policy::parse(&text(2, 0)).unwrap_err();
    assert!(
        problem.contains("max_active_tasks must be at least 1"),
        "{problem}"
    );
}
