//! The `Store` trait: what the core needs from a database. One implementation per engine
//! (crate `sessiond-store`); all of them pass one contract test suite.

use std::collections::HashMap;

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::error::StoreError;
use crate::model::*;
use crate::secret::TokenHash;
use crate::webhook::{
    DeadLetter, Event, FailedAttempt, NewWebhook, WebhookEndpoint, WebhookSecret,
};

pub type StoreResult<T> = Result<T, StoreError>;

/// A change to a user's record. `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UserUpdate {
    pub name: Option<String>,
    pub account_type: Option<AccountType>,
    pub primary_group: Option<GroupId>,
    pub can_change_password: Option<bool>,
    pub enabled: Option<bool>,
    pub password_hash: Option<String>,
    pub profile: Option<Profile>,
    pub updated_at: Option<OffsetDateTime>,
    /// The user's directory entry moved (a rename there).
    pub directory_dn: Option<String>,
}

/// What a reporting server may change about one of its sessions; `None` keeps a field.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReportedChange {
    pub num_opens: Option<i64>,
    pub client_type: Option<String>,
    pub transport: Option<String>,
    pub shares: Option<Vec<String>>,
}

/// The activity of one session seen since the last flush.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Activity {
    pub session_id: String,
    pub last_active: OffsetDateTime,
}

/// A change, possibly made by another node, that a cache must forget.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    SessionEnded(String),
    /// An access token was disabled, changed or deleted.
    AccessToken(String),
    /// The user's record, roles or existence changed.
    User(UserId),
    /// A role or its privileges changed.
    Roles,
    /// Changes may have been missed (the listener lost its connection): forget everything.
    Lost,
}

/// Failed logins for one name within the counting window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoginFailures {
    pub failures: u32,
    /// How many distinct client addresses they came from.
    pub addresses: u32,
}

/// Sessions with their token hashes, as the cache warm-up reads them.
pub type SessionPage = Vec<(Session, TokenHash)>;

