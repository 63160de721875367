//! The real Qumulo CLI, `qq` from `qumulo-api` 7.10.2.1 (pinned in
//! tests/clients/requirements.txt), against a running sessiond over HTTPS.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;

const ADMIN_PW: &str = "admin-password-1";

/// The `qq` of the pinned client venv.
fn qq_path() -> PathBuf {
    clients_venv().join("bin").join("qq")
}

struct Qq {
    bin: PathBuf,
    port: String,
    creds: PathBuf,
}

impl Qq {
    fn new(server: &Server, creds: PathBuf) -> Qq {
        let port = server.url.rsplit(':').next().unwrap().to_owned();
        Qq {
            bin: qq_path(),
            port,
            creds,
        }
    }

    /// `qq --host 127.0.0.1 --port P --credentials-store FILE ARGS`, with stdin closed.
    fn run(&self, args: &[&str]) -> Output {
        self.run_with(&self.creds, args)
    }

    fn run_with(&self, creds: &Path, args: &[&str]) -> Output {
        let mut cmd = Command::new(&self.bin);
        cmd.args([
            "--host",
            "127.0.0.1",
            "--port",
            &self.port,
            "--credentials-store",
        ])
        .arg(creds)
        .args(args);
        output_of(cmd, None)
    }
}

fn json_prefix(stdout: &str) -> serde_json::Value {
    // qq prints the who-am-i JSON first, then plain lines.
    let end = stdout
        .find("\nThis user is granted")
        .unwrap_or(stdout.len());
    serde_json::from_str(&stdout[..end]).unwrap_or_else(|e| panic!("{e}: {stdout}"))
}

