//! The access policy (`GATEWAY_POLICY_FILE`): which callers exist, how each proves who
//! it is, which methods it may use and how much of the gateway it may take.
//!
//! ```toml
//! [projects.main]                       # one Qencode project; its keys stay outside the file
//! api_key_env = "QENCODE_API_KEY_MAIN"  # or api_key_file = "/var/run/secrets/qencode/main"
//! live_api_key_env = "QENCODE_LIVE_API_KEY_MAIN"   # optional; defaults to the same key
//!
//! [[callers]]
//! name = "encoder"
//! project = "main"                      # its default project (default "main")
//! projects = ["main", "archive"]        # others it may pick with `x-qencode-project`
//! identity = "spiffe://example.org/ns/media/sa/encoder"   # mTLS or mesh identity
//! bearer_sha256 = "<hex SHA-256 of the token>"             # and/or a bearer token
//! allow = ["qencode.gateway.v1.Transcoding/*", "qencode.gateway.v1.LiveStreaming/GetStream"]
//! rate_per_second = 20
//! burst = 40
//! max_watchers = 100
//! max_active_tasks = 50                 # tasks running at once (counted in the ledger)
//! max_tasks_per_day = 2000              # tasks started in 24 hours
//! ```
//!
//! A `[projects.<name>]` entry may set `max_active_tasks` too (all its callers together).
//!
//! Without `[projects]` there is one project, `main`, whose keys are `QENCODE_API_KEY`
//! and `QENCODE_LIVE_API_KEY` as without a policy. A project's keys are named (an
//! environment variable or a file), never written in the policy: the policy is a
//! ConfigMap anyone on the team may read, the keys are a Secret. Naming a project no
//! `[projects]` entry defines, or a key source that is unset, unreadable or empty, is
//! refused like any other problem (with its line), so a reload can never leave a
//! caller pointing at a project without a key.
//!
//! Tokens are stored only as digests, so the file holds nothing that lets its reader
//! call the gateway. It is validated whole (a bad file is refused with its line and
//! problem, at start with exit 64, on reload by keeping the previous policy);
//! [`reload`] watches it. Every `allow` entry must name a real service and method
//! ([`known_methods`]), and a file without callers (empty, or truncated by an editor
//! mid-write) is refused, since it would refuse every call.

pub mod bucket;
pub mod known_methods;
mod names;
pub mod reload;

use names::{same_digest, valid_pattern, valid_project_name};

use crate::support::secret::Secret;
use serde::Deserialize;
use std::{collections::BTreeMap, path::PathBuf, sync::Arc};

/// The project every caller uses unless its policy entry says otherwise, and the one
/// project of a gateway without `[projects]`.
pub const DEFAULT_PROJECT: &str = "main";
/// Longest project name: names are metric label values and Redis key parts, so they
/// stay short and few.
const MAX_PROJECT_NAME: usize = 32;

/// One caller of the policy, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct Caller {
    /// Its name, in logs, audit lines and PERMISSION_DENIED details.
    pub name: Arc<str>,
    /// The certificate or mesh identity it must present, when set.
    pub identity: Option<String>,
    /// The SHA-256 digest of the bearer token it must present, when set.
    pub bearer_sha256: Option<[u8; 32]>,
    /// `Service/Method`, `Service/*` or `*`.
    pub allow: Vec<String>,
    /// Sustained calls per second, when limited.
    pub rate_per_second: Option<f64>,
    /// Calls that may come at once above the rate.
    pub burst: f64,
    /// Most watch streams it may hold open, when limited.
    pub max_watchers: Option<usize>,
    /// Most tasks it may have running (`max_active_tasks`), when limited.
    pub max_active_tasks: Option<u32>,
    /// Most tasks it may start in 24 hours (`max_tasks_per_day`), when limited.
    pub max_tasks_per_day: Option<u32>,
    /// The project its calls use when they name none (`x-qencode-project`).
    pub project: Arc<str>,
    /// Every project it may use, its default included.
    pub projects: Vec<Arc<str>>,
}

