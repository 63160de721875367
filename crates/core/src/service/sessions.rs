//! Listing and revoking sessions: one's own always, anyone's with the session privileges.

use std::sync::Arc;

use super::{Core, Principal};
use crate::error::{CoreError, CoreResult};
use crate::model::{AuditKind, EndReason, Session, SessionFilter};
use crate::privilege::Privilege;

pub const MAX_LIST: u32 = 1000;

impl Core {
    /// Lists sessions. Without `PRIVILEGE_SESSION_READ` a caller sees only their own.
    ///
    /// The list is kept in memory and shared, not copied: its activity stamps are the
    /// store's; read each session's live one with `last_active_of`.
    pub async fn list_sessions(
        &self,
        p: &Principal,
        filter: &SessionFilter,
    ) -> CoreResult<Arc<Vec<Session>>> {
        let mut filter = filter.clone();
        if filter.user_id != Some(p.user.id) {
            self.require(p, Privilege::SESSION_READ).await?;
        }
        filter.limit = Some(filter.limit.unwrap_or(MAX_LIST).min(MAX_LIST));
        self.sessions_matching(&filter).await
    }

    /// The store's answer to `filter`, kept until a session or user changes. Shared, not
    /// copied: the activity stamps in it are the store's (see `last_active_of`).
    pub(super) async fn sessions_matching(
        &self,
        filter: &SessionFilter,
    ) -> CoreResult<Arc<Vec<Session>>> {
        self.lists
            .list_or_load(filter, || self.store.list_sessions(filter))
            .await
            .map_err(Into::into)
    }

    /// When `s` was last active: the store's stamp, or the hot cache's if it is later
    /// (activity reaches the store in batches).
    pub fn last_active_of(&self, s: &Session) -> time::OffsetDateTime {
        live_or_stored(s, self.cache.live_last_active(&s.id))
    }

    /// `last_active_of` each session, in order, reading the hot cache once.
    pub fn last_active_of_each(&self, sessions: &[&Session]) -> Vec<time::OffsetDateTime> {
        let live = self
            .cache
            .live_last_active_each(sessions.iter().map(|s| s.id.as_str()));
        sessions
            .iter()
            .zip(live)
            .map(|(s, t)| live_or_stored(s, t))
            .collect()
    }

    pub async fn get_session(&self, p: &Principal, id: &str) -> CoreResult<Session> {
        let mut s = self
            .store
            .get_session(id)
            .await?
            .ok_or_else(|| CoreError::NotFound(format!("no session {id}")))?;
        if s.user_id != p.user.id {
            self.require(p, Privilege::SESSION_READ).await?;
        }
        self.overlay_activity(&mut s);
        Ok(s)
    }

    /// Ends a session: one's own always, another user's with `PRIVILEGE_SESSION_WRITE`.
    pub async fn revoke_session(&self, p: &Principal, id: &str) -> CoreResult<Session> {
        let s = self
            .store
            .get_session(id)
            .await?
            .ok_or_else(|| CoreError::NotFound(format!("no session {id}")))?;
        if s.user_id != p.user.id {
            self.require(p, Privilege::SESSION_WRITE).await?;
        }
        if !s.is_active() {
            return Err(CoreError::Conflict(format!(
                "session {id} has already ended"
            )));
        }
        let why = if Some(id) == p.session_id() {
            EndReason::Logout
        } else {
            EndReason::Revoked
        };
        self.end_session_at(id, self.clock.now(), why).await?;
        self.audit_by(p, AuditKind::Revoke, Some(id), "session revoked")
            .await;
        tracing::info!(by = %p.user.name, session = %id, "session revoked");
        self.store
            .get_session(id)
            .await?
            .ok_or_else(|| CoreError::NotFound(format!("no session {id}")))
    }

    /// Ends every other active session of the caller; returns their ids.
    pub async fn revoke_other_sessions(&self, p: &Principal) -> CoreResult<Vec<String>> {
        let ended = self
            .end_all_sessions_of(p.user.id, p.session_id(), EndReason::Revoked)
            .await?;
        self.audit_by(
            p,
            AuditKind::Revoke,
            None,
            &format!("revoked {} other session(s)", ended.len()),
        )
        .await;
        Ok(ended)
    }

    /// Ends every active session of one user (an admin's "sign this user out everywhere"),
    /// the caller's own included when it is theirs; `PRIVILEGE_SESSION_WRITE` for another
    /// user's. Returns the ids ended.
    pub async fn revoke_user_sessions(
        &self,
        p: &Principal,
        user: crate::model::UserId,
    ) -> CoreResult<Vec<String>> {
        if user != p.user.id {
            self.require(p, Privilege::SESSION_WRITE).await?;
            if self.store.get_user(user).await?.is_none() {
                return Err(CoreError::NotFound(format!("no user with id {user}")));
            }
        }
        let ended = self
            .end_all_sessions_of(user, None, EndReason::Revoked)
            .await?;
        self.audit_by(
            p,
            AuditKind::Revoke,
            None,
            &format!("revoked {} session(s) of user {user}", ended.len()),
        )
        .await;
        tracing::info!(by = %p.user.name, user, ended = ended.len(), "user's sessions revoked");
        Ok(ended)
    }

    /// How many sessions are active on each server (for the metrics; no privilege: counts
    /// only).
    pub async fn active_sessions_by_server(&self) -> CoreResult<Vec<(String, i64)>> {
        Ok(self.store.active_sessions_by_server().await?)
    }

    /// How many tokens the hot cache holds.
    pub fn cached_entries(&self) -> usize {
        self.cache.len()
    }

    /// Puts the live activity stamp from the cache on a stored session.
    pub(super) fn overlay_activity(&self, s: &mut Session) {
        s.last_active = self.last_active_of(s);
    }
}

fn live_or_stored(s: &Session, live: Option<time::OffsetDateTime>) -> time::OffsetDateTime {
    match live {
        Some(t) if s.is_active() => s.last_active.max(t),
        _ => s.last_active,
    }
}
