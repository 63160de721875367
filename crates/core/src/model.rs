//! The records sessiond keeps. They know nothing of how any product spells a field: each
//! dialect has its own wire types converted from these.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

pub type UserId = i64;
pub type GroupId = i64;

/// The id of the first user, `admin` (as on Qumulo).
pub const ADMIN_USER_ID: UserId = 500;
/// Built-in groups, numbered as on Qumulo.
pub const ADMINS_GROUP_ID: GroupId = 512;
pub const USERS_GROUP_ID: GroupId = 513;
pub const GUESTS_GROUP_ID: GroupId = 514;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AccountType {
    #[default]
    Normal,
    /// Service accounts (bots).
    System,
    Sdl,
}

impl AccountType {
    pub fn as_str(self) -> &'static str {
        match self {
            AccountType::Normal => "NORMAL",
            AccountType::System => "SYSTEM",
            AccountType::Sdl => "SDL",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "NORMAL" => Some(AccountType::Normal),
            "SYSTEM" => Some(AccountType::System),
            "SDL" => Some(AccountType::Sdl),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Avatar {
    pub size: String,
    pub url: String,
}

/// The descriptive fields of a user: the union of the seeds' user records. Kept together
/// because no rule depends on them; they are shown, never decided on.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Profile {
    pub display_name: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email: Option<String>,
    pub title: Option<String>,
    pub company: Option<String>,
    pub location: Option<String>,
    pub department: Option<String>,
    pub division: Option<String>,
    pub job_function: Option<String>,
    pub work_phone: Option<String>,
    pub mobile_phone: Option<String>,
    /// Windows security identifier; derived from the id when not set.
    pub sid: Option<String>,
    /// NFS uid.
    pub nfs_uid: Option<String>,
    pub home_directory: Option<String>,
    pub avatars: Vec<Avatar>,
    pub metadata: serde_json::Map<String, serde_json::Value>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct User {
    pub id: UserId,
    pub name: String,
    pub account_type: AccountType,
    pub primary_group: GroupId,
    pub can_change_password: bool,
    pub enabled: bool,
    /// PHC string of an argon2id hash; `None` for accounts that cannot log in by password.
    pub password_hash: Option<String>,
    pub profile: Profile,
    /// Names of the roles granted to the user.
    pub roles: Vec<String>,
    /// The user's entry in the directory (LDAP, Active Directory) when the directory owns
    /// the user; `None` for users sessiond owns.
    pub directory_dn: Option<String>,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

impl User {
    /// The SID shown when none was set: a stable machine-local SID ending in the id.
    pub fn sid(&self) -> String {
        self.sid_ref().into_owned()
    }

    /// The same, borrowed when set. Built by hand: every native who-am-i writes it, and
    /// `format!` cost about 0.1 µs of its ~3.6 µs in process.
    pub fn sid_ref(&self) -> std::borrow::Cow<'_, str> {
        match &self.profile.sid {
            Some(s) => std::borrow::Cow::Borrowed(s),
            None => {
                const PREFIX: &str = "S-1-5-21-1-2-3-";
                let mut s = String::with_capacity(PREFIX.len() + 20);
                s.push_str(PREFIX);
                push_decimal(&mut s, self.id);
                std::borrow::Cow::Owned(s)
            }
        }
    }
}

/// `n` in decimal, without the formatting machinery.
fn push_decimal(out: &mut String, n: i64) {
    if n < 0 {
        out.push('-');
    }
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    let mut v = n.unsigned_abs();
    loop {
        at -= 1;
        digits[at] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    out.extend(digits[at..].iter().map(|&d| d as char));
}

/// What is needed to create a user.
#[derive(Debug, Clone, PartialEq)]
pub struct NewUser {
    /// Set only for the built-in admin (500); others take the next free id.
    pub id: Option<UserId>,
    pub name: String,
    pub account_type: AccountType,
    pub primary_group: GroupId,
    pub can_change_password: bool,
    pub enabled: bool,
    pub password_hash: Option<String>,
    pub profile: Profile,
    pub roles: Vec<String>,
    /// Set for a user the directory owns (see `User::directory_dn`).
    pub directory_dn: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    pub id: GroupId,
    pub name: String,
    pub sid: Option<String>,
    pub gid: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Role {
    pub name: String,
    pub description: String,
    pub privileges: crate::PrivilegeSet,
    pub builtin: bool,
    /// Session rules for the role's users (settable on built-in roles too).
    pub policy: RolePolicy,
}

/// A role's session rules; each `None` leaves the server's setting. A user under several
/// roles gets the shortest time-outs and the smallest cap among those that set one.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RolePolicy {
    pub idle_timeout: Option<time::Duration>,
    pub lifetime: Option<time::Duration>,
    pub max_sessions: Option<u32>,
}

impl RolePolicy {
    pub fn is_empty(&self) -> bool {
        *self == RolePolicy::default()
    }

    /// The rules for a user under all of `policies`: the shortest and the smallest set.
    pub fn strictest<'a>(policies: impl IntoIterator<Item = &'a RolePolicy>) -> RolePolicy {
        fn min<T: Ord>(a: Option<T>, b: Option<T>) -> Option<T> {
            match (a, b) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            }
        }
        policies
            .into_iter()
            .fold(RolePolicy::default(), |acc, p| RolePolicy {
                idle_timeout: min(acc.idle_timeout, p.idle_timeout),
                lifetime: min(acc.lifetime, p.lifetime),
                max_sessions: min(acc.max_sessions, p.max_sessions),
            })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthMethod {
    Password,
    AccessToken,
    RsaKey,
    OnBehalfOf,
    Kerberos,
    /// A session another server reported (an SMB or NFS client session).
    Reported,
}

impl AuthMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            AuthMethod::Password => "password",
            AuthMethod::AccessToken => "access_token",
            AuthMethod::RsaKey => "rsa_key",
            AuthMethod::OnBehalfOf => "on_behalf_of",
            AuthMethod::Kerberos => "kerberos",
            AuthMethod::Reported => "reported",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            AuthMethod::Password,
            AuthMethod::AccessToken,
            AuthMethod::RsaKey,
            AuthMethod::OnBehalfOf,
            AuthMethod::Kerberos,
            AuthMethod::Reported,
        ]
        .into_iter()
        .find(|m| m.as_str() == s)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EndReason {
    Logout,
    Revoked,
    Expired,
    Idle,
    ClosedByServer,
    /// The user opened more sessions than their cap allows, and this was the oldest.
    SessionLimit,
    /// An administrator disabled the user.
    UserDisabled,
    /// The user's password changed (by the user, from another session, or reset).
    PasswordChanged,
}

impl EndReason {
    pub fn as_str(self) -> &'static str {
        match self {
            EndReason::Logout => "logout",
            EndReason::Revoked => "revoked",
            EndReason::Expired => "expired",
            EndReason::Idle => "idle",
            EndReason::ClosedByServer => "closed_by_server",
            EndReason::SessionLimit => "session_limit",
            EndReason::UserDisabled => "user_disabled",
            EndReason::PasswordChanged => "password_changed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            EndReason::Logout,
            EndReason::Revoked,
            EndReason::Expired,
            EndReason::Idle,
            EndReason::ClosedByServer,
            EndReason::SessionLimit,
            EndReason::UserDisabled,
            EndReason::PasswordChanged,
        ]
        .into_iter()
        .find(|r| r.as_str() == s)
    }
}

/// How a client is classified; Commvault's numeric `consoleType` comes from here.
pub mod console_type {
    pub const COMMCELL_CONSOLE: i32 = 5;
    pub const COMMAND_LINE: i32 = 13;
    pub const REMOTE_WEB_CONSOLE: i32 = 14;
    pub const WEB_CONSOLE: i32 = 19;
}

/// One session: who, from where, on which server, since when, until when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// Public, not secret.
    pub id: String,
    pub user_id: UserId,
    /// The server the session is established on.
    pub server: String,
    /// Host or address of the client.
    pub client_name: String,
    pub client_type: String,
    pub console_type: i32,
    pub transport: Option<String>,
    pub auth_method: AuthMethod,
    /// The app acting on behalf of the user, if any.
    pub actor: Option<String>,
    pub access_token_id: Option<String>,
    pub browser_session_id: Option<String>,
    pub login_time: OffsetDateTime,
    pub last_active: OffsetDateTime,
    pub expires_at: Option<OffsetDateTime>,
    pub logout_time: Option<OffsetDateTime>,
    pub end_reason: Option<EndReason>,
    pub num_opens: i64,
    pub user_flags: i64,
    pub shares: Vec<String>,
    /// The idle time-out the session was opened under, when its user's roles set one
    /// (`None`: the server's).
    pub idle_timeout: Option<time::Duration>,
}

