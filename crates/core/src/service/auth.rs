//! Login, the hot path (who is behind this token?), logout and privilege checks.

use std::sync::Arc;

use time::OffsetDateTime;

use super::Core;
use crate::cache::{CachedAuth, CachedCredential, Grants};
use crate::cached_session::CachedSession;
use crate::error::{AuthFailure, CoreError, CoreResult};
use crate::model::{AccessToken, AuditKind, AuthMethod, Credential, EndReason, Session, User};
use crate::privilege::{Privilege, PrivilegeSet};
use crate::secret::{Token, TokenHash};
use crate::validate;

/// Bearer strings of access tokens start with this (as Qumulo's do).
pub const ACCESS_TOKEN_PREFIX: &str = "access-v1:";

/// Where a login comes from, as the dialect saw it.
#[derive(Debug, Clone)]
pub struct LoginContext {
    /// The dialect (or other way in) the login came through, for the metrics.
    pub via: &'static str,
    pub client_name: String,
    pub client_type: String,
    pub console_type: i32,
    pub transport: Option<String>,
    pub auth_method: AuthMethod,
}

/// A session just opened: its token (shown once) and the caller it stands for, already in
/// the hot cache, so the dialect needs no second look-up.
pub struct LoginOutcome {
    /// Handed to the client once; only its hash is kept.
    pub token: Token,
    pub session: Session,
    pub principal: Principal,
}

impl LoginOutcome {
    pub fn user(&self) -> &User {
        &self.principal.user
    }
}

/// Who is behind a request: a user, through a session or an access token. It shares the
/// cache entry rather than copying the session, so answering a cached token allocates
/// nothing.
#[derive(Debug, Clone)]
pub struct Principal {
    pub user: Arc<User>,
    pub privileges: PrivilegeSet,
    auth: Arc<CachedAuth>,
}

impl Principal {
    fn of(auth: Arc<CachedAuth>) -> Self {
        Principal {
            user: Arc::clone(&auth.grants.user),
            privileges: auth.grants.privileges,
            auth,
        }
    }

    pub fn has(&self, p: Privilege) -> bool {
        self.privileges.contains(&p)
    }

    /// The session as the hot cache keeps it (`CachedSession::to_session` gives it whole).
    pub fn session(&self) -> Option<&CachedSession> {
        self.auth.session()
    }

    /// When the caller's credential was last used (this request included).
    pub fn last_active(&self) -> OffsetDateTime {
        self.auth.last_active()
    }

    /// The user and privileges shared by every cached token of this user, with their
    /// privilege names rendered once.
    pub fn grants(&self) -> &Arc<Grants> {
        &self.auth.grants
    }

    pub(super) fn token(&self) -> &TokenHash {
        &self.auth.token
    }

    pub fn session_id(&self) -> Option<&str> {
        self.session().map(|s| s.id())
    }

    /// Set when the caller authenticated with an access token.
    pub fn access_token_id(&self) -> Option<&str> {
        self.access_token().map(|t| t.id.as_str())
    }

    /// The access token the caller used, if it used one.
    pub fn access_token(&self) -> Option<&AccessToken> {
        match &self.auth.credential {
            CachedCredential::AccessToken(t) => Some(t),
            CachedCredential::Session(_) => None,
        }
    }
}

/// Bounds what a login request may carry before any work is done on it.
const MAX_CLIENT_FIELD: usize = 256;

fn clip(s: &str) -> String {
    let mut out: String = s.chars().filter(|c| !c.is_control()).collect();
    if out.len() > MAX_CLIENT_FIELD {
        let mut end = MAX_CLIENT_FIELD;
        while !out.is_char_boundary(end) {
            end -= 1;
        }
        out.truncate(end);
    }
    out
}

impl Core {
    /// Checks a user name and password and opens a session.
    pub async fn login(
        &self,
        username: &str,
        password: &str,
        ctx: LoginContext,
    ) -> CoreResult<LoginOutcome> {
        let via = ctx.via;
        let result = self.login_uncounted(username, password, ctx).await;
        self.metrics.login(via, &result);
        result
    }

