//! The native API end to end: a real server over HTTP on a fresh SQLite directory.

mod common;

use std::sync::Arc;

use common::{message, Options, TestServer, ADMIN_PASSWORD};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use sessiond_core::{ManualClock, Privilege, Store};
use tempfile::TempDir;
use time::Duration;

#[tokio::test]
async fn first_start_creates_admin_500_with_every_privilege() {
    let dir = TempDir::new().unwrap();
    let s = TestServer::start(&dir).await;
    let token = s.admin().await;
    let (status, me) = s.get("/api/v1/session", &token).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["user"]["id"], 500);
    assert_eq!(me["user"]["name"], "admin");
    assert_eq!(me["user"]["roles"], json!(["Administrators"]));
    assert_eq!(
        me["privileges"].as_array().unwrap().len(),
        Privilege::all().count()
    );
    assert_eq!(me["session"]["server"], "testhost");
    assert_eq!(me["session"]["client_name"], "127.0.0.1");
    assert_eq!(me["session"]["current"], true);
    // A second bootstrap on a store with users creates nothing and prints no password.
    let again = s.core.bootstrap(None).await.unwrap();
    assert!(!again.admin_created && again.generated_password.is_none());
}

#[tokio::test]
async fn generated_admin_password_is_random_and_works() {
    let dir = TempDir::new().unwrap();
    let store = Arc::new(sessiond_store::SqliteStore::open(dir.path()).await.unwrap());
    let core = sessiond_core::Core::new(
        store as Arc<dyn Store>,
        Arc::new(ManualClock::starting_now()),
        Default::default(),
    )
    .await
    .unwrap();
    let boot = core.bootstrap(None).await.unwrap();
    let pw = boot.generated_password.expect("a generated password");
    assert!(pw.len() >= 20);
    let ctx = sessiond_core::LoginContext {
        via: "test",
        client_name: "t".into(),
        client_type: "t".into(),
        console_type: 19,
        transport: None,
        auth_method: sessiond_core::model::AuthMethod::Password,
    };
    assert!(core.login("admin", &pw, ctx).await.is_ok());
}

#[tokio::test]
async fn login_whoami_logout() {
    let dir = TempDir::new().unwrap();
    let s = TestServer::start(&dir).await;
    let (token, session_id) = s.login("admin", ADMIN_PASSWORD).await;
    assert_eq!(token.len(), 43, "256-bit token, base64url");
    assert!(!token.contains('.'));
    let (status, me) = s.get("/api/v1/session", &token).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["session"]["id"], session_id.as_str());

    let (status, _) = s
        .call(Method::DELETE, "/api/v1/session", Some(&token), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body) = s.get("/api/v1/session", &token).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(message(&body), "the session has ended");

    // The ended session stays in history with its reason.
    let admin = s.admin().await;
    let (_, list) = s.get("/api/v1/sessions?state=ended", &admin).await;
    let ended = &list["sessions"][0];
    assert_eq!(ended["id"], session_id.as_str());
    assert_eq!(ended["end_reason"], "logout");
    assert!(ended["logout_time"].is_string());
    // The token itself is stored nowhere: only its hash is.
    let stored = s.store.get_session(&session_id).await.unwrap().unwrap();
    assert_eq!(stored.id, session_id);
}

#[tokio::test]
async fn wrong_password_is_401_and_audited() {
    let dir = TempDir::new().unwrap();
    let s = TestServer::start(&dir).await;
    let resp = s
        .http
        .post(s.url("/api/v1/login"))
        .json(&json!({"username": "admin", "password": "nope-nope"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert!(resp.headers().contains_key("www-authenticate"));
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], "unauthorized");
    assert_eq!(message(&body), "invalid user name or password");
    // An unknown user gets the very same answer.
    let (status, body2) = s.try_login("ghost", "whatever1").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body, body2);

    let admin = s.admin().await;
    let (status, audit) = s.get("/api/v1/audit?kind=login_failed", &admin).await;
    assert_eq!(status, StatusCode::OK);
    let events = audit["events"].as_array().unwrap();
    assert_eq!(events.len(), 2);
    let subjects: Vec<&str> = events
        .iter()
        .map(|e| e["subject"].as_str().unwrap())
        .collect();
    assert!(subjects.contains(&"admin") && subjects.contains(&"ghost"));
    assert!(events.iter().all(|e| e["client"] == "127.0.0.1"));
    // No secret in the audit log.
    assert!(!audit.to_string().contains("nope-nope"));
}

