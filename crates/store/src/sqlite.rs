//! The SQLite engine: sessiond's embedded default. One file in the data directory, WAL
//! journal, foreign keys on.

use std::path::Path;
use std::time::Duration;

use sessiond_core::clock::{from_micros, to_micros};
use sessiond_core::model::*;
use sessiond_core::secret::TokenHash;
use sessiond_core::store::{
    Activity, LoginFailures, ReportedChange, SessionPage, Store, StoreResult, UserUpdate,
};
use sessiond_core::StoreError;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow, SqliteSynchronous,
};
use sqlx::{QueryBuilder, Row, Sqlite, SqlitePool};
use time::OffsetDateTime;

use crate::map_err;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");

pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating if needed) `sessiond.db` in `data_dir` and runs the migrations.
    pub async fn open(data_dir: &Path) -> StoreResult<SqliteStore> {
        // Private: the store holds password hashes and the audit log.
        let mut dir = std::fs::DirBuilder::new();
        dir.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut dir, 0o700);
        dir.create(data_dir).map_err(|e| {
            StoreError::Unavailable(format!(
                "cannot create data directory {}: {e}",
                data_dir.display()
            ))
        })?;
        let opts = SqliteConnectOptions::new()
            .filename(data_dir.join("sessiond.db"))
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(5))
            // Rows cross from SQLite's thread to the caller's through a channel; with sqlx's
            // 50 the two threads switched every 50 rows of a long read (the cache warm-up's).
            .row_buffer_size(1024);
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .acquire_timeout(Duration::from_secs(5))
            .connect_with(opts)
            .await
            .map_err(map_err)?;
        MIGRATOR
            .run(&pool)
            .await
            .map_err(|e| StoreError::Other(format!("migration failed: {e}")))?;
        Ok(SqliteStore { pool })
    }

    /// Runs the migrations and returns how many were applied now.
    pub async fn migrate(data_dir: &Path) -> StoreResult<()> {
        Self::open(data_dir).await.map(|_| ())
    }

    async fn roles_of(&self, id: UserId) -> StoreResult<Vec<String>> {
        sqlx::query_scalar("SELECT role FROM user_roles WHERE user_id = ? ORDER BY role")
            .bind(id)
            .fetch_all(&self.pool)
            .await
            .map_err(map_err)
    }

    async fn user_row(&self, row: Option<SqliteRow>) -> StoreResult<Option<User>> {
        match row {
            None => Ok(None),
            Some(r) => {
                let mut u = user_from_row(&r)?;
                u.roles = self.roles_of(u.id).await?;
                Ok(Some(u))
            }
        }
    }
}

crate::rows::row_decoders!(SqliteRow);

fn profile_json(p: &Profile) -> StoreResult<String> {
    serde_json::to_string(p).map_err(|e| StoreError::Other(format!("profile: {e}")))
}

crate::shared::shared_store! {
    store: SqliteStore,
    db: Sqlite,
    row: SqliteRow,
    next_user_id: "(SELECT COALESCE(MAX(MAX(id) + 1, 501), 501) FROM users)",
    next_group_id: "(SELECT COALESCE(MAX(MAX(id) + 1, 1001), 1001) FROM groups)",
    own: {
    async fn record_activity(&self, batch: &[Activity]) -> StoreResult<()> {
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        for a in batch {
            sqlx::query("UPDATE sessions SET last_active = MAX(last_active, ?) WHERE id = ?")
                .bind(to_micros(a.last_active))
                .bind(&a.session_id)
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
        }
        tx.commit().await.map_err(map_err)
    }
    }
}

#[cfg(test)]
mod tests {
    use super::SqliteStore;

    /// A store in its own temporary data directory, removed when the test ends.
    struct Fresh {
        store: SqliteStore,
        _dir: tempfile::TempDir,
    }

    impl std::ops::Deref for Fresh {
        type Target = SqliteStore;
        fn deref(&self) -> &SqliteStore {
            &self.store
        }
    }

    async fn fresh() -> Fresh {
        let dir = tempfile::tempdir().expect("temporary directory");
        let store = SqliteStore::open(dir.path())
            .await
            .expect("open SQLite store");
        Fresh { store, _dir: dir }
    }

    crate::contract::contract_tests!(fresh);
}
