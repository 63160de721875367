//! The core service: every rule about who may do what with which session. Dialects call
//! it; it calls the cache and the store. No HTTP, no SQL.

mod access_tokens;
mod apps;
mod audit;
mod auth;
mod bootstrap;
mod directory;
mod groups;
mod guard;
mod introspection;
mod maintenance;
mod net_sessions;
mod policy;
mod repeated;
mod roles;
mod sessions;
mod users;
mod warm;
mod webhooks;

pub use access_tokens::MAX_ACCESS_TOKENS_PER_USER;
pub use apps::{AppSpec, GET_BASIC_USER_INFO, GET_EXTENDED_CONTACT_INFO, GET_EXTENDED_USER_INFO};
pub use auth::{LoginContext, LoginOutcome, Principal, ACCESS_TOKEN_PREFIX};
pub use bootstrap::Bootstrap;
pub use directory::{DirectorySource, SyncReport};
pub use maintenance::SweepReport;
pub use net_sessions::{computer_name, Report};
pub use policy::SessionLimitAction;
pub use roles::{
    builtin_roles, ADMINISTRATORS, OBSERVERS, PAM_USERS, RESOURCE_SERVERS, SERVER_OPERATORS,
    SESSION_REPORTERS,
};
pub use users::{CreateUser, UserChanges, UserKey};
pub use warm::WarmReport;
pub use webhooks::{
    backoff, DeliveryReport, WebhookPolicy, WebhookRequest, WebhookSender, WebhookSpec,
};

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use time::Duration;

use crate::cache::AuthCache;
use crate::clock::Clock;
use crate::error::CoreResult;
use crate::lists::{ListMemo, SHARED_TTL};
use crate::model::Role;
use crate::secret::PasswordHasher;
use crate::store::Store;
use crate::throttle::{Throttle, ThrottlePolicy};

#[derive(Debug, Clone)]
pub struct CoreConfig {
    /// The name of this server, recorded on the sessions opened here.
    pub server_name: String,
    /// A session unused for this long ends (reason "idle"); `None` disables the rule.
    pub idle_timeout: Option<Duration>,
    /// A session ends this long after login (reason "expired"); `None` disables the rule.
    pub session_lifetime: Option<Duration>,
    /// How long ended sessions stay queryable as history.
    pub history_retention: Duration,
    /// How long audit events are kept.
    pub audit_retention: Duration,
    /// How many password hashes may be computed at once.
    pub hash_concurrency: usize,
    /// How many tokens the hot cache holds.
    pub cache_capacity: usize,
    /// Locking a name after repeated failed logins from several addresses; `None`
    /// disables it.
    pub lockout: Option<LockoutPolicy>,
    /// Slowing down failed logins per client address and per name.
    pub throttle: LoginThrottle,
    /// Concurrent sessions a user may hold (roles may set fewer); `None`: no cap.
    pub max_sessions_per_user: Option<u32>,
    /// What a login past the cap does.
    pub session_limit: SessionLimitAction,
    /// Webhook retries, give-up time and leases.
    pub webhooks: WebhookPolicy,
}

/// `max_failures` failed logins for one name within `window`, from at least
/// `min_addresses` client addresses, lock the name for `lock_for`, in every dialect and on
/// every node, whether or not a user has that name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockoutPolicy {
    pub max_failures: u32,
    pub window: Duration,
    pub lock_for: Duration,
    pub min_addresses: u32,
}

impl Default for LockoutPolicy {
    fn default() -> Self {
        LockoutPolicy {
            max_failures: 5,
            window: Duration::minutes(15),
            lock_for: Duration::minutes(30),
            min_addresses: 3,
        }
    }
}

/// In-memory throttles on failed logins: per client address (growing up to minutes) and
/// per name (a short wait, so that one address cannot keep a name's owner out for long).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoginThrottle {
    pub by_address: ThrottlePolicy,
    pub by_name: ThrottlePolicy,
}

