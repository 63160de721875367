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
