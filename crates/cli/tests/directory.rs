//! Users from a real OpenLDAP `slapd` (Debian's `slapd` and `ldap-utils`, installed by
//! scripts/test), started by each test on a private loopback port with its own
//! configuration and data: logins in the native, Qumulo and Commvault dialects, roles from
//! groups, changes in the directory reaching open sessions, an outage, StartTLS.

mod common;

use std::path::Path;
use std::time::Duration;

use base64::Engine as _;
use common::*;
use serde_json::{json, Value};
use sessiond_directory::testing::{Slapd, PEOPLE, ROOT_DN, ROOT_PW};

const ADMIN_PW: &str = "admin-password-1";

fn directory_flags(slapd: &Slapd, dir: &Path) -> Vec<String> {
    let pw = dir.join("ldap-bind-password");
    std::fs::write(&pw, format!("{ROOT_PW}\n")).unwrap();
    [
        "--ldap-url",
        &slapd.url,
        "--ldap-bind-dn",
        ROOT_DN,
        "--ldap-bind-password-file",
        pw.to_str().unwrap(),
        "--ldap-user-base",
        PEOPLE,
        "--ldap-group-role",
        "admins=Administrators",
        "--ldap-group-role",
        "cn=operators,ou=groups,dc=example,dc=test=Server Operators",
        "--ldap-disabled-filter",
        "(employeeType=disabled)",
        "--ldap-sync-interval",
        "300ms",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

struct Http {
    rt: tokio::runtime::Runtime,
    client: reqwest::Client,
    base: String,
}

impl Http {
    fn new(base: &str) -> Http {
        Http {
            rt: tokio::runtime::Runtime::new().unwrap(),
            client: reqwest::Client::new(),
            base: base.to_owned(),
        }
    }

    fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value) {
        self.rt.block_on(async {
            let mut req = self.client.request(method, format!("{}{path}", self.base));
            if let Some(t) = token {
                req = req.bearer_auth(t);
            }
            if let Some(b) = body {
                req = req.json(&b);
            }
            let resp = req
                .header("accept", "application/json")
                .send()
                .await
                .unwrap();
            let status = resp.status().as_u16();
            let text = resp.text().await.unwrap();
            (
                status,
                serde_json::from_str(&text).unwrap_or(Value::String(text)),
            )
        })
    }

    fn native_login(&self, user: &str, pw: &str) -> (u16, Value) {
        self.send(
            reqwest::Method::POST,
            "/api/v1/login",
            None,
            Some(json!({"username": user, "password": pw})),
        )
    }

    fn whoami(&self, token: &str) -> (u16, Value) {
        self.send(reqwest::Method::GET, "/api/v1/session", Some(token), None)
    }
}

fn privileges(me: &Value) -> Vec<String> {
    me["privileges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn directory_users_log_in_everywhere_and_follow_the_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let mut slapd = Slapd::start(&tmp.path().join("ldap"), None);
    slapd.seed(
        &[("alice", "Alice", "Liddell"), ("bob", "Bob", "Builder")],
        &[("admins", "alice"), ("operators", "bob")],
    );
    let flags = directory_flags(&slapd, tmp.path());
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    let server = Server::start(
        &tmp.path().join("data"),
        &flags,
        &[("SESSIOND_ADMIN_PASSWORD", ADMIN_PW)],
    );
    let http = Http::new(&server.url);

    // Native: alice, an admin by her group; her name and mail come from the directory.
    let (status, login) = http.native_login("alice", "alice-directory-pw");
    assert_eq!(status, 200, "{login}");
    let alice = login["token"].as_str().unwrap().to_owned();
    let (_, me) = http.whoami(&alice);
    assert_eq!(me["user"]["display_name"], "Alice Liddell");
    assert_eq!(me["user"]["email"], "alice@example.test");
    assert_eq!(me["user"]["roles"], json!(["Administrators"]));
    assert_eq!(me["user"]["directory_dn"], format!("uid=alice,{PEOPLE}"));
    assert!(privileges(&me).contains(&"PRIVILEGE_LOCAL_USER_WRITE".to_owned()));

    // Qumulo and Commvault: bob, a Server Operator by his group.
    let (status, q) = http.send(
        reqwest::Method::POST,
        "/v1/session/login",
        None,
        Some(json!({"username": "bob", "password": "bob-directory-pw"})),
    );
    assert_eq!(status, 200, "{q}");
    let bob = q["bearer_token"].as_str().unwrap().to_owned();
    let (status, who) = http.send(
        reqwest::Method::GET,
        "/v1/session/who-am-i",
        Some(&bob),
        None,
    );
    assert_eq!(status, 200, "{who}");
    assert_eq!(who["name"], "bob");
    let (status, cv) = http.send(
        reqwest::Method::POST,
        "/commandcenter/api/Login",
        None,
        Some(json!({
            "mode": 4, "username": "bob",
            "password": base64::engine::general_purpose::STANDARD.encode("bob-directory-pw"),
            "deviceId": "test-host", "clientType": 30
        })),
    );
    assert_eq!(status, 200, "{cv}");
    assert!(cv["token"].as_str().unwrap().starts_with("QSDK "), "{cv}");
    let (_, me) = http.whoami(&bob);
    assert!(privileges(&me).contains(&"PRIVILEGE_SESSION_READ".to_owned()));
    assert!(!privileges(&me).contains(&"PRIVILEGE_LOCAL_USER_WRITE".to_owned()));

    // A wrong password and an unknown name: the same refusal.
    let (s1, wrong) = http.native_login("alice", "not-her-password");
    let (s2, unknown) = http.native_login("mallory", "whatever-password");
    assert_eq!((s1, s2), (401, 401), "{wrong} {unknown}");
    assert_eq!(wrong, unknown);
    // The directory owns her password: sessiond does not change it.
    let (status, body) = http.send(
        reqwest::Method::POST,
        "/api/v1/session/password",
        Some(&alice),
        Some(json!({"old_password": "alice-directory-pw", "new_password": "another-password-1"})),
    );
    assert_eq!(status, 403, "{body}");

    // A group change in the directory: alice's open session changes privileges.
    slapd.ldif(
        "ldapmodify",
        &format!(
            "dn: cn=admins,ou=groups,dc=example,dc=test\nchangetype: modify\nadd: member\nmember: uid=bob,{PEOPLE}\n-\n\
             delete: member\nmember: uid=alice,{PEOPLE}\n"
        ),
    );
    let admin_privilege = "PRIVILEGE_LOCAL_USER_WRITE".to_owned();
    wait_for(
        Duration::from_secs(5),
        "alice losing Administrators and bob getting it",
        || {
            let alice_has = privileges(&http.whoami(&alice).1).contains(&admin_privilege);
            let bob_has = privileges(&http.whoami(&bob).1).contains(&admin_privilege);
            (!alice_has && bob_has).then_some(())
        },
    );

    // Disabled there: her session ends within a sync and she cannot log in.
    slapd.ldif(
        "ldapmodify",
        &format!("dn: uid=alice,{PEOPLE}\nchangetype: modify\nadd: employeeType\nemployeeType: disabled\n"),
    );
    wait_for(Duration::from_secs(5), "alice's session ending", || {
        (http.whoami(&alice).0 == 401).then_some(())
    });
    let (status, body) = http.native_login("alice", "alice-directory-pw");
    assert_eq!(status, 403, "{body}");
    let admin = Client::new(tmp.path(), "admin");
    admin.login(&server.url, "admin", ADMIN_PW).ok();
    let ended = admin
        .run(&[
            "sessions", "list", "--user", "alice", "--state", "all", "--json",
        ])
        .ok()
        .json();
    assert!(
        ended["sessions"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["end_reason"] == "user_disabled"),
        "{ended}"
    );

    // The directory down: its users get 503 (never "wrong password"), in each dialect's
    // shape; the admin logs in; open sessions answer; /readyz stays 200 and says so.
    slapd.down();
    let (status, body) = http.native_login("bob", "bob-directory-pw");
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["error"]["code"], "unavailable");
    let (status, body) = http.send(
        reqwest::Method::POST,
        "/v1/session/login",
        None,
        Some(json!({"username": "bob", "password": "bob-directory-pw"})),
    );
    assert_eq!(status, 503, "{body}");
    assert_eq!(http.native_login("admin", ADMIN_PW).0, 200);
    assert_eq!(http.whoami(&bob).0, 200);
    let (status, ready) = http.send(reqwest::Method::GET, "/readyz", None, None);
    assert_eq!(
        (status, &ready["directory"]),
        (200, &json!("unavailable")),
        "{ready}"
    );
    // A sync during the outage disables nobody.
    std::thread::sleep(Duration::from_millis(700));
    assert_eq!(http.whoami(&bob).0, 200);

    // Back: logins work again without a restart.
    slapd.up();
    let (status, body) = http.native_login("bob", "bob-directory-pw");
    assert_eq!(status, 200, "{body}");
    let (_, ready) = http.send(reqwest::Method::GET, "/readyz", None, None);
    assert_eq!(ready["directory"], "ok");

    // Removed from the directory: disabled here at the next sync.
    slapd.ldif(
        "ldapmodify",
        &format!("dn: uid=bob,{PEOPLE}\nchangetype: delete\n"),
    );
    wait_for(Duration::from_secs(5), "bob's sessions ending", || {
        (http.whoami(&bob).0 == 401).then_some(())
    });
    let log = server.stop();
    assert!(
        !log.stderr.contains("directory-pw"),
        "a password in the log"
    );
    assert!(
        !log.stderr.contains(ROOT_PW),
        "the bind password in the log"
    );
}

#[test]
fn starttls_with_a_ca_file_and_refused_without_it() {
    let tmp = tempfile::tempdir().unwrap();
    let ldap_dir = tmp.path().join("ldap");
    std::fs::create_dir_all(&ldap_dir).unwrap();
    // A CA and a server certificate for 127.0.0.1 (rustls refuses a self-signed CA as the
    // server's own).
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "sessiond test CA");
    let ca = rcgen::CertifiedIssuer::self_signed(ca_params, ca_key).unwrap();
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned()])
        .unwrap()
        .signed_by(&key, &ca)
        .unwrap();
    let (ca_pem, cert_pem, key_pem) = (
        ldap_dir.join("ca.pem"),
        ldap_dir.join("cert.pem"),
        ldap_dir.join("key.pem"),
    );
    std::fs::write(&ca_pem, ca.pem()).unwrap();
    std::fs::write(&cert_pem, cert.pem()).unwrap();
    std::fs::write(&key_pem, key.serialize_pem()).unwrap();
    let slapd = Slapd::start(&ldap_dir, Some((&cert_pem, &key_pem)));
    slapd.seed(
        &[("alice", "Alice", "Liddell"), ("bob", "Bob", "Builder")],
        &[("admins", "alice"), ("operators", "bob")],
    );

    let mut flags = directory_flags(&slapd, tmp.path());
    flags.extend(["--ldap-starttls".to_owned(), "--ldap-ca".to_owned()]);
    flags.push(ca_pem.to_str().unwrap().to_owned());
    let args: Vec<&str> = flags.iter().map(String::as_str).collect();
    let server = Server::start(
        &tmp.path().join("data"),
        &args,
        &[("SESSIOND_ADMIN_PASSWORD", ADMIN_PW)],
    );
    let http = Http::new(&server.url);
    let (status, body) = http.native_login("alice", "alice-directory-pw");
    assert_eq!(status, 200, "{body}");
    drop(server);

    // Without the CA the directory's certificate is not trusted: unavailable, not "wrong".
    let n = flags.len();
    let args: Vec<&str> = flags[..n - 2].iter().map(String::as_str).collect();
    let server = Server::start(
        &tmp.path().join("data2"),
        &args,
        &[("SESSIOND_ADMIN_PASSWORD", ADMIN_PW)],
    );
    let http = Http::new(&server.url);
    let (status, body) = http.native_login("alice", "alice-directory-pw");
    assert_eq!(status, 503, "{body}");
}
