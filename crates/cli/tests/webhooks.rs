//! Webhooks against a real receiver: `tests/clients/webhook_receiver.py` verifies every
//! delivery with the Standard Webhooks reference library (`standardwebhooks`, pinned in
//! tests/clients/requirements.txt) and checks that a tampered body fails. sessiond runs as
//! the real binary, restarted where the test says so, on SQLite and on PostgreSQL.

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use serde_json::Value;

const ADMIN_PW: &str = "admin-password-1";
const ALICE_PW: &str = "alice-password-1";

/// The receiver: a Python process on a fixed port, so it can go down and come back at the
/// same URL; what it got is in a file that outlives it.
struct Receiver {
    child: Option<Child>,
    port: u16,
    dir: PathBuf,
}

impl Receiver {
    fn start(dir: &Path) -> Receiver {
        std::fs::create_dir_all(dir).unwrap();
        let port = free_port();
        let mut r = Receiver {
            child: None,
            port,
            dir: dir.to_owned(),
        };
        r.up();
        r
    }

    fn up(&mut self) {
        let script =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/clients/webhook_receiver.py");
        let mut child = Command::new(clients_venv().join("bin/python"))
            .arg(script)
            .args(["--port", &self.port.to_string()])
            .arg("--dir")
            .arg(&self.dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("cannot start the webhook receiver");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert!(line.starts_with("listening"), "receiver said {line:?}");
        self.child = Some(child);
    }

    fn down(&mut self) {
        if let Some(mut c) = self.child.take() {
            c.kill().unwrap();
            c.wait().unwrap();
        }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/hook", self.port)
    }

    fn set(&self, file: &str, value: &str) {
        std::fs::write(self.dir.join(file), value).unwrap();
    }

    /// Every request it got, in order.
    fn requests(&self) -> Vec<Value> {
        match std::fs::read_to_string(self.dir.join("received.jsonl")) {
            Ok(text) => text
                .lines()
                .map(|l| serde_json::from_str(l).unwrap())
                .collect(),
            Err(_) => vec![],
        }
    }

    /// The deliveries it took (verified and answered 2xx), in order.
    fn delivered(&self) -> Vec<Value> {
        self.requests()
            .into_iter()
            .filter(|r| r["verified"] == true && r["status"].as_u64().unwrap() < 300)
            .collect()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.down();
    }
}

/// `(type, session id or user name, reason)` of a delivery: what the tests compare.
fn summary(r: &Value) -> (String, String, String) {
    let p = &r["payload"];
    let d = &p["data"];
    let subject = d["session_id"]
        .as_str()
        .or(d["username"].as_str())
        .unwrap_or_default();
    (
        p["type"].as_str().unwrap().to_owned(),
        subject.to_owned(),
        d["reason"].as_str().unwrap_or_default().to_owned(),
    )
}

fn ev(kind: &str, subject: &str, reason: &str) -> (String, String, String) {
    (kind.to_owned(), subject.to_owned(), reason.to_owned())
}

fn assert_each_once_and_verified(delivered: &[Value]) {
    let mut ids: Vec<&str> = delivered
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    let n = ids.len();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), n, "a webhook-id arrived twice: {delivered:#?}");
    for r in delivered {
        assert_eq!(
            r["tampered_rejected"], true,
            "a tampered body verified: {r}"
        );
    }
}

fn add_alice(admin: &Client) {
    admin
        .run_stdin(
            &["users", "add", "alice", "--password-stdin"],
            Some(&format!("{ALICE_PW}\n")),
        )
        .ok();
}

fn register(admin: &Client, receiver: &Receiver, events: &[&str]) -> (String, String) {
    let mut args: Vec<String> = vec!["webhooks".into(), "add".into(), receiver.url()];
    for e in events {
        args.extend(["--event".into(), (*e).to_owned()]);
    }
    args.extend([
        "--description".into(),
        "the test receiver".into(),
        "--json".into(),
    ]);
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let made = admin.run(&refs).ok().json();
    let secret = made["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"), "{made}");
    receiver.set("secret", &secret);
    (made["id"].as_str().unwrap().to_owned(), secret)
}

