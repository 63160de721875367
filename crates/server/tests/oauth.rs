//! RFC 7662 introspection and RFC 7009 revocation, as a resource server calls them.

mod common;

use base64::Engine as _;
use common::{Options, TestServer};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use sessiond_core::ManualClock;
use std::sync::Arc;
use tempfile::TempDir;

/// A form POST to `path` with the caller's Bearer token; the status, the body as JSON (or
/// `Null` when empty), and the response headers.
async fn form(
    s: &TestServer,
    path: &str,
    caller: Option<&str>,
    body: &str,
) -> (StatusCode, Value, reqwest::header::HeaderMap) {
    let mut req = s
        .http
        .post(s.url(path))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body.to_owned());
    if let Some(t) = caller {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await.unwrap();
    let (status, headers) = (resp.status(), resp.headers().clone());
    let text = resp.text().await.unwrap();
    let value = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"))
    };
    (status, value, headers)
}

async fn introspect(s: &TestServer, caller: &str, token: &str) -> Value {
    let body = format!("token={}&token_type_hint=access_token", urlencode(token));
    let (status, v, headers) = form(s, "/api/v1/introspect", Some(caller), &body).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(headers["cache-control"], "no-store");
    v
}

fn urlencode(t: &str) -> String {
    t.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A user holding the resource servers' privilege, and their token.
async fn resource_server(s: &TestServer, admin: &str) -> String {
    s.user(admin, "gateway", &["Resource Servers"]).await;
    s.login("gateway", "gateway-password").await.0
}

/// A Qumulo access token for `user`, made by `admin`: (its id, the bearer string).
async fn access_token(s: &TestServer, admin: &str, user: &str) -> (String, String) {
    let (status, t) = s
        .call(
            Method::POST,
            "/v1/auth/access-tokens/",
            Some(admin),
            Some(json!({"user": {"name": user}})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{t}");
    let text = |k: &str| t[k].as_str().unwrap().to_owned();
    (text("id"), text("bearer_token"))
}

async fn commvault_login(s: &TestServer, user: &str, pw: &str) -> String {
    let resp = s
        .http
        .post(s.url("/webconsole/api/Login"))
        .header("accept", "application/json")
        .json(&json!({
            "mode": 4, "username": user,
            "password": base64::engine::general_purpose::STANDARD.encode(pw),
        }))
        .send()
        .await
        .unwrap();
    let body: Value = resp.json().await.unwrap();
    // Commvault clients send it back as it came: `QSDK <token>`.
    body["token"].as_str().unwrap().to_owned()
}

/// A PAM client with Basic gets a session cookie; its value is the session's token.
async fn pam_login(s: &TestServer, user: &str, pw: &str) -> String {
    let resp = s
        .http
        .get(s.url("/api/session/sessioninfo"))
        .basic_auth(user, Some(pw))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let cookie = resp.headers()["set-cookie"].to_str().unwrap().to_owned();
    let pair = cookie.split(';').next().unwrap();
    pair.split_once('=').unwrap().1.to_owned()
}

async fn server(dir: &TempDir) -> TestServer {
    let mut o = Options::default();
    o.server.pam.basic = true;
    TestServer::start_with(dir, o, Arc::new(ManualClock::starting_now())).await
}

#[tokio::test]
async fn an_active_token_of_each_dialect_is_described_and_nothing_else_is() {
    let dir = TempDir::new().unwrap();
    let s = server(&dir).await;
    let admin = s.admin().await;
    let rs = resource_server(&s, &admin).await;
    let bob_id = s.user(&admin, "bob", &["Observers", "PAM Users"]).await;

    let (native, native_sid) = s.login("bob", "bob-password").await;
    let v = introspect(&s, &rs, &native).await;
    assert_eq!(v["active"], true);
    assert_eq!(v["sub"], bob_id.to_string());
    assert_eq!(v["username"], "bob");
    assert_eq!(v["sid"], native_sid);
    assert_eq!(v["token_type"], "Bearer");
    let scope = v["scope"].as_str().unwrap();
    assert!(
        scope.split(' ').any(|p| p == "PRIVILEGE_SESSION_READ"),
        "{scope}"
    );
    assert!(
        !scope.split(' ').any(|p| p == "PRIVILEGE_SESSION_WRITE"),
        "{scope}"
    );
    let (iat, exp) = (v["iat"].as_i64().unwrap(), v["exp"].as_i64().unwrap());
    assert_eq!(exp - iat, 8 * 3600, "the default lifetime");
    assert!(v["client_id"].is_string());

    let qumulo = s.qumulo_login("bob", "bob-password").await;
    let commvault = commvault_login(&s, "bob", "bob-password").await;
    let pam = pam_login(&s, "bob", "bob-password").await;
    for (dialect, token) in [
        ("qumulo", qumulo.clone()),
        ("commvault", commvault.clone()),
        (
            "commvault without its QSDK prefix",
            commvault.trim_start_matches("QSDK ").to_owned(),
        ),
        ("pam", pam),
    ] {
        let v = introspect(&s, &rs, &token).await;
        assert_eq!(v["active"], true, "{dialect}: {v}");
        assert_eq!(v["username"], "bob", "{dialect}");
        assert!(v["sid"].is_string(), "{dialect}");
        assert_ne!(v["sid"], native_sid, "{dialect}: a session of its own");
    }

    // An access token: no session, no client.
    let (_, access) = access_token(&s, &admin, "bob").await;
    let v = introspect(&s, &rs, &access).await;
    assert_eq!(v["active"], true, "{v}");
    assert_eq!(v["username"], "bob");
    assert!(v.get("sid").is_none() && v.get("exp").is_none(), "{v}");

    // Introspection is not the holder's activity: asked about after 20 minutes, the
    // session still goes idle 30 minutes after its last use.
    s.clock.advance(time::Duration::minutes(20));
    assert_eq!(introspect(&s, &rs, &native).await["active"], true);
    s.clock.advance(time::Duration::minutes(11));
    assert_eq!(introspect(&s, &rs, &native).await, json!({"active": false}));

    // Ended, unknown and malformed tokens: `{"active": false}` and nothing else.
    let (status, _, _) = form(
        &s,
        "/api/v1/revoke",
        Some(&rs),
        &format!("token={}", urlencode(&qumulo)),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    for token in [
        qumulo.as_str(),
        "no-such-token",
        "",
        "\u{0}\u{1b}[31m",
        &"x".repeat(5000),
    ] {
        let v = introspect(&s, &rs, token).await;
        assert_eq!(v, json!({"active": false}), "{token:?}");
    }
    s.stop().await;
}

#[tokio::test]
async fn callers_without_the_privilege_or_a_token_are_refused_in_oauths_shape() {
    let dir = TempDir::new().unwrap();
    let s = server(&dir).await;
    let admin = s.admin().await;
    s.user(&admin, "bob", &["Observers"]).await;
    let (bob, _) = s.login("bob", "bob-password").await;
    for path in ["/api/v1/introspect", "/api/v1/revoke"] {
        let body = format!("token={}", urlencode(&bob));
        let (status, v, h) = form(&s, path, None, &body).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{path}");
        assert_eq!(v["error"], "invalid_token", "{path}: {v}");
        assert!(h["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Bearer"));
        let (status, v, _) = form(&s, path, Some("forged"), &body).await;
        assert_eq!(
            (status, v["error"].as_str()),
            (StatusCode::UNAUTHORIZED, Some("invalid_token"))
        );

        // Bob may not ask about tokens, not even his own: nothing about the token is told.
        let (status, v, h) = form(&s, path, Some(&bob), &body).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}");
        assert_eq!(v["error"], "insufficient_scope");
        assert!(h["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("scope=\"PRIVILEGE_TOKEN_INTROSPECT\""));
        assert_eq!(
            v.as_object().unwrap().len(),
            2,
            "error and error_description: {v}"
        );

        // Malformed requests from a caller who may: invalid_request.
        let (status, v, _) = form(&s, path, Some(&admin), "token_type_hint=access_token").await;
        assert_eq!(
            (status, v["error"].as_str()),
            (StatusCode::BAD_REQUEST, Some("invalid_request")),
            "{v}"
        );
        let (status, v, _) = form(&s, path, Some(&admin), "token=a&token=b").await;
        assert_eq!(
            (status, v["error"].as_str()),
            (StatusCode::BAD_REQUEST, Some("invalid_request")),
            "{v}"
        );
        let resp = s
            .http
            .post(s.url(path))
            .bearer_auth(&admin)
            .json(&json!({"token": bob}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
        let v: Value = resp.json().await.unwrap();
        assert_eq!(v["error"], "invalid_request");
        let resp = s
            .http
            .get(s.url(path))
            .bearer_auth(&admin)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::METHOD_NOT_ALLOWED);
        let v: Value = resp.json().await.unwrap();
        assert_eq!(v["error"], "invalid_request");
    }
    // Bob's session was neither ended nor told about.
    let (status, _) = s.get("/api/v1/session", &bob).await;
    assert_eq!(status, StatusCode::OK);
    s.stop().await;
}

#[tokio::test]
async fn revocation_ends_the_session_or_deletes_the_access_token_and_is_audited() {
    let dir = TempDir::new().unwrap();
    let s = server(&dir).await;
    let admin = s.admin().await;
    let rs = resource_server(&s, &admin).await;
    s.user(&admin, "bob", &[]).await;
    let (bob, sid) = s.login("bob", "bob-password").await;
    let revoke = |token: String| {
        let (s, rs) = (&s, &rs);
        async move {
            let (status, v, h) = form(
                s,
                "/api/v1/revoke",
                Some(rs),
                &format!("token={}", urlencode(&token)),
            )
            .await;
            assert_eq!(status, StatusCode::OK, "{v}");
            assert_eq!(v, Value::Null, "an empty body");
            assert_eq!(h["cache-control"], "no-store");
        }
    };
    revoke(bob.clone()).await;
    let (status, _) = s.get("/api/v1/session", &bob).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (_, session) = s.get(&format!("/api/v1/sessions/{sid}"), &admin).await;
    assert_eq!(session["state"], "ended");
    assert_eq!(session["end_reason"], "revoked");
    let (_, audit) = s.get("/api/v1/audit?kind=revoke", &admin).await;
    let events = audit["events"].as_array().unwrap();
    assert!(
        events
            .iter()
            .any(|e| e["session_id"] == sid.as_str() || e["subject"] == sid.as_str()),
        "{audit}"
    );
    // Again, and tokens that never were: 200 all the same.
    revoke(bob.clone()).await;
    revoke("no-such-token".into()).await;

    let (id, access) = access_token(&s, &admin, "bob").await;
    let (status, _) = s.get("/api/v1/session", &access).await;
    assert_eq!(status, StatusCode::OK);
    revoke(access.clone()).await;
    let (status, _) = s.get("/api/v1/session", &access).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = s.get(&format!("/v1/auth/access-tokens/{id}"), &admin).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    s.stop().await;
}
