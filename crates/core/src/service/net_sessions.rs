//! Sessions on a fleet of servers (Windows `NetSession*`): other servers report their client
//! sessions; anyone signed in may list who is connected where (Windows' levels 0 and 10),
//! and Administrators or Server Operators may see the details and close sessions.

use std::sync::Arc;

use super::roles::{ADMINISTRATORS, SERVER_OPERATORS};
use super::{Core, Principal};
use crate::error::{CoreError, CoreResult};
use crate::model::{
    console_type, AuditKind, AuthMethod, EndReason, Session, SessionFilter, SessionState,
};
use crate::privilege::Privilege;
use crate::secret::Token;
use crate::store::ReportedChange;

/// A session another server reports.
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub client_name: String,
    pub username: String,
    pub client_type: Option<String>,
    pub transport: Option<String>,
    pub num_opens: Option<i64>,
    pub user_flags: Option<i64>,
    pub shares: Vec<String>,
    pub console_type: Option<i32>,
}

/// A server or client name: NetBIOS or DNS, with or without the leading `\\`. Returns it
/// without the `\\`.
pub fn computer_name(name: &str) -> Option<String> {
    let n = name.trim().trim_start_matches("\\\\");
    let ok = !n.is_empty()
        && n.len() <= 255
        && n.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | ':'))
        && !n.starts_with(['.', '-']);
    ok.then(|| n.to_owned())
}

const MAX_SHARES: usize = 256;

/// `sesi502_user_flags`: Windows' SESS_GUEST (the user is a guest) and SESS_NOENCRYPTION
/// (the session is not encrypted), and sessiond's own SESS_SIGNED (its messages are signed;
/// Windows defines no such bit, and its clients show unknown bits as they are).
pub const SESS_GUEST: i64 = 0x1;
pub const SESS_NOENCRYPTION: i64 = 0x2;
pub const SESS_SIGNED: i64 = 0x4;
const USER_FLAGS_ALL: i64 = SESS_GUEST | SESS_NOENCRYPTION | SESS_SIGNED;

impl Core {
    /// This server's name, as recorded on the sessions opened here.
    pub fn server_name(&self) -> &str {
        &self.cfg.server_name
    }

    /// Whether `server` is this one or one that has reported sessions.
    pub async fn server_exists(&self, server: &str) -> CoreResult<bool> {
        if server.eq_ignore_ascii_case(&self.cfg.server_name) || self.lists.server_known(server) {
            return Ok(true);
        }
        let generation = self.lists.generation();
        let known = self.store.server_known(server).await?;
        if known {
            self.lists.keep_server(generation, server);
        }
        Ok(known)
    }

    /// Windows' rule for the detailed levels and for closing sessions.
    pub fn is_server_operator(&self, p: &Principal) -> bool {
        p.user
            .roles
            .iter()
            .any(|r| r == ADMINISTRATORS || r == SERVER_OPERATORS)
    }

    pub async fn require_server_operator(&self, p: &Principal) -> CoreResult<()> {
        if self.is_server_operator(p) {
            return Ok(());
        }
        self.audit_by(
            p,
            AuditKind::Denied,
            None,
            "not an Administrator or Server Operator",
        )
        .await;
        Err(CoreError::Forbidden(
            "only Administrators and Server Operators may do that".into(),
        ))
    }

