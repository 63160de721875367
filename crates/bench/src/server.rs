//! The sessiond process under test, and the few setup requests made to it.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Instant;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::Request;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use crate::load::{Identity, Target};
use crate::seed::ADMIN_PASSWORD;

pub struct Server {
    child: Child,
    pub addr: SocketAddr,
    pub ready_ms: u128,
    /// The server's "hot cache warmed" log line, when it comes.
    warmed: std::sync::mpsc::Receiver<String>,
}

/// What the server logged when its warm-up ended.
pub struct Warmed {
    pub sessions: u64,
    pub elapsed_ms: u64,
}

/// Extra environment for every sessiond started (`--server-env`), e.g. allocator settings
/// to compare; set once at the start of a run.
pub static SERVER_ENV: std::sync::OnceLock<Vec<(String, String)>> = std::sync::OnceLock::new();

/// `target/release/sessiond`, beside `target/release/sessiond-bench`.
pub fn beside_this_binary() -> PathBuf {
    let me = std::env::current_exe().expect("own path");
    let path = me.with_file_name("sessiond");
    if !path.exists() {
        eprintln!(
            "sessiond-bench: {} is missing; build it with `cargo build --release -p sessiond`",
            path.display()
        );
        std::process::exit(2);
    }
    path
}

/// Starts `sessiond serve` on the seeded data directory (and on the PostgreSQL `store`, if
/// given), warming its cache from the store or not; returns once it listens.
pub fn start(
    sessiond: &Path,
    data: &Path,
    https: bool,
    cache_capacity: usize,
    store: Option<&str>,
    warm: bool,
) -> Server {
    let started = Instant::now();
    let mut cmd = Command::new(sessiond);
    cmd.envs(SERVER_ENV.get().into_iter().flatten().map(|(k, v)| (k, v)));
    cmd.args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data)
        .arg("--cache-capacity")
        .arg(cache_capacity.to_string())
        .arg("--warm-cache")
        .arg(warm.to_string())
        .env(
            "SESSIOND_LOG",
            "warn,sqlx=error,sessiond_server::tasks=info",
        )
        .env("SESSIOND_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if !https {
        cmd.arg("--insecure-http");
    }
    if let Some(url) = store {
        cmd.arg("--store").arg(url);
    }
    let mut child = cmd.spawn().expect("start sessiond");
    let (tx, warmed) = std::sync::mpsc::channel();
    let stderr = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if line.contains("hot cache warmed") {
                let _ = tx.send(line);
            } else {
                eprintln!("{line}");
            }
        }
    });
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let addr = loop {
        let line = lines
            .next()
            .expect("sessiond ended before it listened")
            .unwrap();
        if let Some(url) = line.strip_prefix("sessiond: listening on ") {
            let hostport = url
                .trim_start_matches("https://")
                .trim_start_matches("http://");
            break hostport.parse().expect("an address");
        }
    };
    // Keep draining stdout so the server never blocks on it.
    std::thread::spawn(move || for _ in lines {});
    Server {
        child,
        addr,
        ready_ms: started.elapsed().as_millis(),
        warmed,
    }
}

impl Server {
    /// Waits for the end of the cache warm-up (of a server started with `warm`).
    pub fn wait_warmed(&self) -> Warmed {
        let line = self
            .warmed
            .recv_timeout(std::time::Duration::from_secs(600))
            .expect("the server's warm-up to end within 10 minutes");
        let field = |key: &str| {
            line.split_whitespace()
                .find_map(|w| w.strip_prefix(key)?.strip_prefix('='))
                .and_then(|v| v.trim_matches(|c| c == '"' || c == ',').parse().ok())
                .unwrap_or_else(|| panic!("no {key} in {line:?}"))
        };
        Warmed {
            sessions: field("sessions"),
            elapsed_ms: field("elapsed_ms"),
        }
    }

