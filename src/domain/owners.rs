//! [`Owners`]: which Qencode project created each task and reached each live stream, in
//! one store for both.
//!
//! Qencode's status, start and upload endpoints take only the task token, not the
//! project's token, so nothing upstream stops a caller of one project from reading or
//! starting another project's task if it knows the token. The domains therefore
//! remember which project each task and stream belongs to (bounded by count and age,
//! ~50 bytes an entry in a [`TokenMemory`]) and answer NOT_FOUND, exactly as for an
//! unknown id, to a caller of any other project. Ids never seen here (created before a
//! restart, or on another replica) pass; for live streams the upstream refuses them
//! anyway, the token being the project's.

use crate::domain::token_memory::TokenMemory;
use std::{
    sync::{Arc, PoisonError, RwLock},
    time::Duration,
};

/// How long the project of a task or stream is remembered (as status URLs are).
pub const OWNER_TTL: Duration = Duration::from_secs(48 * 3600);
/// How many tasks' and streams' projects are remembered (each kind).
pub const OWNER_CAPACITY: usize = 200_000;

/// What an id names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject {
    /// A transcoding task, by task token.
    Task,
    /// A live stream, by stream id.
    Stream,
}

/// Id -> the project that owns it, for tasks and live streams.
pub struct Owners {
    /// Task token -> index into `names`.
    tasks: TokenMemory<u16>,
    /// Stream id -> index into `names`.
    streams: TokenMemory<u16>,
    /// The project names the entries refer to, in the order first seen (a handful):
    /// an entry holds a 2-byte index instead of a name.
    names: RwLock<Vec<Arc<str>>>,
}

impl Default for Owners {
    fn default() -> Self {
        Owners::new(OWNER_CAPACITY, OWNER_TTL)
    }
}

impl Owners {
    /// A store of at most `capacity` ids of each kind, each kept for `ttl`.
    pub fn new(capacity: usize, ttl: Duration) -> Self {
        Owners {
            tasks: TokenMemory::new(capacity, ttl),
            streams: TokenMemory::new(capacity, ttl),
            names: RwLock::new(Vec::new()),
        }
    }

    fn memory(&self, subject: Subject) -> &TokenMemory<u16> {
        match subject {
            Subject::Task => &self.tasks,
            Subject::Stream => &self.streams,
        }
    }

    /// Remembers that `project` owns `id` (an empty id is no id).
    pub fn own(&self, subject: Subject, id: &str, project: &Arc<str>) {
        if id.is_empty() || self.owner(subject, id).as_ref() == Some(project) {
            return;
        }
        if let Some(index) = self.index(project) {
            self.memory(subject).insert(id, index);
        }
    }

    /// Remembers `project` for `id` unless some project is known for it already.
    pub fn claim(&self, subject: Subject, id: &str, project: &Arc<str>) {
        if !id.is_empty() && !self.memory(subject).contains(id) {
            self.own(subject, id, project);
        }
    }

    /// The project known to own `id`.
    pub fn owner(&self, subject: Subject, id: &str) -> Option<Arc<str>> {
        let index = self.memory(subject).get(id)?;
        let names = self.names.read().unwrap_or_else(PoisonError::into_inner);
        names.get(usize::from(index)).cloned()
    }

    /// True unless `id` is known to belong to a project other than `project`.
    pub fn may_see(&self, subject: Subject, id: &str, project: &str) -> bool {
        self.owner(subject, id)
            .is_none_or(|owner| &*owner == project)
    }

    /// `name`'s index in `names`, added when new (`None` past 65,536 projects).
    fn index(&self, name: &Arc<str>) -> Option<u16> {
        let position = |names: &Vec<Arc<str>>| names.iter().position(|n| n == name);
        {
            let names = self.names.read().unwrap_or_else(PoisonError::into_inner);
            if let Some(i) = position(&names) {
                return u16::try_from(i).ok();
            }
        }
        let mut names = self.names.write().unwrap_or_else(PoisonError::into_inner);
        let i = position(&names).unwrap_or_else(|| {
            names.push(name.clone());
            names.len() - 1
        });
        u16::try_from(i).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_owned_id_is_hidden_from_other_projects_only() {
        let owners = Owners::default();
        let (a, b): (Arc<str>, Arc<str>) = (Arc::from("a"), Arc::from("b"));
        assert!(owners.may_see(Subject::Task, "t1", "b"), "unknown ids pass");
        owners.own(Subject::Task, "t1", &a);
        assert!(owners.may_see(Subject::Task, "t1", "a"));
        assert!(!owners.may_see(Subject::Task, "t1", "b"));
        // Tasks and streams are kept apart: the same id as a stream is unknown.
        assert!(owners.may_see(Subject::Stream, "t1", "b"));
        owners.own(Subject::Stream, "s1", &b);
        assert_eq!(owners.owner(Subject::Stream, "s1").as_deref(), Some("b"));
    }

    #[test]
    fn a_claim_never_replaces_a_known_owner() {
        let owners = Owners::default();
        let (a, b): (Arc<str>, Arc<str>) = (Arc::from("a"), Arc::from("b"));
        owners.claim(Subject::Stream, "s", &a);
        owners.claim(Subject::Stream, "s", &b);
        assert_eq!(owners.owner(Subject::Stream, "s").as_deref(), Some("a"));
        owners.own(Subject::Stream, "s", &b);
        assert_eq!(owners.owner(Subject::Stream, "s").as_deref(), Some("b"));
        owners.claim(Subject::Stream, "", &a);
        assert_eq!(owners.owner(Subject::Stream, ""), None);
    }
}
