//! A session as the hot cache keeps it, in as few bytes as a million of them allow. The
//! id (a UUID's 36 characters) and the client's name (an address) are kept inline; times are
//! microseconds; what most sessions share (server, client type, transport, console type,
//! how they logged in) is one interned `Shape`; the fields rarely set are boxed together.
//! As a `Session` a cached session took 312 bytes and five allocations, and in its previous
//! form 136 bytes and two; this takes 104 bytes and none.

use std::collections::HashSet;
use std::sync::{Arc, LazyLock, Mutex};

use compact_str::CompactString;
use time::{Duration, OffsetDateTime};

use crate::clock::{from_micros, to_micros};
use crate::model::{AuthMethod, Session, UserId};

/// An active session in the hot cache (an ended one is never cached).
#[derive(Debug)]
pub struct CachedSession {
    id: SessionId,
    pub user_id: UserId,
    login_us: i64,
    /// `NEVER` when the session has no expiry.
    expires_us: i64,
    shape: Arc<Shape>,
    client_name: CompactString,
    rare: Option<Box<Rare>>,
}

const NEVER: i64 = i64::MAX;

/// A session id: inline when it has a UUID's length (as every id sessiond draws has).
#[derive(Debug)]
enum SessionId {
    Inline([u8; UUID_LEN]),
    Other(Box<str>),
}

const UUID_LEN: usize = 36;

impl SessionId {
    fn new(id: String) -> Self {
        match <[u8; UUID_LEN]>::try_from(id.as_bytes()) {
            Ok(bytes) => SessionId::Inline(bytes),
            Err(_) => SessionId::Other(id.into_boxed_str()),
        }
    }

    fn as_str(&self) -> &str {
        match self {
            // Never fails: the bytes were a whole `String`.
            SessionId::Inline(b) => std::str::from_utf8(b).unwrap_or_default(),
            SessionId::Other(s) => s,
        }
    }
}

/// What the sessions of one kind of client on one server have in common.
#[derive(Debug, PartialEq, Eq, Hash)]
struct Shape {
    server: Box<str>,
    client_type: Box<str>,
    transport: Option<Box<str>>,
    console_type: i32,
    auth_method: AuthMethod,
    /// Microseconds; `None`: the server's idle time-out. Set by a role's policy, so shared
    /// by the role's sessions like the rest of the shape.
    idle_timeout_us: Option<i64>,
}

/// What few sessions carry: set by app logins, browser logins and file servers.
#[derive(Debug, Default, PartialEq)]
struct Rare {
    actor: Option<String>,
    access_token_id: Option<String>,
    browser_session_id: Option<String>,
    num_opens: i64,
    user_flags: i64,
    shares: Vec<String>,
}

impl CachedSession {
    /// Keeps `s` (its `last_active` is the cache entry's to keep).
    pub fn new(s: Session) -> Self {
        let rare = Rare {
            actor: s.actor,
            access_token_id: s.access_token_id,
            browser_session_id: s.browser_session_id,
            num_opens: s.num_opens,
            user_flags: s.user_flags,
            shares: s.shares,
        };
        CachedSession {
            id: SessionId::new(s.id),
            user_id: s.user_id,
            login_us: to_micros(s.login_time),
            expires_us: s.expires_at.map_or(NEVER, to_micros),
            shape: intern(Shape {
                server: s.server.into_boxed_str(),
                client_type: s.client_type.into_boxed_str(),
                transport: s.transport.map(String::into_boxed_str),
                console_type: s.console_type,
                auth_method: s.auth_method,
                idle_timeout_us: s.idle_timeout.map(duration_micros),
            }),
            client_name: CompactString::from(s.client_name),
            rare: (rare != Rare::default()).then(|| Box::new(rare)),
        }
    }

    pub fn id(&self) -> &str {
        self.id.as_str()
    }

    pub fn expires_at(&self) -> Option<OffsetDateTime> {
        (self.expires_us != NEVER).then(|| from_micros(self.expires_us))
    }

    /// `expires_at` in microseconds since the epoch.
    pub fn expires_micros(&self) -> Option<i64> {
        (self.expires_us != NEVER).then_some(self.expires_us)
    }

    /// `idle_timeout` in microseconds.
    pub fn idle_timeout_micros(&self) -> Option<i64> {
        self.shape.idle_timeout_us
    }

    /// The app acting on the user's behalf, for sessions it opened.
    pub fn actor(&self) -> Option<&str> {
        self.rare.as_ref()?.actor.as_deref()
    }

    pub fn client_name(&self) -> &str {
        &self.client_name
    }

    pub fn server(&self) -> &str {
        &self.shape.server
    }

    pub fn client_type(&self) -> &str {
        &self.shape.client_type
    }

    pub fn transport(&self) -> Option<&str> {
        self.shape.transport.as_deref()
    }

    pub fn console_type(&self) -> i32 {
        self.shape.console_type
    }

    pub fn auth_method(&self) -> AuthMethod {
        self.shape.auth_method
    }

    pub fn login_time(&self) -> OffsetDateTime {
        from_micros(self.login_us)
    }

