//! [`DatabaseUrl`]: the `GATEWAY_DATABASE_URL` setting.
//!
//! `sqlite://PATH` (the default, a file the gateway creates with its folder),
//! `postgres://…` for a fleet, or `off` for a pure proxy. A Postgres URL may carry a
//! password, so it never prints: `Debug` and [`DatabaseUrl::display`] show the scheme,
//! host, port and database name only.

use std::{fmt, path::PathBuf};

/// Where the ledger lives.
#[derive(Clone)]
pub enum DatabaseUrl {
    /// No ledger: no request ids, lists or budgets.
    Off,
    /// A SQLite file, created with its folder when missing.
    Sqlite(PathBuf),
    /// A SQLite database in this process's memory, under a unique name (tests and
    /// embedding: nothing survives the process).
    Memory(String),
    /// A Postgres server shared by the replicas of a fleet.
    Postgres(url::Url),
}

/// The default: `ledger.db` in the `data` folder under the working directory.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://data/ledger.db";

impl DatabaseUrl {
    /// A fresh in-memory SQLite ledger of its own.
    pub fn memory() -> Self {
        DatabaseUrl::Memory(format!("qgw-ledger-{}", uuid::Uuid::new_v4().simple()))
    }

    /// What the logs say: the file's path, or `postgres://host:port/db` (never the user
    /// name or password).
    pub fn display(&self) -> String {
        match self {
            DatabaseUrl::Off => "off".into(),
            DatabaseUrl::Sqlite(path) => format!("sqlite://{}", path.display()),
            DatabaseUrl::Memory(name) => format!("sqlite in memory ({name})"),
            DatabaseUrl::Postgres(url) => format!(
                "postgres://{}:{}{}",
                url.host_str().unwrap_or("?"),
                url.port().unwrap_or(5432),
                url.path()
            ),
        }
    }

    /// True for a ledger that only this process can see (a fleet cannot share it).
    pub fn is_local(&self) -> bool {
        matches!(self, DatabaseUrl::Sqlite(_) | DatabaseUrl::Memory(_))
    }

    /// The URL, for the one place that connects.
    pub(super) fn expose(&self) -> Option<String> {
        match self {
            DatabaseUrl::Off => None,
            DatabaseUrl::Sqlite(path) => Some(format!("sqlite://{}", path.display())),
            DatabaseUrl::Memory(name) => {
                Some(format!("sqlite:file:{name}?mode=memory&cache=shared"))
            }
            DatabaseUrl::Postgres(url) => Some(url.as_str().to_owned()),
        }
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DatabaseUrl({})", self.display())
    }
}

impl std::str::FromStr for DatabaseUrl {
    type Err = String;
    /// Accepts `off`, `sqlite://PATH` (also `sqlite:PATH`) and `postgres://` or
    /// `postgresql://` URLs with a host. Errors never echo the text, which may hold a
    /// password.
    fn from_str(text: &str) -> Result<Self, String> {
        let text = text.trim();
        if text.eq_ignore_ascii_case("off") {
            return Ok(DatabaseUrl::Off);
        }
        if let Some(path) = text
            .strip_prefix("sqlite://")
            .or_else(|| text.strip_prefix("sqlite:"))
        {
            let path = path.split('?').next().unwrap_or_default();
            if path.is_empty() || path == ":memory:" {
                return Err("sqlite:// must name a file (e.g. sqlite://data/ledger.db)".into());
            }
            return Ok(DatabaseUrl::Sqlite(PathBuf::from(path)));
        }
        if text.starts_with("postgres://") || text.starts_with("postgresql://") {
            let url = url::Url::parse(text)
                .map_err(|_| "not a URL (expected postgres://user:password@host:port/database)")?;
            if url.host_str().is_none_or(str::is_empty) {
                return Err("postgres:// must name a host".into());
            }
            return Ok(DatabaseUrl::Postgres(url));
        }
        Err("must be sqlite://PATH, postgres://… or off".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_people_type() {
        let parse = |t: &str| t.parse::<DatabaseUrl>();
        assert!(matches!(parse("off"), Ok(DatabaseUrl::Off)));
        assert!(matches!(parse(" OFF "), Ok(DatabaseUrl::Off)));
        match parse("sqlite://data/ledger.db").unwrap() {
            DatabaseUrl::Sqlite(p) => assert_eq!(p, PathBuf::from("data/ledger.db")),
            other => panic!("{other:?}"),
        }
        match parse("sqlite:///var/lib/qgw/ledger.db").unwrap() {
            DatabaseUrl::Sqlite(p) => assert_eq!(p, PathBuf::from("/var/lib/qgw/ledger.db")),
            other => panic!("{other:?}"),
        }
        assert!(parse("sqlite://").is_err());
        assert!(parse("mysql://db/x").is_err());
        assert!(parse("postgres:///nohost").is_err());
        assert!(parse(DEFAULT_DATABASE_URL).is_ok());
    }

    #[test]
    fn a_postgres_password_never_prints() {
        let url: DatabaseUrl = "postgres://gw:hunter2@db.internal:6543/ledger"
            .parse()
            .unwrap();
        assert_eq!(url.display(), "postgres://db.internal:6543/ledger");
        assert!(!format!("{url:?}").contains("hunter2"));
        assert!(!url.is_local());
        let error = "postgres://gw:hunter2@/x"
            .parse::<DatabaseUrl>()
            .unwrap_err();
        assert!(!error.contains("hunter2"));
    }
}
