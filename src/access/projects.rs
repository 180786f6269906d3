//! Several Qencode projects on one gateway.
//!
//! A Qencode project is an account: its own API keys, its own tasks and live streams,
//! its own bill. One gateway can front several (`[projects.<name>]` in the policy), so
//! each project gets its own [`TokenManager`] per API (single-flight and refresh as
//! ever; in fleet mode its own Redis key), and a call goes with the token of the
//! project its caller picked ([`crate::access::check`] decides which).
//!
//! Qencode's status, start and upload endpoints take only the task token, not the
//! project's token, so nothing upstream stops a caller of one project from reading or
//! starting another project's task if it knows the token. The gateway therefore
//! remembers which project created each task and each live stream it saw (bounded,
//! with a TTL) and answers NOT_FOUND, exactly as for an unknown id, to a caller of
//! any other project. Ids it never saw (created before a restart, or elsewhere) pass;
//! for live streams the upstream refuses them anyway, the token being the project's.
//!
//! The set of projects follows the policy: a reload that adds a project builds its
//! token managers, one that changes a key replaces them, one that removes a project
//! drops them; unchanged projects keep their cached tokens.

use crate::domain::token_memory::TokenMemory;
use crate::{
    access::policy::{ProjectKeys, DEFAULT_PROJECT},
    domain::{live::LiveStreaming, signer::CallbackSigner},
    fleet::Fleet,
    support::{
        error::{Error, ErrorKind, UPSTREAM_DOMAIN},
        secret::Secret,
    },
    upstream::{
        auth::{fleet_tokens::FleetTokens, TokenManager, TokenSource},
        live_api::{LiveClient, LiveTokens},
        transcoding_api::{TranscodingClient, TranscodingTokens},
    },
};
use std::{
    collections::BTreeMap,
    sync::{Arc, PoisonError, RwLock},
    time::Duration,
};
use tracing::info;

/// How long the project of a task or stream is remembered (as status URLs are).
const OWNER_TTL: Duration = Duration::from_secs(48 * 3600);
/// How many tasks' and streams' projects are remembered (each kind).
const OWNER_CAPACITY: u64 = 200_000;

/// One project: its name and what calls with its keys.
pub struct Project {
    /// Its name in the policy (`main` without `[projects]`).
    pub name: Arc<str>,
    /// The Transcoding API's token manager of this project.
    pub transcoding: TokenManager,
    /// The LiveStreaming domain over this project's Live API token.
    pub live: Arc<LiveStreaming>,
    /// The keys it was built from: a reload that keeps them keeps the cached tokens.
    keys: (Secret, Secret),
}

impl std::fmt::Debug for Project {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Project").field("name", &self.name).finish()
    }
}

/// What a project is built from besides its keys: shared by every project.
#[derive(Clone)]
pub struct ProjectParts {
    /// The Transcoding API client (one connection pool for all projects).
    pub transcoding: TranscodingClient,
    /// The Live Streaming API client.
    pub live: LiveClient,
    /// Fleet mode: tokens shared per project through Redis.
    pub fleet: Option<Arc<Fleet>>,
    /// Signs the callback URL set on new live streams.
    pub signer: Option<Arc<CallbackSigner>>,
}

/// The projects in force, and which project each known task and stream belongs to.
pub struct Projects {
    /// By name; replaced whole on reload, so a call sees one consistent set.
    current: RwLock<Arc<BTreeMap<Arc<str>, Arc<Project>>>>,
    parts: ProjectParts,
    /// Task token -> the project that created it (an index into `owner_names`); one
    /// entry per CreateTask, so kept compact ([`TokenMemory`]).
    tasks: TokenMemory<u16>,
    /// The project names `tasks` refers to, in the order first seen (a handful).
    owner_names: RwLock<Vec<Arc<str>>>,
    /// Live stream id -> the project whose token reached it.
    streams: moka::sync::Cache<String, Arc<str>>,
    /// `main` from `QENCODE_API_KEY`, when set: the project of a policy without
    /// `[projects]`, also after a reload that removes the section.
    fallback: Option<ProjectKeys>,
}

