//! Webhooks: the events sessiond announces, the endpoints that receive them, and the
//! signature every delivery carries (Standard Webhooks, <https://www.standardwebhooks.com/>).
//!
//! Events are written by the store itself, in the transaction of the change they announce
//! (an outbox filled by triggers), and only for kinds some endpoint subscribes to.

use std::fmt;

use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde::Serialize;
use sha2::Sha256;
use time::OffsetDateTime;

use crate::error::{CoreError, CoreResult};
use crate::model::UserId;

/// What happened. The names are the `type` of each delivered payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventKind {
    SessionCreated,
    /// With the reason (`logout`, `revoked`, `expired`, `idle`, ...).
    SessionEnded,
    UserDisabled,
    /// Failed logins locked the user's name.
    UserLocked,
}

impl EventKind {
    pub const ALL: [EventKind; 4] = [
        EventKind::SessionCreated,
        EventKind::SessionEnded,
        EventKind::UserDisabled,
        EventKind::UserLocked,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::SessionCreated => "session.created",
            EventKind::SessionEnded => "session.ended",
            EventKind::UserDisabled => "user.disabled",
            EventKind::UserLocked => "user.locked",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One event, as the store's triggers recorded it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// Order of the outbox: deliveries to one endpoint follow it.
    pub id: i64,
    /// `webhook-id`: the same on every attempt, so receivers can drop repeats.
    pub msg_id: String,
    pub kind: EventKind,
    pub at: OffsetDateTime,
    pub user_id: Option<UserId>,
    pub username: Option<String>,
    pub session_id: Option<String>,
    /// Why a session ended.
    pub reason: Option<String>,
    pub server: Option<String>,
    pub client: Option<String>,
    pub auth_method: Option<String>,
    /// Until when a name is locked.
    pub until: Option<OffsetDateTime>,
}

#[derive(Serialize)]
struct Payload<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(with = "time::serde::rfc3339")]
    timestamp: OffsetDateTime,
    data: Data<'a>,
}

#[derive(Serialize)]
struct Data<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    session_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    user_id: Option<UserId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    username: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    server: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    client: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    auth_method: Option<&'a str>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        with = "time::serde::rfc3339::option"
    )]
    locked_until: Option<OffsetDateTime>,
}

impl Event {
    /// The body of a delivery: `{"type", "timestamp", "data"}`, the shape Standard Webhooks
    /// recommends.
    pub fn payload(&self) -> String {
        let p = Payload {
            kind: self.kind.as_str(),
            timestamp: self.at,
            data: Data {
                session_id: self.session_id.as_deref(),
                user_id: self.user_id,
                username: self.username.as_deref(),
                reason: self.reason.as_deref(),
                server: self.server.as_deref(),
                client: self.client.as_deref(),
                auth_method: self.auth_method.as_deref(),
                locked_until: self.until,
            },
        };
        // Plain strings, numbers and well-formed times: serializing cannot fail.
        serde_json::to_string(&p).unwrap_or_default()
    }
}

/// The key an endpoint's deliveries are signed with: `whsec_` and 32 random bytes in
/// base64, the form the Standard Webhooks libraries take. Kept in the store as it is (a
/// signature needs the key itself); never logged, and shown to an admin only when made.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookSecret(String);

pub const SECRET_PREFIX: &str = "whsec_";

impl WebhookSecret {
    pub fn generate() -> CoreResult<WebhookSecret> {
        let bytes = crate::secret::random_bytes::<32>()?;
        Ok(WebhookSecret(format!(
            "{SECRET_PREFIX}{}",
            base64::engine::general_purpose::STANDARD.encode(bytes)
        )))
    }

    /// A secret read back from the store.
    pub fn from_stored(s: String) -> WebhookSecret {
        WebhookSecret(s)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    fn key(&self) -> CoreResult<Vec<u8>> {
        let b64 = self.0.strip_prefix(SECRET_PREFIX).unwrap_or(&self.0);
        base64::engine::general_purpose::STANDARD
            .decode(b64)
            .map_err(|_| CoreError::Internal("a webhook secret in the store is not base64".into()))
    }

    /// `v1,<base64 HMAC-SHA256 of "id.timestamp.body">`.
    pub fn sign(&self, msg_id: &str, timestamp: i64, body: &str) -> CoreResult<String> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key()?)
            .map_err(|e| CoreError::Internal(format!("webhook key: {e}")))?;
        mac.update(msg_id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body.as_bytes());
        Ok(format!(
            "v1,{}",
            base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
        ))
    }
}

impl fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WebhookSecret(<redacted>)")
    }
}

/// A registered receiver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookEndpoint {
    pub id: String,
    pub url: String,
    pub kinds: Vec<EventKind>,
    pub description: String,
    pub created_at: OffsetDateTime,
    pub secret: WebhookSecret,
    /// The secret before the last rotation, still signing (beside the new one) until then,
    /// so that receivers can switch without losing a delivery.
    pub previous_secret: Option<(WebhookSecret, OffsetDateTime)>,
    pub status: DeliveryStatus,
}

impl WebhookEndpoint {
    /// The URL as listings show it: a password in it masked (`https://u:***@host/...`),
    /// for those who may read endpoints but not change them.
    pub fn shown_url(&self) -> String {
        match url::Url::parse(&self.url) {
            Ok(mut u) if u.password().is_some() => {
                let _ = u.set_password(Some("***"));
                u.into()
            }
            _ => self.url.clone(),
        }
    }

