//! A session as the hot cache keeps it. The hot path reads its id, user and times inline;
//! the strings most sessions share (the server's name, the client type, the transport) are
//! interned; the fields rarely set are boxed together. As a `Session` a cached session took
//! 312 bytes plus five string allocations; this takes 136 plus two.

use std::collections::HashSet;
use std::sync::{Arc, LazyLock, Mutex};

use time::OffsetDateTime;

use crate::model::{AuthMethod, Session, UserId};

/// An active session in the hot cache (an ended one is never cached).
#[derive(Debug)]
pub struct CachedSession {
    pub id: Box<str>,
    pub user_id: UserId,
    pub login_time: OffsetDateTime,
    pub expires_at: Option<OffsetDateTime>,
    server: Arc<str>,
    client_name: Box<str>,
    client_type: Arc<str>,
    transport: Option<Arc<str>>,
    console_type: i32,
    auth_method: AuthMethod,
    rare: Option<Box<Rare>>,
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
            id: s.id.into_boxed_str(),
            user_id: s.user_id,
            login_time: s.login_time,
            expires_at: s.expires_at,
            server: intern(&s.server),
            client_name: s.client_name.into_boxed_str(),
            client_type: intern(&s.client_type),
            transport: s.transport.as_deref().map(intern),
            console_type: s.console_type,
            auth_method: s.auth_method,
            rare: (rare != Rare::default()).then(|| Box::new(rare)),
        }
    }

    /// The app acting on the user's behalf, for sessions it opened.
    pub fn actor(&self) -> Option<&str> {
        self.rare.as_ref()?.actor.as_deref()
    }

    pub fn client_name(&self) -> &str {
        &self.client_name
    }

    /// The whole session again, with `last_active` as the cache last saw it.
    pub fn to_session(&self, last_active: OffsetDateTime) -> Session {
        let rare = self.rare.as_deref();
        Session {
            id: self.id.to_string(),
            user_id: self.user_id,
            server: self.server.to_string(),
            client_name: self.client_name.to_string(),
            client_type: self.client_type.to_string(),
            console_type: self.console_type,
            transport: self.transport.as_deref().map(str::to_owned),
            auth_method: self.auth_method,
            actor: rare.and_then(|r| r.actor.clone()),
            access_token_id: rare.and_then(|r| r.access_token_id.clone()),
            browser_session_id: rare.and_then(|r| r.browser_session_id.clone()),
            login_time: self.login_time,
            last_active,
            expires_at: self.expires_at,
            logout_time: None,
            end_reason: None,
            num_opens: rare.map_or(0, |r| r.num_opens),
            user_flags: rare.map_or(0, |r| r.user_flags),
            shares: rare.map(|r| r.shares.clone()).unwrap_or_default(),
        }
    }
}

/// Distinct strings interned at most; past it new ones get a copy of their own. Server
/// names, client types and transports come in a handful of values.
const MAX_INTERNED: usize = 1024;

fn intern(s: &str) -> Arc<str> {
    static STRINGS: LazyLock<Mutex<HashSet<Arc<str>>>> = LazyLock::new(Default::default);
    let Ok(mut strings) = STRINGS.lock() else {
        return Arc::from(s);
    };
    if let Some(kept) = strings.get(s) {
        return Arc::clone(kept);
    }
    let new: Arc<str> = Arc::from(s);
    if strings.len() < MAX_INTERNED {
        strings.insert(Arc::clone(&new));
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
        }
    }

    #[test]
    fn a_kept_session_gives_back_the_same_session() {
        let plain = session("a");
        let mut rich = session("b");
        rich.actor = Some("app-1".into());
        rich.browser_session_id = Some("bs".into());
        rich.num_opens = 3;
        rich.shares = vec!["data".into()];
        rich.transport = None;
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
        }
    }

    #[test]
    fn shared_strings_are_stored_once_and_plain_sessions_box_nothing() {
        let (a, b) = (
            CachedSession::new(session("a")),
            CachedSession::new(session("b")),
        );
        assert!(Arc::ptr_eq(&a.server, &b.server));
        assert!(Arc::ptr_eq(&a.client_type, &b.client_type));
        assert!(a.rare.is_none());
        assert!(std::mem::size_of::<CachedSession>() <= 136);
    }
}