impl Projects {
    /// The projects of `keys`, built from `parts`; `fallback` is the environment's
    /// `main`, used whenever `keys` is empty (a policy without `[projects]`).
    pub fn new(
        parts: ProjectParts,
        keys: &[ProjectKeys],
        fallback: Option<ProjectKeys>,
    ) -> Result<Self, String> {
        let owners = || {
            moka::sync::Cache::builder()
                .max_capacity(OWNER_CAPACITY)
                .time_to_live(OWNER_TTL)
                .build()
        };
        let projects = Projects {
            current: RwLock::new(Arc::default()),
            parts,
            tasks: TokenMemory::new(OWNER_CAPACITY as usize, OWNER_TTL),
            owner_names: RwLock::new(Vec::new()),
            streams: owners(),
            fallback,
        };
        projects.apply(keys)?;
        Ok(projects)
    }

    /// `main` with the configured keys, as the one project or the fallback.
    pub fn main_keys(api_key: Secret, live_api_key: Secret) -> ProjectKeys {
        ProjectKeys {
            name: Arc::from(DEFAULT_PROJECT),
            api_key,
            live_api_key,
        }
    }

    /// Makes `keys` the projects in force: unchanged ones are kept as they are (cached
    /// tokens and all), new or re-keyed ones get new token managers. Empty `keys` mean
    /// the environment's `main`; without one that is refused, and nothing changes.
    pub fn apply(&self, keys: &[ProjectKeys]) -> Result<(), String> {
        let keys = match (keys.is_empty(), &self.fallback) {
            (false, _) => keys,
            (true, Some(main)) => std::slice::from_ref(main),
            (true, None) => {
                return Err(
                    "the policy defines no [projects] and QENCODE_API_KEY is not set, so no project has a key".into(),
                )
            }
        };
        let old = self.snapshot();
        let mut next = BTreeMap::new();
        for k in keys {
            let wanted = (k.api_key.clone(), k.live_api_key.clone());
            let project = match old.get(&k.name) {
                Some(p) if p.keys == wanted => p.clone(),
                _ => Arc::new(self.build(&k.name, wanted)),
            };
            next.insert(k.name.clone(), project);
        }
        let added: Vec<&str> = next
            .keys()
            .filter(|n| !old.contains_key(*n))
            .map(|n| &**n)
            .collect();
        let removed: Vec<&str> = old
            .keys()
            .filter(|n| !next.contains_key(*n))
            .map(|n| &**n)
            .collect();
        if !old.is_empty() && (!added.is_empty() || !removed.is_empty()) {
            info!(added = ?added, removed = ?removed, "projects changed");
        }
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(next);
        Ok(())
    }

    fn build(&self, name: &Arc<str>, (api_key, live_api_key): (Secret, Secret)) -> Project {
        let parts = &self.parts;
        let transcoding = self.tokens(
            name,
            TranscodingTokens {
                client: parts.transcoding.clone(),
                api_key: api_key.clone(),
            },
        );
        let live_tokens = self.tokens(
            name,
            LiveTokens {
                client: parts.live.clone(),
                api_key: live_api_key.clone(),
            },
        );
        Project {
            name: name.clone(),
            transcoding,
            live: Arc::new(
                LiveStreaming::new(parts.live.clone(), live_tokens)
                    .with_callbacks(parts.signer.clone()),
            ),
            keys: (api_key, live_api_key),
        }
    }

    /// A token manager for `source` of `project`, sharing through the fleet if any.
    fn tokens(&self, project: &str, source: impl TokenSource) -> TokenManager {
        match &self.parts.fleet {
            Some(fleet) => TokenManager::new(FleetTokens::new(source, project, fleet.clone())),
            None => TokenManager::new(source),
        }
    }

