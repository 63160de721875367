//! Session policy: per-role idle time-outs, lifetimes and caps on concurrent sessions
//! (the strictest of a user's roles, else the server's settings), and the admins' tools
//! over one user's sessions (end them all, extend one).

use time::{Duration, OffsetDateTime};

use super::{Core, Principal};
use crate::error::{CoreError, CoreResult};
use crate::model::{
    AuditKind, AuthMethod, EndReason, Role, RolePolicy, Session, SessionFilter, SessionState, User,
    UserId,
};
use crate::privilege::Privilege;

/// What happens to a login past the user's cap on concurrent sessions.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SessionLimitAction {
    /// The new login is refused (403 in the dialect's shape).
    #[default]
    Refuse,
    /// The oldest sessions end (reason "session limit") to make room.
    EndOldest,
}

/// The largest cap a role may set.
const MAX_CAP: u32 = 100_000;

/// Longest lifetime an admin may give one session from now.
const MAX_EXTENSION: Duration = Duration::days(366);

impl Core {
    /// The rules a new session of `user` opens under: the strictest its roles set, the
    /// lifetime and the cap falling back to the server's (the idle time-out is the
    /// server's at every check when no role sets one).
    pub(super) fn policy_of(&self, user: &User) -> RolePolicy {
        let roles = self.role_map();
        let mine = RolePolicy::strictest(
            user.roles
                .iter()
                .filter_map(|r| roles.get(r))
                .map(|r| &r.policy),
        );
        // The server's cap is one more bound (its lifetime only a fallback, not a bound).
        let server_cap = RolePolicy {
            max_sessions: self.cfg.max_sessions_per_user,
            ..RolePolicy::default()
        };
        RolePolicy {
            idle_timeout: mine.idle_timeout,
            lifetime: mine.lifetime.or(self.cfg.session_lifetime),
            max_sessions: RolePolicy::strictest([&mine, &server_cap]).max_sessions,
        }
    }

    /// Before a new session of `user` opens: at the cap, refuse it or end the oldest.
    pub(super) async fn enforce_session_cap(
        &self,
        user: &User,
        policy: &RolePolicy,
        client: &str,
    ) -> CoreResult<()> {
        let Some(cap) = policy.max_sessions else {
            return Ok(());
        };
        let mut open = self.logins_of(user.id).await?;
        if open.len() < cap as usize {
            return Ok(());
        }
        match self.cfg.session_limit {
            SessionLimitAction::Refuse => {
                self.audit_refused_login(user, client, &format!("session limit reached ({cap})"))
                    .await;
                tracing::info!(user = %user.name, client = %client, cap, "login refused: session limit");
                Err(CoreError::Forbidden(format!(
                    "the user already has {} open sessions, the most allowed",
                    open.len()
                )))
            }
            SessionLimitAction::EndOldest => {
                open.sort_by_key(|s| (s.login_time, s.id.clone()));
                let now = self.clock.now();
                // Room for the new one.
                let surplus = open.len() + 1 - cap as usize;
                for s in open.iter().take(surplus) {
                    if self
                        .end_session_at(&s.id, now, EndReason::SessionLimit)
                        .await?
                    {
                        self.audit_raw(
                            AuditKind::SessionEnded,
                            Some((user.id, user.name.clone())),
                            Some(&s.id),
                            Some(&s.client_name),
                            Some(&user.name),
                            &format!("session ended (session limit {cap})"),
                        )
                        .await;
                    }
                }
                Ok(())
            }
        }
    }

    /// The user's open login sessions, read from the store (not the kept lists: a cap
    /// must count what other nodes opened a moment ago). Sessions reported by file servers
    /// are not logins here and do not count.
    async fn logins_of(&self, user: UserId) -> CoreResult<Vec<Session>> {
        let all = self
            .store
            .list_sessions(&SessionFilter {
                user_id: Some(user),
                state: SessionState::Active,
                ..SessionFilter::default()
            })
            .await?;
        Ok(all
            .into_iter()
            .filter(|s| s.auth_method != AuthMethod::Reported)
            .collect())
    }

    /// Sets a role's session rules (built-in roles included); every node applies them to
    /// the sessions opened afterwards.
    pub async fn set_role_policy(
        &self,
        p: &Principal,
        name: &str,
        policy: RolePolicy,
    ) -> CoreResult<Role> {
        self.require(p, Privilege::ROLE_WRITE).await?;
        if !self.role_exists(name) {
            return Err(CoreError::NotFound(format!("no role named {name:?}")));
        }
        for (what, d) in [
            ("idle_timeout", policy.idle_timeout),
            ("lifetime", policy.lifetime),
        ] {
            if d.is_some_and(|d| d < Duration::seconds(1) || d > MAX_EXTENSION) {
                return Err(CoreError::Invalid(format!(
                    "{what} must be between 1 second and 366 days"
                )));
            }
        }
        if policy
            .max_sessions
            .is_some_and(|n| !(1..=MAX_CAP).contains(&n))
        {
            return Err(CoreError::Invalid(format!(
                "max_sessions must be between 1 and {MAX_CAP} (leave it out for no cap)"
            )));
        }
        if !self.store.set_role_policy(name, &policy).await? {
            return Err(CoreError::NotFound(format!("no role named {name:?}")));
        }
        self.reload_roles().await?;
        self.audit_by(
            p,
            AuditKind::RoleChanged,
            Some(name),
            &format!("session policy set: {}", describe(&policy)),
        )
        .await;
        self.role_map()
            .get(name)
            .cloned()
            .ok_or_else(|| CoreError::NotFound(format!("no role named {name:?}")))
    }

    /// Gives an active session a new end: `until` (absent: no end). Needs
    /// `PRIVILEGE_SESSION_WRITE`; at most 366 days from now.
    pub async fn set_session_expiry(
        &self,
        p: &Principal,
        id: &str,
        until: Option<OffsetDateTime>,
    ) -> CoreResult<Session> {
        self.require(p, Privilege::SESSION_WRITE).await?;
        let now = self.clock.now();
        if let Some(t) = until {
            if t <= now || t - now > MAX_EXTENSION {
                return Err(CoreError::Invalid(
                    "expires_at must be in the future, at most 366 days from now".into(),
                ));
            }
        }
        let Some(mut s) = self.store.get_session(id).await? else {
            return Err(CoreError::NotFound(format!("no session {id}")));
        };
        if !s.is_active() || !self.store.set_session_expiry(id, until).await? {
            return Err(CoreError::Conflict(format!("session {id} has ended")));
        }
        // The cached copy holds the old end: the next request reads the new one.
        self.forget_session(id);
        self.audit_by(
            p,
            AuditKind::SessionChanged,
            Some(id),
            &match until {
                Some(t) => format!("session {id} now ends at {t}"),
                None => format!("session {id} now has no end"),
            },
        )
        .await;
        s.expires_at = until;
        self.overlay_activity(&mut s);
        Ok(s)
    }
}

fn describe(p: &RolePolicy) -> String {
    let d = |d: Option<Duration>| {
        d.map_or("server's".to_owned(), |d| format!("{}s", d.whole_seconds()))
    };
    format!(
        "idle {}, lifetime {}, max sessions {}",
        d(p.idle_timeout),
        d(p.lifetime),
        p.max_sessions
            .map_or("server's".to_owned(), |n| n.to_string())
    )
}
