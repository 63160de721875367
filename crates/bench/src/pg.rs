//! The store writes made in the PostgreSQL schema of a `--postgres` run (the schema itself
//! is `sessiond_store::testing::PgSchema`, dropped when the run ends).

use sessiond_store::testing::PgSchema;
use sqlx::{Connection, PgConnection};

/// Rows inserted, updated or deleted in the schema, and transactions committed in the
/// database, so far.
#[derive(Debug, Clone, Copy, Default)]
pub struct Writes {
    pub rows: i64,
    pub commits: i64,
}

/// PostgreSQL publishes its counters up to 10 s late; call after a pause.
pub async fn writes(schema: &PgSchema) -> Writes {
    let mut conn = PgConnection::connect(schema.base()).await.expect("connect");
    let rows: Option<i64> = sqlx::query_scalar(
        "SELECT SUM(n_tup_ins + n_tup_upd + n_tup_del)::bigint FROM pg_stat_user_tables WHERE schemaname = $1",
    )
    .bind(&schema.name)
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
