//! Roles: named sets of privileges. Built-in roles always exist; Administrators always
//! hold every privilege, so a new privilege reaches them without a migration.

use std::collections::HashMap;
use std::sync::Arc;

use super::{Core, Principal};
use crate::error::{CoreError, CoreResult};
use crate::model::{AuditKind, Role, RolePolicy, User};
use crate::privilege::{Privilege, PrivilegeSet};
use crate::validate;

pub const ADMINISTRATORS: &str = "Administrators";
pub const OBSERVERS: &str = "Observers";
pub const SERVER_OPERATORS: &str = "Server Operators";
pub const SESSION_REPORTERS: &str = "Session Reporters";
pub const PAM_USERS: &str = "PAM Users";
pub const RESOURCE_SERVERS: &str = "Resource Servers";

pub fn builtin_roles() -> Vec<Role> {
    let set = |ps: &[Privilege]| ps.iter().copied().collect::<PrivilegeSet>();
    vec![
        Role {
            name: ADMINISTRATORS.into(),
            description: "Complete access to everything".into(),
            privileges: Privilege::all().collect(),
            builtin: true,
            policy: RolePolicy::default(),
        },
        Role {
            name: OBSERVERS.into(),
            description: "Read-only access: every *_READ privilege".into(),
            privileges: Privilege::all().filter(|p| p.is_read_only()).collect(),
            builtin: true,
            policy: RolePolicy::default(),
        },
        Role {
            name: SERVER_OPERATORS.into(),
            description: "Watch and manage sessions on the servers".into(),
            privileges: set(&[
                Privilege::SESSION_READ,
                Privilege::SESSION_WRITE,
                Privilege::SMB_SESSION_READ,
                Privilege::SMB_SESSION_WRITE,
                Privilege::LOCAL_USER_READ,
                Privilege::LOCAL_GROUP_READ,
                Privilege::ROLE_READ,
            ]),
            builtin: true,
            policy: RolePolicy::default(),
        },
        Role {
            name: PAM_USERS.into(),
            description: "Read their own session through the MIM PAM API".into(),
            privileges: set(&[Privilege::PAM_SESSION_READ]),
            builtin: true,
            policy: RolePolicy::default(),
        },
        Role {
            name: SESSION_REPORTERS.into(),
            description: "Report the client sessions of another server".into(),
            privileges: set(&[Privilege::SESSION_REPORT]),
            builtin: true,
            policy: RolePolicy::default(),
        },
        Role {
            name: RESOURCE_SERVERS.into(),
            description:
                "Check and revoke users' tokens (RFC 7662 introspection, RFC 7009 revocation)"
                    .into(),
            privileges: set(&[Privilege::TOKEN_INTROSPECT]),
            builtin: true,
            policy: RolePolicy::default(),
        },
    ]
}

impl Core {
    pub(super) async fn reload_roles(&self) -> CoreResult<()> {
        let mut map: HashMap<String, Role> = self
            .store
            .list_roles()
            .await?
            .into_iter()
            .map(|r| (r.name.clone(), r))
            .collect();
        if let Some(admin) = map.get_mut(ADMINISTRATORS) {
            admin.privileges = Privilege::all().collect();
        }
        if let Ok(mut roles) = self.roles.write() {
            *roles = Arc::new(map);
        }
        Ok(())
    }

    pub(super) fn role_map(&self) -> Arc<HashMap<String, Role>> {
        self.roles
            .read()
            .map(|r| Arc::clone(&r))
            .unwrap_or_default()
    }

    pub(super) fn privileges_of(&self, user: &User) -> PrivilegeSet {
        let roles = self.role_map();
        user.roles
            .iter()
            .filter_map(|r| roles.get(r))
            .flat_map(|r| r.privileges.iter())
            .collect()
    }

    pub(super) fn role_exists(&self, name: &str) -> bool {
        self.role_map().contains_key(name)
    }

    pub async fn list_roles(&self, p: &Principal) -> CoreResult<Vec<Role>> {
        self.require(p, Privilege::ROLE_READ).await?;
        let mut roles: Vec<Role> = self.role_map().values().cloned().collect();
        roles.sort_by(|a, b| (!a.builtin, &a.name).cmp(&(!b.builtin, &b.name)));
        Ok(roles)
    }

    pub async fn get_role(&self, p: &Principal, name: &str) -> CoreResult<Role> {
        self.require(p, Privilege::ROLE_READ).await?;
        self.role_map()
            .get(name)
            .cloned()
            .ok_or_else(|| CoreError::NotFound(format!("no role named {name:?}")))
    }

    /// Creates a custom role or replaces its description and privileges.
    pub async fn put_role(
        &self,
        p: &Principal,
        name: &str,
        description: &str,
        privileges: PrivilegeSet,
    ) -> CoreResult<Role> {
        self.require(p, Privilege::ROLE_WRITE).await?;
        validate::name("role", name)?;
        validate::field("description", &Some(description.to_owned()))?;
        let existing = self.role_map().get(name).cloned();
        if existing.as_ref().is_some_and(|r| r.builtin) {
            return Err(CoreError::Conflict(format!(
                "{name} is a built-in role and cannot be changed"
            )));
        }
        let role = Role {
            name: name.to_owned(),
            description: description.to_owned(),
            privileges,
            builtin: false,
            policy: existing.map(|r| r.policy).unwrap_or_default(),
        };
        self.store.put_role(&role).await?;
        self.reload_roles().await?;
        // Privileges of every holder may have changed.
        self.forget_all();
        self.audit_by(p, AuditKind::RoleChanged, Some(name), "role saved")
            .await;
        Ok(role)
    }

    pub async fn delete_role(&self, p: &Principal, name: &str) -> CoreResult<()> {
        self.require(p, Privilege::ROLE_WRITE).await?;
        match self.role_map().get(name) {
            None => return Err(CoreError::NotFound(format!("no role named {name:?}"))),
            Some(r) if r.builtin => {
                return Err(CoreError::Conflict(format!(
                    "{name} is a built-in role and cannot be deleted"
                )))
            }
            Some(_) => {}
        }
        self.store.delete_role(name).await?;
        self.reload_roles().await?;
        self.forget_all();
        self.audit_by(p, AuditKind::RoleChanged, Some(name), "role deleted")
            .await;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_roles_hold_what_they_promise() {
        let roles = builtin_roles();
        let get = |n: &str| roles.iter().find(|r| r.name == n).unwrap();
        assert_eq!(
            get(ADMINISTRATORS).privileges.len(),
            Privilege::all().count()
        );
        assert!(get(OBSERVERS).privileges.iter().all(|p| p.is_read_only()));
        assert!(get(OBSERVERS).privileges.contains(&Privilege::SESSION_READ));
        assert!(!get(OBSERVERS)
            .privileges
            .contains(&Privilege::SESSION_WRITE));
        assert!(get(SERVER_OPERATORS)
            .privileges
            .contains(&Privilege::SESSION_WRITE));
    }
}
