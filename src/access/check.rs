//! Who may call what: the one check the tower layer runs before any service sees a call
//! ([`Access::check`]), in a fixed order: identity, then policy, then limits.
//!
//! Without a policy file every call passes, as before policies existed. Health and
//! reflection are never checked (balancers and tooling must reach them). Refusals are
//! domain [`Error`]s; `grpc::status` makes them statuses like every other error.
//!
//! The check also picks the call's Qencode project ([`crate::access::projects`]): the one the
//! `x-qencode-project` metadata key names, else the caller's default. A name no
//! project has is the caller's mistake in its request: INVALID_ARGUMENT with a
//! `BadRequest` on `x-qencode-project` and `ErrorInfo` reason `UNKNOWN_PROJECT`
//! naming it (not NOT_FOUND, which callers read as "no such task or stream"). A
//! configured project the caller may not use is PERMISSION_DENIED
//! (`PROJECT_NOT_ALLOWED`), like a method it may not use.

use crate::ledger::budgets::Budgets;
use crate::support::reasons;
use crate::{
    access::{
        identity::{self, mesh::Mesh, PeerInfo},
        policy::{bucket::Buckets, Policy, DEFAULT_PROJECT},
        projects::{Project, Projects},
    },
    support::error::{Error, ErrorKind, GATEWAY_DOMAIN},
};
use std::{
    collections::HashMap,
    sync::{Arc, Mutex, OnceLock, PoisonError},
};

/// The metadata key a call names its project with.
pub const PROJECT_HEADER: &str = "x-qencode-project";
use tokio::sync::watch;

/// The access rules in force; cheap to share.
pub struct Access {
    /// The current policy; `None` means no policy file, so no checks.
    policy: Option<watch::Receiver<Arc<Policy>>>,
    /// The mesh whose identity header is trusted, when configured.
    mesh: Option<Mesh>,
    /// The projects calls may pick from; `None` only for a layer built without a
    /// gateway (then calls carry no project).
    projects: Option<Arc<Projects>>,
    buckets: Buckets,
    /// Open watch streams per caller.
    watchers: Arc<Mutex<HashMap<Arc<str>, usize>>>,
}

/// A call let through: who made it, for which project, and the watcher slot it holds
/// while it streams.
#[derive(Debug, Default)]
pub struct Admitted {
    /// The caller's name in the policy (`None` without a policy or for open methods).
    pub caller: Option<Arc<str>>,
    /// The project the call goes with (`None` for health and reflection).
    pub project: Option<Arc<Project>>,
    /// Freed when the stream ends.
    pub slot: Option<WatcherSlot>,
    /// The caller's and the project's task budgets (policy file).
    pub budgets: Budgets,
}

/// What the services learn about a call from the layer (a request extension): the
/// project whose keys it uses, and where the service notes the id the call is about
/// for the audit line (the layer never reads request bodies).
#[derive(Debug, Clone)]
pub struct CallContext {
    /// The caller's policy name, when there is a policy.
    pub caller: Option<Arc<str>>,
    /// The project the call goes with.
    pub project: Arc<Project>,
    /// The task budgets that apply to the call (policy file; none without one).
    pub budgets: Budgets,
    /// The task token or stream id the call concerns: (field name, value).
    subject: Arc<OnceLock<(&'static str, String)>>,
}

impl CallContext {
    /// A context for a call of `caller` with `project`.
    pub fn new(caller: Option<Arc<str>>, project: Arc<Project>) -> Self {
        CallContext {
            caller,
            project,
            budgets: Budgets::default(),
            subject: Arc::default(),
        }
    }

    /// The context with the task budgets that apply.
    pub fn with_budgets(mut self, budgets: Budgets) -> Self {
        self.budgets = budgets;
        self
    }

    /// Notes the id the call concerns (`task_token`, `stream_id`); the first one noted
    /// stays. Ids are not secrets: Qencode's own logs and URLs carry them.
    pub fn note(&self, field: &'static str, id: &str) {
        if !id.is_empty() {
            let _ = self.subject.set((field, id.to_owned()));
        }
    }

