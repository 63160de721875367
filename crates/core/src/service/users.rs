//! Users: create, read, change, delete, and their roles. Any change that could alter what a
//! user's sessions may do evicts them from the cache at once.

use std::sync::Arc;

use super::{roles::ADMINISTRATORS, Core, Principal};
use crate::error::{AuthFailure, CoreError, CoreResult};
use crate::model::*;
use crate::privilege::Privilege;
use crate::store::UserUpdate;
use crate::validate;

/// The ways products name a user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserKey {
    Id(UserId),
    Name(String),
    Sid(String),
    NfsUid(String),
}

#[derive(Debug, Clone, Default)]
pub struct CreateUser {
    pub name: String,
    pub password: Option<String>,
    pub account_type: Option<AccountType>,
    pub primary_group: Option<GroupId>,
    pub can_change_password: Option<bool>,
    pub enabled: Option<bool>,
    pub profile: Profile,
    pub roles: Vec<String>,
}

#[derive(Debug, Clone, Default)]
pub struct UserChanges {
    pub name: Option<String>,
    pub password: Option<String>,
    pub account_type: Option<AccountType>,
    pub primary_group: Option<GroupId>,
    pub can_change_password: Option<bool>,
    pub enabled: Option<bool>,
    pub profile: ProfileChanges,
}

impl Core {
    pub async fn create_user(&self, p: &Principal, req: CreateUser) -> CoreResult<User> {
        self.require(p, Privilege::LOCAL_USER_WRITE).await?;
        if !req.roles.is_empty() {
            self.require(p, Privilege::ROLE_WRITE).await?;
        }
        let user = self.insert_user(req).await?;
        self.audit_by(
            p,
            AuditKind::UserCreated,
            Some(&user.name),
            &format!("user {} created", user.id),
        )
        .await;
        Ok(user)
    }

    /// Creates a user without a caller (bootstrap, tests).
    pub(super) async fn insert_user(&self, req: CreateUser) -> CoreResult<User> {
        validate::name("user", &req.name)?;
        validate::profile(&req.profile)?;
        self.check_roles(&req.roles)?;
        let password_hash = match &req.password {
            Some(pw) => {
                validate::new_password(pw)?;
                Some(self.hasher.hash(pw).await?)
            }
            None => None,
        };
        let primary_group = req.primary_group.unwrap_or(USERS_GROUP_ID);
        self.check_group(primary_group).await?;
        let new = NewUser {
            id: None,
            name: req.name,
            account_type: req.account_type.unwrap_or_default(),
            primary_group,
            can_change_password: req.can_change_password.unwrap_or(true),
            enabled: req.enabled.unwrap_or(true),
            password_hash,
            profile: req.profile,
            roles: req.roles,
            directory_dn: None,
        };
        Ok(self.store.insert_user(&new, self.clock.now()).await?)
    }

    pub async fn list_users(&self, p: &Principal) -> CoreResult<Vec<User>> {
        self.require(p, Privilege::LOCAL_USER_READ).await?;
        Ok(self.store.list_users().await?)
    }

    /// A user's record: one's own always, anyone's with `PRIVILEGE_LOCAL_USER_READ`.
    pub async fn get_user(&self, p: &Principal, id: UserId) -> CoreResult<User> {
        if id != p.user.id {
            self.require(p, Privilege::LOCAL_USER_READ).await?;
        }
        self.store
            .get_user(id)
            .await?
            .ok_or_else(|| CoreError::NotFound(format!("no user with id {id}")))
    }

    /// Looks a user up by name, for dialects that address users by name.
    pub async fn find_user_by_name(&self, name: &str) -> CoreResult<Option<User>> {
        Ok(self.store.get_user_by_name(name).await?)
    }

    /// Resolves an identity as products spell it (id, name, SID, NFS uid). No privilege is
    /// checked: dialects resolve identities for operations that check their own.
    pub async fn find_user(&self, key: &UserKey) -> CoreResult<Option<User>> {
        Ok(match key {
            UserKey::Id(id) => self.store.get_user(*id).await?,
            UserKey::Name(n) => self.store.get_user_by_name(n).await?,
            UserKey::Sid(sid) => self
                .store
                .list_users()
                .await?
                .into_iter()
                .find(|u| u.sid().eq_ignore_ascii_case(sid)),
            UserKey::NfsUid(uid) => self
                .store
                .list_users()
                .await?
                .into_iter()
                .find(|u| u.profile.nfs_uid.as_deref() == Some(uid.as_str())),
        })
    }

