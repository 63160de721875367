//! The hot cache: token hash → who is behind it. A hit costs one read lock and one atomic
//! store (the activity stamp); the store is read only on a miss. Every change that could
//! make an entry wrong evicts it at once.
//!
//! Activity is kept in each entry and collected by the flusher in batches, so a request
//! that only reads never writes to the store.

use std::borrow::{Borrow, Cow};
use std::collections::{HashMap, HashSet};
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock};

use serde_json::value::RawValue;

use time::OffsetDateTime;

use crate::cached_session::CachedSession;
use crate::clock::{from_micros, to_micros};
use crate::model::{AccessToken, Credential, User, UserId};
use crate::privilege::{Privilege, PrivilegeSet};
use crate::secret::TokenHash;
use crate::store::Activity;

/// A credential as the hot cache keeps it.
#[derive(Debug)]
pub enum CachedCredential {
    Session(CachedSession),
    /// Rare next to sessions: boxed, so that sessions do not pay for its size.
    AccessToken(Box<AccessToken>),
}

impl CachedCredential {
    /// The session id or the access token id.
    pub fn id(&self) -> &str {
        match self {
            CachedCredential::Session(s) => s.id(),
            CachedCredential::AccessToken(t) => &t.id,
        }
    }
}

/// What one token resolves to.
#[derive(Debug)]
pub struct CachedAuth {
    pub token: TokenHash,
    /// The session or access token as it was loaded; a session's `last_active` lives in
    /// `last_active_us`.
    pub credential: CachedCredential,
    pub grants: Arc<Grants>,
    last_active_us: AtomicI64,
    flushed_us: AtomicI64,
}

impl CachedAuth {
    pub fn new(token: TokenHash, credential: Credential, grants: Arc<Grants>) -> Self {
        let (last, credential) = match credential {
            Credential::Session(s) => (
                to_micros(s.last_active),
                CachedCredential::Session(CachedSession::new(s)),
            ),
            Credential::AccessToken(t) => (
                to_micros(t.creation_time),
                CachedCredential::AccessToken(Box::new(t)),
            ),
        };
        CachedAuth {
            token,
            credential,
            grants,
            last_active_us: AtomicI64::new(last),
            flushed_us: AtomicI64::new(last),
        }
    }

    pub fn last_active(&self) -> OffsetDateTime {
        from_micros(self.last_active_micros())
    }

    /// `last_active` in microseconds since the epoch.
    pub fn last_active_micros(&self) -> i64 {
        self.last_active_us.load(Ordering::Relaxed)
    }

    /// Records activity at `at_us` (microseconds); never moves the stamp backwards.
    /// Returns whether the entry had nothing waiting to be written before (so the flusher
    /// must learn of it).
    fn touch(&self, at_us: i64) -> bool {
        let before = self.last_active_us.fetch_max(at_us, Ordering::Relaxed);
        before <= self.flushed_us.load(Ordering::Relaxed) && at_us > before
    }

    pub fn user(&self) -> &User {
        &self.grants.user
    }

    pub fn session(&self) -> Option<&CachedSession> {
        match &self.credential {
            CachedCredential::Session(s) => Some(s),
            CachedCredential::AccessToken(_) => None,
        }
    }

    /// Activity not yet written; only sessions record activity.
    fn unflushed(&self) -> Option<Activity> {
        let session = self.session()?;
        let last = self.last_active_us.load(Ordering::Relaxed);
        let prev = self.flushed_us.fetch_max(last, Ordering::Relaxed);
        (last > prev).then(|| Activity {
            session_id: session.id().to_owned(),
            last_active: from_micros(last),
        })
    }
}

