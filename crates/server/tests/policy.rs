//! Session policy: per-role idle time-outs and lifetimes (the strictest role wins, else the
//! server's), caps on concurrent sessions (refuse or end the oldest), and the admins' tools
//! over one user's sessions. Time is the manual clock's.

mod common;

use std::sync::Arc;

use common::{message, Options, TestServer};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use sessiond_core::service::SessionLimitAction;
use sessiond_core::ManualClock;
use tempfile::TempDir;
use time::Duration;

async fn start(dir: &TempDir, opts: Options) -> TestServer {
    TestServer::start_with(dir, opts, Arc::new(ManualClock::starting_now())).await
}

async fn set_policy(s: &TestServer, admin: &str, role: &str, policy: Value) -> Value {
    let (status, body) = s
        .call(
            Method::PUT,
            &format!("/api/v1/roles/{role}/policy"),
            Some(admin),
            Some(policy),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

/// Asks who-am-i every `step` for `total`, as a client in use does.
async fn keep_using(s: &TestServer, token: &str, total: Duration, step: Duration) -> StatusCode {
    let mut passed = Duration::ZERO;
    while passed < total {
        s.clock.advance(step);
        passed += step;
        let status = s.get("/api/v1/session", token).await.0;
        if status != StatusCode::OK {
            return status;
        }
    }
    StatusCode::OK
}

#[tokio::test]
async fn a_roles_idle_time_out_and_lifetime_apply_and_the_strictest_role_wins() {
    let dir = TempDir::new().unwrap();
    let s = start(&dir, Options::default()).await;
    let admin = s.admin().await;
    let role = set_policy(
        &s,
        &admin,
        "Observers",
        json!({"idle_timeout_seconds": 300, "session_lifetime_seconds": 3600}),
    )
    .await;
    assert_eq!(
        role["policy"],
        json!({"idle_timeout_seconds": 300, "session_lifetime_seconds": 3600, "max_sessions": null})
    );
    set_policy(
        &s,
        &admin,
        "PAM Users",
        json!({"idle_timeout_seconds": 600}),
    )
    .await;
    s.user(&admin, "bob", &["Observers", "PAM Users"]).await;
    s.user(&admin, "carol", &["PAM Users"]).await;
    s.user(&admin, "dave", &[]).await;

    // Bob: the shorter idle of his two roles (5 minutes) and Observers' lifetime.
    let (bob, bob_sid) = s.login("bob", "bob-password").await;
    let (_, me) = s.get("/api/v1/session", &bob).await;
    let login = time::OffsetDateTime::parse(
        me["session"]["login_time"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    let expires = time::OffsetDateTime::parse(
        me["session"]["expires_at"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    assert_eq!(expires - login, Duration::hours(1));
    let (carol, _) = s.login("carol", "carol-password").await;
    let (dave, _) = s.login("dave", "dave-password").await;
    s.clock.advance(Duration::minutes(6));
    let (status, body) = s.get("/api/v1/session", &bob).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(
        message(&body),
        "the session was closed after being idle too long"
    );
    assert_eq!(
        s.get("/api/v1/session", &carol).await.0,
        StatusCode::OK,
        "10 minutes for carol"
    );
    assert_eq!(
        s.get("/api/v1/session", &dave).await.0,
        StatusCode::OK,
        "the server's 30"
    );
    let ended = s.store.get_session(&bob_sid).await.unwrap().unwrap();
    assert_eq!(ended.end_reason.unwrap().as_str(), "idle");

    // In use every 4 minutes, bob's next session still ends after an hour.
    let (bob, _) = s.login("bob", "bob-password").await;
    let status = keep_using(&s, &bob, Duration::minutes(64), Duration::minutes(4)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "past Observers' lifetime");
    // Dave, used meanwhile by no one, is ended by the server's idle time-out in the sweep;
    // a session opened under a role's time-out is swept by its own.
    let (carol2, carol2_sid) = s.login("carol", "carol-password").await;
    s.clock.advance(Duration::minutes(11));
    s.core.sweep().await.unwrap();
    let swept = s.store.get_session(&carol2_sid).await.unwrap().unwrap();
    assert_eq!(
        swept.end_reason.map(|r| r.as_str()),
        Some("idle"),
        "swept after 10 minutes"
    );
    assert_eq!(
        s.get("/api/v1/session", &carol2).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        s.get("/api/v1/session", &dave).await.0,
        StatusCode::UNAUTHORIZED
    );

    // The policy shows on the role, survives a restart of the store's reader, and clears.
    let (_, shown) = s.get("/api/v1/roles/Observers", &s.admin().await).await;
    assert_eq!(shown["policy"]["idle_timeout_seconds"], 300);
    let admin = s.admin().await;
    let cleared = set_policy(&s, &admin, "Observers", json!({})).await;
    assert_eq!(
        cleared["policy"],
        json!({"idle_timeout_seconds": null, "session_lifetime_seconds": null, "max_sessions": null})
    );
    // Bad values: 400 in the native shape, nothing stored.
    for bad in [
        json!({"idle_timeout_seconds": 0}),
        json!({"session_lifetime_seconds": -5}),
        json!({"max_sessions": 0}),
        json!({"idle_timeout_seconds": 99999999999i64}),
        json!({"lifetime": 5}),
    ] {
        let (status, body) = s
            .call(
                Method::PUT,
                "/api/v1/roles/PAM%20Users/policy",
                Some(&admin),
                Some(bad.clone()),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
    }
    let (_, pam) = s.get("/api/v1/roles/PAM%20Users", &admin).await;
    assert_eq!(pam["policy"]["idle_timeout_seconds"], 600);
    let (status, _) = s
        .call(
            Method::PUT,
            "/api/v1/roles/Nobody/policy",
            Some(&admin),
            Some(json!({})),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (bob, _) = s.login("bob", "bob-password").await;
    let (status, _) = s
        .call(
            Method::PUT,
            "/api/v1/roles/Observers/policy",
            Some(&bob),
            Some(json!({})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    s.stop().await;
}

#[tokio::test]
async fn past_the_cap_a_login_is_refused_in_each_dialects_shape() {
    let dir = TempDir::new().unwrap();
    let mut opts = Options::default();
    opts.core.max_sessions_per_user = Some(2);
    let s = start(&dir, opts).await;
    let admin = s.admin().await;
    s.user(&admin, "bob", &[]).await;
    let (first, _) = s.login("bob", "bob-password").await;
    s.login("bob", "bob-password").await;
    let (status, body) = s.try_login("bob", "bob-password").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["error"]["code"], "forbidden");
    assert!(message(&body).contains("2 open sessions"), "{body}");
    let (status, body) = s
        .call(
            Method::POST,
            "/v1/session/login",
            None,
            Some(json!({"username": "bob", "password": "bob-password"})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(
        body["description"]
            .as_str()
            .unwrap()
            .contains("open sessions"),
        "Qumulo's shape: {body}"
    );
    // A wrong password past the cap is still just a wrong password.
    let (status, _) = s.try_login("bob", "nope").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // One logged out: room again. The refusals were audited.
    s.call(Method::DELETE, "/api/v1/session", Some(&first), None)
        .await;
    s.login("bob", "bob-password").await;
    let (_, audit) = s.get("/api/v1/audit?kind=login_failed", &admin).await;
    let refusals = audit["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["detail"].as_str().unwrap_or("").contains("session limit"))
        .count();
    assert_eq!(refusals, 2, "{audit}");
    s.stop().await;
}

#[tokio::test]
async fn past_a_roles_cap_the_oldest_session_ends_when_so_configured() {
    let dir = TempDir::new().unwrap();
    let mut opts = Options::default();
    opts.core.session_limit = SessionLimitAction::EndOldest;
    let s = start(&dir, opts).await;
    let admin = s.admin().await;
    set_policy(&s, &admin, "Observers", json!({"max_sessions": 2})).await;
    s.user(&admin, "bob", &["Observers"]).await;
    s.user(&admin, "carol", &[]).await;
    let (oldest, oldest_sid) = s.login("bob", "bob-password").await;
    s.clock.advance(Duration::seconds(1));
    let (middle, _) = s.login("bob", "bob-password").await;
    s.clock.advance(Duration::seconds(1));
    let (newest, _) = s.login("bob", "bob-password").await;
    assert_eq!(
        s.get("/api/v1/session", &oldest).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(s.get("/api/v1/session", &middle).await.0, StatusCode::OK);
    assert_eq!(s.get("/api/v1/session", &newest).await.0, StatusCode::OK);
    let (_, ended) = s
        .get(&format!("/api/v1/sessions/{oldest_sid}"), &admin)
        .await;
    assert_eq!(ended["end_reason"], "session_limit", "{ended}");
    // No cap for a user outside the role.
    for _ in 0..4 {
        s.login("carol", "carol-password").await;
    }
    let (_, list) = s.get("/api/v1/sessions?user=carol", &admin).await;
    assert_eq!(list["sessions"].as_array().unwrap().len(), 4);
    s.stop().await;
}

#[tokio::test]
async fn an_admin_ends_every_session_of_a_user_and_moves_one_sessions_end() {
    let dir = TempDir::new().unwrap();
    let s = start(&dir, Options::default()).await;
    let admin = s.admin().await;
    let bob_id = s.user(&admin, "bob", &[]).await;
    s.user(&admin, "carol", &["Observers"]).await;
    let bobs: Vec<String> = futures_tokens(&s, "bob", 3).await;
    let (carol, _) = s.login("carol", "carol-password").await;

    // Carol may read but not end sessions.
    let path = format!("/api/v1/users/{bob_id}/sessions");
    let (status, _) = s.call(Method::DELETE, &path, Some(&carol), None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body) = s.call(Method::DELETE, &path, Some(&admin), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["revoked"].as_array().unwrap().len(), 3);
    for t in &bobs {
        assert_eq!(
            s.get("/api/v1/session", t).await.0,
            StatusCode::UNAUTHORIZED
        );
    }
    let (status, _) = s
        .call(
            Method::DELETE,
            "/api/v1/users/9999/sessions",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // One session's end moved past the server's 8 hours, then before now + 10 minutes.
    let (bob, sid) = s.login("bob", "bob-password").await;
    let later = s.core.now() + Duration::hours(9);
    let fmt = |t: time::OffsetDateTime| {
        t.format(&time::format_description::well_known::Rfc3339)
            .unwrap()
    };
    let (status, body) = s
        .call(
            Method::PATCH,
            &format!("/api/v1/sessions/{sid}"),
            Some(&admin),
            Some(json!({"expires_at": fmt(later)})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["expires_at"], fmt(later));
    let status = keep_using(
        &s,
        &bob,
        Duration::hours(8) + Duration::minutes(30),
        Duration::minutes(20),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "alive past the server's lifetime");
    let admin = s.admin().await; // the earlier one idled out meanwhile
    let soon = s.core.now() + Duration::minutes(10);
    let (status, _) = s
        .call(
            Method::PATCH,
            &format!("/api/v1/sessions/{sid}"),
            Some(&admin),
            Some(json!({"expires_at": fmt(soon)})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    s.clock.advance(Duration::minutes(11));
    assert_eq!(
        s.get("/api/v1/session", &bob).await.0,
        StatusCode::UNAUTHORIZED
    );
    // Refusals: in the past, too far, an ended session, no privilege.
    let (bob, sid) = s.login("bob", "bob-password").await;
    for (when, expected) in [
        (s.core.now() - Duration::minutes(1), StatusCode::BAD_REQUEST),
        (s.core.now() + Duration::days(400), StatusCode::BAD_REQUEST),
    ] {
        let (status, _) = s
            .call(
                Method::PATCH,
                &format!("/api/v1/sessions/{sid}"),
                Some(&admin),
                Some(json!({"expires_at": fmt(when)})),
            )
            .await;
        assert_eq!(status, expected);
    }
    let (status, _) = s
        .call(
            Method::PATCH,
            &format!("/api/v1/sessions/{sid}"),
            Some(&bob),
            Some(json!({"expires_at": null})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "not even one's own");
    s.stop().await;
}

async fn futures_tokens(s: &TestServer, user: &str, n: usize) -> Vec<String> {
    let mut out = vec![];
    for _ in 0..n {
        out.push(s.login(user, &format!("{user}-password")).await.0);
    }
    out
}