impl Caller {
    /// May this caller use `method` (`package.Service/Method`)?
    pub fn allows(&self, method: &str) -> bool {
        self.allow
            .iter()
            .any(|pattern| match pattern.strip_suffix("/*") {
                _ if pattern == "*" => true,
                Some(service) => method
                    .strip_prefix(service)
                    .is_some_and(|rest| rest.starts_with('/')),
                None => pattern == method,
            })
    }

    /// May this caller use `project`?
    pub fn may_use(&self, project: &str) -> bool {
        self.projects.iter().any(|p| &**p == project)
    }
}

/// Where a key comes from: never the key itself.
#[derive(Debug, Clone, PartialEq)]
pub enum KeySource {
    /// An environment variable's name.
    Env(String),
    /// A file's path (a mounted Secret); surrounding whitespace is ignored.
    File(PathBuf),
}

impl KeySource {
    /// Reads the key; the problem names the variable or file, never the value.
    pub fn read(&self, env: &dyn Fn(&str) -> Option<String>) -> Result<Secret, String> {
        let (what, text) = match self {
            KeySource::Env(name) => (
                format!("environment variable {name}"),
                env(name).ok_or_else(|| format!("environment variable {name} is not set"))?,
            ),
            KeySource::File(path) => (
                format!("file {}", path.display()),
                std::fs::read_to_string(path)
                    .map_err(|e| format!("file {}: {e}", path.display()))?,
            ),
        };
        text.parse::<Secret>()
            .map_err(|e| format!("the key in {what} {e}"))
    }
}

/// One `[projects.<name>]` entry: where its keys come from.
#[derive(Debug, Clone, PartialEq)]
pub struct ProjectSpec {
    /// Its name (callers' `project`, `x-qencode-project`, metric labels).
    pub name: Arc<str>,
    /// The line of its table, for problems found when its keys are read.
    pub line: usize,
    /// The Transcoding API key.
    pub api_key: KeySource,
    /// The Live Streaming API key, when it differs from `api_key`.
    pub live_api_key: Option<KeySource>,
    /// Most tasks the project may have running, all callers together, when limited.
    pub max_active_tasks: Option<u32>,
}

/// A project's keys as read from their sources.
#[derive(Debug, Clone, PartialEq)]
pub struct ProjectKeys {
    /// The project's name.
    pub name: Arc<str>,
    /// The Transcoding API key.
    pub api_key: Secret,
    /// The Live Streaming API key.
    pub live_api_key: Secret,
}

