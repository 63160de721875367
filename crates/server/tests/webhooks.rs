//! Webhook endpoints through the native API (who may, what is refused, in which shape), and
//! the delivery rules on the manual clock: order, doubling waits, dead letters after the
//! give-up time. Real deliveries to a real receiver are in the CLI's tests/webhooks.rs.

mod common;

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use common::{message, Options, TestServer};
use reqwest::{Method, StatusCode};
use serde_json::json;
use sessiond_core::service::{WebhookRequest, WebhookSender};
use sessiond_core::ManualClock;
use tempfile::TempDir;
use time::Duration;

#[tokio::test]
async fn endpoints_are_admins_business_and_bad_input_is_refused_in_the_native_shape() {
    let dir = TempDir::new().unwrap();
    let s = TestServer::start(&dir).await;
    let admin = s.admin().await;
    s.user(&admin, "watcher", &["Observers"]).await;
    let (watcher, _) = s.login("watcher", "watcher-password").await;
    s.user(&admin, "nobody", &[]).await;
    let (nobody, _) = s.login("nobody", "nobody-password").await;
    let hook = json!({"url": "https://hooks.example.com/in", "events": ["session.ended"]});

    let (status, body) = s
        .call(Method::POST, "/api/v1/webhooks", None, Some(hook.clone()))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    for caller in [&nobody, &watcher] {
        let (status, body) = s
            .call(
                Method::POST,
                "/api/v1/webhooks",
                Some(caller),
                Some(hook.clone()),
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
        assert_eq!(body["error"]["code"], "forbidden");
    }
    let (status, _) = s.get("/api/v1/webhooks", &nobody).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let (status, made) = s
        .call(Method::POST, "/api/v1/webhooks", Some(&admin), Some(hook))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    let id = made["id"].as_str().unwrap();
    let secret = made["secret"].as_str().unwrap();
    assert!(
        id.starts_with("wh_") && secret.starts_with("whsec_"),
        "{made}"
    );
    assert_eq!(made["events"], json!(["session.ended"]));

    // Observers read (without the secret); nobody else does.
    let (status, list) = s.get("/api/v1/webhooks", &watcher).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list["webhooks"][0]["id"], id);
    assert!(!list.to_string().contains(secret));
    let (status, one) = s.get(&format!("/api/v1/webhooks/{id}"), &watcher).await;
    assert_eq!(status, StatusCode::OK);
    assert!(one.get("secret").is_none());
    assert_eq!(
        one["status"],
        json!({"queued": 0, "dead_letters": 0, "failures": 0})
    );

    for (bad, says) in [
        (
            json!({"url": "ftp://example.com/"}),
            "url: must be http:// or https://",
        ),
        (json!({"url": "not a url"}), "url: not a URL"),
        (
            json!({"url": "http://h/", "events": ["session.deleted"]}),
            "events: unknown event \"session.deleted\"",
        ),
        (
            json!({"url": "http://h/", "description": "a\u{1b}[31mred"}),
            "description",
        ),
        (json!({"url": "http://h/", "secret": "mine"}), "secret"),
        (json!({"events": []}), "url"),
    ] {
        let (status, body) = s
            .call(
                Method::POST,
                "/api/v1/webhooks",
                Some(&admin),
                Some(bad.clone()),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad} -> {body}");
        assert_eq!(body["error"]["code"], "bad_request");
        assert!(message(&body).contains(says), "{bad} -> {body}");
    }

    for (method, path) in [
        (Method::GET, "/api/v1/webhooks/wh_nope"),
        (Method::DELETE, "/api/v1/webhooks/wh_nope"),
        (Method::POST, "/api/v1/webhooks/wh_nope/rotate-secret"),
        (Method::GET, "/api/v1/webhooks/wh_nope/dead-letters"),
        (Method::POST, "/api/v1/webhooks/wh_nope/dead-letters/replay"),
    ] {
        let (status, body) = s.call(method.clone(), path, Some(&admin), None).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{method} {path}: {body}");
        assert_eq!(body["error"]["code"], "not_found");
    }

    let (status, rotated) = s
        .call(
            Method::POST,
            &format!("/api/v1/webhooks/{id}/rotate-secret"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_ne!(rotated["secret"], made["secret"]);
    let (status, _) = s
        .call(
            Method::DELETE,
            &format!("/api/v1/webhooks/{id}"),
            Some(&watcher),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = s
        .call(
            Method::DELETE,
            &format!("/api/v1/webhooks/{id}"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);

    let (_, audit) = s.get("/api/v1/audit?kind=webhook_changed", &admin).await;
    let details: Vec<&str> = audit["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["detail"].as_str().unwrap())
        .collect();
    assert_eq!(details.len(), 3, "{details:?}");
    assert!(details.iter().all(|d| !d.contains("whsec_")));
}

/// Answers as told, in turn, and keeps what it was sent.
#[derive(Default)]
struct Scripted {
    answers: Mutex<Vec<Result<(), String>>>,
    sent: Mutex<Vec<(String, String)>>,
}

#[async_trait]
impl WebhookSender for Scripted {
    async fn post(&self, req: WebhookRequest<'_>) -> Result<(), String> {
        self.sent
            .lock()
            .unwrap()
            .push((req.msg_id.to_owned(), req.signature.to_owned()));
        let mut a = self.answers.lock().unwrap();
        if a.is_empty() {
            Ok(())
        } else {
            a.remove(0)
        }
    }
}

#[tokio::test]
async fn failures_wait_doubling_times_then_dead_letter_on_the_manual_clock() {
    let dir = TempDir::new().unwrap();
    let clock = Arc::new(ManualClock::starting_now());
    let mut opts = Options::default();
    opts.core.webhooks.give_up_after = Duration::minutes(10);
    let s = TestServer::start_with(&dir, opts, clock.clone()).await;
    let admin = s.admin().await;
    let (status, made) = s
        .call(
            Method::POST,
            "/api/v1/webhooks",
            Some(&admin),
            Some(json!({"url": "http://127.0.0.1:9/", "events": ["session.created"]})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let id = made["id"].as_str().unwrap().to_owned();
    for _ in 0..3 {
        s.login("admin", common::ADMIN_PASSWORD).await;
    }
    let sender = Scripted::default();
    *sender.answers.lock().unwrap() = vec![
        Err("answered HTTP 503".into()),
        Err("answered HTTP 503".into()),
    ];

    // The first attempt fails: nothing more is sent, the next try waits 1 s, then 2 s.
    let mut waits = vec![];
    for _ in 0..2 {
        let claimed = s.core.claim_webhooks("n1").await.unwrap();
        assert_eq!(claimed.len(), 1);
        let r = s.core.deliver_webhook(&claimed[0], &sender).await.unwrap();
        assert!(r.failed && r.delivered == 0);
        let w = s.store.get_webhook(&id).await.unwrap().unwrap();
        waits.push((w.status.retry_at.unwrap() - s.core.now()).whole_seconds());
        assert!(
            s.core.claim_webhooks("n1").await.unwrap().is_empty(),
            "waiting"
        );
        clock.advance(Duration::seconds(waits.last().copied().unwrap()));
    }
    assert_eq!(waits, [1, 2]);

    // Then it takes them, in order, one webhook-id each, the same on every attempt.
    let claimed = s.core.claim_webhooks("n1").await.unwrap();
    let r = s.core.deliver_webhook(&claimed[0], &sender).await.unwrap();
    assert_eq!((r.delivered, r.failed), (3, false));
    let sent: Vec<String> = sender
        .sent
        .lock()
        .unwrap()
        .iter()
        .map(|(m, _)| m.clone())
        .collect();
    assert_eq!(sent[0], sent[1]);
    assert_eq!(sent[1], sent[2]);
    let mut distinct = sent[2..].to_vec();
    distinct.dedup();
    assert_eq!(distinct.len(), 3, "{sent:?}");

    // A receiver that refuses for longer than the give-up time: its events become dead
    // letters, which the sweep keeps for the history's time.
    s.login("admin", common::ADMIN_PASSWORD).await;
    *sender.answers.lock().unwrap() = vec![Err("no answer within 10s".into()); 2];
    let claimed = s.core.claim_webhooks("n1").await.unwrap();
    assert_eq!(
        s.core
            .deliver_webhook(&claimed[0], &sender)
            .await
            .unwrap()
            .dead_lettered,
        0
    );
    clock.advance(Duration::minutes(11));
    let claimed = s.core.claim_webhooks("n1").await.unwrap();
    let r = s.core.deliver_webhook(&claimed[0], &sender).await.unwrap();
    assert_eq!(r.dead_lettered, 1);
    let (_, dead) = s
        .get(&format!("/api/v1/webhooks/{id}/dead-letters"), &admin)
        .await;
    assert_eq!(
        dead["dead_letters"][0]["last_error"],
        "no answer within 10s"
    );
    assert_eq!(dead["dead_letters"][0]["attempts"], 2);
    assert_eq!(dead["dead_letters"][0]["type"], "session.created");
    s.core.sweep().await.unwrap();
    let (_, dead) = s
        .get(&format!("/api/v1/webhooks/{id}/dead-letters"), &admin)
        .await;
    assert_eq!(dead["dead_letters"].as_array().unwrap().len(), 1, "kept");
}
