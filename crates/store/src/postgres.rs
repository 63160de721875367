//! The PostgreSQL engine: for several sessiond nodes sharing one database. Besides the
//! `Store` contract it tells every node what changed (see the triggers in the migration),
//! so that each can evict its cache within moments of a change made elsewhere.

use std::str::FromStr;
use std::time::Duration;

use sessiond_core::clock::{from_micros, to_micros};
use sessiond_core::model::*;
use sessiond_core::secret::TokenHash;
use sessiond_core::store::{
    Activity, Change, LoginFailures, ReportedChange, SessionPage, Store, StoreResult, UserUpdate,
};
use sessiond_core::StoreError;
use sqlx::postgres::{PgConnectOptions, PgListener, PgPoolOptions, PgRow};
use sqlx::{Connection, PgConnection, PgPool, Postgres, QueryBuilder, Row};
use time::OffsetDateTime;
use tokio::sync::mpsc;

use crate::map_err;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

/// How to reach the database.
#[derive(Debug, Clone)]
pub struct PostgresOptions {
    /// `postgres://user:password@host:port/database`; `?options=-c search_path=NAME` selects
    /// a schema.
    pub url: String,
    pub max_connections: u32,
    /// How long a request waits for a connection before it is answered 503.
    pub acquire_timeout: Duration,
}

impl PostgresOptions {
    pub fn new(url: &str) -> Self {
        PostgresOptions {
            url: url.to_owned(),
            max_connections: 10,
            acquire_timeout: Duration::from_secs(3),
        }
    }
}

pub struct PostgresStore {
    pool: PgPool,
    channel: String,
}

impl PostgresStore {
    /// Connects, runs the migrations, and learns the schema it works in.
    pub async fn open(opts: &PostgresOptions) -> StoreResult<PostgresStore> {
        let connect = PgConnectOptions::from_str(&opts.url)
            .map_err(|e| StoreError::Other(format!("invalid PostgreSQL URL: {e}")))?
            .application_name("sessiond");
        // One direct connection first: a pool reports any failure as a time-out, and "the
        // database refused the connection" or "password authentication failed" is what the
        // operator needs to read.
        let probe = PgConnection::connect_with(&connect)
            .await
            .map_err(map_err)?;
        let _ = probe.close().await;
        let pool = PgPoolOptions::new()
            .max_connections(opts.max_connections.max(2))
            .acquire_timeout(opts.acquire_timeout)
            .connect_with(connect)
            .await
            .map_err(map_err)?;
        MIGRATOR
            .run(&pool)
            .await
            .map_err(|e| StoreError::Other(format!("migration failed: {e}")))?;
        let schema: String = sqlx::query_scalar("SELECT current_schema()")
            .fetch_one(&pool)
            .await
            .map_err(map_err)?;
        Ok(PostgresStore {
            pool,
            channel: format!("sessiond:{schema}"),
        })
    }

    async fn roles_of(&self, id: UserId) -> StoreResult<Vec<String>> {
        sqlx::query_scalar("SELECT role FROM user_roles WHERE user_id = $1 ORDER BY role")
            .bind(id)
            .fetch_all(&self.pool)
            .await
            .map_err(map_err)
    }

    async fn user_row(&self, row: Option<PgRow>) -> StoreResult<Option<User>> {
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

crate::rows::row_decoders!(PgRow);

fn profile_json(p: &Profile) -> StoreResult<String> {
    serde_json::to_string(p).map_err(|e| StoreError::Other(format!("profile: {e}")))
}

fn parse_change(payload: &str) -> Option<Change> {
    match payload.split_once(':') {
        Some(("s", id)) => Some(Change::SessionEnded(id.to_owned())),
        Some(("a", id)) => Some(Change::AccessToken(id.to_owned())),
        Some(("u", id)) => id.parse().ok().map(Change::User),
        None if payload == "r" => Some(Change::Roles),
        _ => None,
    }
}

/// Listens for changes until the receiver is dropped. Each (re)connection starts with
/// `Change::Lost`: whatever happened while nobody listened is unknown, so caches forget it all.
async fn listen(pool: PgPool, channel: String, tx: mpsc::UnboundedSender<Change>) {
    while !tx.is_closed() {
        let mut listener = match connect_listener(&pool, &channel).await {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for changes; retrying in 1s");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        if tx.send(Change::Lost).is_err() {
            return;
        }
        tracing::info!(channel = %channel, "listening for changes from other nodes");
        loop {
            match listener.try_recv().await {
                Ok(Some(n)) => {
                    if let Some(c) = parse_change(n.payload()) {
                        if tx.send(c).is_err() {
                            return;
                        }
                    }
                }
                Ok(None) | Err(_) => {
                    if pool.is_closed() {
                        // Shutting down: the pool closed the listener's connection.
                        return;
                    }
                    tracing::warn!("lost the change listener's connection; reconnecting");
                    let _ = tx.send(Change::Lost);
                    break;
                }
            }
        }
    }
}

async fn connect_listener(pool: &PgPool, channel: &str) -> Result<PgListener, sqlx::Error> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener.listen(channel).await?;
    Ok(listener)
}

crate::shared::shared_store! {
    store: PostgresStore,
    db: Postgres,
    row: PgRow,
    next_user_id: "nextval('users_id_seq')",
    next_group_id: "nextval('groups_id_seq')",
    own: {
    fn shared_by_nodes(&self) -> bool {
        true
    }

    fn subscribe(&self) -> Option<mpsc::UnboundedReceiver<Change>> {
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(listen(self.pool.clone(), self.channel.clone(), tx));
        Some(rx)
    }

    async fn record_activity(&self, batch: &[Activity]) -> StoreResult<()> {
        if batch.is_empty() {
            return Ok(());
        }
        let ids: Vec<&str> = batch.iter().map(|a| a.session_id.as_str()).collect();
        let times: Vec<i64> = batch.iter().map(|a| to_micros(a.last_active)).collect();
        sqlx::query(
            "UPDATE sessions s SET last_active = GREATEST(s.last_active, b.t)
             FROM (SELECT id, MAX(t) AS t FROM unnest($1::text[], $2::bigint[]) AS x(id, t) GROUP BY id) b
             WHERE s.id = b.id AND s.last_active < b.t",
        )
        .bind(&ids)
        .bind(&times)
        .execute(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(())
    }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn change_payloads() {
        assert_eq!(
            parse_change("s:abc"),
            Some(Change::SessionEnded("abc".into()))
        );
        assert_eq!(parse_change("u:501"), Some(Change::User(501)));
        assert_eq!(parse_change("r"), Some(Change::Roles));
        assert_eq!(parse_change("u:x"), None);
        assert_eq!(parse_change("zzz"), None);
    }
}

#[cfg(test)]
mod contract_tests {
    use super::{PostgresOptions, PostgresStore};
    use crate::testing::PgSchema;

    /// A store in a schema of its own, dropped when the test ends.
    struct Fresh {
        store: PostgresStore,
        _schema: PgSchema,
    }

    impl std::ops::Deref for Fresh {
        type Target = PostgresStore;
        fn deref(&self) -> &PostgresStore {
            &self.store
        }
    }

    async fn fresh() -> Fresh {
        let schema = PgSchema::create().await;
        let mut opts = PostgresOptions::new(&schema.url);
        opts.max_connections = 3;
        let store = PostgresStore::open(&opts)
            .await
            .expect("open PostgreSQL store");
        Fresh {
            store,
            _schema: schema,
        }
    }

    crate::contract::contract_tests!(fresh);
}
