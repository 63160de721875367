//! Filling the hot cache from the store after a start, so that the first request of each
//! token does not each pay a store read (with a million sessions, a million of them).
//!
//! The warm-up reads active sessions in pages by id and the users once, and runs beside
//! the server: a request whose token is not loaded yet takes the on-demand path as before.
//! It never undoes a revocation: a page read before an eviction is read again.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::cache::{Grants, Warmed};
use crate::error::CoreResult;
use crate::model::UserId;

use super::Core;

/// Sessions read per store query; one page is inserted under one write lock, so this also
/// bounds how long a warm-up holds readers back (about a millisecond).
const PAGE: u32 = 1_000;

/// A page read again this many times in a row, each time overtaken by an eviction, ends
/// the warm-up: on a node that busy the on-demand path serves as well.
const MAX_STALE_IN_A_ROW: u32 = 20;

/// A cache cleared this many times during one warm-up (roles changed, or on PostgreSQL the
/// change listener (re)connected) ends it rather than starting it once more.
const MAX_RESTARTS: u32 = 3;

/// What a warm-up did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WarmReport {
    /// Entries it added (tokens already cached are not counted).
    pub added: usize,
    /// Whether it stopped because the cache was full.
    pub full: bool,
    /// Whether it gave up because evictions kept overtaking it.
    pub overtaken: bool,
    pub elapsed: Duration,
}

impl Core {
    /// Loads active sessions into the hot cache until it is full or none are left.
    pub async fn warm_cache(&self) -> CoreResult<WarmReport> {
        let started = Instant::now();
        let mut report = WarmReport::default();
        let mut users_read_at = self.cache.users_epoch();
        let mut grants = self.grants_of_enabled_users().await?;
        let mut after = String::new();
        let (mut stale, mut restarts) = (0, 0);
        let mut clears = self.cache.clears();
        loop {
            if self.cache.clears() != clears {
                // Everything loaded so far was dropped: from the start again.
                restarts += 1;
                if restarts > MAX_RESTARTS {
                    report.overtaken = true;
                    break;
                }
                clears = self.cache.clears();
                after.clear();
                report.added = 0;
            }
            let epoch = self.cache.epoch();
            let page = self.store.active_sessions_after(&after, PAGE).await?;
            let Some(last) = page.last().map(|(s, _)| s.id.clone()) else {
                break;
            };
            if self.cache.users_epoch() != users_read_at {
                // A user or role changed since the users were read: read them again, then
                // the page (a change after this shows as a stale page below).
                users_read_at = self.cache.users_epoch();
                grants = self.grants_of_enabled_users().await?;
                continue;
            }
            let now = self.clock.now();
            let live: Vec<_> = page
                .into_iter()
                .filter(|(s, _)| s.expires_at.is_none_or(|at| at > now))
                .collect();
            match self.cache.warm(live, &grants, epoch) {
                Warmed::Added(n) => {
                    report.added += n;
                    stale = 0;
                    after = last;
                }
                Warmed::Full { added } => {
                    report.added += added;
                    report.full = true;
                    break;
                }
                Warmed::Stale => {
                    stale += 1;
                    if stale >= MAX_STALE_IN_A_ROW {
                        report.overtaken = true;
                        break;
                    }
                }
            }
        }
        report.elapsed = started.elapsed();
        Ok(report)
    }

    async fn grants_of_enabled_users(&self) -> CoreResult<HashMap<UserId, Arc<Grants>>> {
        Ok(self
            .store
            .list_users()
            .await?
            .into_iter()
            .filter(|u| u.enabled)
            .map(|u| {
                let privileges = self.privileges_of(&u);
                (u.id, Arc::new(Grants::new(u, privileges)))
            })
            .collect())
    }
}
