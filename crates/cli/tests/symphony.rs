//! The real Symphony BDK, `symphony-bdk-python` 3.0.0 (pinned in
//! tests/clients/requirements.txt), against sessiond over verified HTTPS: a bot with an RSA
//! key, OBO sessions by user id and by username through the BDK's own OBO session service,
//! an app without GET_BASIC_USER_INFO, the extended fields, and a wrong key.

mod common;

use std::path::Path;
use std::process::Command;

use common::*;

const ADMIN_PW: &str = "admin-password-1";

#[test]
fn bdk_bot_and_obo_sessions_read_user_v2() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let server = Server::start_https(&data, &[], &[("SESSIOND_ADMIN_PASSWORD", ADMIN_PW)]);
    let port = server.url.rsplit(':').next().unwrap().to_owned();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let keys = root.join("tests/fixtures/keys");
    let admin = https_client(tmp.path(), &server, &data, "admin", ADMIN_PW);

    // A service account with a key, and three apps that may act for it.
    let bot = admin
        .run(&[
            "users",
            "add",
            "symbot",
            "--no-password",
            "--account-type",
            "SYSTEM",
            "--display-name",
            "Sym Bot",
            "--email",
            "bot@example.com",
            "--department",
            "R&D",
            "--work-phone",
            "555-0100",
            "--json",
        ])
        .ok()
        .json();
    let bot_id = bot["id"].as_i64().unwrap();
    let pubkey = |name: &str| keys.join(name).to_str().unwrap().to_owned();
    admin
        .run(&[
            "users",
            "add-key",
            "symbot",
            "--public-key",
            &pubkey("bot.pub"),
        ])
        .ok();
    for (app, perms) in [
        ("obo-app", vec!["GET_BASIC_USER_INFO"]),
        (
            "ext-app",
            vec!["GET_BASIC_USER_INFO", "GET_EXTENDED_USER_INFO"],
        ),
        ("mute-app", vec!["SEND_MESSAGES"]),
    ] {
        let key = pubkey("app.pub");
        let mut args = vec![
            "apps",
            "add",
            app,
            "--public-key",
            key.as_str(),
            "--user",
            "symbot",
        ];
        for p in &perms {
            args.extend(["--permission", p]);
        }
        admin.run(&args).ok();
    }

    let config = serde_json::json!({
        "host": "127.0.0.1", "port": port,
        "ca": data.join("tls/cert.pem"), "keys": keys,
        "bot_user": "symbot", "bot_id": bot_id,
        "app": "obo-app", "ext_app": "ext-app", "no_basic_app": "mute-app",
    });
    let mut cmd = Command::new(clients_venv().join("bin/python"));
    cmd.arg(root.join("tests/clients/symphony_flow.py"))
        .arg(config.to_string());
    let out = output_of(cmd, None).ok();
    let got: serde_json::Value = serde_json::from_str(out.stdout.trim())
        .unwrap_or_else(|e| panic!("{e}: {}\n{}", out.stdout, out.stderr));
    println!("the BDK printed: {got:#}");

    // The bot's own UserV2.
    let me = &got["bot"];
    assert_eq!(me["id"], bot_id);
    assert_eq!(me["username"], "symbot");
    assert_eq!(me["accountType"], "SYSTEM");
    assert_eq!(me["displayName"], "Sym Bot");
    assert_eq!(me["emailAddress"], "bot@example.com");
    assert!(
        me.get("department").is_none(),
        "no extended fields without the permission"
    );
    assert_eq!(got["bot_again"], bot_id);
    assert_eq!(got["key_manager_token"], true);
    // OBO by id and by username, through the BDK's own OBO session service.
    for k in ["obo_by_id", "obo_by_username"] {
        assert_eq!(got[k]["id"], bot_id, "{k}");
        assert_eq!(got[k]["username"], "symbot", "{k}");
        assert!(got[k].get("workPhoneNumber").is_none(), "{k}");
    }
    // The extended permission brings the five extended fields.
    let ext = &got["obo_extended"];
    assert_eq!(ext["department"], "R&D");
    assert_eq!(ext["workPhoneNumber"], "555-0100");
    for f in ["mobilePhoneNumber", "jobFunction", "division"] {
        assert!(ext[f].is_string(), "{f}");
    }
    assert_eq!(got["no_basic"], 403);
    // A wrong key is refused at once: 401, no retries.
    assert_eq!(got["wrong_key"], "AuthUnauthorizedError");
    assert!(
        got["wrong_key_seconds"].as_f64().unwrap() < 2.0,
        "{}",
        got["wrong_key_seconds"]
    );

    // Every session the BDK opened is in the core, OBO ones with their app.
    let sessions = admin
        .run(&["sessions", "list", "--user", "symbot", "--json"])
        .ok()
        .json();
    let list = sessions["sessions"].as_array().unwrap();
    assert!(list.iter().any(|s| s["auth_method"] == "rsa_key"));
    let actors: Vec<&str> = list.iter().filter_map(|s| s["actor"].as_str()).collect();
    assert!(
        actors.contains(&"obo-app") && actors.contains(&"ext-app"),
        "{actors:?}"
    );
}