    /// The idle time-out its user's roles set when it opened (`None`: the server's).
    pub fn idle_timeout(&self) -> Option<Duration> {
        self.shape.idle_timeout_us.map(Duration::microseconds)
    }

    /// The whole session again, with `last_active` as the cache last saw it.
    pub fn to_session(&self, last_active: OffsetDateTime) -> Session {
        let rare = self.rare.as_deref();
        let shape = &*self.shape;
        Session {
            id: self.id().to_owned(),
            user_id: self.user_id,
            server: shape.server.to_string(),
            client_name: self.client_name.to_string(),
            client_type: shape.client_type.to_string(),
            console_type: shape.console_type,
            transport: shape.transport.as_deref().map(str::to_owned),
            auth_method: shape.auth_method,
            actor: rare.and_then(|r| r.actor.clone()),
            access_token_id: rare.and_then(|r| r.access_token_id.clone()),
            browser_session_id: rare.and_then(|r| r.browser_session_id.clone()),
            login_time: from_micros(self.login_us),
            last_active,
            expires_at: self.expires_at(),
            logout_time: None,
            end_reason: None,
            num_opens: rare.map_or(0, |r| r.num_opens),
            user_flags: rare.map_or(0, |r| r.user_flags),
            shares: rare.map(|r| r.shares.clone()).unwrap_or_default(),
            idle_timeout: self.idle_timeout(),
        }
    }
}

fn duration_micros(d: Duration) -> i64 {
    i64::try_from(d.whole_microseconds()).unwrap_or(i64::MAX)
}

/// Distinct shapes interned at most; past it new ones get a copy of their own. Servers,
/// client types and transports come in a handful of values.
const MAX_INTERNED: usize = 1024;

fn intern(shape: Shape) -> Arc<Shape> {
    static SHAPES: LazyLock<Mutex<HashSet<Arc<Shape>>>> = LazyLock::new(Default::default);
    let Ok(mut shapes) = SHAPES.lock() else {
        return Arc::new(shape);
    };
    if let Some(kept) = shapes.get(&shape) {
        return Arc::clone(kept);
    }
    let new = Arc::new(shape);
    if shapes.len() < MAX_INTERNED {
        shapes.insert(Arc::clone(&new));
    }
    new
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::Duration;

    fn session(id: &str) -> Session {
        let at = crate::clock::truncate_to_micros(OffsetDateTime::now_utc());
        Session {
            id: id.into(),
            user_id: 7,
            server: "node1".into(),
            client_name: "10.0.0.1".into(),
            client_type: "Qumulo".into(),
            console_type: 19,
            transport: Some("HTTP".into()),
            auth_method: AuthMethod::Password,
            actor: None,
            access_token_id: None,
            browser_session_id: None,
            login_time: at,
            last_active: at,
            expires_at: Some(at + Duration::hours(8)),
            logout_time: None,
            end_reason: None,
            num_opens: 0,
            user_flags: 0,
            shares: vec![],
            idle_timeout: None,
        }
    }

    #[test]
    fn a_kept_session_gives_back_the_same_session() {
        let plain = session("00000000-0000-4000-8000-000000000001");
        let mut rich = session("b");
        rich.actor = Some("app-1".into());
        rich.browser_session_id = Some("bs".into());
        rich.num_opens = 3;
        rich.shares = vec!["data".into()];
        rich.transport = None;
        rich.expires_at = None;
        rich.idle_timeout = Some(time::Duration::minutes(5));
        rich.client_name = "a client name longer than fits inline".into();
        for s in [plain, rich] {
            let later = s.last_active + Duration::seconds(5);
            let kept = CachedSession::new(s.clone());
            assert_eq!(
                kept.to_session(later),
                Session {
                    last_active: later,
                    ..s.clone()
                }
            );
            assert_eq!(kept.actor(), s.actor.as_deref());
            assert_eq!(kept.client_name(), s.client_name);
            assert_eq!(kept.id(), s.id);
            assert_eq!(kept.server(), s.server);
            assert_eq!(kept.client_type(), s.client_type);
            assert_eq!(kept.transport(), s.transport.as_deref());
            assert_eq!(kept.console_type(), s.console_type);
            assert_eq!(kept.auth_method(), s.auth_method);
            assert_eq!(kept.login_time(), s.login_time);
            assert_eq!(kept.idle_timeout(), s.idle_timeout);
            assert_eq!(kept.expires_at(), s.expires_at);
        }
    }

    #[test]
    fn shared_strings_are_stored_once_and_plain_sessions_box_nothing() {
        let (a, b) = (
            CachedSession::new(session("00000000-0000-4000-8000-00000000000a")),
            CachedSession::new(session("00000000-0000-4000-8000-00000000000b")),
        );
        assert!(Arc::ptr_eq(&a.shape, &b.shape));
        assert!(a.rare.is_none());
        assert!(!a.client_name.is_heap_allocated());
        assert!(matches!(a.id, SessionId::Inline(_)));
        assert!(std::mem::size_of::<CachedSession>() <= 104);
    }
}