    pub async fn update_user(
        &self,
        p: &Principal,
        id: UserId,
        ch: UserChanges,
    ) -> CoreResult<User> {
        self.require(p, Privilege::LOCAL_USER_WRITE).await?;
        let current = self.get_user(p, id).await?;
        if let Some(n) = &ch.name {
            validate::name("user", n)?;
        }
        let mut profile = current.profile.clone();
        profile.apply(&ch.profile);
        validate::profile(&profile)?;
        if let Some(g) = ch.primary_group {
            self.check_group(g).await?;
        }
        if ch.enabled == Some(false) {
            if id == p.user.id {
                return Err(CoreError::Conflict(
                    "you cannot disable your own account".into(),
                ));
            }
            self.keep_an_administrator(&current).await?;
        }
        if current.directory_dn.is_some() && (ch.password.is_some() || ch.name.is_some()) {
            return Err(CoreError::Conflict(
                "the directory owns this user's name and password: change them there".into(),
            ));
        }
        let password_hash = match &ch.password {
            Some(pw) => {
                validate::new_password(pw)?;
                Some(self.hasher.hash(pw).await?)
            }
            None => None,
        };
        let ends_sessions = password_hash.is_some() || ch.enabled == Some(false);
        let update = UserUpdate {
            name: ch.name,
            account_type: ch.account_type,
            primary_group: ch.primary_group,
            can_change_password: ch.can_change_password,
            enabled: ch.enabled,
            password_hash,
            profile: Some(profile),
            updated_at: Some(self.clock.now()),
            directory_dn: None,
        };
        let user = self.store.update_user(id, &update).await?;
        if update.password_hash.is_some() {
            // A new password set by an administrator also lifts a lockout.
            self.name_throttle.clear(&user.name.to_lowercase());
            self.store
                .clear_login_failures(&user.name.to_lowercase())
                .await?;
        }
        if ends_sessions {
            // A reset password or a disabled account ends every session of that user.
            let except = if id == p.user.id {
                p.session_id()
            } else {
                None
            };
            let why = if update.enabled == Some(false) {
                EndReason::UserDisabled
            } else {
                EndReason::PasswordChanged
            };
            self.end_all_sessions_of(id, except, why).await?;
        }
        self.forget_user(id);
        let what = if update.password_hash.is_some() {
            AuditKind::PasswordChanged
        } else {
            AuditKind::UserChanged
        };
        self.audit_by(p, what, Some(&user.name), &format!("user {id} changed"))
            .await;
        Ok(user)
    }

    pub async fn delete_user(&self, p: &Principal, id: UserId) -> CoreResult<()> {
        self.require(p, Privilege::LOCAL_USER_WRITE).await?;
        if id == p.user.id {
            return Err(CoreError::Conflict(
                "you cannot delete your own account".into(),
            ));
        }
        let user = self.get_user(p, id).await?;
        self.keep_an_administrator(&user).await?;
        self.end_all_sessions_of(id, None, EndReason::Revoked)
            .await?;
        self.store.delete_user(id).await?;
        self.forget_user(id);
        self.audit_by(
            p,
            AuditKind::UserDeleted,
            Some(&user.name),
            &format!("user {id} deleted"),
        )
        .await;
        Ok(())
    }

    pub async fn set_user_roles(
        &self,
        p: &Principal,
        id: UserId,
        roles: Vec<String>,
    ) -> CoreResult<User> {
        self.require(p, Privilege::ROLE_WRITE).await?;
        self.check_roles(&roles)?;
        let user = self.get_user(p, id).await?;
        if !roles.iter().any(|r| r == ADMINISTRATORS) {
            self.keep_an_administrator(&user).await?;
        }
        let mut roles = roles;
        roles.sort();
        roles.dedup();
        self.store.set_user_roles(id, &roles).await?;
        self.forget_user(id);
        self.audit_by(
            p,
            AuditKind::RolesChanged,
            Some(&user.name),
            &format!("roles: {}", roles.join(", ")),
        )
        .await;
        self.get_user(p, id).await
    }

