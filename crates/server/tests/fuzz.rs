//! Property test over HTTP: arbitrary requests to every dialect's prefix (odd paths and
//! percent-encodings, queries, credential headers of every scheme, JSON, XML and random
//! bodies) never get a 5xx, and every rejection is in the product's own envelope.

mod common;

use std::sync::Arc;

use base64::Engine as _;
use common::envelope::{check_envelope, Shape};
use common::{Options, TestServer};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use reqwest::Method;
use sessiond_core::ManualClock;
use tempfile::TempDir;

/// Where a path lands, and so which envelope its rejections use.
fn shape_of(path: &str, accept_xml: bool) -> Shape {
    let lower = path.to_ascii_lowercase();
    if lower.starts_with("/commandcenter/api") || lower.starts_with("/webconsole/api") {
        return if accept_xml {
            Shape::CommvaultXml
        } else {
            Shape::CommvaultJson
        };
    }
    let under = |p: &str| path == p || path.starts_with(&format!("{p}/"));
    if under("/api/v1/net") || under("/api/v1/servers") {
        Shape::NetSession
    } else if under("/v1") {
        Shape::Qumulo
    } else if under("/login") || under("/relay") || under("/pod") {
        Shape::Symphony
    } else if under("/api/session") {
        Shape::Pam
    } else {
        Shape::Native
    }
}

/// Real calls (method, path with `{}` for a segment the fuzzer fills), and bare prefixes.
const ROUTES: &[(&str, &str)] = &[
    ("POST", "/api/v1/login"),
    ("GET", "/api/v1/session"),
    ("GET", "/api/v1/sessions"),
    ("GET", "/api/v1/sessions/{}"),
    ("GET", "/api/v1/users/{}"),
    ("PATCH", "/api/v1/users/{}"),
    ("POST", "/api/v1/users"),
    ("PUT", "/api/v1/users/{}/roles"),
    ("GET", "/api/v1/roles/{}"),
    ("GET", "/api/v1/audit"),
    ("DELETE", "/api/v1/lockouts/{}"),
    ("GET", "/api/v1/net/session"),
    ("GET", "/api/v1/net/sessions"),
    ("DELETE", "/api/v1/net/sessions"),
    ("POST", "/api/v1/servers/{}/sessions"),
    ("PATCH", "/api/v1/servers/FS1/sessions/{}"),
    ("POST", "/v1/session/login"),
    ("GET", "/v1/session/who-am-i"),
    ("POST", "/v1/session/change-password"),
    ("GET", "/v1/users/{}"),
    ("POST", "/v1/identity/expand"),
    ("GET", "/v1/auth/access-tokens/"),
    ("POST", "/v1/auth/access-tokens/"),
    ("PATCH", "/v1/auth/access-tokens/{}"),
    ("GET", "/v1/smb/sessions/"),
    ("POST", "/v1/smb/sessions/close"),
    ("POST", "/webconsole/api/Login"),
    ("GET", "/webconsole/api/Session"),
    ("POST", "/commandcenter/api/RenewLoginToken"),
    ("GET", "/commandcenter/api/v4/User/{}"),
    ("GET", "/webconsole/api/User/{}/Security"),
    ("POST", "/login/pubkey/authenticate"),
    ("POST", "/login/pubkey/app/authenticate"),
    ("POST", "/login/pubkey/app/username/{}/authenticate"),
    ("POST", "/login/pubkey/app/user/{}/authenticate"),
    ("POST", "/relay/pubkey/authenticate"),
    ("GET", "/pod/v2/sessioninfo"),
    ("GET", "/api/session/sessioninfo"),
    ("GET", "/healthz"),
    ("GET", "/nowhere/{}"),
];

