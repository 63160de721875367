//! Logins a client repeats on every request (HTTP Basic) reuse one session: the same user
//! name, password and client address within the life of the session the first one opened.
//! Without this, each request would open a new session and cost a password hash.
//!
//! The memo maps a salted SHA-256 of (user, password, client) to the session's token hash.
//! The salt is random per process; nothing here is written anywhere. A reused session is
//! checked like any token (ended, expired, idle, user disabled), and a password change ends
//! the sessions it would reuse.

use std::collections::HashMap;
use std::sync::Mutex;

use sha2::{Digest, Sha256};

use crate::error::CoreResult;
use crate::secret::{random_bytes, TokenHash};

/// Entries kept; when full the memo starts over (the cost is a fresh login each).
const CAPACITY: usize = 10_000;

pub(super) struct RepeatedLogins {
    salt: [u8; 32],
    memo: Mutex<HashMap<[u8; 32], TokenHash>>,
}

impl RepeatedLogins {
    pub fn new() -> CoreResult<Self> {
        Ok(RepeatedLogins {
            salt: random_bytes::<32>()?,
            memo: Mutex::new(HashMap::new()),
        })
    }

    pub fn key(&self, username: &str, password: &str, client: &str) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(self.salt);
        for part in [username, password, client] {
            h.update((part.len() as u64).to_be_bytes());
            h.update(part.as_bytes());
        }
        h.finalize().into()
    }

    pub fn get(&self, key: &[u8; 32]) -> Option<TokenHash> {
        self.memo.lock().ok()?.get(key).copied()
    }

    pub fn remember(&self, key: [u8; 32], token: TokenHash) {
        if let Ok(mut m) = self.memo.lock() {
            if m.len() >= CAPACITY {
                m.clear();
            }
            m.insert(key, token);
        }
    }

    pub fn forget(&self, key: &[u8; 32]) {
        if let Ok(mut m) = self.memo.lock() {
            m.remove(key);
        }
    }
}
