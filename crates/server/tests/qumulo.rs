//! The Qumulo dialect over raw HTTP: exact shapes, statuses and paging, as `qq` needs them.

mod common;

use std::sync::Arc;

use common::{Options, TestServer, ADMIN_PASSWORD};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use sessiond_core::ManualClock;
use tempfile::TempDir;

fn keys(v: &Value) -> Vec<&str> {
    let mut k: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    k.sort();
    k
}

fn assert_qumulo_error(body: &Value, class: &str) {
    assert_eq!(
        keys(body),
        [
            "description",
            "error_class",
            "module",
            "stack",
            "user_visible"
        ],
        "{body}"
    );
    assert_eq!(body["error_class"], class, "{body}");
    assert_eq!(body["module"], "sessiond.qumulo");
    assert_eq!(body["stack"], json!([]));
    assert!(!body["description"].as_str().unwrap().is_empty());
}

#[tokio::test]
async fn who_am_i_has_seed_003_fields_with_string_ids() {
    let dir = TempDir::new().unwrap();
    let s = TestServer::start(&dir).await;
    let token = s.qumulo_login("admin", ADMIN_PASSWORD).await;
    let (status, me) = s.get("/v1/session/who-am-i", &token).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        keys(&me),
        [
            "can_change_password",
            "home_directory",
            "id",
            "name",
            "primary_group",
            "privileges",
            "sid",
            "uid"
        ]
    );
    assert_eq!(me["id"], "500");
    assert_eq!(me["primary_group"], "512");
    assert_eq!(me["uid"], "");
    assert_eq!(me["home_directory"], Value::Null);
    assert!(me["privileges"]
        .as_array()
        .unwrap()
        .iter()
        .all(|p| p.as_str().unwrap().starts_with("PRIVILEGE_")));
    let (status, roles) = s.get("/v1/session/roles", &token).await;
    assert_eq!((status, roles), (StatusCode::OK, json!(["Administrators"])));
    // The same token works in the native API, and a native token here.
    assert_eq!(s.get("/api/v1/session", &token).await.0, StatusCode::OK);
    let native = s.admin().await;
    assert_eq!(s.get("/v1/session/who-am-i", &native).await.1["id"], "500");
}

