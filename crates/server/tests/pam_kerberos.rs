//! MIM PAM's Integrated Windows Authentication with a real MIT Kerberos KDC on loopback,
//! `kinit`, and `curl --negotiate -u : -f` against sessiond: the default build, loading
//! MIT's GSS-API library at run time.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{Options, TestServer};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use sessiond_core::ManualClock;
use sessiond_server::negotiate::gssapi::GssAcceptor;
use sessiond_server::negotiate::Negotiate;
use tempfile::TempDir;

const REALM: &str = "SESSIOND.TEST";

/// A throwaway realm: its own directory, port, KDC process and ticket cache.
struct Realm {
    dir: TempDir,
    kdc: Child,
}

impl Realm {
    fn start() -> Realm {
        for _ in 0..5 {
            if let Some(r) = Self::try_start() {
                return r;
            }
        }
        panic!("the KDC did not start");
    }

    fn try_start() -> Option<Realm> {
        let dir = TempDir::new().unwrap();
        let d = dir.path().display().to_string();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        std::fs::write(
            dir.path().join("krb5.conf"),
            format!(
                "[libdefaults]\n default_realm = {REALM}\n dns_lookup_kdc = false\n dns_lookup_realm = false\n\
                 dns_canonicalize_hostname = false\n rdns = false\n udp_preference_limit = 1\n\
                 [realms]\n {REALM} = {{\n  kdc = 127.0.0.1:{port}\n }}\n[domain_realm]\n localhost = {REALM}\n"
            ),
        )
        .unwrap();
        std::fs::write(
            dir.path().join("kdc.conf"),
            format!(
                "[kdcdefaults]\n kdc_listen = 127.0.0.1:{port}\n kdc_tcp_listen = 127.0.0.1:{port}\n\
                 [realms]\n {REALM} = {{\n  database_name = {d}/principal\n  key_stash_file = {d}/stash\n\
                 supported_enctypes = aes256-cts-hmac-sha1-96:normal aes128-cts-hmac-sha1-96:normal\n }}\n\
                 [logging]\n kdc = FILE:{d}/kdc.log\n default = FILE:{d}/krb5lib.log\n"
            ),
        )
        .unwrap();
        let realm_cmd = |args: &[&str]| {
            let mut c = Self::tool(dir.path(), args[0]);
            c.args(&args[1..]);
            let out = c
                .output()
                .unwrap_or_else(|e| panic!("cannot run {}: {e}", args[0]));
            assert!(
                out.status.success(),
                "{args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        };
        realm_cmd(&["kdb5_util", "-r", REALM, "create", "-s", "-P", "masterpw"]);
        for q in [
            "addprinc -pw alicepw alice".to_owned(),
            "addprinc -pw mallorypw mallory".to_owned(),
            "addprinc -pw davepw dave".to_owned(),
            "addprinc -randkey HTTP/localhost".to_owned(),
            format!("ktadd -k {d}/http.keytab HTTP/localhost"),
        ] {
            realm_cmd(&["kadmin.local", "-r", REALM, "-q", &q]);
        }
        let kdc = Self::tool(dir.path(), "krb5kdc")
            .args(["-n", "-r", REALM])
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut realm = Realm { dir, kdc };
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Some(realm);
            }
            if realm.kdc.try_wait().ok().flatten().is_some() {
                return None; // the port was taken meanwhile: try another
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    /// A Kerberos tool or curl, confined to this realm's directory.
    fn tool(dir: &Path, name: &str) -> Command {
        let mut c = Command::new(name);
        c.env("KRB5_CONFIG", dir.join("krb5.conf"))
            .env("KRB5_KDC_PROFILE", dir.join("kdc.conf"))
            .env(
                "KRB5CCNAME",
                format!("FILE:{}", dir.join("ccache").display()),
            )
            .env("KRB5RCACHEDIR", dir)
            .env(
                "PATH",
                format!(
                    "{}:/usr/sbin:/sbin",
                    std::env::var("PATH").unwrap_or_default()
                ),
            );
        c
    }

    fn keytab(&self) -> PathBuf {
        self.dir.path().join("http.keytab")
    }

    fn kinit(&self, who: &str, password: &str) {
        let mut c = Self::tool(self.dir.path(), "kinit");
        c.arg(who).stdin(Stdio::piped()).stdout(Stdio::null());
        let mut child = c.spawn().unwrap();
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(format!("{password}\n").as_bytes())
            .unwrap();
        assert!(child.wait().unwrap().success(), "kinit {who}");
    }

    fn kdestroy(&self) {
        Self::tool(self.dir.path(), "kdestroy").status().unwrap();
    }

    /// `curl --negotiate -u : -f -v URL` (extra args first): (exit code, stdout, stderr).
    fn curl(&self, extra: &[&str], url: &str) -> (i32, String, String) {
        let mut c = Self::tool(self.dir.path(), "curl");
        c.args(["-s", "-v", "--negotiate", "-u", ":", "-f"])
            .args(extra)
            .arg(url);
        let out = c.output().unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }
}

impl Drop for Realm {
    fn drop(&mut self) {
        let _ = self.kdc.kill();
        let _ = self.kdc.wait();
    }
}

async fn server(realm: &Realm, dir: &TempDir) -> TestServer {
    let mut o = Options::default();
    o.server.pam.domain = "SESSIOND".into();
    let mut s = TestServer::start_with(dir, o, Arc::new(ManualClock::starting_now())).await;
    let acceptor =
        GssAcceptor::new(&realm.keytab(), &dir.path().join("pam.rcache2")).expect("acceptor");
    s.set_negotiate(Arc::new(acceptor) as Arc<dyn Negotiate>)
        .await;
    s
}

#[tokio::test(flavor = "multi_thread")]
async fn curl_negotiate_then_the_cookie_then_every_refusal() {
    let realm = Realm::start();
    let dir = TempDir::new().unwrap();
    let s = server(&realm, &dir).await;
    let admin = s.admin().await;
    let alice = s.user(&admin, "alice", &["PAM Users"]).await;
    let port = s.base.rsplit(':').next().unwrap().to_owned();
    let url = format!("http://localhost:{port}/api/session/sessioninfo");
    let cookies = dir.path().join("cookies.txt");
    let cookies = cookies.to_str().unwrap();

    // kinit, then curl --negotiate -u : -f: 200 with DOMAIN\user, mutual auth and a cookie.
    realm.kinit("alice", "alicepw");
    let (code, out, err) = tokio::task::block_in_place(|| realm.curl(&["-c", cookies], &url));
    println!("curl said:\n{err}\n{out}");
    assert_eq!(code, 0, "{err}");
    let body: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(body["value"], json!([{"Username": "SESSIOND\\alice"}]));
    assert!(
        err.to_lowercase()
            .contains("< www-authenticate: negotiate "),
        "mutual authentication: {err}"
    );
    assert!(
        err.to_lowercase().contains("< set-cookie: sessiond_pam="),
        "{err}"
    );
    let token = err
        .lines()
        .find_map(|l| l.strip_prefix("> Authorization: Negotiate "))
        .expect("curl sent a Negotiate token")
        .trim()
        .to_owned();
    // The session is a Kerberos one.
    let (_, sessions) = s
        .get(&format!("/api/v1/sessions?user={alice}"), &admin)
        .await;
    assert_eq!(sessions["sessions"][0]["auth_method"], "kerberos");

    // The cookie works without a ticket.
    realm.kdestroy();
    let (code, out, _) = tokio::task::block_in_place(|| realm.curl(&["-b", cookies], &url));
    assert_eq!(code, 0);
    assert!(out.contains("SESSIOND\\\\alice"), "{out}");
    // Without ticket or cookie: 401 offering Negotiate (curl -f exits 22).
    let (code, _, err) = tokio::task::block_in_place(|| realm.curl(&[], &url));
    assert_eq!(code, 22, "{err}");
    assert!(
        err.to_lowercase().contains("< www-authenticate: negotiate"),
        "{err}"
    );

    // A replayed token is refused.
    let resp = s
        .http
        .get(&url)
        .header("authorization", format!("Negotiate {token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    let why: Value = resp.json().await.unwrap();
    assert!(
        why["odata.error"]["message"]["value"]
            .as_str()
            .unwrap()
            .to_lowercase()
            .contains("replay"),
        "{why}"
    );

    // An unknown principal (a ticket the KDC issued, for no user here): 401.
    realm.kinit("mallory", "mallorypw");
    let (code, _, err) = tokio::task::block_in_place(|| realm.curl(&[], &url));
    assert_eq!(code, 22, "{err}");
    assert!(err.contains("< HTTP/1.1 401"), "{err}");

    // A disabled account: 403.
    realm.kinit("alice", "alicepw");
    s.call(
        Method::PATCH,
        &format!("/api/v1/users/{alice}"),
        Some(&admin),
        Some(json!({"enabled": false})),
    )
    .await;
    let (code, _, err) = tokio::task::block_in_place(|| realm.curl(&[], &url));
    assert_eq!(code, 22);
    assert!(err.contains("< HTTP/1.1 403"), "{err}");
    s.call(
        Method::PATCH,
        &format!("/api/v1/users/{alice}"),
        Some(&admin),
        Some(json!({"enabled": true})),
    )
    .await;

    // v=2: 400.
    let (code, _, err) = tokio::task::block_in_place(|| realm.curl(&[], &format!("{url}?v=2")));
    assert_eq!(code, 22);
    assert!(err.contains("< HTTP/1.1 400"), "{err}");

    // The store stopped: 503.
    s.store.close().await;
    let (code, _, err) = tokio::task::block_in_place(|| realm.curl(&[], &url));
    assert_eq!(code, 22);
    assert!(err.contains("< HTTP/1.1 503"), "{err}");
}

/// A principal that is no user here but one of the directory's: taken from the directory at
/// its first Negotiate login, with the roles its groups give (no user made by hand).
#[tokio::test(flavor = "multi_thread")]
async fn a_principal_the_directory_knows_is_taken_from_it() {
    use sessiond_core::directory::GroupRoles;
    use sessiond_core::service::DirectorySource;
    use sessiond_directory::testing::{Slapd, PEOPLE, ROOT_DN, ROOT_PW};
    use sessiond_directory::{LdapConfig, LdapDirectory};

    let realm = Realm::start();
    let dir = TempDir::new().unwrap();
    let slapd = tokio::task::block_in_place(|| {
        let slapd = Slapd::start(&dir.path().join("ldap"), None);
        slapd.seed(&[("dave", "Dave", "Lister")], &[("pamusers", "dave")]);
        slapd
    });
    let s = server(&realm, &dir).await;
    let directory = LdapDirectory::new(LdapConfig {
        url: slapd.url.clone(),
        starttls: false,
        ca_file: None,
        bind_dn: Some(ROOT_DN.into()),
        bind_password: Some(ROOT_PW.into()),
        user_base: PEOPLE.into(),
        user_filter: "(uid={username})".into(),
        disabled_filter: None,
        timeout: Duration::from_secs(5),
    })
    .unwrap();
    s.core
        .use_directory(DirectorySource {
            directory: Arc::new(directory),
            group_roles: GroupRoles(vec![("pamusers".into(), "PAM Users".into())]),
        })
        .unwrap();
    let admin = s.admin().await;
    let port = s.base.rsplit(':').next().unwrap().to_owned();
    let url = format!("http://localhost:{port}/api/session/sessioninfo");

    realm.kinit("dave", "davepw");
    let (code, out, err) = tokio::task::block_in_place(|| realm.curl(&[], &url));
    assert_eq!(code, 0, "{err}");
    let body: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(body["value"], json!([{"Username": "SESSIOND\\dave"}]));
    let (_, users) = s.get("/api/v1/users", &admin).await;
    let dave = users["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["name"] == "dave")
        .expect("dave taken from the directory")
        .clone();
    assert_eq!(dave["directory_dn"], format!("uid=dave,{PEOPLE}"));
    assert_eq!(dave["roles"], json!(["PAM Users"]));
    assert_eq!(dave["display_name"], "Dave Lister");
}
