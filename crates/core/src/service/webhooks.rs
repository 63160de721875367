//! Webhooks: admins register endpoints; every node runs a delivery loop that leases the
//! endpoints with work due and posts their events in order, signed per Standard Webhooks.
//! The HTTP client is the server's (`WebhookSender`); the rules are here.

use async_trait::async_trait;
use time::Duration;

use super::{Core, Principal};
use crate::error::{CoreError, CoreResult};
use crate::model::AuditKind;
use crate::privilege::Privilege;
use crate::webhook::{
    DeadLetter, EventKind, FailedAttempt, NewWebhook, WebhookEndpoint, WebhookSecret,
};

/// How deliveries are retried and given up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WebhookPolicy {
    /// An attempt without an answer for this long failed.
    pub timeout: Duration,
    /// The wait after the first failure; it doubles with each failure after it...
    pub retry_min: Duration,
    /// ...up to this.
    pub retry_max: Duration,
    /// Events an endpoint has been refusing for this long go to its dead letters.
    pub give_up_after: Duration,
    /// How long one node holds an endpoint without renewing it (a node that dies hands
    /// its endpoints over after this).
    pub lease: Duration,
    /// After a rotation the previous secret signs beside the new one for this long.
    pub secret_overlap: Duration,
}

impl Default for WebhookPolicy {
    fn default() -> Self {
        WebhookPolicy {
            timeout: Duration::seconds(10),
            retry_min: Duration::seconds(1),
            retry_max: Duration::minutes(5),
            give_up_after: Duration::hours(24),
            lease: Duration::seconds(30),
            secret_overlap: Duration::hours(24),
        }
    }
}

/// What an admin asks for.
#[derive(Debug, Clone, Default)]
pub struct WebhookSpec {
    pub url: String,
    /// Event kind names; empty: all of them.
    pub events: Vec<String>,
    pub description: Option<String>,
}

/// One request of a delivery.
pub struct WebhookRequest<'a> {
    pub url: &'a str,
    pub msg_id: &'a str,
    /// Unix seconds, as `webhook-timestamp` carries them.
    pub timestamp: i64,
    pub signature: &'a str,
    pub body: String,
    pub timeout: Duration,
}

/// Posts one delivery. `Err` says why it failed (no answer, or an answer other than 2xx),
/// in words an admin reads in the endpoint's status.
#[async_trait]
pub trait WebhookSender: Send + Sync {
    async fn post(&self, req: WebhookRequest<'_>) -> Result<(), String>;
}

/// What one pass over an endpoint did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct DeliveryReport {
    pub delivered: usize,
    pub failed: bool,
    pub dead_lettered: u64,
}

const MAX_URL: usize = 2048;
const MAX_DESCRIPTION: usize = 256;
const MAX_ENDPOINTS: usize = 100;
/// Events read from an endpoint's queue at a time.
const BATCH: u32 = 100;

impl Core {
    pub async fn create_webhook(
        &self,
        p: &Principal,
        spec: WebhookSpec,
    ) -> CoreResult<(WebhookEndpoint, WebhookSecret)> {
        self.require(p, Privilege::WEBHOOK_WRITE).await?;
        let url = valid_url(&spec.url)?;
        let kinds = valid_kinds(&spec.events)?;
        let description = spec.description.unwrap_or_default();
        if description.chars().count() > MAX_DESCRIPTION
            || description.chars().any(char::is_control)
        {
            return Err(CoreError::Invalid(format!(
                "description: at most {MAX_DESCRIPTION} characters, no control characters"
            )));
        }
        if self.store.list_webhooks().await?.len() >= MAX_ENDPOINTS {
            return Err(CoreError::Conflict(format!(
                "at most {MAX_ENDPOINTS} webhook endpoints"
            )));
        }
        let secret = WebhookSecret::generate()?;
        let id = format!("wh_{}", hex::encode(crate::secret::random_bytes::<12>()?));
        self.store
            .insert_webhook(&NewWebhook {
                id: id.clone(),
                url,
                kinds,
                description,
                secret: secret.clone(),
                created_at: self.clock.now(),
            })
            .await?;
        let created = self.found(&id).await?;
        self.audit_by(
            p,
            AuditKind::WebhookChanged,
            Some(&id),
            &format!("webhook {id} registered for {}", kinds_list(&created.kinds)),
        )
        .await;
        tracing::info!(by = %p.user.name, webhook = %id, "webhook endpoint registered");
        Ok((created, secret))
    }

    pub async fn list_webhooks(&self, p: &Principal) -> CoreResult<Vec<WebhookEndpoint>> {
        self.require(p, Privilege::WEBHOOK_READ).await?;
        Ok(self.store.list_webhooks().await?)
    }