#[tokio::test]
async fn every_failure_answers_in_qumulos_shape() {
    let dir = TempDir::new().unwrap();
    let mut opts = Options::default();
    opts.server.max_body_bytes = 2048;
    let s = TestServer::start_with(&dir, opts, Arc::new(ManualClock::starting_now())).await;
    let token = s.qumulo_login("admin", ADMIN_PASSWORD).await;

    let (status, body) = s
        .call(Method::GET, "/v1/session/who-am-i", None, None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_qumulo_error(&body, "http_unauthorized_error");
    let (status, body) = s.get("/v1/session/who-am-i", "stale-token").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_qumulo_error(&body, "http_unauthorized_error");
    let (status, body) = s.get("/v1/no/such/thing", &token).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_qumulo_error(&body, "http_not_found_error");
    // Trailing slashes matter, as on Qumulo.
    assert_eq!(s.get("/v1/users", &token).await.0, StatusCode::NOT_FOUND);
    assert_eq!(s.get("/v1/users/", &token).await.0, StatusCode::OK);
    let (status, body) = s
        .call(Method::DELETE, "/v1/session/who-am-i", Some(&token), None)
        .await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_qumulo_error(&body, "http_method_not_allowed_error");

    let raw = |body: &'static str, ctype: &'static str| {
        s.http
            .post(s.url("/v1/session/change-password"))
            .bearer_auth(&token)
            .header("content-type", ctype)
            .body(body)
    };
    for (body, ctype, status, class) in [
        (
            "{bad",
            "application/json",
            StatusCode::BAD_REQUEST,
            "http_bad_request_error",
        ),
        (
            "{}",
            "application/json",
            StatusCode::BAD_REQUEST,
            "http_bad_request_error",
        ),
        (
            "{}",
            "text/plain",
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "http_unsupported_media_type_error",
        ),
    ] {
        let resp = raw(body, ctype).send().await.unwrap();
        assert_eq!(resp.status(), status, "{body}");
        assert_qumulo_error(&resp.json().await.unwrap(), class);
    }
    let big = json!({"old_password": "x".repeat(4096), "new_password": "y"});
    let (status, body) = s
        .call(
            Method::POST,
            "/v1/session/change-password",
            Some(&token),
            Some(big),
        )
        .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_qumulo_error(&body, "http_payload_too_large_error");
}

#[tokio::test]
async fn login_ignores_a_stale_authorization_and_gets_accept_json_on_get() {
    let dir = TempDir::new().unwrap();
    let s = TestServer::start(&dir).await;
    let resp = s
        .http
        .post(s.url("/v1/session/login"))
        .header("authorization", "Bearer 1:dead-token-from-last-week")
        .json(&json!({"username": "admin", "password": ADMIN_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let token = resp.json::<Value>().await.unwrap()["bearer_token"]
        .as_str()
        .unwrap()
        .to_owned();
    // qq sends Content-Type: application/json and Content-Length: 0 on a GET.
    let resp = s
        .http
        .get(s.url("/v1/session/who-am-i"))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .header("content-length", "0")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    // A wrong password is 401 in Qumulo's shape.
    let (status, body) = s
        .call(
            Method::POST,
            "/v1/session/login",
            None,
            Some(json!({"username": "admin", "password": "nope-nope"})),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_qumulo_error(&body, "http_unauthorized_error");
}

#[tokio::test]
async fn an_unprivileged_user_gets_403_not_401() {
    let dir = TempDir::new().unwrap();
    let s = TestServer::start(&dir).await;
    let admin = s.admin().await;
    let bob_id = s.user(&admin, "bob", &[]).await;
    let bob = s.qumulo_login("bob", "bob-password").await;
    assert_eq!(
        s.get("/v1/session/who-am-i", &bob).await.1["privileges"],
        json!([])
    );
    assert_eq!(s.get("/v1/session/roles", &bob).await.1, json!([]));
    for path in [
        format!("/v1/users/{bob_id}/groups/"),
        "/v1/users/".to_owned(),
        "/v1/groups/".to_owned(),
        "/v1/auth/access-tokens/".to_owned(),
    ] {
        let (status, body) = s.get(&path, &bob).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}");
        assert_qumulo_error(&body, "http_forbidden_error");
    }
    let (status, body) = s
        .call(
            Method::POST,
            "/v1/identity/expand",
            Some(&bob),
            Some(json!({"id": {"auth_id": bob_id.to_string()}})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(
        body["description"],
        "Missing privilege PRIVILEGE_IDENTITY_READ"
    );
    // One's own tokens need no privilege; someone else's do.
    let (status, _) = s
        .call(
            Method::POST,
            "/v1/auth/access-tokens/",
            Some(&bob),
            Some(json!({"user": {"name": "bob"}})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = s
        .call(
            Method::POST,
            "/v1/auth/access-tokens/",
            Some(&bob),
            Some(json!({"user": {"auth_id": "500"}})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(
        body["description"],
        "Missing privilege PRIVILEGE_ACCESS_TOKENS_WRITE"
    );
    let (status, page) = s.get("/v1/auth/access-tokens/?user=bob", &bob).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page["entries"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn access_token_pages_carry_the_filter_and_end_with_null() {
    let dir = TempDir::new().unwrap();
    let mut opts = Options::default();
    opts.server.page_size = 2;
    let s = TestServer::start_with(&dir, opts, Arc::new(ManualClock::starting_now())).await;
    let admin = s.qumulo_login("admin", ADMIN_PASSWORD).await;
    let native = s.admin().await;
    s.user(&native, "bob", &[]).await;
    let mut mine = vec![];
    for who in ["admin", "bob", "admin", "admin"] {
        let (status, t) = s
            .call(
                Method::POST,
                "/v1/auth/access-tokens/",
                Some(&admin),
                Some(json!({"user": {"name": who}})),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{t}");
        assert!(t["bearer_token"]
            .as_str()
            .unwrap()
            .starts_with("access-v1:"));
        if who == "admin" {
            mine.push(t["id"].as_str().unwrap().to_owned());
        }
    }
    mine.sort();
    let (status, first) = s
        .get("/v1/auth/access-tokens/?user=auth_id%3A500", &admin)
        .await;
    assert_eq!(status, StatusCode::OK);
    let ids: Vec<&str> = first["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [mine[0].as_str(), mine[1].as_str()]);
    let next = first["paging"]["next"].as_str().unwrap();
    assert_eq!(
        next,
        format!(
            "/v1/auth/access-tokens/?user=auth_id%3A500&after={}&limit=2",
            mine[1]
        )
    );
    let (_, second) = s.get(next, &admin).await;
    let ids: Vec<&str> = second["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [mine[2].as_str()]);
    assert_eq!(second["paging"]["next"], Value::Null);
    let meta = &second["entries"][0];
    assert_eq!(
        keys(meta),
        [
            "creation_time",
            "creator",
            "enabled",
            "expiration_time",
            "id",
            "user"
        ]
    );
    assert_eq!(
        meta["user"],
        json!({"domain": "LOCAL", "auth_id": "500", "uid": null, "gid": null, "sid": "S-1-5-21-1-2-3-500", "name": "admin"})
    );
    assert!(meta["creation_time"].as_str().unwrap().ends_with('Z'));
    // Unfiltered, every user's tokens.
    let (_, all) = s.get("/v1/auth/access-tokens/?limit=10", &admin).await;
    assert_eq!(all["entries"].as_array().unwrap().len(), 4);
}

#[tokio::test]
async fn access_tokens_expire_and_carry_their_id_in_who_am_i() {
    let dir = TempDir::new().unwrap();
    let clock = Arc::new(ManualClock::starting_now());
    let s = TestServer::start_with(&dir, Options::default(), clock.clone()).await;
    let admin = s.qumulo_login("admin", ADMIN_PASSWORD).await;
    let soon = (s.core.now() + time::Duration::hours(1))
        .to_offset(time::UtcOffset::from_hms(2, 0, 0).unwrap())
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let (status, t) = s
        .call(
            Method::POST,
            "/v1/auth/access-tokens/",
            Some(&admin),
            Some(json!({"user": {"auth_id": "500"}, "expiration_time": soon})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{t}");
    let bearer = t["bearer_token"].as_str().unwrap();
    let (status, me) = s.get("/v1/session/who-am-i", bearer).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["access_token_id"], t["id"]);
    // Native who-am-i: no session, the token's id.
    let (_, native) = s.get("/api/v1/session", bearer).await;
    assert_eq!(native["session"], Value::Null);
    assert_eq!(native["access_token_id"], t["id"]);
    clock.advance(time::Duration::minutes(61));
    assert_eq!(
        s.get("/v1/session/who-am-i", bearer).await.0,
        StatusCode::UNAUTHORIZED
    );
    let admin = s.qumulo_login("admin", ADMIN_PASSWORD).await; // the old session went idle
                                                               // Times in the past and malformed times are refused.
    for bad in ["2001-01-01T00:00:00+00:00", "tomorrow"] {
        let (status, body) = s
            .call(
                Method::POST,
                "/v1/auth/access-tokens/",
                Some(&admin),
                Some(json!({"user": {"auth_id": "500"}, "expiration_time": bad})),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
        assert_qumulo_error(&body, "http_bad_request_error");
    }
    // Extending it brings it back.
    let id = t["id"].as_str().unwrap();
    let (status, meta) = s
        .call(
            Method::PATCH,
            &format!("/v1/auth/access-tokens/{id}"),
            Some(&admin),
            Some(json!({"expiration_time": null})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(meta["expiration_time"], Value::Null);
    assert_eq!(
        s.get("/v1/session/who-am-i", bearer).await.0,
        StatusCode::OK
    );
    let (_, audit) = s
        .get("/api/v1/audit?kind=access_token_created", &admin)
        .await;
    assert_eq!(audit["events"].as_array().unwrap().len(), 1);
}
