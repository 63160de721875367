//! # sessiond-api
//!
//! The request and response types of sessiond's native API (`/api/v1`). The server renders
//! them and the CLI reads them, so the two cannot drift apart.
//!
//! # Layout
//! - this file: every type, grouped by resource (login, sessions, users, roles, groups,
//!   audit, errors). Times are RFC 3339 strings in UTC.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use time::OffsetDateTime;
use utoipa::ToSchema;

mod rfc3339;

pub const PREFIX: &str = "/api/v1";

/// The User-Agent sessiond's own CLI sends; sessions opened with it are "command line".
pub const CLI_USER_AGENT_PREFIX: &str = "sessiond-cli/";

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    #[schema(min_length = 1, max_length = 256)]
    pub username: String,
    #[schema(min_length = 1)]
    pub password: String,
    /// Optional free text describing the client (defaults to the User-Agent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_type: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct LoginResponse {
    pub token: String,
    pub session_id: String,
    #[serde(with = "crate::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub expires_at: Option<OffsetDateTime>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SessionView<'a> {
    pub id: Cow<'a, str>,
    pub user_id: i64,
    pub username: Cow<'a, str>,
    pub server: Cow<'a, str>,
    pub client_name: Cow<'a, str>,
    pub client_type: Cow<'a, str>,
    pub console_type: i32,
    pub transport: Option<Cow<'a, str>>,
    pub auth_method: Cow<'a, str>,
    pub actor: Option<Cow<'a, str>>,
    pub state: Cow<'a, str>,
    #[serde(with = "crate::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub login_time: OffsetDateTime,
    #[serde(with = "crate::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub last_active: OffsetDateTime,
    /// Seconds since the last activity (while active).
    pub idle_seconds: Option<i64>,
    #[serde(with = "crate::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub expires_at: Option<OffsetDateTime>,
    #[serde(with = "crate::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub logout_time: Option<OffsetDateTime>,
    pub end_reason: Option<Cow<'a, str>>,
    /// Whether this is the session of the request that asked.
    pub current: bool,
    /// The user as MIM PAM names it, `DOMAIN\\name`.
    #[serde(default)]
    pub pam_username: Cow<'a, str>,
}