    async fn login_uncounted(
        &self,
        username: &str,
        password: &str,
        ctx: LoginContext,
    ) -> CoreResult<LoginOutcome> {
        if username.is_empty() || password.is_empty() {
            return Err(CoreError::Invalid(
                "username and password are both required".into(),
            ));
        }
        if username.len() > 256 || password.len() > validate::MAX_PASSWORD {
            return Err(CoreError::Unauthenticated(AuthFailure::BadCredentials));
        }
        self.guard_login(username, &ctx.client_name).await?;
        let user = self.store.get_user_by_name(username).await?;
        if let Some(source) = self.directory.get() {
            // A name sessiond does not own: the directory decides.
            if user.as_ref().is_none_or(|u| u.directory_dn.is_some()) {
                return self
                    .directory_login(source, username, password, user, ctx)
                    .await;
            }
        }
        // A name that is no user is checked against a dummy hash: same answer, same time.
        let ok = self
            .hasher
            .verify(
                password,
                user.as_ref().and_then(|u| u.password_hash.as_deref()),
            )
            .await?;
        let user = match user {
            Some(u) if ok => u,
            _ => {
                return Err(self
                    .wrong_password(
                        username,
                        user.as_ref(),
                        &ctx,
                        "invalid user name or password",
                    )
                    .await)
            }
        };
        self.admit_after_password(user, ctx).await
    }

    /// A wrong password (or a name that is no user; the caller cannot tell): logged,
    /// audited, counted toward the name's lockout; the error to answer.
    pub(super) async fn wrong_password(
        &self,
        username: &str,
        known: Option<&User>,
        ctx: &LoginContext,
        why: &str,
    ) -> CoreError {
        tracing::info!(user = %username, client = %ctx.client_name, "login failed: {why}");
        self.audit_raw(
            AuditKind::LoginFailed,
            known.map(|u| (u.id, u.name.clone())),
            None,
            Some(&ctx.client_name),
            Some(username),
            why,
        )
        .await;
        self.count_login_failure(username, &ctx.client_name).await
    }

    /// The checks after a right password (sessiond's own or the directory's), then the
    /// session.
    pub(super) async fn admit_after_password(
        &self,
        user: User,
        ctx: LoginContext,
    ) -> CoreResult<LoginOutcome> {
        self.refuse_if_disabled(&user, &ctx.client_name).await?;
        self.forget_login_failures(&user.name).await?;
        self.open_session_as(Arc::new(user), ctx, None).await
    }

    /// A login the client repeats on every request (HTTP Basic): the first opens a session,
    /// the next ones with the same user name, password and client reuse it while it lives.
    /// Returns the caller, and the token when a session was opened now.
    pub async fn login_repeated(
        &self,
        username: &str,
        password: &str,
        ctx: LoginContext,
    ) -> CoreResult<(Principal, Option<Token>)> {
        let key = self.repeated.key(username, password, &ctx.client_name);
        if let Some(hash) = self.repeated.get(&key) {
            match self.authenticate_hash(hash, None, Use::Counted).await {
                Ok(p) => return Ok((p, None)),
                Err(CoreError::Unauthenticated(_)) => self.repeated.forget(&key),
                Err(e) => return Err(e),
            }
        }
        let out = self.login(username, password, ctx).await?;
        self.repeated.remember(key, out.token.hash());
        Ok((out.principal, Some(out.token)))
    }

    /// Opens a session for a user whom an outside mechanism vouched for (a Kerberos
    /// principal, an RSA-signed JWT, an app acting on the user's behalf): the same rules as
    /// a password login apply (the user exists, is enabled and not locked out; all audited),
    /// only the password check is someone else's.
    pub async fn login_vouched(
        &self,
        username: &str,
        vouched_by: &str,
        ctx: LoginContext,
    ) -> CoreResult<LoginOutcome> {
        let via = ctx.via;
        let result = self
            .login_vouched_uncounted(username, vouched_by, ctx)
            .await;
        self.metrics.login(via, &result);
        result
    }

    async fn login_vouched_uncounted(
        &self,
        username: &str,
        vouched_by: &str,
        ctx: LoginContext,
    ) -> CoreResult<LoginOutcome> {
        let mut user = self.store.get_user_by_name(username).await?;
        if self.directory.get().is_some() && user.as_ref().is_none_or(|u| u.directory_dn.is_some())
        {
            // Re-read at every login: disabled or regrouped there counts at once.
            user = self.directory_user_for(username).await?.or(user);
        }
        let Some(user) = user else {
            tracing::info!(user = %username, client = %ctx.client_name, by = vouched_by, "login failed: no such user");
            self.audit_raw(
                AuditKind::LoginFailed,
                None,
                None,
                Some(&ctx.client_name),
                Some(username),
                &format!("{vouched_by} vouched for a name that is no user here"),
            )
            .await;
            return Err(CoreError::Unauthenticated(AuthFailure::BadCredentials));
        };
        self.admit_vouched(Arc::new(user), ctx, None).await
    }

