//! Golden tests: each dialect's exact bytes for its main answers and its error envelopes
//! (Commvault in both `Accept` forms), pinned in `tests/golden/<dialect>.txt`, so that a
//! refactor cannot change what a real client reads without a reviewed diff.
//!
//! Values that change from run to run are replaced before comparing: tokens by
//! `<token-N>`, session ids (UUIDs) by `<uuid-N>`. The clock is fixed.
//!
//! `UPDATE_GOLDEN=1 cargo test -p sessiond-server --test golden` rewrites the files.

mod common;

use std::sync::Arc;

use base64::Engine as _;
use common::{Options, TestServer, ADMIN_PASSWORD};
use reqwest::{Method, RequestBuilder};
use serde_json::{json, Value};
use sessiond_core::ManualClock;
use tempfile::TempDir;
use time::macros::datetime;

struct Golden {
    s: TestServer,
    /// Secrets seen so far, replaced by `<token-N>` in the recording.
    tokens: Vec<String>,
    /// Session ids seen so far, replaced by `<uuid-N>`.
    uuids: Vec<String>,
    out: String,
}

impl Golden {
    async fn start(dir: &TempDir) -> Golden {
        let mut o = Options::default();
        o.server.pam.domain = "CONTOSO".into();
        o.server.pam.public_url = Some("https://pam.example".into());
        o.server.pam.basic = true;
        let clock = Arc::new(ManualClock::new(datetime!(2026-01-02 03:04:05 UTC)));
        let s = TestServer::start_with(dir, o, clock).await;
        Golden {
            s,
            tokens: vec![],
            uuids: vec![],
            out: String::new(),
        }
    }

    fn req(&self, method: Method, path: &str) -> RequestBuilder {
        self.s.http.request(method, self.s.url(path))
    }

    /// Sends the request and records its status, content type, the headers a client reads
    /// and its body, exactly.
    async fn record(&mut self, title: &str, req: RequestBuilder) -> String {
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let header = |name: &str| {
            resp.headers()
                .get_all(name)
                .iter()
                .map(|v| v.to_str().unwrap_or("?").to_owned())
                .collect::<Vec<_>>()
        };
        let ctype = header("content-type").join(", ");
        let mut extra = String::new();
        for name in ["www-authenticate", "set-cookie"] {
            for v in header(name) {
                extra.push_str(&format!("{name}: {v}\n"));
            }
        }
        let body = resp.text().await.unwrap();
        let whole = format!("{extra}{body}");
        for t in find_tokens(&whole) {
            if !self.tokens.contains(&t) {
                self.tokens.push(t);
            }
        }
        let shown = self.redact(&whole);
        self.out
            .push_str(&format!("=== {title}\n{status} {ctype}\n{shown}\n\n"));
        body
    }

    fn redact(&mut self, text: &str) -> String {
        let mut text = text.to_owned();
        for (i, t) in self.tokens.iter().enumerate() {
            text = text.replace(t, &format!("<token-{}>", i + 1));
        }
        redact_uuids(&text, &mut self.uuids)
    }

    fn check(self, name: &str) {
        let path = format!("{}/tests/golden/{name}.txt", env!("CARGO_MANIFEST_DIR"));
        if std::env::var_os("UPDATE_GOLDEN").is_some() {
            std::fs::write(&path, &self.out).unwrap();
            return;
        }
        let want = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{path}: {e} (UPDATE_GOLDEN=1 writes it)"));
        if want != self.out {
            let sections = |s: &str| s.split("=== ").map(str::to_owned).collect::<Vec<_>>();
            let (w, g) = (sections(&want), sections(&self.out));
            let first = w
                .iter()
                .zip(&g)
                .position(|(a, b)| a != b)
                .unwrap_or(w.len().min(g.len()));
            panic!(
                "{name}: the answers changed; first difference:\n--- expected\n{}\n--- got\n{}\n\
                 (if the change is intended, rerun with UPDATE_GOLDEN=1 and review the diff)",
                w.get(first).map(String::as_str).unwrap_or("<nothing>"),
                g.get(first).map(String::as_str).unwrap_or("<nothing>"),
            );
        }
    }
}