impl SessionView<'_> {
    /// A copy that borrows nothing (for a list that outlives the records it was made of).
    pub fn into_owned(self) -> SessionView<'static> {
        let own = |t: Cow<'_, str>| Cow::Owned(t.into_owned());
        SessionView {
            id: own(self.id),
            username: own(self.username),
            server: own(self.server),
            client_name: own(self.client_name),
            client_type: own(self.client_type),
            transport: self.transport.map(own),
            auth_method: own(self.auth_method),
            actor: self.actor.map(own),
            state: own(self.state),
            end_reason: self.end_reason.map(own),
            pam_username: own(self.pam_username),
            user_id: self.user_id,
            console_type: self.console_type,
            login_time: self.login_time,
            last_active: self.last_active,
            idle_seconds: self.idle_seconds,
            expires_at: self.expires_at,
            logout_time: self.logout_time,
            current: self.current,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SessionList {
    pub sessions: Vec<SessionView<'static>>,
}

/// A session another server reported, as its reporter sees it again
/// (`GET /api/v1/servers/{server}/sessions`).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ReportedSession {
    pub id: String,
    pub username: String,
    pub client_name: String,
    pub client_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transport: Option<String>,
    pub num_opens: i64,
    pub user_flags: i64,
    pub shares: Vec<String>,
    #[serde(with = "crate::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub login_time: OffsetDateTime,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ReportedSessionList {
    pub sessions: Vec<ReportedSession>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RevokeOthersResponse {
    pub revoked: Vec<String>,
}

// `P` is how the privilege names are held and `U` how the user is: the views for a reader,
// the server's JSON renderings of them (made once per privilege set and per user) for the
// writer. (A `//` comment: a doc comment here would be the schema's description.)
/// Who is behind a token: the user, the session (if it is one) and the privileges.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct WhoAmI<'a, P = Vec<String>, U = UserView<'a>> {
    #[schema(value_type = UserView)]
    pub user: U,
    /// The caller's session; `null` when the caller used an access token.
    pub session: Option<SessionView<'a>>,
    /// Set when the caller used an access token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_token_id: Option<String>,
    #[schema(value_type = Vec<String>)]
    pub privileges: P,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Avatar {
    pub size: String,
    pub url: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct UserView<'a> {
    pub id: i64,
    pub name: Cow<'a, str>,
    pub display_name: Option<Cow<'a, str>>,
    pub first_name: Option<Cow<'a, str>>,
    pub last_name: Option<Cow<'a, str>>,
    pub email: Option<Cow<'a, str>>,
    pub title: Option<Cow<'a, str>>,
    pub company: Option<Cow<'a, str>>,
    pub location: Option<Cow<'a, str>>,
    pub department: Option<Cow<'a, str>>,
    pub division: Option<Cow<'a, str>>,
    pub job_function: Option<Cow<'a, str>>,
    pub work_phone: Option<Cow<'a, str>>,
    pub mobile_phone: Option<Cow<'a, str>>,
    pub account_type: Cow<'a, str>,
    pub primary_group: i64,
    pub sid: Cow<'a, str>,
    pub nfs_uid: Option<Cow<'a, str>>,
    pub home_directory: Option<Cow<'a, str>>,
    pub can_change_password: bool,
    pub avatars: Cow<'a, [Avatar]>,
    #[schema(value_type = Object)]
    pub metadata: Cow<'a, Map<String, Value>>,
    pub enabled: bool,
    pub roles: Cow<'a, [String]>,
    /// The user's entry in the directory that owns the user (name, password, enabled and
    /// roles follow it); absent for users sessiond owns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub directory_dn: Option<Cow<'a, str>>,
    #[serde(with = "crate::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    #[serde(with = "crate::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: OffsetDateTime,
}

impl UserView<'_> {
    /// A copy that borrows nothing (for a list that outlives the records it was made of).
    pub fn into_owned(self) -> UserView<'static> {
        let own = |t: Cow<'_, str>| Cow::Owned(t.into_owned());
        UserView {
            name: own(self.name),
            display_name: self.display_name.map(own),
            first_name: self.first_name.map(own),
            last_name: self.last_name.map(own),
            email: self.email.map(own),
            title: self.title.map(own),
            company: self.company.map(own),
            location: self.location.map(own),
            department: self.department.map(own),
            division: self.division.map(own),
            job_function: self.job_function.map(own),
            work_phone: self.work_phone.map(own),
            mobile_phone: self.mobile_phone.map(own),
            account_type: own(self.account_type),
            sid: own(self.sid),
            nfs_uid: self.nfs_uid.map(own),
            home_directory: self.home_directory.map(own),
            avatars: Cow::Owned(self.avatars.into_owned()),
            metadata: Cow::Owned(self.metadata.into_owned()),
            roles: Cow::Owned(self.roles.into_owned()),
            directory_dn: self.directory_dn.map(own),
            id: self.id,
            primary_group: self.primary_group,
            can_change_password: self.can_change_password,
            enabled: self.enabled,
            created_at: self.created_at,
            updated_at: self.updated_at,
        }
    }
}

/// The settable fields of a user. On create, `name` is required; on PATCH every field is
/// optional, an absent field is kept and an empty string clears a text field.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserFields {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub company: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub department: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub division: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job_function: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub work_phone: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mobile_phone: Option<String>,
    /// NORMAL, SYSTEM (service accounts) or SDL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub primary_group: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nfs_uid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub home_directory: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub can_change_password: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub avatars: Option<Vec<Avatar>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<Map<String, Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// Only on create; afterwards use `PUT /users/{id}/roles`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub roles: Option<Vec<String>>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct UserList {
    pub users: Vec<UserView<'static>>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RoleView {
    pub name: String,
    pub description: String,
    pub builtin: bool,
    pub privileges: Vec<String>,
    /// The role's session rules (`null`: the server's setting).
    #[serde(default)]
    pub policy: RolePolicy,
}

/// A role's session rules. Each `null` (or absent) leaves the server's setting; a user
/// under several roles gets the shortest time-outs and the smallest cap that any sets.
/// Sessions opened after a change follow it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RolePolicy {
    /// End a session unused this long.
    #[serde(default)]
    #[schema(minimum = 1, maximum = 31622400)]
    pub idle_timeout_seconds: Option<i64>,
    /// End a session this long after login.
    #[serde(default)]
    #[schema(minimum = 1, maximum = 31622400)]
    pub session_lifetime_seconds: Option<i64>,
    /// Concurrent sessions a user may hold (what happens past it is the server's
    /// `--session-limit-action`).
    #[serde(default)]
    #[schema(minimum = 1, maximum = 100000)]
    pub max_sessions: Option<u32>,
}

