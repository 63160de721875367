//! The audit log: logins, failed logins, logouts, revocations, denials and changes.

use super::{Core, Principal};
use crate::error::CoreResult;
use crate::model::{AuditEvent, AuditFilter, AuditKind, UserId};
use crate::privilege::Privilege;

impl Core {
    /// Appends an event. A failed write is logged, not returned: losing an audit line must
    /// not turn a logout into an error, and the store being down is reported elsewhere.
    pub(super) async fn audit_raw(
        &self,
        kind: AuditKind,
        actor: Option<(UserId, String)>,
        session_id: Option<&str>,
        client: Option<&str>,
        subject: Option<&str>,
        detail: &str,
    ) {
        let (actor_id, actor_name) = actor.unzip();
        let event = AuditEvent {
            id: 0,
            time: self.clock.now(),
            kind,
            actor_id,
            actor_name,
            session_id: session_id.map(str::to_owned),
            client: client.map(str::to_owned),
            subject: subject.map(|s| s.chars().take(256).collect()),
            detail: detail.to_owned(),
        };
        if let Err(e) = self.store.append_audit(&event).await {
            tracing::warn!(kind = kind.as_str(), error = %e, "could not write audit event");
        }
    }

    pub(super) async fn audit_by(
        &self,
        p: &Principal,
        kind: AuditKind,
        subject: Option<&str>,
        detail: &str,
    ) {
        self.audit_raw(
            kind,
            Some((p.user.id, p.user.name.clone())),
            p.session_id(),
            p.session().map(|s| s.client_name()),
            subject,
            detail,
        )
        .await
    }

    pub async fn list_audit(
        &self,
        p: &Principal,
        filter: &AuditFilter,
    ) -> CoreResult<Vec<AuditEvent>> {
        self.require(p, Privilege::AUDIT_READ).await?;
        let mut filter = filter.clone();
        filter.limit = Some(filter.limit.unwrap_or(100).min(1000));
        Ok(self.store.list_audit(&filter).await?)
    }
}
