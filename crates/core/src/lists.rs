//! Session lists and user names kept in memory between changes: Commvault's
//! `Session?userId` and NetSession's Enum ask the same lists again and again, and reading
//! them from the store each time (rows decoded through the pool) cost 10 to 100 times what
//! a cached who-am-i costs.
//!
//! Every change this node makes to a session or a user bumps one generation and so drops
//! every kept answer; a list read from the store is kept under the generation seen *before*
//! the read, so a change racing the read is never hidden. With a store shared by several
//! nodes, a kept answer also lives at most `shared_ttl`: other nodes announce ended
//! sessions and user changes (which bump the generation here too), but not new sessions.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use crate::model::{Session, SessionFilter, UserId};

/// Distinct lists kept at most; past it they are all dropped (a caller cycling through
/// filters costs store reads, not memory).
const MAX_LISTS: usize = 4096;
/// User names kept at most.
const MAX_NAMES: usize = 100_000;
/// Longer lists are not kept: memory for them would grow with the store.
const MAX_KEPT_LEN: usize = 10_000;

/// How long a kept answer may live when other nodes can open sessions unseen: the same
/// second within which they enforce each other's revocations.
pub const SHARED_TTL: Duration = Duration::from_secs(1);

struct Kept<T> {
    generation: u64,
    at: Instant,
    value: T,
}

/// Loads of missing lists are serialised per stripe of filters: when a change drops the
/// kept lists, the requests that all ask for the same one wait for one store read instead
/// of each making its own.
const GATES: usize = 64;

pub struct ListMemo {
    generation: AtomicU64,
    gates: [tokio::sync::Mutex<()>; GATES],
    /// `None`: this node makes every change (SQLite); kept answers live until one.
    ttl: Option<Duration>,
    lists: RwLock<HashMap<SessionFilter, Kept<Arc<Vec<Session>>>>>,
    names: RwLock<(u64, HashMap<UserId, String>)>,
    /// Servers known to have reported sessions (lower case); only positives are kept.
    servers: RwLock<(u64, HashSet<String>)>,
}

impl ListMemo {
    pub fn new(ttl: Option<Duration>) -> Self {
        ListMemo {
            generation: AtomicU64::new(0),
            gates: std::array::from_fn(|_| tokio::sync::Mutex::new(())),
            ttl,
            lists: RwLock::new(HashMap::new()),
            names: RwLock::new((0, HashMap::new())),
            servers: RwLock::new((0, HashSet::new())),
        }
    }

    /// A session or user changed: nothing kept so far may be answered again.
    pub fn changed(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    /// Read before going to the store; pass to `keep`.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    fn fresh<T>(&self, k: &Kept<T>) -> bool {
        k.generation == self.generation() && self.ttl.is_none_or(|ttl| k.at.elapsed() < ttl)
    }

    pub fn list(&self, filter: &SessionFilter) -> Option<Arc<Vec<Session>>> {
        let lists = self.lists.read().ok()?;
        let kept = lists.get(filter)?;
        self.fresh(kept).then(|| Arc::clone(&kept.value))
    }

    /// `filter`'s kept list, or the one `load` reads from the store (then kept). Loads of
    /// the same missing list wait for each other: after a change, the requests that all ask
    /// for it make one store read.
    pub async fn list_or_load<E, F>(
        &self,
        filter: &SessionFilter,
        load: impl FnOnce() -> F,
    ) -> Result<Arc<Vec<Session>>, E>
    where
        F: std::future::Future<Output = Result<Vec<Session>, E>>,
    {
        if let Some(kept) = self.list(filter) {
            return Ok(kept);
        }
        let stripe = {
            use std::hash::BuildHasher;
            rustc_hash::FxBuildHasher.hash_one(filter) as usize % GATES
        };
        let _loading = self.gates[stripe].lock().await;
        if let Some(kept) = self.list(filter) {
            return Ok(kept); // loaded by the request this one waited for
        }
        let generation = self.generation();
        let list = Arc::new(load().await?);
        self.keep_list(filter, generation, Arc::clone(&list));
        Ok(list)
    }

    fn keep_list(&self, filter: &SessionFilter, generation: u64, list: Arc<Vec<Session>>) {
        if list.len() > MAX_KEPT_LEN {
            return;
        }
        let Ok(mut lists) = self.lists.write() else {
            return;
        };
        if lists.len() >= MAX_LISTS {
            let current = self.generation();
            lists.retain(|_, k| k.generation == current);
            if lists.len() >= MAX_LISTS {
                lists.clear();
            }
        }
        lists.insert(
            filter.clone(),
            Kept {
                generation,
                at: Instant::now(),
                value: list,
            },
        );
    }

    pub fn server_known(&self, server: &str) -> bool {
        self.servers
            .read()
            .is_ok_and(|s| s.0 == self.generation() && s.1.contains(&server.to_lowercase()))
    }

    /// `server` was found in the store under `generation`.
    pub fn keep_server(&self, generation: u64, server: &str) {
        let Ok(mut servers) = self.servers.write() else {
            return;
        };
        if generation < servers.0 {
            return; // read before a change that a later read already saw
        }
        if servers.0 != generation || servers.1.len() >= MAX_LISTS {
            servers.1.clear();
            servers.0 = generation;
        }
        if generation == self.generation() {
            servers.1.insert(server.to_lowercase());
        }
    }