/// A validated policy.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Policy {
    /// Callers, in file order (the first whose credentials match is the caller).
    pub callers: Vec<Caller>,
    /// `[projects.<name>]`, by name; empty: the one `main` project of the environment.
    pub projects: BTreeMap<Arc<str>, ProjectSpec>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    callers: Vec<RawCaller>,
    #[serde(default)]
    projects: BTreeMap<toml::Spanned<String>, RawProject>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProject {
    api_key_env: Option<String>,
    api_key_file: Option<PathBuf>,
    live_api_key_env: Option<String>,
    live_api_key_file: Option<PathBuf>,
    max_active_tasks: Option<u32>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCaller {
    name: toml::Spanned<String>,
    identity: Option<String>,
    bearer_sha256: Option<String>,
    #[serde(default)]
    allow: Vec<toml::Spanned<String>>,
    rate_per_second: Option<f64>,
    burst: Option<u32>,
    max_watchers: Option<u32>,
    max_active_tasks: Option<u32>,
    max_tasks_per_day: Option<u32>,
    project: Option<String>,
    projects: Option<Vec<String>>,
}

impl Policy {
    /// Parses and validates the policy file's `text`; the problem names its line.
    pub fn parse(text: &str) -> Result<Self, String> {
        let line_of = |offset: usize| text[..offset.min(text.len())].matches('\n').count() + 1;
        let file: File = toml::from_str(text).map_err(|e| {
            let line = e
                .span()
                .map_or(String::new(), |s| format!("line {}: ", line_of(s.start)));
            format!("{line}{}", e.message())
        })?;
        let mut projects = BTreeMap::new();
        for (name, raw) in file.projects {
            let line = line_of(name.span().start);
            let name = name.into_inner();
            let problem = |what: &str| format!("line {line}: project {name:?}: {what}");
            if !valid_project_name(&name) {
                return Err(problem(&format!(
                    "a project name is 1 to {MAX_PROJECT_NAME} letters, digits, '-' or '_'"
                )));
            }
            let source = |env: Option<String>, file: Option<PathBuf>, field: &str| match (env, file)
            {
                (Some(_), Some(_)) => Err(problem(&format!(
                    "set {field}_env or {field}_file, not both"
                ))),
                (Some(env), None) if env.trim().is_empty() => {
                    Err(problem(&format!("{field}_env must name a variable")))
                }
                (Some(env), None) => Ok(Some(KeySource::Env(env.trim().to_owned()))),
                (None, Some(file)) => Ok(Some(KeySource::File(file))),
                (None, None) => Ok(None),
            };
            let api_key = source(raw.api_key_env, raw.api_key_file, "api_key")?
                .ok_or_else(|| problem("needs api_key_env or api_key_file (the key itself never goes in the policy)"))?;
            let live_api_key = source(raw.live_api_key_env, raw.live_api_key_file, "live_api_key")?;
            if raw.max_active_tasks == Some(0) {
                return Err(problem("max_active_tasks must be at least 1"));
            }
            let name: Arc<str> = Arc::from(name.as_str());
            projects.insert(
                name.clone(),
                ProjectSpec {
                    name,
                    line,
                    api_key,
                    live_api_key,
                    max_active_tasks: raw.max_active_tasks,
                },
            );
        }
        let mut callers: Vec<Caller> = Vec::with_capacity(file.callers.len());
        for raw in file.callers {
            let line = line_of(raw.name.span().start);
            let name = raw.name.into_inner();
            let problem = |what: &str| format!("line {line}: caller {name:?}: {what}");
            if name.trim().is_empty() {
                return Err(problem("name must not be empty"));
            }
            if callers.iter().any(|c| *c.name == *name) {
                return Err(problem("a caller of this name is already defined"));
            }
            let bearer_sha256 = match raw.bearer_sha256.as_deref() {
                None => None,
                Some(text) => {
                    let mut digest = [0u8; 32];
                    hex::decode_to_slice(text.trim(), &mut digest).map_err(|_| {
                        problem("bearer_sha256 must be 64 hex digits (the SHA-256 of the token)")
                    })?;
                    Some(digest)
                }
            };
            let identity = raw.identity.filter(|i| !i.trim().is_empty());
            if identity.is_none() && bearer_sha256.is_none() {
                return Err(problem("needs an identity, a bearer_sha256 or both"));
            }
            if let Some(bad) = raw.allow.iter().find(|p| !valid_pattern(p.get_ref())) {
                return Err(problem(&format!(
                    "allow entry {:?} is not Service/Method, Service/* or *",
                    bad.get_ref()
                )));
            }
            // A typo would match nothing and refuse the caller at every call: name it
            // now, on the entry's own line.
            for entry in &raw.allow {
                known_methods::KnownMethods::gateway()
                    .check(entry.get_ref())
                    .map_err(|e| {
                        format!("line {}: caller {name:?}: {e}", line_of(entry.span().start))
                    })?;
            }
            if let Some(rate) = raw.rate_per_second {
                if !(rate.is_finite() && rate > 0.0) {
                    return Err(problem("rate_per_second must be above 0"));
                }
            }
            if [
                raw.burst,
                raw.max_watchers,
                raw.max_active_tasks,
                raw.max_tasks_per_day,
            ]
            .contains(&Some(0))
            {
                return Err(problem("burst, max_watchers, max_active_tasks and max_tasks_per_day must be at least 1"));
            }
            // Projects: every one named must be defined (or be the implicit `main` of a
            // policy without `[projects]`).
            let defined = |p: &str| {
                if projects.is_empty() {
                    p == DEFAULT_PROJECT
                } else {
                    projects.contains_key(p)
                }
            };
            let project = raw.project.unwrap_or_else(|| DEFAULT_PROJECT.to_owned());
            let mut names: Vec<String> = vec![project.clone()];
            names.extend(raw.projects.unwrap_or_default());
            if let Some(unknown) = names.iter().find(|p| !defined(p)) {
                let field = if *unknown == project {
                    "project"
                } else {
                    "projects"
                };
                return Err(problem(&format!(
                    "{field} names {unknown:?}, which no [projects.{unknown}] section defines{}",
                    if projects.is_empty() {
                        " (without [projects] the only project is \"main\")"
                    } else {
                        ""
                    }
                )));
            }
            let mut allowed: Vec<Arc<str>> = Vec::with_capacity(names.len());
            for name in names {
                if !allowed.iter().any(|p| **p == *name) {
                    allowed.push(Arc::from(name.as_str()));
                }
            }
            let burst = raw.burst.map_or_else(
                || raw.rate_per_second.map_or(1.0, |r| r.ceil().max(1.0)),
                f64::from,
            );
            callers.push(Caller {
                name: Arc::from(name.as_str()),
                identity,
                bearer_sha256,
                allow: raw
                    .allow
                    .into_iter()
                    .map(toml::Spanned::into_inner)
                    .collect(),
                rate_per_second: raw.rate_per_second,
                burst,
                max_watchers: raw.max_watchers.map(|m| m as usize),
                max_active_tasks: raw.max_active_tasks,
                max_tasks_per_day: raw.max_tasks_per_day,
                project: allowed[0].clone(),
                projects: allowed,
            });
        }
        if callers.is_empty() {
            // Every call but health and reflection would be UNAUTHENTICATED: an empty or
            // truncated file is a mistake, never a policy.
            return Err(
                "defines no [[callers]], so every call would be refused; add a caller, or \
                 unset GATEWAY_POLICY_FILE to let every call through"
                    .into(),
            );
        }
        Ok(Policy { callers, projects })
    }

    /// Reads every project's keys from their sources (`env` looks up a variable). A
    /// policy without `[projects]` yields nothing: the environment's one project stands.
    /// The problem names the project's line and the source, never a key.
    pub fn project_keys(
        &self,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Vec<ProjectKeys>, String> {
        self.projects
            .values()
            .map(|spec| {
                let problem = |field: &str, e: String| {
                    format!(
                        "line {}: project {:?}: {field}: {e}",
                        spec.line, &*spec.name
                    )
                };
                let api_key = spec.api_key.read(env).map_err(|e| problem("api_key", e))?;
                let live_api_key = match &spec.live_api_key {
                    Some(source) => source.read(env).map_err(|e| problem("live_api_key", e))?,
                    None => api_key.clone(),
                };
                Ok(ProjectKeys {
                    name: spec.name.clone(),
                    api_key,
                    live_api_key,
                })
            })
            .collect()
    }

    /// The caller whose every declared credential matches: the connection's or mesh's
    /// `identity` and the digest of the bearer token. A token that matches no one
    /// identifies no one, even when the identity alone would.
    pub fn caller(&self, identity: Option<&str>, bearer: Option<&[u8; 32]>) -> Option<&Caller> {
        let token_matches = |caller: &Caller| match (&caller.bearer_sha256, bearer) {
            (Some(expected), Some(given)) => same_digest(expected, given),
            _ => false,
        };
        if bearer.is_some() && !self.callers.iter().any(token_matches) {
            return None;
        }
        self.callers.iter().find(|caller| {
            let identity_ok = caller
                .identity
                .as_deref()
                .is_none_or(|expected| Some(expected) == identity);
            let token_ok = caller.bearer_sha256.is_none() || token_matches(caller);
            identity_ok && token_ok
        })
    }
}

#[cfg(test)]
mod policy_tests;
