//! Several Qencode projects on one gateway.
//!
//! A Qencode project is an account: its own API keys, its own tasks and live streams,
//! its own bill. One gateway can front several (`[projects.<name>]` in the policy), so
//! each project gets its own [`TokenManager`] per API (single-flight and refresh as
//! ever; in fleet mode its own Redis key), and a call goes with the token of the
//! project its caller picked ([`crate::access::check`] decides which).
//!
//! A project holds credentials and token managers only: the domains (one
//! `Transcoding`, one `LiveStreaming`) take the call's `&Project`, and which project
//! owns each task and stream is the domains' own store (`domain::owners`).
//!
//! The set of projects follows the policy: a reload that adds a project builds its
//! token managers, one that changes a key replaces them, one that removes a project
//! drops them; unchanged projects keep their cached tokens.

use crate::{
    access::policy::{ProjectKeys, DEFAULT_PROJECT},
    fleet::Fleet,
    support::secret::Secret,
    upstream::{
        auth::{fleet_tokens::FleetTokens, TokenManager, TokenSource},
        live_api::{LiveClient, LiveTokens},
        transcoding_api::{TranscodingClient, TranscodingTokens},
    },
};
use std::{
    collections::BTreeMap,
    sync::{Arc, PoisonError, RwLock},
};
use tracing::info;

/// One project: its name and what calls with its keys.
pub struct Project {
    /// Its name in the policy (`main` without `[projects]`).
    pub name: Arc<str>,
    /// The Transcoding API's token manager of this project.
    pub transcoding: TokenManager,
    /// The Live Streaming API's token manager of this project.
    pub live: TokenManager,
    /// The keys it was built from: a reload that keeps them keeps the cached tokens
    /// (none for a project built from token managers alone).
    keys: Option<(Secret, Secret)>,
}

impl Project {
    /// A project over two token managers, outside any [`Projects`] (tests, tools).
    pub fn new(name: &str, transcoding: TokenManager, live: TokenManager) -> Self {
        Project {
            name: Arc::from(name),
            transcoding,
            live,
            keys: None,
        }
    }
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
}

/// The projects in force.
pub struct Projects {
    /// By name; replaced whole on reload, so a call sees one consistent set.
    current: RwLock<Arc<BTreeMap<Arc<str>, Arc<Project>>>>,
    parts: ProjectParts,
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
        let projects = Projects {
            current: RwLock::new(Arc::default()),
            parts,
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
                Some(p) if p.keys.as_ref() == Some(&wanted) => p.clone(),
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
        let live = self.tokens(
            name,
            LiveTokens {
                client: parts.live.clone(),
                api_key: live_api_key.clone(),
            },
        );
        Project {
            name: name.clone(),
            transcoding,
            live,
            keys: Some((api_key, live_api_key)),
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
}