    fn snapshot(&self) -> Arc<BTreeMap<Arc<str>, Arc<Project>>> {
        self.current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The project named `name`, if it is configured.
    pub fn get(&self, name: &str) -> Option<Arc<Project>> {
        self.snapshot().get(name).cloned()
    }

    /// How many projects are configured (no copy of them, unlike [`Projects::all`]).
    pub fn count(&self) -> usize {
        self.snapshot().len()
    }

    /// Every project, by name.
    pub fn all(&self) -> Vec<Arc<Project>> {
        self.snapshot().values().cloned().collect()
    }

    /// The project of calls that name none and of ids no project is known for:
    /// `main` when configured, else the first by name.
    pub fn default_project(&self) -> Option<Arc<Project>> {
        let all = self.snapshot();
        all.get(DEFAULT_PROJECT)
            .or_else(|| all.values().next())
            .cloned()
    }

    /// Remembers that `project` created the task `task_token`. With one project there
    /// is nobody to keep out, so nothing is stored: a task no project is remembered for
    /// is visible to all, as tasks created by another replica already are.
    pub fn own_task(&self, project: &Project, task_token: &str) {
        if self.count() < 2 {
            return;
        }
        if let Some(index) = self.owner_index(&project.name) {
            self.tasks.insert(task_token, index);
        }
    }

    /// True unless the task is known to belong to another project.
    pub fn may_see_task(&self, project: &Project, task_token: &str) -> bool {
        let Some(index) = self.tasks.get(task_token) else {
            return true;
        };
        self.owner_names
            .read()
            .map(|names| names.get(usize::from(index)) == Some(&project.name))
            .unwrap_or(true)
    }

    /// `name`'s index in `owner_names`, added when new.
    fn owner_index(&self, name: &Arc<str>) -> Option<u16> {
        let position = |names: &Vec<Arc<str>>| names.iter().position(|n| n == name);
        if let Some(i) = self.owner_names.read().ok().and_then(|n| position(&n)) {
            return u16::try_from(i).ok();
        }
        let mut names = self.owner_names.write().ok()?;
        let i = position(&names).unwrap_or_else(|| {
            names.push(name.clone());
            names.len() - 1
        });
        u16::try_from(i).ok()
    }

    /// NOT_FOUND, as Qencode answers an unknown task, when another project created it.
    pub fn check_task(&self, project: &Project, task_token: &str) -> Result<(), Error> {
        if self.may_see_task(project, task_token) {
            return Ok(());
        }
        Err(Error::new(
            ErrorKind::NotFound,
            UPSTREAM_DOMAIN,
            "QENCODE_TOKEN_NOT_FOUND",
            "Qencode does not know this task token",
        ))
    }

    /// Remembers that `project`'s token reached the live stream `stream_id`.
    pub fn own_stream(&self, project: &Project, stream_id: &str) {
        if stream_id.is_empty() {
            return;
        }
        match self.streams.get(stream_id) {
            Some(owner) if owner == project.name => {}
            _ => self
                .streams
                .insert(stream_id.to_owned(), project.name.clone()),
        }
    }

    /// Remembers `project` for `stream_id` unless some project is known for it: the
    /// watch poller then fetches it with the watcher's token. A wrong claim costs only
    /// NOT_FOUND for that watcher (the upstream refuses the other project's stream).
    pub fn claim_stream(&self, project: &Project, stream_id: &str) {
        if !stream_id.is_empty() && !self.streams.contains_key(stream_id) {
            self.streams
                .insert(stream_id.to_owned(), project.name.clone());
        }
    }

    /// NOT_FOUND, as the Live API answers an unknown stream, when the stream is known
    /// to belong to another project.
    pub fn check_stream(&self, project: &Project, stream_id: &str) -> Result<(), Error> {
        match self.streams.get(stream_id) {
            Some(owner) if owner != project.name => Err(Error::new(
                ErrorKind::NotFound,
                UPSTREAM_DOMAIN,
                "QENCODE_LIVE_NOT_FOUND",
                "Qencode does not know this live stream",
            )),
            _ => Ok(()),
        }
    }

    /// The domain the watch poller fetches `stream_id` through: its project's, else
    /// the default project's.
    pub fn live_for(&self, stream_id: &str) -> Option<Arc<LiveStreaming>> {
        self.streams
            .get(stream_id)
            .and_then(|owner| self.get(&owner))
            .or_else(|| self.default_project())
            .map(|p| p.live.clone())
    }
}