impl Default for LoginThrottle {
    fn default() -> Self {
        LoginThrottle {
            by_address: ThrottlePolicy {
                free: 5,
                base: Duration::seconds(1),
                max: Duration::minutes(5),
                window: Duration::minutes(15),
            },
            by_name: ThrottlePolicy {
                free: 5,
                base: Duration::seconds(1),
                max: Duration::seconds(30),
                window: Duration::minutes(15),
            },
        }
    }
}

impl Default for CoreConfig {
    fn default() -> Self {
        CoreConfig {
            server_name: "localhost".into(),
            idle_timeout: Some(Duration::minutes(30)),
            session_lifetime: Some(Duration::hours(8)),
            history_retention: Duration::days(30),
            audit_retention: Duration::days(90),
            hash_concurrency: 2,
            cache_capacity: 100_000,
            lockout: Some(LockoutPolicy::default()),
            throttle: LoginThrottle::default(),
            max_sessions_per_user: None,
            session_limit: SessionLimitAction::Refuse,
            webhooks: WebhookPolicy::default(),
        }
    }
}

pub struct Core {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    cfg: CoreConfig,
    cache: AuthCache,
    /// Where cache misses of session tokens are read, in batches.
    misses: crate::misses::MissBatcher,
    /// Session lists and user names between changes; every session or user write bumps it.
    lists: ListMemo,
    hasher: PasswordHasher,
    repeated: repeated::RepeatedLogins,
    address_throttle: Throttle,
    name_throttle: Throttle,
    /// Roles by name, loaded at start and replaced on every role change.
    roles: RwLock<Arc<HashMap<String, Role>>>,
    /// Where users sessiond does not own come from, if anywhere (`use_directory`).
    directory: std::sync::OnceLock<directory::DirectorySource>,
    /// Counts for operators (`/metrics`).
    pub metrics: crate::metrics::Metrics,
}

impl Core {
    /// Builds the core and loads the roles. Call `bootstrap` once before serving.
    pub async fn new(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        cfg: CoreConfig,
    ) -> CoreResult<Core> {
        let core = Core {
            cache: AuthCache::new(cfg.cache_capacity),
            metrics: crate::metrics::Metrics::default(),
            misses: crate::misses::MissBatcher::new(Arc::clone(&store)),
            lists: ListMemo::new(store.shared_by_nodes().then_some(SHARED_TTL)),
            hasher: PasswordHasher::new(cfg.hash_concurrency),
            repeated: repeated::RepeatedLogins::new()?,
            address_throttle: Throttle::new(cfg.throttle.by_address),
            name_throttle: Throttle::new(cfg.throttle.by_name),
            roles: RwLock::new(Arc::new(HashMap::new())),
            directory: std::sync::OnceLock::new(),
            store,
            clock,
            cfg,
        };
        core.reload_roles().await?;
        tokio::task::spawn_blocking(crate::secret::warm_dummy_hash)
            .await
            .map_err(|e| crate::error::CoreError::Internal(format!("password hashing: {e}")))?;
        Ok(core)
    }

    pub fn config(&self) -> &CoreConfig {
        &self.cfg
    }

    pub fn now(&self) -> time::OffsetDateTime {
        self.clock.now()
    }

    /// Whether the store answers.
    pub async fn ready(&self) -> CoreResult<()> {
        Ok(self.store.ping().await?)
    }

    pub fn cached_tokens(&self) -> usize {
        self.cache.len()
    }
}

/// Every change that could make something kept in memory wrong goes through these, so
/// that the hot cache and the kept session lists forget it together.
impl Core {
    /// A session or access token ended or changed.
    pub(super) fn forget_session(&self, id: &str) {
        self.cache.evict_session(id);
        self.lists.changed();
    }

    /// A user, their roles or their sessions changed.
    pub(super) fn forget_user(&self, id: crate::model::UserId) {
        self.cache.evict_user(id);
        self.lists.changed();
    }

    /// Roles changed, or changes from other nodes may have been missed.
    pub(super) fn forget_all(&self) {
        self.cache.clear();
        self.lists.changed();
    }

    /// A session was opened, a reported one changed, or activity was written.
    pub(super) fn sessions_changed(&self) {
        self.lists.changed();
    }
}
