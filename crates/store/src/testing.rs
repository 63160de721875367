//! Test support: a fresh PostgreSQL schema per test, dropped when the test ends.
//!
//! The server is the test database in `SESSIOND_TEST_POSTGRES` (default
//! `postgres://postgres@127.0.0.1:5432/test`). A test that cannot reach it fails: the test
//! command starts PostgreSQL, so a missing server is an error, never a silent skip.

use sqlx::Connection;

pub const DEFAULT_TEST_POSTGRES: &str = "postgres://postgres@127.0.0.1:5432/test";

pub fn test_postgres_url() -> String {
    std::env::var("SESSIOND_TEST_POSTGRES").unwrap_or_else(|_| DEFAULT_TEST_POSTGRES.to_owned())
}

/// A schema of its own in the test database; `url` selects it through `search_path`.
pub struct PgSchema {
    pub name: String,
    pub url: String,
    base: String,
}

impl PgSchema {
    /// In the test database.
    pub async fn create() -> PgSchema {
        Self::create_in(&test_postgres_url()).await
    }

    /// In the database `base` names.
    pub async fn create_in(base: &str) -> PgSchema {
        let base = base.to_owned();
        let bytes = sessiond_core::secret::random_bytes::<8>().expect("randomness");
        let name = format!(
            "t_{}",
            bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()
        );
        let mut conn = sqlx::PgConnection::connect(&base)
            .await
            .unwrap_or_else(|e| panic!("cannot reach the test PostgreSQL at {base}: {e}"));
        sqlx::query(&format!("CREATE SCHEMA {name}"))
            .execute(&mut conn)
            .await
            .expect("create schema");
        let _ = conn.close().await;
        let sep = if base.contains('?') { '&' } else { '?' };
        let url = format!("{base}{sep}options=-c%20search_path%3D{name}");
        PgSchema { name, url, base }
    }

    /// The database's URL, without the schema.
    pub fn base(&self) -> &str {
        &self.base
    }
}

impl Drop for PgSchema {
    fn drop(&mut self) {
        let (base, name) = (self.base.clone(), self.name.clone());
        // Drop may run inside a runtime; clean up on a thread of its own.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            rt.block_on(async {
                let mut conn = sqlx::PgConnection::connect(&base).await.ok()?;
                sqlx::query(&format!("DROP SCHEMA IF EXISTS {name} CASCADE"))
                    .execute(&mut conn)
                    .await
                    .ok()?;
                conn.close().await.ok()
            })
        })
        .join();
    }
}
