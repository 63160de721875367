//! The `Store` implementation both engines share. The SQL is written once, in the dialect
//! both understand (`$1` parameters, `lower()` for case-insensitive names, `ON CONFLICT`,
//! `RETURNING`); each engine passes the few pieces that differ (how new ids are drawn) and
//! adds the methods it does its own way (a batched activity write, change notifications).

macro_rules! shared_store {
    (
        store: $store:ty,
        db: $db:ty,
        row: $row:ty,
        next_user_id: $next_user_id:expr,
        next_group_id: $next_group_id:expr,
        own: { $($own:item)* }
    ) => {
        const INSERT_SESSION: &str = "INSERT INTO sessions (id, token_hash, user_id, server, client_name, client_type, console_type,
                transport, auth_method, actor, access_token_id, browser_session_id, login_time, last_active,
                expires_at, logout_time, end_reason, num_opens, user_flags, shares, idle_timeout_us)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21)";

        fn bind_session<'q>(
            q: sqlx::query::Query<'q, $db, <$db as sqlx::Database>::Arguments<'q>>,
            s: &'q Session,
            token: &'q TokenHash,
        ) -> sqlx::query::Query<'q, $db, <$db as sqlx::Database>::Arguments<'q>> {
            q.bind(&s.id)
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
                .bind(s.idle_timeout.map(micros_of))
        }

        fn micros_of(d: time::Duration) -> i64 {
            i64::try_from(d.whole_microseconds()).unwrap_or(i64::MAX)
        }

        fn session_and_token(r: &$row) -> StoreResult<(Session, TokenHash)> {
            let hash: Vec<u8> = r.try_get("token_hash").map_err(map_err)?;
            let hash = <[u8; 32]>::try_from(hash.as_slice())
                .map_err(|_| StoreError::Other("a token hash is not 32 bytes".into()))?;
            Ok((session_from_row(r)?, TokenHash(hash)))
        }

        crate::webhooks::webhook_queries!(db: $db, row: $row);

        #[async_trait::async_trait]
        impl Store for $store {
            $($own)*

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

            async fn count_users(&self) -> StoreResult<i64> {
                sqlx::query_scalar("SELECT COUNT(*) FROM users")
                    .fetch_one(&self.pool)
                    .await
                    .map_err(map_err)
            }

            async fn insert_user(&self, u: &NewUser, now: OffsetDateTime) -> StoreResult<User> {
                let mut tx = self.pool.begin().await.map_err(map_err)?;
                let id: i64 = sqlx::query_scalar(&format!(
                    "INSERT INTO users (id, name, account_type, primary_group, can_change_password, enabled,
                                        password_hash, profile, created_at, updated_at, directory_dn)
                     VALUES (COALESCE($1, {next_user_id}), $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
                     RETURNING id",
                    next_user_id = $next_user_id
                ))
                .bind(u.id)
                .bind(&u.name)
                .bind(u.account_type.as_str())
                .bind(u.primary_group)
                .bind(u.can_change_password)
                .bind(u.enabled)
                .bind(&u.password_hash)
                .bind(profile_json(&u.profile)?)
                .bind(to_micros(now))
                .bind(to_micros(now))
                .bind(&u.directory_dn)
                .fetch_one(&mut *tx)
                .await
                .map_err(map_err)?;
                for role in &u.roles {
                    sqlx::query("INSERT INTO user_roles (user_id, role) VALUES ($1, $2)")
                        .bind(id)
                        .bind(role)
                        .execute(&mut *tx)
                        .await
                        .map_err(map_err)?;
                }
                sqlx::query("INSERT INTO group_members (group_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING")
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
                let done = sqlx::query(
                    "UPDATE users SET
                        name = COALESCE($1, name),
                        account_type = COALESCE($2, account_type),
                        primary_group = COALESCE($3, primary_group),
                        can_change_password = COALESCE($4, can_change_password),
                        enabled = COALESCE($5, enabled),
                        password_hash = COALESCE($6, password_hash),
                        profile = COALESCE($7, profile),
                        updated_at = COALESCE($8, updated_at),
                        directory_dn = COALESCE($10, directory_dn)
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
                .bind(&c.directory_dn)
                .execute(&self.pool)
                .await
                .map_err(map_err)?;
                if done.rows_affected() == 0 {
                    return Err(StoreError::NotFound(format!("no user with id {id}")));
                }
                if let Some(g) = c.primary_group {
                    self.add_group_member(g, id).await?;
                }
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
                let exists: Option<i64> = sqlx::query_scalar("SELECT id FROM users WHERE id = $1")
                    .bind(id)
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(map_err)?;
                if exists.is_none() {
                    return Err(StoreError::NotFound(format!("no user with id {id}")));
                }
                sqlx::query("DELETE FROM user_roles WHERE user_id = $1")
                    .bind(id)
                    .execute(&mut *tx)
                    .await
                    .map_err(map_err)?;
                let mut roles = roles.to_vec();
                roles.sort();
                roles.dedup();
                for role in &roles {
                    sqlx::query("INSERT INTO user_roles (user_id, role) VALUES ($1, $2)")
                        .bind(id)
                        .bind(role)
                        .execute(&mut *tx)
                        .await
                        .map_err(|e| match map_err(e) {
                            StoreError::Other(_) | StoreError::Conflict(_) => {
                                StoreError::NotFound(format!("no role named {role:?}"))
                            }
                            other => other,
                        })?;
                }
                tx.commit().await.map_err(map_err)
            }

            async fn insert_group(&self, id: Option<GroupId>, name: &str) -> StoreResult<Group> {
                let id: i64 = sqlx::query_scalar(&format!(
                    "INSERT INTO groups (id, name) VALUES (COALESCE($1, {next_group_id}), $2)
                     RETURNING id",
                    next_group_id = $next_group_id
                ))
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
                sqlx::query("INSERT INTO group_members (group_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING")
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
                let roles: Vec<crate::rows::RoleRow> = sqlx::query_as(
                    "SELECT r.name, r.description, r.builtin, p.idle_timeout_us, p.lifetime_us, p.max_sessions
                     FROM roles r LEFT JOIN role_policies p ON p.role = r.name ORDER BY r.name",
                )
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

            async fn put_role(&self, role: &Role) -> StoreResult<()> {
                let mut tx = self.pool.begin().await.map_err(map_err)?;
                sqlx::query(
                    "INSERT INTO roles (name, description, builtin) VALUES ($1, $2, $3)
                     ON CONFLICT(name) DO UPDATE SET description = excluded.description, builtin = excluded.builtin",
                )
                .bind(&role.name)
                .bind(&role.description)
                .bind(role.builtin)
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
                sqlx::query("DELETE FROM role_privileges WHERE role = $1")
                    .bind(&role.name)
                    .execute(&mut *tx)
                    .await
                    .map_err(map_err)?;
                for p in role.privileges.iter() {
                    // DO NOTHING: nodes starting together write the built-in roles at once.
                    sqlx::query(
                        "INSERT INTO role_privileges (role, privilege) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                    )
                        .bind(&role.name)
                        .bind(p.as_str())
                        .execute(&mut *tx)
                        .await
                        .map_err(map_err)?;
                }
                tx.commit().await.map_err(map_err)
            }

            async fn set_role_policy(&self, role: &str, p: &RolePolicy) -> StoreResult<bool> {
                let mut tx = self.pool.begin().await.map_err(map_err)?;
                let known: Option<String> = sqlx::query_scalar("SELECT name FROM roles WHERE name = $1")
                    .bind(role)
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(map_err)?;
                if known.is_none() {
                    // At once: a dropped transaction is rolled back only when its connection
                    // is next used, holding its locks till then.
                    tx.rollback().await.map_err(map_err)?;
                    return Ok(false);
                }
                sqlx::query("DELETE FROM role_policies WHERE role = $1")
                    .bind(role)
                    .execute(&mut *tx)
                    .await
                    .map_err(map_err)?;
                if !p.is_empty() {
                    sqlx::query(
                        "INSERT INTO role_policies (role, idle_timeout_us, lifetime_us, max_sessions)
                         VALUES ($1, $2, $3, $4)",
                    )
                    .bind(role)
                    .bind(p.idle_timeout.map(micros_of))
                    .bind(p.lifetime.map(micros_of))
                    .bind(p.max_sessions.map(i64::from))
                    .execute(&mut *tx)
                    .await
                    .map_err(map_err)?;
                }
                tx.commit().await.map_err(map_err)?;
                Ok(true)
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
                bind_session(sqlx::query(INSERT_SESSION), s, token)
                    .execute(&self.pool)
                    .await
                    .map_err(map_err)?;
                Ok(())
            }

            async fn insert_sessions(&self, sessions: &[(Session, TokenHash)]) -> StoreResult<()> {
                let mut tx = self.pool.begin().await.map_err(map_err)?;
                for (s, token) in sessions {
                    bind_session(sqlx::query(INSERT_SESSION), s, token)
                        .execute(&mut *tx)
                        .await
                        .map_err(map_err)?;
                }
                tx.commit().await.map_err(map_err)
            }

            async fn sessions_by_tokens(&self, tokens: &[TokenHash]) -> StoreResult<SessionPage> {
                if tokens.is_empty() {
                    return Ok(vec![]);
                }
                let mut q: QueryBuilder<$db> =
                    QueryBuilder::new("SELECT * FROM sessions WHERE token_hash IN (");
                let mut list = q.separated(", ");
                for t in tokens {
                    list.push_bind(t.0.to_vec());
                }
                q.push(")");
                q.build()
                    .fetch_all(&self.pool)
                    .await
                    .map_err(map_err)?
                    .iter()
                    .map(session_and_token)
                    .collect()
            }

            async fn active_sessions_after(
                &self,
                after: &str,
                limit: u32,
            ) -> StoreResult<Vec<(Session, TokenHash)>> {
                // By the primary key, so that each page is a range read however many
                // sessions there are. The unary `+` keeps SQLite from the partial index on
                // active sessions, which would sort them all for every page.
                sqlx::query(
                    "SELECT * FROM sessions
                     WHERE id > $1 AND +logout_time IS NULL AND auth_method <> 'reported'
                     ORDER BY id LIMIT $2",
                )
                .bind(after)
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await
                .map_err(map_err)?
                .iter()
                .map(session_and_token)
                .collect()
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

            async fn set_session_expiry(
                &self,
                id: &str,
                until: Option<OffsetDateTime>,
            ) -> StoreResult<bool> {
                let done = sqlx::query(
                    "UPDATE sessions SET expires_at = $1 WHERE id = $2 AND logout_time IS NULL",
                )
                .bind(until.map(to_micros))
                .bind(id)
                .execute(&self.pool)
                .await
                .map_err(map_err)?;
                Ok(done.rows_affected() > 0)
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
                let mut q: QueryBuilder<$db> = QueryBuilder::new("SELECT * FROM sessions WHERE 1 = 1");
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
                     WHERE user_id = $3 AND logout_time IS NULL AND ($4 IS NULL OR id <> $4)
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

            async fn user_names(
                &self,
                ids: &[UserId],
            ) -> StoreResult<std::collections::HashMap<UserId, String>> {
                let mut out = std::collections::HashMap::with_capacity(ids.len());
                // In chunks, well under either engine's limit on bound parameters.
                for chunk in ids.chunks(500) {
                    let mut q: QueryBuilder<$db> =
                        QueryBuilder::new("SELECT id, name FROM users WHERE id IN (");
                    let mut list = q.separated(", ");
                    for id in chunk {
                        list.push_bind(*id);
                    }
                    q.push(")");
                    let rows: Vec<(i64, String)> = q
                        .build_query_as()
                        .fetch_all(&self.pool)
                        .await
                        .map_err(map_err)?;
                    out.extend(rows);
                }
                Ok(out)
            }

            async fn active_sessions_by_server(&self) -> StoreResult<Vec<(String, i64)>> {
                sqlx::query_as(
                    "SELECT server, COUNT(*) FROM sessions WHERE logout_time IS NULL \
                     GROUP BY server ORDER BY server",
                )
                .fetch_all(&self.pool)
                .await
                .map_err(map_err)
            }

            async fn server_known(&self, server: &str) -> StoreResult<bool> {
                let found: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM (SELECT 1 FROM sessions WHERE lower(server) = lower($1) LIMIT 1) AS hit",
                )
                .bind(server)
                .fetch_one(&self.pool)
                .await
                .map_err(map_err)?;
                Ok(found > 0)
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
                let mut idle: Vec<String> = match idle_before {
                    Some(cutoff) => sqlx::query_scalar(
                        "UPDATE sessions SET logout_time = $1, end_reason = 'idle'
                         WHERE logout_time IS NULL AND idle_timeout_us IS NULL AND last_active <= $2
                           AND auth_method != 'reported'
                         RETURNING id",
                    )
                    .bind(to_micros(now))
                    .bind(to_micros(cutoff))
                    .fetch_all(&mut *tx)
                    .await
                    .map_err(map_err)?,
                    None => vec![],
                };
                // Sessions opened under a role's own idle time-out.
                idle.extend(
                    sqlx::query_scalar::<_, String>(
                        "UPDATE sessions SET logout_time = $1, end_reason = 'idle'
                         WHERE logout_time IS NULL AND idle_timeout_us IS NOT NULL
                           AND last_active + idle_timeout_us <= $1 AND auth_method != 'reported'
                         RETURNING id",
                    )
                    .bind(to_micros(now))
                    .fetch_all(&mut *tx)
                    .await
                    .map_err(map_err)?,
                );
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
                name: &str,
                address: &str,
                now: OffsetDateTime,
                since: OffsetDateTime,
            ) -> StoreResult<LoginFailures> {
                let mut tx = self.pool.begin().await.map_err(map_err)?;
                sqlx::query("DELETE FROM login_failures WHERE name = $1 AND at < $2")
                    .bind(name)
                    .bind(to_micros(since))
                    .execute(&mut *tx)
                    .await
                    .map_err(map_err)?;
                sqlx::query("INSERT INTO login_failures (name, address, at) VALUES ($1, $2, $3)")
                    .bind(name)
                    .bind(address)
                    .bind(to_micros(now))
                    .execute(&mut *tx)
                    .await
                    .map_err(map_err)?;
                let (failures, addresses): (i64, i64) = sqlx::query_as(
                    "SELECT COUNT(*), COUNT(DISTINCT address) FROM login_failures WHERE name = $1",
                )
                .bind(name)
                .fetch_one(&mut *tx)
                .await
                .map_err(map_err)?;
                tx.commit().await.map_err(map_err)?;
                Ok(LoginFailures {
                    failures: failures.clamp(0, u32::MAX as i64) as u32,
                    addresses: addresses.clamp(0, u32::MAX as i64) as u32,
                })
            }

            async fn lock_login(&self, name: &str, until: OffsetDateTime) -> StoreResult<()> {
                sqlx::query(
                    "INSERT INTO login_locks (name, locked_until) VALUES ($1, $2)
                     ON CONFLICT (name) DO UPDATE SET locked_until = excluded.locked_until",
                )
                .bind(name)
                .bind(to_micros(until))
                .execute(&self.pool)
                .await
                .map_err(map_err)?;
                Ok(())
            }

            async fn login_locked_until(&self, name: &str) -> StoreResult<Option<OffsetDateTime>> {
                let t: Option<i64> =
                    sqlx::query_scalar("SELECT locked_until FROM login_locks WHERE name = $1")
                        .bind(name)
                        .fetch_optional(&self.pool)
                        .await
                        .map_err(map_err)?;
                Ok(t.map(from_micros))
            }

            async fn list_login_locks(
                &self,
                now: OffsetDateTime,
            ) -> StoreResult<Vec<(String, OffsetDateTime)>> {
                let rows: Vec<(String, i64)> = sqlx::query_as(
                    "SELECT name, locked_until FROM login_locks WHERE locked_until > $1
                     ORDER BY locked_until DESC, name LIMIT 1000",
                )
                .bind(to_micros(now))
                .fetch_all(&self.pool)
                .await
                .map_err(map_err)?;
                Ok(rows.into_iter().map(|(n, t)| (n, from_micros(t))).collect())
            }

            async fn clear_login_failures(&self, name: &str) -> StoreResult<()> {
                let mut tx = self.pool.begin().await.map_err(map_err)?;
                for sql in [
                    "DELETE FROM login_failures WHERE name = $1",
                    "DELETE FROM login_locks WHERE name = $1",
                ] {
                    sqlx::query(sql)
                        .bind(name)
                        .execute(&mut *tx)
                        .await
                        .map_err(map_err)?;
                }
                tx.commit().await.map_err(map_err)?;
                Ok(())
            }

            async fn purge_login_failures(&self, before: OffsetDateTime) -> StoreResult<u64> {
                let mut purged = 0;
                for sql in [
                    "DELETE FROM login_failures WHERE at < $1",
                    "DELETE FROM login_locks WHERE locked_until < $1",
                ] {
                    purged += sqlx::query(sql)
                        .bind(to_micros(before))
                        .execute(&self.pool)
                        .await
                        .map_err(map_err)?
                        .rows_affected();
                }
                Ok(purged)
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

            // Webhooks: the queries are in `webhooks.rs`.
            async fn insert_webhook(&self, w: &sessiond_core::webhook::NewWebhook) -> StoreResult<()> {
                webhook_sql::insert(&self.pool, w).await
            }
            async fn list_webhooks(&self) -> StoreResult<Vec<sessiond_core::webhook::WebhookEndpoint>> {
                webhook_sql::list(&self.pool).await
            }
            async fn get_webhook(
                &self,
                id: &str,
            ) -> StoreResult<Option<sessiond_core::webhook::WebhookEndpoint>> {
                webhook_sql::get(&self.pool, id).await
            }
            async fn delete_webhook(&self, id: &str) -> StoreResult<bool> {
                webhook_sql::delete(&self.pool, id).await
            }
            async fn rotate_webhook_secret(
                &self,
                id: &str,
                secret: &sessiond_core::webhook::WebhookSecret,
                previous_until: OffsetDateTime,
            ) -> StoreResult<bool> {
                webhook_sql::rotate(&self.pool, id, secret, previous_until).await
            }
            async fn claim_webhooks(
                &self,
                owner: &str,
                now: OffsetDateTime,
                lease_until: OffsetDateTime,
            ) -> StoreResult<Vec<sessiond_core::webhook::WebhookEndpoint>> {
                webhook_sql::claim(&self.pool, owner, now, lease_until).await
            }
            async fn queued_events(
                &self,
                endpoint: &str,
                limit: u32,
            ) -> StoreResult<Vec<(sessiond_core::webhook::Event, i64)>> {
                webhook_sql::queued(&self.pool, endpoint, limit).await
            }
            async fn webhook_delivered(
                &self,
                endpoint: &str,
                event_id: i64,
                at: OffsetDateTime,
                lease_until: OffsetDateTime,
            ) -> StoreResult<()> {
                webhook_sql::delivered(&self.pool, endpoint, event_id, at, lease_until).await
            }
            async fn webhook_failed(
                &self,
                endpoint: &str,
                f: &sessiond_core::webhook::FailedAttempt<'_>,
            ) -> StoreResult<u64> {
                webhook_sql::failed(&self.pool, endpoint, f).await
            }
            async fn release_webhook(&self, endpoint: &str, owner: &str) -> StoreResult<()> {
                webhook_sql::release(&self.pool, endpoint, owner).await
            }
            async fn dead_letters(
                &self,
                endpoint: &str,
            ) -> StoreResult<Vec<sessiond_core::webhook::DeadLetter>> {
                webhook_sql::dead_letters(&self.pool, endpoint).await
            }
            async fn replay_dead_letters(&self, endpoint: &str) -> StoreResult<u64> {
                webhook_sql::replay(&self.pool, endpoint).await
            }
            async fn purge_events(
                &self,
                now: OffsetDateTime,
                dead_before: OffsetDateTime,
            ) -> StoreResult<u64> {
                webhook_sql::purge(&self.pool, now, dead_before).await
            }
            async fn list_events(&self) -> StoreResult<Vec<sessiond_core::webhook::Event>> {
                webhook_sql::events(&self.pool).await
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
                let mut q: QueryBuilder<$db> = QueryBuilder::new("SELECT * FROM audit WHERE 1 = 1");
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
    };
}

pub(crate) use shared_store;