    /// What [`CallContext::note`] noted.
    pub fn subject(&self) -> Option<(&'static str, &str)> {
        self.subject.get().map(|(f, v)| (*f, v.as_str()))
    }
}

/// A call refused: why, and who made it when the check knew by then (every refusal
/// after identity), so the audit line names the caller the error names.
#[derive(Debug)]
pub struct Refused {
    /// The caller's policy name; `None` when no caller was identified or there is no
    /// policy.
    pub caller: Option<Arc<str>>,
    /// The refusal, a domain error like any other.
    pub error: Error,
}

impl From<Error> for Refused {
    fn from(error: Error) -> Self {
        Refused {
            caller: None,
            error,
        }
    }
}

/// One of a caller's watcher slots; freed on drop.
#[derive(Debug)]
pub struct WatcherSlot {
    caller: Arc<str>,
    watchers: Arc<Mutex<HashMap<Arc<str>, usize>>>,
}

impl Drop for WatcherSlot {
    fn drop(&mut self) {
        let mut watchers = self.watchers.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(open) = watchers.get_mut(&self.caller) {
            *open = open.saturating_sub(1);
            if *open == 0 {
                watchers.remove(&self.caller);
            }
        }
    }
}

impl Access {
    /// Everything open: no policy, no mesh, no projects.
    pub fn open() -> Self {
        Access::new(None, None)
    }

    /// Rules from a live `policy` (none: no checks) and the trusted `mesh`.
    pub fn new(policy: Option<watch::Receiver<Arc<Policy>>>, mesh: Option<Mesh>) -> Self {
        Access {
            policy,
            mesh,
            projects: None,
            buckets: Buckets::default(),
            watchers: Arc::default(),
        }
    }

    /// The same rules, picking each call's project from `projects`.
    pub fn with_projects(mut self, projects: Arc<Projects>) -> Self {
        self.projects = Some(projects);
        self
    }

    /// The mesh whose identity header is trusted.
    pub fn mesh(&self) -> Option<Mesh> {
        self.mesh
    }

    /// True when health and reflection alone are open, the rest needs a known caller.
    pub fn enforced(&self) -> bool {
        self.policy.is_some()
    }

    /// Decides a call to `method` (`package.Service/Method`) before any service runs.
    /// Health and reflection pass with nothing set; without a policy every call passes
    /// with the project it names (or the default one).
    pub fn check(
        &self,
        method: &str,
        watch: bool,
        headers: &http::HeaderMap,
        peer: Option<&PeerInfo>,
    ) -> Result<Admitted, Refused> {
        if is_open(method) {
            return Ok(Admitted::default());
        }
        let Some(policy) = &self.policy else {
            return Ok(Admitted {
                project: self.project(headers, None)?,
                ..Admitted::default()
            });
        };
        let policy = policy.borrow().clone();

        // 1. Identity: the verified client certificate, else the trusted mesh header,
        // and the bearer token's digest. No known caller: UNAUTHENTICATED.
        let presented = peer
            .and_then(|p| p.certificate.as_deref().map(str::to_owned))
            .or_else(|| self.mesh.and_then(|mesh| mesh.identity(headers)));
        let bearer = identity::bearer_digest(headers);
        let Some(caller) = policy.caller(presented.as_deref(), bearer.as_ref()) else {
            return Err(Error::new(
                ErrorKind::Unauthenticated,
                GATEWAY_DOMAIN,
                reasons::UNKNOWN_CALLER,
                "no caller of the gateway's policy matches this call's credentials (client certificate, mesh identity or bearer token)",
            )
            .into());
        };
        // From here on the caller is known: every refusal names it.
        let mut admitted = self
            .admit(caller, method, watch, headers)
            .map_err(|error| Refused {
                caller: Some(caller.name.clone()),
                error,
            })?;
        admitted.budgets = Budgets {
            caller_active: caller.max_active_tasks,
            caller_per_day: caller.max_tasks_per_day,
            project_active: admitted
                .project
                .as_ref()
                .and_then(|p| policy.projects.get(&*p.name))
                .and_then(|spec| spec.max_active_tasks),
        };
        Ok(admitted)
    }