    /// The checks of `login_vouched` for a user already loaded, then the session.
    pub(super) async fn admit_vouched(
        &self,
        user: Arc<User>,
        ctx: LoginContext,
        actor: Option<String>,
    ) -> CoreResult<LoginOutcome> {
        self.refuse_if_locked(&user.name, &ctx.client_name).await?;
        self.refuse_if_disabled(&user, &ctx.client_name).await?;
        self.open_session_as(user, ctx, actor).await
    }

    async fn refuse_if_disabled(&self, user: &User, client: &str) -> CoreResult<()> {
        if user.enabled {
            return Ok(());
        }
        self.audit_refused_login(user, client, "account disabled")
            .await;
        Err(CoreError::Forbidden("the account is disabled".into()))
    }

    /// Audits a login refused to a known user whose password (or voucher) was right.
    pub(super) async fn audit_refused_login(&self, user: &User, client: &str, why: &str) {
        self.audit_raw(
            AuditKind::LoginFailed,
            Some((user.id, user.name.clone())),
            None,
            Some(client),
            Some(&user.name),
            why,
        )
        .await;
    }

    /// Opens a session for a user already admitted, recording the app acting on the
    /// user's behalf, if any. The new token goes into the hot cache at once.
    async fn open_session_as(
        &self,
        admitted: Arc<User>,
        ctx: LoginContext,
        actor: Option<String>,
    ) -> CoreResult<LoginOutcome> {
        // `admitted` was read before the password (or voucher) check: a change to the user
        // or the roles during it must reach the new session as it reaches the others. So
        // the users epoch is noted, then the user taken from the cache or read again; the
        // token is cached only if the epoch has not moved by then (`insert_new`).
        let users_seen = self.cache.users_epoch();
        let grants = match self.cache.user(admitted.id) {
            Some(shared) => shared,
            None => {
                let Some(fresh) = self.store.get_user(admitted.id).await? else {
                    return Err(CoreError::Unauthenticated(AuthFailure::BadCredentials));
                };
                self.refuse_if_disabled(&fresh, &ctx.client_name).await?;
                let privileges = self.privileges_of(&fresh);
                Arc::new(Grants::new(fresh, privileges))
            }
        };
        let user = Arc::clone(&grants.user);
        let policy = self.policy_of(&user);
        self.enforce_session_cap(&user, &policy, &ctx.client_name)
            .await?;
        let now = self.clock.now();
        let token = Token::generate()?;
        let session = Session {
            id: uuid::Uuid::new_v4().to_string(),
            user_id: user.id,
            server: self.cfg.server_name.clone(),
            client_name: clip(&ctx.client_name),
            client_type: clip(&ctx.client_type),
            console_type: ctx.console_type,
            transport: ctx.transport.as_deref().map(clip),
            auth_method: ctx.auth_method,
            actor,
            access_token_id: None,
            browser_session_id: None,
            login_time: now,
            last_active: now,
            expires_at: policy.lifetime.map(|d| now + d),
            logout_time: None,
            end_reason: None,
            num_opens: 0,
            user_flags: 0,
            shares: vec![],
            idle_timeout: policy.idle_timeout,
        };
        self.store.insert_session(&session, &token.hash()).await?;
        self.sessions_changed();
        self.audit_raw(
            AuditKind::Login,
            Some((user.id, user.name.clone())),
            Some(&session.id),
            Some(&session.client_name),
            Some(&user.name),
            &match &session.actor {
                Some(app) => format!(
                    "session opened ({}, by app {app})",
                    session.auth_method.as_str()
                ),
                None => format!("session opened ({})", session.auth_method.as_str()),
            },
        )
        .await;
        tracing::info!(user = %user.name, session = %session.id, client = %session.client_name, "login");
        let entry = CachedAuth::new(token.hash(), Credential::Session(session.clone()), grants);
        let entry = self.cache.insert_new(entry, users_seen).entry;
        Ok(LoginOutcome {
            token,
            session,
            principal: Principal::of(entry),
        })
    }

