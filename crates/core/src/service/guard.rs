//! Guarding logins against guessing, without handing guessers a weapon or an oracle.
//!
//! - **Per client address** (in memory): after a few failures an address waits a growing
//!   delay (up to minutes) and is refused at once meanwhile.
//! - **Per name** (in memory): after a few failures a name waits a short delay (seconds), so
//!   failures from one address keep the name's owner out elsewhere only briefly.
//! - **Lock** (in the store, every node): a name locks for everyone only when its failures
//!   within the window came from several addresses.
//!
//! All three are keyed by the name as presented (lower-cased), whether or not a user has
//! it: a name that does not exist is counted, delayed and locked exactly like one that does,
//! and every refusal here comes before any password is hashed.

use time::OffsetDateTime;

use super::{Core, Principal};
use crate::error::{AuthFailure, CoreError, CoreResult};
use crate::model::AuditKind;
use crate::privilege::Privilege;

/// The key a name is counted under.
fn key(name: &str) -> String {
    name.to_lowercase()
}

impl Core {
    /// A login refused because the address or the name must wait (counted).
    fn throttled(&self, retry_after_secs: i64) -> CoreError {
        self.metrics.throttled();
        CoreError::Unauthenticated(AuthFailure::Throttled { retry_after_secs })
    }

    /// Before any work on a password login: refused at once while the address or the name
    /// must wait, or while the name is locked.
    pub(super) async fn guard_login(&self, name: &str, address: &str) -> CoreResult<()> {
        let now = self.clock.now();
        if let Some(wait) = self.address_throttle.wait(address, now) {
            tracing::debug!(client = %address, wait, "login refused: the address must wait");
            return Err(self.throttled(wait));
        }
        if let Some(wait) = self.name_throttle.wait(&key(name), now) {
            tracing::debug!(user = %name, wait, "login refused: the name must wait");
            return Err(self.throttled(wait));
        }
        self.refuse_if_locked(name, address).await
    }

    /// Refuses every login with `name` while it is locked, whatever the password.
    pub(super) async fn refuse_if_locked(&self, name: &str, address: &str) -> CoreResult<()> {
        if self.cfg.lockout.is_none() {
            return Ok(());
        }
        let now = self.clock.now();
        match self.store.login_locked_until(&key(name)).await? {
            Some(until) if until > now => {
                self.audit_raw(
                    AuditKind::LoginFailed,
                    None,
                    None,
                    Some(address),
                    Some(name),
                    "name locked",
                )
                .await;
                Err(CoreError::Unauthenticated(AuthFailure::AccountLocked {
                    remaining_secs: (until - now).whole_seconds().max(1),
                }))
            }
            _ => Ok(()),
        }
    }

    /// Only the address's throttle, for logins that present no name (keys, apps).
    pub(super) fn guard_address(&self, address: &str) -> CoreResult<()> {
        match self.address_throttle.wait(address, self.clock.now()) {
            Some(wait) => Err(self.throttled(wait)),
            None => Ok(()),
        }
    }

    pub(super) fn count_address_failure(&self, address: &str) {
        self.address_throttle.fail(address, self.clock.now());
    }

    /// Counts a failed password login against the address and the name, and locks the name
    /// when its failures came from enough addresses. Returns the refusal to answer with.
    pub(super) async fn count_login_failure(&self, name: &str, address: &str) -> CoreError {
        let now = self.clock.now();
        self.address_throttle.fail(address, now);
        self.name_throttle.fail(&key(name), now);
        let refused = CoreError::Unauthenticated(AuthFailure::BadCredentials);
        let Some(policy) = self.cfg.lockout else {
            return refused;
        };
        let counts = match self
            .store
            .record_login_failure(&key(name), address, now, now - policy.window)
            .await
        {
            Ok(c) => c,
            Err(e) => return e.into(),
        };
        if counts.failures < policy.max_failures || counts.addresses < policy.min_addresses {
            return refused;
        }
        if let Err(e) = self
            .store
            .lock_login(&key(name), now + policy.lock_for)
            .await
        {
            return e.into();
        }
        self.metrics.locked_out();
        tracing::warn!(
            user = %name,
            failures = counts.failures,
            addresses = counts.addresses,
            "name locked after repeated failed logins from several addresses"
        );
        self.audit_raw(
            AuditKind::AccountLocked,
            None,
            None,
            None,
            Some(name),
            &format!(
                "{} failed logins from {} addresses within {} minutes; locked for {} minutes",
                counts.failures,
                counts.addresses,
                policy.window.whole_minutes(),
                policy.lock_for.whole_minutes()
            ),
        )
        .await;
        CoreError::Unauthenticated(AuthFailure::AccountLocked {
            remaining_secs: policy.lock_for.whole_seconds(),
        })
    }

    /// After a successful login: the name's failures no longer count.
    pub(super) async fn forget_login_failures(&self, name: &str) -> CoreResult<()> {
        self.name_throttle.clear(&key(name));
        if self.cfg.lockout.is_some() {
            self.store.clear_login_failures(&key(name)).await?;
        }
        Ok(())
    }

    /// Lifts the lock on a name and forgets its failures (needs `PRIVILEGE_LOCAL_USER_WRITE`).
    pub async fn unlock_login(&self, p: &Principal, name: &str) -> CoreResult<()> {
        self.require(p, Privilege::LOCAL_USER_WRITE).await?;
        self.name_throttle.clear(&key(name));
        self.store.clear_login_failures(&key(name)).await?;
        self.audit_by(p, AuditKind::UserChanged, Some(name), "login lock lifted")
            .await;
        tracing::info!(user = %name, by = %p.user.name, "login lock lifted");
        Ok(())
    }

    /// The names locked now, with the end of each lock (needs `PRIVILEGE_LOCAL_USER_READ`).
    pub async fn login_locks(&self, p: &Principal) -> CoreResult<Vec<(String, OffsetDateTime)>> {
        self.require(p, Privilege::LOCAL_USER_READ).await?;
        Ok(self.store.list_login_locks(self.clock.now()).await?)
    }
}