    /// The kept names of `ids`, and the ids it does not know.
    pub fn names(&self, ids: &[UserId]) -> (HashMap<UserId, String>, Vec<UserId>) {
        let mut found = HashMap::with_capacity(ids.len());
        let mut missing = vec![];
        let current = self.generation();
        match self.names.read() {
            Ok(names) if names.0 == current => {
                for id in ids {
                    match names.1.get(id) {
                        Some(n) => {
                            found.insert(*id, n.clone());
                        }
                        None => missing.push(*id),
                    }
                }
            }
            _ => missing.extend_from_slice(ids),
        }
        (found, missing)
    }

    /// Names read from the store under `generation`. Names expire with the generation only:
    /// a user renamed on another node announces it.
    pub fn keep_names(&self, generation: u64, read: &HashMap<UserId, String>) {
        let Ok(mut names) = self.names.write() else {
            return;
        };
        if generation < names.0 {
            return; // read before a change that a later read already saw
        }
        if names.0 != generation || names.1.len() + read.len() > MAX_NAMES {
            names.1.clear();
            names.0 = generation;
        }
        if generation == self.generation() {
            names.1.extend(read.iter().map(|(k, v)| (*k, v.clone())));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn by_user(id: UserId) -> SessionFilter {
        SessionFilter {
            user_id: Some(id),
            ..SessionFilter::default()
        }
    }

    #[test]
    fn a_change_drops_every_kept_list() {
        let m = ListMemo::new(None);
        let g = m.generation();
        m.keep_list(&by_user(1), g, Arc::new(vec![]));
        assert!(m.list(&by_user(1)).is_some());
        assert!(m.list(&by_user(2)).is_none());
        m.changed();
        assert!(m.list(&by_user(1)).is_none());
    }

    #[test]
    fn a_list_read_while_a_change_landed_is_not_answered() {
        let m = ListMemo::new(None);
        let seen = m.generation();
        m.changed(); // a login lands while the list is read from the store
        m.keep_list(&by_user(1), seen, Arc::new(vec![]));
        assert!(m.list(&by_user(1)).is_none());
    }

    #[test]
    fn with_other_nodes_a_kept_list_expires() {
        let m = ListMemo::new(Some(Duration::from_millis(20)));
        m.keep_list(&by_user(1), m.generation(), Arc::new(vec![]));
        assert!(m.list(&by_user(1)).is_some());
        std::thread::sleep(Duration::from_millis(30));
        assert!(m.list(&by_user(1)).is_none());
    }

    #[test]
    fn names_follow_the_generation() {
        let m = ListMemo::new(None);
        let g = m.generation();
        m.keep_names(g, &HashMap::from([(1, "alice".to_owned())]));
        let (found, missing) = m.names(&[1, 2]);
        assert_eq!(found.get(&1).map(String::as_str), Some("alice"));
        assert_eq!(missing, vec![2]);
        m.changed();
        let (found, missing) = m.names(&[1]);
        assert!(found.is_empty());
        assert_eq!(missing, vec![1]);
        // Names read before the change are not kept after it, nor do they drop those read
        // after it.
        m.keep_names(g, &HashMap::from([(1, "alice".to_owned())]));
        assert!(m.names(&[1]).0.is_empty());
        m.keep_names(m.generation(), &HashMap::from([(1, "alicia".to_owned())]));
        m.keep_names(g, &HashMap::from([(2, "bob".to_owned())]));
        assert_eq!(m.names(&[1]).0.get(&1).map(String::as_str), Some("alicia"));
    }

    #[test]
    fn a_known_server_is_kept_until_a_change() {
        let m = ListMemo::new(None);
        m.keep_server(m.generation(), "FS1");
        assert!(m.server_known("fs1"));
        assert!(!m.server_known("FS2"));
        m.changed();
        assert!(!m.server_known("FS1"));
    }

    #[test]
    fn kept_lists_are_bounded() {
        let m = ListMemo::new(None);
        for id in 0..(MAX_LISTS as i64 + 10) {
            m.keep_list(&by_user(id), m.generation(), Arc::new(vec![]));
        }
        assert!(m.lists.read().unwrap().len() <= MAX_LISTS);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn requests_for_the_same_missing_list_make_one_store_read() {
        use std::sync::atomic::AtomicUsize;
        let m = Arc::new(ListMemo::new(None));
        let reads = Arc::new(AtomicUsize::new(0));
        let ask = |m: Arc<ListMemo>, reads: Arc<AtomicUsize>, user| async move {
            m.list_or_load(&by_user(user), || async {
                reads.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(50)).await;
                Ok::<_, ()>(vec![])
            })
            .await
            .unwrap()
        };
        let asks: Vec<_> = (0..16)
            .map(|_| tokio::spawn(ask(Arc::clone(&m), Arc::clone(&reads), 1)))
            .collect();
        for a in asks {
            a.await.unwrap();
        }
        assert_eq!(
            reads.load(Ordering::SeqCst),
            1,
            "one read for sixteen requests"
        );
        // After a change, the next request reads again.
        m.changed();
        ask(Arc::clone(&m), Arc::clone(&reads), 1).await;
        assert_eq!(reads.load(Ordering::SeqCst), 2);
    }
}