    pub fn rss_kib(&self) -> u64 {
        std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .ok()
            .and_then(|s| {
                s.lines()
                    .find_map(|l| l.strip_prefix("VmRSS:"))
                    .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse().ok())
            })
            .unwrap_or(0)
    }

    /// A clean stop (SIGTERM), as an operator's.
    pub fn stop(mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    /// Never leaves a server behind, even when the bench panics: one left running with a
    /// million sessions skews every later figure.
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// One request on its own connection (plain HTTP or TLS as `target` says).
async fn request(
    target: &Target,
    method: &str,
    path: &str,
    headers: &[(&str, String)],
    body: String,
) -> (u16, String) {
    let tcp = TcpStream::connect(target.addr).await.expect("connect");
    let mut req = Request::builder()
        .method(method)
        .uri(path)
        .header("host", "localhost");
    for (k, v) in headers {
        req = req.header(*k, v.as_str());
    }
    let req = req.body(Full::new(Bytes::from(body))).unwrap();
    let resp = match &target.tls {
        None => {
            let (mut s, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp))
                .await
                .unwrap();
            tokio::spawn(conn);
            s.send_request(req).await.unwrap()
        }
        Some(tls) => {
            let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
            let stream = tls.connect(name, tcp).await.expect("TLS");
            let (mut s, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
                .await
                .unwrap();
            tokio::spawn(conn);
            s.send_request(req).await.unwrap()
        }
    };
    let status = resp.status().as_u16();
    let body = resp
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    (status, String::from_utf8_lossy(&body).into_owned())
}

/// Asks "who am I?" once for every identity (each a cache miss the first time), over
/// `connections` keep-alive connections; returns how many and how long it took.
pub async fn touch_all(target: &Target, everyone: &[Identity], connections: usize) -> (usize, f64) {
    let started = Instant::now();
    let chunk = everyone.len().div_ceil(connections.max(1)).max(1);
    let mut tasks = vec![];
    for part in everyone.chunks(chunk) {
        let (target, part) = (target.clone(), part.to_vec());
        tasks.push(tokio::spawn(async move {
            let tcp = TcpStream::connect(target.addr).await.expect("connect");
            let mut sender = match &target.tls {
                None => {
                    let (s, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp))
                        .await
                        .unwrap();
                    tokio::spawn(conn);
                    s
                }
                Some(tls) => {
                    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
                    let stream = tls.connect(name, tcp).await.expect("TLS");
                    let (s, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
                        .await
                        .unwrap();
                    tokio::spawn(conn);
                    s
                }
            };
            for who in part {
                let req = Request::get("/api/v1/session")
                    .header("host", "localhost")
                    .header("authorization", format!("Bearer {}", who.token))
                    .body(http_body_util::Empty::<Bytes>::new())
                    .unwrap();
                let resp = sender.send_request(req).await.expect("an answer");
                assert!(resp.status().is_success(), "a seeded session was refused");
                let _ = resp.into_body().collect().await;
            }
        }));
    }
    for t in tasks {
        t.await.expect("a loading connection");
    }
    (everyone.len(), started.elapsed().as_secs_f64())
}

/// The size of `call`'s answer for `who`, in bytes.
pub async fn answer_size(target: &Target, call: &crate::load::Call, who: &Identity) -> usize {
    let path = call.path.replace("{uid}", &who.user_id.to_string());
    let headers: Vec<(&str, String)> = call
        .auth
        .map(|(h, prefix)| (h, format!("{prefix}{}", who.token)))
        .into_iter()
        .collect();
    let (status, body) = request(target, "GET", &path, &headers, String::new()).await;
    assert!(status < 300, "{} answered {status}: {body}", call.name);
    body.len()
}

/// Has file server `server` report `n` client sessions (for NetSession's Enum).
pub async fn report_sessions(target: &Target, server: &str, n: usize) {
    let (status, body) = request(
        target,
        "POST",
        "/api/v1/login",
        &[("content-type", "application/json".into())],
        format!(r#"{{"username":"admin","password":"{ADMIN_PASSWORD}"}}"#),
    )
    .await;
    assert_eq!(status, 200, "admin login: {body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    let token = v["token"].as_str().unwrap().to_owned();
    for i in 0..n {
        let report = serde_json::json!({
            "client_name": format!("WS{i:03}"), "username": format!("bench{i}"),
            "client_type": "Windows 11 Pro", "transport": "\\Device\\NetBT_Tcpip",
            "num_opens": i % 7, "user_flags": 0, "shares": ["data"]
        });
        let (status, body) = request(
            target,
            "POST",
            &format!("/api/v1/servers/{server}/sessions"),
            &[
                ("content-type", "application/json".into()),
                ("authorization", format!("Bearer {token}")),
            ],
            report.to_string(),
        )
        .await;
        assert_eq!(status, 201, "report: {body}");
    }
}