/// A new end for one session (admins): a time, or `null` for none.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SessionChange {
    #[serde(with = "crate::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub expires_at: Option<OffsetDateTime>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleRequest {
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub privileges: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RoleList {
    pub roles: Vec<RoleView>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PrivilegeView {
    pub name: String,
    pub description: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct GroupView {
    pub id: i64,
    pub name: String,
    pub sid: Option<String>,
    pub gid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub members: Option<Vec<i64>>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GroupRequest {
    /// 1 to 64 letters (any script), digits, spaces or `. _ - @`, starting with a letter or
    /// digit. The pattern is looser (no `\`, `:` or edge spaces): JSON Schema's regex
    /// dialects disagree on Unicode letter classes.
    #[schema(pattern = "^[^\\s\\\\:]([^\\\\:]{0,62}[^\\s\\\\:])?$")]
    pub name: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct GroupList {
    pub groups: Vec<GroupView>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AuditView {
    pub id: i64,
    #[serde(with = "crate::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub time: OffsetDateTime,
    pub kind: String,
    pub actor_id: Option<i64>,
    pub actor_name: Option<String>,
    pub session_id: Option<String>,
    pub client: Option<String>,
    pub subject: Option<String>,
    pub detail: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AuditList {
    pub events: Vec<AuditView>,
}

/// A user name locked after failed logins from several addresses (whether or not a user
/// has it).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct LockoutView {
    pub name: String,
    #[serde(with = "crate::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub locked_until: OffsetDateTime,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct LockoutList {
    pub lockouts: Vec<LockoutView>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KeyRequest {
    /// PEM: `BEGIN PUBLIC KEY` (SPKI) or `BEGIN RSA PUBLIC KEY` (PKCS#1), RSA of 2048 bits
    /// or more.
    pub public_key: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct KeyView {
    pub id: String,
    pub user_id: i64,
    pub public_key: String,
    #[serde(with = "crate::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct KeyList {
    pub keys: Vec<KeyView>,
}

/// An extension app (Symphony OBO). On create `app_id` and `public_key` are required; on
/// PATCH every field is optional.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AppRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_key: Option<String>,
    /// Symphony permission names, e.g. `GET_BASIC_USER_INFO`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permissions: Option<Vec<String>>,
    /// Ids of the users it may act for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub users: Option<Vec<i64>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AppView {
    pub app_id: String,
    pub name: String,
    pub public_key: String,
    pub permissions: Vec<String>,
    pub users: Vec<i64>,
    pub enabled: bool,
    #[serde(with = "crate::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AppList {
    pub apps: Vec<AppView>,
}

/// A new webhook endpoint.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookRequest {
    /// Where deliveries are POSTed: `http://` or `https://`.
    pub url: String,
    /// Event kinds: `session.created`, `session.ended`, `user.disabled`, `user.locked`.
    /// Absent or empty: all of them.
    #[serde(default)]
    pub events: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct WebhookView {
    pub id: String,
    pub url: String,
    pub events: Vec<String>,
    pub description: String,
    #[serde(with = "crate::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    pub status: WebhookStatus,
}

/// Where an endpoint's deliveries stand.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct WebhookStatus {
    /// Events waiting to be delivered.
    pub queued: i64,
    /// Events given up on; `POST .../dead-letters/replay` queues them again.
    pub dead_letters: i64,
    /// Failed attempts since the last success.
    pub failures: i64,
    #[serde(
        default,
        with = "crate::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub retry_at: Option<OffsetDateTime>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    #[serde(
        default,
        with = "crate::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_delivered_at: Option<OffsetDateTime>,
}

/// An endpoint with its signing secret: answered once, when the endpoint is made or its
/// secret rotated. sessiond never shows the secret again.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct WebhookWithSecret {
    #[serde(flatten)]
    pub webhook: WebhookView,
    /// `whsec_...`, for the receiver's Standard Webhooks library.
    pub secret: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct WebhookList {
    pub webhooks: Vec<WebhookView>,
}

/// An event an endpoint did not take in time.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DeadLetterView {
    /// The delivery's `webhook-id`.
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    /// The body that was POSTed (and will be again on replay).
    #[schema(value_type = Object)]
    pub payload: serde_json::Value,
    pub attempts: i64,
    #[serde(with = "crate::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub failed_at: OffsetDateTime,
    pub last_error: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DeadLetterList {
    pub dead_letters: Vec<DeadLetterView>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Replayed {
    /// Events queued again.
    pub replayed: u64,
}

/// Every native error: `{"error": {"code": "...", "message": "..."}}`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ErrorDetail {
    /// A stable machine-readable code: bad_request, unauthorized, forbidden, not_found,
    /// method_not_allowed, conflict, payload_too_large, unsupported_media_type,
    /// unavailable, internal.
    pub code: String,
    pub message: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Health {
    pub status: String,
    /// With a directory configured: `ok` or `unavailable`. Readiness does not depend on it
    /// (users sessiond owns still log in).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub directory: Option<String>,
}