#[test]
fn qq_login_who_am_i_access_tokens_password_and_an_unprivileged_user() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start_https(
        &tmp.path().join("data"),
        &["--page-size", "2"],
        &[("SESSIOND_ADMIN_PASSWORD", ADMIN_PW)],
    );
    let qq = Qq::new(&server, tmp.path().join("admin.cred"));

    // A wrong password is Qumulo's 401 error, printed by qq.
    let bad = qq
        .run(&["login", "-u", "admin", "-p", "wrong-password"])
        .fails_with(1);
    assert!(
        bad.stderr.contains("Error 401: http_unauthorized_error"),
        "{}",
        bad.stderr
    );
    qq.run(&["login", "-u", "admin", "-p", ADMIN_PW]).ok();
    // A second login carries the stored token along, and still works.
    qq.run(&["login", "-u", "admin", "-p", ADMIN_PW]).ok();

    let me = qq.run(&["who_am_i"]).ok();
    let who = json_prefix(&me.stdout);
    assert_eq!(who["id"], "500");
    assert_eq!(who["name"], "admin");
    assert_eq!(who["primary_group"], "512");
    assert_eq!(who["sid"], "S-1-5-21-1-2-3-500");
    assert_eq!(who["can_change_password"], true);
    assert!(who.get("access_token_id").is_none());
    let privileges = who["privileges"].as_array().unwrap();
    assert_eq!(
        privileges.len(),
        123,
        "every Qumulo privilege, and only those"
    );
    assert!(me
        .stdout
        .contains("This user is granted the following roles:\n[\n    \"Administrators\"\n]"));
    assert!(
        me.stdout
            .contains("User 500 is a member of following groups:"),
        "{}",
        me.stdout
    );
    assert!(
        me.stdout
            .contains("Expanded identity information for user 500:"),
        "{}",
        me.stdout
    );

    // Users and groups as qq lists them.
    let users: serde_json::Value =
        serde_json::from_str(&qq.run(&["auth_list_users"]).ok().stdout).unwrap();
    assert_eq!(users[0]["id"], "500");
    let one = qq.run(&["auth_list_user", "--id", "admin"]).ok();
    assert!(one.stdout.contains("\"name\": \"admin\"") && one.stdout.contains("Expanded identity"));
    assert!(qq
        .run(&["auth_list_groups"])
        .ok()
        .stdout
        .contains("\"name\": \"Admins\""));

    // An access token: created into a file, then used, then deleted.
    let token_file = tmp.path().join("token.json");
    let created = qq
        .run(&[
            "auth_create_access_token",
            "admin",
            "--file",
            token_file.to_str().unwrap(),
        ])
        .ok();
    let created: serde_json::Value = serde_json::from_str(&created.stdout).unwrap();
    let token_id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(token_id.len(), 22);
    let with_token = qq.run_with(&token_file, &["who_am_i"]).ok();
    let who = json_prefix(&with_token.stdout);
    assert_eq!(who["access_token_id"], token_id.as_str());
    assert_eq!(who["id"], "500");

    // Listing crosses pages (page size 2) and follows paging.next with the filter kept.
    for _ in 0..2 {
        qq.run(&["auth_create_access_token", "--self"]).ok();
    }
    let listed = qq
        .run(&["auth_list_access_tokens", "--json", "--self"])
        .ok();
    let listed: serde_json::Value = serde_json::from_str(&listed.stdout).unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 3, "{listed}");
    let table = qq.run(&["auth_list_access_tokens"]).ok();
    assert!(table.stdout.contains(&token_id), "{}", table.stdout);

    // Disabled: refused; enabled again: works; deleted: refused for good.
    qq.run(&["auth_modify_access_token", &token_id, "-d"]).ok();
    let refused = qq.run_with(&token_file, &["who_am_i"]).fails_with(1);
    assert!(refused.stderr.contains("Error 401"), "{}", refused.stderr);
    qq.run(&["auth_modify_access_token", &token_id, "-e"]).ok();
    qq.run_with(&token_file, &["who_am_i"]).ok();
    qq.run(&["auth_delete_access_token", &token_id]).ok();
    let refused = qq.run_with(&token_file, &["who_am_i"]).fails_with(1);
    assert!(refused.stderr.contains("Error 401"), "{}", refused.stderr);
    let gone = qq.run(&["auth_get_access_token", &token_id]).fails_with(1);
    assert!(gone.stderr.contains("Error 404"), "{}", gone.stderr);

    // A user without privileges: who_am_i still works (the 403s on groups are swallowed);
    // the privileged calls are 403 with the missing privilege named.
    let admin = Client::new(tmp.path(), "admin-cli");
    let ca = tmp.path().join("data").join("tls").join("cert.pem");
    let creds = admin.credentials.to_str().unwrap().to_owned();
    run(
        &[
            "login",
            "--server",
            &server.url,
            "--username",
            "admin",
            "--ca",
            ca.to_str().unwrap(),
            "--credentials",
            &creds,
        ],
        &[("SESSIOND_PASSWORD", ADMIN_PW)],
        None,
    )
    .ok();
    admin
        .run_stdin(
            &["users", "add", "bob", "--password-stdin"],
            Some("bob-password-1\n"),
        )
        .ok();
    let bob = Qq::new(&server, tmp.path().join("bob.cred"));
    bob.run(&["login", "-u", "bob", "-p", "bob-password-1"])
        .ok();
    let me = bob.run(&["who_am_i"]).ok();
    let who = json_prefix(&me.stdout);
    assert_eq!(who["name"], "bob");
    assert_eq!(who["privileges"], serde_json::json!([]));
    assert!(
        !me.stdout.contains("member of following groups"),
        "{}",
        me.stdout
    );
    let denied = bob.run(&["auth_list_users"]).fails_with(1);
    assert!(
        denied.stderr.contains(
            "Error 403: http_forbidden_error: Missing privilege PRIVILEGE_LOCAL_USER_READ"
        ),
        "{}",
        denied.stderr
    );
    let denied = bob
        .run(&["auth_create_access_token", "admin"])
        .fails_with(1);
    assert!(
        denied.stderr.contains("PRIVILEGE_ACCESS_TOKENS_WRITE"),
        "{}",
        denied.stderr
    );

    // change_password: the old password must be right; then only the new one logs in.
    let wrong = bob
        .run(&[
            "change_password",
            "-o",
            "not-it-at-all",
            "-p",
            "bob-password-2",
        ])
        .fails_with(1);
    assert!(wrong.stderr.contains("Error 401"), "{}", wrong.stderr);
    let changed = bob
        .run(&[
            "change_password",
            "-o",
            "bob-password-1",
            "-p",
            "bob-password-2",
        ])
        .ok();
    assert!(changed.stdout.contains("Your password has been changed."));
    bob.run(&["login", "-u", "bob", "-p", "bob-password-1"])
        .fails_with(1);
    bob.run(&["login", "-u", "bob", "-p", "bob-password-2"])
        .ok();
    bob.run(&["who_am_i"]).ok();
}

/// Reports a session as the reporter, over HTTPS trusting the server's certificate.
fn report(
    server: &Server,
    ca: &Path,
    token: &str,
    on: &str,
    body: serde_json::Value,
) -> serde_json::Value {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let cert = reqwest::Certificate::from_pem(&std::fs::read(ca).unwrap()).unwrap();
        let http = reqwest::Client::builder()
            .add_root_certificate(cert)
            .build()
            .unwrap();
        let resp = http
            .post(format!("{}/api/v1/servers/{on}/sessions", server.url))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), reqwest::StatusCode::CREATED);
        resp.json().await.unwrap()
    })
}

