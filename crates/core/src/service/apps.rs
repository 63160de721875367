//! Symphony-style authentication: users' RSA keys (bots log in with a signed JWT), extension
//! apps, and on-behalf-of (OBO) sessions that an app opens for the users it lists.

use std::sync::Arc;

use super::{Core, LoginContext, LoginOutcome, Principal};
use crate::error::{AuthFailure, CoreError, CoreResult};
use crate::jwt;
use crate::model::{App, AuditKind, AuthMethod, UserId, UserPublicKey};
use crate::privilege::Privilege;
use crate::secret::{Token, TokenHash};
use crate::validate;

/// Symphony's permission for reading a user's basic info through OBO.
pub const GET_BASIC_USER_INFO: &str = "GET_BASIC_USER_INFO";
pub const GET_EXTENDED_USER_INFO: &str = "GET_EXTENDED_USER_INFO";
pub const GET_EXTENDED_CONTACT_INFO: &str = "GET_EXTENDED_CONTACT_INFO";
const MAX_KEYS_PER_USER: usize = 8;

/// What a dialect asks of `register_app` and `change_app`.
#[derive(Debug, Clone, Default)]
pub struct AppSpec {
    pub name: Option<String>,
    pub public_key: Option<String>,
    pub permissions: Option<Vec<String>>,
    pub users: Option<Vec<UserId>>,
    pub enabled: Option<bool>,
}

fn unauthorized() -> CoreError {
    CoreError::Unauthenticated(AuthFailure::BadCredentials)
}

fn check_app_id(id: &str) -> CoreResult<()> {
    let ok = !id.is_empty()
        && id.len() <= 64
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(())
    } else {
        Err(CoreError::Invalid(
            "app_id must be 1 to 64 letters, digits, '-', '_' or '.'".into(),
        ))
    }
}

fn check_permissions(perms: &[String]) -> CoreResult<()> {
    if perms.len() > 64 {
        return Err(CoreError::Invalid("at most 64 permissions".into()));
    }
    match perms.iter().find(|p| {
        p.is_empty()
            || p.len() > 64
            || !p
                .chars()
                .all(|c| c.is_ascii_uppercase() || c == '_' || c.is_ascii_digit())
    }) {
        Some(p) => Err(CoreError::Invalid(format!(
            "{p:?} is not a permission name (like GET_BASIC_USER_INFO)"
        ))),
        None => Ok(()),
    }
}

impl Core {
    // ---- users' keys

    /// Registers an RSA public key for a user: one's own freely, anyone's with
    /// `PRIVILEGE_LOCAL_USER_WRITE`.
    pub async fn add_user_key(
        &self,
        p: &Principal,
        user: UserId,
        pem: &str,
    ) -> CoreResult<UserPublicKey> {
        if user != p.user.id {
            self.require(p, Privilege::LOCAL_USER_WRITE).await?;
        }
        let owner = self.get_user(p, user).await?;
        let public_key = jwt::check_public_key(pem).map_err(CoreError::Invalid)?;
        if self.store.list_user_keys(user).await?.len() >= MAX_KEYS_PER_USER {
            return Err(CoreError::Conflict(format!(
                "{} already has {MAX_KEYS_PER_USER} keys",
                owner.name
            )));
        }
        let key = UserPublicKey {
            id: uuid::Uuid::new_v4().to_string(),
            user_id: user,
            public_key,
            created_at: self.clock.now(),
        };
        self.store.insert_user_key(&key).await?;
        self.audit_by(
            p,
            AuditKind::UserChanged,
            Some(&owner.name),
            &format!("RSA key {} added", key.id),
        )
        .await;
        Ok(key)
    }

    pub async fn list_user_keys(
        &self,
        p: &Principal,
        user: UserId,
    ) -> CoreResult<Vec<UserPublicKey>> {
        self.get_user(p, user).await?;
        Ok(self.store.list_user_keys(user).await?)
    }

    pub async fn delete_user_key(&self, p: &Principal, user: UserId, id: &str) -> CoreResult<()> {
        if user != p.user.id {
            self.require(p, Privilege::LOCAL_USER_WRITE).await?;
        }
        if !self.store.delete_user_key(user, id).await? {
            return Err(CoreError::NotFound(format!("user {user} has no key {id}")));
        }
        self.audit_by(
            p,
            AuditKind::UserChanged,
            Some(&user.to_string()),
            &format!("RSA key {id} removed"),
        )
        .await;
        Ok(())
    }

    /// A bot's login: a JWT signed with one of the user's keys opens a session ("RSA key").
    /// Every failure is 401, and never says which check failed to the caller.
    pub async fn login_with_jwt(&self, token: &str, ctx: LoginContext) -> CoreResult<LoginOutcome> {
        let via = ctx.via;
        let result = self.login_with_jwt_uncounted(token, ctx).await;
        self.metrics.login(via, &result);
        result
    }

