//! `kill -9` under load: every login and every revocation the server acknowledged survives
//! the crash, as the store committed it before the answer went out.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::Server;

const PASSWORD: &str = "Crash-Test-Admin-Secret-1";

/// One request on a fresh connection; `None` when the server did not answer in full.
fn http(
    addr: &str,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: &str,
) -> Option<(u16, String)> {
    let mut s = TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(20))).ok()?;
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: x\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    let status = out.get(9..12)?.parse().ok()?;
    let (head, body) = out.split_once("\r\n\r\n")?;
    if status == 204 {
        return Some((status, String::new()));
    }
    // The answer counts only when it arrived whole.
    let len: usize = head.lines().find_map(|l| {
        l.to_ascii_lowercase()
            .strip_prefix("content-length: ")
            .map(|v| v.trim().parse().ok())
    })??;
    (body.len() == len).then(|| (status, body.to_owned()))
}

#[derive(Default)]
struct Acknowledged {
    logins: Vec<String>,
    revoked: Vec<String>,
}

#[test]
fn acknowledged_logins_and_revocations_survive_kill_9() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let envs = [("SESSIOND_ADMIN_PASSWORD", PASSWORD)];
    let mut server = Server::start(&data, &[], &envs);
    let addr = server.url.trim_start_matches("http://").to_owned();
    let acked = Arc::new(Mutex::new(Acknowledged::default()));
    let stop = Arc::new(AtomicBool::new(false));
    let workers: Vec<_> = (0..4)
        .map(|w| {
            let (addr, acked, stop) = (addr.clone(), acked.clone(), stop.clone());
            std::thread::spawn(move || {
                let login = format!(r#"{{"username":"admin","password":"{PASSWORD}"}}"#);
                let mut n = 0u32;
                while !stop.load(Ordering::Relaxed) {
                    n += 1;
                    let Some((200, body)) = http(&addr, "POST", "/api/v1/login", None, &login)
                    else {
                        continue;
                    };
                    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
                    let token = v["token"].as_str().unwrap().to_owned();
                    acked.lock().unwrap().logins.push(token.clone());
                    let _ = http(&addr, "GET", "/api/v1/session", Some(&token), "");
                    if (n + w).is_multiple_of(3) {
                        if let Some((204, _)) =
                            http(&addr, "DELETE", "/api/v1/session", Some(&token), "")
                        {
                            acked.lock().unwrap().revoked.push(token);
                        }
                    }
                }
            })
        })
        .collect();
    // Let the load run, then crash the server in the middle of it.
    std::thread::sleep(Duration::from_millis(2500));
    let mut child = server.child.take().unwrap();
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        w.join().unwrap();
    }
    let acked = Arc::try_unwrap(acked).ok().unwrap().into_inner().unwrap();
    assert!(
        acked.logins.len() >= 10 && !acked.revoked.is_empty(),
        "too little load to show anything: {} logins, {} revocations",
        acked.logins.len(),
        acked.revoked.len()
    );

    let server = Server::start(&data, &[], &envs);
    let addr = server.url.trim_start_matches("http://").to_owned();
    let mut lost = vec![];
    let mut resurrected = vec![];
    for token in &acked.logins {
        let (status, _) = http(&addr, "GET", "/api/v1/session", Some(token), "").unwrap();
        let revoked = acked.revoked.contains(token);
        match (revoked, status) {
            (false, 200) | (true, 401) => {}
            (false, _) => lost.push(status),
            (true, _) => resurrected.push(status),
        }
    }
    println!(
        "after kill -9: {} acknowledged logins, {} acknowledged revocations checked",
        acked.logins.len(),
        acked.revoked.len()
    );
    assert!(lost.is_empty(), "acknowledged logins lost: {lost:?}");
    assert!(
        resurrected.is_empty(),
        "acknowledged revocations undone: {resurrected:?}"
    );
    server.stop();
}
