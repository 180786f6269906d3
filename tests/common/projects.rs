//! Two Qencode projects behind one policy, for tests of several projects (also in
//! fleet mode): a sandbox knowing both keys, the policy file, and the caller's calls.

use super::{
    logs::sha,
    tls::{temp_dir, write},
};
use tokio::net::TcpListener;

/// Transcoding and Live key of project `alpha` in [`two_projects`].
pub const KEY_ALPHA: &str = "fleet-alpha-key-7171";
/// Transcoding and Live key of project `beta` in [`two_projects`].
pub const KEY_BETA: &str = "fleet-beta-key-7272";
/// The bearer token of the one caller [`two_projects`]' policy knows.
pub const PROJECTS_CALLER: &str = "fleet-caller-token";

/// A sandbox that knows both projects' keys (started from `sandbox`), and the path of a
/// policy with `[projects.alpha]` and `[projects.beta]` (keys from files) and one caller
/// ([`PROJECTS_CALLER`]) whose default project is alpha and who may pick beta.
pub async fn two_projects(
    sandbox: qencode_sandbox::SandboxConfig,
) -> (qencode_sandbox::SandboxHandle, std::path::PathBuf) {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind sandbox");
    let keys = vec![KEY_ALPHA.to_owned(), KEY_BETA.to_owned()];
    let config = qencode_sandbox::SandboxConfig {
        api_keys: keys.clone(),
        live_api_keys: keys,
        ..sandbox
    };
    let sandbox = qencode_sandbox::Sandbox::start(listener, config)
        .await
        .expect("start sandbox");
    let dir = temp_dir();
    let policy = format!(
        "[projects.alpha]\napi_key_file = \"{}\"\n\n[projects.beta]\napi_key_file = \"{}\"\n\n[[callers]]\nname = \"c\"\nbearer_sha256 = \"{}\"\nproject = \"alpha\"\nprojects = [\"beta\"]\nallow = [\"*\"]\n",
        write(&dir, "alpha.key", KEY_ALPHA).display(),
        write(&dir, "beta.key", KEY_BETA).display(),
        sha(PROJECTS_CALLER),
    );
    (sandbox, write(&dir, "policy.toml", &policy))
}

/// `message` as [`PROJECTS_CALLER`]'s call for `project`.
pub fn project_request<T>(message: T, project: &str) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    let m = request.metadata_mut();
    m.insert(
        "authorization",
        format!("Bearer {PROJECTS_CALLER}").parse().unwrap(),
    );
    m.insert("x-qencode-project", project.parse().unwrap());
    request
}