/// The 43-character URL-safe base64 tokens sessiond issues, found in a body.
fn find_tokens(body: &str) -> Vec<String> {
    body.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
        .filter(|w| w.len() == 43)
        .map(str::to_owned)
        .collect()
}

/// Replaces each distinct random UUID by `<uuid-N>`, numbered by first appearance in
/// `seen`. Commvault's user GUIDs (`5e55100d-0000-...`) are derived, not random: they stay.
fn redact_uuids(text: &str, seen: &mut Vec<String>) -> String {
    let is_uuid = |w: &str| {
        w.len() == 36
            && !w.starts_with("5e55100d-0000-")
            && w.char_indices().all(|(i, c)| match i {
                8 | 13 | 18 | 23 => c == '-',
                _ => c.is_ascii_hexdigit(),
            })
    };
    let mut out = String::new();
    let mut i = 0;
    while i < text.len() {
        if i + 36 <= text.len() && text.is_char_boundary(i + 36) && is_uuid(&text[i..i + 36]) {
            let u = text[i..i + 36].to_owned();
            let n = match seen.iter().position(|s| *s == u) {
                Some(n) => n,
                None => {
                    seen.push(u);
                    seen.len() - 1
                }
            };
            out.push_str(&format!("<uuid-{}>", n + 1));
            i += 36;
        } else {
            let ch = text[i..].chars().next().unwrap();
            out.push(ch);
            i += ch.len_utf8();
        }
    }
    out
}

async fn with_users(g: &Golden) -> (String, String) {
    let admin = g.s.admin().await;
    g.s.user(&admin, "bob", &[]).await;
    let bob = g.s.login("bob", "bob-password").await.0;
    (admin, bob)
}

#[tokio::test]
async fn qumulo() {
    let dir = TempDir::new().unwrap();
    let mut g = Golden::start(&dir).await;
    let (_, bob) = with_users(&g).await;
    let body = g
        .record(
            "POST /v1/session/login",
            g.req(Method::POST, "/v1/session/login")
                .json(&json!({"username": "admin", "password": ADMIN_PASSWORD})),
        )
        .await;
    let token: Value = serde_json::from_str(&body).unwrap();
    let token = token["bearer_token"].as_str().unwrap().to_owned();
    for path in ["/v1/session/who-am-i", "/v1/session/roles", "/v1/users/500"] {
        let req = g.req(Method::GET, path).bearer_auth(&token);
        g.record(&format!("GET {path}"), req).await;
    }
    let req = g.req(Method::GET, "/v1/session/who-am-i");
    g.record("GET /v1/session/who-am-i without a token", req)
        .await;
    let req = g.req(Method::GET, "/v1/users/").bearer_auth(&bob);
    g.record("GET /v1/users/ without the privilege", req).await;
    let req = g.req(Method::GET, "/v1/nope").bearer_auth(&token);
    g.record("GET /v1/nope", req).await;
    let req = g
        .req(Method::POST, "/v1/session/login")
        .header("content-type", "application/json")
        .body("{");
    g.record("POST /v1/session/login with bad JSON", req).await;
    g.check("qumulo");
}

#[tokio::test]
async fn symphony() {
    let dir = TempDir::new().unwrap();
    let mut g = Golden::start(&dir).await;
    let (admin, _) = with_users(&g).await;
    g.tokens.push(admin.clone());
    let req = g
        .req(Method::GET, "/pod/v2/sessioninfo")
        .header("sessionToken", &admin);
    g.record("GET /pod/v2/sessioninfo", req).await;
    let req = g.req(Method::GET, "/pod/v2/sessioninfo");
    g.record("GET /pod/v2/sessioninfo without a token", req)
        .await;
    let req = g
        .req(Method::POST, "/login/pubkey/authenticate")
        .json(&json!({"token": "not.a.jwt"}));
    g.record("POST /login/pubkey/authenticate with a bad JWT", req)
        .await;
    let req = g.req(Method::GET, "/pod/v1/nope");
    g.record("GET /pod/v1/nope", req).await;
    g.check("symphony");
}

