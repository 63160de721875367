//! Users from a directory: a password login for a name sessiond does not own is checked by
//! binding to the directory as that user; the user is then created or brought up to date
//! here (profile, enabled, roles from groups), marked as the directory's. A periodic sync
//! and every login re-read the directory, so a user disabled or removed there loses their
//! sessions, and a group change changes their privileges in every cached session.

use std::sync::Arc;

use super::{Core, LoginContext, LoginOutcome};
use crate::directory::{Directory, DirectoryEntry, DirectoryError, GroupRoles};
use crate::error::{CoreError, CoreResult};
use crate::model::{AccountType, AuditKind, EndReason, NewUser, Profile, User, USERS_GROUP_ID};
use crate::store::UserUpdate;

/// The directory and how its groups map to roles.
pub struct DirectorySource {
    pub directory: Arc<dyn Directory>,
    pub group_roles: GroupRoles,
}

/// What one sync did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SyncReport {
    pub checked: usize,
    pub changed: usize,
    pub disabled: usize,
}

impl Core {
    /// Takes users from `source` from now on. Fails if a mapped role does not exist.
    pub fn use_directory(&self, source: DirectorySource) -> CoreResult<()> {
        let roles = self.role_map();
        for (group, role) in &source.group_roles.0 {
            if !roles.contains_key(role) {
                return Err(CoreError::Invalid(format!(
                    "--ldap-group-role {group}={role}: there is no role {role:?}"
                )));
            }
        }
        self.directory
            .set(source)
            .map_err(|_| CoreError::Internal("a directory is already in use".into()))
    }

    pub fn directory(&self) -> Option<&dyn Directory> {
        self.directory.get().map(|s| &*s.directory)
    }

    /// A password login that the directory decides. `known` is the stored user of that
    /// name, if any (one of the directory's: local users never come here).
    pub(super) async fn directory_login(
        &self,
        source: &DirectorySource,
        username: &str,
        password: &str,
        known: Option<User>,
        ctx: LoginContext,
    ) -> CoreResult<LoginOutcome> {
        let entry = match source.directory.authenticate(username, password).await {
            Ok(e) => e,
            Err(DirectoryError::BadCredentials) => {
                let why = "invalid user name or password (directory)";
                return Err(self
                    .wrong_password(username, known.as_ref(), &ctx, why)
                    .await);
            }
            Err(DirectoryError::Unavailable(why)) => {
                tracing::warn!(user = %username, error = %why, "directory unavailable: login refused");
                return Err(CoreError::DirectoryUnavailable(why));
            }
        };
        let user = self.adopt(source, &entry, known).await?;
        self.admit_after_password(user, ctx).await
    }

    /// A user whom an outside mechanism vouched for (Kerberos) and whom sessiond does not
    /// have yet: taken from the directory, if it has them.
    pub(super) async fn directory_user_for(&self, username: &str) -> CoreResult<Option<User>> {
        let Some(source) = self.directory.get() else {
            return Ok(None);
        };
        match source.directory.lookup(username).await {
            Ok(Some(entry)) => Ok(Some(self.adopt(source, &entry, None).await?)),
            Ok(None) => Ok(None),
            Err(DirectoryError::BadCredentials) => Ok(None),
            Err(DirectoryError::Unavailable(why)) => Err(CoreError::DirectoryUnavailable(why)),
        }
    }

    /// Creates the directory's user here, or brings the stored one up to date. A user
    /// disabled there is disabled here too (their sessions end).
    async fn adopt(
        &self,
        source: &DirectorySource,
        entry: &DirectoryEntry,
        known: Option<User>,
    ) -> CoreResult<User> {
        let known = match known {
            Some(u) => Some(u),
            None => self.store.get_user_by_name(&entry.username).await?,
        };
        let roles = source.group_roles.roles_of(&entry.groups);
        let Some(user) = known else {
            let new = NewUser {
                id: None,
                name: entry.username.clone(),
                account_type: AccountType::Normal,
                primary_group: USERS_GROUP_ID,
                can_change_password: false,
                enabled: !entry.disabled,
                password_hash: None,
                profile: profile_of(entry, &Profile::default()),
                roles,
                directory_dn: Some(entry.dn.clone()),
            };
            return match self.store.insert_user(&new, self.clock.now()).await {
                Ok(u) => {
                    tracing::info!(user = %u.name, dn = %entry.dn, roles = ?u.roles, "user taken from the directory");
                    self.audit_raw(
                        AuditKind::UserCreated,
                        None,
                        None,
                        None,
                        Some(&u.name),
                        &format!("user {} taken from the directory ({})", u.id, entry.dn),
                    )
                    .await;
                    Ok(u)
                }
                // Another login of the same user (on any node) made it first.
                Err(crate::StoreError::Conflict(_)) => self
                    .store
                    .get_user_by_name(&entry.username)
                    .await?
                    .ok_or_else(|| CoreError::Internal("a directory user vanished".into())),
                Err(e) => Err(e.into()),
            };
        };
        if user.directory_dn.is_none() {
            // A local user of the same name: sessiond's own wins.
            return Ok(user);
        }
        self.bring_up_to_date(&user, entry, roles).await
    }

