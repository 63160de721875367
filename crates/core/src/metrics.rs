//! What the core counts for operators: logins by the way in and their result, lock-outs,
//! throttled attempts, cache hits and misses, store errors, webhook attempts, and the requests each dialect
//! answered (counted by the server, kept here with the rest). Counts only, never a name or a
//! token. The server registers these with its own request metrics and serves them at
//! `/metrics`.

use std::sync::atomic::{AtomicU64, Ordering};

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

use crate::error::{AuthFailure, CoreError, CoreResult};

/// Store errors seen anywhere (each `StoreError` turned into a `CoreError`), counted where
/// the conversion happens so that no call site can forget it.
pub(crate) static STORE_ERRORS: AtomicU64 = AtomicU64::new(0);

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct LoginLabels {
    /// The dialect (or other way in) the login came through.
    pub dialect: &'static str,
    pub result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub dialect: &'static str,
    /// `2xx`, `3xx`, `4xx` or `5xx`.
    pub class: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ResultLabels {
    /// `delivered` or `failed`.
    pub result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DialectLabels {
    pub dialect: &'static str,
}

type Seconds = Family<DialectLabels, Histogram, fn() -> Histogram>;

/// 50 µs to ~3.3 s, doubling: a cached who-am-i takes tens of µs, a login with argon2id
/// hundreds of ms.
fn request_seconds() -> Histogram {
    Histogram::new(exponential_buckets(0.000_05, 2.0, 17))
}

pub struct Metrics {
    /// From a change notice's arrival (PostgreSQL's LISTEN) to this node's cache having
    /// forgotten what it names.
    change_applied: Histogram,
    logins: Family<LoginLabels, Counter>,
    lockouts: Counter,
    throttled: Counter,
    cache_hits: Counter,
    cache_misses: Counter,
    requests: Family<RequestLabels, Counter>,
    request_seconds: Seconds,
    webhook_attempts: Family<ResultLabels, Counter>,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            // 10 µs to ~0.3 s, doubling.
            change_applied: Histogram::new(exponential_buckets(0.000_01, 2.0, 15)),
            logins: Family::default(),
            lockouts: Counter::default(),
            throttled: Counter::default(),
            cache_hits: Counter::default(),
            cache_misses: Counter::default(),
            requests: Family::default(),
            request_seconds: Family::new_with_constructor(request_seconds),
            webhook_attempts: Family::default(),
        }
    }
}

/// One dialect's request counters, looked up once so that a request only adds to atomics.
#[derive(Clone)]
pub struct RequestMetrics {
    /// By status class: 1xx and 2xx, 3xx, 4xx, 5xx.
    by_class: [Counter; 4],
    seconds: Histogram,
}

impl RequestMetrics {
    pub fn observe(&self, status: u16, seconds: f64) {
        let i = match status {
            0..=299 => 0,
            300..=399 => 1,
            400..=499 => 2,
            _ => 3,
        };
        self.by_class[i].inc();
        self.seconds.observe(seconds);
    }
}

/// A login's result as a label: "success", or why it failed.
fn result_label<T>(r: &CoreResult<T>) -> &'static str {
    match r {
        Ok(_) => "success",
        Err(CoreError::Unauthenticated(why)) => match why {
            AuthFailure::BadCredentials => "bad_credentials",
            AuthFailure::AccountLocked { .. } => "locked",
            AuthFailure::Throttled { .. } => "throttled",
            _ => "refused",
        },
        Err(CoreError::Forbidden(_)) => "forbidden",
        Err(CoreError::Invalid(_)) => "invalid",
        Err(_) => "error",
    }
}

impl Metrics {
    pub fn login<T>(&self, dialect: &'static str, result: &CoreResult<T>) {
        let result = result_label(result);
        self.logins
            .get_or_create(&LoginLabels { dialect, result })
            .inc();
    }

    /// The request counters of one dialect.
    pub fn requests_of(&self, dialect: &'static str) -> RequestMetrics {
        let counter = |class| {
            self.requests
                .get_or_create(&RequestLabels { dialect, class })
                .clone()
        };
        RequestMetrics {
            by_class: [
                counter("2xx"),
                counter("3xx"),
                counter("4xx"),
                counter("5xx"),
            ],
            seconds: self
                .request_seconds
                .get_or_create(&DialectLabels { dialect })
                .clone(),
        }
    }

    /// A change notice applied to this node's cache, `seconds` after it arrived.
    pub fn change_applied(&self, seconds: f64) {
        self.change_applied.observe(seconds);
    }

    pub(crate) fn webhook_delivered(&self, ok: bool) {
        let result = if ok { "delivered" } else { "failed" };
        self.webhook_attempts
            .get_or_create(&ResultLabels { result })
            .inc();
    }

    pub(crate) fn locked_out(&self) {
        self.lockouts.inc();
    }

    pub(crate) fn throttled(&self) {
        self.throttled.inc();
    }

    pub(crate) fn cache_hit(&self) {
        self.cache_hits.inc();
    }

    pub(crate) fn cache_miss(&self) {
        self.cache_misses.inc();
    }

    /// Adds the core's metrics to `registry` (which prefixes them with its own name).
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "logins",
            "Logins by dialect and result",
            self.logins.clone(),
        );
        registry.register(
            "lockouts",
            "User names locked after repeated failed logins",
            self.lockouts.clone(),
        );
        registry.register(
            "throttled_logins",
            "Logins refused because the address or name must wait",
            self.throttled.clone(),
        );
        registry.register(
            "cache_hits",
            "Token look-ups answered from memory",
            self.cache_hits.clone(),
        );
        registry.register(
            "cache_misses",
            "Token look-ups that read the store",
            self.cache_misses.clone(),
        );
        registry.register_with_unit(
            "change_evict_duration",
            "Time from a change notice from another node (PostgreSQL) to its eviction here",
            prometheus_client::registry::Unit::Seconds,
            self.change_applied.clone(),
        );
        registry.register(
            "http_requests",
            "HTTP requests answered, by dialect and status class",
            self.requests.clone(),
        );
        registry.register(
            "webhook_attempts",
            "Webhook deliveries attempted by this node, by result",
            self.webhook_attempts.clone(),
        );
        registry.register_with_unit(
            "http_request_duration",
            "Time from a request's arrival at its dialect to its answer, by dialect",
            prometheus_client::registry::Unit::Seconds,
            self.request_seconds.clone(),
        );
    }

    /// The store errors so far, as a counter to register at each scrape.
    pub fn store_errors() -> ConstCounter {
        ConstCounter::new(STORE_ERRORS.load(Ordering::Relaxed))
    }
}
