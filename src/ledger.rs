//! The ledger: every task created through the gateway, and what each idempotent
//! submission got to, in SQLite (one replica) or Postgres (a fleet).
//!
//! Why a database and not the caches: the caches forget after a restart and are not
//! shared, yet a retried submission must find what the first attempt did, on any
//! replica, after any crash; and "which tasks did the encoder service start yesterday"
//! needs a record kept for weeks.
//!
//! One SQL text serves both databases (sqlx's `Any` driver): times are Unix
//! milliseconds, JSON is text, and the statements use only what SQLite and Postgres
//! share (`$n` parameters, `ON CONFLICT DO NOTHING`). The migrations are compiled into
//! the binary (`schema.rs`) and run at start, under sqlx's migration lock, so replicas
//! starting together migrate once.
//!
//! A ledger that cannot be written fails submissions before any upstream call
//! ([`reasons::LEDGER_UNAVAILABLE`]); the pool reconnects by itself, so it recovers
//! when the database does.

mod batcher;
pub mod budgets;
pub mod database_url;
pub mod page_token;
mod progress;
pub mod redact;
pub mod requests;
pub mod retention;
mod schema;
pub mod tasks;
pub mod tracking;

pub use database_url::DatabaseUrl;

use crate::support::{
    error::{Error, ErrorKind, GATEWAY_DOMAIN},
    reasons,
};
use sqlx::{any::AnyPoolOptions, AnyPool};
use std::{
    sync::Arc,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

/// How long a connection attempt or a query may wait for a pooled connection.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(2);
/// Started tasks announced to the tracker and not yet taken (more wait for a rescan).
const STARTED_BACKLOG: usize = 4096;
/// Connections to Postgres per replica.
const POSTGRES_CONNECTIONS: u32 = 16;

/// The ledger, or its absence (`GATEWAY_DATABASE_URL=off`).
#[derive(Clone)]
pub struct Ledger {
    pool: Option<AnyPool>,
    url: DatabaseUrl,
    /// Set once the migrations ran.
    ready: Arc<tokio::sync::OnceCell<()>>,
    /// Tokens of tasks started through this process, for the tracker.
    started: tokio::sync::broadcast::Sender<String>,
    /// False after a write failed, until one succeeds ([`Ledger::is_writable`]).
    writable: Arc<std::sync::atomic::AtomicBool>,
    /// The one writer of records without a request id (`batcher.rs`), started on first use.
    writer: Arc<std::sync::OnceLock<tokio::sync::mpsc::Sender<batcher::Job>>>,
}

impl std::fmt::Debug for Ledger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Ledger({})", self.url.display())
    }
}

/// Why the ledger could not be opened at start (the process exits 64 with it).
#[derive(Debug)]
pub struct OpenError(pub String);

impl std::fmt::Display for OpenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl Ledger {
    /// No ledger: a pure proxy.
    pub fn off() -> Self {
        Ledger {
            pool: None,
            url: DatabaseUrl::Off,
            ready: Arc::new(tokio::sync::OnceCell::new()),
            started: tokio::sync::broadcast::Sender::new(STARTED_BACKLOG),
            writable: Arc::new(std::sync::atomic::AtomicBool::new(true)),
            writer: Arc::default(),
        }
    }

