//! Webhook delivery on this node: a loop that, every `POLL_EVERY`, leases the endpoints
//! with events due (the store lets one node at a time hold each) and delivers each
//! endpoint's queue in a task of its own, so a slow receiver delays only itself. The rules
//! (order, retries, dead letters, signatures) are the core's; this is the HTTP client.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use sessiond_core::service::{WebhookRequest, WebhookSender};
use sessiond_core::Core;
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};

/// How often each node looks for events to deliver: a revocation reaches its receiver
/// within about this long (plus the receiver's own time).
pub const POLL_EVERY: Duration = Duration::from_millis(200);

/// Posts with reqwest (rustls, the public web PKI roots), following no redirect: a
/// receiver that moved must be registered again, not followed blindly.
pub struct HttpSender {
    client: reqwest::Client,
}

impl HttpSender {
    pub fn new() -> Result<HttpSender, String> {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("sessiond/", env!("CARGO_PKG_VERSION"), " webhooks"))
            .connect_timeout(Duration::from_secs(5))
            .build()
            .map_err(|e| format!("cannot build the webhook HTTP client: {e}"))?;
        Ok(HttpSender { client })
    }
}

#[async_trait]
impl WebhookSender for HttpSender {
    async fn post(&self, req: WebhookRequest<'_>) -> Result<(), String> {
        let timeout = req.timeout.unsigned_abs();
        let answer = self
            .client
            .post(req.url)
            .timeout(timeout)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header("webhook-id", req.msg_id)
            .header("webhook-timestamp", req.timestamp.to_string())
            .header("webhook-signature", req.signature)
            .body(req.body)
            .send()
            .await
            .map_err(|e| describe(e, timeout))?;
        let status = answer.status();
        if status.is_success() {
            Ok(())
        } else {
            Err(format!("answered HTTP {}", status.as_u16()))
        }
    }
}

/// Why an attempt failed, for the endpoint's status and the log. Without the URL: it may
/// carry credentials.
fn describe(e: reqwest::Error, timeout: Duration) -> String {
    if e.is_timeout() {
        return format!("no answer within {}s", timeout.as_secs());
    }
    let what = if e.is_connect() {
        "cannot connect"
    } else {
        "request failed"
    };
    let mut cause: &dyn std::error::Error = &e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    format!("{what}: {cause}")
}

/// A name for this process among the cluster's nodes (host, process, random), for leases.
pub fn node_id() -> String {
    let host = gethostname::gethostname().to_string_lossy().into_owned();
    let random = sessiond_core::secret::random_bytes::<4>()
        .map(hex::encode)
        .unwrap_or_default();
    format!("{host}:{}:{random}", std::process::id())
}

/// Runs the delivery loop until `stop` changes; then gives this node's leases back so
/// another node (or this one, restarted) takes over at once.
pub fn spawn_delivery(
    core: Arc<Core>,
    sender: Arc<dyn WebhookSender>,
    mut stop: watch::Receiver<bool>,
) -> JoinHandle<()> {
    let node = node_id();
    tokio::spawn(async move {
        let busy: Arc<Mutex<HashSet<String>>> = Arc::default();
        let mut running = JoinSet::new();
        let mut tick = tokio::time::interval(POLL_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut failing = false;
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = stop.changed() => break,
            }
            while running.try_join_next().is_some() {}
            let claimed = match core.claim_webhooks(&node).await {
                Ok(c) => {
                    failing = false;
                    c
                }
                Err(e) => {
                    // Once per outage, not five times a second.
                    if !failing {
                        tracing::warn!(error = %e, "cannot look for webhook events; will retry");
                    }
                    failing = true;
                    continue;
                }
            };
            for ep in claimed {
                if !busy
                    .lock()
                    .map(|mut b| b.insert(ep.id.clone()))
                    .unwrap_or(false)
                {
                    continue;
                }
                let (core, sender, busy, node) =
                    (core.clone(), sender.clone(), busy.clone(), node.clone());
                running.spawn(async move {
                    match core.deliver_webhook(&ep, &*sender).await {
                        Ok(r) if r.delivered > 0 => {
                            tracing::debug!(webhook = %ep.id, delivered = r.delivered, "webhook events delivered")
                        }
                        Ok(_) => {}
                        Err(e) => tracing::warn!(webhook = %ep.id, error = %e, "webhook delivery stopped; will retry"),
                    }
                    // Held only while delivering: the next event may go out from any node.
                    if let Err(e) = core.release_webhook(&ep.id, &node).await {
                        tracing::debug!(webhook = %ep.id, error = %e, "could not give the lease back");
                    }
                    if let Ok(mut b) = busy.lock() {
                        b.remove(&ep.id);
                    }
                });
            }
        }
        // An attempt cut short here is made again later, with the same webhook-id.
        running.abort_all();
        while running.join_next().await.is_some() {}
        let held: Vec<String> = busy
            .lock()
            .map(|b| b.iter().cloned().collect())
            .unwrap_or_default();
        for id in held {
            let _ = core.release_webhook(&id, &node).await;
        }
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn node_ids_differ_between_processes_and_starts() {
        let (a, b) = (super::node_id(), super::node_id());
        assert_ne!(a, b);
        assert!(a.contains(&format!(":{}:", std::process::id())));
    }
}