#[tokio::test]
async fn commvault() {
    let dir = TempDir::new().unwrap();
    let mut g = Golden::start(&dir).await;
    let (_, bob) = with_users(&g).await;
    g.tokens.push(bob.clone());
    let login = json!({
        "mode": 4, "username": "admin",
        "password": base64::engine::general_purpose::STANDARD.encode(ADMIN_PASSWORD),
        "deviceId": "test-host", "clientType": 30
    });
    let body = g
        .record(
            "POST /webconsole/api/Login",
            g.req(Method::POST, "/webconsole/api/Login").json(&login),
        )
        .await;
    let v: Value = serde_json::from_str(&body).unwrap();
    let token = v["token"].as_str().unwrap().to_owned();
    let wrong = json!({"username": "admin", "password": "d3Jvbmc="});
    let req = g.req(Method::POST, "/webconsole/api/Login").json(&wrong);
    g.record("POST /webconsole/api/Login with a wrong password", req)
        .await;
    for accept in ["application/json", "application/xml"] {
        for (path, tok) in [
            ("/webconsole/api/WhoAmI", Some(&token)),
            ("/webconsole/api/Session?userId=500", Some(&token)),
            ("/webconsole/api/Session?userId=500", None),
            ("/webconsole/api/Session?userId=500", Some(&bob)),
            ("/webconsole/api/Session?userId=x", Some(&token)),
            ("/webconsole/api/nope", Some(&token)),
        ] {
            let mut req = g.req(Method::GET, path).header("accept", accept);
            if let Some(t) = tok {
                req = req.header("Authtoken", t.as_str());
            }
            let who = match tok {
                Some(t) if *t == token => "admin",
                Some(_) => "bob",
                None => "nobody",
            };
            g.record(&format!("GET {path} as {who}, Accept {accept}"), req)
                .await;
        }
    }
    g.check("commvault");
}

#[tokio::test]
async fn pam() {
    let dir = TempDir::new().unwrap();
    let mut g = Golden::start(&dir).await;
    let (admin, bob) = with_users(&g).await;
    g.tokens.extend([admin.clone(), bob.clone()]);
    let req = g
        .req(Method::GET, "/api/session/sessioninfo?v=1")
        .bearer_auth(&admin);
    g.record("GET /api/session/sessioninfo?v=1", req).await;
    let req = g
        .req(Method::GET, "/api/session/sessioninfo")
        .basic_auth("admin", Some(ADMIN_PASSWORD));
    g.record("GET /api/session/sessioninfo with Basic", req)
        .await;
    let req = g.req(Method::GET, "/api/session/sessioninfo");
    g.record("GET /api/session/sessioninfo without credentials", req)
        .await;
    let req = g
        .req(Method::GET, "/api/session/sessioninfo")
        .bearer_auth(&bob);
    g.record("GET /api/session/sessioninfo without the privilege", req)
        .await;
    let req = g
        .req(Method::GET, "/api/session/sessioninfo?v=2")
        .bearer_auth(&admin);
    g.record("GET /api/session/sessioninfo?v=2", req).await;
    g.check("pam");
}

