//! sessiond on PostgreSQL: several nodes sharing one database, and a database outage.

mod common;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{message, Options, TestServer, ADMIN_PASSWORD};
use reqwest::{Method, StatusCode};
use serde_json::json;
use sessiond_core::{ManualClock, Store};
use sessiond_store::postgres::{PostgresOptions, PostgresStore};
use sessiond_store::testing::PgSchema;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

async fn pg_store(url: &str) -> Arc<dyn Store> {
    let mut opts = PostgresOptions::new(url);
    opts.max_connections = 4;
    opts.acquire_timeout = Duration::from_secs(1);
    Arc::new(
        PostgresStore::open(&opts)
            .await
            .expect("open PostgreSQL store"),
    )
}

/// Two nodes on one schema, sharing a manual clock.
async fn two_nodes(schema: &PgSchema) -> (TestServer, TestServer) {
    let clock = Arc::new(ManualClock::starting_now());
    let a = TestServer::start_on(
        pg_store(&schema.url).await,
        Options::default(),
        clock.clone(),
    )
    .await;
    let b = TestServer::start_on(pg_store(&schema.url).await, Options::default(), clock).await;
    (a, b)
}

/// Asks `check` every 20 ms until it holds; returns how long that took, or panics after
/// `limit`.
async fn within<F, Fut>(limit: Duration, what: &str, mut check: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    loop {
        if check().await {
            return start.elapsed();
        }
        assert!(start.elapsed() < limit, "{what}: not within {limit:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn two_nodes_share_sessions_and_enforce_changes_within_a_second() {
    let schema = PgSchema::create().await;
    let (a, b) = two_nodes(&schema).await;

    // A session opened on A is accepted on B.
    let (token, session_id) = a.login("admin", ADMIN_PASSWORD).await;
    let (status, me) = b.get("/api/v1/session", &token).await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(me["session"]["id"], session_id.as_str());
    assert_eq!(a.get("/api/v1/session", &token).await.0, StatusCode::OK);

    // Logged out on B: refused on A (whose cache held it) within a second.
    let (status, _) = b
        .call(Method::DELETE, "/api/v1/session", Some(&token), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let took = within(
        Duration::from_secs(1),
        "logout on B enforced on A",
        || async { a.get("/api/v1/session", &token).await.0 == StatusCode::UNAUTHORIZED },
    )
    .await;
    println!("logout on B refused on A after {took:?}");
    // A's metrics count the notices it applied.
    let metrics = a.metrics_text().await;
    let applied: f64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("sessiond_change_evict_duration_seconds_count "))
        .expect("the eviction histogram")
        .parse()
        .unwrap();
    assert!(applied >= 1.0, "{metrics}");

    // Revocation by id, and a role change, made on A: enforced on B.
    let admin = a.admin().await;
    let bob_id = a.user(&admin, "bob", &["Observers"]).await;
    let (bob, bob_session) = b.login("bob", "bob-password").await;
    assert_eq!(b.get("/api/v1/users", &bob).await.0, StatusCode::OK);
    let (status, _) = a
        .call(
            Method::PUT,
            &format!("/api/v1/users/{bob_id}/roles"),
            Some(&admin),
            Some(json!([])),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    within(
        Duration::from_secs(1),
        "role change on A enforced on B",
        || async { b.get("/api/v1/users", &bob).await.0 == StatusCode::FORBIDDEN },
    )
    .await;
    let (status, _) = a
        .call(
            Method::DELETE,
            &format!("/api/v1/sessions/{bob_session}"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    within(
        Duration::from_secs(1),
        "revocation on A enforced on B",
        || async { b.get("/api/v1/session", &bob).await.0 == StatusCode::UNAUTHORIZED },
    )
    .await;

    // An access token deleted on A is refused on B, which had it cached.
    let (status, t) = a
        .call(
            Method::POST,
            "/v1/auth/access-tokens/",
            Some(&admin),
            Some(json!({"user": {"name": "admin"}})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{t}");
    let bearer = t["bearer_token"].as_str().unwrap().to_owned();
    assert_eq!(
        b.get("/v1/session/who-am-i", &bearer).await.0,
        StatusCode::OK
    );
    let id = t["id"].as_str().unwrap();
    let (status, _) = a
        .call(
            Method::DELETE,
            &format!("/v1/auth/access-tokens/{id}"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    within(
        Duration::from_secs(1),
        "token deletion on A enforced on B",
        || async { b.get("/v1/session/who-am-i", &bearer).await.0 == StatusCode::UNAUTHORIZED },
    )
    .await;

    // A password reset on B ends bob's sessions everywhere.
    let (bob2, _) = a.login("bob", "bob-password").await;
    assert_eq!(a.get("/api/v1/session", &bob2).await.0, StatusCode::OK);
    let admin_b = b.admin().await;
    let (status, _) = b
        .call(
            Method::PATCH,
            &format!("/api/v1/users/{bob_id}"),
            Some(&admin_b),
            Some(json!({"password": "new-bob-password"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    within(
        Duration::from_secs(1),
        "password reset on B enforced on A",
        || async { a.get("/api/v1/session", &bob2).await.0 == StatusCode::UNAUTHORIZED },
    )
    .await;
}

/// Lists are kept in memory between changes; a node hears of sessions other nodes end, not
/// of those they open, so a kept list lives at most a second on a shared store.
#[tokio::test]
async fn a_session_opened_on_one_node_shows_in_the_others_lists_within_a_second() {
    let schema = PgSchema::create().await;
    let (a, b) = two_nodes(&schema).await;
    let admin_b = b.admin().await;
    let listed = |token: String, id: String| {
        let b = &b;
        async move {
            let (status, list) = b.get("/api/v1/sessions?user=admin", &token).await;
            assert_eq!(status, StatusCode::OK, "{list}");
            list["sessions"]
                .as_array()
                .unwrap()
                .iter()
                .any(|x| x["id"] == id.as_str())
        }
    };
    // B keeps its list, then A opens a session B does not hear of.
    assert!(!listed(admin_b.clone(), "no such id".into()).await);
    let (token_a, on_a) = a.login("admin", ADMIN_PASSWORD).await;
    let took = within(Duration::from_secs(2), "a login on A listed on B", || {
        listed(admin_b.clone(), on_a.clone())
    })
    .await;
    assert!(took <= Duration::from_millis(1100), "{took:?}");

    // Ended on A: gone from B's list at once (A announces it).
    let (status, _) = a
        .call(Method::DELETE, "/api/v1/session", Some(&token_a), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    within(
        Duration::from_secs(1),
        "a logout on A shown on B",
        || async { !listed(admin_b.clone(), on_a.clone()).await },
    )
    .await;
}

#[tokio::test]
async fn activity_from_both_nodes_merges_latest_wins() {
    let schema = PgSchema::create().await;
    let clock = Arc::new(ManualClock::starting_now());
    let mut opts = Options::default();
    opts.core.idle_timeout = Some(time::Duration::minutes(10));
    let a = TestServer::start_on(pg_store(&schema.url).await, opts, clock.clone()).await;
    let mut opts = Options::default();
    opts.core.idle_timeout = Some(time::Duration::minutes(10));
    let b = TestServer::start_on(pg_store(&schema.url).await, opts, clock.clone()).await;
    let (token, id) = a.login("admin", ADMIN_PASSWORD).await;
    let login = a.store.get_session(&id).await.unwrap().unwrap().login_time;

    // Used on A at +1 min, on B at +8 min: B's is the latest.
    clock.advance(time::Duration::minutes(1));
    assert_eq!(a.get("/api/v1/session", &token).await.0, StatusCode::OK);
    clock.advance(time::Duration::minutes(7));
    assert_eq!(b.get("/api/v1/session", &token).await.0, StatusCode::OK);
    b.core.flush_activity().await.unwrap();
    a.core.flush_activity().await.unwrap(); // older; must not overwrite
    let stored = a.store.get_session(&id).await.unwrap().unwrap();
    assert_eq!(stored.last_active, login + time::Duration::minutes(8));

    // At +15 min A has seen nothing for 14 minutes, but the session was used on B 7 minutes
    // ago: it is not idle.
    clock.advance(time::Duration::minutes(7));
    let (status, body) = a.get("/api/v1/session", &token).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // Ten quiet minutes later it is.
    clock.advance(time::Duration::minutes(10));
    let (status, body) = b.get("/api/v1/session", &token).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        message(&body),
        "the session was closed after being idle too long"
    );
}

/// A TCP proxy in front of PostgreSQL that the test can cut and restore.
struct Proxy {
    addr: SocketAddr,
    up: Arc<AtomicBool>,
    conns: Arc<Mutex<Vec<JoinHandle<()>>>>,
    accept: JoinHandle<()>,
}

impl Proxy {
    async fn start(target: String) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let up = Arc::new(AtomicBool::new(true));
        let conns: Arc<Mutex<Vec<JoinHandle<()>>>> = Arc::default();
        let (up2, conns2) = (up.clone(), conns.clone());
        let accept = tokio::spawn(async move {
            loop {
                let Ok((mut client, _)) = listener.accept().await else {
                    return;
                };
                if !up2.load(Ordering::SeqCst) {
                    drop(client); // refused: the database is "down"
                    continue;
                }
                let target = target.clone();
                let task = tokio::spawn(async move {
                    if let Ok(mut server) = TcpStream::connect(&target).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
                conns2.lock().unwrap().push(task);
            }
        });
        Proxy {
            addr,
            up,
            conns,
            accept,
        }
    }

    fn down(&self) {
        self.up.store(false, Ordering::SeqCst);
        for c in self.conns.lock().unwrap().drain(..) {
            c.abort(); // every open connection dies, as when the server stops
        }
    }

    fn up(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.accept.abort();
        self.down();
    }
}

/// `postgres://user@HOST:PORT/db?...` with HOST:PORT replaced.
fn via(url: &str, addr: SocketAddr) -> (String, String) {
    let (scheme, rest) = url.split_once("://").unwrap();
    let (user, rest) = rest
        .split_once('@')
        .map(|(u, r)| (format!("{u}@"), r))
        .unwrap_or((String::new(), rest));
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let target = rest[..end].to_owned();
    (format!("{scheme}://{user}{addr}{}", &rest[end..]), target)
}

#[tokio::test]
async fn a_database_outage_answers_503_and_recovers_on_its_own() {
    let schema = PgSchema::create().await;
    let (_, target) = via(&schema.url, "127.0.0.1:1".parse().unwrap());
    let proxy = Proxy::start(target).await;
    let (url, _) = via(&schema.url, proxy.addr);
    let s = TestServer::start_on(
        pg_store(&url).await,
        Options::default(),
        Arc::new(ManualClock::starting_now()),
    )
    .await;
    let (token, _) = s.login("admin", ADMIN_PASSWORD).await;
    let (revoked, revoked_id) = s.login("admin", ADMIN_PASSWORD).await;
    let (status, _) = s
        .call(
            Method::DELETE,
            &format!("/api/v1/sessions/{revoked_id}"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);

    proxy.down();
    // Once the node notices (its change listener drops), nothing is answered from a cache
    // that may have missed a change: every request needs the store, and gets 503.
    within(Duration::from_secs(5), "503 during the outage", || async {
        s.get("/api/v1/session", &token).await.0 == StatusCode::SERVICE_UNAVAILABLE
    })
    .await;
    let (status, body) = s.get("/api/v1/session", &token).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body["error"]["code"], "unavailable");
    let (status, body) = s.try_login("admin", ADMIN_PASSWORD).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(
        message(&body),
        "the session store is unavailable; try again shortly"
    );
    assert_eq!(
        s.call(Method::GET, "/readyz", None, None).await.0,
        StatusCode::SERVICE_UNAVAILABLE
    );
    assert_eq!(
        s.call(Method::GET, "/healthz", None, None).await.0,
        StatusCode::OK
    );

    proxy.up();
    let took = within(
        Duration::from_secs(10),
        "recovery after the outage",
        || async { s.get("/api/v1/session", &token).await.0 == StatusCode::OK },
    )
    .await;
    println!("recovered {took:?} after the database came back");
    // What was acknowledged before the outage still holds.
    assert_eq!(
        s.get("/api/v1/session", &revoked).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        s.call(Method::GET, "/readyz", None, None).await.0,
        StatusCode::OK
    );
    let (fresh, _) = s.login("admin", ADMIN_PASSWORD).await;
    assert_eq!(s.get("/api/v1/session", &fresh).await.0, StatusCode::OK);
}

/// RFC 7009: a resource server revokes a token through node A; node B, which had it
/// cached, refuses it within a second.
#[tokio::test]
async fn a_token_revoked_on_one_node_is_refused_on_the_other_within_a_second() {
    let schema = PgSchema::create().await;
    let (a, b) = two_nodes(&schema).await;
    let admin = a.admin().await;
    a.user(&admin, "gateway", &["Resource Servers"]).await;
    a.user(&admin, "bob", &[]).await;
    let (gateway, _) = a.login("gateway", "gateway-password").await;
    let (bob, _) = b.login("bob", "bob-password").await;
    assert_eq!(b.get("/api/v1/session", &bob).await.0, StatusCode::OK);
    let resp = a
        .http
        .post(a.url("/api/v1/revoke"))
        .bearer_auth(&gateway)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("token={bob}"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let took = within(
        Duration::from_secs(1),
        "revocation on A enforced on B",
        || async { b.get("/api/v1/session", &bob).await.0 == StatusCode::UNAUTHORIZED },
    )
    .await;
    println!("revoked on A, refused on B after {took:?}");
    a.stop().await;
    b.stop().await;
}