    async fn login_with_jwt_uncounted(
        &self,
        token: &str,
        ctx: LoginContext,
    ) -> CoreResult<LoginOutcome> {
        let user = self.user_for_jwt(token, &ctx).await?;
        let ctx = LoginContext {
            auth_method: AuthMethod::RsaKey,
            ..ctx
        };
        self.admit_vouched(user, ctx, None).await
    }

    /// Checks a bot's JWT without opening a session (Symphony's key-manager login).
    pub async fn check_jwt(
        &self,
        token: &str,
        ctx: &LoginContext,
    ) -> CoreResult<Arc<crate::model::User>> {
        let user = self.user_for_jwt(token, ctx).await?;
        self.audit_raw(
            AuditKind::Login,
            Some((user.id, user.name.clone())),
            None,
            Some(&ctx.client_name),
            Some(&user.name),
            "key manager token issued (RSA key)",
        )
        .await;
        Ok(user)
    }

    async fn user_for_jwt(
        &self,
        token: &str,
        ctx: &LoginContext,
    ) -> CoreResult<Arc<crate::model::User>> {
        self.guard_address(&ctx.client_name)?;
        let (who, refused) = match self.check_user_jwt(token).await? {
            Ok(user) => return Ok(user),
            Err(refusal) => refusal,
        };
        tracing::info!(subject = who.as_deref().unwrap_or("?"), client = %ctx.client_name, reason = %refused, "RSA login refused");
        self.audit_raw(
            AuditKind::LoginFailed,
            None,
            None,
            Some(&ctx.client_name),
            who.as_deref(),
            &refused,
        )
        .await;
        self.count_address_failure(&ctx.client_name);
        Err(unauthorized())
    }

    /// `Ok(Err((subject, why)))` when the JWT is refused; the reason is for the audit log only.
    async fn check_user_jwt(
        &self,
        token: &str,
    ) -> CoreResult<Result<Arc<crate::model::User>, (Option<String>, String)>> {
        let sub = match jwt::claimed_subject(token) {
            Ok(s) => s,
            Err(e) => return Ok(Err((None, e.to_string()))),
        };
        let user = match self.store.get_user_by_name(&sub).await? {
            Some(u) if u.enabled => u,
            _ => return Ok(Err((Some(sub), "unknown or disabled user".into()))),
        };
        let keys = self.store.list_user_keys(user.id).await?;
        let pems: Vec<&str> = keys.iter().map(|k| k.public_key.as_str()).collect();
        match jwt::verify(token, &pems, self.clock.now()) {
            Ok(_) => Ok(Ok(Arc::new(user))),
            Err(e) => Ok(Err((Some(sub), e.to_string()))),
        }
    }

    // ---- apps

    pub async fn register_app(
        &self,
        p: &Principal,
        app_id: &str,
        spec: AppSpec,
    ) -> CoreResult<App> {
        self.require(p, Privilege::APP_WRITE).await?;
        check_app_id(app_id)?;
        let name = spec.name.unwrap_or_else(|| app_id.to_owned());
        validate::field("name", &Some(name.clone()))?;
        let pem = spec
            .public_key
            .ok_or_else(|| CoreError::Invalid("public_key is required".into()))?;
        let app = App {
            app_id: app_id.to_owned(),
            name,
            public_key: jwt::check_public_key(&pem).map_err(CoreError::Invalid)?,
            permissions: spec.permissions.unwrap_or_default(),
            users: spec.users.unwrap_or_default(),
            enabled: spec.enabled.unwrap_or(true),
            created_at: self.clock.now(),
        };
        self.check_app(&app).await?;
        self.store.insert_app(&app).await.map_err(|e| match e {
            crate::error::StoreError::Conflict(_) => {
                CoreError::Conflict(format!("an app {app_id:?} exists"))
            }
            other => other.into(),
        })?;
        self.audit_by(p, AuditKind::UserChanged, Some(app_id), "app registered")
            .await;
        Ok(app)
    }

    async fn check_app(&self, app: &App) -> CoreResult<()> {
        check_permissions(&app.permissions)?;
        if app.users.len() > 10_000 {
            return Err(CoreError::Invalid("at most 10000 users per app".into()));
        }
        for id in &app.users {
            if self.store.get_user(*id).await?.is_none() {
                return Err(CoreError::Invalid(format!("no user with id {id}")));
            }
        }
        Ok(())
    }

    pub async fn change_app(&self, p: &Principal, app_id: &str, spec: AppSpec) -> CoreResult<App> {
        self.require(p, Privilege::APP_WRITE).await?;
        let mut app = self.get_app(p, app_id).await?;
        if let Some(n) = spec.name {
            validate::field("name", &Some(n.clone()))?;
            app.name = n;
        }
        if let Some(k) = spec.public_key {
            app.public_key = jwt::check_public_key(&k).map_err(CoreError::Invalid)?;
        }
        if let Some(ps) = spec.permissions {
            app.permissions = ps;
        }
        if let Some(us) = spec.users {
            app.users = us;
        }
        if let Some(e) = spec.enabled {
            app.enabled = e;
        }
        self.check_app(&app).await?;
        self.store.update_app(&app).await?;
        self.audit_by(p, AuditKind::UserChanged, Some(app_id), "app changed")
            .await;
        Ok(app)
    }