    /// The ledger at `url`, connected on first use: a SQLite file's folder is created
    /// now, the connection and the migrations wait for [`Ledger::ready`] (which the
    /// binary awaits at start, and every use awaits), so a Postgres that is down at start
    /// delays submissions instead of the process, and a failed start is retried by the
    /// next use.
    pub fn new(url: &DatabaseUrl) -> Result<Self, OpenError> {
        let Some(connect) = url.expose() else {
            return Ok(Ledger::off());
        };
        sqlx::any::install_default_drivers();
        if let DatabaseUrl::Sqlite(path) = url {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).map_err(|e| {
                    OpenError(format!(
                        "GATEWAY_DATABASE_URL: cannot create {}: {e}",
                        dir.display()
                    ))
                })?;
            }
        }
        let connect = match url {
            DatabaseUrl::Sqlite(_) => format!("{connect}?mode=rwc"),
            _ => connect,
        };
        // One SQLite connection: SQLite serializes writers anyway, and one connection
        // never meets SQLITE_BUSY or a shared-cache table lock. Postgres gets a pool.
        let connections = match url {
            DatabaseUrl::Postgres(_) => POSTGRES_CONNECTIONS,
            _ => 1,
        };
        let local = url.is_local();
        let pool = AnyPoolOptions::new()
            .max_connections(connections)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            // A local connection is never closed: an in-memory database lives while a
            // connection to it is open.
            .idle_timeout((!local).then_some(Duration::from_secs(600)))
            .max_lifetime((!local).then_some(Duration::from_secs(1800)))
            .after_connect(|conn, _meta| {
                Box::pin(async move {
                    if conn.backend_name().eq_ignore_ascii_case("sqlite") {
                        use sqlx::Executor;
                        conn.execute(
                            "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000;",
                        )
                        .await?;
                    }
                    Ok(())
                })
            })
            .connect_lazy(&connect)
            .map_err(|e| {
                OpenError(format!(
                    "GATEWAY_DATABASE_URL: cannot use {}: {}",
                    url.display(),
                    describe(&e)
                ))
            })?;
        Ok(Ledger {
            pool: Some(pool),
            url: url.clone(),
            ready: Arc::new(tokio::sync::OnceCell::new()),
            started: tokio::sync::broadcast::Sender::new(STARTED_BACKLOG),
            writable: Arc::new(std::sync::atomic::AtomicBool::new(true)),
            writer: Arc::default(),
        })
    }

    /// Connects and migrates, once; a failure is returned and retried by the next call.
    pub async fn ready(&self) -> Result<(), Error> {
        let Some(pool) = &self.pool else {
            return Err(off());
        };
        let ready = self
            .ready
            .get_or_try_init(|| async {
                schema::migrate(pool).await.map_err(|e| {
                    tracing::warn!(ledger = %self.url.display(), error = %e, "ledger: cannot migrate");
                    Error::new(
                        ErrorKind::Unavailable,
                        GATEWAY_DOMAIN,
                        reasons::LEDGER_UNAVAILABLE,
                        format!("the gateway's ledger is unavailable (migrating: {e}); nothing was sent to Qencode, retry later"),
                    )
                    .with_retry_after(Duration::from_secs(1))
                })?;
                if self.url.is_local() {
                    // A local ledger has one process: leases left by a killed one are void.
                    self.release_all_leases(pool).await?;
                }
                Ok::<(), Error>(())
            })
            .await;
        self.note_write(&ready);
        ready.map(|_| ())
    }

    /// True unless the gateway runs without a ledger.
    pub fn is_on(&self) -> bool {
        self.pool.is_some()
    }

    /// True for a ledger only this process uses (SQLite).
    pub fn is_local(&self) -> bool {
        self.url.is_local()
    }

    /// Where the ledger is, for the start-up log line (never a password).
    pub fn display(&self) -> String {
        self.url.display()
    }

    /// The pool, ready (connected and migrated), or FAILED_PRECONDITION when there is
    /// no ledger.
    pub(crate) async fn pool(&self) -> Result<&AnyPool, Error> {
        self.ready().await?;
        self.pool.as_ref().ok_or_else(off)
    }

    /// Closes the pool (at shutdown, so SQLite checkpoints its WAL).
    pub async fn close(&self) {
        if let Some(pool) = &self.pool {
            pool.close().await;
        }
    }
}

impl Ledger {
    /// Hands a record to the batching writer and waits for its statement's outcome.
    async fn write(
        &self,
        job: impl FnOnce(tokio::sync::oneshot::Sender<Result<(), Error>>) -> batcher::Job,
    ) -> Result<(), Error> {
        let pool = self.pool().await?;
        let writer = self.writer.get_or_init(|| batcher::spawn(pool.clone()));
        let (reply, answer) = tokio::sync::oneshot::channel();
        let gone = || {
            Error::new(
                ErrorKind::Unavailable,
                GATEWAY_DOMAIN,
                reasons::LEDGER_UNAVAILABLE,
                "the gateway's ledger writer stopped; retry later",
            )
        };
        writer.send(job(reply)).await.map_err(|_| gone())?;
        answer.await.map_err(|_| gone())?
    }
}

/// FAILED_PRECONDITION: what needs a ledger, asked of a gateway without one.
pub fn off() -> Error {
    Error::new(
        ErrorKind::FailedPrecondition,
        GATEWAY_DOMAIN,
        reasons::LEDGER_OFF,
        "this gateway runs without a ledger (GATEWAY_DATABASE_URL=off): no request ids, task lists or budgets",
    )
}

/// UNAVAILABLE with a message that says what failed, never the SQL's values (which
/// may name tasks of other callers) nor the database URL.
pub(crate) fn unavailable(what: &str, error: &sqlx::Error) -> Error {
    tracing::warn!(error = %describe(error), "ledger: {what} failed");
    Error::new(
        ErrorKind::Unavailable,
        GATEWAY_DOMAIN,
        reasons::LEDGER_UNAVAILABLE,
        format!("the gateway's ledger is unavailable ({what}: {}); nothing was sent to Qencode, retry later", describe(error)),
    )
    .with_retry_after(Duration::from_secs(1))
}

/// An sqlx error in a few words: the database's own message, never the connection URL.
fn describe(error: &sqlx::Error) -> String {
    match error {
        sqlx::Error::Database(e) => e.message().to_owned(),
        sqlx::Error::PoolTimedOut => "no database connection within 2 s".into(),
        sqlx::Error::PoolClosed => "the ledger is closed".into(),
        sqlx::Error::Io(e) => format!("I/O error: {e}"),
        sqlx::Error::Tls(_) => "TLS error".into(),
        sqlx::Error::Configuration(_) => "bad database URL".into(),
        other => {
            let text = other.to_string();
            // sqlx's messages can quote a URL; keep the first clause only.
            text.split(':').next().unwrap_or("error").to_owned()
        }
    }
}

/// Now, in Unix milliseconds (the ledger's time unit).
pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod ledger_tests;