    /// The caller changes their own password, proving the old one. Their other sessions end.
    pub async fn change_own_password(&self, p: &Principal, old: &str, new: &str) -> CoreResult<()> {
        let user = self.get_user(p, p.user.id).await?;
        if user.directory_dn.is_some() {
            return Err(CoreError::Forbidden(
                "the directory owns this account's password: change it there".into(),
            ));
        }
        if !user.can_change_password {
            return Err(CoreError::Forbidden(
                "this account may not change its password".into(),
            ));
        }
        if !self
            .hasher
            .verify(old, user.password_hash.as_deref())
            .await?
        {
            self.audit_by(
                p,
                AuditKind::LoginFailed,
                Some(&user.name),
                "wrong old password",
            )
            .await;
            return Err(CoreError::Unauthenticated(AuthFailure::BadCredentials));
        }
        validate::new_password(new)?;
        let update = UserUpdate {
            password_hash: Some(self.hasher.hash(new).await?),
            updated_at: Some(self.clock.now()),
            directory_dn: None,
            ..UserUpdate::default()
        };
        self.store.update_user(user.id, &update).await?;
        self.end_all_sessions_of(user.id, p.session_id(), EndReason::PasswordChanged)
            .await?;
        self.forget_user(user.id);
        self.audit_by(
            p,
            AuditKind::PasswordChanged,
            Some(&user.name),
            "own password changed",
        )
        .await;
        Ok(())
    }

    /// Ends `user`'s active sessions but `except`, with reason `why`, and forgets them on
    /// this node (the change feed tells the others). Returns the ids ended.
    pub(super) async fn end_all_sessions_of(
        &self,
        user: UserId,
        except: Option<&str>,
        why: EndReason,
    ) -> CoreResult<Vec<String>> {
        let ended = self
            .store
            .end_user_sessions(user, except, self.clock.now(), why)
            .await?;
        for id in &ended {
            self.forget_session(id);
        }
        Ok(ended)
    }

    fn check_roles(&self, roles: &[String]) -> CoreResult<()> {
        if roles.len() > validate::MAX_ROLES {
            return Err(CoreError::Invalid(format!(
                "at most {} roles",
                validate::MAX_ROLES
            )));
        }
        match roles.iter().find(|r| !self.role_exists(r)) {
            Some(r) => Err(CoreError::Invalid(format!("no role named {r:?}"))),
            None => Ok(()),
        }
    }

    async fn check_group(&self, id: GroupId) -> CoreResult<()> {
        match self.store.get_group(id).await? {
            Some(_) => Ok(()),
            None => Err(CoreError::Invalid(format!("no group with id {id}"))),
        }
    }

    /// Refuses a change that would leave no enabled administrator to manage the server.
    async fn keep_an_administrator(&self, losing: &User) -> CoreResult<()> {
        if !losing.enabled || !losing.roles.iter().any(|r| r == ADMINISTRATORS) {
            return Ok(());
        }
        let others = self
            .store
            .list_users()
            .await?
            .into_iter()
            .filter(|u| {
                u.id != losing.id && u.enabled && u.roles.iter().any(|r| r == ADMINISTRATORS)
            })
            .count();
        if others == 0 {
            return Err(CoreError::Conflict(format!(
                "{} is the last enabled administrator",
                losing.name
            )));
        }
        Ok(())
    }

    /// Names for user ids, for rendering lists the caller may already see.
    pub async fn user_names(
        &self,
        ids: &[UserId],
    ) -> CoreResult<std::collections::HashMap<UserId, String>> {
        if ids.is_empty() {
            return Ok(std::collections::HashMap::new());
        }
        let (mut names, missing) = self.lists.names(ids);
        if !missing.is_empty() {
            let generation = self.lists.generation();
            let read = self.store.user_names(&missing).await?;
            self.lists.keep_names(generation, &read);
            names.extend(read);
        }
        Ok(names)
    }

    /// The user behind a principal, fresh from the store (not the cached copy).
    pub async fn current_user(&self, p: &Principal) -> CoreResult<Arc<User>> {
        Ok(Arc::new(self.get_user(p, p.user.id).await?))
    }
}
