//! Idle, silent and trickling connections cannot keep others out: past the cap the idlest
//! is closed for a newcomer, and each kind of stall ends after its time-out.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{Options, TestServer};
use reqwest::StatusCode;
use sessiond_core::ManualClock;
use tempfile::TempDir;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn options(cap: usize) -> Options {
    let mut o = Options::default();
    o.server.connections.max_connections = cap;
    o.server.connections.header_timeout = Duration::from_millis(600);
    o.server.connections.idle_timeout = Duration::from_millis(900);
    o
}

/// Whether the server has closed `tcp` (end of stream or reset), waiting up to `within`.
async fn closed(tcp: &mut TcpStream, within: Duration) -> bool {
    let mut buf = [0u8; 512];
    loop {
        match tokio::time::timeout(within, tcp.read(&mut buf)).await {
            Err(_) => return false,
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            // A quick refusal or a 408 may come first; the close follows.
            Ok(Ok(_)) => continue,
        }
    }
}

#[tokio::test]
async fn idle_connections_past_the_cap_do_not_keep_a_client_out() {
    let dir = TempDir::new().unwrap();
    let cap = 40;
    let s = TestServer::start_with(&dir, options(cap), Arc::new(ManualClock::starting_now())).await;
    let token = s.admin().await;
    let addr = s.base.trim_start_matches("http://").to_owned();

    // Silent connections, twice the cap, and some that trickle a request head.
    let mut idle = vec![];
    for _ in 0..2 * cap {
        idle.push(TcpStream::connect(&addr).await.unwrap());
    }
    let mut trickling = vec![];
    for _ in 0..5 {
        let mut t = TcpStream::connect(&addr).await.unwrap();
        t.write_all(b"GET /api/v1/session HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            .await
            .unwrap();
        trickling.push(t);
    }

    // A normal client is answered at once.
    let client = reqwest::Client::new();
    let answer = tokio::time::timeout(
        Duration::from_secs(1),
        client
            .get(s.url("/api/v1/session"))
            .bearer_auth(&token)
            .send(),
    )
    .await
    .expect("who-am-i answered within a second")
    .unwrap();
    assert_eq!(answer.status(), StatusCode::OK);

    // Every stalled connection is closed: the oldest for newcomers, the rest by time-out.
    for (i, c) in idle.iter_mut().enumerate() {
        assert!(
            closed(c, Duration::from_secs(5)).await,
            "idle connection {i} still open"
        );
    }
    for (i, t) in trickling.iter_mut().enumerate() {
        assert!(
            closed(t, Duration::from_secs(5)).await,
            "trickling connection {i} still open"
        );
    }
    // And the server still serves.
    let (status, _) = s.get("/api/v1/session", &token).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn a_kept_alive_connection_serves_requests_until_it_idles_out() {
    let dir = TempDir::new().unwrap();
    let s = TestServer::start_with(&dir, options(100), Arc::new(ManualClock::starting_now())).await;
    let token = s.admin().await;
    let addr = s.base.trim_start_matches("http://").to_owned();
    let mut tcp = TcpStream::connect(&addr).await.unwrap();
    let request =
        format!("GET /api/v1/session HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\r\n");
    for _ in 0..3 {
        tcp.write_all(request.as_bytes()).await.unwrap();
        let mut buf = vec![0u8; 64 * 1024];
        let n = tcp.read(&mut buf).await.unwrap();
        assert!(
            String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"),
            "kept alive"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    assert!(
        closed(&mut tcp, Duration::from_secs(5)).await,
        "closed once idle"
    );
}

#[tokio::test]
async fn when_every_connection_is_busy_a_newcomer_is_refused_at_once() {
    let dir = TempDir::new().unwrap();
    let mut o = options(3);
    o.server.read_timeout = Duration::from_secs(5);
    let s = TestServer::start_with(&dir, o, Arc::new(ManualClock::starting_now())).await;
    let token = s.admin().await;
    let addr = s.base.trim_start_matches("http://").to_owned();
    // Three requests in flight, each waiting for a body that is slow to come.
    let mut busy = vec![];
    for _ in 0..3 {
        let mut t = TcpStream::connect(&addr).await.unwrap();
        t.write_all(
            format!("POST /api/v1/session/password HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: 50\r\n\r\n{{")
                .as_bytes(),
        )
        .await
        .unwrap();
        busy.push(t);
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut newcomer = TcpStream::connect(&addr).await.unwrap();
    let mut answer = String::new();
    tokio::time::timeout(Duration::from_secs(2), newcomer.read_to_string(&mut answer))
        .await
        .expect("refused at once")
        .unwrap();
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(answer.contains("too many open connections"), "{answer}");
}