#[tokio::test]
async fn missing_or_malformed_credentials_are_401() {
    let dir = TempDir::new().unwrap();
    let s = TestServer::start(&dir).await;
    let (status, body) = s.call(Method::GET, "/api/v1/session", None, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(message(&body), "no credentials were given");
    let resp = s
        .http
        .get(s.url("/api/v1/session"))
        .header("authorization", "Basic YWRtaW46eA==")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    let (status, body) = s.get("/api/v1/session", "not-a-token").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(message(&body), "the token is not valid");
}

fn short_timeouts() -> Options {
    let mut o = Options::default();
    o.core.idle_timeout = Some(Duration::minutes(10));
    o.core.session_lifetime = Some(Duration::hours(1));
    o
}

#[tokio::test]
async fn idle_session_is_rejected_and_recorded_as_idle() {
    let dir = TempDir::new().unwrap();
    let clock = Arc::new(ManualClock::starting_now());
    let s = TestServer::start_with(&dir, short_timeouts(), clock.clone()).await;
    let (token, id) = s.login("admin", ADMIN_PASSWORD).await;
    // Activity keeps it alive: 12 minutes in all, never 10 without a request.
    for _ in 0..2 {
        clock.advance(Duration::minutes(6));
        assert_eq!(s.get("/api/v1/session", &token).await.0, StatusCode::OK);
    }
    clock.advance(Duration::minutes(10));
    let (status, body) = s.get("/api/v1/session", &token).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        message(&body),
        "the session was closed after being idle too long"
    );
    let stored = s.store.get_session(&id).await.unwrap().unwrap();
    assert_eq!(stored.end_reason.unwrap().as_str(), "idle");
    // Still refused afterwards, now from the store.
    assert_eq!(
        s.get("/api/v1/session", &token).await.0,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn absolute_lifetime_ends_even_an_active_session() {
    let dir = TempDir::new().unwrap();
    let clock = Arc::new(ManualClock::starting_now());
    let s = TestServer::start_with(&dir, short_timeouts(), clock.clone()).await;
    let (token, id) = s.login("admin", ADMIN_PASSWORD).await;
    for _ in 0..11 {
        clock.advance(Duration::minutes(5));
        assert_eq!(s.get("/api/v1/session", &token).await.0, StatusCode::OK);
    }
    clock.advance(Duration::minutes(5)); // 60 minutes after login
    let (status, body) = s.get("/api/v1/session", &token).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(message(&body), "the session has expired");
    let stored = s.store.get_session(&id).await.unwrap().unwrap();
    assert_eq!(stored.end_reason.unwrap().as_str(), "expired");
}

#[tokio::test]
async fn sweeper_ends_idle_sessions_and_purges_old_history() {
    let dir = TempDir::new().unwrap();
    let clock = Arc::new(ManualClock::starting_now());
    let mut opts = short_timeouts();
    opts.core.history_retention = Duration::days(1);
    let s = TestServer::start_with(&dir, opts, clock.clone()).await;
    let (_, id) = s.login("admin", ADMIN_PASSWORD).await;
    clock.advance(Duration::minutes(11));
    let report = s.core.sweep().await.unwrap();
    assert_eq!(report.ended, 1);
    let stored = s.store.get_session(&id).await.unwrap().unwrap();
    assert_eq!(stored.end_reason.unwrap().as_str(), "idle");
    clock.advance(Duration::days(2));
    let report = s.core.sweep().await.unwrap();
    assert_eq!(report.purged_sessions, 1);
    assert!(s.store.get_session(&id).await.unwrap().is_none());
}

#[tokio::test]
async fn reads_do_not_write_activity_until_the_flush() {
    let dir = TempDir::new().unwrap();
    let clock = Arc::new(ManualClock::starting_now());
    let s = TestServer::start_with(&dir, Options::default(), clock.clone()).await;
    let (token, id) = s.login("admin", ADMIN_PASSWORD).await;
    let at_login = s.store.get_session(&id).await.unwrap().unwrap().last_active;
    for _ in 0..5 {
        clock.advance(Duration::seconds(30));
        assert_eq!(s.get("/api/v1/session", &token).await.0, StatusCode::OK);
    }
    // Nothing written per request...
    assert_eq!(
        s.store.get_session(&id).await.unwrap().unwrap().last_active,
        at_login
    );
    // ...yet the API shows the live activity...
    let (_, shown) = s.get(&format!("/api/v1/sessions/{id}"), &token).await;
    assert_eq!(shown["idle_seconds"], 0);
    // ...and one batched flush records it.
    assert_eq!(s.core.flush_activity().await.unwrap(), 1);
    assert_eq!(
        s.store.get_session(&id).await.unwrap().unwrap().last_active,
        at_login + Duration::seconds(150)
    );
    assert_eq!(s.core.flush_activity().await.unwrap(), 0);
}

#[tokio::test]
async fn revoke_one_and_all_others() {
    let dir = TempDir::new().unwrap();
    let s = TestServer::start(&dir).await;
    let (t1, _) = s.login("admin", ADMIN_PASSWORD).await;
    let (t2, id2) = s.login("admin", ADMIN_PASSWORD).await;
    let (t3, _) = s.login("admin", ADMIN_PASSWORD).await;
    let (t4, _) = s.login("admin", ADMIN_PASSWORD).await;

    let (status, body) = s
        .call(
            Method::DELETE,
            &format!("/api/v1/sessions/{id2}"),
            Some(&t1),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["end_reason"], "revoked");
    assert_eq!(
        s.get("/api/v1/session", &t2).await.0,
        StatusCode::UNAUTHORIZED
    );
    // Revoking it again is a conflict, not a silent success.
    let (status, _) = s
        .call(
            Method::DELETE,
            &format!("/api/v1/sessions/{id2}"),
            Some(&t1),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);

    let (status, body) = s
        .call(Method::DELETE, "/api/v1/session/others", Some(&t1), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["revoked"].as_array().unwrap().len(), 2);
    assert_eq!(
        s.get("/api/v1/session", &t3).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        s.get("/api/v1/session", &t4).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(s.get("/api/v1/session", &t1).await.0, StatusCode::OK);

    let (_, audit) = s.get("/api/v1/audit?kind=revoke", &t1).await;
    assert_eq!(audit["events"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn a_user_without_privileges_gets_403_and_sees_only_their_own() {
    let dir = TempDir::new().unwrap();
    let s = TestServer::start(&dir).await;
    let admin = s.admin().await;
    let (_, admin_session) = s.login("admin", ADMIN_PASSWORD).await;
    let bob_id = s.user(&admin, "bob", &[]).await;
    assert!(bob_id > 500);
    let (bob, bob_session) = s.login("bob", "bob-password").await;

    let (status, body) = s.get("/api/v1/users", &bob).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["error"]["code"], "forbidden");
    assert_eq!(
        message(&body),
        "missing privilege PRIVILEGE_LOCAL_USER_READ"
    );
    assert_eq!(
        s.get("/api/v1/sessions?user=admin", &bob).await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(s.get("/api/v1/audit", &bob).await.0, StatusCode::FORBIDDEN);
    assert_eq!(
        s.get(&format!("/api/v1/sessions/{admin_session}"), &bob)
            .await
            .0,
        StatusCode::FORBIDDEN
    );
    let (status, _) = s
        .call(
            Method::DELETE,
            &format!("/api/v1/sessions/{admin_session}"),
            Some(&bob),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(s.get("/api/v1/session", &admin).await.0, StatusCode::OK);

    // Their own things they may see.
    let (status, mine) = s.get("/api/v1/sessions", &bob).await;
    assert_eq!(status, StatusCode::OK);
    let mine = mine["sessions"].as_array().unwrap();
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0]["id"], bob_session.as_str());
    assert_eq!(mine[0]["username"], "bob");
    assert_eq!(
        s.get(&format!("/api/v1/users/{bob_id}"), &bob).await.0,
        StatusCode::OK
    );

    // The denials are audited.
    let (_, audit) = s.get("/api/v1/audit?kind=denied&user=bob", &admin).await;
    assert!(audit["events"].as_array().unwrap().len() >= 5);
}

#[tokio::test]
async fn role_changes_apply_at_once() {
    let dir = TempDir::new().unwrap();
    let s = TestServer::start(&dir).await;
    let admin = s.admin().await;
    let bob_id = s.user(&admin, "bob", &[]).await;
    let (bob, _) = s.login("bob", "bob-password").await;
    assert_eq!(s.get("/api/v1/users", &bob).await.0, StatusCode::FORBIDDEN);

    let (status, body) = s
        .call(
            Method::PUT,
            &format!("/api/v1/users/{bob_id}/roles"),
            Some(&admin),
            Some(json!(["Observers"])),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(s.get("/api/v1/users", &bob).await.0, StatusCode::OK);
    // Observers read, but do not write.
    let (status, _) = s
        .call(
            Method::POST,
            "/api/v1/users",
            Some(&bob),
            Some(json!({"name": "eve", "password": "eve-password"})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // A custom role, then taking its privilege away.
    let (status, _) = s
        .call(
            Method::POST,
            "/api/v1/roles",
            Some(&admin),
            Some(json!({"name": "Auditors", "description": "read the audit log", "privileges": ["PRIVILEGE_AUDIT_READ"]})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    s.call(
        Method::PUT,
        &format!("/api/v1/users/{bob_id}/roles"),
        Some(&admin),
        Some(json!(["Auditors"])),
    )
    .await;
    assert_eq!(s.get("/api/v1/audit", &bob).await.0, StatusCode::OK);
    assert_eq!(s.get("/api/v1/users", &bob).await.0, StatusCode::FORBIDDEN);
    let (status, _) = s
        .call(
            Method::PUT,
            "/api/v1/roles/Auditors",
            Some(&admin),
            Some(json!({"name": "Auditors", "privileges": []})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(s.get("/api/v1/audit", &bob).await.0, StatusCode::FORBIDDEN);

    // Built-in roles are fixed; unknown privileges and roles are refused.
    let (status, _) = s
        .call(
            Method::PUT,
            "/api/v1/roles/Administrators",
            Some(&admin),
            Some(json!({"name": "Administrators", "privileges": []})),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, body) = s
        .call(
            Method::POST,
            "/api/v1/roles",
            Some(&admin),
            Some(json!({"name": "X", "privileges": ["PRIVILEGE_NOPE"]})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(message(&body).contains("PRIVILEGE_NOPE"));
    let (status, _) = s
        .call(
            Method::PUT,
            &format!("/api/v1/users/{bob_id}/roles"),
            Some(&admin),
            Some(json!(["Nope"])),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn disabling_a_user_ends_their_sessions_and_refuses_login() {
    let dir = TempDir::new().unwrap();
    let s = TestServer::start(&dir).await;
    let admin = s.admin().await;
    let bob_id = s.user(&admin, "bob", &[]).await;
    let (bob, bob_sid) = s.login("bob", "bob-password").await;
    let (status, body) = s
        .call(
            Method::PATCH,
            &format!("/api/v1/users/{bob_id}"),
            Some(&admin),
            Some(json!({"enabled": false})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["enabled"], false);
    assert_eq!(
        s.get("/api/v1/session", &bob).await.0,
        StatusCode::UNAUTHORIZED
    );
    let (_, ended) = s.get(&format!("/api/v1/sessions/{bob_sid}"), &admin).await;
    assert_eq!(ended["end_reason"], "user_disabled", "{ended}");
    let (status, body) = s.try_login("bob", "bob-password").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(message(&body), "the account is disabled");
    // The last administrator cannot lock everyone out.
    let (status, _) = s
        .call(Method::DELETE, "/api/v1/users/500", Some(&admin), None)
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
}

#[tokio::test]
async fn user_fields_round_trip_and_patch() {
    let dir = TempDir::new().unwrap();
    let s = TestServer::start(&dir).await;
    let admin = s.admin().await;
    let (status, u) = s
        .call(
            Method::POST,
            "/api/v1/users",
            Some(&admin),
            Some(json!({
                "name": "jane", "password": "jane-password", "display_name": "Jane Doe",
                "email": "jane@example.com", "title": "Engineer", "company": "Acme",
                "account_type": "SYSTEM", "home_directory": "/home/jane",
                "avatars": [{"size": "small", "url": "https://a/j.png"}],
                "metadata": {"team": {"name": "core"}}
            })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{u}");
    let id = u["id"].as_i64().unwrap();
    assert_eq!(u["account_type"], "SYSTEM");
    assert_eq!(u["primary_group"], 513);
    assert_eq!(u["sid"], format!("S-1-5-21-1-2-3-{id}"));
    assert_eq!(u["metadata"]["team"]["name"], "core");
    let (status, u) = s
        .call(
            Method::PATCH,
            &format!("/api/v1/users/{id}"),
            Some(&admin),
            Some(json!({"title": "", "department": "R&D"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(u["title"], Value::Null);
    assert_eq!(u["department"], "R&D");
    assert_eq!(u["email"], "jane@example.com");
    // Names are unique regardless of case.
    let (status, _) = s
        .call(
            Method::POST,
            "/api/v1/users",
            Some(&admin),
            Some(json!({"name": "JANE", "password": "whatever1"})),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
}

#[tokio::test]
async fn malformed_input_is_400_with_a_message_and_changes_nothing() {
    let dir = TempDir::new().unwrap();
    let s = TestServer::start(&dir).await;
    let admin = s.admin().await;
    let users_before = s.get("/api/v1/users", &admin).await.1;

    let post_raw = |body: &'static str, ctype: &'static str| {
        s.http
            .post(s.url("/api/v1/users"))
            .bearer_auth(&admin)
            .header("content-type", ctype)
            .body(body)
    };
    for (body, ctype, want) in [
        ("{\"name\": ", "application/json", StatusCode::BAD_REQUEST),
        ("{\"name\": 5}", "application/json", StatusCode::BAD_REQUEST),
        (
            "{\"name\": \"x1\", \"colour\": 1}",
            "application/json",
            StatusCode::BAD_REQUEST,
        ),
        (
            "{\"name\": \"x2\"}",
            "text/plain",
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
        (
            "{\"name\": \"a/b\", \"password\": \"long-enough\"}",
            "application/json",
            StatusCode::BAD_REQUEST,
        ),
        (
            "{\"name\": \"x3\", \"password\": \"short\"}",
            "application/json",
            StatusCode::BAD_REQUEST,
        ),
        (
            "{\"name\": \"x4\", \"account_type\": \"ROOT\"}",
            "application/json",
            StatusCode::BAD_REQUEST,
        ),
    ] {
        let resp = post_raw(body, ctype).send().await.unwrap();
        assert_eq!(resp.status(), want, "{body}");
        let err: Value = resp.json().await.expect("a JSON error body");
        assert!(!message(&err).is_empty(), "{body}: {err}");
    }
    let (status, body) = s
        .call(
            Method::POST,
            "/api/v1/login",
            None,
            Some(json!({"username": "admin"})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(message(&body).contains("password"), "{body}");
    assert_eq!(
        s.get("/api/v1/users/abc", &admin).await.0,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        s.get("/api/v1/sessions?state=sideways", &admin).await.0,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        s.get("/api/v1/sessions?limit=-1", &admin).await.0,
        StatusCode::BAD_REQUEST
    );

    assert_eq!(s.get("/api/v1/users", &admin).await.1, users_before);
}

#[tokio::test]
async fn bodies_over_the_limit_are_413_and_change_nothing() {
    let dir = TempDir::new().unwrap();
    let mut opts = Options::default();
    opts.server.max_body_bytes = 4096;
    let s = TestServer::start_with(&dir, opts, Arc::new(ManualClock::starting_now())).await;
    let admin = s.admin().await;
    let big = "x".repeat(8192);
    let (status, body) = s
        .call(
            Method::POST,
            "/api/v1/users",
            Some(&admin),
            Some(json!({"name": "big", "password": "long-enough", "title": big})),
        )
        .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(body["error"]["code"], "payload_too_large");
    assert_eq!(
        s.get("/api/v1/users/501", &admin).await.0,
        StatusCode::NOT_FOUND
    );
    // The default limit is 1 MiB.
    assert_eq!(
        sessiond_server::ServerConfig::default().max_body_bytes,
        1024 * 1024
    );
}

#[tokio::test]
async fn unknown_routes_and_methods_answer_json() {
    let dir = TempDir::new().unwrap();
    let s = TestServer::start(&dir).await;
    let (status, body) = s.call(Method::GET, "/api/v1/nope", None, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(message(&body), "no such endpoint: /api/v1/nope");
    let (status, body) = s.call(Method::PUT, "/api/v1/login", None, None).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(body["error"]["code"], "method_not_allowed");
}

#[tokio::test]
async fn health_and_readiness() {
    let dir = TempDir::new().unwrap();
    let s = TestServer::start(&dir).await;
    let (status, body) = s.call(Method::GET, "/healthz", None, None).await;
    assert_eq!(
        (status, body["status"].as_str()),
        (StatusCode::OK, Some("ok"))
    );
    let (status, _) = s.call(Method::GET, "/readyz", None, None).await;
    assert_eq!(status, StatusCode::OK);
    s.store.close().await; // the store goes away
    let (status, body) = s.call(Method::GET, "/readyz", None, None).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body["status"], "store unavailable");
}

#[tokio::test]
async fn everything_survives_a_restart() {
    let dir = TempDir::new().unwrap();
    let clock = Arc::new(ManualClock::starting_now());
    let s = TestServer::start_with(&dir, Options::default(), clock.clone()).await;
    let admin = s.admin().await;
    s.user(&admin, "bob", &["Observers"]).await;
    let (bob, bob_session) = s.login("bob", "bob-password").await;
    let (ended, _) = s.login("bob", "bob-password").await;
    s.call(Method::DELETE, "/api/v1/session", Some(&ended), None)
        .await;
    clock.advance(Duration::minutes(3));
    assert_eq!(s.get("/api/v1/session", &bob).await.0, StatusCode::OK);
    s.stop().await;

    let s = TestServer::start_with(&dir, Options::default(), clock.clone()).await;
    assert!(s.core.cached_tokens() == 0, "a new process starts cold");
    let (status, me) = s.get("/api/v1/session", &bob).await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(me["session"]["id"], bob_session.as_str());
    assert_eq!(me["user"]["roles"], json!(["Observers"]));
    // Activity seen before the stop was flushed on the way down.
    let stored = s.store.get_session(&bob_session).await.unwrap().unwrap();
    assert_eq!(stored.last_active, stored.login_time + Duration::minutes(3));
    assert_eq!(
        s.get("/api/v1/session", &ended).await.0,
        StatusCode::UNAUTHORIZED
    );
    let (_, all) = s.get("/api/v1/sessions?user=bob&state=all", &admin).await;
    assert_eq!(all["sessions"].as_array().unwrap().len(), 2);
    let (_, audit) = s.get("/api/v1/audit?kind=login", &admin).await;
    assert!(audit["events"].as_array().unwrap().len() >= 3);
}

/// `X-Forwarded-For` from a trusted proxy names the client (sessions and audit say so);
/// from any other peer it is ignored.
#[tokio::test]
async fn forwarded_addresses_are_believed_from_trusted_proxies_only() {
    let dir = tempfile::tempdir().unwrap();
    let mut o = common::Options::default();
    o.server.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
    let t = TestServer::start_with(
        &dir,
        o,
        std::sync::Arc::new(sessiond_core::ManualClock::starting_now()),
    )
    .await;
    let login = |client: reqwest::Client| {
        let url = t.url("/api/v1/login");
        async move {
            let resp = client
                .post(url)
                .header("x-forwarded-for", "198.51.100.1, 203.0.113.9")
                .json(&serde_json::json!({"username": "admin", "password": common::ADMIN_PASSWORD}))
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status(), reqwest::StatusCode::OK);
            let body: serde_json::Value = resp.json().await.unwrap();
            body["token"].as_str().unwrap().to_owned()
        }
    };
    // Through the trusted proxy (127.0.0.1): the right-most hop is the client.
    let via_proxy = login(reqwest::Client::new()).await;
    let (_, me) = t.get("/api/v1/session", &via_proxy).await;
    assert_eq!(me["session"]["client_name"], "203.0.113.9");
    // From 127.0.0.2, not trusted: the header is ignored.
    let direct = login(common::client_from("127.0.0.2")).await;
    let (_, me) = t.get("/api/v1/session", &direct).await;
    assert_eq!(me["session"]["client_name"], "127.0.0.2");
    // The audit log says the same.
    let admin = t.admin().await;
    let (_, audit) = t.get("/api/v1/audit?kind=login", &admin).await;
    let clients: Vec<&str> = audit["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["client"].as_str())
        .collect();
    assert!(clients.contains(&"203.0.113.9"), "{audit}");
    assert!(clients.contains(&"127.0.0.2"), "{audit}");
    assert!(!clients.contains(&"198.51.100.1"), "{audit}");
    t.stop().await;
}

/// The OpenAPI document: served without a token, OpenAPI 3.1, and naming every native
/// operation with its security and error envelope.
#[tokio::test]
async fn the_openapi_document_describes_the_native_api() {
    let dir = tempfile::tempdir().unwrap();
    let t = TestServer::start(&dir).await;
    let resp = t
        .http
        .get(t.url("/api/v1/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let doc: Value = resp.json().await.unwrap();
    if let Ok(path) = std::env::var("SESSIOND_WRITE_OPENAPI") {
        std::fs::write(path, serde_json::to_string_pretty(&doc).unwrap()).unwrap();
    }
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3.1"),
        "{}",
        doc["openapi"]
    );
    let paths = doc["paths"].as_object().unwrap();
    for (path, method) in [
        ("/api/v1/login", "post"),
        ("/api/v1/session", "get"),
        ("/api/v1/sessions", "get"),
        ("/api/v1/sessions/{id}", "delete"),
        ("/api/v1/users/{id}", "patch"),
        ("/api/v1/groups/{id}/members/{user}", "put"),
        ("/api/v1/audit", "get"),
        ("/api/v1/apps/{app_id}", "delete"),
    ] {
        let op = &paths[path][method];
        assert!(op.is_object(), "{method} {path} is missing");
        assert!(
            op["responses"]["401"].is_object(),
            "{method} {path}: no 401"
        );
    }
    assert!(paths["/api/v1/login"]["post"]["security"].is_null());
    assert_eq!(
        paths["/api/v1/session"]["get"]["security"][0]["bearer"],
        json!([])
    );
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    for name in ["SessionView", "UserView", "ErrorBody", "LoginRequest"] {
        assert!(schemas.contains_key(name), "schema {name} missing");
    }
    t.stop().await;
}

/// A changed password ends the user's other sessions, a reset by an admin all of them,
/// each with the reason a client of the session would want to show.
#[tokio::test]
async fn a_new_password_ends_sessions_with_its_own_reason() {
    let dir = TempDir::new().unwrap();
    let s = TestServer::start(&dir).await;
    let admin = s.admin().await;
    let bob_id = s.user(&admin, "bob", &[]).await;
    let (bob, _) = s.login("bob", "bob-password").await;
    let (_, other) = s.login("bob", "bob-password").await;
    let (status, body) = s
        .call(
            Method::POST,
            "/api/v1/session/password",
            Some(&bob),
            Some(json!({"old_password": "bob-password", "new_password": "a-new-password-1"})),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    assert_eq!(
        s.get("/api/v1/session", &bob).await.0,
        StatusCode::OK,
        "this one stays"
    );
    let (_, ended) = s.get(&format!("/api/v1/sessions/{other}"), &admin).await;
    assert_eq!(ended["end_reason"], "password_changed", "{ended}");

    let (status, _) = s
        .call(
            Method::PATCH,
            &format!("/api/v1/users/{bob_id}"),
            Some(&admin),
            Some(json!({"password": "reset-password-2"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        s.get("/api/v1/session", &bob).await.0,
        StatusCode::UNAUTHORIZED
    );
    let (_, mine) = s.get("/api/v1/sessions?user=bob&state=ended", &admin).await;
    let reasons: Vec<&str> = mine["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["end_reason"].as_str().unwrap())
        .collect();
    assert_eq!(reasons, ["password_changed", "password_changed"], "{mine}");
}
