//! The native API against its own OpenAPI document: schemathesis (pinned in the client
//! venv) generates requests from `GET /api/v1/openapi.json` and sends them to the real
//! binary as an admin. No answer may be a 5xx, and none may contradict the document (a
//! status it does not list, a body that does not match its schema, a malformed request
//! accepted).
//!
//! Left out: the "schema-valid request accepted" check, because a request of the right
//! shape may still name a role or privilege that does not exist, or a user id where none
//! is; those are 400 or 404 in the documented error envelope. And the two calls that end
//! the caller's own credential (`DELETE /session`, `POST /session/password`), which
//! would stop the run; the caller is an access token, which revoking sessions leaves alone.

mod common;

use std::process::Command;

use common::{clients_venv, Server};

/// A session token of the admin (whose password the servers here are started with).
async fn admin_session(http: &reqwest::Client, server: &Server) -> String {
    let login: serde_json::Value = http
        .post(format!("{}/api/v1/login", server.url))
        .json(&serde_json::json!({"username": "admin", "password": "admin-password-1"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    login["token"].as_str().unwrap().to_owned()
}

#[test]
fn schemathesis_finds_no_server_error_and_no_contradiction() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let server = Server::start(
        &data,
        &[],
        &[("SESSIOND_ADMIN_PASSWORD", "admin-password-1")],
    );
    let rt = tokio::runtime::Runtime::new().unwrap();
    let token = rt.block_on(async {
        let http = reqwest::Client::new();
        let session = admin_session(&http, &server).await;
        let session = session.as_str();
        let access: serde_json::Value = http
            .post(format!("{}/v1/auth/access-tokens/", server.url))
            .bearer_auth(session)
            .json(&serde_json::json!({"user": {"auth_id": "500"}}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        access["bearer_token"].as_str().unwrap().to_owned()
    });
    let st = clients_venv().join("bin").join("schemathesis");
    let out = Command::new(&st)
        .args([
            "run",
            &format!("{}/api/v1/openapi.json", server.url),
            "--header",
            &format!("Authorization: Bearer {token}"),
            "--checks",
            "all",
            "--exclude-checks",
            "positive_data_acceptance",
            "--exclude-operation-id-regex",
            "^(logout|change_password)$",
            "--max-examples",
            "25",
            "--seed",
            "1",
            "--workers",
            "1",
            "--request-timeout",
            "10",
        ])
        .env("NO_COLOR", "1")
        .env("SCHEMATHESIS_TELEMETRY", "false")
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", st.display()));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "schemathesis found problems:\n{stdout}\n{stderr}"
    );
    // It really ran: every selected operation was tested.
    assert!(stdout.contains("Tested: 48"), "{stdout}");
    let log = server.stop();
    assert!(
        !log.stderr.contains("panicked"),
        "the server panicked:\n{}",
        log.stderr
    );
}

/// `/metrics` read by Prometheus' own parser (the Python client's OpenMetrics parser, which
/// refuses anything the format does not allow), after a login and a who-am-i.
#[test]
fn prometheus_parses_the_metrics() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(
        &tmp.path().join("data"),
        &[],
        &[("SESSIOND_ADMIN_PASSWORD", "admin-password-1")],
    );
    let rt = tokio::runtime::Runtime::new().unwrap();
    let text = rt.block_on(async {
        let http = reqwest::Client::new();
        let token = admin_session(&http, &server).await;
        let token = token.as_str();
        let me = http
            .get(format!("{}/api/v1/session", server.url))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert!(me.status().is_success());
        http.get(format!("{}/metrics", server.url))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    });
    let script = r#"
import sys
from prometheus_client.openmetrics.parser import text_string_to_metric_families
families = {f.name: f for f in text_string_to_metric_families(sys.stdin.read())}
logins = [s for s in families["sessiond_logins"].samples
          if s.labels == {"dialect": "native", "result": "success"}]
assert logins and logins[0].value == 1, logins
requests = [s for s in families["sessiond_http_requests"].samples
            if s.labels == {"dialect": "native", "class": "2xx"}]
assert requests and requests[0].value >= 2, requests
print(len(families), "families")
"#;
    let python = clients_venv().join("bin").join("python");
    let mut child = Command::new(&python)
        .args(["-c", script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write as _;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "the parser refused /metrics:\n{}\n{text}",
        String::from_utf8_lossy(&out.stderr)
    );
    server.stop().ok();
}
