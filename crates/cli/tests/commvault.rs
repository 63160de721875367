//! The real Commvault SDK, `cvpysdk` 11.44 (pinned in tests/clients/requirements.txt),
//! against a running sessiond over verified HTTPS.

mod common;

use std::process::Command;

use common::*;

const ADMIN_PW: &str = "admin-password-1";

/// Logs in with the SDK, lists admin's sessions, logs out, then fails a login three times.
/// Prints one JSON document.
const SCRIPT: &str = r#"
import json, sys
from cvpysdk.commcell import Commcell
from cvpysdk.exception import SDKException

port, cert, password = sys.argv[1], sys.argv[2], sys.argv[3]
url = "https://127.0.0.1:%s/commandcenter/api" % port
out = {}
cc = Commcell("127.0.0.1:" + port, "admin", password, web_service_url=url, certificate_path=cert)
out["token_scheme"] = cc.auth_token.split(" ")[0]
user = cc.users.get("admin")
out["user"] = [user.user_name, user.user_id]
out["sessions"] = user.get_sessions()
out["logout"] = cc.logout()
errors = []
for attempt in ["wrong-1", "wrong-2", "wrong-3", password]:
    try:
        Commcell("127.0.0.1:" + port, "admin", attempt, web_service_url=url, certificate_path=cert)
        errors.append("logged in")
    except SDKException as e:
        errors.append(str(e))
out["errors"] = errors
print(json.dumps(out))
"#;

#[test]
fn cvpysdk_logs_in_lists_sessions_from_every_dialect_logs_out_and_meets_the_lock() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let server = Server::start_https(
        &data,
        // One address locks the name here, so that the SDK meets a lock (by default a name
        // locks only on failures from three addresses).
        &["--lockout-threshold", "3", "--lockout-addresses", "1"],
        &[("SESSIOND_ADMIN_PASSWORD", ADMIN_PW)],
    );
    let port = server.url.rsplit(':').next().unwrap().to_owned();
    // A session opened through the native API, by sessiond's own CLI.
    let cli = https_client(tmp.path(), &server, &data, "admin", ADMIN_PW);
    let native_id = cli.session_id();

    let script = tmp.path().join("flow.py");
    std::fs::write(&script, SCRIPT).unwrap();
    let mut cmd = Command::new(clients_venv().join("bin").join("python"));
    cmd.arg(&script)
        .arg(&port)
        .arg(data.join("tls").join("cert.pem"))
        .arg(ADMIN_PW);
    let out = output_of(cmd, None).ok();
    let got: serde_json::Value =
        serde_json::from_str(out.stdout.trim()).unwrap_or_else(|e| panic!("{e}: {}", out.stdout));
    println!("cvpysdk printed: {got:#}");

    assert_eq!(got["token_scheme"], "QSDK");
    assert_eq!(got["user"], serde_json::json!(["admin", 500]));
    let sessions = got["sessions"].as_array().unwrap();
    assert_eq!(
        sessions.len(),
        2,
        "the CLI's session and the SDK's own: {sessions:?}"
    );
    let native = sessions
        .iter()
        .find(|s| s["sessionId"] == native_id.as_str())
        .expect("the native session");
    let sdk = sessions
        .iter()
        .find(|s| s["sessionId"] != native_id.as_str())
        .unwrap();
    assert_eq!(
        native["consoleType"], 13,
        "sessiond's CLI is the command line"
    );
    assert_eq!(sdk["consoleType"], 19, "a REST login is the Web Console");
    for s in [native, sdk] {
        assert_eq!(s["logoutTime"], 0);
        assert!(s["loginTime"].as_i64().unwrap() > 1_700_000_000);
        assert!(s["browserSessionId"].is_i64() && s["lastAccessedTime"].is_i64());
        assert_eq!(s["host"], "127.0.0.1");
        assert_eq!(
            s["user"],
            serde_json::json!({"userName": "admin", "userId": 500})
        );
    }
    assert_eq!(got["logout"], "User logged out");

    // The SDK's session ended with a logout and stays in the history.
    let all = cli
        .run(&["sessions", "list", "--state", "all", "--json"])
        .ok()
        .json();
    let ended = all["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == sdk["sessionId"])
        .expect("the SDK's session in the history");
    assert_eq!(ended["end_reason"], "logout");

    let errors: Vec<&str> = got["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.as_str().unwrap())
        .collect();
    let bad =
        "Failed to Login with the credentials provided\nError: \"Invalid username or password\"";
    assert_eq!(errors[0], bad);
    assert_eq!(errors[1], bad);
    // The third failure locks the account; then even the right password meets the lock.
    assert_eq!(
        errors[2],
        "Failed to Login with the credentials provided\nError: \"User account is locked for 0 hour(s) 30 minute(s).\""
    );
    assert!(errors[3].starts_with("Failed to Login with the credentials provided\nError: \"User account is locked for 0 hour(s) "), "{}", errors[3]);
}
