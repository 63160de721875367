//! # sessiond-store
//!
//! Implementations of `sessiond_core::Store`, one per engine. Storage errors become
//! `StoreError` here; no `sqlx` type leaves this crate.
//!
//! # Layout
//! - `sqlite`: the embedded default (a data directory, WAL).
//! - `postgres`: the engine for several nodes; it tells every node what changed (LISTEN/NOTIFY).
//! - `rows`: row decoding shared by both engines.
//! - `testing` (feature `test-support`): a fresh PostgreSQL schema per test.
//! - `contract`: the behaviour every engine must show, as functions the engines' tests run.
//! - `migrations/<engine>/`: the schema, applied at start-up.

#[cfg(test)]
mod contract;
pub mod postgres;
mod rows;
pub mod sqlite;
#[cfg(any(test, feature = "test-support"))]
pub mod testing;

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