    /// Records a session that `server` reports. Needs `PRIVILEGE_SESSION_REPORT`.
    pub async fn report_session(
        &self,
        p: &Principal,
        server: &str,
        r: Report,
    ) -> CoreResult<Session> {
        self.require(p, Privilege::SESSION_REPORT).await?;
        let server = computer_name(server)
            .ok_or_else(|| CoreError::Invalid(format!("{server:?} is not a server name")))?;
        let client = computer_name(&r.client_name).ok_or_else(|| {
            CoreError::Invalid(format!("{:?} is not a client name", r.client_name))
        })?;
        if r.shares.len() > MAX_SHARES || r.shares.iter().any(|s| s.is_empty() || s.len() > 256) {
            return Err(CoreError::Invalid(format!(
                "shares: at most {MAX_SHARES} names of 1 to 256 bytes"
            )));
        }
        for (label, v) in [("client_type", &r.client_type), ("transport", &r.transport)] {
            crate::validate::field(label, v)?;
        }
        if r.num_opens.is_some_and(|n| n < 0)
            || r.user_flags
                .is_some_and(|f| !(0..=USER_FLAGS_ALL).contains(&f))
        {
            return Err(CoreError::Invalid(format!(
                "num_opens must be ≥ 0 and user_flags 0 to {USER_FLAGS_ALL}"
            )));
        }
        let user = self
            .store
            .get_user_by_name(&r.username)
            .await?
            .ok_or_else(|| CoreError::NotFound(format!("no user named {:?}", r.username)))?;
        let now = self.clock.now();
        let session = Session {
            id: uuid::Uuid::new_v4().to_string(),
            user_id: user.id,
            server: server.clone(),
            client_name: client,
            client_type: r.client_type.unwrap_or_default(),
            console_type: r.console_type.unwrap_or(console_type::WEB_CONSOLE),
            transport: r.transport,
            auth_method: AuthMethod::Reported,
            actor: None,
            access_token_id: None,
            browser_session_id: None,
            login_time: now,
            last_active: now,
            expires_at: None,
            logout_time: None,
            end_reason: None,
            num_opens: r.num_opens.unwrap_or(0),
            user_flags: r.user_flags.unwrap_or(0),
            shares: r.shares,
            idle_timeout: None,
        };
        // A reported session has no bearer; its token is random and given to no one.
        self.store
            .insert_session(&session, &Token::generate()?.hash())
            .await?;
        self.sessions_changed();
        self.audit_by(
            p,
            AuditKind::Login,
            Some(&user.name),
            &format!(
                "session {} reported by {server} from {}",
                session.id, session.client_name
            ),
        )
        .await;
        Ok(session)
    }

    async fn reported(&self, server: &str, id: &str) -> CoreResult<Session> {
        match self.store.get_session(id).await? {
            Some(s)
                if s.server.eq_ignore_ascii_case(server)
                    && s.auth_method == AuthMethod::Reported =>
            {
                Ok(s)
            }
            _ => Err(CoreError::NotFound(format!(
                "{server} reported no session {id}"
            ))),
        }
    }

    /// A server's update of one of its sessions; it counts as activity now.
    pub async fn update_reported(
        &self,
        p: &Principal,
        server: &str,
        id: &str,
        change: ReportedChange,
    ) -> CoreResult<Session> {
        self.require(p, Privilege::SESSION_REPORT).await?;
        self.reported(server, id).await?;
        if change.num_opens.is_some_and(|n| n < 0) {
            return Err(CoreError::Invalid("num_opens must be ≥ 0".into()));
        }
        if !self
            .store
            .update_reported_session(id, &change, self.clock.now())
            .await?
        {
            return Err(CoreError::Conflict(format!("session {id} has ended")));
        }
        self.sessions_changed();
        self.reported(server, id).await
    }

    /// The sessions `server` reported that are still active, for its reporter to reconcile
    /// with (after a restart it must not report them twice). Needs
    /// `PRIVILEGE_SESSION_REPORT`.
    pub async fn reported_sessions(&self, p: &Principal, server: &str) -> CoreResult<Vec<Session>> {
        self.require(p, Privilege::SESSION_REPORT).await?;
        let all = self.sessions_on(p, server).await?;
        Ok(all
            .iter()
            .filter(|s| s.auth_method == AuthMethod::Reported)
            .cloned()
            .collect())
    }

    /// The server closed one of its sessions.
    pub async fn close_reported(
        &self,
        p: &Principal,
        server: &str,
        id: &str,
    ) -> CoreResult<Session> {
        self.require(p, Privilege::SESSION_REPORT).await?;
        self.reported(server, id).await?;
        if !self
            .end_session_at(id, self.clock.now(), EndReason::ClosedByServer)
            .await?
        {
            return Err(CoreError::Conflict(format!(
                "session {id} has already ended"
            )));
        }
        self.reported(server, id).await
    }

