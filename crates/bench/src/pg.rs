//! A PostgreSQL schema of the bench's own, and the store writes made in it.

use sqlx::{Connection, PgConnection};

pub struct Schema {
    base: String,
    name: String,
    /// `base` with `search_path` set to the schema: what sessiond and the seeder use.
    pub url: String,
}

/// Rows inserted, updated or deleted in the schema, and transactions committed in the
/// database, so far.
#[derive(Debug, Clone, Copy, Default)]
pub struct Writes {
    pub rows: i64,
    pub commits: i64,
}

impl Schema {
    pub async fn create(base: &str) -> Schema {
        let bytes = sessiond_core::secret::random_bytes::<6>().expect("randomness");
        let name = format!(
            "bench_{}",
            bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()
        );
        let mut conn = PgConnection::connect(base)
            .await
            .unwrap_or_else(|e| panic!("cannot reach PostgreSQL at {base}: {e}"));
        sqlx::query(&format!("CREATE SCHEMA {name}"))
            .execute(&mut conn)
            .await
            .expect("create schema");
        let _ = conn.close().await;
        let sep = if base.contains('?') { '&' } else { '?' };
        let url = format!("{base}{sep}options=-c%20search_path%3D{name}");
        Schema {
            base: base.to_owned(),
            name,
            url,
        }
    }

    /// PostgreSQL publishes its counters up to a second late; call after a pause.
    pub async fn writes(&self) -> Writes {
        let mut conn = PgConnection::connect(&self.base).await.expect("connect");
        let rows: Option<i64> = sqlx::query_scalar(
            "SELECT SUM(n_tup_ins + n_tup_upd + n_tup_del)::bigint FROM pg_stat_user_tables WHERE schemaname = $1",
        )
        .bind(&self.name)
        .fetch_one(&mut conn)
        .await
        .expect("table statistics");
        let commits: i64 = sqlx::query_scalar(
            "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()",
        )
        .fetch_one(&mut conn)
        .await
        .expect("database statistics");
        let _ = conn.close().await;
        Writes {
            rows: rows.unwrap_or(0),
            commits,
        }
    }

    pub async fn drop(self) {
        if let Ok(mut conn) = PgConnection::connect(&self.base).await {
            let _ = sqlx::query(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name))
                .execute(&mut conn)
                .await;
            let _ = conn.close().await;
        }
    }
}
