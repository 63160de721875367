//! A real sessiond server on 127.0.0.1:0 over a fresh SQLite directory, with a clock the
//! test moves.

#![allow(dead_code)]

pub mod envelope;

use std::sync::Arc;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use sessiond_core::{Core, CoreConfig, ManualClock, Store};
use sessiond_server::{tasks, AppState, ServerConfig};
use sessiond_store::SqliteStore;
use tempfile::TempDir;
use tokio::sync::watch;

pub const ADMIN_PASSWORD: &str = "admin-password-1";

pub struct TestServer {
    pub base: String,
    pub core: Arc<Core>,
    pub store: Arc<dyn Store>,
    pub clock: Arc<ManualClock>,
    pub http: reqwest::Client,
    cfg: ServerConfig,
    stop: Option<watch::Sender<bool>>,
    handle: Option<tokio::task::JoinHandle<()>>,
}

pub struct Options {
    pub core: CoreConfig,
    pub server: ServerConfig,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            core: CoreConfig {
                server_name: "testhost".into(),
                hash_concurrency: 2,
                ..CoreConfig::default()
            },
            server: ServerConfig {
                // Long intervals: tests flush and sweep explicitly.
                flush_interval: Duration::from_secs(3600),
                sweep_interval: Duration::from_secs(3600),
                ..ServerConfig::default()
            },
        }
    }
}

impl TestServer {
    pub async fn start(dir: &TempDir) -> TestServer {
        Self::start_with(
            dir,
            Options::default(),
            Arc::new(ManualClock::starting_now()),
        )
        .await
    }

    pub async fn start_with(dir: &TempDir, opts: Options, clock: Arc<ManualClock>) -> TestServer {
        let store = Arc::new(SqliteStore::open(dir.path()).await.expect("open store"));
        Self::start_on(store, opts, clock).await
    }

    /// A server over any store, e.g. PostgreSQL; several may share one database.
    pub async fn start_on(
        store: Arc<dyn Store>,
        opts: Options,
        clock: Arc<ManualClock>,
    ) -> TestServer {
        let core = Arc::new(
            Core::new(store.clone(), clock.clone(), opts.core)
                .await
                .expect("core"),
        );
        core.bootstrap(Some(ADMIN_PASSWORD))
            .await
            .expect("bootstrap");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (stop_tx, stop_rx) = watch::channel(false);
        let state = AppState {
            core: core.clone(),
            cfg: Arc::new(opts.server.clone()),
            negotiate: None,
        };
        let maint = tasks::spawn_maintenance(core.clone(), &opts.server, stop_rx.clone());
        let changes = tasks::spawn_change_listener(core.clone());
        let mut shutdown = stop_rx;
        let handle = tokio::spawn(async move {
            sessiond_server::serve(listener, state, async move {
                let _ = shutdown.changed().await;
            })
            .await
            .unwrap();
            let _ = maint.await;
            if let Some(c) = changes {
                c.abort();
            }
        });
        TestServer {
            base,
            core,
            store,
            clock,
            http: reqwest::Client::new(),
            cfg: opts.server.clone(),
            stop: Some(stop_tx),
            handle: Some(handle),
        }
    }

    /// Restarts the listener with a Negotiate acceptor (the PAM dialect's Kerberos), keeping
    /// the same store and core.
    pub async fn set_negotiate(
        &mut self,
        negotiate: std::sync::Arc<dyn sessiond_server::negotiate::Negotiate>,
    ) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(true);
        }
        if let Some(h) = self.handle.take() {
            h.await.unwrap();
        }
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        self.base = format!("http://{}", listener.local_addr().unwrap());
        let (stop_tx, stop_rx) = watch::channel(false);
        let state = AppState {
            core: self.core.clone(),
            cfg: Arc::new(self.cfg.clone()),
            negotiate: Some(negotiate),
        };
        let mut shutdown = stop_rx;
        self.handle = Some(tokio::spawn(async move {
            sessiond_server::serve(listener, state, async move {
                let _ = shutdown.changed().await;
            })
            .await
            .unwrap();
        }));
        self.stop = Some(stop_tx);
    }

    /// Stops the server as SIGTERM would: in-flight requests end, activity is flushed.
    pub async fn stop(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(true);
        }
        if let Some(h) = self.handle.take() {
            h.await.unwrap();
        }
        self.store.close().await;
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self.http.request(method, self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("request");
        let status = resp.status();
        let text = resp.text().await.unwrap();
        let value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"))
        };
        (status, value)
    }

    /// The `/metrics` exposition, as a scraper reads it.
    pub async fn metrics_text(&self) -> String {
        let resp = self.http.get(self.url("/metrics")).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        resp.text().await.unwrap()
    }

    pub async fn get(&self, path: &str, token: &str) -> (StatusCode, Value) {
        self.call(Method::GET, path, Some(token), None).await
    }

    /// A native login as it answers, success or not.
    pub async fn try_login(&self, user: &str, password: &str) -> (StatusCode, Value) {
        self.call(
            Method::POST,
            "/api/v1/login",
            None,
            Some(json!({"username": user, "password": password})),
        )
        .await
    }

    /// Logs in and returns (token, session id).
    pub async fn login(&self, user: &str, password: &str) -> (String, String) {
        let (status, body) = self.try_login(user, password).await;
        assert_eq!(status, StatusCode::OK, "login {user}: {body}");
        (
            body["token"].as_str().unwrap().to_owned(),
            body["session_id"].as_str().unwrap().to_owned(),
        )
    }

    /// Logs in through Qumulo's API; returns its bearer token.
    pub async fn qumulo_login(&self, user: &str, password: &str) -> String {
        let (status, body) = self
            .call(
                Method::POST,
                "/v1/session/login",
                None,
                Some(json!({"username": user, "password": password})),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "Qumulo login {user}: {body}");
        body["bearer_token"].as_str().unwrap().to_owned()
    }

    pub async fn admin(&self) -> String {
        self.login("admin", ADMIN_PASSWORD).await.0
    }

    /// Creates a user with the given roles; returns its id.
    pub async fn user(&self, admin: &str, name: &str, roles: &[&str]) -> i64 {
        let (status, body) = self
            .call(
                Method::POST,
                "/api/v1/users",
                Some(admin),
                Some(json!({"name": name, "password": format!("{name}-password"), "roles": roles})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "create {name}: {body}");
        body["id"].as_i64().unwrap()
    }
}

/// A client whose requests come from another loopback address (127.0.0.2, ...), as if
/// from another machine.
pub fn client_from(ip: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(ip.parse::<std::net::IpAddr>().unwrap())
        .build()
        .unwrap()
}

impl TestServer {
    /// A native login from `client`: the status, the body and the `Retry-After` header.
    pub async fn login_with(
        &self,
        client: &reqwest::Client,
        user: &str,
        password: &str,
    ) -> (StatusCode, String, Option<String>) {
        let resp = client
            .post(self.url("/api/v1/login"))
            .json(&json!({"username": user, "password": password}))
            .send()
            .await
            .unwrap();
        let status = resp.status();
        let retry = resp
            .headers()
            .get("retry-after")
            .map(|v| v.to_str().unwrap().to_owned());
        (status, resp.text().await.unwrap(), retry)
    }
}

/// Options with the login throttle off, for tests that fail many logins on purpose.
pub fn without_throttle(mut o: Options) -> Options {
    o.core.throttle.by_address.free = u32::MAX - 1;
    o.core.throttle.by_name.free = u32::MAX - 1;
    o
}

/// The message of a native error body.
pub fn message(body: &Value) -> &str {
    body["error"]["message"].as_str().unwrap_or("")
}
