//! # sessiond-core
//!
//! The heart of sessiond: what a session is and the rules around it. No HTTP, no SQL.
//!
//! # Layout
//! - `model`: the records (User, Group, Role, Session, AuditEvent) and their enums.
//! - `privilege`: the `PRIVILEGE_*` vocabulary (seed 003) plus sessiond's own.
//! - `service`: `Core`, the one entry point dialects call (login, authenticate, sessions,
//!   users, roles, groups, audit, bootstrap, maintenance).
//! - `cache`: the hot token cache and the in-memory activity stamps.
//! - `store`: the `Store` trait every engine implements.
//! - `secret`: tokens (random, kept as SHA-256) and argon2id passwords.
//! - `clock`: the time source, replaceable in tests.
//! - `jwt`: RS512 pubkey JWTs (Symphony bots and apps) and RSA key checks.
//! - `validate`: bounds on every stored field.
//! - `throttle`: in-memory throttling of failed logins by client address and by name.
//! - `directory`: the `Directory` trait (LDAP, Active Directory) and groups to roles.
//! - `webhook`: events, endpoints and the Standard Webhooks signature.
//! - `error`: `CoreError` (the core's one error type) and `StoreError`.

pub mod cache;
pub mod cached_session;
pub mod clock;
pub mod directory;
pub mod error;
pub mod jwt;
pub mod lists;
pub mod metrics;
pub mod misses;
pub mod model;
pub mod privilege;
pub mod secret;
pub mod service;
pub mod store;
pub mod throttle;
pub mod validate;
pub mod webhook;

pub use clock::{Clock, ManualClock, SystemClock};
pub use error::{AuthFailure, CoreError, CoreResult, StoreError};
pub use privilege::{Privilege, PrivilegeSet};
pub use service::{
    Core, CoreConfig, LockoutPolicy, LoginContext, LoginOutcome, LoginThrottle, Principal,
};
pub use store::Store;
pub use throttle::ThrottlePolicy;