impl Session {
    pub fn is_active(&self) -> bool {
        self.logout_time.is_none()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionState {
    #[default]
    Active,
    Ended,
    All,
}

impl SessionState {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "active" => Some(SessionState::Active),
            "ended" => Some(SessionState::Ended),
            "all" => Some(SessionState::All),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct SessionFilter {
    pub user_id: Option<UserId>,
    pub server: Option<String>,
    pub client_name: Option<String>,
    pub state: SessionState,
    pub limit: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditKind {
    Login,
    LoginFailed,
    Logout,
    Revoke,
    SessionEnded,
    Denied,
    UserCreated,
    UserChanged,
    UserDeleted,
    PasswordChanged,
    RolesChanged,
    RoleChanged,
    GroupChanged,
    AccessTokenCreated,
    AccessTokenChanged,
    AccessTokenDeleted,
    AccountLocked,
    SessionChanged,
    WebhookChanged,
}

impl AuditKind {
    pub const ALL: [AuditKind; 19] = [
        AuditKind::Login,
        AuditKind::LoginFailed,
        AuditKind::Logout,
        AuditKind::Revoke,
        AuditKind::SessionEnded,
        AuditKind::Denied,
        AuditKind::UserCreated,
        AuditKind::UserChanged,
        AuditKind::UserDeleted,
        AuditKind::PasswordChanged,
        AuditKind::RolesChanged,
        AuditKind::RoleChanged,
        AuditKind::GroupChanged,
        AuditKind::AccessTokenCreated,
        AuditKind::AccessTokenChanged,
        AuditKind::AccessTokenDeleted,
        AuditKind::AccountLocked,
        AuditKind::SessionChanged,
        AuditKind::WebhookChanged,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AuditKind::Login => "login",
            AuditKind::LoginFailed => "login_failed",
            AuditKind::Logout => "logout",
            AuditKind::Revoke => "revoke",
            AuditKind::SessionEnded => "session_ended",
            AuditKind::Denied => "denied",
            AuditKind::UserCreated => "user_created",
            AuditKind::UserChanged => "user_changed",
            AuditKind::UserDeleted => "user_deleted",
            AuditKind::PasswordChanged => "password_changed",
            AuditKind::RolesChanged => "roles_changed",
            AuditKind::RoleChanged => "role_changed",
            AuditKind::GroupChanged => "group_changed",
            AuditKind::AccessTokenCreated => "access_token_created",
            AuditKind::AccessTokenChanged => "access_token_changed",
            AuditKind::AccessTokenDeleted => "access_token_deleted",
            AuditKind::AccountLocked => "account_locked",
            AuditKind::SessionChanged => "session_changed",
            AuditKind::WebhookChanged => "webhook_changed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// One line of the audit log. `actor` is who did it; `subject` whom or what it concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEvent {
    pub id: i64,
    pub time: OffsetDateTime,
    pub kind: AuditKind,
    pub actor_id: Option<UserId>,
    pub actor_name: Option<String>,
    pub session_id: Option<String>,
    pub client: Option<String>,
    pub subject: Option<String>,
    pub detail: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    pub actor_id: Option<UserId>,
    pub kind: Option<AuditKind>,
    pub since: Option<OffsetDateTime>,
    pub limit: Option<u32>,
}

/// A change to a user's descriptive fields: `None` keeps a field, `Some("")` clears it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProfileChanges {
    pub strings: Profile,
    pub avatars: Option<Vec<Avatar>>,
    pub metadata: Option<serde_json::Map<String, serde_json::Value>>,
}

macro_rules! profile_strings {
    ($($f:ident),* $(,)?) => {
        impl Profile {
            /// The string fields with their names, for validation and patching.
            pub fn string_fields(&self) -> Vec<(&'static str, &Option<String>)> {
                vec![$((stringify!($f), &self.$f)),*]
            }

            /// Applies `changes` (see `ProfileChanges`).
            pub fn apply(&mut self, changes: &ProfileChanges) {
                $(
                    if let Some(v) = &changes.strings.$f {
                        self.$f = (!v.is_empty()).then(|| v.clone());
                    }
                )*
                if let Some(a) = &changes.avatars {
                    self.avatars = a.clone();
                }
                if let Some(m) = &changes.metadata {
                    self.metadata = m.clone();
                }
            }
        }
    };
}

profile_strings!(
    display_name,
    first_name,
    last_name,
    email,
    title,
    company,
    location,
    department,
    division,
    job_function,
    work_phone,
    mobile_phone,
    sid,
    nfs_uid,
    home_directory,
);

/// A long-lived credential for one user (Qumulo's access tokens): no session, revocable,
/// optionally expiring. Only the hash of its bearer string is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessToken {
    /// A decimal string of 22 digits (as Qumulo's), so ids sort as text and as numbers.
    pub id: String,
    pub user_id: UserId,
    pub creator_id: UserId,
    pub creation_time: OffsetDateTime,
    pub expiration_time: Option<OffsetDateTime>,
    pub enabled: bool,
}

impl AccessToken {
    pub fn is_usable(&self, now: OffsetDateTime) -> bool {
        self.enabled && self.expiration_time.is_none_or(|t| now < t)
    }
}

/// What a bearer string stands for, as loaded; the hot cache keeps it in a compact form
/// (`cache::CachedCredential`).
// Sessions are the common case; boxing them would add an allocation to every login.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    Session(Session),
    AccessToken(AccessToken),
}

/// A page of a keyset-paged list: entries after `after`, at most `limit`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccessTokenFilter {
    pub user_id: Option<UserId>,
    pub after: Option<String>,
    pub limit: u32,
}

/// An RSA public key registered for a user (a bot signs its login JWTs with the private
/// half).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserPublicKey {
    pub id: String,
    pub user_id: UserId,
    /// PEM: SPKI (`BEGIN PUBLIC KEY`) or PKCS#1 (`BEGIN RSA PUBLIC KEY`).
    pub public_key: String,
    pub created_at: OffsetDateTime,
}