    pub async fn get_app(&self, p: &Principal, app_id: &str) -> CoreResult<App> {
        self.require(p, Privilege::APP_READ).await?;
        self.store
            .get_app(app_id)
            .await?
            .ok_or_else(|| CoreError::NotFound(format!("no app {app_id:?}")))
    }

    pub async fn list_apps(&self, p: &Principal) -> CoreResult<Vec<App>> {
        self.require(p, Privilege::APP_READ).await?;
        Ok(self.store.list_apps().await?)
    }

    pub async fn delete_app(&self, p: &Principal, app_id: &str) -> CoreResult<()> {
        self.require(p, Privilege::APP_WRITE).await?;
        if !self.store.delete_app(app_id).await? {
            return Err(CoreError::NotFound(format!("no app {app_id:?}")));
        }
        self.audit_by(p, AuditKind::UserChanged, Some(app_id), "app removed")
            .await;
        Ok(())
    }

    /// An app's own login: a JWT with `sub` = app id, signed with the app's key. Returns the
    /// app session token (good only for OBO user logins).
    pub async fn app_login(&self, token: &str, client: &str) -> CoreResult<(App, Token)> {
        self.guard_address(client)?;
        let sub = jwt::claimed_subject(token).map_err(|_| {
            self.count_address_failure(client);
            unauthorized()
        })?;
        let app = match self.store.get_app(&sub).await? {
            Some(a) if a.enabled => a,
            _ => {
                self.audit_raw(
                    AuditKind::LoginFailed,
                    None,
                    None,
                    Some(client),
                    Some(&sub),
                    "unknown or disabled app",
                )
                .await;
                self.count_address_failure(client);
                return Err(unauthorized());
            }
        };
        if let Err(e) = jwt::verify(token, &[&app.public_key], self.clock.now()) {
            self.audit_raw(
                AuditKind::LoginFailed,
                None,
                None,
                Some(client),
                Some(&sub),
                &e.to_string(),
            )
            .await;
            self.count_address_failure(client);
            return Err(unauthorized());
        }
        let now = self.clock.now();
        let secret = Token::generate()?;
        let lifetime = self
            .cfg
            .session_lifetime
            .unwrap_or(time::Duration::hours(1));
        self.store
            .insert_app_session(&secret.hash(), &app.app_id, now, now + lifetime)
            .await?;
        self.audit_raw(
            AuditKind::Login,
            None,
            None,
            Some(client),
            Some(&app.app_id),
            "app session opened",
        )
        .await;
        Ok((app, secret))
    }

    /// On behalf of: with an app session token, opens a session for a user the app lists.
    /// The session records the app as its actor.
    pub async fn obo_login(
        &self,
        app_token: &str,
        target: &super::UserKey,
        ctx: LoginContext,
    ) -> CoreResult<LoginOutcome> {
        let via = ctx.via;
        let result = self.obo_login_uncounted(app_token, target, ctx).await;
        self.metrics.login(via, &result);
        result
    }

    async fn obo_login_uncounted(
        &self,
        app_token: &str,
        target: &super::UserKey,
        ctx: LoginContext,
    ) -> CoreResult<LoginOutcome> {
        let now = self.clock.now();
        let app = match self.store.app_session(&TokenHash::of(app_token)).await? {
            Some((app_id, expires)) if now < expires => self.store.get_app(&app_id).await?,
            _ => None,
        };
        let app = app.filter(|a| a.enabled).ok_or_else(unauthorized)?;
        let user = self.find_user(target).await?;
        let user = match user {
            Some(u) if app.users.contains(&u.id) && u.enabled => u,
            _ => {
                self.audit_raw(
                    AuditKind::Denied,
                    None,
                    None,
                    Some(&ctx.client_name),
                    Some(&app.app_id),
                    "the app may not act for that user",
                )
                .await;
                return Err(CoreError::Forbidden(format!(
                    "app {} may not act on behalf of that user",
                    app.app_id
                )));
            }
        };
        self.admit_vouched(
            Arc::new(user),
            LoginContext {
                auth_method: AuthMethod::OnBehalfOf,
                ..ctx
            },
            Some(app.app_id.clone()),
        )
        .await
    }

    /// The app behind an OBO principal, fresh from the store.
    pub async fn acting_app(&self, p: &Principal) -> CoreResult<Option<App>> {
        match p.session().and_then(|s| s.actor()) {
            Some(app_id) => Ok(self.store.get_app(app_id).await?),
            None => Ok(None),
        }
    }
}