    /// The hot path: who is behind this token? Served from memory; the store is read only
    /// when the token is not cached.
    pub async fn authenticate(&self, presented: &str) -> CoreResult<Principal> {
        if presented.is_empty() || presented.len() > 512 {
            return Err(CoreError::Unauthenticated(AuthFailure::InvalidToken));
        }
        self.authenticate_hash(TokenHash::of(presented), Some(presented), Use::Counted)
            .await
    }

    /// `authenticate` without recording a use: a resource server asking about a token
    /// (RFC 7662) is not the token's holder being active. The expiry and idle rules still
    /// apply (a session found past them ends here).
    pub(super) async fn look_up(&self, presented: &str) -> CoreResult<Principal> {
        if presented.is_empty() || presented.len() > 512 {
            return Err(CoreError::Unauthenticated(AuthFailure::InvalidToken));
        }
        self.authenticate_hash(TokenHash::of(presented), Some(presented), Use::Peek)
            .await
    }

    /// `authenticate` by the token's hash; without the token itself only a cached entry can
    /// answer.
    async fn authenticate_hash(
        &self,
        hash: TokenHash,
        presented: Option<&str>,
        how: Use,
    ) -> CoreResult<Principal> {
        let entry = match (self.cache.get(&hash), presented) {
            (Some(e), _) => {
                self.metrics.cache_hit();
                e
            }
            (None, Some(presented)) => {
                self.metrics.cache_miss();
                self.load(presented, hash).await?
            }
            (None, None) => return Err(CoreError::Unauthenticated(AuthFailure::InvalidToken)),
        };
        // Microseconds: a calendar date is built only when a session ends here.
        let now_us = self.clock.now_micros();
        match &entry.credential {
            CachedCredential::Session(session) => {
                if self.ended_by_rule(&entry, session, now_us) == Some(EndReason::Idle) {
                    self.catch_up_activity(&entry, session).await?;
                }
                if let Some(why) = self.ended_by_rule(&entry, session, now_us) {
                    let now = crate::clock::from_micros(now_us);
                    self.end_session_at(session.id(), now, why).await?;
                    return Err(CoreError::Unauthenticated(match why {
                        EndReason::Idle => AuthFailure::SessionIdle,
                        _ => AuthFailure::SessionExpired,
                    }));
                }
                if how == Use::Counted {
                    self.cache.touch_micros(&entry, now_us);
                }
            }
            CachedCredential::AccessToken(t) => {
                if !t.is_usable(crate::clock::from_micros(now_us)) {
                    self.forget_session(&t.id);
                    return Err(CoreError::Unauthenticated(AuthFailure::InvalidToken));
                }
            }
        }
        Ok(Principal::of(entry))
    }

    /// Whether the session is past its expiry or idle time-out at `now_us` (microseconds,
    /// as the cache keeps every instant).
    fn ended_by_rule(
        &self,
        e: &CachedAuth,
        session: &CachedSession,
        now_us: i64,
    ) -> Option<EndReason> {
        if session.expires_micros().is_some_and(|at| now_us >= at) {
            return Some(EndReason::Expired);
        }
        let idle = session.idle_timeout_micros().or_else(|| {
            self.cfg
                .idle_timeout
                .map(|d| i64::try_from(d.whole_microseconds()).unwrap_or(i64::MAX))
        });
        if idle.is_some_and(|idle| now_us.saturating_sub(e.last_active_micros()) >= idle) {
            return Some(EndReason::Idle);
        }
        None
    }

    /// Before calling a session idle, learns the activity other nodes recorded for it: with
    /// several nodes, this node's cache sees only its own requests.
    async fn catch_up_activity(
        &self,
        entry: &Arc<CachedAuth>,
        session: &CachedSession,
    ) -> CoreResult<()> {
        match self.store.get_session(session.id()).await? {
            Some(s) if s.is_active() => self.cache.touch(entry, s.last_active),
            Some(_) => {
                self.forget_session(session.id());
                return Err(CoreError::Unauthenticated(AuthFailure::SessionEnded));
            }
            None => return Err(CoreError::Unauthenticated(AuthFailure::InvalidToken)),
        }
        Ok(())
    }