    /// Applies the directory's view of a user; returns the user as stored after it.
    async fn bring_up_to_date(
        &self,
        user: &User,
        entry: &DirectoryEntry,
        roles: Vec<String>,
    ) -> CoreResult<User> {
        let profile = profile_of(entry, &user.profile);
        let enabled = !entry.disabled;
        let same = profile == user.profile
            && enabled == user.enabled
            && user.directory_dn.as_deref() == Some(entry.dn.as_str());
        let mut current = user.clone();
        if !same {
            current = self
                .store
                .update_user(
                    user.id,
                    &UserUpdate {
                        enabled: Some(enabled),
                        profile: Some(profile),
                        directory_dn: Some(entry.dn.clone()),
                        updated_at: Some(self.clock.now()),
                        ..UserUpdate::default()
                    },
                )
                .await?;
            if user.enabled && !enabled {
                self.end_all_sessions_of(user.id, None, EndReason::UserDisabled)
                    .await?;
                tracing::info!(user = %user.name, "user disabled in the directory: sessions ended");
            }
        }
        let mut sorted = roles.clone();
        sorted.sort();
        if sorted != current.roles {
            self.store.set_user_roles(user.id, &roles).await?;
            tracing::info!(user = %user.name, from = ?current.roles, to = ?sorted, "roles changed by the directory's groups");
            current.roles = sorted;
        }
        if !same || current.roles != user.roles {
            self.forget_user(user.id);
            self.audit_raw(
                AuditKind::UserChanged,
                None,
                None,
                None,
                Some(&user.name),
                &format!("user {} brought up to date from the directory", user.id),
            )
            .await;
        }
        Ok(current)
    }

    /// Re-reads every directory user: one disabled or removed there is disabled here (their
    /// sessions end, on every node); profile and group changes apply at once. Stops at the
    /// first sign that the directory is down (nothing is disabled for an outage).
    pub async fn sync_directory(&self) -> CoreResult<SyncReport> {
        let Some(source) = self.directory.get() else {
            return Ok(SyncReport::default());
        };
        let mut report = SyncReport::default();
        for user in self.store.list_users().await? {
            if user.directory_dn.is_none() {
                continue;
            }
            report.checked += 1;
            let entry = match source.directory.lookup(&user.name).await {
                Ok(e) => e,
                Err(DirectoryError::Unavailable(why)) => {
                    return Err(CoreError::DirectoryUnavailable(why))
                }
                Err(DirectoryError::BadCredentials) => None,
            };
            let entry = entry.unwrap_or_else(|| DirectoryEntry {
                // Gone from the directory: kept here (its history stays), disabled.
                dn: user.directory_dn.clone().unwrap_or_default(),
                username: user.name.clone(),
                display_name: user.profile.display_name.clone(),
                first_name: user.profile.first_name.clone(),
                last_name: user.profile.last_name.clone(),
                email: user.profile.email.clone(),
                groups: vec![],
                disabled: true,
            });
            let roles = source.group_roles.roles_of(&entry.groups);
            let after = self.bring_up_to_date(&user, &entry, roles).await?;
            if after.enabled != user.enabled
                || after.roles != user.roles
                || after.profile != user.profile
            {
                report.changed += 1;
            }
            if user.enabled && !after.enabled {
                report.disabled += 1;
            }
        }
        Ok(report)
    }

    /// Whether the directory answers (`None`: no directory configured).
    pub async fn directory_ready(&self) -> Option<Result<(), DirectoryError>> {
        let source = self.directory.get()?;
        Some(source.directory.ping().await)
    }
}

/// The stored profile with the directory's fields over it (the others kept).
fn profile_of(entry: &DirectoryEntry, old: &Profile) -> Profile {
    Profile {
        display_name: entry.display_name.clone(),
        first_name: entry.first_name.clone(),
        last_name: entry.last_name.clone(),
        email: entry.email.clone(),
        ..old.clone()
    }
}
