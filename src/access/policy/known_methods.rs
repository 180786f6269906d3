//! The methods a policy's `allow` entries may name: the gateway's own services, read
//! from the descriptor set the server is built from, plus health and reflection (always
//! open, but naming them is not a mistake).
//!
//! A typo in an `allow` entry used to be taken silently and then match nothing: the
//! caller was refused PERMISSION_DENIED and the operator had to find out why. Checking
//! every entry against the real names turns that into a refused policy file naming the
//! line and the nearest valid name. The list is decoded here rather than taken from the
//! gRPC layer, which sits above `access` (`edge` imports `access`, never the reverse).

use std::{collections::BTreeMap, sync::OnceLock};

/// Services and their methods, by full name (`package.Service`).
#[derive(Debug, Default)]
pub struct KnownMethods {
    services: BTreeMap<String, Vec<String>>,
}

/// Services served beside the gateway's own, which its descriptor set does not hold.
const OPEN_SERVICES: &[(&str, &[&str])] = &[
    ("grpc.health.v1.Health", &["Check", "Watch"]),
    (
        "grpc.reflection.v1.ServerReflection",
        &["ServerReflectionInfo"],
    ),
    (
        "grpc.reflection.v1alpha.ServerReflection",
        &["ServerReflectionInfo"],
    ),
];

/// Longest text compared for a suggestion: an entry is a name, not a document.
const MAX_COMPARED: usize = 200;

impl KnownMethods {
    /// The gateway's methods, decoded once.
    pub fn gateway() -> &'static KnownMethods {
        static KNOWN: OnceLock<KnownMethods> = OnceLock::new();
        KNOWN.get_or_init(|| {
            let mut known = KnownMethods::default();
            if let Ok(pool) = prost_reflect::DescriptorPool::decode(crate::pb::FILE_DESCRIPTOR_SET)
            {
                for service in pool.services() {
                    let methods = service.methods().map(|m| m.name().to_owned()).collect();
                    known.add(service.full_name(), methods);
                }
            }
            for (service, methods) in OPEN_SERVICES {
                known.add(service, methods.iter().map(|m| (*m).to_owned()).collect());
            }
            known
        })
    }

    fn add(&mut self, service: &str, methods: Vec<String>) {
        self.services.insert(service.to_owned(), methods);
    }

    /// `Ok` when `pattern` (`*`, `Service/*` or `Service/Method`, already well formed)
    /// names a service and method that exist; otherwise the problem, with the nearest
    /// valid name.
    pub fn check(&self, pattern: &str) -> Result<(), String> {
        if pattern == "*" {
            return Ok(());
        }
        let Some((service, method)) = pattern.split_once('/') else {
            return Err(format!(
                "allow entry {pattern:?} is not Service/Method, Service/* or *"
            ));
        };
        let Some(methods) = self.services.get(service) else {
            let nearest = nearest(service, self.services.keys().map(String::as_str))
                .map(|s| format!("{s}/{method}"))
                .unwrap_or_default();
            return Err(format!(
                "allow entry {pattern:?} names no service of the gateway; did you mean {nearest:?}?"
            ));
        };
        if method == "*" || methods.iter().any(|m| m == method) {
            return Ok(());
        }
        let nearest = nearest(method, methods.iter().map(String::as_str))
            .map(|m| format!("{service}/{m}"))
            .unwrap_or_default();
        Err(format!(
            "allow entry {pattern:?} names no method of {service}; did you mean {nearest:?}?"
        ))
    }
}

/// The candidate closest to `given`: by edit distance, ignoring case, to the whole name
/// or to its last dotted part (so `Transcoding` finds `qencode.gateway.v1.Transcoding`).
fn nearest<'a>(given: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    let given: String = given
        .chars()
        .take(MAX_COMPARED)
        .collect::<String>()
        .to_lowercase();
    candidates.min_by_key(|candidate| {
        let whole = candidate.to_lowercase();
        let last = whole.rsplit('.').next().unwrap_or(&whole).to_owned();
        distance(&given, &whole).min(distance(&given, &last))
    })
}

/// Levenshtein distance between `a` and `b`, in characters.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    let mut current = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        current[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != *cb);
            current[j + 1] = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        std::mem::swap(&mut previous, &mut current);
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_names_pass_and_typos_get_the_nearest_name() {
        let known = KnownMethods::gateway();
        for good in [
            "*",
            "qencode.gateway.v1.Transcoding/*",
            "qencode.gateway.v1.Transcoding/GetStatus",
            "qencode.gateway.v1.LiveStreaming/WatchStream",
            "grpc.health.v1.Health/Check",
            "grpc.reflection.v1.ServerReflection/*",
        ] {
            assert_eq!(known.check(good), Ok(()), "{good}");
        }
        let err = known
            .check("qencode.gateway.v1.Transcoding/GetStatuss")
            .unwrap_err();
        assert!(
            err.contains("no method of qencode.gateway.v1.Transcoding")
                && err.contains("did you mean \"qencode.gateway.v1.Transcoding/GetStatus\""),
            "{err}"
        );
        let err = known.check("qencode.gateway.v1.Transcodng/*").unwrap_err();
        assert!(
            err.contains("names no service")
                && err.contains("did you mean \"qencode.gateway.v1.Transcoding/*\""),
            "{err}"
        );
        let err = known.check("LiveStreaming/GetStream").unwrap_err();
        assert!(
            err.contains("did you mean \"qencode.gateway.v1.LiveStreaming/GetStream\""),
            "{err}"
        );
    }

    #[test]
    fn edit_distance() {
        assert_eq!(distance("", ""), 0);
        assert_eq!(distance("kitten", "sitting"), 3);
        assert_eq!(distance("GetStatus", "GetStatuss"), 1);
        assert_eq!(distance("abc", ""), 3);
    }
}