    pub async fn get_webhook(&self, p: &Principal, id: &str) -> CoreResult<WebhookEndpoint> {
        self.require(p, Privilege::WEBHOOK_READ).await?;
        self.found(id).await
    }

    pub async fn delete_webhook(&self, p: &Principal, id: &str) -> CoreResult<()> {
        self.require(p, Privilege::WEBHOOK_WRITE).await?;
        if !self.store.delete_webhook(id).await? {
            return Err(not_found(id));
        }
        self.audit_by(
            p,
            AuditKind::WebhookChanged,
            Some(id),
            &format!("webhook {id} deleted with its queue and dead letters"),
        )
        .await;
        tracing::info!(by = %p.user.name, webhook = %id, "webhook endpoint deleted");
        Ok(())
    }

    /// A new secret, shown once; the old one keeps signing beside it for the overlap.
    pub async fn rotate_webhook_secret(
        &self,
        p: &Principal,
        id: &str,
    ) -> CoreResult<(WebhookEndpoint, WebhookSecret)> {
        self.require(p, Privilege::WEBHOOK_WRITE).await?;
        let secret = WebhookSecret::generate()?;
        let until = self.clock.now() + self.cfg.webhooks.secret_overlap;
        if !self.store.rotate_webhook_secret(id, &secret, until).await? {
            return Err(not_found(id));
        }
        self.audit_by(
            p,
            AuditKind::WebhookChanged,
            Some(id),
            &format!("webhook {id}: secret rotated"),
        )
        .await;
        Ok((self.found(id).await?, secret))
    }

    pub async fn webhook_dead_letters(
        &self,
        p: &Principal,
        id: &str,
    ) -> CoreResult<Vec<DeadLetter>> {
        self.require(p, Privilege::WEBHOOK_READ).await?;
        self.found(id).await?;
        Ok(self.store.dead_letters(id).await?)
    }

    /// Queues the dead letters again, ahead of newer events (the queue is in event order).
    pub async fn replay_dead_letters(&self, p: &Principal, id: &str) -> CoreResult<u64> {
        self.require(p, Privilege::WEBHOOK_WRITE).await?;
        self.found(id).await?;
        let n = self.store.replay_dead_letters(id).await?;
        self.audit_by(
            p,
            AuditKind::WebhookChanged,
            Some(id),
            &format!("webhook {id}: {n} dead letter(s) queued again"),
        )
        .await;
        tracing::info!(by = %p.user.name, webhook = %id, events = n, "dead letters replayed");
        Ok(n)
    }

    async fn found(&self, id: &str) -> CoreResult<WebhookEndpoint> {
        self.store
            .get_webhook(id)
            .await?
            .ok_or_else(|| not_found(id))
    }
}

/// The delivery loop's steps (the server runs them on a timer, on every node).
impl Core {
    /// Leases the endpoints with events due that no other node holds.
    pub async fn claim_webhooks(&self, node: &str) -> CoreResult<Vec<WebhookEndpoint>> {
        let now = self.clock.now();
        Ok(self
            .store
            .claim_webhooks(node, now, now + self.cfg.webhooks.lease)
            .await?)
    }

    /// Posts the endpoint's queued events in order until the queue is empty or one fails;
    /// a failure sets the next attempt (doubling waits) and gives the lease up.
    pub async fn deliver_webhook(
        &self,
        ep: &WebhookEndpoint,
        sender: &dyn WebhookSender,
    ) -> CoreResult<DeliveryReport> {
        let policy = self.cfg.webhooks;
        let mut report = DeliveryReport::default();
        loop {
            let batch = self.store.queued_events(&ep.id, BATCH).await?;
            let full = batch.len() == BATCH as usize;
            for (event, _) in batch {
                let body = event.payload();
                let now = self.clock.now();
                let timestamp = now.unix_timestamp();
                let signature = ep.signatures(&event.msg_id, timestamp, &body, now)?;
                let sent = sender
                    .post(WebhookRequest {
                        url: &ep.url,
                        msg_id: &event.msg_id,
                        timestamp,
                        signature: &signature,
                        body,
                        timeout: policy.timeout,
                    })
                    .await;
                let now = self.clock.now();
                match sent {
                    Ok(()) => {
                        self.store
                            .webhook_delivered(&ep.id, event.id, now, now + policy.lease)
                            .await?;
                        self.metrics.webhook_delivered(true);
                        report.delivered += 1;
                    }
                    Err(why) => {
                        self.metrics.webhook_delivered(false);
                        let failures = ep.status.failures + 1;
                        let retry_at = now + backoff(&policy, failures);
                        let dead = self
                            .store
                            .webhook_failed(
                                &ep.id,
                                &FailedAttempt {
                                    event_id: event.id,
                                    at: now,
                                    retry_at,
                                    error: &why,
                                    give_up_before: now - policy.give_up_after,
                                },
                            )
                            .await?;
                        tracing::warn!(webhook = %ep.id, event = %event.msg_id, error = %why,
                            failures, retry_in_ms = (retry_at - now).whole_milliseconds() as i64,
                            "webhook delivery failed; will retry");
                        if dead > 0 {
                            tracing::warn!(webhook = %ep.id, events = dead,
                                "webhook events moved to the dead letters: the endpoint refused them for {}",
                                humanize(policy.give_up_after));
                        }
                        report.failed = true;
                        report.dead_lettered = dead;
                        return Ok(report);
                    }
                }
            }
            if !full {
                return Ok(report);
            }
        }
    }