#[test]
fn deliveries_verify_and_survive_a_receiver_outage_and_a_restart_in_order_once_each() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let flags = [
        "--webhook-retry-max",
        "200ms",
        "--lockout-threshold",
        "3",
        "--lockout-addresses",
        "1",
    ];
    let envs = [("SESSIOND_ADMIN_PASSWORD", ADMIN_PW)];
    let server = Server::start(&data, &flags, &envs);
    let admin = Client::new(tmp.path(), "admin");
    admin.login(&server.url, "admin", ADMIN_PW).ok();
    add_alice(&admin);
    let mut receiver = Receiver::start(&tmp.path().join("receiver"));
    let (id, old_secret) = register(&admin, &receiver, &[]);

    // The secret is shown once: never in a listing or a show.
    let shown = admin.run(&["webhooks", "show", &id, "--json"]).ok();
    assert!(!shown.stdout.contains(&old_secret), "{}", shown.stdout);
    assert!(!admin
        .run(&["webhooks", "list"])
        .ok()
        .stdout
        .contains(&old_secret));
    assert_eq!(shown.json()["events"].as_array().unwrap().len(), 4);

    // A session opened and revoked: the revocation reaches the receiver within a second.
    let alice = Client::new(tmp.path(), "alice");
    alice.login(&server.url, "alice", ALICE_PW).ok();
    let s1 = alice.session_id();
    wait_for(Duration::from_secs(5), "session.created", || {
        (receiver.delivered().len() == 1).then_some(())
    });
    admin.run(&["sessions", "revoke", &s1]).ok();
    let revoked = Instant::now();
    wait_for(Duration::from_secs(5), "session.ended", || {
        (receiver.delivered().len() == 2).then_some(())
    });
    let took = revoked.elapsed();
    assert!(took < Duration::from_secs(1), "delivered after {took:?}");
    let first = receiver.delivered();
    assert_eq!(
        first.iter().map(summary).collect::<Vec<_>>(),
        [
            ev("session.created", &s1, ""),
            ev("session.ended", &s1, "revoked")
        ]
    );
    let data1 = &first[0]["payload"]["data"];
    assert_eq!(data1["username"], "alice");
    assert_eq!(data1["auth_method"], "password");

    // The receiver goes down; events go on happening; sessiond restarts meanwhile.
    receiver.down();
    alice.login(&server.url, "alice", ALICE_PW).ok();
    let s2 = alice.session_id();
    alice.run(&["logout"]).ok();
    alice.login(&server.url, "alice", ALICE_PW).ok();
    let s3 = alice.session_id();
    admin.run(&["users", "modify", "alice", "--disable"]).ok();
    let bob = Client::new(tmp.path(), "bob");
    admin
        .run_stdin(
            &["users", "add", "bob", "--password-stdin"],
            Some("bob-password-1\n"),
        )
        .ok();
    for _ in 0..3 {
        let out = bob.login(&server.url, "bob", "not-bobs-password");
        assert_ne!(out.code(), Some(0));
    }
    let status = wait_for(Duration::from_secs(5), "a failed attempt", || {
        let w = admin.run(&["webhooks", "show", &id, "--json"]).ok().json();
        (w["status"]["failures"].as_i64() >= Some(1)).then_some(w)
    });
    assert!(
        status["status"]["last_error"]
            .as_str()
            .unwrap()
            .starts_with("cannot connect"),
        "{status}"
    );
    server.stop().ok();
    let server = Server::start(&data, &flags, &envs);
    // The CLI follows the server to its new port: one more session.
    admin.login(&server.url, "admin", ADMIN_PW).ok();
    let admin_again = admin.session_id();
    receiver.up();

    let expected = [
        ev("session.created", &s1, ""),
        ev("session.ended", &s1, "revoked"),
        ev("session.created", &s2, ""),
        ev("session.ended", &s2, "logout"),
        ev("session.created", &s3, ""),
        ev("user.disabled", "alice", ""),
        ev("session.ended", &s3, "user_disabled"),
        ev("user.locked", "bob", ""),
        ev("session.created", &admin_again, ""),
    ];
    let all = wait_for(Duration::from_secs(10), "every event", || {
        let d = receiver.delivered();
        (d.len() >= expected.len()).then_some(d)
    });
    assert_eq!(all.iter().map(summary).collect::<Vec<_>>(), expected);
    assert_each_once_and_verified(&all);
    assert!(all[7]["payload"]["data"]["locked_until"].is_string());
    let w = admin.run(&["webhooks", "show", &id, "--json"]).ok().json();
    assert_eq!(w["status"]["queued"], 0);
    assert_eq!(w["status"]["failures"], 0);

    // A rotated secret: the old one keeps verifying for the overlap, the new one at once.
    let rotated = admin
        .run(&["webhooks", "rotate-secret", &id, "--json"])
        .ok()
        .json();
    let new_secret = rotated["secret"].as_str().unwrap().to_owned();
    assert_ne!(new_secret, old_secret);
    admin.run(&["users", "modify", "alice", "--enable"]).ok();
    for (n, secret) in [(1, &old_secret), (2, &new_secret)] {
        receiver.set("secret", secret);
        alice.login(&server.url, "alice", ALICE_PW).ok();
        let got = wait_for(
            Duration::from_secs(5),
            "a delivery after the rotation",
            || {
                let r = receiver.requests();
                (r.len() == all.len() + n).then(|| r.last().cloned().unwrap())
            },
        );
        assert_eq!(got["verified"], true, "{got}");
        assert_eq!(got["signatures"], 2, "{got}");
    }
    drop(server);
}

