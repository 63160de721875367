//! The PostgreSQL engine: for several sessiond nodes sharing one database. Besides the
//! `Store` contract it tells every node what changed (see the triggers in the migration),
//! so that each can evict its cache within moments of a change made elsewhere.

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sessiond_core::clock::{from_micros, to_micros};
use sessiond_core::model::*;
use sessiond_core::secret::TokenHash;
use sessiond_core::store::{Activity, Change, ReportedChange, Store, StoreResult, UserUpdate};
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

#[async_trait]
impl Store for PostgresStore {
    async fn close(&self) {
        self.pool.close().await;
    }

    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(())
    }

    fn subscribe(&self) -> Option<mpsc::UnboundedReceiver<Change>> {
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(listen(self.pool.clone(), self.channel.clone(), tx));
        Some(rx)
    }

    async fn count_users(&self) -> StoreResult<i64> {
        sqlx::query_scalar("SELECT COUNT(*) FROM users")
            .fetch_one(&self.pool)
            .await
            .map_err(map_err)
    }

    async fn insert_user(&self, u: &NewUser, now: OffsetDateTime) -> StoreResult<User> {
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO users (id, name, account_type, primary_group, can_change_password, enabled,
                                password_hash, profile, created_at, updated_at)
             VALUES (COALESCE($1, nextval('users_id_seq')), $2, $3, $4, $5, $6, $7, $8, $9, $9)
             RETURNING id",
        )
        .bind(u.id)
        .bind(&u.name)
        .bind(u.account_type.as_str())
        .bind(u.primary_group)
        .bind(u.can_change_password)
        .bind(u.enabled)
        .bind(&u.password_hash)
        .bind(profile_json(&u.profile)?)
        .bind(to_micros(now))
        .fetch_one(&mut *tx)
        .await
        .map_err(map_err)?;
        sqlx::query("INSERT INTO user_roles (user_id, role) SELECT $1, unnest($2::text[])")
            .bind(id)
            .bind(&u.roles)
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        sqlx::query(
            "INSERT INTO group_members (group_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        )
        .bind(u.primary_group)
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        tx.commit().await.map_err(map_err)?;
        self.get_user(id)
            .await?
            .ok_or_else(|| StoreError::Other("user vanished after insert".into()))
    }

    async fn get_user(&self, id: UserId) -> StoreResult<Option<User>> {
        let row = sqlx::query("SELECT * FROM users WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?;
        self.user_row(row).await
    }

    async fn get_user_by_name(&self, name: &str) -> StoreResult<Option<User>> {
        let row = sqlx::query("SELECT * FROM users WHERE lower(name) = lower($1)")
            .bind(name)
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?;
        self.user_row(row).await
    }

    async fn list_users(&self) -> StoreResult<Vec<User>> {
        let rows = sqlx::query("SELECT * FROM users ORDER BY id")
            .fetch_all(&self.pool)
            .await
            .map_err(map_err)?;
        let roles: Vec<(i64, String)> =
            sqlx::query_as("SELECT user_id, role FROM user_roles ORDER BY role")
                .fetch_all(&self.pool)
                .await
                .map_err(map_err)?;
        let mut users = rows
            .iter()
            .map(user_from_row)
            .collect::<StoreResult<Vec<_>>>()?;
        crate::rows::attach_roles(&mut users, &roles);
        Ok(users)
    }

    async fn update_user(&self, id: UserId, c: &UserUpdate) -> StoreResult<User> {
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        let done = sqlx::query(
            "UPDATE users SET
                name = COALESCE($1, name),
                account_type = COALESCE($2, account_type),
                primary_group = COALESCE($3, primary_group),
                can_change_password = COALESCE($4, can_change_password),
                enabled = COALESCE($5, enabled),
                password_hash = COALESCE($6, password_hash),
                profile = COALESCE($7, profile),
                updated_at = COALESCE($8, updated_at)
             WHERE id = $9",
        )
        .bind(&c.name)
        .bind(c.account_type.map(|a| a.as_str()))
        .bind(c.primary_group)
        .bind(c.can_change_password)
        .bind(c.enabled)
        .bind(&c.password_hash)
        .bind(c.profile.as_ref().map(profile_json).transpose()?)
        .bind(c.updated_at.map(to_micros))
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("no user with id {id}")));
        }
        if let Some(g) = c.primary_group {
            sqlx::query(
                "INSERT INTO group_members (group_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            )
            .bind(g)
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        }
        tx.commit().await.map_err(map_err)?;
        self.get_user(id)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("no user with id {id}")))
    }

    async fn delete_user(&self, id: UserId) -> StoreResult<bool> {
        let done = sqlx::query("DELETE FROM users WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(done.rows_affected() > 0)
    }

    async fn set_user_roles(&self, id: UserId, roles: &[String]) -> StoreResult<()> {
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        let exists: Option<i64> =
            sqlx::query_scalar("SELECT id FROM users WHERE id = $1 FOR UPDATE")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await
                .map_err(map_err)?;
        if exists.is_none() {
            return Err(StoreError::NotFound(format!("no user with id {id}")));
        }
        let known: Vec<String> = sqlx::query_scalar("SELECT name FROM roles WHERE name = ANY($1)")
            .bind(roles)
            .fetch_all(&mut *tx)
            .await
            .map_err(map_err)?;
        if let Some(missing) = roles.iter().find(|r| !known.contains(r)) {
            return Err(StoreError::NotFound(format!("no role named {missing:?}")));
        }
        sqlx::query("DELETE FROM user_roles WHERE user_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        sqlx::query(
            "INSERT INTO user_roles (user_id, role) SELECT DISTINCT $1, unnest($2::text[])",
        )
        .bind(id)
        .bind(roles)
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        tx.commit().await.map_err(map_err)
    }

    async fn insert_group(&self, id: Option<GroupId>, name: &str) -> StoreResult<Group> {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO groups (id, name) VALUES (COALESCE($1, nextval('groups_id_seq')), $2)
             RETURNING id",
        )
        .bind(id)
        .bind(name)
        .fetch_one(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(Group {
            id,
            name: name.to_owned(),
            sid: None,
            gid: None,
        })
    }

    async fn list_groups(&self) -> StoreResult<Vec<Group>> {
        let rows: Vec<crate::rows::GroupRow> =
            sqlx::query_as("SELECT id, name, sid, gid FROM groups ORDER BY id")
                .fetch_all(&self.pool)
                .await
                .map_err(map_err)?;
        Ok(rows.into_iter().map(crate::rows::group).collect())
    }

    async fn get_group(&self, id: GroupId) -> StoreResult<Option<Group>> {
        let row: Option<crate::rows::GroupRow> =
            sqlx::query_as("SELECT id, name, sid, gid FROM groups WHERE id = $1")
                .bind(id)
                .fetch_optional(&self.pool)
                .await
                .map_err(map_err)?;
        Ok(row.map(crate::rows::group))
    }

    async fn delete_group(&self, id: GroupId) -> StoreResult<bool> {
        let done = sqlx::query("DELETE FROM groups WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(done.rows_affected() > 0)
    }

    async fn group_members(&self, id: GroupId) -> StoreResult<Vec<UserId>> {
        sqlx::query_scalar("SELECT user_id FROM group_members WHERE group_id = $1 ORDER BY user_id")
            .bind(id)
            .fetch_all(&self.pool)
            .await
            .map_err(map_err)
    }

    async fn user_groups(&self, user: UserId) -> StoreResult<Vec<Group>> {
        let rows: Vec<crate::rows::GroupRow> = sqlx::query_as(
            "SELECT g.id, g.name, g.sid, g.gid FROM groups g
             JOIN group_members m ON m.group_id = g.id WHERE m.user_id = $1 ORDER BY g.id",
        )
        .bind(user)
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(rows.into_iter().map(crate::rows::group).collect())
    }

    async fn add_group_member(&self, group: GroupId, user: UserId) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO group_members (group_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        )
        .bind(group)
        .bind(user)
        .execute(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn remove_group_member(&self, group: GroupId, user: UserId) -> StoreResult<bool> {
        let done = sqlx::query("DELETE FROM group_members WHERE group_id = $1 AND user_id = $2")
            .bind(group)
            .bind(user)
            .execute(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(done.rows_affected() > 0)
    }

    async fn list_roles(&self) -> StoreResult<Vec<Role>> {
        let roles: Vec<(String, String, bool)> =
            sqlx::query_as("SELECT name, description, builtin FROM roles ORDER BY name")
                .fetch_all(&self.pool)
                .await
                .map_err(map_err)?;
        let privs: Vec<(String, String)> =
            sqlx::query_as("SELECT role, privilege FROM role_privileges")
                .fetch_all(&self.pool)
                .await
                .map_err(map_err)?;
        Ok(crate::rows::roles_with_privileges(roles, &privs))
    }

    /// Idempotent even when several nodes write the same role at once (as at start-up).
    async fn put_role(&self, role: &Role) -> StoreResult<()> {
        let privileges: Vec<&str> = role.privileges.iter().map(|p| p.as_str()).collect();
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        sqlx::query(
            "INSERT INTO roles (name, description, builtin) VALUES ($1, $2, $3)
             ON CONFLICT (name) DO UPDATE SET description = excluded.description, builtin = excluded.builtin
             WHERE roles.description IS DISTINCT FROM excluded.description
                OR roles.builtin IS DISTINCT FROM excluded.builtin",
        )
        .bind(&role.name)
        .bind(&role.description)
        .bind(role.builtin)
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        sqlx::query("DELETE FROM role_privileges WHERE role = $1 AND privilege <> ALL($2)")
            .bind(&role.name)
            .bind(&privileges)
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        sqlx::query(
            "INSERT INTO role_privileges (role, privilege) SELECT $1, unnest($2::text[])
             ON CONFLICT DO NOTHING",
        )
        .bind(&role.name)
        .bind(&privileges)
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        tx.commit().await.map_err(map_err)
    }

    async fn delete_role(&self, name: &str) -> StoreResult<bool> {
        let done = sqlx::query("DELETE FROM roles WHERE name = $1")
            .bind(name)
            .execute(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(done.rows_affected() > 0)
    }

    async fn insert_session(&self, s: &Session, token: &TokenHash) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO sessions (id, token_hash, user_id, server, client_name, client_type, console_type,
                transport, auth_method, actor, access_token_id, browser_session_id, login_time, last_active,
                expires_at, logout_time, end_reason, num_opens, user_flags, shares)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)",
        )
        .bind(&s.id)
        .bind(&token.0[..])
        .bind(s.user_id)
        .bind(&s.server)
        .bind(&s.client_name)
        .bind(&s.client_type)
        .bind(s.console_type)
        .bind(&s.transport)
        .bind(s.auth_method.as_str())
        .bind(&s.actor)
        .bind(&s.access_token_id)
        .bind(&s.browser_session_id)
        .bind(to_micros(s.login_time))
        .bind(to_micros(s.last_active))
        .bind(s.expires_at.map(to_micros))
        .bind(s.logout_time.map(to_micros))
        .bind(s.end_reason.map(|r| r.as_str()))
        .bind(s.num_opens)
        .bind(s.user_flags)
        .bind(serde_json::to_string(&s.shares).unwrap_or_else(|_| "[]".into()))
        .execute(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn session_by_token(&self, token: &TokenHash) -> StoreResult<Option<Session>> {
        sqlx::query("SELECT * FROM sessions WHERE token_hash = $1")
            .bind(&token.0[..])
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?
            .as_ref()
            .map(session_from_row)
            .transpose()
    }

    async fn get_session(&self, id: &str) -> StoreResult<Option<Session>> {
        sqlx::query("SELECT * FROM sessions WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?
            .as_ref()
            .map(session_from_row)
            .transpose()
    }

    async fn replace_session_token(&self, id: &str, token: &TokenHash) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE sessions SET token_hash = $1 WHERE id = $2 AND logout_time IS NULL",
        )
        .bind(&token.0[..])
        .bind(id)
        .execute(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(done.rows_affected() > 0)
    }

    async fn list_sessions(&self, f: &SessionFilter) -> StoreResult<Vec<Session>> {
        let mut q: QueryBuilder<Postgres> = QueryBuilder::new("SELECT * FROM sessions WHERE TRUE");
        if let Some(u) = f.user_id {
            q.push(" AND user_id = ").push_bind(u);
        }
        if let Some(s) = &f.server {
            q.push(" AND lower(server) = lower(")
                .push_bind(s.clone())
                .push(")");
        }
        if let Some(c) = &f.client_name {
            q.push(" AND lower(client_name) = lower(")
                .push_bind(c.clone())
                .push(")");
        }
        match f.state {
            SessionState::Active => {
                q.push(" AND logout_time IS NULL");
            }
            SessionState::Ended => {
                q.push(" AND logout_time IS NOT NULL");
            }
            SessionState::All => {}
        }
        q.push(" ORDER BY login_time DESC, id");
        if let Some(l) = f.limit {
            q.push(" LIMIT ").push_bind(l as i64);
        }
        q.build()
            .fetch_all(&self.pool)
            .await
            .map_err(map_err)?
            .iter()
            .map(session_from_row)
            .collect()
    }

    async fn end_session(&self, id: &str, at: OffsetDateTime, why: EndReason) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE sessions SET logout_time = $1, end_reason = $2 WHERE id = $3 AND logout_time IS NULL",
        )
        .bind(to_micros(at))
        .bind(why.as_str())
        .bind(id)
        .execute(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(done.rows_affected() > 0)
    }

    async fn end_user_sessions(
        &self,
        user: UserId,
        except: Option<&str>,
        at: OffsetDateTime,
        why: EndReason,
    ) -> StoreResult<Vec<String>> {
        sqlx::query_scalar(
            "UPDATE sessions SET logout_time = $1, end_reason = $2
             WHERE user_id = $3 AND logout_time IS NULL AND id IS DISTINCT FROM $4
             RETURNING id",
        )
        .bind(to_micros(at))
        .bind(why.as_str())
        .bind(user)
        .bind(except)
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)
    }

    /// One statement for the whole batch; `GREATEST` keeps the latest activity whichever
    /// node recorded it.
    async fn server_known(&self, server: &str) -> StoreResult<bool> {
        let found: Option<i64> = sqlx::query_scalar(
            "SELECT 1::BIGINT FROM sessions WHERE lower(server) = lower($1) LIMIT 1",
        )
        .bind(server)
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(found.is_some())
    }

    async fn update_reported_session(
        &self,
        id: &str,
        c: &ReportedChange,
        at: OffsetDateTime,
    ) -> StoreResult<bool> {
        let shares = c.shares.as_ref().map(crate::rows::json_text).transpose()?;
        let done = sqlx::query(
            "UPDATE sessions SET
                num_opens = COALESCE($1, num_opens),
                client_type = COALESCE($2, client_type),
                transport = COALESCE($3, transport),
                shares = COALESCE($4, shares),
                last_active = CASE WHEN last_active < $5 THEN $5 ELSE last_active END
             WHERE id = $6 AND logout_time IS NULL",
        )
        .bind(c.num_opens)
        .bind(&c.client_type)
        .bind(&c.transport)
        .bind(shares)
        .bind(to_micros(at))
        .bind(id)
        .execute(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(done.rows_affected() > 0)
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

    async fn end_stale_sessions(
        &self,
        now: OffsetDateTime,
        idle_before: Option<OffsetDateTime>,
    ) -> StoreResult<Vec<(String, EndReason)>> {
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        let expired: Vec<String> = sqlx::query_scalar(
            "UPDATE sessions SET logout_time = expires_at, end_reason = 'expired'
             WHERE logout_time IS NULL AND expires_at IS NOT NULL AND expires_at <= $1
             RETURNING id",
        )
        .bind(to_micros(now))
        .fetch_all(&mut *tx)
        .await
        .map_err(map_err)?;
        let idle: Vec<String> = match idle_before {
            Some(cutoff) => sqlx::query_scalar(
                "UPDATE sessions SET logout_time = $1, end_reason = 'idle'
                 WHERE logout_time IS NULL AND last_active <= $2 AND auth_method <> 'reported'
                 RETURNING id",
            )
            .bind(to_micros(now))
            .bind(to_micros(cutoff))
            .fetch_all(&mut *tx)
            .await
            .map_err(map_err)?,
            None => vec![],
        };
        tx.commit().await.map_err(map_err)?;
        Ok(expired
            .into_iter()
            .map(|id| (id, EndReason::Expired))
            .chain(idle.into_iter().map(|id| (id, EndReason::Idle)))
            .collect())
    }

    async fn purge_sessions(&self, ended_before: OffsetDateTime) -> StoreResult<u64> {
        let done =
            sqlx::query("DELETE FROM sessions WHERE logout_time IS NOT NULL AND logout_time < $1")
                .bind(to_micros(ended_before))
                .execute(&self.pool)
                .await
                .map_err(map_err)?;
        Ok(done.rows_affected())
    }

    async fn insert_access_token(&self, t: &AccessToken, hash: &TokenHash) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO access_tokens (id, token_hash, user_id, creator_id, creation_time, expiration_time, enabled)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&t.id)
        .bind(&hash.0[..])
        .bind(t.user_id)
        .bind(t.creator_id)
        .bind(to_micros(t.creation_time))
        .bind(t.expiration_time.map(to_micros))
        .bind(t.enabled)
        .execute(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn access_token_by_hash(&self, hash: &TokenHash) -> StoreResult<Option<AccessToken>> {
        sqlx::query("SELECT * FROM access_tokens WHERE token_hash = $1")
            .bind(&hash.0[..])
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?
            .as_ref()
            .map(access_token_from_row)
            .transpose()
    }

    async fn get_access_token(&self, id: &str) -> StoreResult<Option<AccessToken>> {
        sqlx::query("SELECT * FROM access_tokens WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?
            .as_ref()
            .map(access_token_from_row)
            .transpose()
    }

    async fn list_access_tokens(&self, f: &AccessTokenFilter) -> StoreResult<Vec<AccessToken>> {
        sqlx::query(
            "SELECT * FROM access_tokens
             WHERE ($1 IS NULL OR user_id = $1) AND ($2 IS NULL OR id > $2)
             ORDER BY id LIMIT $3",
        )
        .bind(f.user_id)
        .bind(&f.after)
        .bind(f.limit as i64)
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?
        .iter()
        .map(access_token_from_row)
        .collect()
    }

    async fn update_access_token(
        &self,
        id: &str,
        enabled: Option<bool>,
        expiration: Option<Option<OffsetDateTime>>,
    ) -> StoreResult<Option<AccessToken>> {
        sqlx::query(
            "UPDATE access_tokens SET
                enabled = COALESCE($1, enabled),
                expiration_time = CASE WHEN $2 THEN $3 ELSE expiration_time END
             WHERE id = $4
             RETURNING *",
        )
        .bind(enabled)
        .bind(expiration.is_some())
        .bind(expiration.flatten().map(to_micros))
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?
        .as_ref()
        .map(access_token_from_row)
        .transpose()
    }

    async fn delete_access_token(&self, id: &str) -> StoreResult<bool> {
        let done = sqlx::query("DELETE FROM access_tokens WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(done.rows_affected() > 0)
    }

    async fn record_login_failure(
        &self,
        user: UserId,
        now: OffsetDateTime,
        window_start_after: OffsetDateTime,
    ) -> StoreResult<u32> {
        let n: i64 = sqlx::query_scalar(
            "INSERT INTO login_failures (user_id, failures, window_start) VALUES ($1, 1, $2)
             ON CONFLICT (user_id) DO UPDATE SET
                failures = CASE WHEN login_failures.window_start < $3 THEN 1
                                ELSE login_failures.failures + 1 END,
                window_start = CASE WHEN login_failures.window_start < $3 THEN $2
                                    ELSE login_failures.window_start END
             RETURNING failures",
        )
        .bind(user)
        .bind(to_micros(now))
        .bind(to_micros(window_start_after))
        .fetch_one(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(n.max(0) as u32)
    }

    async fn lock_login(&self, user: UserId, until: OffsetDateTime) -> StoreResult<()> {
        sqlx::query("UPDATE login_failures SET locked_until = $1 WHERE user_id = $2")
            .bind(to_micros(until))
            .bind(user)
            .execute(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn login_locked_until(&self, user: UserId) -> StoreResult<Option<OffsetDateTime>> {
        let t: Option<Option<i64>> =
            sqlx::query_scalar("SELECT locked_until FROM login_failures WHERE user_id = $1")
                .bind(user)
                .fetch_optional(&self.pool)
                .await
                .map_err(map_err)?;
        Ok(t.flatten().map(from_micros))
    }

    async fn clear_login_failures(&self, user: UserId) -> StoreResult<()> {
        sqlx::query("DELETE FROM login_failures WHERE user_id = $1")
            .bind(user)
            .execute(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn insert_user_key(&self, k: &UserPublicKey) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO user_keys (id, user_id, public_key, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(&k.id)
        .bind(k.user_id)
        .bind(&k.public_key)
        .bind(to_micros(k.created_at))
        .execute(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn list_user_keys(&self, user: UserId) -> StoreResult<Vec<UserPublicKey>> {
        let rows: Vec<(String, i64, String, i64)> = sqlx::query_as(
            "SELECT id, user_id, public_key, created_at FROM user_keys WHERE user_id = $1 ORDER BY created_at, id",
        )
        .bind(user)
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(rows
            .into_iter()
            .map(|(id, user_id, public_key, created)| UserPublicKey {
                id,
                user_id,
                public_key,
                created_at: from_micros(created),
            })
            .collect())
    }

    async fn delete_user_key(&self, user: UserId, id: &str) -> StoreResult<bool> {
        let done = sqlx::query("DELETE FROM user_keys WHERE user_id = $1 AND id = $2")
            .bind(user)
            .bind(id)
            .execute(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(done.rows_affected() > 0)
    }

    async fn insert_app(&self, a: &App) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO apps (app_id, name, public_key, permissions, users, enabled, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&a.app_id)
        .bind(&a.name)
        .bind(&a.public_key)
        .bind(crate::rows::json_text(&a.permissions)?)
        .bind(crate::rows::json_text(&a.users)?)
        .bind(a.enabled)
        .bind(to_micros(a.created_at))
        .execute(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn update_app(&self, a: &App) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE apps SET name = $1, public_key = $2, permissions = $3, users = $4, enabled = $5
             WHERE app_id = $6",
        )
        .bind(&a.name)
        .bind(&a.public_key)
        .bind(crate::rows::json_text(&a.permissions)?)
        .bind(crate::rows::json_text(&a.users)?)
        .bind(a.enabled)
        .bind(&a.app_id)
        .execute(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(done.rows_affected() > 0)
    }

    async fn get_app(&self, app_id: &str) -> StoreResult<Option<App>> {
        sqlx::query("SELECT * FROM apps WHERE app_id = $1")
            .bind(app_id)
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?
            .as_ref()
            .map(app_from_row)
            .transpose()
    }

    async fn list_apps(&self) -> StoreResult<Vec<App>> {
        sqlx::query("SELECT * FROM apps ORDER BY app_id")
            .fetch_all(&self.pool)
            .await
            .map_err(map_err)?
            .iter()
            .map(app_from_row)
            .collect()
    }

    async fn delete_app(&self, app_id: &str) -> StoreResult<bool> {
        let done = sqlx::query("DELETE FROM apps WHERE app_id = $1")
            .bind(app_id)
            .execute(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(done.rows_affected() > 0)
    }

    async fn insert_app_session(
        &self,
        token: &TokenHash,
        app_id: &str,
        created: OffsetDateTime,
        expires: OffsetDateTime,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO app_sessions (token_hash, app_id, created_at, expires_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(&token.0[..])
        .bind(app_id)
        .bind(to_micros(created))
        .bind(to_micros(expires))
        .execute(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn app_session(
        &self,
        token: &TokenHash,
    ) -> StoreResult<Option<(String, OffsetDateTime)>> {
        let row: Option<(String, i64)> =
            sqlx::query_as("SELECT app_id, expires_at FROM app_sessions WHERE token_hash = $1")
                .bind(&token.0[..])
                .fetch_optional(&self.pool)
                .await
                .map_err(map_err)?;
        Ok(row.map(|(a, e)| (a, from_micros(e))))
    }

    async fn append_audit(&self, e: &AuditEvent) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO audit (time, kind, actor_id, actor_name, session_id, client, subject, detail)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(to_micros(e.time))
        .bind(e.kind.as_str())
        .bind(e.actor_id)
        .bind(&e.actor_name)
        .bind(&e.session_id)
        .bind(&e.client)
        .bind(&e.subject)
        .bind(&e.detail)
        .execute(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn list_audit(&self, f: &AuditFilter) -> StoreResult<Vec<AuditEvent>> {
        let mut q: QueryBuilder<Postgres> = QueryBuilder::new("SELECT * FROM audit WHERE TRUE");
        if let Some(a) = f.actor_id {
            q.push(" AND actor_id = ").push_bind(a);
        }
        if let Some(k) = f.kind {
            q.push(" AND kind = ").push_bind(k.as_str());
        }
        if let Some(s) = f.since {
            q.push(" AND time >= ").push_bind(to_micros(s));
        }
        q.push(" ORDER BY id DESC");
        if let Some(l) = f.limit {
            q.push(" LIMIT ").push_bind(l as i64);
        }
        q.build()
            .fetch_all(&self.pool)
            .await
            .map_err(map_err)?
            .iter()
            .map(audit_from_row)
            .collect()
    }

    async fn purge_audit(&self, before: OffsetDateTime) -> StoreResult<u64> {
        let done = sqlx::query("DELETE FROM audit WHERE time < $1")
            .bind(to_micros(before))
            .execute(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(done.rows_affected())
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
