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