/// Bytes of a path segment or query value, percent-encoded as a client (or an attacker)
/// might: some valid UTF-8, some not.
fn encoded() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>().prop_map(|s| {
            s.bytes()
                .map(|b| {
                    if b.is_ascii_alphanumeric() {
                        (b as char).to_string()
                    } else {
                        format!("%{b:02X}")
                    }
                })
                .collect::<String>()
        }),
        proptest::collection::vec(any::<u8>(), 0..20)
            .prop_map(|b| b.iter().map(|b| format!("%{b:02X}")).collect()),
        proptest::sample::select(vec!["%", "%F", "%ZZ", "..", "%2e%2e", "a%00b", "~"])
            .prop_map(str::to_owned),
    ]
}

#[derive(Debug, Clone)]
struct Req {
    method: Method,
    path: String,
    query: Option<String>,
    credential: Option<(&'static str, Vec<u8>)>,
    content_type: Option<&'static str>,
    accept_xml: bool,
    body: Vec<u8>,
}

/// The header a path's own clients put their token in.
fn own_credential(path: &str, token: &str) -> (&'static str, Vec<u8>) {
    match shape_of(path, false) {
        Shape::CommvaultJson | Shape::CommvaultXml => {
            ("authtoken", format!("QSDK {token}").into_bytes())
        }
        Shape::Symphony => ("sessiontoken", token.as_bytes().to_vec()),
        _ => ("authorization", format!("Bearer {token}").into_bytes()),
    }
}

fn credential(token: String) -> impl Strategy<Value = Option<(&'static str, Vec<u8>)>> {
    let header =
        proptest::sample::select(vec!["authorization", "authtoken", "sessiontoken", "cookie"]);
    let b64 = |b: Vec<u8>| base64::engine::general_purpose::STANDARD.encode(b);
    let value = prop_oneof![
        Just(format!("Bearer {token}").into_bytes()),
        Just(format!("QSDK {token}").into_bytes()),
        Just(token.clone().into_bytes()),
        Just(format!("sessiond_pam={token}").into_bytes()),
        proptest::collection::vec(any::<u8>(), 0..60),
        proptest::collection::vec(any::<u8>(), 0..60).prop_map(move |b| format!(
            "Basic {}",
            b64(b)
        )
        .into_bytes()),
        proptest::collection::vec(any::<u8>(), 0..60).prop_map(move |b| format!(
            "Negotiate {}",
            base64::engine::general_purpose::STANDARD.encode(b)
        )
        .into_bytes()),
        any::<String>().prop_map(|s| format!("Bearer {s}").into_bytes()),
    ];
    proptest::option::of((header, value))
}

fn body() -> impl Strategy<Value = Vec<u8>> {
    let json = prop_oneof![
        Just(serde_json::json!({})),
        (any::<String>(), any::<String>())
            .prop_map(|(u, p)| serde_json::json!({"username": u, "password": p})),
        any::<String>().prop_map(|t| serde_json::json!({"token": t})),
        any::<String>().prop_map(|t| serde_json::json!({"sessionId": t})),
        any::<i64>().prop_map(|n| serde_json::json!([n, null, "x"])),
        (any::<String>(), any::<String>())
            .prop_map(|(c, u)| serde_json::json!({"client_name": c, "username": u})),
    ]
    .prop_map(|v| v.to_string().into_bytes());
    prop_oneof![
        Just(vec![]),
        json,
        proptest::collection::vec(any::<u8>(), 0..300),
        any::<String>().prop_map(|s| format!("<Login><username>{s}</username>").into_bytes()),
    ]
}

fn request(token: String) -> impl Strategy<Value = Req> {
    let route = proptest::sample::select(ROUTES.to_vec());
    let other_method = proptest::option::weighted(
        0.2,
        proptest::sample::select(vec![
            Method::GET,
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
        ]),
    );
    let segment = prop_oneof![
        3 => proptest::sample::select(vec!["500", "501", "admin", "bob", "FS1", "x", "S-1-5-21-1-2-3-500", "Administrators"])
            .prop_map(str::to_owned),
        2 => encoded(),
    ];
    let extra = proptest::option::weighted(0.15, encoded());
    let query_value = prop_oneof![
        proptest::sample::select(vec![
            "0",
            "1",
            "2",
            "10",
            "502",
            "-1",
            "500",
            "admin",
            "all",
            "WS01",
            "FS1",
            "local:admin",
            "auth_id:500"
        ])
        .prop_map(str::to_owned),
        encoded(),
    ];
    let query = proptest::option::weighted(
        0.6,
        (
            proptest::sample::select(vec![
                "userId",
                "level",
                "limit",
                "v",
                "identity",
                "state",
                "user",
                "client",
                "server",
                "prefmaxlen",
                "resume",
                "after",
            ]),
            query_value,
        )
            .prop_map(|(k, v)| format!("{k}={v}")),
    );
    let content_type = proptest::option::weighted(
        0.8,
        proptest::sample::select(vec![
            "application/json",
            "application/json",
            "application/xml",
            "text/plain",
            "application/json; charset=utf-8",
        ]),
    );
    let own = any::<bool>();
    (
        (route, other_method, segment, extra),
        query,
        (own, credential(token.clone())),
        content_type,
        any::<bool>(),
        body(),
    )
        .prop_map(
            move |(
                (route, other_method, segment, extra),
                query,
                (own, random_cred),
                content_type,
                accept_xml,
                body,
            )| {
                let mut path = route.1.replace("{}", &segment);
                if let Some(e) = extra {
                    path = format!("{path}/{e}");
                }
                let method = other_method.unwrap_or_else(|| route.0.parse().unwrap());
                let credential = if own {
                    Some(own_credential(&path, &token))
                } else {
                    random_cred
                };
                Req {
                    method,
                    path,
                    query,
                    credential,
                    content_type,
                    accept_xml,
                    body,
                }
            },
        )
}

#[test]
fn arbitrary_requests_get_no_5xx_and_rejections_in_the_products_shape() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let dir = TempDir::new().unwrap();
    let mut o = Options::default();
    o.server.pam.basic = true;
    let s = rt.block_on(TestServer::start_with(
        &dir,
        o,
        Arc::new(ManualClock::starting_now()),
    ));
    let token = rt.block_on(s.admin());
    let cases: u32 = std::env::var("SESSIOND_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000);
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    let sent = std::sync::atomic::AtomicU32::new(0);
    let result = runner.run(&request(token), |r| {
        let url = match &r.query {
            Some(q) => format!("{}{}?{q}", s.base, r.path),
            None => format!("{}{}", s.base, r.path),
        };
        let Ok(url) = reqwest::Url::parse(&url) else {
            return Ok(()); // not a request a client can send
        };
        // The path as sent (a client resolves `..` and `.` first).
        let sent_path = url.path().to_owned();
        sent.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let (status, ctype, text) = rt.block_on(async {
            let mut req = s.http.request(r.method.clone(), url);
            if let Some((name, value)) = &r.credential {
                if let Ok(v) = reqwest::header::HeaderValue::from_bytes(value) {
                    req = req.header(*name, v);
                }
            }
            if let Some(ct) = r.content_type {
                req = req.header("content-type", ct);
            }
            if r.accept_xml {
                req = req.header("accept", "application/xml");
            }
            let resp = req.body(r.body.clone()).send().await.unwrap();
            let status = resp.status().as_u16();
            let ctype = resp
                .headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_owned();
            (status, ctype, resp.text().await.unwrap_or_default())
        });
        prop_assert!(status < 500, "{status} for {r:?}: {text}");
        // Commvault's Logout answers plain text with 200; only errors are checked.
        if status >= 400 {
            let shape = shape_of(&sent_path, r.accept_xml);
            if let Err(why) = check_envelope(shape, status, &ctype, &text) {
                prop_assert!(false, "{why} ({status} {shape:?}) for {r:?}: {text}");
            }
        }
        Ok(())
    });
    rt.block_on(s.stop());
    if let Err(e) = result {
        panic!("{e}");
    }
    let sent = sent.into_inner();
    assert!(
        sent * 2 > cases,
        "only {sent} of {cases} cases made a request"
    );
}