    async fn load(&self, presented: &str, hash: TokenHash) -> CoreResult<Arc<CachedAuth>> {
        let epoch = self.cache.epoch();
        let credential = if presented.starts_with(ACCESS_TOKEN_PREFIX) {
            let t = self
                .store
                .access_token_by_hash(&hash)
                .await?
                .filter(|t| t.is_usable(self.clock.now()))
                .ok_or(CoreError::Unauthenticated(AuthFailure::InvalidToken))?;
            Credential::AccessToken(t)
        } else {
            let session = self
                .misses
                .session_by_token(hash)
                .await?
                .ok_or(CoreError::Unauthenticated(AuthFailure::InvalidToken))?;
            if !session.is_active() {
                return Err(CoreError::Unauthenticated(match session.end_reason {
                    Some(EndReason::Idle) => AuthFailure::SessionIdle,
                    Some(EndReason::Expired) => AuthFailure::SessionExpired,
                    _ => AuthFailure::SessionEnded,
                }));
            }
            Credential::Session(session)
        };
        let user_id = match &credential {
            Credential::Session(s) => s.user_id,
            Credential::AccessToken(t) => t.user_id,
        };
        // Every token of a user shares one copy of the user and its privileges.
        let grants = match self.cache.user(user_id) {
            Some(shared) => shared,
            None => {
                let user = self
                    .store
                    .get_user(user_id)
                    .await?
                    .filter(|u| u.enabled)
                    .ok_or(CoreError::Unauthenticated(AuthFailure::SessionEnded))?;
                let privileges = self.privileges_of(&user);
                Arc::new(Grants::new(user, privileges))
            }
        };
        let user = &grants.user;
        if let Credential::AccessToken(t) = &credential {
            // An access token is a login that lives in the cache: audit each time it is
            // taken up, not at every request.
            self.audit_raw(
                AuditKind::Login,
                Some((user.id, user.name.clone())),
                None,
                None,
                Some(&user.name),
                &format!("access token {} used", t.id),
            )
            .await;
        }
        let entry = CachedAuth::new(hash, credential, Arc::clone(&grants));
        Ok(self.cache.insert_if_current(entry, epoch).entry)
    }

    /// Gives the caller's session a new token and retires the one presented (Commvault's
    /// RenewLoginToken). Only a live session can be renewed.
    pub async fn renew_session_token(&self, p: &Principal) -> CoreResult<Token> {
        let Some(id) = p.session_id() else {
            return Err(CoreError::Invalid(
                "an access token has no session to renew".into(),
            ));
        };
        let token = Token::generate()?;
        if !self.store.replace_session_token(id, &token.hash()).await? {
            return Err(CoreError::Unauthenticated(AuthFailure::SessionEnded));
        }
        self.cache.evict_token(p.token());
        tracing::info!(user = %p.user.name, session = %id, "session token renewed");
        Ok(token)
    }

    /// Ends the caller's own session.
    pub async fn logout(&self, p: &Principal) -> CoreResult<()> {
        let Some(id) = p.session_id() else {
            return Err(CoreError::Invalid(
                "an access token has no session to log out of; delete the token instead".into(),
            ));
        };
        self.end_session_at(id, self.clock.now(), EndReason::Logout)
            .await?;
        self.cache.evict_token(p.token());
        self.audit_by(p, AuditKind::Logout, Some(id), "logged out")
            .await;
        tracing::info!(user = %p.user.name, session = %id, "logout");
        Ok(())
    }

    /// Ends one session in the store and the cache; a no-op if it already ended.
    pub(super) async fn end_session_at(
        &self,
        id: &str,
        at: OffsetDateTime,
        why: EndReason,
    ) -> CoreResult<bool> {
        // No flush first: eviction keeps the session's unwritten activity for the next
        // batch, which records it on the ended session too.
        let ended = self.store.end_session(id, at, why).await?;
        self.forget_session(id);
        if ended && matches!(why, EndReason::Idle | EndReason::Expired) {
            self.audit_raw(
                AuditKind::SessionEnded,
                None,
                Some(id),
                None,
                None,
                &format!("session ended ({})", why.as_str()),
            )
            .await;
        }
        Ok(ended)
    }

    /// Fails with 403 (and an audit line) unless the caller holds `privilege`.
    pub async fn require(&self, p: &Principal, privilege: Privilege) -> CoreResult<()> {
        if p.has(privilege) {
            return Ok(());
        }
        self.audit_by(
            p,
            AuditKind::Denied,
            None,
            &format!("missing privilege {privilege}"),
        )
        .await;
        Err(CoreError::MissingPrivilege(privilege))
    }
}

/// Whether a look-up of a token counts as its holder's activity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Use {
    Counted,
    Peek,
}