/// A user and the privileges its roles grant, shared by every cached token of that user.
#[derive(Debug)]
pub struct Grants {
    pub user: Arc<User>,
    pub privileges: PrivilegeSet,
    /// The privilege names as a JSON array, written once: two dialects' who-am-i answers
    /// carry them on every call, and escaping ~130 names each time was the largest item of
    /// their profile. All of them, and Qumulo's vocabulary only; one rendering is shared by
    /// every user with the same privileges (`PrivilegeSet::names_json`).
    names_json: OnceLock<Arc<RawValue>>,
    qumulo_names_json: OnceLock<Arc<RawValue>>,
    /// The user as the native who-am-i writes it, kept by the first such request while
    /// the `RENDERED_USERS` budget allows (see `user_json`).
    user_json: OnceLock<Box<RawValue>>,
}

/// Bytes of rendered users kept across all `Grants`. A rendering is ~1 KB: kept for every
/// user, a million sessions of 100,000 users took 119 MiB more; within this budget the
/// first ~16,000 users to ask keep theirs (the users who call, not all who have sessions),
/// and any other user's is written anew on each call, as before.
static RENDERED_USERS: Budget = Budget::new(16 << 20);

/// Bytes that may be kept, taken and given back from any thread.
struct Budget {
    used: AtomicUsize,
    limit: usize,
}

impl Budget {
    const fn new(limit: usize) -> Self {
        Budget {
            used: AtomicUsize::new(0),
            limit,
        }
    }

    /// Takes `n` bytes if they fit.
    fn take(&self, n: usize) -> bool {
        let before = self.used.fetch_add(n, Ordering::Relaxed);
        if before.saturating_add(n) > self.limit {
            self.used.fetch_sub(n, Ordering::Relaxed);
            return false;
        }
        true
    }

    fn give(&self, n: usize) {
        self.used.fetch_sub(n, Ordering::Relaxed);
    }
}

impl Grants {
    /// The cache keeps no password hash: no cached path checks one (a login and a password
    /// change read the user from the store), and a memory dump of the server should not
    /// hold a hash per user (nor do 100,000 users need 11 MB for them).
    pub fn new(mut user: User, privileges: PrivilegeSet) -> Self {
        user.password_hash = None;
        Grants {
            user: Arc::new(user),
            privileges,
            names_json: OnceLock::new(),
            qumulo_names_json: OnceLock::new(),
            user_json: OnceLock::new(),
        }
    }

    /// The user as `render` writes it: kept after the first call while the budget allows,
    /// so that a user's every later call copies bytes instead of serializing ~25 fields.
    /// A change to the user makes new `Grants`, hence a new rendering.
    pub fn user_json(&self, render: impl FnOnce(&User) -> Box<RawValue>) -> Cow<'_, RawValue> {
        if let Some(kept) = self.user_json.get() {
            return Cow::Borrowed(kept);
        }
        let rendered = render(&self.user);
        let size = rendered.get().len();
        if !RENDERED_USERS.take(size) {
            return Cow::Owned(rendered);
        }
        let ours = rendered.get().as_ptr();
        let kept = self.user_json.get_or_init(|| rendered);
        if kept.get().as_ptr() != ours {
            // Another request kept one first (the same bytes); ours was dropped.
            RENDERED_USERS.give(size);
        }
        Cow::Borrowed(kept)
    }

    pub fn privilege_names_json(&self) -> &RawValue {
        self.names_json.get_or_init(|| self.privileges.names_json())
    }

    /// Only the names of seed 003's vocabulary, the ones Qumulo's schema enumerates.
    pub fn qumulo_privilege_names_json(&self) -> &RawValue {
        self.qumulo_names_json
            .get_or_init(|| self.privileges.only(Privilege::is_qumulo).names_json())
    }
}

impl Drop for Grants {
    fn drop(&mut self) {
        if let Some(kept) = self.user_json.get() {
            RENDERED_USERS.give(kept.get().len());
        }
    }
}

/// An entry, found by its token hash. The sets below hold the entry itself (8 bytes)
/// rather than a key and a value: with a million entries each copy of a 32-byte hash or of
/// a session id string cost tens of megabytes.
#[derive(Clone)]
struct ByToken(Arc<CachedAuth>);

