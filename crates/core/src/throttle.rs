//! Throttling failed logins by a key (a client address, a presented user name), in memory:
//! the first `free` failures within `window` cost nothing; each one after that makes the key
//! wait `base`, then twice as long, and so on up to `max`. While it waits, a login for the
//! key is refused at once, before any password is hashed or the store is asked.
//!
//! Each node keeps its own counts (the durable, cluster-wide lock is the store's); the map
//! is bounded, so a flood of distinct keys cannot grow it without limit.

use std::collections::HashMap;
use std::sync::Mutex;

use time::{Duration, OffsetDateTime};

/// How a throttle grows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottlePolicy {
    /// Failures within the window that cost nothing.
    pub free: u32,
    /// The first wait; each further failure doubles it.
    pub base: Duration,
    /// The longest wait.
    pub max: Duration,
    /// Failures older than this are forgotten.
    pub window: Duration,
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    failures: u32,
    last_failure: OffsetDateTime,
    blocked_until: Option<OffsetDateTime>,
}

/// Keys held at most; past it, entries whose window has passed are dropped first.
const CAPACITY: usize = 100_000;

pub struct Throttle {
    policy: ThrottlePolicy,
    entries: Mutex<HashMap<String, Entry>>,
}

impl Throttle {
    pub fn new(policy: ThrottlePolicy) -> Self {
        Throttle {
            policy,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// The whole seconds `key` must still wait, if it must.
    pub fn wait(&self, key: &str, now: OffsetDateTime) -> Option<i64> {
        let entries = self.entries.lock().ok()?;
        let until = entries.get(key)?.blocked_until?;
        (until > now).then(|| ((until - now).as_seconds_f64().ceil() as i64).max(1))
    }

    /// Counts a failure for `key`; returns how long it must now wait, if it must.
    pub fn fail(&self, key: &str, now: OffsetDateTime) -> Option<Duration> {
        let Ok(mut entries) = self.entries.lock() else {
            return None;
        };
        if entries.len() >= CAPACITY && !entries.contains_key(key) {
            let window = self.policy.window;
            entries.retain(|_, e| {
                now - e.last_failure < window || e.blocked_until.is_some_and(|u| u > now)
            });
            if entries.len() >= CAPACITY {
                tracing::warn!(
                    keys = entries.len(),
                    "login throttle full; forgetting its counts"
                );
                entries.clear();
            }
        }
        let e = entries.entry(key.to_owned()).or_insert(Entry {
            failures: 0,
            last_failure: now,
            blocked_until: None,
        });
        if now - e.last_failure >= self.policy.window {
            e.failures = 0;
        }
        e.failures += 1;
        e.last_failure = now;
        let over = e.failures.checked_sub(self.policy.free + 1)?;
        let wait = self
            .policy
            .base
            .checked_mul(1i32.checked_shl(over.min(30)).unwrap_or(i32::MAX))
            .unwrap_or(self.policy.max)
            .min(self.policy.max);
        e.blocked_until = Some(now + wait);
        Some(wait)
    }

    pub fn clear(&self, key: &str) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.remove(key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> ThrottlePolicy {
        ThrottlePolicy {
            free: 3,
            base: Duration::seconds(1),
            max: Duration::seconds(10),
            window: Duration::minutes(15),
        }
    }

    #[test]
    fn free_failures_then_a_doubling_wait_up_to_the_max() {
        let t = Throttle::new(policy());
        let mut now = OffsetDateTime::UNIX_EPOCH;
        for _ in 0..3 {
            assert_eq!(t.fail("a", now), None);
            assert_eq!(t.wait("a", now), None);
        }
        let mut waits = vec![];
        for _ in 0..6 {
            let w = t.fail("a", now).unwrap();
            assert_eq!(t.wait("a", now), Some(w.whole_seconds()));
            waits.push(w.whole_seconds());
            now += w;
            assert_eq!(t.wait("a", now), None, "free again once the wait is over");
        }
        assert_eq!(waits, [1, 2, 4, 8, 10, 10]);
        assert_eq!(t.wait("b", now), None, "other keys are not affected");
    }

    #[test]
    fn failures_are_forgotten_after_the_window_and_on_clear() {
        let t = Throttle::new(policy());
        let now = OffsetDateTime::UNIX_EPOCH;
        for _ in 0..4 {
            t.fail("a", now);
        }
        assert!(t.wait("a", now).is_some());
        let later = now + Duration::minutes(16);
        assert_eq!(t.fail("a", later), None, "a new window starts");
        for _ in 0..4 {
            t.fail("b", now);
        }
        t.clear("b");
        assert_eq!(t.wait("b", now), None);
    }
}
