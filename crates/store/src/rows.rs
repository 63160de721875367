//! Row decoding shared by the engines. Both keep the same columns with the same meaning
//! (instants as microseconds since the epoch, JSON text for profiles and shares), so one
//! definition, stamped out per row type, serves both.

use std::str::FromStr;

use sessiond_core::model::{Group, Role, RolePolicy, User};
use sessiond_core::{Privilege, PrivilegeSet};

/// A `groups` row as both engines select it: id, name, sid, gid.
pub(crate) type GroupRow = (i64, String, Option<String>, Option<String>);

pub(crate) fn group((id, name, sid, gid): GroupRow) -> Group {
    Group { id, name, sid, gid }
}

/// Roles with their privileges, from the `roles` and `role_privileges` rows.
/// A role row with its policy columns (microseconds and a count, each nullable).
pub(crate) type RoleRow = (String, String, bool, Option<i64>, Option<i64>, Option<i64>);

pub(crate) fn roles_with_privileges(roles: Vec<RoleRow>, privs: &[(String, String)]) -> Vec<Role> {
    roles
        .into_iter()
        .map(|(name, description, builtin, idle, lifetime, max)| Role {
            policy: RolePolicy {
                idle_timeout: idle.map(time::Duration::microseconds),
                lifetime: lifetime.map(time::Duration::microseconds),
                max_sessions: max.and_then(|n| u32::try_from(n).ok()),
            },
            privileges: privs
                .iter()
                .filter(|(r, _)| *r == name)
                // A privilege no longer in the table is dropped rather than fatal.
                .filter_map(|(_, p)| Privilege::from_str(p).ok())
                .collect::<PrivilegeSet>(),
            name,
            description,
            builtin,
        })
        .collect()
}

/// Puts each user's roles (from `user_roles` rows, ordered by role) on the user.
pub(crate) fn attach_roles(users: &mut [User], roles: &[(i64, String)]) {
    // By user id: a scan of every grant per user was quadratic (100,000 users took seconds).
    let mut by_user: std::collections::HashMap<i64, Vec<String>> = Default::default();
    for (id, role) in roles {
        by_user.entry(*id).or_default().push(role.clone());
    }
    for u in users {
        u.roles = by_user.remove(&u.id).unwrap_or_default();
    }
}

/// A value as JSON text, for the columns that keep lists.
pub(crate) fn json_text<T: serde::Serialize>(v: &T) -> Result<String, sessiond_core::StoreError> {
    serde_json::to_string(v).map_err(|e| sessiond_core::StoreError::Other(format!("json: {e}")))
}

