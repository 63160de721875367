//! What the hot cache's memory and speed rely on: every cached session of a user shares one
//! copy of the user and of its privilege set, and a change to the user or to a role reaches
//! every one of them at once.

mod common;

use std::sync::Arc;

use common::TestServer;
use reqwest::{Method, StatusCode};
use serde_json::json;
use sessiond_core::{Principal, Privilege};
use tempfile::TempDir;

async fn principals(s: &TestServer, tokens: &[String]) -> Vec<Principal> {
    let mut out = vec![];
    for t in tokens {
        out.push(s.core.authenticate(t).await.unwrap());
    }
    out
}

fn all_share(ps: &[Principal]) {
    for p in &ps[1..] {
        assert!(Arc::ptr_eq(&p.user, &ps[0].user), "one user record");
        assert!(
            Arc::ptr_eq(p.grants(), ps[0].grants()),
            "one privilege set (and one rendering of its names)"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_session_of_a_user_shares_one_user_and_one_privilege_set() {
    let dir = TempDir::new().unwrap();
    let s = TestServer::start(&dir).await;
    let admin = s.admin().await;
    let bob = s.user(&admin, "bob", &["Observers"]).await;
    let mut tokens = vec![];
    for _ in 0..8 {
        tokens.push(s.login("bob", "bob-password").await.0);
    }
    let before = principals(&s, &tokens).await;
    all_share(&before);
    assert!(!before[0].has(Privilege::LOCAL_USER_WRITE));
    assert!(
        before[0].user.password_hash.is_none(),
        "the cache keeps no password hash"
    );

    // A session loaded from the store after a restart of the cache shares it too.
    s.core
        .apply_change(sessiond_core::store::Change::Lost)
        .await;
    let reloaded = principals(&s, &tokens).await;
    all_share(&reloaded);

    // So do sessions whose loads ran at once (each read the user before any was cached).
    s.core
        .apply_change(sessiond_core::store::Change::Lost)
        .await;
    let mut loads = tokio::task::JoinSet::new();
    for t in tokens.clone() {
        let core = Arc::clone(&s.core);
        loads.spawn(async move { core.authenticate(&t).await.unwrap() });
    }
    let at_once: Vec<Principal> = loads.join_all().await;
    all_share(&at_once);
    assert!(at_once[0].user.password_hash.is_none());

    // A role change reaches every session at once, and they share the new set.
    let (status, _) = s
        .call(
            Method::PUT,
            &format!("/api/v1/users/{bob}/roles"),
            Some(&admin),
            Some(json!(["Administrators"])),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let after = principals(&s, &tokens).await;
    all_share(&after);
    assert!(after.iter().all(|p| p.has(Privilege::LOCAL_USER_WRITE)));
    assert!(!Arc::ptr_eq(after[0].grants(), before[0].grants()));
    assert!(after[0]
        .grants()
        .privilege_names_json()
        .get()
        .contains("PRIVILEGE_LOCAL_USER_WRITE"));
    assert!(!before[0]
        .grants()
        .privilege_names_json()
        .get()
        .contains("PRIVILEGE_LOCAL_USER_WRITE"));

    // Who-am-i shows it on every session: the user it renders once per user is redone.
    for t in &tokens {
        let (_, me) = s.get("/api/v1/session", t).await;
        assert_eq!(me["user"]["roles"], json!(["Administrators"]), "{me}");
    }

    // So does a change to the user, and a login after it joins the same copy.
    let (status, _) = s
        .call(
            Method::PATCH,
            &format!("/api/v1/users/{bob}"),
            Some(&admin),
            Some(json!({"display_name": "Robert"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    tokens.push(s.login("bob", "bob-password").await.0);
    let changed = principals(&s, &tokens).await;
    all_share(&changed);
    assert!(changed
        .iter()
        .all(|p| p.user.profile.display_name.as_deref() == Some("Robert")));
    for t in &tokens {
        let (_, me) = s.get("/api/v1/session", t).await;
        assert_eq!(me["user"]["display_name"], "Robert", "{me}");
    }

    // Another user has a copy of their own.
    let other = principals(&s, &[admin]).await;
    assert!(!Arc::ptr_eq(&other[0].user, &changed[0].user));
}

#[tokio::test]
async fn a_warm_up_loads_every_live_token_once_and_shares_one_user_per_user() {
    let dir = TempDir::new().unwrap();
    let s = TestServer::start(&dir).await;
    let admin = s.admin().await;
    s.user(&admin, "bob", &["Observers"]).await;
    let mut bobs = vec![];
    for _ in 0..3 {
        bobs.push(s.login("bob", "bob-password").await.0);
    }
    let (ended, _) = s.login("bob", "bob-password").await;
    let (status, _) = s
        .call(Method::DELETE, "/api/v1/session", Some(&ended), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    // A session a file server reported has no token anyone presents.
    let (status, _) = s
        .call(
            Method::POST,
            "/api/v1/servers/FS01/sessions",
            Some(&admin),
            Some(json!({"client_name": "WS1", "username": "bob"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);

    // As after a restart: nothing cached.
    s.core
        .apply_change(sessiond_core::store::Change::Lost)
        .await;
    assert_eq!(s.core.cached_tokens(), 0);
    let report = s.core.warm_cache().await.unwrap();
    assert_eq!(
        report.added, 4,
        "the admin's session and bob's three live ones"
    );
    assert!(!report.full && !report.overtaken);
    assert_eq!(s.core.cached_tokens(), 4);

    // Every one answers from memory (nothing more is loaded), sharing bob's one copy.
    let warmed = principals(&s, &bobs).await;
    all_share(&warmed);
    assert_eq!(s.core.cached_tokens(), 4);
    // The ended session stays ended.
    assert_eq!(
        s.get("/api/v1/session", &ended).await.0,
        StatusCode::UNAUTHORIZED
    );
    // A second warm-up finds them all there and changes nothing.
    assert_eq!(s.core.warm_cache().await.unwrap().added, 0);
    let again = principals(&s, &bobs).await;
    assert!(Arc::ptr_eq(again[0].grants(), warmed[0].grants()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn misses_arriving_together_each_get_their_own_answer() {
    use sessiond_core::{AuthFailure, CoreError};
    let dir = TempDir::new().unwrap();
    let s = TestServer::start(&dir).await;
    let admin = s.admin().await;
    s.user(&admin, "bob", &["Observers"]).await;
    s.user(&admin, "carol", &["Observers"]).await;
    let mut asks: Vec<(String, Option<&str>)> = vec![];
    for _ in 0..8 {
        asks.push((s.login("bob", "bob-password").await.0, Some("bob")));
        asks.push((s.login("carol", "carol-password").await.0, Some("carol")));
    }
    let (ended, _) = s.login("bob", "bob-password").await;
    let (status, _) = s
        .call(Method::DELETE, "/api/v1/session", Some(&ended), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    for i in 0..8 {
        asks.push((format!("not-a-token-{i}"), None));
    }
    // Nothing cached: every one of them is a miss, all at once.
    s.core
        .apply_change(sessiond_core::store::Change::Lost)
        .await;
    let mut tasks = vec![];
    for (token, _) in asks.iter().cloned().chain([(ended.clone(), None)]) {
        let core = Arc::clone(&s.core);
        tasks.push(tokio::spawn(async move { core.authenticate(&token).await }));
    }
    let mut answers = vec![];
    for t in tasks {
        answers.push(t.await.unwrap());
    }
    for ((_, who), answer) in asks.iter().zip(&answers) {
        match (who, answer) {
            (Some(name), Ok(p)) => assert_eq!(p.user.name, *name),
            (None, Err(CoreError::Unauthenticated(AuthFailure::InvalidToken))) => {}
            (who, answer) => panic!("{who:?} got {:?}", answer.as_ref().map(|p| &p.user.name)),
        }
    }
    assert!(matches!(
        answers.last().unwrap(),
        Err(CoreError::Unauthenticated(AuthFailure::SessionEnded))
    ));
    assert_eq!(s.core.cached_tokens(), 16);
}
