//! `sessiond report samba` against a real Samba file server: a private `smbd` (Debian's
//! `samba`, installed by scripts/test) on a loopback port, real `smbclient` sessions held
//! open, `smbstatus --json` read by the reporter (as root, as smbstatus requires).

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

const ADMIN_PW: &str = "admin-password-1";

/// A private smbd: configuration, state and port of its own.
struct Smbd {
    child: Child,
    dir: PathBuf,
    port: u16,
}

impl Smbd {
    fn start(dir: &Path) -> Smbd {
        let port = free_port();
        for sub in [
            "share", "private", "lock", "state", "cache", "pid", "ncalrpc",
        ] {
            std::fs::create_dir_all(dir.join(sub)).unwrap();
        }
        // The share must be enterable by the Samba users (tempdir makes 0700).
        for d in [dir.parent().unwrap(), dir, &dir.join("share")] {
            chmod(d, "755");
        }
        std::fs::write(dir.join("share/hello.txt"), "hello\n").unwrap();
        chmod(&dir.join("share/hello.txt"), "644");
        let d = dir.display();
        let conf = format!(
            "[global]\nserver role = standalone server\nsmb ports = {port}\ninterfaces = lo\n\
             bind interfaces only = yes\ndisable netbios = yes\nload printers = no\n\
             disable spoolss = yes\npassdb backend = tdbsam\n\
             private dir = {d}/private\nlock directory = {d}/lock\nstate directory = {d}/state\n\
             cache directory = {d}/cache\npid directory = {d}/pid\nncalrpc dir = {d}/ncalrpc\n\
             log file = {d}/log.%m\n\n[share]\npath = {d}/share\nread only = no\n"
        );
        std::fs::write(dir.join("smb.conf"), conf).unwrap();
        // setsid: smbd signals its whole process group when it stops.
        let child = Command::new("setsid")
            .args([
                "/usr/sbin/smbd",
                "-F",
                "--no-process-group",
                "--debug-stdout",
                "-s",
            ])
            .arg(dir.join("smb.conf"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("cannot start smbd (scripts/test installs Debian's samba)");
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "smbd did not listen on {port}");
            std::thread::sleep(Duration::from_millis(50));
        }
        Smbd {
            child,
            dir: dir.to_owned(),
            port,
        }
    }

    fn conf(&self) -> PathBuf {
        self.dir.join("smb.conf")
    }

    /// A Unix account (without a home or a shell) with a Samba password.
    fn user(&self, name: &str, password: &str) {
        let exists = Command::new("id")
            .arg(name)
            .output()
            .unwrap()
            .status
            .success();
        if !exists {
            let ok = Command::new("useradd")
                .args(["-M", "-s", "/usr/sbin/nologin", name])
                .status()
                .unwrap();
            assert!(
                ok.success(),
                "useradd {name} failed (the Samba tests run as root)"
            );
        }
        let mut p = Command::new("smbpasswd")
            .arg("-c")
            .arg(self.conf())
            .args(["-s", "-a", name])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        use std::io::Write;
        p.stdin
            .take()
            .unwrap()
            .write_all(format!("{password}\n{password}\n").as_bytes())
            .unwrap();
        assert!(p.wait().unwrap().success(), "smbpasswd -a {name} failed");
    }

    /// An smbclient session that opens hello.txt and stays connected until killed (its
    /// input held open).
    fn hold_session(&self, user: &str, password: &str) -> (Child, std::process::ChildStdin) {
        let mut child = Command::new("smbclient")
            .args(["-p", &self.port.to_string(), "//127.0.0.1/share"])
            .arg("-U")
            .arg(format!("{user}%{password}"))
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut input = child.stdin.take().unwrap();
        use std::io::Write;
        input.write_all(b"open hello.txt\n").unwrap();
        (child, input)
    }

    /// `(sessions, opens)` as smbstatus sees them.
    fn counts(&self) -> (usize, usize) {
        let out = Command::new("smbstatus")
            .arg("-s")
            .arg(self.conf())
            .arg("--json")
            .output()
            .unwrap();
        assert!(out.status.success(), "smbstatus failed (it needs root)");
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let sessions = v["sessions"].as_object().map_or(0, |o| o.len());
        let opens = v["open_files"].as_object().map_or(0, |files| {
            files
                .values()
                .map(|f| f["opens"].as_object().map_or(0, |o| o.len()))
                .sum()
        });
        (sessions, opens)
    }
}

impl Drop for Smbd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        // smbd's helpers detach; their pid files say where they are.
        if let Ok(pids) = std::fs::read_dir(self.dir.join("pid")) {
            for f in pids.flatten() {
                if let Ok(pid) = std::fs::read_to_string(f.path()) {
                    let _ = Command::new("kill").arg(pid.trim()).status();
                }
            }
        }
    }
}

fn chmod(path: &Path, mode: &str) {
    assert!(Command::new("chmod")
        .arg(mode)
        .arg(path)
        .status()
        .unwrap()
        .success());
}