    /// The `webhook-signature` header: one signature per secret in use, space-separated.
    pub fn signatures(
        &self,
        msg_id: &str,
        timestamp: i64,
        body: &str,
        now: OffsetDateTime,
    ) -> CoreResult<String> {
        let mut sig = self.secret.sign(msg_id, timestamp, body)?;
        if let Some((old, until)) = &self.previous_secret {
            if *until > now {
                sig.push(' ');
                sig.push_str(&old.sign(msg_id, timestamp, body)?);
            }
        }
        Ok(sig)
    }
}

/// Where an endpoint's deliveries stand.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeliveryStatus {
    /// Events waiting to be delivered.
    pub queued: i64,
    /// Events given up on, waiting for an admin's replay.
    pub dead_letters: i64,
    /// Failed attempts since the last success.
    pub failures: i64,
    /// When the next attempt is due after a failure.
    pub retry_at: Option<OffsetDateTime>,
    pub last_error: Option<String>,
    pub last_delivered_at: Option<OffsetDateTime>,
}

/// A new endpoint, as the store records it.
#[derive(Debug, Clone)]
pub struct NewWebhook {
    pub id: String,
    pub url: String,
    pub kinds: Vec<EventKind>,
    pub description: String,
    pub secret: WebhookSecret,
    pub created_at: OffsetDateTime,
}

/// An event an endpoint did not take within the give-up time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetter {
    pub event: Event,
    pub attempts: i64,
    pub failed_at: OffsetDateTime,
    pub last_error: String,
}

/// A failed attempt, as the store records it.
#[derive(Debug, Clone)]
pub struct FailedAttempt<'a> {
    pub event_id: i64,
    pub at: OffsetDateTime,
    pub retry_at: OffsetDateTime,
    pub error: &'a str,
    /// Queued events failing since before this are moved to the dead letters.
    pub give_up_before: OffsetDateTime,
}

/// Kinds as the store keeps them: names separated by single spaces.
pub fn kinds_to_text(kinds: &[EventKind]) -> String {
    kinds
        .iter()
        .map(|k| k.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

pub fn kinds_from_text(s: &str) -> Vec<EventKind> {
    s.split(' ').filter_map(EventKind::parse).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example of the Standard Webhooks specification (and of its reference
    /// libraries' tests): this secret, id, timestamp and body sign to this value.
    #[test]
    fn signs_the_specification_example() {
        let secret = WebhookSecret::from_stored("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".into());
        let sig = secret
            .sign(
                "msg_p5jXN8AQM9LWM0D4loKWxJek",
                1614265330,
                r#"{"test": 2432232314}"#,
            )
            .unwrap();
        assert_eq!(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[test]
    fn generated_secrets_are_whsec_and_32_random_bytes() {
        let a = WebhookSecret::generate().unwrap();
        let b = WebhookSecret::generate().unwrap();
        assert_ne!(a, b);
        assert!(a.expose().starts_with("whsec_"));
        assert_eq!(a.key().unwrap().len(), 32);
        assert_eq!(format!("{a:?}"), "WebhookSecret(<redacted>)");
    }

    #[test]
    fn a_rotated_endpoint_signs_with_both_secrets_until_the_overlap_ends() {
        let now = OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap();
        let old = WebhookSecret::generate().unwrap();
        let new = WebhookSecret::generate().unwrap();
        let ep = WebhookEndpoint {
            id: "wh_1".into(),
            url: "http://127.0.0.1/".into(),
            kinds: vec![EventKind::SessionEnded],
            description: String::new(),
            created_at: now,
            secret: new.clone(),
            previous_secret: Some((old.clone(), now + time::Duration::hours(1))),
            status: DeliveryStatus::default(),
        };
        let both = ep.signatures("msg_1", 1, "{}", now).unwrap();
        assert_eq!(
            both,
            format!(
                "{} {}",
                new.sign("msg_1", 1, "{}").unwrap(),
                old.sign("msg_1", 1, "{}").unwrap()
            )
        );
        let later = ep
            .signatures("msg_1", 1, "{}", now + time::Duration::hours(2))
            .unwrap();
        assert_eq!(later, new.sign("msg_1", 1, "{}").unwrap());
    }

    #[test]
    fn a_password_in_the_url_is_masked_in_listings() {
        let mut ep = WebhookEndpoint {
            id: "wh_1".into(),
            url: "https://hook:s3cret@example.com/in?x=1".into(),
            kinds: vec![],
            description: String::new(),
            created_at: OffsetDateTime::UNIX_EPOCH,
            secret: WebhookSecret::from_stored("whsec_AAAA".into()),
            previous_secret: None,
            status: DeliveryStatus::default(),
        };
        assert_eq!(ep.shown_url(), "https://hook:***@example.com/in?x=1");
        ep.url = "http://127.0.0.1:9/hook".into();
        assert_eq!(ep.shown_url(), "http://127.0.0.1:9/hook");
    }

    #[test]
    fn payloads_carry_type_timestamp_and_only_the_data_that_applies() {
        let e = Event {
            id: 7,
            msg_id: "msg_x".into(),
            kind: EventKind::SessionEnded,
            at: OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap(),
            user_id: Some(501),
            username: Some("alice".into()),
            session_id: Some("s-1".into()),
            reason: Some("revoked".into()),
            server: None,
            client: None,
            auth_method: None,
            until: None,
        };
        assert_eq!(
            e.payload(),
            r#"{"type":"session.ended","timestamp":"2027-01-15T08:00:00Z","data":{"session_id":"s-1","user_id":501,"username":"alice","reason":"revoked"}}"#
        );
    }

    #[test]
    fn kinds_round_trip_through_their_stored_text() {
        let all = EventKind::ALL.to_vec();
        assert_eq!(kinds_from_text(&kinds_to_text(&all)), all);
        assert_eq!(
            kinds_from_text("session.ended bogus"),
            vec![EventKind::SessionEnded]
        );
    }
}