    /// The active sessions on `server`. Any signed-in caller may see who is connected
    /// (Windows levels 0 and 10); the dialect asks `require_server_operator` for the
    /// detailed levels.
    ///
    /// Newest first, shared rather than copied (an Enum may list hundreds): iterate in
    /// reverse, and read each one's activity with `last_active_of`.
    pub async fn sessions_on(&self, _p: &Principal, server: &str) -> CoreResult<Arc<Vec<Session>>> {
        self.sessions_matching(&SessionFilter {
            server: Some(server.to_owned()),
            state: SessionState::Active,
            ..SessionFilter::default()
        })
        .await
    }

    /// Ends the given active sessions (Windows' `NetSessionDel`): Administrators and Server
    /// Operators only.
    pub async fn close_sessions(&self, p: &Principal, ids: &[String]) -> CoreResult<usize> {
        self.require_server_operator(p).await?;
        let now = self.clock.now();
        let mut n = 0;
        for id in ids {
            if self
                .end_session_at(id, now, EndReason::ClosedByServer)
                .await?
            {
                n += 1;
            }
        }
        self.audit_by(
            p,
            AuditKind::Revoke,
            None,
            &format!("closed {n} network session(s)"),
        )
        .await;
        Ok(n)
    }
}

impl Core {
    /// Every active session that a server reported (the file-protocol sessions Qumulo's SMB
    /// view lists), ordered by id. Needs `PRIVILEGE_SMB_SESSION_READ`.
    pub async fn network_sessions(&self, p: &Principal) -> CoreResult<Vec<Session>> {
        self.require(p, Privilege::SMB_SESSION_READ).await?;
        let mut sessions: Vec<Session> = self
            .store
            .list_sessions(&SessionFilter {
                state: SessionState::Active,
                ..SessionFilter::default()
            })
            .await?
            .into_iter()
            .filter(|s| s.auth_method == AuthMethod::Reported)
            .collect();
        sessions.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(sessions)
    }

    /// Force-closes reported sessions by id. Needs `PRIVILEGE_SMB_SESSION_WRITE`; ids that
    /// name no active reported session are skipped. Returns how many were closed.
    pub async fn close_network_sessions(&self, p: &Principal, ids: &[String]) -> CoreResult<usize> {
        self.require(p, Privilege::SMB_SESSION_WRITE).await?;
        let now = self.clock.now();
        let mut n = 0;
        for id in ids {
            let reported = matches!(
                self.store.get_session(id).await?,
                Some(s) if s.auth_method == AuthMethod::Reported && s.is_active()
            );
            if reported
                && self
                    .end_session_at(id, now, EndReason::ClosedByServer)
                    .await?
            {
                n += 1;
            }
        }
        self.audit_by(
            p,
            AuditKind::Revoke,
            None,
            &format!("force-closed {n} SMB session(s)"),
        )
        .await;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn computer_names() {
        assert_eq!(super::computer_name("\\\\WS01").as_deref(), Some("WS01"));
        assert_eq!(
            super::computer_name("fs1.example.com").as_deref(),
            Some("fs1.example.com")
        );
        assert_eq!(
            super::computer_name("10.0.0.7").as_deref(),
            Some("10.0.0.7")
        );
        for bad in ["", "\\\\", "a b", "x/y", "-x", &"a".repeat(300)] {
            assert!(super::computer_name(bad).is_none(), "{bad:?}");
        }
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::computer_name;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1024))]

        /// A computer name from a request is either refused or clean, and cleaning is stable.
        #[test]
        fn computer_names_are_refused_or_clean(raw in any::<String>()) {
            if let Some(n) = computer_name(&raw) {
                prop_assert!(!n.is_empty() && n.len() <= 255);
                prop_assert!(!n.chars().any(|c| c.is_control() || c.is_whitespace() || c == '\\'));
                prop_assert_eq!(computer_name(&n), Some(n.clone()));
            }
        }
    }
}
