//! Guessing passwords: throttled per client address and per name, a name locked for
//! everyone only on failures from several addresses, and nothing that tells an attacker
//! whether a name exists. Requests come from different loopback addresses (127.0.0.x) as
//! from different machines; the clock is the test's.

mod common;

use std::sync::Arc;

use common::{client_from, Options, TestServer, ADMIN_PASSWORD};
use reqwest::{Method, StatusCode};
use serde_json::Value;
use sessiond_core::ManualClock;
use tempfile::TempDir;
use time::Duration;

async fn start(dir: &TempDir) -> (TestServer, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::starting_now());
    let s = TestServer::start_with(dir, Options::default(), clock.clone()).await;
    (s, clock)
}

fn message(body: &str) -> String {
    let v: Value = serde_json::from_str(body).unwrap();
    v["error"]["message"].as_str().unwrap_or("").to_owned()
}

#[tokio::test]
async fn one_address_guessing_admin_keeps_the_owner_out_only_briefly() {
    let dir = TempDir::new().unwrap();
    let (s, clock) = start(&dir).await;
    let attacker = client_from("127.0.0.2");
    let owner = client_from("127.0.0.3");
    // Six quick failures from one address...
    for _ in 0..6 {
        let (status, _, _) = s.login_with(&attacker, "admin", "guess").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    // ...make the name wait a second, also for its owner elsewhere; then the owner gets in.
    let (status, _, retry) = s.login_with(&owner, "admin", ADMIN_PASSWORD).await;
    assert_eq!(
        (status, retry.as_deref()),
        (StatusCode::TOO_MANY_REQUESTS, Some("1"))
    );
    clock.advance(Duration::seconds(1));
    let (status, _, _) = s.login_with(&owner, "admin", ADMIN_PASSWORD).await;
    assert_eq!(status, StatusCode::OK);
    // The attacker persists for an hour, trying again each time its wait is over.
    let mut longest_owner_wait = 0;
    let mut owner_logins = 0;
    for _ in 0..40 {
        let (status, body, retry) = s.login_with(&attacker, "admin", "guess").await;
        match status {
            StatusCode::UNAUTHORIZED => {
                assert_eq!(message(&body), "invalid user name or password");
            }
            StatusCode::TOO_MANY_REQUESTS => {
                let wait: i64 = retry.unwrap().parse().unwrap();
                assert!(wait <= 300, "an address waits at most 5 minutes: {wait}");
                clock.advance(Duration::seconds(wait));
            }
            other => panic!("{other}: {body}"),
        }
        // Meanwhile the owner, elsewhere, gets in or is asked to wait a short while.
        let (status, body, retry) = s.login_with(&owner, "admin", ADMIN_PASSWORD).await;
        match status {
            StatusCode::OK => owner_logins += 1,
            StatusCode::TOO_MANY_REQUESTS => {
                longest_owner_wait = longest_owner_wait.max(retry.unwrap().parse::<i64>().unwrap());
            }
            other => panic!("the owner got {other}: {body}"),
        }
    }
    assert!(
        longest_owner_wait <= 30,
        "the name waits briefly, if at all: {longest_owner_wait}"
    );
    assert!(
        owner_logins >= 20,
        "the owner got in {owner_logins} times of 40"
    );
    let admin = s.admin().await;
    let (_, locks) = s.get("/api/v1/lockouts", &admin).await;
    assert_eq!(
        locks["lockouts"],
        serde_json::json!([]),
        "one address locks nothing"
    );
}

#[tokio::test]
async fn a_name_that_does_not_exist_gets_the_same_answers_as_one_that_does() {
    let dir = TempDir::new().unwrap();
    let (s, _clock) = start(&dir).await;
    let admin = s.admin().await;
    s.user(&admin, "bob", &[]).await;
    // From one address each, then from three: throttled, then locked, alike.
    let bob_from = ["127.0.0.2", "127.0.0.3", "127.0.0.4"].map(client_from);
    let ghost_from = ["127.0.0.5", "127.0.0.6", "127.0.0.7"].map(client_from);
    let mut seen = vec![];
    for i in 0..9 {
        let a = s
            .login_with(&bob_from[i % 3], "bob", "wrong-password")
            .await;
        let b = s
            .login_with(&ghost_from[i % 3], "no-such-user", "wrong-password")
            .await;
        assert_eq!(a, b, "failure {}: bob and a name nobody has", i + 1);
        seen.push(message(&a.1));
    }
    assert_eq!(seen[0], "invalid user name or password");
    assert!(
        seen[8].contains("locked"),
        "the answers changed as failures grew: {seen:?}"
    );
    // With the right password, from a fresh address: the same lock for both names.
    let a = s
        .login_with(&client_from("127.0.0.8"), "bob", "bob-password")
        .await;
    let b = s
        .login_with(&client_from("127.0.0.9"), "no-such-user", "bob-password")
        .await;
    assert_eq!(a, b);
    assert_eq!(a.0, StatusCode::UNAUTHORIZED);
    assert!(message(&a.1).contains("locked"), "{}", a.1);
    let (_, locks) = s.get("/api/v1/lockouts", &admin).await;
    let names: Vec<&str> = locks["lockouts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"bob") && names.contains(&"no-such-user"),
        "{names:?}"
    );
}

#[tokio::test]
async fn an_address_that_keeps_failing_waits_longer_each_time_and_is_refused_at_once() {
    let dir = TempDir::new().unwrap();
    let (s, clock) = start(&dir).await;
    let attacker = client_from("127.0.0.2");
    // Different names each time: only the address is counted against.
    let mut n = 0;
    let mut fail = || {
        n += 1;
        format!("user{n}")
    };
    for _ in 0..6 {
        let (status, _, _) = s.login_with(&attacker, &fail(), "guess").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    let mut waits = vec![];
    for _ in 0..4 {
        // Refused at once, even with a right password, while the address waits.
        let (status, body, retry) = s.login_with(&attacker, "admin", ADMIN_PASSWORD).await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
        let wait: i64 = retry.unwrap().parse().unwrap();
        assert!(message(&body).contains(&format!("try again in {wait} second(s)")));
        waits.push(wait);
        clock.advance(Duration::seconds(wait));
        let (status, _, _) = s.login_with(&attacker, &fail(), "guess").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(waits, [1, 2, 4, 8]);
    // Another address is not affected.
    let (status, _, _) = s
        .login_with(&client_from("127.0.0.3"), "admin", ADMIN_PASSWORD)
        .await;
    assert_eq!(status, StatusCode::OK);
    // The address counts again from zero once its window has passed.
    clock.advance(Duration::minutes(16));
    let (status, _, _) = s.login_with(&attacker, "admin", ADMIN_PASSWORD).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn a_lock_from_several_addresses_lasts_until_it_ends_or_an_admin_lifts_it() {
    let dir = TempDir::new().unwrap();
    let (s, clock) = start(&dir).await;
    let admin = s.admin().await;
    s.user(&admin, "bob", &[]).await;
    s.user(&admin, "eve", &["Observers"]).await;
    for ip in [
        "127.0.0.2",
        "127.0.0.3",
        "127.0.0.4",
        "127.0.0.2",
        "127.0.0.3",
    ] {
        s.login_with(&client_from(ip), "bob", "wrong-password")
            .await;
    }
    let elsewhere = client_from("127.0.0.9");
    let (status, body, _) = s.login_with(&elsewhere, "bob", "bob-password").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        message(&body),
        "the account is locked after repeated failed logins; try again in 30 minute(s)"
    );
    let (_, audit) = s.get("/api/v1/audit?kind=account_locked", &admin).await;
    assert_eq!(audit["events"].as_array().unwrap().len(), 1, "{audit}");
    // Counted for operators: one lock, and the refused login by its result.
    let metrics = s.metrics_text().await;
    assert!(
        metrics.contains("\nsessiond_lockouts_total 1\n"),
        "{metrics}"
    );
    assert!(
        metrics.contains("sessiond_logins_total{dialect=\"native\",result=\"locked\"} 2\n"),
        "{metrics}"
    );
    // Only an administrator lifts it.
    let eve = s.login("eve", "eve-password").await.0;
    let (status, _) = s
        .call(Method::DELETE, "/api/v1/lockouts/bob", Some(&eve), None)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = s
        .call(Method::DELETE, "/api/v1/lockouts/bob", Some(&admin), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body, _) = s.login_with(&elsewhere, "bob", "bob-password").await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // Left alone, a lock ends by itself.
    for ip in [
        "127.0.0.5",
        "127.0.0.6",
        "127.0.0.7",
        "127.0.0.5",
        "127.0.0.6",
    ] {
        s.login_with(&client_from(ip), "bob", "wrong-password")
            .await;
    }
    let (status, _, _) = s.login_with(&elsewhere, "bob", "bob-password").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    clock.advance(Duration::minutes(31));
    let (status, _, _) = s.login_with(&elsewhere, "bob", "bob-password").await;
    assert_eq!(status, StatusCode::OK);
}
