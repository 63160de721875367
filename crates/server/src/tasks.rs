//! Background work: activity is flushed in batches, stale sessions are ended and old
//! history purged on a timer. Both stop with the server, after one last flush.

use std::sync::Arc;

use sessiond_core::Core;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::state::ServerConfig;

pub fn spawn_maintenance(
    core: Arc<Core>,
    cfg: &ServerConfig,
    mut stop: watch::Receiver<bool>,
) -> JoinHandle<()> {
    let (flush_every, sweep_every) = (cfg.flush_interval, cfg.sweep_interval);
    tokio::spawn(async move {
        let mut flush = tokio::time::interval(flush_every);
        let mut sweep = tokio::time::interval(sweep_every);
        flush.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        sweep.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = flush.tick() => {
                    if let Err(e) = core.flush_activity().await {
                        tracing::warn!(error = %e, "activity flush failed; will retry");
                    }
                }
                _ = sweep.tick() => {
                    match core.sweep().await {
                        Ok(r) if r.ended > 0 || r.purged_sessions > 0 || r.purged_audit > 0 => {
                            tracing::info!(ended = r.ended, purged_sessions = r.purged_sessions,
                                purged_audit = r.purged_audit, "sweep");
                        }
                        Ok(_) => {}
                        Err(e) => tracing::warn!(error = %e, "sweep failed; will retry"),
                    }
                    // What ended sessions, evictions and cache misses freed since.
                    crate::memory::trim();
                }
                _ = stop.changed() => break,
            }
        }
        match core.flush_activity().await {
            Ok(n) => tracing::debug!(sessions = n, "final activity flush"),
            Err(e) => tracing::warn!(error = %e, "final activity flush failed"),
        }
    })
}

/// Fills the hot cache from the store beside the server (see `Core::warm_cache`).
pub fn spawn_cache_warm_up(core: Arc<Core>) -> JoinHandle<()> {
    tokio::spawn(async move {
        match core.warm_cache().await {
            Ok(r) => {
                crate::memory::trim();
                tracing::info!(
                    sessions = r.added,
                    elapsed_ms = r.elapsed.as_millis() as u64,
                    cache_full = r.full,
                    overtaken = r.overtaken,
                    "hot cache warmed from the store"
                )
            }
            Err(e) => tracing::warn!(
                error = %e,
                "could not warm the hot cache; tokens load on their first request"
            ),
        }
    })
}

/// Applies the store's change feed (changes made on any node) to this node's cache. Returns
/// `None` when the store has no feed (a single-node engine).
pub fn spawn_change_listener(core: Arc<Core>) -> Option<JoinHandle<()>> {
    let mut changes = core.subscribe_changes()?;
    Some(tokio::spawn(async move {
        while let Some(change) = changes.recv().await {
            let arrived = std::time::Instant::now();
            tracing::debug!(?change, "change from the store");
            core.apply_change(change).await;
            core.metrics.change_applied(arrived.elapsed().as_secs_f64());
        }
    }))
}

/// Re-reads the directory's users every `every` (see `Core::sync_directory`): users disabled
/// or removed there lose their sessions, group changes reach their privileges. Logs an
/// outage once, and its end.
pub fn spawn_directory_sync(
    core: Arc<Core>,
    every: std::time::Duration,
    mut stop: watch::Receiver<bool>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut down = false;
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = stop.changed() => break,
            }
            match core.sync_directory().await {
                Ok(r) => {
                    if down {
                        tracing::info!("the directory answers again");
                        down = false;
                    }
                    if r.changed > 0 {
                        tracing::info!(
                            checked = r.checked,
                            changed = r.changed,
                            disabled = r.disabled,
                            "directory sync"
                        );
                    } else {
                        tracing::debug!(checked = r.checked, "directory sync: no change");
                    }
                }
                Err(e) => {
                    if !down {
                        tracing::warn!(error = %e, "directory sync failed; will retry");
                    }
                    down = true;
                }
            }
        }
    })
}