#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Cheap check that the store answers (for readiness).
    async fn ping(&self) -> StoreResult<()>;

    /// Starts delivering changes made by any node. `None` for engines that serve a single
    /// node, where every change is made (and evicted) locally.
    fn subscribe(&self) -> Option<tokio::sync::mpsc::UnboundedReceiver<Change>> {
        None
    }

    /// Whether other nodes may write to this store (and open sessions this node does not
    /// hear of).
    fn shared_by_nodes(&self) -> bool {
        false
    }

    /// Closes the store's connections (at shutdown).
    async fn close(&self) {}

    // Users
    async fn count_users(&self) -> StoreResult<i64>;
    /// Fails with `Conflict` when the name (case-insensitively) or the id is taken.
    async fn insert_user(&self, user: &NewUser, now: OffsetDateTime) -> StoreResult<User>;
    async fn get_user(&self, id: UserId) -> StoreResult<Option<User>>;
    async fn get_user_by_name(&self, name: &str) -> StoreResult<Option<User>>;
    async fn list_users(&self) -> StoreResult<Vec<User>>;
    /// Fails with `NotFound` for an unknown id, `Conflict` for a taken name.
    async fn update_user(&self, id: UserId, update: &UserUpdate) -> StoreResult<User>;
    async fn delete_user(&self, id: UserId) -> StoreResult<bool>;
    /// Replaces the user's roles; every name must name an existing role (`NotFound`).
    async fn set_user_roles(&self, id: UserId, roles: &[String]) -> StoreResult<()>;

    // Groups
    async fn insert_group(&self, id: Option<GroupId>, name: &str) -> StoreResult<Group>;
    async fn list_groups(&self) -> StoreResult<Vec<Group>>;
    async fn get_group(&self, id: GroupId) -> StoreResult<Option<Group>>;
    async fn delete_group(&self, id: GroupId) -> StoreResult<bool>;
    async fn group_members(&self, id: GroupId) -> StoreResult<Vec<UserId>>;
    async fn user_groups(&self, user: UserId) -> StoreResult<Vec<Group>>;
    async fn add_group_member(&self, group: GroupId, user: UserId) -> StoreResult<()>;
    async fn remove_group_member(&self, group: GroupId, user: UserId) -> StoreResult<bool>;

    // Roles
    async fn list_roles(&self) -> StoreResult<Vec<Role>>;
    /// Creates the role or replaces its description and privileges.
    async fn put_role(&self, role: &Role) -> StoreResult<()>;
    async fn delete_role(&self, name: &str) -> StoreResult<bool>;
    /// Replaces a role's session policy; `false` if no such role.
    async fn set_role_policy(&self, role: &str, policy: &RolePolicy) -> StoreResult<bool>;

    // Sessions
    async fn insert_session(&self, session: &Session, token: &TokenHash) -> StoreResult<()>;
    /// Inserts many sessions in one transaction (imports and benchmarks).
    async fn insert_sessions(&self, sessions: &[(Session, TokenHash)]) -> StoreResult<()>;
    /// The names of the given users (those that exist), in one look-up.
    async fn user_names(&self, ids: &[UserId]) -> StoreResult<HashMap<UserId, String>>;
    /// One token's session, whatever its state (the server reads misses in batches with
    /// `sessions_by_tokens`; this is the same query for one).
    async fn session_by_token(&self, token: &TokenHash) -> StoreResult<Option<Session>> {
        Ok(self
            .sessions_by_tokens(std::slice::from_ref(token))
            .await?
            .pop()
            .map(|(s, _)| s))
    }
    /// The sessions behind any of `tokens` (whatever their state), with their token hashes,
    /// in one query: cache misses that arrive together.
    async fn sessions_by_tokens(&self, tokens: &[TokenHash]) -> StoreResult<SessionPage>;
    /// Active sessions that present a token (reported ones do not), with their token
    /// hashes, by id after `after`, at most `limit`: one page of the cache warm-up.
    async fn active_sessions_after(&self, after: &str, limit: u32) -> StoreResult<SessionPage>;
    async fn get_session(&self, id: &str) -> StoreResult<Option<Session>>;
    /// Gives an active session a new token (the old one stops working); `false` if the
    /// session is unknown or ended.
    async fn replace_session_token(&self, id: &str, token: &TokenHash) -> StoreResult<bool>;
    /// Newest first.
    async fn list_sessions(&self, filter: &SessionFilter) -> StoreResult<Vec<Session>>;
    /// Gives an active session a new end (`None`: none); `false` if unknown or ended.
    async fn set_session_expiry(
        &self,
        id: &str,
        until: Option<OffsetDateTime>,
    ) -> StoreResult<bool>;
    /// Ends the session if it is still active; returns whether it did.
    async fn end_session(&self, id: &str, at: OffsetDateTime, why: EndReason) -> StoreResult<bool>;
    /// Ends every active session of a user but `except`; returns the ids it ended.
    async fn end_user_sessions(
        &self,
        user: UserId,
        except: Option<&str>,
        at: OffsetDateTime,
        why: EndReason,
    ) -> StoreResult<Vec<String>>;
    /// Whether any session, active or ended, was ever on this server (case-insensitively).
    async fn server_known(&self, server: &str) -> StoreResult<bool>;
    /// How many sessions are active on each server (for the metrics).
    async fn active_sessions_by_server(&self) -> StoreResult<Vec<(String, i64)>>;
    /// Changes what another server reported about a session, and records activity at `at`.
    async fn update_reported_session(
        &self,
        id: &str,
        change: &ReportedChange,
        at: OffsetDateTime,
    ) -> StoreResult<bool>;
    /// Records activity; an older instant never overwrites a newer one (latest wins).
    async fn record_activity(&self, batch: &[Activity]) -> StoreResult<()>;
    /// Ends active sessions past their expiry, or idle too long: since before `idle_before`
    /// (the server's time-out) for those opened without one of their own, for the others
    /// longer than their own. Returns them with the reason.
    async fn end_stale_sessions(
        &self,
        now: OffsetDateTime,
        idle_before: Option<OffsetDateTime>,
    ) -> StoreResult<Vec<(String, EndReason)>>;
    /// Deletes sessions that ended before `cutoff`; returns how many.
    async fn purge_sessions(&self, ended_before: OffsetDateTime) -> StoreResult<u64>;

    // Access tokens
    async fn insert_access_token(&self, token: &AccessToken, hash: &TokenHash) -> StoreResult<()>;
    async fn access_token_by_hash(&self, hash: &TokenHash) -> StoreResult<Option<AccessToken>>;
    async fn get_access_token(&self, id: &str) -> StoreResult<Option<AccessToken>>;
    /// Ordered by id (ids sort as numbers); only ids greater than `after`; at most `limit`.
    async fn list_access_tokens(&self, filter: &AccessTokenFilter)
        -> StoreResult<Vec<AccessToken>>;
    /// Changes what is given (`Some(None)` clears the expiration); `None` if no such token.
    async fn update_access_token(
        &self,
        id: &str,
        enabled: Option<bool>,
        expiration: Option<Option<OffsetDateTime>>,
    ) -> StoreResult<Option<AccessToken>>;
    async fn delete_access_token(&self, id: &str) -> StoreResult<bool>;

    // Failed logins (account lockout), by the name presented, whether or not a user has it
    /// Records a failed login for `name` from `address` at `now`, forgets the name's
    /// failures before `since`, and returns those left.
    async fn record_login_failure(
        &self,
        name: &str,
        address: &str,
        now: OffsetDateTime,
        since: OffsetDateTime,
    ) -> StoreResult<LoginFailures>;
    async fn lock_login(&self, name: &str, until: OffsetDateTime) -> StoreResult<()>;
    /// Until when logins with `name` are locked, if they are (or were) locked.
    async fn login_locked_until(&self, name: &str) -> StoreResult<Option<OffsetDateTime>>;
    /// The names locked until after `now`, with their end.
    async fn list_login_locks(
        &self,
        now: OffsetDateTime,
    ) -> StoreResult<Vec<(String, OffsetDateTime)>>;
    /// Forgets the name's failed logins and any lock.
    async fn clear_login_failures(&self, name: &str) -> StoreResult<()>;
    /// Forgets failures before `before` and locks that ended before it; returns how many.
    async fn purge_login_failures(&self, before: OffsetDateTime) -> StoreResult<u64>;

    // RSA keys of users
    async fn insert_user_key(&self, key: &UserPublicKey) -> StoreResult<()>;
    async fn list_user_keys(&self, user: UserId) -> StoreResult<Vec<UserPublicKey>>;
    async fn delete_user_key(&self, user: UserId, id: &str) -> StoreResult<bool>;

    // Extension apps
    /// Fails with `Conflict` when the app id is taken.
    async fn insert_app(&self, app: &App) -> StoreResult<()>;
    /// Replaces the app's name, key, permissions, users and enabled flag.
    async fn update_app(&self, app: &App) -> StoreResult<bool>;
    async fn get_app(&self, app_id: &str) -> StoreResult<Option<App>>;
    async fn list_apps(&self) -> StoreResult<Vec<App>>;
    async fn delete_app(&self, app_id: &str) -> StoreResult<bool>;
    async fn insert_app_session(
        &self,
        token: &TokenHash,
        app_id: &str,
        created: OffsetDateTime,
        expires: OffsetDateTime,
    ) -> StoreResult<()>;
    /// The app of a live app session token: `(app_id, expires_at)`.
    async fn app_session(&self, token: &TokenHash)
        -> StoreResult<Option<(String, OffsetDateTime)>>;

    // Webhooks (events are written by the store itself, with the changes they announce)
    async fn insert_webhook(&self, w: &NewWebhook) -> StoreResult<()>;
    /// Oldest first, each with where its deliveries stand.
    async fn list_webhooks(&self) -> StoreResult<Vec<WebhookEndpoint>>;
    async fn get_webhook(&self, id: &str) -> StoreResult<Option<WebhookEndpoint>>;
    /// Forgets the endpoint with its queue and dead letters.
    async fn delete_webhook(&self, id: &str) -> StoreResult<bool>;
    /// A new secret; the current one keeps signing beside it until `previous_until`.
    async fn rotate_webhook_secret(
        &self,
        id: &str,
        secret: &WebhookSecret,
        previous_until: OffsetDateTime,
    ) -> StoreResult<bool>;
    /// Takes (or renews) the lease of every endpoint that has events due and that no
    /// other node holds, until `lease_until`; returns them. One node at a time holds an
    /// endpoint, so the cluster delivers each of its events once and in order.
    async fn claim_webhooks(
        &self,
        owner: &str,
        now: OffsetDateTime,
        lease_until: OffsetDateTime,
    ) -> StoreResult<Vec<WebhookEndpoint>>;
    /// The endpoint's queued events in order, at most `limit`, with their attempts so far.
    async fn queued_events(&self, endpoint: &str, limit: u32) -> StoreResult<Vec<(Event, i64)>>;
    /// The event reached the endpoint: dequeued, failures cleared, the lease renewed.
    async fn webhook_delivered(
        &self,
        endpoint: &str,
        event_id: i64,
        at: OffsetDateTime,
        lease_until: OffsetDateTime,
    ) -> StoreResult<()>;
    /// An attempt failed: counted, the next one set for `retry_at`, the lease given up,
    /// and queued events failing since before `give_up_before` moved to the dead letters
    /// (returns how many).
    async fn webhook_failed(&self, endpoint: &str, f: &FailedAttempt<'_>) -> StoreResult<u64>;
    /// Gives the lease up (at shutdown), if `owner` holds it.
    async fn release_webhook(&self, endpoint: &str, owner: &str) -> StoreResult<()>;
    /// Oldest event first.
    async fn dead_letters(&self, endpoint: &str) -> StoreResult<Vec<DeadLetter>>;
    /// Queues the endpoint's dead letters again (in their order) and clears its back-off;
    /// returns how many.
    async fn replay_dead_letters(&self, endpoint: &str) -> StoreResult<u64>;
    /// Deletes events no endpoint still has to deliver, and dead letters that failed
    /// before `dead_before`; returns how many rows went. Also forgets rotated-out secrets
    /// whose overlap ended before `now`.
    async fn purge_events(
        &self,
        now: OffsetDateTime,
        dead_before: OffsetDateTime,
    ) -> StoreResult<u64>;
    /// Every event still stored, in order (tests and diagnostics).
    async fn list_events(&self) -> StoreResult<Vec<Event>>;

    // Audit
    async fn append_audit(&self, event: &AuditEvent) -> StoreResult<()>;
    /// Newest first.
    async fn list_audit(&self, filter: &AuditFilter) -> StoreResult<Vec<AuditEvent>>;
    async fn purge_audit(&self, before: OffsetDateTime) -> StoreResult<u64>;
}