#[tokio::test]
async fn netsession() {
    let dir = TempDir::new().unwrap();
    let mut g = Golden::start(&dir).await;
    let (admin, bob) = with_users(&g).await;
    g.tokens.extend([admin.clone(), bob.clone()]);
    let report = json!({"client_name": "\\\\WS01", "username": "bob", "client_type": "Windows 11 Pro",
        "transport": "\\Device\\NetBT_Tcpip", "num_opens": 3, "user_flags": 0, "shares": ["data"]});
    let req = g
        .req(Method::POST, "/api/v1/servers/FS1/sessions")
        .bearer_auth(&admin)
        .json(&report);
    g.record("POST /api/v1/servers/FS1/sessions", req).await;
    for (path, tok) in [
        ("/api/v1/net/sessions?server=FS1&level=0", &admin),
        ("/api/v1/net/sessions?server=FS1&level=1", &admin),
        ("/api/v1/net/sessions?server=FS1&level=502", &admin),
        (
            "/api/v1/net/session?server=FS1&client=WS01&user=bob&level=10",
            &admin,
        ),
        ("/api/v1/net/sessions?server=FS1&level=2", &bob),
        ("/api/v1/net/sessions?server=FS1&level=3", &admin),
        (
            "/api/v1/net/sessions?server=FS1&client=WS09&level=0",
            &admin,
        ),
        ("/api/v1/net/sessions?server=NOPE&level=0", &admin),
    ] {
        let who = if tok == &admin { "admin" } else { "bob" };
        let req = g.req(Method::GET, path).bearer_auth(tok);
        g.record(&format!("GET {path} as {who}"), req).await;
    }
    let req = g.req(Method::GET, "/api/v1/net/sessions?level=0");
    g.record("GET /api/v1/net/sessions without a token", req)
        .await;
    g.check("netsession");
}

#[tokio::test]
async fn native() {
    let dir = TempDir::new().unwrap();
    let mut g = Golden::start(&dir).await;
    let (admin, bob) = with_users(&g).await;
    g.tokens.extend([admin.clone(), bob.clone()]);
    let req = g.req(Method::GET, "/api/v1/session").bearer_auth(&bob);
    g.record("GET /api/v1/session as bob", req).await;
    let req = g
        .req(Method::GET, "/api/v1/sessions?user=admin")
        .bearer_auth(&bob);
    g.record("GET /api/v1/sessions?user=admin as bob", req)
        .await;
    let req = g.req(Method::GET, "/api/v1/session");
    g.record("GET /api/v1/session without a token", req).await;
    let req = g
        .req(Method::POST, "/api/v1/login")
        .json(&json!({"username": "nobody", "password": "x"}));
    g.record("POST /api/v1/login with an unknown user", req)
        .await;
    let req = g.req(Method::GET, "/healthz");
    g.record("GET /healthz", req).await;
    g.check("native");
}

#[tokio::test]
async fn ui() {
    let dir = TempDir::new().unwrap();
    let mut g = Golden::start(&dir).await;
    let (admin, bob) = with_users(&g).await;
    g.tokens.extend([admin.clone(), bob.clone()]);
    let req = g.req(Method::GET, "/ui/login");
    g.record("GET /ui/login", req).await;
    let req = g
        .req(Method::POST, "/ui/login")
        .header("content-type", "application/x-www-form-urlencoded")
        .body("username=bob&password=wrong");
    g.record("POST /ui/login with a wrong password", req).await;
    let cookie = |t: &str| format!("sessiond_ui={t}");
    let req = g
        .req(Method::GET, "/ui/sessions")
        .header("cookie", cookie(&bob));
    g.record("GET /ui/sessions as bob", req).await;
    let req = g
        .req(Method::GET, "/ui/admin/sessions")
        .header("cookie", cookie(&bob));
    g.record("GET /ui/admin/sessions as bob", req).await;
    let req = g
        .req(Method::POST, "/ui/sessions/others/revoke")
        .header("cookie", cookie(&bob))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("csrf=forged");
    g.record("POST /ui/sessions/others/revoke with a forged token", req)
        .await;
    let req = g
        .req(Method::GET, "/ui/nope")
        .header("cookie", cookie(&bob));
    g.record("GET /ui/nope", req).await;
    let req = g
        .req(Method::GET, "/ui/admin/servers")
        .header("cookie", cookie(&admin));
    g.record("GET /ui/admin/servers as admin", req).await;
    g.check("ui");
}
