//! [`RedisUrl`]: the `GATEWAY_REDIS_URL` setting, which may carry a password.
//!
//! The URL is a secret as a whole (its user info authenticates to Redis), so it never
//! prints: `Debug` shows only the scheme and `host:port`, which is also all the logs get.

use std::fmt;

/// A `redis://` or `rediss://` URL whose `Debug` and [`RedisUrl::display`] hide the
/// credentials.
#[derive(Clone)]
pub struct RedisUrl(url::Url);

impl RedisUrl {
    /// The URL, for the one place that connects.
    pub fn expose(&self) -> &str {
        self.0.as_str()
    }

    /// `scheme://host:port` for logs: never the user name, password or path.
    pub fn display(&self) -> String {
        format!(
            "{}://{}:{}",
            self.0.scheme(),
            self.0.host_str().unwrap_or("?"),
            self.0.port().unwrap_or(6379)
        )
    }
}

impl fmt::Debug for RedisUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RedisUrl({})", self.display())
    }
}

impl std::str::FromStr for RedisUrl {
    type Err = String;
    /// Accepts `redis://` and `rediss://` URLs with a host. Errors never echo the text,
    /// which may hold a password.
    fn from_str(text: &str) -> Result<Self, String> {
        let url = url::Url::parse(text.trim())
            .map_err(|_| "not a URL (expected redis://host:port or rediss://host:port)")?;
        if !matches!(url.scheme(), "redis" | "rediss") {
            return Err("must be a redis:// or rediss:// URL".into());
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err("must name a host".into());
        }
        Ok(RedisUrl(url))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_print() {
        let url: RedisUrl = "redis://:hunter2@cache.internal:6380/0".parse().unwrap();
        assert_eq!(url.display(), "redis://cache.internal:6380");
        assert!(!format!("{url:?}").contains("hunter2"));
        assert!(url.expose().contains("hunter2"));
        let tls: RedisUrl = "rediss://user:pw@cache".parse().unwrap();
        assert_eq!(tls.display(), "rediss://cache:6379");
    }

    #[test]
    fn only_redis_schemes() {
        assert!("http://cache:6379".parse::<RedisUrl>().is_err());
        let err = "redis//:secret@x".parse::<RedisUrl>().unwrap_err();
        assert!(!err.contains("secret"));
    }
}