#[test]
fn qq_lists_and_closes_smb_sessions_reported_by_file_servers() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let server = Server::start_https(
        &data,
        &["--page-size", "2"],
        &[("SESSIOND_ADMIN_PASSWORD", ADMIN_PW)],
    );
    let admin = https_client(tmp.path(), &server, &data, "admin", ADMIN_PW);
    for u in ["alice", "bob", "reporter"] {
        admin
            .run_stdin(
                &["users", "add", u, "--password-stdin"],
                Some(&format!("{u}-password-1\n")),
            )
            .ok();
    }
    admin
        .run(&["users", "set-roles", "reporter", "Session Reporters"])
        .ok();
    let reporter = https_client(
        tmp.path(),
        &server,
        &data,
        "reporter",
        "reporter-password-1",
    );
    let token = reporter.saved()["token"].as_str().unwrap().to_owned();
    let ca = data.join("tls/cert.pem");
    for (on, client, user, share) in [
        ("FS1", "WS01", "alice", "data"),
        ("FS1", "WS02", "bob", "home"),
        ("FS2", "LAPTOP7", "alice", "data"),
    ] {
        report(
            &server,
            &ca,
            &token,
            on,
            serde_json::json!({"client_name": client, "username": user, "num_opens": 2, "shares": [share]}),
        );
    }

    let qq = Qq::new(&server, tmp.path().join("admin.cred"));
    qq.run(&["login", "-u", "admin", "-p", ADMIN_PW]).ok();
    // Three sessions over pages of two: qq follows paging.next.
    let listed = qq.run(&["smb_list_sessions"]).ok();
    let all: serde_json::Value =
        serde_json::from_str(&listed.stdout).unwrap_or_else(|e| panic!("{e}: {}", listed.stdout));
    let infos = all["session_infos"].as_array().unwrap();
    assert_eq!(infos.len(), 3, "{all:#}");
    let ws01 = infos.iter().find(|i| i["originator"] == "WS01").unwrap();
    assert_eq!(ws01["server_address"], "FS1");
    assert_eq!(ws01["user"]["name"], "alice");
    assert_eq!(ws01["num_opens"], 2);
    assert_eq!(ws01["share_names"], serde_json::json!(["data"]));
    assert!(ws01["time_open"]["nanoseconds"]
        .as_str()
        .unwrap()
        .parse::<u128>()
        .is_ok());
    // The identity filter, across pages too.
    let alice = qq
        .run(&[
            "smb_list_sessions",
            "--identity",
            "alice",
            "--page-size",
            "1",
        ])
        .ok();
    let alice: serde_json::Value = serde_json::from_str(&alice.stdout).unwrap();
    assert_eq!(alice["session_infos"].as_array().unwrap().len(), 2);

    // Close alice's session from WS01 (qq asks for confirmation on stdin).
    let mut cmd = Command::new(&qq.bin);
    cmd.args([
        "--host",
        "127.0.0.1",
        "--port",
        &qq.port,
        "--credentials-store",
    ])
    .arg(&qq.creds)
    .args(["smb_close_sessions", "--ip", "WS01"]);
    output_of(cmd, Some("yes\n")).ok();
    let left = qq.run(&["smb_list_sessions"]).ok();
    let left: serde_json::Value = serde_json::from_str(&left.stdout).unwrap();
    let origins: Vec<&str> = left["session_infos"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["originator"].as_str().unwrap())
        .collect();
    assert_eq!(origins.len(), 2);
    assert!(!origins.contains(&"WS01"), "{origins:?}");
    // It ended as closed by the server; bob without the privilege is refused.
    let ended = admin
        .run(&[
            "sessions", "list", "--state", "ended", "--server", "FS1", "--json",
        ])
        .ok()
        .json();
    assert_eq!(ended["sessions"][0]["end_reason"], "closed_by_server");
    let bob = Qq::new(&server, tmp.path().join("bob.cred"));
    bob.run(&["login", "-u", "bob", "-p", "bob-password-1"])
        .ok();
    let denied = bob.run(&["smb_list_sessions"]).fails_with(1);
    assert!(
        denied.stderr.contains("PRIVILEGE_SMB_SESSION_READ"),
        "{}",
        denied.stderr
    );

    // The same sessions through sessiond's own net session.
    let net = admin.run(&["net", "session", "--server", "FS1"]).ok();
    assert!(
        net.stdout.contains("\\\\WS02") && net.stdout.contains("bob"),
        "{}",
        net.stdout
    );
}
