//! Cache misses, read from the store in batches.
//!
//! A miss on SQLite costs far more in handing the query to sqlx's connection thread and
//! back (two thread switches) than in SQLite itself. Misses that arrive together (a
//! restart before the warm-up reached them, a cache smaller than the sessions) are
//! gathered while the store is busy and read with one `token_hash IN (…)` query each:
//! a miss that arrives alone is read at once, by itself.

use std::collections::HashMap;
use std::sync::Arc;

use tokio::sync::{mpsc, oneshot, Semaphore};

use crate::error::StoreError;
use crate::model::Session;
use crate::secret::TokenHash;
use crate::store::{Store, StoreResult};

/// Tokens read by one query at most.
const MAX_BATCH: usize = 128;
/// Batch queries in flight at once (SQLite's pool has four connections).
const IN_FLIGHT: usize = 3;

type Ask = (TokenHash, oneshot::Sender<StoreResult<Option<Session>>>);

pub struct MissBatcher {
    asks: mpsc::UnboundedSender<Ask>,
}

impl MissBatcher {
    /// Starts the batching task (on the current tokio runtime); it ends with the batcher.
    pub fn new(store: Arc<dyn Store>) -> Self {
        let (asks, rx) = mpsc::unbounded_channel();
        tokio::spawn(gather(store, rx));
        MissBatcher { asks }
    }

    /// The session behind `token`, whatever its state, as `Store::session_by_token`.
    pub async fn session_by_token(&self, token: TokenHash) -> StoreResult<Option<Session>> {
        let gone = || StoreError::Unavailable("the store reader stopped".into());
        let (tx, rx) = oneshot::channel();
        self.asks.send((token, tx)).map_err(|_| gone())?;
        rx.await.map_err(|_| gone())?
    }
}

async fn gather(store: Arc<dyn Store>, mut asks: mpsc::UnboundedReceiver<Ask>) {
    let slots = Arc::new(Semaphore::new(IN_FLIGHT));
    while let Some(first) = asks.recv().await {
        // While every slot is busy, later misses queue up and join this batch.
        let Ok(slot) = Arc::clone(&slots).acquire_owned().await else {
            return;
        };
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match asks.try_recv() {
                Ok(ask) => batch.push(ask),
                Err(_) => break,
            }
        }
        let store = Arc::clone(&store);
        tokio::spawn(async move {
            let _slot = slot;
            answer(&*store, batch).await;
        });
    }
}

async fn answer(store: &dyn Store, batch: Vec<Ask>) {
    let tokens: Vec<TokenHash> = batch.iter().map(|(t, _)| *t).collect();
    match store.sessions_by_tokens(&tokens).await {
        Ok(found) => {
            let found: HashMap<TokenHash, Session> =
                found.into_iter().map(|(s, t)| (t, s)).collect();
            for (token, reply) in batch {
                // A requester that went away (its client hung up) is simply not answered.
                let _ = reply.send(Ok(found.get(&token).cloned()));
            }
        }
        Err(e) => {
            for (_, reply) in batch {
                let _ = reply.send(Err(e.clone()));
            }
        }
    }
}
