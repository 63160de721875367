//! The hot path, measured: "who is behind this token?".
//!
//! Prints figures; asserts nothing. Run with `cargo bench -p sessiond-server --bench hot_path`
//! (`HOT_PATH_ONLY=native` limits part 3 to the calls whose name contains it).
//! 1. `Core::authenticate` on a cached token, in process (the cost the core adds).
//! 2. `GET /api/v1/session` over HTTP/1.1 keep-alive from concurrent clients (the cost a
//!    client sees), with latency percentiles.
//! 3. Each dialect's who-am-i through the whole app in process (routing, dialect,
//!    extractors, handler, the answer's bytes), no sockets: the CPU the server spends per
//!    request beyond the HTTP stack, side by side with `/healthz`.

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

    // 2. Over HTTP (not with HOT_PATH_ONLY, which profiles one call of part 3 alone).
    let only = std::env::var("HOT_PATH_ONLY").ok();
    if only.is_none() {
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

    // 3. In process, per dialect.
    // As `serve_on` wraps it: Commvault's paths are folded before dispatch.
    let app = sessiond_server::dialects::commvault::NormalizePaths::new(
        sessiond_server::app::build_app(AppState {
            core: core.clone(),
            cfg: Arc::new(ServerConfig::default()),
            negotiate: None,
        }),
        ServerConfig::default().commvault_roots,
    );
    let peer: std::net::SocketAddr = "127.0.0.1:40000".parse().unwrap();
    for (name, path, auth) in [
        ("/healthz", "/healthz", None),
        (
            "native",
            "/api/v1/session",
            Some(("authorization", format!("Bearer {token}"))),
        ),
        (
            "Qumulo",
            "/v1/session/who-am-i",
            Some(("authorization", format!("Bearer {token}"))),
        ),
        (
            "Symphony",
            "/pod/v2/sessioninfo",
            Some(("sessiontoken", token.clone())),
        ),
        (
            "PAM",
            "/api/session/sessioninfo",
            Some(("authorization", format!("Bearer {token}"))),
        ),
        (
            "Commvault",
            "/webconsole/api/WhoAmI",
            Some(("authtoken", format!("QSDK {token}"))),
        ),
    ] {
        // HOT_PATH_ONLY=native: only that one (e.g. under `perf record`).
        if only.as_deref().is_some_and(|only| !name.contains(only)) {
            continue;
        }
        let one = || {
            let mut req = axum::http::Request::get(path);
            if let Some((header, value)) = &auth {
                req = req.header(*header, value.as_str());
            }
            let mut req = req.body(axum::body::Body::empty()).unwrap();
            req.extensions_mut()
                .insert(axum::extract::ConnectInfo(peer));
            req
        };
        let mut bytes = 0;
        for _ in 0..1_000 {
            let r = tower::ServiceExt::oneshot(app.clone(), one())
                .await
                .unwrap();
            assert!(r.status().is_success(), "{name}: {}", r.status());
        }
        // The best of three rounds: the other threads of this process come and go.
        let mut per = Duration::MAX;
        for _ in 0..3 {
            let start = Instant::now();
            for _ in 0..IN_PROCESS_REQUESTS {
                let r = tower::ServiceExt::oneshot(app.clone(), one())
                    .await
                    .unwrap();
                bytes = axum::body::to_bytes(r.into_body(), usize::MAX)
                    .await
                    .unwrap()
                    .len();
            }
            per = per.min(start.elapsed() / IN_PROCESS_REQUESTS);
        }
        println!(
            "in process {name:<10} {:>6} ns/request  ({bytes} bytes)",
            per.as_nanos()
        );
    }
}

const IN_PROCESS_REQUESTS: u32 = 50_000;
