//! For resource servers that trust sessiond's tokens: RFC 7662 introspection (is this token
//! live, and whose is it?) and RFC 7009 revocation. Both take a token of any dialect and
//! need `PRIVILEGE_TOKEN_INTROSPECT` (the built-in role "Resource Servers").

use super::{Core, Principal};
use crate::error::{CoreError, CoreResult};
use crate::model::{AuditKind, EndReason};
use crate::privilege::Privilege;

impl Core {
    /// What `presented` stands for, without counting as its use. `None` for anything that
    /// is not a live token (unknown, ended, expired, malformed): the RFC's
    /// `{"active": false}` tells the caller nothing more.
    pub async fn introspect(
        &self,
        caller: &Principal,
        presented: &str,
    ) -> CoreResult<Option<Principal>> {
        self.require(caller, Privilege::TOKEN_INTROSPECT).await?;
        self.live(presented).await
    }

    /// Ends the session behind `presented` (reason "revoked"), or deletes the access token,
    /// on every node. A token that is not live is no error (RFC 7009: the caller cannot
    /// tell, and its goal, the token unusable, holds).
    pub async fn revoke_token(&self, caller: &Principal, presented: &str) -> CoreResult<()> {
        self.require(caller, Privilege::TOKEN_INTROSPECT).await?;
        let Some(target) = self.live(presented).await? else {
            return Ok(());
        };
        let whose = &target.user.name;
        if let Some(id) = target.session_id() {
            self.end_session_at(id, self.clock.now(), EndReason::Revoked)
                .await?;
            self.cache.evict_token(target.token());
            self.audit_by(
                caller,
                AuditKind::Revoke,
                Some(id),
                &format!("session of {whose} revoked (RFC 7009)"),
            )
            .await;
            tracing::info!(by = %caller.user.name, user = %whose, session = %id, "session revoked");
        } else if let Some(id) = target.access_token_id() {
            self.store.delete_access_token(id).await?;
            self.forget_session(id);
            self.audit_by(
                caller,
                AuditKind::AccessTokenDeleted,
                Some(id),
                &format!("access token {id} of {whose} revoked (RFC 7009)"),
            )
            .await;
            tracing::info!(by = %caller.user.name, user = %whose, token = %id, "access token revoked");
        }
        Ok(())
    }

    async fn live(&self, presented: &str) -> CoreResult<Option<Principal>> {
        match self.look_up(presented).await {
            Ok(p) => Ok(Some(p)),
            Err(CoreError::Unauthenticated(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }
}