#[test]
fn refused_events_fill_the_dead_letters_and_replay_in_order() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let server = Server::start(
        &data,
        &[
            "--webhook-retry-max",
            "100ms",
            "--webhook-give-up-after",
            "1s",
        ],
        &[("SESSIOND_ADMIN_PASSWORD", ADMIN_PW)],
    );
    let admin = Client::new(tmp.path(), "admin");
    admin.login(&server.url, "admin", ADMIN_PW).ok();
    add_alice(&admin);
    let receiver = Receiver::start(&tmp.path().join("receiver"));
    receiver.set("status", "500");
    let (id, _) = register(&admin, &receiver, &["session.created"]);

    let alice = Client::new(tmp.path(), "alice");
    let mut sessions = vec![];
    for _ in 0..3 {
        alice.login(&server.url, "alice", ALICE_PW).ok();
        sessions.push(alice.session_id());
    }
    let status = wait_for(Duration::from_secs(10), "three dead letters", || {
        let w = admin.run(&["webhooks", "show", &id, "--json"]).ok().json();
        (w["status"]["dead_letters"] == 3).then_some(w)
    });
    assert_eq!(status["status"]["queued"], 0, "{status}");
    assert_eq!(status["status"]["last_error"], "answered HTTP 500");
    assert!(receiver.delivered().is_empty());
    let listed = admin.run(&["webhooks", "list"]).ok().stdout;
    assert!(listed.contains("answered HTTP 500"), "{listed}");

    let dead = admin
        .run(&["webhooks", "dead-letters", &id, "--json"])
        .ok()
        .json();
    let dead = dead["dead_letters"].as_array().unwrap().clone();
    let dead_sessions: Vec<&str> = dead
        .iter()
        .map(|d| d["payload"]["data"]["session_id"].as_str().unwrap())
        .collect();
    assert_eq!(dead_sessions, sessions);
    assert!(dead.iter().all(|d| d["type"] == "session.created"));
    assert!(dead.iter().all(|d| d["last_error"] == "answered HTTP 500"));
    assert!(dead[0]["attempts"].as_i64().unwrap() >= 1, "{dead:?}");

    // The receiver is fixed: new events flow again, and the dead letters replay in order.
    receiver.set("status", "204");
    alice.login(&server.url, "alice", ALICE_PW).ok();
    let s4 = alice.session_id();
    wait_for(Duration::from_secs(5), "the new event", || {
        (receiver.delivered().len() == 1).then_some(())
    });
    let out = admin.run(&["webhooks", "replay", &id]).ok();
    assert!(
        out.stdout.contains("Queued 3 dead letter(s) again"),
        "{}",
        out.stdout
    );
    let all = wait_for(Duration::from_secs(5), "the replayed events", || {
        let d = receiver.delivered();
        (d.len() == 4).then_some(d)
    });
    let got: Vec<String> = all.iter().map(|r| summary(r).1).collect();
    assert_eq!(
        got,
        [&s4, &sessions[0], &sessions[1], &sessions[2]].map(|s| s.clone())
    );
    let replayed_ids: Vec<&str> = all[1..].iter().map(|r| r["id"].as_str().unwrap()).collect();
    let dead_ids: Vec<&str> = dead.iter().map(|d| d["id"].as_str().unwrap()).collect();
    assert_eq!(
        replayed_ids, dead_ids,
        "a replay keeps each event's webhook-id"
    );
    assert_each_once_and_verified(&all);
    let w = admin.run(&["webhooks", "show", &id, "--json"]).ok().json();
    assert_eq!(w["status"]["dead_letters"], 0);

    admin.run(&["webhooks", "delete", &id]).ok();
    assert!(
        admin.run(&["webhooks", "list", "--json"]).ok().json()["webhooks"]
            .as_array()
            .unwrap()
            .is_empty()
    );
}

#[test]
fn a_cluster_delivers_each_event_once_and_a_revocation_on_one_node_within_a_second() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let schema = rt.block_on(sessiond_store::testing::PgSchema::create());
    let tmp = tempfile::tempdir().unwrap();
    let envs = [("SESSIOND_ADMIN_PASSWORD", ADMIN_PW)];
    let a = Server::start_on_postgres(&schema.url, &[], &envs);
    let b = Server::start_on_postgres(&schema.url, &[], &envs);
    let admin = Client::new(tmp.path(), "admin");
    admin.login(&a.url, "admin", ADMIN_PW).ok();
    add_alice(&admin);
    let receiver = Receiver::start(&tmp.path().join("receiver"));
    register(&admin, &receiver, &["session.created", "session.ended"]);

    let alice = Client::new(tmp.path(), "alice");
    let mut expected = vec![];
    for i in 0..4 {
        alice.login(&b.url, "alice", ALICE_PW).ok();
        let sid = alice.session_id();
        expected.push(ev("session.created", &sid, ""));
        expected.push(ev("session.ended", &sid, "revoked"));
        // Each revocation on node A; the event may go out from either node.
        admin.run(&["sessions", "revoke", &sid]).ok();
        let revoked = Instant::now();
        wait_for(Duration::from_secs(5), "the revocation", || {
            (receiver.delivered().len() == expected.len()).then_some(())
        });
        if i == 0 {
            let took = revoked.elapsed();
            assert!(took < Duration::from_secs(1), "delivered after {took:?}");
        }
    }
    // Both nodes keep looking for a while: nothing arrives twice.
    std::thread::sleep(Duration::from_millis(600));
    let all = receiver.delivered();
    assert_eq!(all.iter().map(summary).collect::<Vec<_>>(), expected);
    assert_each_once_and_verified(&all);
    assert_eq!(receiver.requests().len(), all.len());
    drop((a, b));
}
