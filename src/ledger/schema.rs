//! The ledger's migrations, compiled into the binary and run at start.
//!
//! sqlx's `Migrator` does the bookkeeping (`_sqlx_migrations`, checksums, the lock
//! that lets one of several replicas starting together migrate), fed from texts
//! included here rather than a folder read at run time, so the binary needs no files
//! beside it. Add a migration by appending to [`MIGRATIONS`]; never edit one that
//! shipped (its checksum would no longer match).

use futures::future::BoxFuture;
use sqlx::{
    error::BoxDynError,
    migrate::{Migration, MigrationSource, MigrationType, Migrator},
    AnyPool,
};
use std::borrow::Cow;

/// (version, description, SQL), in order.
const MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "ledger",
        include_str!("../../migrations/0001_ledger.sql"),
    ),
    (
        2,
        "budget counts",
        include_str!("../../migrations/0002_budget_counts.sql"),
    ),
];

/// The embedded migrations as sqlx's migration source.
#[derive(Debug)]
struct Embedded;

impl MigrationSource<'static> for Embedded {
    fn resolve(self) -> BoxFuture<'static, Result<Vec<Migration>, BoxDynError>> {
        Box::pin(async {
            Ok(MIGRATIONS
                .iter()
                .map(|(version, description, sql)| {
                    Migration::new(
                        *version,
                        Cow::Borrowed(*description),
                        MigrationType::Simple,
                        Cow::Borrowed(*sql),
                        false,
                    )
                })
                .collect())
        })
    }
}

/// Runs the migrations not applied yet.
pub(super) async fn migrate(pool: &AnyPool) -> Result<(), String> {
    let migrator = Migrator::new(Embedded).await.map_err(|e| e.to_string())?;
    migrator.run(pool).await.map_err(|e| e.to_string())
}