    /// Steps 2 and 3 of [`Access::check`] for the identified `caller`.
    fn admit(
        &self,
        caller: &crate::access::policy::Caller,
        method: &str,
        watch: bool,
        headers: &http::HeaderMap,
    ) -> Result<Admitted, Error> {
        // 2. Policy: the caller may use only the methods it is allowed.
        if !caller.allows(method) {
            return Err(Error::new(
                ErrorKind::PermissionDenied,
                GATEWAY_DOMAIN,
                reasons::METHOD_NOT_ALLOWED,
                format!("caller {:?} may not call {method}", &*caller.name),
            )
            .with_metadata("method", method)
            .with_metadata("caller", &caller.name));
        }

        // 2b. Project: the one the call names, if the caller may use it, else its own.
        let project = self.project(headers, Some(caller))?;

        // 3. Limits: the caller's rate, then its open watch streams.
        if let Some(rate) = caller.rate_per_second {
            if let Err(wait) = self.buckets.take(&caller.name, rate, caller.burst) {
                return Err(Error::new(
                    ErrorKind::ResourceExhausted,
                    GATEWAY_DOMAIN,
                    reasons::CALLER_RATE_EXCEEDED,
                    format!(
                        "caller {:?} is over its rate of {rate} calls per second",
                        &*caller.name
                    ),
                )
                .with_metadata("caller", &caller.name)
                .with_retry_after(wait));
            }
        }
        let slot = match (watch, caller.max_watchers) {
            (true, Some(max)) => Some(self.watcher_slot(&caller.name, max)?),
            _ => None,
        };
        Ok(Admitted {
            caller: Some(caller.name.clone()),
            project,
            slot,
            budgets: Budgets::default(),
        })
    }

    /// The project of a call from `headers` (`x-qencode-project`), else `caller`'s
    /// default, else the gateway's default project.
    fn project(
        &self,
        headers: &http::HeaderMap,
        caller: Option<&crate::access::policy::Caller>,
    ) -> Result<Option<Arc<Project>>, Error> {
        let Some(projects) = &self.projects else {
            return Ok(None);
        };
        let named = match headers.get(PROJECT_HEADER) {
            None => None,
            Some(value) => Some(
                value
                    .to_str()
                    .ok()
                    .map(str::trim)
                    .filter(|v| !v.is_empty())
                    .ok_or_else(|| {
                        Error::invalid_field(PROJECT_HEADER, "must be a project name")
                    })?,
            ),
        };
        let name = named
            .or(caller.map(|c| &*c.project))
            .unwrap_or(DEFAULT_PROJECT);
        let found = match named {
            Some(name) => projects.get(name),
            // Without a name the caller's default; without a policy, `main` or the one
            // project there is.
            None if caller.is_some() => projects.get(name),
            None => projects.default_project(),
        };
        let Some(project) = found else {
            let mut unknown = Error::new(
                ErrorKind::InvalidArgument,
                GATEWAY_DOMAIN,
                reasons::UNKNOWN_PROJECT,
                format!("the gateway has no Qencode project {:?}", clip(name)),
            )
            .with_metadata("project", clip(name))
            .with_violation(PROJECT_HEADER, "names no project of the gateway's policy");
            if let Some(caller) = caller {
                unknown = unknown.with_metadata("caller", &caller.name);
            }
            return Err(unknown);
        };
        if let Some(caller) = caller {
            if !caller.may_use(&project.name) {
                return Err(Error::new(
                    ErrorKind::PermissionDenied,
                    GATEWAY_DOMAIN,
                    reasons::PROJECT_NOT_ALLOWED,
                    format!(
                        "caller {:?} may not use project {:?}",
                        &*caller.name, &*project.name
                    ),
                )
                .with_metadata("project", &project.name)
                .with_metadata("caller", &caller.name));
            }
        }
        Ok(Some(project))
    }

    fn watcher_slot(&self, caller: &Arc<str>, max: usize) -> Result<WatcherSlot, Error> {
        let mut watchers = self.watchers.lock().unwrap_or_else(PoisonError::into_inner);
        let open = watchers.entry(caller.clone()).or_insert(0);
        if *open >= max {
            return Err(Error::new(
                ErrorKind::ResourceExhausted,
                GATEWAY_DOMAIN,
                reasons::CALLER_WATCHERS_EXCEEDED,
                format!(
                    "caller {:?} already holds its {max} watch streams",
                    &**caller
                ),
            )
            .with_metadata("caller", caller));
        }
        *open += 1;
        Ok(WatcherSlot {
            caller: caller.clone(),
            watchers: self.watchers.clone(),
        })
    }
}

/// A caller-supplied name, bounded before it goes into an error (a header may be
/// kilobytes long).
fn clip(name: &str) -> String {
    name.chars().take(64).collect()
}

/// Health and reflection: open to every client.
fn is_open(method: &str) -> bool {
    method.starts_with("grpc.health.") || method.starts_with("grpc.reflection.")
}

#[cfg(test)]
mod check_tests;