impl Borrow<TokenHash> for ByToken {
    fn borrow(&self) -> &TokenHash {
        &self.0.token
    }
}

impl Hash for ByToken {
    fn hash<H: Hasher>(&self, h: &mut H) {
        self.0.token.hash(h)
    }
}

impl PartialEq for ByToken {
    fn eq(&self, other: &Self) -> bool {
        self.0.token == other.0.token
    }
}

impl Eq for ByToken {}

/// An entry, found by its session or access token id.
struct ById(Arc<CachedAuth>);

impl Borrow<str> for ById {
    fn borrow(&self) -> &str {
        self.0.credential.id()
    }
}

impl Hash for ById {
    fn hash<H: Hasher>(&self, h: &mut H) {
        self.0.credential.id().hash(h)
    }
}

impl PartialEq for ById {
    fn eq(&self, other: &Self) -> bool {
        self.0.credential.id() == other.0.credential.id()
    }
}

impl Eq for ById {}

/// The keys are SHA-256 outputs of valid tokens and ids this server drew at random, so a
/// fast non-keyed hash is safe: no client can choose them to collide.
type Fast = rustc_hash::FxBuildHasher;

#[derive(Default)]
struct Maps {
    by_token: HashSet<ByToken, Fast>,
    by_id: HashSet<ById, Fast>,
    by_user: HashMap<UserId, HashSet<ByToken, Fast>, Fast>,
    /// One copy of each user with cached tokens: a user with many sessions costs one user
    /// record and one privilege set, and a cache miss for them needs no store read of the
    /// user. Dropped with the user's last token, and on any change to the user or roles.
    users: HashMap<UserId, Arc<Grants>, Fast>,
}

impl Maps {
    fn remove(&mut self, token: &TokenHash) -> Option<Arc<CachedAuth>> {
        let ByToken(entry) = self.by_token.take(token)?;
        self.by_id.remove(entry.credential.id());
        let user = entry.user().id;
        if let Some(set) = self.by_user.get_mut(&user) {
            set.remove(token);
            if set.is_empty() {
                self.by_user.remove(&user);
                self.users.remove(&user);
            }
        }
        Some(entry)
    }

    /// Indexes `entry` (replacing an entry of the same token or id); its user's shared
    /// `Grants` are kept if none are yet.
    fn add(&mut self, entry: Arc<CachedAuth>) {
        let user = entry.user().id;
        self.users
            .entry(user)
            .or_insert_with(|| Arc::clone(&entry.grants));
        self.by_user
            .entry(user)
            .or_default()
            .replace(ByToken(Arc::clone(&entry)));
        self.by_id.replace(ById(Arc::clone(&entry)));
        self.by_token.replace(ByToken(entry));
    }

    /// Gives a new entry the `Grants` its user's cached tokens share, if they are cached
    /// and the entry has a copy of its own; returns that copy. Only for an entry no one
    /// else holds yet.
    fn lend_grants(&self, entry: &mut Arc<CachedAuth>) -> Option<Arc<Grants>> {
        let shared = self.users.get(&entry.user().id)?;
        if Arc::ptr_eq(shared, &entry.grants) {
            return None;
        }
        let e = Arc::get_mut(entry)?;
        Some(std::mem::replace(&mut e.grants, Arc::clone(shared)))
    }

    fn find(&self, token: &TokenHash) -> Option<&Arc<CachedAuth>> {
        self.by_token.get(token).map(|e| &e.0)
    }
}

/// What `AuthCache::insert_if_current` did with an entry.
pub struct Admitted {
    /// The entry as cached (or as given, if it was not).
    pub entry: Arc<CachedAuth>,
    /// False when an eviction raced the load: the entry answers this request only.
    pub cached: bool,
}