    /// Hands an endpoint back (at shutdown) so another node can take it at once.
    pub async fn release_webhook(&self, id: &str, node: &str) -> CoreResult<()> {
        Ok(self.store.release_webhook(id, node).await?)
    }
}

/// The wait after the `failures`-th failure in a row: `retry_min` doubling, at most
/// `retry_max`.
pub fn backoff(p: &WebhookPolicy, failures: i64) -> Duration {
    let doublings = u32::try_from(failures.saturating_sub(1).clamp(0, 30)).unwrap_or(30);
    let wait = p
        .retry_min
        .checked_mul(1i32 << doublings.min(30))
        .unwrap_or(p.retry_max);
    wait.min(p.retry_max)
}

fn humanize(d: Duration) -> String {
    humantime::format_duration(std::time::Duration::from_secs(
        d.whole_seconds().max(0) as u64
    ))
    .to_string()
}

fn not_found(id: &str) -> CoreError {
    CoreError::NotFound(format!("no webhook endpoint {id:?}"))
}

fn kinds_list(kinds: &[EventKind]) -> String {
    crate::webhook::kinds_to_text(kinds).replace(' ', ", ")
}

fn valid_url(s: &str) -> CoreResult<String> {
    let bad = |why: &str| CoreError::Invalid(format!("url: {why}"));
    if s.len() > MAX_URL {
        return Err(bad(&format!("at most {MAX_URL} characters")));
    }
    let url = url::Url::parse(s).map_err(|e| bad(&format!("not a URL ({e})")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(bad("must be http:// or https://"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(bad("has no host"));
    }
    if url.fragment().is_some() {
        return Err(bad("must not have a #fragment"));
    }
    Ok(url.into())
}

fn valid_kinds(names: &[String]) -> CoreResult<Vec<EventKind>> {
    if names.is_empty() {
        return Ok(EventKind::ALL.to_vec());
    }
    let mut kinds = Vec::new();
    for n in names {
        let k = EventKind::parse(n).ok_or_else(|| {
            CoreError::Invalid(format!(
                "events: unknown event {:?}; known: {}",
                n.chars().take(64).collect::<String>(),
                kinds_list(&EventKind::ALL)
            ))
        })?;
        if !kinds.contains(&k) {
            kinds.push(k);
        }
    }
    Ok(kinds)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_the_minimum_up_to_the_maximum() {
        let p = WebhookPolicy::default();
        let secs: Vec<i64> = (1..=12).map(|n| backoff(&p, n).whole_seconds()).collect();
        assert_eq!(secs, [1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300, 300]);
        assert_eq!(backoff(&p, i64::MAX), p.retry_max);
        assert_eq!(backoff(&p, 0), p.retry_min);
    }

    #[test]
    fn urls_must_be_http_with_a_host() {
        assert_eq!(
            valid_url("https://hooks.example.com/sessiond").unwrap(),
            "https://hooks.example.com/sessiond"
        );
        assert!(valid_url("http://127.0.0.1:8080/x?y=1").is_ok());
        for bad in [
            "ftp://example.com/",
            "example.com/hook",
            "http://",
            "https://example.com/#frag",
            "javascript:alert(1)",
            "",
        ] {
            assert!(
                matches!(valid_url(bad), Err(CoreError::Invalid(_))),
                "{bad}"
            );
        }
        assert!(valid_url(&format!("https://e.com/{}", "a".repeat(MAX_URL))).is_err());
    }

    #[test]
    fn events_are_known_kinds_or_all_by_default() {
        assert_eq!(valid_kinds(&[]).unwrap(), EventKind::ALL.to_vec());
        assert_eq!(
            valid_kinds(&["session.ended".into(), "session.ended".into()]).unwrap(),
            vec![EventKind::SessionEnded]
        );
        let err = valid_kinds(&["session.deleted".into()]).unwrap_err();
        assert!(err.to_string().contains("known: session.created"), "{err}");
    }
}