macro_rules! row_decoders {
    ($row:ty) => {
        fn app_from_row(r: &$row) -> StoreResult<App> {
            let permissions: String = r.try_get("permissions").map_err(map_err)?;
            let users: String = r.try_get("users").map_err(map_err)?;
            Ok(App {
                app_id: r.try_get("app_id").map_err(map_err)?,
                name: r.try_get("name").map_err(map_err)?,
                public_key: r.try_get("public_key").map_err(map_err)?,
                permissions: serde_json::from_str(&permissions)
                    .map_err(|e| StoreError::Other(format!("bad permissions JSON: {e}")))?,
                users: serde_json::from_str(&users)
                    .map_err(|e| StoreError::Other(format!("bad users JSON: {e}")))?,
                enabled: r.try_get("enabled").map_err(map_err)?,
                created_at: from_micros(r.try_get("created_at").map_err(map_err)?),
            })
        }

        fn access_token_from_row(r: &$row) -> StoreResult<AccessToken> {
            Ok(AccessToken {
                id: r.try_get("id").map_err(map_err)?,
                user_id: r.try_get("user_id").map_err(map_err)?,
                creator_id: r.try_get("creator_id").map_err(map_err)?,
                creation_time: from_micros(r.try_get("creation_time").map_err(map_err)?),
                expiration_time: r
                    .try_get::<Option<i64>, _>("expiration_time")
                    .map_err(map_err)?
                    .map(from_micros),
                enabled: r.try_get("enabled").map_err(map_err)?,
            })
        }

        fn user_from_row(r: &$row) -> StoreResult<User> {
            let profile: String = r.try_get("profile").map_err(map_err)?;
            let account_type: String = r.try_get("account_type").map_err(map_err)?;
            Ok(User {
                id: r.try_get("id").map_err(map_err)?,
                name: r.try_get("name").map_err(map_err)?,
                account_type: AccountType::parse(&account_type).unwrap_or_default(),
                primary_group: r.try_get("primary_group").map_err(map_err)?,
                can_change_password: r.try_get("can_change_password").map_err(map_err)?,
                enabled: r.try_get("enabled").map_err(map_err)?,
                password_hash: r.try_get("password_hash").map_err(map_err)?,
                profile: serde_json::from_str(&profile)
                    .map_err(|e| StoreError::Other(format!("bad profile JSON: {e}")))?,
                roles: vec![],
                directory_dn: r.try_get("directory_dn").map_err(map_err)?,
                created_at: from_micros(r.try_get("created_at").map_err(map_err)?),
                updated_at: from_micros(r.try_get("updated_at").map_err(map_err)?),
            })
        }

        fn session_from_row(r: &$row) -> StoreResult<Session> {
            let g = |e| map_err(e);
            let auth: String = r.try_get("auth_method").map_err(g)?;
            let reason: Option<String> = r.try_get("end_reason").map_err(g)?;
            let shares: String = r.try_get("shares").map_err(g)?;
            Ok(Session {
                id: r.try_get("id").map_err(g)?,
                user_id: r.try_get("user_id").map_err(g)?,
                server: r.try_get("server").map_err(g)?,
                client_name: r.try_get("client_name").map_err(g)?,
                client_type: r.try_get("client_type").map_err(g)?,
                console_type: r.try_get("console_type").map_err(g)?,
                transport: r.try_get("transport").map_err(g)?,
                auth_method: AuthMethod::parse(&auth)
                    .ok_or_else(|| StoreError::Other(format!("unknown auth method {auth:?}")))?,
                actor: r.try_get("actor").map_err(g)?,
                access_token_id: r.try_get("access_token_id").map_err(g)?,
                browser_session_id: r.try_get("browser_session_id").map_err(g)?,
                login_time: from_micros(r.try_get("login_time").map_err(g)?),
                last_active: from_micros(r.try_get("last_active").map_err(g)?),
                expires_at: r
                    .try_get::<Option<i64>, _>("expires_at")
                    .map_err(g)?
                    .map(from_micros),
                logout_time: r
                    .try_get::<Option<i64>, _>("logout_time")
                    .map_err(g)?
                    .map(from_micros),
                end_reason: reason.as_deref().and_then(EndReason::parse),
                num_opens: r.try_get("num_opens").map_err(g)?,
                user_flags: r.try_get("user_flags").map_err(g)?,
                shares: serde_json::from_str(&shares).unwrap_or_default(),
                idle_timeout: r
                    .try_get::<Option<i64>, _>("idle_timeout_us")
                    .map_err(g)?
                    .map(time::Duration::microseconds),
            })
        }

        fn audit_from_row(r: &$row) -> StoreResult<AuditEvent> {
            let g = |e| map_err(e);
            let kind: String = r.try_get("kind").map_err(g)?;
            Ok(AuditEvent {
                id: r.try_get("id").map_err(g)?,
                time: from_micros(r.try_get("time").map_err(g)?),
                kind: AuditKind::parse(&kind)
                    .ok_or_else(|| StoreError::Other(format!("unknown audit kind {kind:?}")))?,
                actor_id: r.try_get("actor_id").map_err(g)?,
                actor_name: r.try_get("actor_name").map_err(g)?,
                session_id: r.try_get("session_id").map_err(g)?,
                client: r.try_get("client").map_err(g)?,
                subject: r.try_get("subject").map_err(g)?,
                detail: r.try_get("detail").map_err(g)?,
            })
        }
    };
}

pub(crate) use row_decoders;