/// What one page of a warm-up did.
#[derive(Debug, PartialEq, Eq)]
pub enum Warmed {
    Added(usize),
    /// The cache is full; `added` went in before it was.
    Full {
        added: usize,
    },
    /// Something was evicted since the page was read: nothing went in.
    Stale,
}

pub struct AuthCache {
    maps: RwLock<Maps>,
    /// Bumped by every eviction. A loader notes it before reading the store and inserts only
    /// if it has not moved, so a revocation racing a cache miss cannot be undone by it.
    epoch: AtomicU64,
    /// Bumped by every eviction of a user or of everything: a warm-up that read the users
    /// before it moved reads them again.
    users_epoch: AtomicU64,
    /// Bumped by `clear`: a warm-up under way starts again.
    clears: AtomicU64,
    capacity: usize,
    /// Activity of evicted entries, waiting for the next flush.
    orphaned: Mutex<Vec<Activity>>,
    /// Entries with activity not yet written: the flusher reads these rather than walking a
    /// million entries (90 ms under the read lock, every flush).
    dirty: Mutex<Vec<Arc<CachedAuth>>>,
}

impl AuthCache {
    pub fn new(capacity: usize) -> Self {
        AuthCache {
            maps: RwLock::new(Maps::default()),
            epoch: AtomicU64::new(0),
            users_epoch: AtomicU64::new(0),
            clears: AtomicU64::new(0),
            capacity: capacity.max(1),
            orphaned: Mutex::new(Vec::new()),
            dirty: Mutex::new(Vec::new()),
        }
    }

    pub fn get(&self, token: &TokenHash) -> Option<Arc<CachedAuth>> {
        self.maps.read().ok()?.find(token).cloned()
    }

    /// The shared copy of a user with cached tokens, if there is one.
    pub fn user(&self, id: UserId) -> Option<Arc<Grants>> {
        self.maps.read().ok()?.users.get(&id).cloned()
    }

    /// The in-memory activity stamp of a cached session, if it is cached.
    pub fn live_last_active(&self, session_id: &str) -> Option<OffsetDateTime> {
        let maps = self.maps.read().ok()?;
        maps.by_id.get(session_id).map(|e| e.0.last_active())
    }