/// An access token of a new user in the role Session Reporters, in a file.
fn reporter_token(admin: &Client, server: &Server, dir: &Path) -> PathBuf {
    admin
        .run_stdin(
            &["users", "add", "smbreporter", "--password-stdin"],
            Some("reporter-password-1\n"),
        )
        .ok();
    admin
        .run(&["users", "set-roles", "smbreporter", "Session Reporters"])
        .ok();
    let id = admin
        .run(&["users", "show", "smbreporter", "--json"])
        .ok()
        .json()["id"]
        .as_i64()
        .unwrap();
    let session = admin.saved()["token"].as_str().unwrap().to_owned();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let token: serde_json::Value = rt.block_on(async {
        reqwest::Client::new()
            .post(format!("{}/v1/auth/access-tokens/", server.url))
            .bearer_auth(session)
            .json(&serde_json::json!({"user": {"auth_id": id.to_string()}}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    });
    let file = dir.join("reporter-token");
    std::fs::write(&file, token["bearer_token"].as_str().unwrap()).unwrap();
    file
}

#[test]
fn the_reporter_keeps_a_real_samba_servers_sessions_in_step() {
    let tmp = tempfile::tempdir().unwrap();
    let smbd = Smbd::start(&tmp.path().join("samba"));
    smbd.user("smbalice", "Smb-alice-pw1");
    smbd.user("smbbob", "Smb-bob-pw1");
    // An SMB user sessiond does not know: skipped, and no obstacle to the others.
    smbd.user("smbcarol", "Smb-carol-pw1");
    let data = tmp.path().join("data");
    let envs = [("SESSIOND_ADMIN_PASSWORD", ADMIN_PW)];
    let server = Server::start(&data, &[], &envs);
    let admin = Client::new(tmp.path(), "admin");
    admin.login(&server.url, "admin", ADMIN_PW).ok();
    for u in ["smbalice", "smbbob"] {
        admin
            .run_stdin(
                &["users", "add", u, "--password-stdin"],
                Some("sessiond-pw-1\n"),
            )
            .ok();
    }
    let token = reporter_token(&admin, &server, tmp.path());
    let mut alice = smbd.hold_session("smbalice", "Smb-alice-pw1");
    let mut bob = smbd.hold_session("smbbob", "Smb-bob-pw1");
    let mut carol = smbd.hold_session("smbcarol", "Smb-carol-pw1");
    wait_for(
        Duration::from_secs(10),
        "three SMB sessions with their files open",
        || (smbd.counts() == (3, 3)).then_some(()),
    );
    let report = |url: &str| {
        run(
            &[
                "report",
                "samba",
                "--smb-conf",
                smbd.conf().to_str().unwrap(),
                "--server",
                "FS1",
                "--url",
                url,
                "--token-file",
                token.to_str().unwrap(),
                "--once",
            ],
            &[],
            None,
        )
        .ok()
        .stdout
    };

    let out = report(&server.url);
    assert!(
        out.contains("FS1: 2 reported, 0 changed, 0 closed, 1 of unknown users skipped"),
        "{out}"
    );
    let listed = admin
        .run(&["net", "session", "--server", "FS1"])
        .ok()
        .stdout;
    for who in ["smbalice", "smbbob", "\\\\127.0.0.1", "SMB3"] {
        assert!(listed.contains(who), "{who} missing from:\n{listed}");
    }
    let level1 = admin
        .run(&[
            "net", "session", "--server", "FS1", "--level", "1", "--json",
        ])
        .ok()
        .json();
    let entries = level1["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 2, "{level1}");
    for e in entries {
        assert_eq!(e["sesi1_num_opens"], 1, "{e}");
        assert_eq!(e["sesi1_cname"], "\\\\127.0.0.1");
        // Not encrypted (SESS_NOENCRYPTION); signed (sessiond's SESS_SIGNED).
        assert_eq!(e["sesi1_user_flags"].as_i64().unwrap() & 0x2, 0x2, "{e}");
    }

    // Nothing changed: a second pass reports nothing twice.
    carol.0.kill().unwrap();
    carol.0.wait().unwrap();
    wait_for(Duration::from_secs(10), "carol's SMB session to go", || {
        (smbd.counts().0 == 2).then_some(())
    });
    let out = report(&server.url);
    assert!(
        out.contains("FS1: 0 reported, 0 changed, 0 closed\n"),
        "{out}"
    );

    // bob quits: the next pass ends his session ("closed by server").
    bob.0.kill().unwrap();
    bob.0.wait().unwrap();
    wait_for(Duration::from_secs(10), "bob's SMB session to go", || {
        (smbd.counts().0 == 1).then_some(())
    });
    assert!(report(&server.url).contains("FS1: 0 reported, 0 changed, 1 closed"));
    let sessions = admin
        .run(&[
            "sessions", "list", "--server", "FS1", "--state", "all", "--json",
        ])
        .ok()
        .json();
    let all = sessions["sessions"].as_array().unwrap();
    let bobs: Vec<_> = all.iter().filter(|s| s["username"] == "smbbob").collect();
    assert_eq!(bobs.len(), 1, "{sessions}");
    assert_eq!(bobs[0]["end_reason"], "closed_by_server");

    // sessiond restarts; the reporter runs again: it reconciles, it does not duplicate.
    server.stop().ok();
    let server = Server::start(&data, &[], &envs);
    let out = report(&server.url);
    assert!(
        out.contains("FS1: 0 reported, 0 changed, 0 closed"),
        "{out}"
    );
    admin.login(&server.url, "admin", ADMIN_PW).ok();
    let active = admin
        .run(&["sessions", "list", "--server", "FS1", "--json"])
        .ok()
        .json();
    let names: Vec<&str> = active["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["username"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["smbalice"]);
    alice.0.kill().unwrap();
    alice.0.wait().unwrap();
}
