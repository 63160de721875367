//! The real binary against what a hostile or careless world does: a umask of 000, request
//! values that try to forge log lines, options that cannot work.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::time::Duration;

use common::{run, Server, LISTENING};

const PASSWORD: &str = "Hardening-Admin-Secret-1";

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p)
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        .permissions()
        .mode()
        & 0o777
}

/// One HTTP/1.1 request over a plain socket; returns the whole answer.
fn http(url: &str, request: &str) -> String {
    let addr = url.trim_start_matches("http://");
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    s.write_all(request.as_bytes()).unwrap();
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out
}

fn login(url: &str, body: &str) -> String {
    http(
        url,
        &format!(
            "POST /api/v1/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ),
    )
}

#[test]
fn the_data_directory_and_its_files_are_private_whatever_the_umask() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let store = ["--data-dir".into(), data.as_os_str().to_owned()];
    let start = || {
        Server::spawn_with(
            &store,
            &[],
            &[("SESSIOND_ADMIN_PASSWORD", PASSWORD)],
            true,
            |cmd| {
                // SAFETY: umask only, in the child between fork and exec.
                unsafe {
                    cmd.pre_exec(|| {
                        libc::umask(0);
                        Ok(())
                    });
                }
            },
        )
    };
    let server = start();
    // The WAL files exist while the server runs.
    for f in ["sessiond.db-wal", "sessiond.db-shm"] {
        assert_eq!(mode(&data.join(f)), 0o600, "{f}");
    }
    let out = server.stop();
    assert_eq!(mode(&data), 0o700, "the data directory");
    for f in ["sessiond.db", "tls/key.pem", "tls/cert.pem"] {
        assert_eq!(mode(&data.join(f)), 0o600, "{f}");
    }
    assert_eq!(mode(&data.join("tls")), 0o700, "tls/");
    assert!(
        !out.stderr.contains("accessible to other users"),
        "{}",
        out.stderr
    );

    // What an operator opened up is reported at the next start, not silently changed.
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(
        data.join("sessiond.db"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    let out = start().stop();
    assert!(
        out.stderr.contains(&format!(
            "the data directory {} is accessible to other users (mode 755)",
            data.display()
        )),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("sessiond.db is accessible to other users (mode 644)"),
        "{}",
        out.stderr
    );
}

/// A user name with a newline and terminal escapes tries to add a log line of its own.
const FORGED: &str =
    "mallory\\nFORGED-LINE  INFO sessiond_core::service::auth: login user=admin\\u001b[2K\\u0007";

#[test]
fn request_values_cannot_forge_log_lines_and_secrets_stay_out() {
    let tmp = tempfile::tempdir().unwrap();
    for format in ["text", "json"] {
        let server = Server::start(
            &tmp.path().join(format!("data-{format}")),
            &["--log-format", format],
            &[
                ("SESSIOND_ADMIN_PASSWORD", PASSWORD),
                ("SESSIOND_LOG", "info"),
            ],
        );
        let refused = login(
            &server.url,
            &format!(r#"{{"username": "{FORGED}", "password": "Wrong-Password-99"}}"#),
        );
        assert!(refused.starts_with("HTTP/1.1 401"), "{refused}");
        let ok = login(
            &server.url,
            &format!(r#"{{"username": "admin", "password": "{PASSWORD}"}}"#),
        );
        assert!(ok.starts_with("HTTP/1.1 200"), "{ok}");
        let token = ok
            .split("\"token\":\"")
            .nth(1)
            .and_then(|t| t.split('"').next())
            .unwrap()
            .to_owned();
        let out = server.stop();
        let log = out.stderr;
        assert!(
            log.contains("mallory"),
            "the failed login is logged:\n{log}"
        );
        for line in log.lines() {
            assert!(!line.starts_with("FORGED-LINE"), "a forged line:\n{log}");
            assert!(
                !line.chars().any(|c| c.is_control() && c != '\t'),
                "a control character in {line:?}"
            );
            if format == "json" {
                serde_json::from_str::<serde_json::Value>(line)
                    .unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}"));
            }
        }
        if format == "text" {
            assert!(
                log.contains("user=mallory\\nFORGED-LINE"),
                "escaped in place:\n{log}"
            );
        }
        for secret in [PASSWORD, "Wrong-Password-99", token.as_str()] {
            assert!(!log.contains(secret), "a secret in the log:\n{log}");
            assert!(!out.stdout.contains(secret), "a secret on stdout");
        }
    }
}

#[test]
fn options_that_cannot_work_are_refused_before_listening() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let data = data.to_str().unwrap();
    for (args, says) in [
        (
            vec!["--keytab", "/nonexistent/http.keytab"],
            "--keytab: /nonexistent/http.keytab is not a file",
        ),
        (
            vec![
                "--tls-cert",
                "/nonexistent/cert.pem",
                "--tls-key",
                "/nonexistent/key.pem",
            ],
            "/nonexistent/cert.pem",
        ),
    ] {
        let mut all = vec!["serve", "--listen", "127.0.0.1:0", "--data-dir", data];
        all.extend(args.iter().copied());
        let out = run(&all, &[("SESSIOND_ADMIN_PASSWORD", PASSWORD)], None);
        assert!(!out.status.success(), "{args:?} was accepted");
        assert!(!out.stdout.contains(LISTENING), "{args:?}: {}", out.stdout);
        assert!(out.stderr.contains(says), "{args:?}: {}", out.stderr);
    }
}