    /// `live_last_active` of each id, under one read of the maps: a list of a hundred
    /// sessions took the lock a hundred times, each a write to a line both workers share.
    pub fn live_last_active_each<'a>(
        &self,
        session_ids: impl ExactSizeIterator<Item = &'a str>,
    ) -> Vec<Option<OffsetDateTime>> {
        let Ok(maps) = self.maps.read() else {
            return vec![None; session_ids.len()];
        };
        session_ids
            .map(|id| maps.by_id.get(id).map(|e| e.0.last_active()))
            .collect()
    }

    pub fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::Acquire)
    }

    pub fn users_epoch(&self) -> u64 {
        self.users_epoch.load(Ordering::Acquire)
    }

    pub fn clears(&self) -> u64 {
        self.clears.load(Ordering::Acquire)
    }

    pub fn len(&self) -> usize {
        self.maps.read().map(|m| m.by_token.len()).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Inserts the entry unless an eviction happened since `epoch` was read, and returns it
    /// as it now is. A user already cached lends the entry their shared `Grants`: the
    /// loads of one user's tokens that run at once each read the user, and each kept its
    /// own copy (~800 bytes) until this; a million sessions cached by requests took
    /// 503 MiB with them. The lent copy is as fresh as the entry's: any change to the
    /// user since it was cached would have moved the epoch.
    pub fn insert_if_current(&self, entry: CachedAuth, epoch: u64) -> Admitted {
        self.admit(entry, || self.epoch.load(Ordering::Acquire) == epoch)
    }

    /// Inserts the entry of a token just issued (a login) unless a user or the roles
    /// changed since `users_epoch` was read: nothing can have evicted a new token, but its
    /// user may have changed while the login checked the password.
    pub fn insert_new(&self, entry: CachedAuth, users_epoch: u64) -> Admitted {
        self.admit(entry, || {
            self.users_epoch.load(Ordering::Acquire) == users_epoch
        })
    }

    /// Inserts the entry if `current` (checked under the write lock, where evictions move
    /// the epochs) says nothing it was read from has changed.
    fn admit(&self, entry: CachedAuth, current: impl FnOnce() -> bool) -> Admitted {
        let mut entry = Arc::new(entry);
        let lent;
        {
            let Ok(mut maps) = self.maps.write() else {
                return Admitted {
                    entry,
                    cached: false,
                };
            };
            if !current() {
                return Admitted {
                    entry,
                    cached: false,
                };
            }
            if maps.by_token.len() >= self.capacity {
                // Full: drop an arbitrary entry. A dropped entry costs one store read later.
                if let Some(victim) = maps.by_token.iter().next().map(|e| e.0.token) {
                    if let Some(old) = maps.remove(&victim) {
                        self.keep_activity(&old);
                    }
                }
            }
            lent = maps.lend_grants(&mut entry);
            maps.add(Arc::clone(&entry));
        }
        // The copy the entry came with, freed outside the lock.
        drop(lent);
        Admitted {
            entry,
            cached: true,
        }
    }

    /// Fills the cache with a page of sessions read from the store, unless an eviction
    /// happened since `epoch` was read (`Warmed::Stale`: read the page again). A token
    /// already cached keeps its entry (and the activity it holds); a session whose user is
    /// not in `grants` (disabled, or gone) is left to the on-demand path; the cache is
    /// never made to drop an entry for the warm-up.
    pub fn warm(
        &self,
        page: crate::store::SessionPage,
        grants: &HashMap<UserId, Arc<Grants>>,
        epoch: u64,
    ) -> Warmed {
        // Built before taking the write lock, which every request waits on: under it only
        // the index inserts happen.
        let built: Vec<Arc<CachedAuth>> = page
            .into_iter()
            .filter_map(|(session, token)| {
                let read = grants.get(&session.user_id)?;
                let entry = CachedAuth::new(token, Credential::Session(session), Arc::clone(read));
                Some(Arc::new(entry))
            })
            .collect();
        let Ok(mut maps) = self.maps.write() else {
            return Warmed::Stale;
        };
        if self.epoch.load(Ordering::Acquire) != epoch {
            return Warmed::Stale;
        }
        let mut added = 0;
        for mut entry in built {
            if maps.by_token.len() >= self.capacity {
                return Warmed::Full { added };
            }
            if maps.by_token.contains(&entry.token) {
                continue;
            }
            // A user already cached keeps the one copy every token of theirs shares.
            maps.lend_grants(&mut entry);
            maps.add(entry);
            added += 1;
        }
        Warmed::Added(added)
    }

    pub fn evict_token(&self, token: &TokenHash) {
        self.evict_where(|maps| {
            vec![*token]
                .into_iter()
                .filter(|t| maps.by_token.contains(t))
                .collect()
        });
    }

    /// Evicts the entry of a session or of an access token, by its id.
    pub fn evict_session(&self, session_id: &str) {
        self.evict_where(|maps| {
            maps.by_id
                .get(session_id)
                .map(|e| e.0.token)
                .into_iter()
                .collect()
        });
    }

    pub fn evict_user(&self, user: UserId) {
        if let Ok(mut maps) = self.maps.write() {
            self.users_epoch.fetch_add(1, Ordering::AcqRel);
            maps.users.remove(&user);
        }
        self.evict_where(|maps| {
            maps.by_user
                .get(&user)
                .map(|s| s.iter().map(|e| e.0.token).collect())
                .unwrap_or_default()
        });
    }

    pub fn clear(&self) {
        if let Ok(mut maps) = self.maps.write() {
            self.users_epoch.fetch_add(1, Ordering::AcqRel);
            self.clears.fetch_add(1, Ordering::AcqRel);
            maps.users.clear();
        }
        self.evict_where(|maps| maps.by_token.iter().map(|e| e.0.token).collect());
    }

    fn evict_where(&self, pick: impl FnOnce(&Maps) -> Vec<TokenHash>) {
        let Ok(mut maps) = self.maps.write() else {
            return;
        };
        self.epoch.fetch_add(1, Ordering::AcqRel);
        for token in pick(&maps) {
            if let Some(old) = maps.remove(&token) {
                self.keep_activity(&old);
            }
        }
    }

    fn keep_activity(&self, entry: &CachedAuth) {
        if let Some(a) = entry.unflushed() {
            if let Ok(mut o) = self.orphaned.lock() {
                o.push(a);
            }
        }
    }

    /// Records activity on a cached entry at `at` (never backwards).
    pub fn touch(&self, entry: &Arc<CachedAuth>, at: OffsetDateTime) {
        self.touch_micros(entry, to_micros(at))
    }

    /// `touch` at an instant in microseconds (the token check's own clock reading).
    pub fn touch_micros(&self, entry: &Arc<CachedAuth>, at_us: i64) {
        if entry.touch(at_us) && entry.session().is_some() {
            if let Ok(mut dirty) = self.dirty.lock() {
                dirty.push(Arc::clone(entry));
            }
        }
    }

    /// Collects the activity seen since the last call, for one batched store write.
    pub fn take_activity(&self) -> Vec<Activity> {
        let mut out = self
            .orphaned
            .lock()
            .map(|mut o| std::mem::take(&mut *o))
            .unwrap_or_default();
        let dirty = self
            .dirty
            .lock()
            .map(|mut d| std::mem::take(&mut *d))
            .unwrap_or_default();
        // An entry evicted since gave its activity to `orphaned` already (None here).
        out.extend(dirty.iter().filter_map(|e| e.unflushed()));
        out
    }

    /// Gives back activity that could not be written, so the next flush retries it.
    pub fn restore_activity(&self, batch: Vec<Activity>) {
        if let Ok(mut o) = self.orphaned.lock() {
            o.extend(batch);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::*;
    use time::Duration;

    fn entry(token: u8, session: &str, user: UserId, at: OffsetDateTime) -> CachedAuth {
        let s = Session {
            id: session.into(),
            user_id: user,
            server: "s".into(),
            client_name: "c".into(),
            client_type: "t".into(),
            console_type: 19,
            transport: None,
            auth_method: AuthMethod::Password,
            actor: None,
            access_token_id: None,
            browser_session_id: None,
            login_time: at,
            last_active: at,
            expires_at: None,
            logout_time: None,
            end_reason: None,
            num_opens: 0,
            user_flags: 0,
            shares: vec![],
            idle_timeout: None,
        };
        let u = User {
            id: user,
            name: "u".into(),
            account_type: AccountType::Normal,
            primary_group: USERS_GROUP_ID,
            can_change_password: true,
            enabled: true,
            password_hash: None,
            profile: Profile::default(),
            roles: vec![],
            directory_dn: None,
            created_at: at,
            updated_at: at,
        };
        CachedAuth::new(
            TokenHash([token; 32]),
            Credential::Session(s),
            Arc::new(Grants::new(u, PrivilegeSet::new())),
        )
    }

    #[test]
    fn eviction_by_session_user_and_token() {
        let now = OffsetDateTime::now_utc();
        let c = AuthCache::new(10);
        for (t, s, u) in [(1, "a", 1), (2, "b", 1), (3, "c", 2)] {
            assert!(c.insert_if_current(entry(t, s, u, now), c.epoch()).cached);
        }
        c.evict_session("a");
        assert!(c.get(&TokenHash([1; 32])).is_none());
        c.evict_user(1);
        assert!(c.get(&TokenHash([2; 32])).is_none());
        assert!(c.get(&TokenHash([3; 32])).is_some());
        c.evict_token(&TokenHash([3; 32]));
        assert!(c.is_empty());
    }

    #[test]
    fn loads_of_one_user_that_ran_at_once_keep_one_copy_of_the_user() {
        let now = OffsetDateTime::now_utc();
        let c = AuthCache::new(10);
        // Each load read the user before either was cached: two copies of user 1.
        let (first, second) = (entry(1, "a", 1, now), entry(2, "b", 1, now));
        assert!(!Arc::ptr_eq(&first.grants, &second.grants));
        let first = c.insert_if_current(first, c.epoch()).entry;
        let second = c.insert_if_current(second, c.epoch()).entry;
        assert!(Arc::ptr_eq(&first.grants, &second.grants));
        assert!(Arc::ptr_eq(
            &c.get(&TokenHash([2; 32])).unwrap().grants,
            &c.user(1).unwrap()
        ));
        // Another user's entry keeps its own.
        let other = c.insert_if_current(entry(3, "c", 2, now), c.epoch()).entry;
        assert!(!Arc::ptr_eq(&other.grants, &first.grants));
    }

    #[test]
    fn a_user_is_rendered_once_and_kept_within_the_budget() {
        let g = entry(1, "a", 1, OffsetDateTime::now_utc()).grants;
        let renders = std::cell::Cell::new(0);
        let render = |u: &User| {
            renders.set(renders.get() + 1);
            serde_json::value::to_raw_value(&u.name).unwrap()
        };
        assert_eq!(g.user_json(render).get(), r#""u""#);
        assert!(matches!(g.user_json(render), Cow::Borrowed(_)));
        assert_eq!(renders.get(), 1);

        let b = Budget::new(10);
        assert!(b.take(6));
        assert!(!b.take(6), "over the limit: not kept");
        assert!(b.take(4));
        b.give(6);
        assert!(b.take(5));
        assert!(!b.take(2));
    }

    #[test]
    fn a_new_token_is_not_cached_if_a_user_changed_during_its_login() {
        let now = OffsetDateTime::now_utc();
        let c = AuthCache::new(10);
        let seen = c.users_epoch();
        c.evict_session("other"); // an unrelated logout does not matter
        assert!(c.insert_new(entry(1, "a", 1, now), seen).cached);
        let seen = c.users_epoch();
        c.evict_user(7); // a user changed while the password was checked
        assert!(!c.insert_new(entry(2, "b", 1, now), seen).cached);
        let seen = c.users_epoch();
        c.clear(); // or the roles
        assert!(!c.insert_new(entry(3, "c", 1, now), seen).cached);
        assert!(c.get(&TokenHash([2; 32])).is_none());
    }

    #[test]
    fn a_load_that_raced_an_eviction_is_not_cached() {
        let now = OffsetDateTime::now_utc();
        let c = AuthCache::new(10);
        let seen = c.epoch();
        c.evict_session("a"); // a revocation lands while the loader reads the store
        assert!(!c.insert_if_current(entry(1, "a", 1, now), seen).cached);
        assert!(c.get(&TokenHash([1; 32])).is_none());
    }

    #[test]
    fn activity_is_collected_once_and_survives_eviction() {
        // The stamps keep microseconds, as the stores do.
        let now = crate::clock::truncate_to_micros(OffsetDateTime::now_utc());
        let c = AuthCache::new(10);
        let e = c.insert_if_current(entry(1, "a", 1, now), c.epoch()).entry;
        assert!(c.take_activity().is_empty());
        c.touch(&e, now + Duration::seconds(5));
        c.touch(&e, now + Duration::seconds(3)); // never backwards
        let batch = c.take_activity();
        assert_eq!(batch.len(), 1);
        assert_eq!(batch[0].last_active, now + Duration::seconds(5));
        assert!(c.take_activity().is_empty());
        c.touch(&e, now + Duration::seconds(9));
        c.evict_session("a");
        let batch = c.take_activity();
        assert_eq!(batch[0].last_active, now + Duration::seconds(9));
    }

    fn page(
        entries: &[(u8, &str, UserId)],
        at: OffsetDateTime,
    ) -> (crate::store::SessionPage, HashMap<UserId, Arc<Grants>>) {
        let mut grants = HashMap::new();
        let page = entries
            .iter()
            .map(|&(t, id, user)| {
                let e = entry(t, id, user, at);
                grants.insert(user, Arc::clone(&e.grants));
                let CachedCredential::Session(s) = &e.credential else {
                    unreachable!()
                };
                (s.to_session(at), TokenHash([t; 32]))
            })
            .collect();
        (page, grants)
    }

    #[test]
    fn a_warm_up_page_shares_users_and_keeps_what_is_cached() {
        let now = crate::clock::truncate_to_micros(OffsetDateTime::now_utc());
        let c = AuthCache::new(10);
        let cached = c.insert_if_current(entry(1, "a", 1, now), c.epoch()).entry;
        c.touch(&cached, now + Duration::seconds(5));
        let (mut p, mut grants) = page(&[(1, "a", 1), (2, "b", 1), (3, "c", 2)], now);
        p.push((p[2].0.clone(), TokenHash([4; 32])));
        p[3].0.id = "d".into();
        p[3].0.user_id = 3; // a user not among those read: disabled or gone
                            // The warm-up read a copy of user 1 of its own; the one already cached is kept.
        grants.insert(
            1,
            Arc::new(Grants::new(
                (*cached.grants.user).clone(),
                PrivilegeSet::new(),
            )),
        );
        assert_eq!(c.warm(p, &grants, c.epoch()), Warmed::Added(2));
        assert!(Arc::ptr_eq(&c.get(&TokenHash([1; 32])).unwrap(), &cached));
        assert_eq!(cached.last_active(), now + Duration::seconds(5));
        assert!(Arc::ptr_eq(
            &c.get(&TokenHash([2; 32])).unwrap().grants,
            &cached.grants
        ));
        assert!(c.get(&TokenHash([3; 32])).is_some());
        assert!(c.get(&TokenHash([4; 32])).is_none());
        assert_eq!(c.live_last_active("b"), Some(now));
    }

    #[test]
    fn a_warm_up_page_read_before_an_eviction_is_refused() {
        let now = OffsetDateTime::now_utc();
        let c = AuthCache::new(10);
        let seen = c.epoch();
        let (p, grants) = page(&[(1, "a", 1)], now);
        c.evict_session("a"); // ended after the page was read
        assert_eq!(c.warm(p, &grants, seen), Warmed::Stale);
        assert!(c.is_empty());
        let users = c.users_epoch();
        c.evict_user(9);
        assert_ne!(c.users_epoch(), users, "a warm-up reads the users again");
        let clears = c.clears();
        c.clear();
        assert_ne!(c.clears(), clears, "a warm-up starts again");
    }

    #[test]
    fn a_warm_up_stops_at_capacity_without_evicting() {
        let now = OffsetDateTime::now_utc();
        let c = AuthCache::new(2);
        c.insert_if_current(entry(9, "z", 1, now), c.epoch());
        let (p, grants) = page(&[(1, "a", 1), (2, "b", 1), (3, "c", 1)], now);
        assert_eq!(c.warm(p, &grants, c.epoch()), Warmed::Full { added: 1 });
        assert_eq!(c.len(), 2);
        assert!(c.get(&TokenHash([9; 32])).is_some());
    }

    #[test]
    fn capacity_is_bounded() {
        let now = OffsetDateTime::now_utc();
        let c = AuthCache::new(2);
        for t in 0..5u8 {
            c.insert_if_current(entry(t, &t.to_string(), 1, now), c.epoch());
        }
        assert_eq!(c.len(), 2);
    }
}
