//! Which URLs returned by the upstream the gateway may follow (SSRF guard).
//!
//! Qencode returns `status_url` (a task's master endpoint) and `upload_url`. Following
//! them blindly would let anything that can influence a response point the gateway at an
//! internal address. They are followed only to the configured API's own origin, or over
//! https to hosts under the trusted domain (`qencode.com` by default).

use url::Url;

/// The trusted-host rule.
#[derive(Debug, Clone)]
pub struct TrustedHosts {
    /// The configured API base URL; its exact origin is always trusted.
    api_url: Url,
    /// Lowercase domain whose subdomains are trusted over https; empty for none.
    domain: String,
}

impl TrustedHosts {
    /// The rule for an API base URL and a trusted domain (may be empty).
    pub fn new(api_url: Url, domain: impl Into<String>) -> Self {
        TrustedHosts {
            api_url,
            domain: domain.into().to_ascii_lowercase(),
        }
    }

    /// Parses `candidate` and returns it when it may be followed.
    pub fn check(&self, candidate: &str) -> Option<Url> {
        let url = Url::parse(candidate.trim()).ok()?;
        if !url.username().is_empty() || url.password().is_some() || url.fragment().is_some() {
            return None;
        }
        if url.origin() == self.api_url.origin() {
            return Some(url);
        }
        let host = url.host_str()?.to_ascii_lowercase();
        let under_domain = !self.domain.is_empty()
            && (host == self.domain || host.ends_with(&format!(".{}", self.domain)));
        (url.scheme() == "https" && under_domain).then_some(url)
    }

    /// [`TrustedHosts::check`], and the path must be Qencode's `endpoint` (e.g.
    /// `/v1/status`, `/v1/upload_file`) as written: URL parsing resolves dot segments,
    /// so `<api>/v1/upload_file/../../v1/access_token` would otherwise pass as the API's
    /// own origin and steer requests to another endpoint.
    pub fn check_endpoint(&self, candidate: &str, endpoint: &str) -> Option<Url> {
        if has_dot_segment(candidate) {
            return None;
        }
        let url = self.check(candidate)?;
        url.path()
            .trim_end_matches('/')
            .ends_with(endpoint)
            .then_some(url)
    }

    /// [`TrustedHosts::check`], and the path must lie strictly below `base`'s path,
    /// with no dot segments: a TUS `Location` names a new resource under the creation
    /// URL, so `base` itself (or `base/`) is no upload, and reading a file id from it
    /// would take the task token for one.
    pub fn check_under(&self, candidate: &str, base: &Url) -> Option<Url> {
        if has_dot_segment(candidate) {
            return None;
        }
        let url = self.check(candidate)?;
        let prefix = base.path().trim_end_matches('/');
        let below = url
            .path()
            .strip_prefix(prefix)
            .and_then(|rest| rest.strip_prefix('/'))
            .is_some_and(|rest| rest.split('/').any(|segment| !segment.is_empty()));
        (below && url.origin() == base.origin()).then_some(url)
    }
}

/// True when the path of `raw` holds a `.` or `..` segment, plainly or percent-encoded,
/// an encoded slash or a backslash: shapes that resolve to another path than written.
fn has_dot_segment(raw: &str) -> bool {
    let path = raw
        .split(['?', '#'])
        .next()
        .unwrap_or(raw)
        .to_ascii_lowercase();
    path.contains("%2f")
        || path.contains('\\')
        || path
            .split('/')
            .any(|segment| matches!(segment.replace("%2e", ".").as_str(), "." | ".."))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule() -> TrustedHosts {
        TrustedHosts::new(Url::parse("http://127.0.0.1:4000").unwrap(), "qencode.com")
    }

    #[test]
    fn trusts_the_api_origin_and_the_domain_over_https() {
        let r = rule();
        assert!(r
            .check("http://127.0.0.1:4000/master-1/v1/status")
            .is_some());
        assert!(r
            .check("https://master-79109168ae0711e8.qencode.com/v1/status")
            .is_some());
        assert!(r.check("https://qencode.com/v1/status").is_some());
    }

    #[test]
    fn endpoints_must_be_the_named_path_as_written() {
        let r = rule();
        let ok = r.check_endpoint("http://127.0.0.1:4000/v1/upload_file", "/v1/upload_file");
        assert!(ok.is_some());
        assert!(r
            .check_endpoint("http://127.0.0.1:4000/master-1/v1/status", "/v1/status")
            .is_some());
        for bad in [
            "http://127.0.0.1:4000/v1/upload_file/../../v1/access_token",
            "http://127.0.0.1:4000/v1/upload_file/%2e%2e/%2E%2E/v1/access_token",
            "http://127.0.0.1:4000/v1/x/..%2fv1/upload_file",
            "http://127.0.0.1:4000/v1/access_token",
            "http://127.0.0.1:4000/v1/./upload_file",
        ] {
            assert!(r.check_endpoint(bad, "/v1/upload_file").is_none(), "{bad}");
        }
        let base = Url::parse("http://127.0.0.1:4000/v1/upload_file/task").unwrap();
        assert!(r
            .check_under("http://127.0.0.1:4000/v1/upload_file/task/abc", &base)
            .is_some());
        for bad in [
            "http://127.0.0.1:4000/v1/upload_file/task/../../access_token/x",
            "http://127.0.0.1:4000/v1/upload_file/taskX/abc",
            "http://127.0.0.1:4000/v1/status",
            // Found by `upload::properties::locations_stay_under_the_task_endpoint`:
            // the base itself passed, and its last segment (the task token) was then
            // read as the file id.
            "http://127.0.0.1:4000/v1/upload_file/task",
            "http://127.0.0.1:4000/v1/upload_file/task/",
            "http://127.0.0.1:4000/v1/upload_file/task//",
        ] {
            assert!(r.check_under(bad, &base).is_none(), "{bad}");
        }
    }

    #[test]
    fn refuses_everything_else() {
        let r = rule();
        for bad in [
            "http://master-1.qencode.com/v1/status",
            "https://qencode.com.evil.example/v1/status",
            "https://evilqencode.com/v1/status",
            "http://127.0.0.1:4001/v1/status",
            "http://169.254.169.254/latest/meta-data",
            "https://user:pw@master.qencode.com/v1/status",
            "not a url",
            "",
        ] {
            assert!(r.check(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn empty_domain_trusts_only_the_api() {
        let r = TrustedHosts::new(Url::parse("https://api.qencode.com").unwrap(), "");
        assert!(r.check("https://api.qencode.com/v1/status").is_some());
        assert!(r.check("https://master-1.qencode.com/v1/status").is_none());
    }
}
