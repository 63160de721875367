//! Background work: flushing activity in batches, ending stale sessions, purging history.

use super::Core;
use crate::error::CoreResult;
use crate::store::Change;

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SweepReport {
    pub flushed: usize,
    pub ended: usize,
    pub purged_sessions: u64,
    pub purged_audit: u64,
    pub purged_login_failures: u64,
    /// Delivered webhook events, and dead letters older than the history.
    pub purged_events: u64,
}

impl Core {
    /// Writes the activity seen since the last flush in one batch. On failure the batch is
    /// kept for the next try, so activity is never lost to a passing outage.
    pub async fn flush_activity(&self) -> CoreResult<usize> {
        let batch = self.cache.take_activity();
        if batch.is_empty() {
            return Ok(0);
        }
        let n = batch.len();
        if let Err(e) = self.store.record_activity(&batch).await {
            self.cache.restore_activity(batch);
            return Err(e.into());
        }
        self.sessions_changed();
        Ok(n)
    }

    /// Ends sessions past their expiry or idle too long, and purges old history.
    pub async fn sweep(&self) -> CoreResult<SweepReport> {
        let flushed = self.flush_activity().await?;
        let now = self.clock.now();
        let idle_before = self.cfg.idle_timeout.map(|d| now - d);
        let ended = self.store.end_stale_sessions(now, idle_before).await?;
        for (id, why) in &ended {
            self.forget_session(id);
            tracing::info!(session = %id, reason = why.as_str(), "session ended");
        }
        let purged_sessions = self
            .store
            .purge_sessions(now - self.cfg.history_retention)
            .await?;
        if purged_sessions > 0 {
            self.sessions_changed();
        }
        let purged_audit = self
            .store
            .purge_audit(now - self.cfg.audit_retention)
            .await?;
        let window = self.cfg.lockout.map(|l| l.window).unwrap_or_default();
        let purged_login_failures = self.store.purge_login_failures(now - window).await?;
        let purged_events = self
            .store
            .purge_events(now, now - self.cfg.history_retention)
            .await?;
        Ok(SweepReport {
            purged_events,
            purged_login_failures,
            flushed,
            ended: ended.len(),
            purged_sessions,
            purged_audit,
        })
    }
}

impl Core {
    /// Applies a change reported by the store (made on this node or another).
    pub async fn apply_change(&self, change: Change) {
        match change {
            Change::SessionEnded(id) | Change::AccessToken(id) => self.forget_session(&id),
            Change::User(id) => self.forget_user(id),
            Change::Roles | Change::Lost => {
                self.forget_all();
                if let Err(e) = self.reload_roles().await {
                    tracing::warn!(error = %e, "could not reload roles");
                }
            }
        }
    }

    /// The store's change feed, if it has one (for the server to run `apply_change` on).
    pub fn subscribe_changes(&self) -> Option<tokio::sync::mpsc::UnboundedReceiver<Change>> {
        self.store.subscribe()
    }
}
