//! # sessiond-store
//!
//! Implementations of `sessiond_core::Store`, one per engine. Storage errors become
//! `StoreError` here; no `sqlx` type leaves this crate.
//!
//! # Layout
//! - `sqlite`: the embedded default (a data directory, WAL).
//! - `postgres`: the engine for several nodes; it tells every node what changed (LISTEN/NOTIFY).
//! - `shared`: the `Store` implementation both engines share (one SQL text for both).
//! - `rows`: row decoding shared by both engines.
//! - `webhooks`: the webhook endpoints, queues and dead letters (events come from triggers).
//! - `testing` (feature `test-support`): a fresh PostgreSQL schema per test.
//! - `contract`: the behaviour every engine must show, as functions the engines' tests run.
//! - `migrations/<engine>/`: the schema, applied at start-up.

#[cfg(test)]
mod contract;
pub mod postgres;
mod rows;
mod shared;
pub mod sqlite;
#[cfg(any(test, feature = "test-support"))]
pub mod testing;
mod webhooks;

pub use postgres::PostgresStore;
pub use sqlite::SqliteStore;

use sessiond_core::StoreError;

/// Maps an sqlx error to the core's store error: unique violations are conflicts, foreign
/// key violations are missing references, connection trouble is "unavailable".
pub(crate) fn map_err(e: sqlx::Error) -> StoreError {
    match &e {
        sqlx::Error::Database(db) => {
            if db.is_unique_violation() {
                StoreError::Conflict("already exists".into())
            } else if db.is_foreign_key_violation() {
                StoreError::NotFound("a referenced record does not exist".into())
            } else {
                StoreError::Other(db.message().to_owned())
            }
        }
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::WorkerCrashed => StoreError::Unavailable(e.to_string()),
        _ => StoreError::Other(e.to_string()),
    }
}

/// Which engine to use, as a user names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreSpec {
    /// The embedded default: SQLite in this directory.
    Sqlite(std::path::PathBuf),
    /// `postgres://...` or `postgresql://...`, with a connection pool of this size.
    Postgres { url: String, pool_size: u32 },
}

impl StoreSpec {
    /// A description safe for logs: a password in the URL is masked.
    pub fn describe(&self) -> String {
        match self {
            StoreSpec::Sqlite(dir) => format!("SQLite in {}", dir.display()),
            StoreSpec::Postgres { url, .. } => format!("PostgreSQL at {}", redact_url(url)),
        }
    }
}

/// Opens the store, running its migrations.
pub async fn open(
    spec: &StoreSpec,
) -> Result<std::sync::Arc<dyn sessiond_core::Store>, StoreError> {
    Ok(match spec {
        StoreSpec::Sqlite(dir) => std::sync::Arc::new(SqliteStore::open(dir).await?),
        StoreSpec::Postgres { url, pool_size } => {
            let mut opts = postgres::PostgresOptions::new(url);
            opts.max_connections = *pool_size;
            std::sync::Arc::new(PostgresStore::open(&opts).await?)
        }
    })
}

/// `postgres://user:secret@host/db` → `postgres://user:***@host/db`.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    match rest.split_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split(':').next().unwrap_or("");
            let masked = if userinfo.contains(':') { ":***" } else { "" };
            format!("{scheme}://{user}{masked}@{host}")
        }
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn passwords_in_urls_are_masked() {
        assert_eq!(
            super::redact_url("postgres://u:s3cret@db:5432/x"),
            "postgres://u:***@db:5432/x"
        );
        assert_eq!(super::redact_url("postgres://u@db/x"), "postgres://u@db/x");
        assert_eq!(super::redact_url("postgres://db/x"), "postgres://db/x");
    }
}
