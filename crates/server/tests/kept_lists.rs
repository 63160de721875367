//! Session lists and user names are kept in memory between changes (`sessiond_core::lists`),
//! which is what makes Commvault's `Session?userId` and NetSession's Enum fast. What that
//! relies on: every kind of change shows in the very next list.

mod common;

use std::sync::Arc;

use common::{Options, TestServer};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use sessiond_core::ManualClock;
use tempfile::TempDir;

async fn active_ids(s: &TestServer, admin: &str) -> Vec<String> {
    let (status, list) = s.get("/api/v1/sessions?user=bob", admin).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    let mut ids: Vec<String> = list["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["id"].as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    ids
}

async fn on_fs1(s: &TestServer, admin: &str) -> Vec<Value> {
    let (status, body) = s
        .get("/api/v1/net/sessions?server=FS1&level=10", admin)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["entries"].as_array().cloned().unwrap_or_default()
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

#[tokio::test]
async fn every_change_shows_in_the_next_list() {
    let dir = TempDir::new().unwrap();
    let clock = Arc::new(ManualClock::starting_now());
    let s = TestServer::start_with(&dir, Options::default(), clock.clone()).await;
    let admin = s.admin().await;
    let bob = s.user(&admin, "bob", &[]).await;
    assert!(active_ids(&s, &admin).await.is_empty());

    // Logins.
    let (_, one) = s.login("bob", "bob-password").await;
    assert_eq!(active_ids(&s, &admin).await, vec![one.clone()]);
    let (two_token, two) = s.login("bob", "bob-password").await;
    assert_eq!(
        active_ids(&s, &admin).await,
        sorted(vec![one.clone(), two.clone()])
    );

    // A logout, then a revocation by id.
    let (status, _) = s
        .call(Method::DELETE, "/api/v1/session", Some(&two_token), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(active_ids(&s, &admin).await, vec![one.clone()]);
    let (status, _) = s
        .call(
            Method::DELETE,
            &format!("/api/v1/sessions/{one}"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(active_ids(&s, &admin).await.is_empty());

    // Activity shows in a kept list at once (from the hot cache), before any flush.
    let (fresh, fresh_id) = s.login("bob", "bob-password").await;
    let listed_idle = || async {
        let (_, list) = s.get("/api/v1/sessions?user=bob", &admin).await;
        list["sessions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["id"] == fresh_id.as_str())
            .map(|x| x["idle_seconds"].as_i64().unwrap())
    };
    let bob_idle = || async {
        let (status, body) = s
            .get("/api/v1/net/sessions?server=testhost&level=10", &admin)
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["entries"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["sesi10_username"] == "bob")
            .map(|e| e["sesi10_idle_time"].as_i64().unwrap())
    };
    clock.advance(time::Duration::minutes(2));
    assert_eq!(bob_idle().await, Some(120));
    assert_eq!(listed_idle().await, Some(120));
    assert_eq!(s.get("/api/v1/session", &fresh).await.0, StatusCode::OK);
    assert_eq!(bob_idle().await, Some(0));
    assert_eq!(listed_idle().await, Some(0));
    let (status, _) = s
        .call(Method::DELETE, "/api/v1/session", Some(&fresh), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(bob_idle().await, None);

    // A session a file server reports, a change to it, and a rename of its user.
    let (status, reported) = s
        .call(
            Method::POST,
            "/api/v1/servers/FS1/sessions",
            Some(&admin),
            Some(json!({"client_name": "WS01", "username": "bob", "num_opens": 1})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{reported}");
    let listed = on_fs1(&s, &admin).await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["sesi10_username"], "bob");
    clock.advance(time::Duration::minutes(3));
    assert_eq!(on_fs1(&s, &admin).await[0]["sesi10_idle_time"], 180);
    let (status, _) = s
        .call(
            Method::PATCH,
            &format!(
                "/api/v1/servers/FS1/sessions/{}",
                reported["id"].as_str().unwrap()
            ),
            Some(&admin),
            Some(json!({"num_opens": 2})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(on_fs1(&s, &admin).await[0]["sesi10_idle_time"], 0);
    let (status, _) = s
        .call(
            Method::PATCH,
            &format!("/api/v1/users/{bob}"),
            Some(&admin),
            Some(json!({"name": "robert"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(on_fs1(&s, &admin).await[0]["sesi10_username"], "robert");
    let (status, _) = s
        .call(
            Method::PATCH,
            &format!("/api/v1/users/{bob}"),
            Some(&admin),
            Some(json!({"name": "bob"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);

    // Sessions the sweeper ends for idleness.
    let (_, three) = s.login("bob", "bob-password").await;
    assert!(active_ids(&s, &admin).await.contains(&three));
    clock.advance(time::Duration::hours(1));
    let report = s.core.sweep().await.unwrap();
    assert!(report.ended >= 2, "{report:?}");
    let admin = s.admin().await; // the sweep ended the old one too
                                 // The reported session is the file server's to end.
    let reported = reported["id"].as_str().unwrap().to_owned();
    assert_eq!(active_ids(&s, &admin).await, vec![reported.clone()]);
    let (status, _) = s
        .call(
            Method::DELETE,
            &format!("/api/v1/servers/FS1/sessions/{reported}"),
            Some(&admin),
            None,
        )
        .await;
    assert!(status.is_success(), "{status}");
    assert!(active_ids(&s, &admin).await.is_empty());
    assert!(on_fs1(&s, &admin).await.is_empty());
}
