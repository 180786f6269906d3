//! Who may call what: the one check the tower layer runs before any service sees a call
//! ([`Access::check`]), in a fixed order: identity, then policy, then limits.
//!
//! Without a policy file every call passes, as before policies existed. Health and
//! reflection are never checked (balancers and tooling must reach them). Refusals are
//! domain [`Error`]s; `grpc::status` makes them statuses like every other error.

use crate::{
    error::{Error, ErrorKind, GATEWAY_DOMAIN},
    identity::{self, mesh::Mesh, PeerInfo},
    policy::{bucket::Buckets, Policy},
};
use std::{
    collections::HashMap,
    sync::{Arc, Mutex, PoisonError},
};
use tokio::sync::watch;

/// The access rules in force; cheap to share.
pub struct Access {
    /// The current policy; `None` means no policy file, so no checks.
    policy: Option<watch::Receiver<Arc<Policy>>>,
    /// The mesh whose identity header is trusted, when configured.
    mesh: Option<Mesh>,
    buckets: Buckets,
    /// Open watch streams per caller.
    watchers: Arc<Mutex<HashMap<Arc<str>, usize>>>,
}

/// A call let through: who made it, and the watcher slot it holds while it streams.
#[derive(Debug)]
pub struct Admitted {
    /// The caller's name in the policy.
    pub caller: Arc<str>,
    /// Freed when the stream ends.
    pub slot: Option<WatcherSlot>,
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
    /// Everything open: no policy, no mesh.
    pub fn open() -> Self {
        Access::new(None, None)
    }

    /// Rules from a live `policy` (none: no checks) and the trusted `mesh`.
    pub fn new(policy: Option<watch::Receiver<Arc<Policy>>>, mesh: Option<Mesh>) -> Self {
        Access {
            policy,
            mesh,
            buckets: Buckets::default(),
            watchers: Arc::default(),
        }
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
    /// `Ok(None)`: not checked (no policy, or an open method).
    pub fn check(
        &self,
        method: &str,
        watch: bool,
        headers: &http::HeaderMap,
        peer: Option<&PeerInfo>,
    ) -> Result<Option<Admitted>, Error> {
        let Some(policy) = &self.policy else {
            return Ok(None);
        };
        if is_open(method) {
            return Ok(None);
        }
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
                "UNKNOWN_CALLER",
                "no caller of the gateway's policy matches this call's credentials (client certificate, mesh identity or bearer token)",
            ));
        };

        // 2. Policy: the caller may use only the methods it is allowed.
        if !caller.allows(method) {
            return Err(Error::new(
                ErrorKind::PermissionDenied,
                GATEWAY_DOMAIN,
                "METHOD_NOT_ALLOWED",
                format!("caller {:?} may not call {method}", &*caller.name),
            )
            .with_metadata("method", method)
            .with_metadata("caller", &caller.name));
        }

        // 3. Limits: the caller's rate, then its open watch streams.
        if let Some(rate) = caller.rate_per_second {
            if let Err(wait) = self.buckets.take(&caller.name, rate, caller.burst) {
                return Err(Error::new(
                    ErrorKind::ResourceExhausted,
                    GATEWAY_DOMAIN,
                    "CALLER_RATE_EXCEEDED",
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
        Ok(Some(Admitted {
            caller: caller.name.clone(),
            slot,
        }))
    }

    fn watcher_slot(&self, caller: &Arc<str>, max: usize) -> Result<WatcherSlot, Error> {
        let mut watchers = self.watchers.lock().unwrap_or_else(PoisonError::into_inner);
        let open = watchers.entry(caller.clone()).or_insert(0);
        if *open >= max {
            return Err(Error::new(
                ErrorKind::ResourceExhausted,
                GATEWAY_DOMAIN,
                "CALLER_WATCHERS_EXCEEDED",
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

/// Health and reflection: open to every client.
fn is_open(method: &str) -> bool {
    method.starts_with("grpc.health.") || method.starts_with("grpc.reflection.")
}

#[cfg(test)]
mod tests {
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
        let kind = |r: Result<Option<Admitted>, Error>| r.unwrap_err().kind;
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
        assert_eq!(denied.kind, ErrorKind::PermissionDenied);
        assert_eq!(
            denied.metadata.get("caller").map(String::as_str),
            Some("viewer")
        );
        let first = access
            .check(m, true, &linkerd("viewer.ns"), None)
            .unwrap()
            .unwrap();
        assert_eq!(&*first.caller, "viewer");
        assert_eq!(
            kind(access.check(m, true, &linkerd("viewer.ns"), None)),
            ErrorKind::ResourceExhausted
        );
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
            .is_none());
    }
}