/// An extension app that may act on behalf of the users it lists (Symphony's OBO).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct App {
    pub app_id: String,
    pub name: String,
    pub public_key: String,
    /// Symphony permission names, e.g. `GET_BASIC_USER_INFO`.
    pub permissions: Vec<String>,
    /// The users it may act for.
    pub users: Vec<UserId>,
    pub enabled: bool,
    pub created_at: OffsetDateTime,
}

impl App {
    pub fn may(&self, permission: &str) -> bool {
        self.permissions.iter().any(|p| p == permission)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_sid_ends_in_the_id_and_a_set_one_is_kept() {
        let mut s = String::new();
        for n in [0, 7, 500, 1_000_001, -42, i64::MAX, i64::MIN] {
            s.clear();
            push_decimal(&mut s, n);
            assert_eq!(s, n.to_string());
        }
        let mut u = User {
            id: 501,
            name: "alice".into(),
            account_type: AccountType::Normal,
            primary_group: USERS_GROUP_ID,
            can_change_password: true,
            enabled: true,
            password_hash: None,
            profile: Profile::default(),
            roles: vec![],
            directory_dn: None,
            created_at: OffsetDateTime::UNIX_EPOCH,
            updated_at: OffsetDateTime::UNIX_EPOCH,
        };
        assert_eq!(u.sid(), "S-1-5-21-1-2-3-501");
        u.profile.sid = Some("S-1-5-21-9-9-9-1001".into());
        assert_eq!(u.sid_ref(), "S-1-5-21-9-9-9-1001");
    }
}
