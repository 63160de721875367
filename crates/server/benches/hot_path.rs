//! The hot path, measured: "who is behind this token?".
//!
//! Prints figures; asserts nothing. Run with `cargo bench -p sessiond-server --bench hot_path`.
//! 1. `Core::authenticate` on a cached token, in process (the cost the core adds).
//! 2. `GET /api/v1/session` over HTTP/1.1 keep-alive from concurrent clients (the cost a
//!    client sees), with latency percentiles.

use std::sync::Arc;
use std::time::{Duration, Instant};

use sessiond_core::{Core, CoreConfig, LoginContext, Store, SystemClock};
use sessiond_server::{AppState, ServerConfig};
use sessiond_store::SqliteStore;

const CORE_ITERATIONS: u32 = 200_000;
const HTTP_CLIENTS: usize = 16;
const HTTP_REQUESTS_PER_CLIENT: usize = 2_000;

#[tokio::main]
async fn main() {
    let dir = tempfile::TempDir::new().unwrap();
    let store = Arc::new(SqliteStore::open(dir.path()).await.unwrap());
    let core = Arc::new(
        Core::new(
            store as Arc<dyn Store>,
            Arc::new(SystemClock),
            CoreConfig::default(),
        )
        .await
        .unwrap(),
    );
    core.bootstrap(Some("bench-password")).await.unwrap();
    let ctx = LoginContext {
        via: "bench",
        client_name: "127.0.0.1".into(),
        client_type: "bench".into(),
        console_type: 19,
        transport: None,
        auth_method: sessiond_core::model::AuthMethod::Password,
    };
    let login = core.login("admin", "bench-password", ctx).await.unwrap();
    let token = login.token.expose().to_owned();

    // 1. In process.
    core.authenticate(&token).await.unwrap(); // warm the cache
    let start = Instant::now();
    for _ in 0..CORE_ITERATIONS {
        std::hint::black_box(core.authenticate(&token).await.unwrap());
    }
    let per = start.elapsed() / CORE_ITERATIONS;
    println!(
        "core authenticate (cached): {:>8.0} ns/op  {:>10.0} ops/s",
        per.as_nanos() as f64,
        1e9 / per.as_nanos().max(1) as f64
    );

    // 2. Over HTTP.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/api/v1/session", listener.local_addr().unwrap());
    let state = AppState {
        core: core.clone(),
        cfg: Arc::new(ServerConfig::default()),
        negotiate: None,
    };
    tokio::spawn(sessiond_server::serve(
        listener,
        state,
        std::future::pending(),
    ));
    let start = Instant::now();
    let mut tasks = vec![];
    for _ in 0..HTTP_CLIENTS {
        let (url, token) = (url.clone(), token.clone());
        tasks.push(tokio::spawn(async move {
            let http = reqwest::Client::new();
            let mut lat = Vec::with_capacity(HTTP_REQUESTS_PER_CLIENT);
            for _ in 0..HTTP_REQUESTS_PER_CLIENT {
                let t = Instant::now();
                let r = http.get(&url).bearer_auth(&token).send().await.unwrap();
                assert!(r.status().is_success());
                r.bytes().await.unwrap();
                lat.push(t.elapsed());
            }
            lat
        }));
    }
    let mut all: Vec<Duration> = vec![];
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    let elapsed = start.elapsed();
    all.sort();
    let pct = |p: f64| all[((all.len() as f64 * p) as usize).min(all.len() - 1)];
    println!(
        "GET /api/v1/session: {} requests, {} clients: {:>8.0} req/s  p50 {:?}  p99 {:?}",
        all.len(),
        HTTP_CLIENTS,
        all.len() as f64 / elapsed.as_secs_f64(),
        pct(0.50),
        pct(0.99)
    );
    let flushed = core.flush_activity().await.unwrap();
    println!("store writes for all of that activity: 1 batch of {flushed} session(s)");
}
