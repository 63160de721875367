//! The webhook tables, for both engines: endpoints with their delivery state, each
//! endpoint's queue of events and its dead letters. The events themselves are written by
//! the engines' triggers (migrations `0009_webhooks.sql`); this side reads, leases and
//! moves them. `webhook_queries!` stamps the queries out as free functions over one
//! engine's pool; the engines' `Store` impls call them.

macro_rules! webhook_queries {
    (db: $db:ty, row: $row:ty) => {
        pub(crate) mod webhook_sql {
            // The engine's own names (its database and row types) come from its module.
            use super::*;
            use sessiond_core::clock::{from_micros, to_micros};
            use sessiond_core::store::StoreResult;
            use sessiond_core::webhook::{
                kinds_from_text, kinds_to_text, DeadLetter, DeliveryStatus, Event, EventKind,
                FailedAttempt, NewWebhook, WebhookEndpoint, WebhookSecret,
            };
            use sessiond_core::StoreError;
            use sqlx::{Pool, Row};
            use time::OffsetDateTime;

            use crate::map_err;

            type Db = $db;

            const ENDPOINT: &str = "SELECT e.id, e.url, e.kinds, e.description, e.secret,
                    e.previous_secret, e.previous_secret_until, e.created_at, e.failures,
                    e.retry_at, e.last_error, e.last_delivered_at,
                    (SELECT COUNT(*) FROM webhook_queue q WHERE q.endpoint_id = e.id) AS queued,
                    (SELECT COUNT(*) FROM webhook_dead_letters d WHERE d.endpoint_id = e.id) AS dead
                FROM webhook_endpoints e";

            const EVENT_COLUMNS: &str = "ev.id, ev.msg_id, ev.kind, ev.at, ev.user_id,
                ev.username, ev.session_id, ev.reason, ev.server, ev.client, ev.auth_method,
                ev.until";

            fn endpoint(r: &$row) -> StoreResult<WebhookEndpoint> {
                let get = |e: sqlx::Error| map_err(e);
                let previous: Option<String> = r.try_get("previous_secret").map_err(get)?;
                let until: Option<i64> = r.try_get("previous_secret_until").map_err(get)?;
                Ok(WebhookEndpoint {
                    id: r.try_get("id").map_err(get)?,
                    url: r.try_get("url").map_err(get)?,
                    kinds: kinds_from_text(&r.try_get::<String, _>("kinds").map_err(get)?),
                    description: r.try_get("description").map_err(get)?,
                    created_at: from_micros(r.try_get("created_at").map_err(get)?),
                    secret: WebhookSecret::from_stored(r.try_get("secret").map_err(get)?),
                    previous_secret: previous
                        .zip(until)
                        .map(|(s, t)| (WebhookSecret::from_stored(s), from_micros(t))),
                    status: DeliveryStatus {
                        queued: r.try_get("queued").map_err(get)?,
                        dead_letters: r.try_get("dead").map_err(get)?,
                        failures: r.try_get("failures").map_err(get)?,
                        retry_at: r
                            .try_get::<Option<i64>, _>("retry_at")
                            .map_err(get)?
                            .map(from_micros),
                        last_error: r.try_get("last_error").map_err(get)?,
                        last_delivered_at: r
                            .try_get::<Option<i64>, _>("last_delivered_at")
                            .map_err(get)?
                            .map(from_micros),
                    },
                })
            }

            fn event(r: &$row) -> StoreResult<Event> {
                let get = |e: sqlx::Error| map_err(e);
                let kind: String = r.try_get("kind").map_err(get)?;
                Ok(Event {
                    id: r.try_get("id").map_err(get)?,
                    msg_id: r.try_get("msg_id").map_err(get)?,
                    kind: EventKind::parse(&kind)
                        .ok_or_else(|| StoreError::Other(format!("unknown event kind {kind:?}")))?,
                    at: from_micros(r.try_get("at").map_err(get)?),
                    user_id: r.try_get("user_id").map_err(get)?,
                    username: r.try_get("username").map_err(get)?,
                    session_id: r.try_get("session_id").map_err(get)?,
                    reason: r.try_get("reason").map_err(get)?,
                    server: r.try_get("server").map_err(get)?,
                    client: r.try_get("client").map_err(get)?,
                    auth_method: r.try_get("auth_method").map_err(get)?,
                    until: r
                        .try_get::<Option<i64>, _>("until")
                        .map_err(get)?
                        .map(from_micros),
                })
            }

            pub async fn insert(pool: &Pool<Db>, w: &NewWebhook) -> StoreResult<()> {
                sqlx::query(
                    "INSERT INTO webhook_endpoints (id, url, kinds, description, secret, created_at)
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(&w.id)
                .bind(&w.url)
                .bind(kinds_to_text(&w.kinds))
                .bind(&w.description)
                .bind(w.secret.expose())
                .bind(to_micros(w.created_at))
                .execute(pool)
                .await
                .map_err(map_err)?;
                Ok(())
            }

            pub async fn list(pool: &Pool<Db>) -> StoreResult<Vec<WebhookEndpoint>> {
                let rows = sqlx::query(&format!("{ENDPOINT} ORDER BY e.created_at, e.id"))
                    .fetch_all(pool)
                    .await
                    .map_err(map_err)?;
                rows.iter().map(endpoint).collect()
            }

            pub async fn get(pool: &Pool<Db>, id: &str) -> StoreResult<Option<WebhookEndpoint>> {
                let row = sqlx::query(&format!("{ENDPOINT} WHERE e.id = $1"))
                    .bind(id)
                    .fetch_optional(pool)
                    .await
                    .map_err(map_err)?;
                row.as_ref().map(endpoint).transpose()
            }

            pub async fn delete(pool: &Pool<Db>, id: &str) -> StoreResult<bool> {
                let done = sqlx::query("DELETE FROM webhook_endpoints WHERE id = $1")
                    .bind(id)
                    .execute(pool)
                    .await
                    .map_err(map_err)?;
                Ok(done.rows_affected() > 0)
            }

            pub async fn rotate(
                pool: &Pool<Db>,
                id: &str,
                secret: &WebhookSecret,
                previous_until: OffsetDateTime,
            ) -> StoreResult<bool> {
                let done = sqlx::query(
                    "UPDATE webhook_endpoints
                     SET previous_secret = secret, previous_secret_until = $3, secret = $2
                     WHERE id = $1",
                )
                .bind(id)
                .bind(secret.expose())
                .bind(to_micros(previous_until))
                .execute(pool)
                .await
                .map_err(map_err)?;
                Ok(done.rows_affected() > 0)
            }

            pub async fn claim(
                pool: &Pool<Db>,
                owner: &str,
                now: OffsetDateTime,
                lease_until: OffsetDateTime,
            ) -> StoreResult<Vec<WebhookEndpoint>> {
                // A read first: with nothing queued (the usual case) no write lock is taken.
                let any: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM webhook_queue)")
                    .fetch_one(pool)
                    .await
                    .map_err(map_err)?;
                if !any {
                    return Ok(Vec::new());
                }
                let ids: Vec<String> = sqlx::query_scalar(
                    "UPDATE webhook_endpoints SET lease_owner = $1, lease_until = $2
                     WHERE (lease_owner IS NULL OR lease_owner = $1 OR lease_until < $3)
                       AND (retry_at IS NULL OR retry_at <= $3)
                       AND EXISTS (SELECT 1 FROM webhook_queue q
                                   WHERE q.endpoint_id = webhook_endpoints.id)
                     RETURNING id",
                )
                .bind(owner)
                .bind(to_micros(lease_until))
                .bind(to_micros(now))
                .fetch_all(pool)
                .await
                .map_err(map_err)?;
                let mut claimed = Vec::with_capacity(ids.len());
                for id in ids {
                    if let Some(e) = get(pool, &id).await? {
                        claimed.push(e);
                    }
                }
                Ok(claimed)
            }

            pub async fn queued(
                pool: &Pool<Db>,
                endpoint: &str,
                limit: u32,
            ) -> StoreResult<Vec<(Event, i64)>> {
                let rows = sqlx::query(&format!(
                    "SELECT {EVENT_COLUMNS}, q.attempts FROM webhook_queue q
                     JOIN events ev ON ev.id = q.event_id
                     WHERE q.endpoint_id = $1 ORDER BY q.event_id LIMIT $2"
                ))
                .bind(endpoint)
                .bind(i64::from(limit))
                .fetch_all(pool)
                .await
                .map_err(map_err)?;
                rows.iter()
                    .map(|r| Ok((event(r)?, r.try_get("attempts").map_err(map_err)?)))
                    .collect()
            }

            pub async fn delivered(
                pool: &Pool<Db>,
                endpoint: &str,
                event_id: i64,
                at: OffsetDateTime,
                lease_until: OffsetDateTime,
            ) -> StoreResult<()> {
                let mut tx = pool.begin().await.map_err(map_err)?;
                sqlx::query("DELETE FROM webhook_queue WHERE endpoint_id = $1 AND event_id = $2")
                    .bind(endpoint)
                    .bind(event_id)
                    .execute(&mut *tx)
                    .await
                    .map_err(map_err)?;
                sqlx::query(
                    "UPDATE webhook_endpoints SET failures = 0, retry_at = NULL, last_error = NULL,
                        last_delivered_at = $2, lease_until = $3
                     WHERE id = $1",
                )
                .bind(endpoint)
                .bind(to_micros(at))
                .bind(to_micros(lease_until))
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
                tx.commit().await.map_err(map_err)
            }

            pub async fn failed(
                pool: &Pool<Db>,
                endpoint: &str,
                f: &FailedAttempt<'_>,
            ) -> StoreResult<u64> {
                let mut tx = pool.begin().await.map_err(map_err)?;
                sqlx::query(
                    "UPDATE webhook_queue SET attempts = attempts + 1
                     WHERE endpoint_id = $1 AND event_id = $2",
                )
                .bind(endpoint)
                .bind(f.event_id)
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
                // Every event waiting behind a failing one is undeliverable as well: all
                // of them count their time to the dead letters from now.
                sqlx::query(
                    "UPDATE webhook_queue SET failing_since = $2
                     WHERE endpoint_id = $1 AND failing_since IS NULL",
                )
                .bind(endpoint)
                .bind(to_micros(f.at))
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
                sqlx::query(
                    "INSERT INTO webhook_dead_letters (endpoint_id, event_id, attempts, failed_at, last_error)
                     SELECT endpoint_id, event_id, attempts, $2, $3 FROM webhook_queue
                     WHERE endpoint_id = $1 AND failing_since <= $4
                     ON CONFLICT (endpoint_id, event_id) DO UPDATE SET attempts = excluded.attempts,
                         failed_at = excluded.failed_at, last_error = excluded.last_error",
                )
                .bind(endpoint)
                .bind(to_micros(f.at))
                .bind(f.error)
                .bind(to_micros(f.give_up_before))
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
                let dead = sqlx::query(
                    "DELETE FROM webhook_queue WHERE endpoint_id = $1 AND failing_since <= $2",
                )
                .bind(endpoint)
                .bind(to_micros(f.give_up_before))
                .execute(&mut *tx)
                .await
                .map_err(map_err)?
                .rows_affected();
                sqlx::query(
                    "UPDATE webhook_endpoints SET failures = failures + 1, retry_at = $2,
                        last_error = $3, lease_owner = NULL, lease_until = NULL
                     WHERE id = $1",
                )
                .bind(endpoint)
                .bind(to_micros(f.retry_at))
                .bind(f.error)
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
                tx.commit().await.map_err(map_err)?;
                Ok(dead)
            }

            pub async fn release(pool: &Pool<Db>, endpoint: &str, owner: &str) -> StoreResult<()> {
                sqlx::query(
                    "UPDATE webhook_endpoints SET lease_owner = NULL, lease_until = NULL
                     WHERE id = $1 AND lease_owner = $2",
                )
                .bind(endpoint)
                .bind(owner)
                .execute(pool)
                .await
                .map_err(map_err)?;
                Ok(())
            }

            pub async fn dead_letters(pool: &Pool<Db>, endpoint: &str) -> StoreResult<Vec<DeadLetter>> {
                let rows = sqlx::query(&format!(
                    "SELECT {EVENT_COLUMNS}, d.attempts, d.failed_at, d.last_error
                     FROM webhook_dead_letters d JOIN events ev ON ev.id = d.event_id
                     WHERE d.endpoint_id = $1 ORDER BY d.event_id"
                ))
                .bind(endpoint)
                .fetch_all(pool)
                .await
                .map_err(map_err)?;
                rows.iter()
                    .map(|r| {
                        Ok(DeadLetter {
                            event: event(r)?,
                            attempts: r.try_get("attempts").map_err(map_err)?,
                            failed_at: from_micros(r.try_get("failed_at").map_err(map_err)?),
                            last_error: r.try_get("last_error").map_err(map_err)?,
                        })
                    })
                    .collect()
            }

            pub async fn replay(pool: &Pool<Db>, endpoint: &str) -> StoreResult<u64> {
                let mut tx = pool.begin().await.map_err(map_err)?;
                sqlx::query(
                    "INSERT INTO webhook_queue (endpoint_id, event_id)
                     SELECT endpoint_id, event_id FROM webhook_dead_letters WHERE endpoint_id = $1
                     ON CONFLICT (endpoint_id, event_id) DO NOTHING",
                )
                .bind(endpoint)
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
                let n = sqlx::query("DELETE FROM webhook_dead_letters WHERE endpoint_id = $1")
                    .bind(endpoint)
                    .execute(&mut *tx)
                    .await
                    .map_err(map_err)?
                    .rows_affected();
                sqlx::query("UPDATE webhook_endpoints SET failures = 0, retry_at = NULL WHERE id = $1")
                    .bind(endpoint)
                    .execute(&mut *tx)
                    .await
                    .map_err(map_err)?;
                tx.commit().await.map_err(map_err)?;
                Ok(n)
            }

            pub async fn purge(
                pool: &Pool<Db>,
                now: OffsetDateTime,
                dead_before: OffsetDateTime,
            ) -> StoreResult<u64> {
                let mut tx = pool.begin().await.map_err(map_err)?;
                // A rotated-out secret signs nothing after its overlap: not kept either.
                sqlx::query(
                    "UPDATE webhook_endpoints SET previous_secret = NULL, previous_secret_until = NULL
                     WHERE previous_secret_until < $1",
                )
                .bind(to_micros(now))
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
                let dead = sqlx::query("DELETE FROM webhook_dead_letters WHERE failed_at < $1")
                    .bind(to_micros(dead_before))
                    .execute(&mut *tx)
                    .await
                    .map_err(map_err)?
                    .rows_affected();
                let events = sqlx::query(
                    "DELETE FROM events
                     WHERE NOT EXISTS (SELECT 1 FROM webhook_queue q WHERE q.event_id = events.id)
                       AND NOT EXISTS (SELECT 1 FROM webhook_dead_letters d
                                       WHERE d.event_id = events.id)",
                )
                .execute(&mut *tx)
                .await
                .map_err(map_err)?
                .rows_affected();
                tx.commit().await.map_err(map_err)?;
                Ok(dead + events)
            }

            pub async fn events(pool: &Pool<Db>) -> StoreResult<Vec<Event>> {
                let rows = sqlx::query(&format!("SELECT {EVENT_COLUMNS} FROM events ev ORDER BY ev.id"))
                    .fetch_all(pool)
                    .await
                    .map_err(map_err)?;
                rows.iter().map(event).collect()
            }
        }
    };
}

pub(crate) use webhook_queries;
