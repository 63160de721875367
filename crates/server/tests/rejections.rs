//! Every mount prefix × every kind of rejection: the status, and a body that parses as that
//! product's own error envelope (a real client that reads anything else crashes; qq does).

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::envelope::{check_envelope, Shape};
use common::{Options, TestServer};
use reqwest::header::{HeaderName, HeaderValue};
use reqwest::{Method, StatusCode};
use sessiond_core::ManualClock;
use tempfile::TempDir;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// How a dialect's client presents its credential.
#[derive(Clone, Copy)]
enum Cred {
    Bearer,
    Authtoken,
    SessionToken,
}

impl Cred {
    fn header(self, value: &[u8]) -> (HeaderName, HeaderValue) {
        let (name, prefix): (&str, &[u8]) = match self {
            Cred::Bearer => ("authorization", b"Bearer "),
            Cred::Authtoken => ("authtoken", b"QSDK "),
            Cred::SessionToken => ("sessiontoken", b""),
        };
        let value = [prefix, value].concat();
        (
            HeaderName::from_static(name),
            HeaderValue::from_bytes(&value).unwrap(),
        )
    }
}

/// One mount prefix and a route of each sort the rejections need (`None`: it has none).
struct Mount {
    prefix: &'static str,
    shape: Shape,
    cred: Cred,
    /// A call that needs a credential.
    authed: Option<(Method, &'static str)>,
    /// A known route called with a method it does not serve.
    wrong_method: (Method, &'static str),
    /// A call with a path segment, written `{}`.
    segment: Option<(Method, &'static str)>,
    /// A call whose query is parsed, with a malformed value.
    query: Option<&'static str>,
    /// A call that reads a body.
    body: Option<(Method, &'static str)>,
    /// What a body that is not JSON, or not declared JSON, gets there.
    bad_json: u16,
    wrong_type: u16,
}

fn mounts() -> Vec<Mount> {
    let mut m = vec![
        Mount {
            prefix: "/api/v1",
            shape: Shape::Native,
            cred: Cred::Bearer,
            authed: Some((Method::GET, "/api/v1/session")),
            wrong_method: (Method::DELETE, "/api/v1/privileges"),
            segment: Some((Method::GET, "/api/v1/users/{}")),
            query: Some("/api/v1/sessions?limit=%FF"),
            body: Some((Method::POST, "/api/v1/login")),
            bad_json: 400,
            wrong_type: 415,
        },
        Mount {
            prefix: "/api/v1/net",
            shape: Shape::NetSession,
            cred: Cred::Bearer,
            authed: Some((Method::GET, "/api/v1/net/sessions?level=0")),
            wrong_method: (Method::PUT, "/api/v1/net/sessions"),
            segment: None,
            query: Some("/api/v1/net/sessions?level=0&prefmaxlen=%FF"),
            body: None,
            bad_json: 400,
            wrong_type: 415,
        },
        Mount {
            prefix: "/api/v1/servers",
            shape: Shape::NetSession,
            cred: Cred::Bearer,
            authed: Some((Method::POST, "/api/v1/servers/FS1/sessions")),
            wrong_method: (Method::PUT, "/api/v1/servers/FS1/sessions"),
            segment: Some((Method::DELETE, "/api/v1/servers/{}/sessions/x")),
            query: None,
            body: Some((Method::POST, "/api/v1/servers/FS1/sessions")),
            bad_json: 400,
            wrong_type: 415,
        },
        Mount {
            prefix: "/v1",
            shape: Shape::Qumulo,
            cred: Cred::Bearer,
            authed: Some((Method::GET, "/v1/session/who-am-i")),
            wrong_method: (Method::DELETE, "/v1/session/who-am-i"),
            segment: Some((Method::GET, "/v1/users/{}")),
            query: Some("/v1/smb/sessions/?limit=%FF"),
            body: Some((Method::POST, "/v1/session/login")),
            bad_json: 400,
            wrong_type: 415,
        },
        // Symphony reads a login body whatever its type, and any body it cannot use is a
        // refused credential (401), as Symphony answers.
        Mount {
            prefix: "/login",
            shape: Shape::Symphony,
            cred: Cred::SessionToken,
            authed: Some((Method::POST, "/login/pubkey/app/username/bot/authenticate")),
            wrong_method: (Method::GET, "/login/pubkey/authenticate"),
            segment: Some((Method::POST, "/login/pubkey/app/username/{}/authenticate")),
            query: None,
            body: Some((Method::POST, "/login/pubkey/authenticate")),
            bad_json: 401,
            wrong_type: 401,
        },
        Mount {
            prefix: "/relay",
            shape: Shape::Symphony,
            cred: Cred::SessionToken,
            authed: None,
            wrong_method: (Method::GET, "/relay/pubkey/authenticate"),
            segment: None,
            query: None,
            body: Some((Method::POST, "/relay/pubkey/authenticate")),
            bad_json: 401,
            wrong_type: 401,
        },
        Mount {
            prefix: "/pod",
            shape: Shape::Symphony,
            cred: Cred::SessionToken,
            authed: Some((Method::GET, "/pod/v2/sessioninfo")),
            wrong_method: (Method::POST, "/pod/v2/sessioninfo"),
            segment: None,
            query: None,
            body: None,
            bad_json: 401,
            wrong_type: 401,
        },
        // PAM's one call is a GET; its body is read (and bounded) all the same.
        Mount {
            prefix: "/api/session",
            shape: Shape::Pam,
            cred: Cred::Bearer,
            authed: Some((Method::GET, "/api/session/sessioninfo")),
            wrong_method: (Method::POST, "/api/session/sessioninfo"),
            segment: None,
            query: Some("/api/session/sessioninfo?v=%FF"),
            body: Some((Method::GET, "/api/session/sessioninfo")),
            bad_json: 0,
            wrong_type: 0,
        },
    ];
    for (root, shape) in [
        ("/commandcenter/api", Shape::CommvaultJson),
        ("/webconsole/api", Shape::CommvaultXml),
        ("/commandcenter/api", Shape::CommvaultXml),
        ("/webconsole/api", Shape::CommvaultJson),
    ] {
        let p = |s: &str| -> &'static str { Box::leak(format!("{root}{s}").into_boxed_str()) };
        m.push(Mount {
            prefix: root,
            shape,
            cred: Cred::Authtoken,
            authed: Some((Method::GET, p("/WhoAmI"))),
            wrong_method: (Method::DELETE, p("/Session")),
            segment: Some((Method::GET, p("/v4/User/{}"))),
            query: Some(p("/Session?userId=%FF")),
            body: Some((Method::POST, p("/Login"))),
            bad_json: 400,
            wrong_type: 415,
        });
    }
    m
}

struct Case {
    what: String,
    shape: Shape,
    method: Method,
    path: String,
    headers: Vec<(HeaderName, HeaderValue)>,
    body: Option<Vec<u8>>,
    expect: u16,
}

fn cases(token: &str) -> Vec<Case> {
    let mut out = vec![];
    for m in mounts() {
        let mut base = vec![];
        if m.shape == Shape::CommvaultXml {
            base.push((
                HeaderName::from_static("accept"),
                HeaderValue::from_static("application/xml"),
            ));
        }
        let authed = {
            let mut h = base.clone();
            h.push(m.cred.header(token.as_bytes()));
            h
        };
        let mut case = |what: &str, method: Method, path: String, headers, body, expect| {
            out.push(Case {
                what: format!("{} {what}", m.prefix),
                shape: m.shape,
                method,
                path,
                headers,
                body,
                expect,
            })
        };
        case(
            "unknown route",
            Method::GET,
            format!("{}/no/such/route", m.prefix),
            authed.clone(),
            None,
            404,
        );
        case(
            "prefix alone with a slash",
            Method::GET,
            format!("{}/", m.prefix),
            authed.clone(),
            None,
            if m.shape == Shape::CommvaultJson || m.shape == Shape::CommvaultXml {
                0 // the root itself answers (the SDK's probe)
            } else {
                404
            },
        );
        let (method, path) = m.wrong_method.clone();
        case(
            "wrong method",
            method,
            path.into(),
            authed.clone(),
            None,
            405,
        );
        if let Some((method, path)) = &m.segment {
            case(
                "malformed percent-encoding in a path segment",
                method.clone(),
                path.replace("{}", "%FF"),
                authed.clone(),
                None,
                400,
            );
        }
        if let Some(path) = m.query {
            case(
                "malformed query value",
                Method::GET,
                path.into(),
                authed.clone(),
                None,
                400,
            );
        }
        if let Some((method, path)) = &m.authed {
            case(
                "missing credential",
                method.clone(),
                path.to_string(),
                base.clone(),
                None,
                401,
            );
            let mut garbled = base.clone();
            garbled.push(m.cred.header(b"\xff\xfe garbled"));
            case(
                "garbled credential",
                method.clone(),
                path.to_string(),
                garbled,
                None,
                401,
            );
            let mut unknown = base.clone();
            unknown.push(m.cred.header(b"no-such-token"));
            case(
                "unknown token",
                method.clone(),
                path.to_string(),
                unknown,
                None,
                401,
            );
        }
        if let Some((method, path)) = &m.body {
            let json = |h: &mut Vec<(HeaderName, HeaderValue)>| {
                h.push((
                    HeaderName::from_static("content-type"),
                    HeaderValue::from_static("application/json"),
                ))
            };
            let mut h = authed.clone();
            json(&mut h);
            if m.bad_json != 0 {
                case(
                    "unparseable JSON",
                    method.clone(),
                    path.to_string(),
                    h.clone(),
                    Some(b"{\"username\": ".to_vec()),
                    m.bad_json,
                );
                let mut xml = authed.clone();
                xml.push((
                    HeaderName::from_static("content-type"),
                    HeaderValue::from_static("application/xml"),
                ));
                case(
                    "XML where JSON is read",
                    method.clone(),
                    path.to_string(),
                    xml,
                    Some(b"<Login><username>admin</username>".to_vec()),
                    m.wrong_type,
                );
                let mut text = authed.clone();
                text.push((
                    HeaderName::from_static("content-type"),
                    HeaderValue::from_static("text/plain"),
                ));
                case(
                    "wrong content type",
                    method.clone(),
                    path.to_string(),
                    text,
                    Some(b"{}".to_vec()),
                    m.wrong_type,
                );
            }
            case(
                "body over the limit",
                method.clone(),
                path.to_string(),
                h,
                Some(vec![b' '; 100 * 1024]),
                413,
            );
        }
    }
    // The health endpoints answer their rejections in the native envelope.
    for (method, path, expect) in [
        (Method::POST, "/healthz", 405),
        (Method::DELETE, "/readyz", 405),
        (Method::GET, "/healthz/x", 404),
        (Method::GET, "/no-such-prefix", 404),
    ] {
        out.push(Case {
            what: format!("{path} {method}"),
            shape: Shape::Native,
            method,
            path: path.into(),
            headers: vec![],
            body: None,
            expect,
        });
    }
    out
}

fn options() -> Options {
    let mut o = Options::default();
    o.server.max_body_bytes = 16 * 1024;
    o.server.read_timeout = Duration::from_millis(300);
    o.server.pam.basic = true;
    o
}

#[tokio::test]
async fn every_rejection_answers_in_the_products_shape() {
    let dir = TempDir::new().unwrap();
    let s = TestServer::start_with(&dir, options(), Arc::new(ManualClock::starting_now())).await;
    let token = s.admin().await;
    let cases = cases(&token);
    let mut failures = vec![];
    for c in &cases {
        let mut req = s.http.request(c.method.clone(), s.url(&c.path));
        for (k, v) in &c.headers {
            req = req.header(k.clone(), v.clone());
        }
        if let Some(b) = &c.body {
            req = req.body(b.clone());
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let ctype = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        let body = resp.text().await.unwrap();
        if c.expect == 0 {
            if status >= 400 {
                failures.push(format!("{}: {status} {body}", c.what));
            }
            continue;
        }
        if status != c.expect {
            failures.push(format!(
                "{}: status {status}, expected {} ({body})",
                c.what, c.expect
            ));
            continue;
        }
        if let Err(why) = check_envelope(c.shape, status, &ctype, &body) {
            failures.push(format!("{} ({status}): {why}: {body}", c.what));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} rejections were not in the product's shape:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    assert!(cases.len() > 100, "the table shrank to {}", cases.len());
}

/// A body that stops arriving is a 408 in the dialect's shape, on every prefix whose calls
/// read a body; the server answers others meanwhile.
#[tokio::test]
async fn a_slow_body_is_a_408_in_the_products_shape() {
    let dir = TempDir::new().unwrap();
    let s = TestServer::start_with(&dir, options(), Arc::new(ManualClock::starting_now())).await;
    let token = s.admin().await;
    let addr = s.base.trim_start_matches("http://").to_owned();
    let mut failures = vec![];
    for m in mounts() {
        let Some((method, path)) = &m.body else {
            continue;
        };
        let (name, value) = m.cred.header(token.as_bytes());
        let accept = if m.shape == Shape::CommvaultXml {
            "application/xml"
        } else {
            "application/json"
        };
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nAccept: {accept}\r\n{}: {}\r\nContent-Type: application/json\r\nContent-Length: 100\r\nConnection: close\r\n\r\n{{\"user",
            name.as_str(),
            value.to_str().unwrap()
        );
        let mut tcp = tokio::net::TcpStream::connect(&addr).await.unwrap();
        tcp.write_all(head.as_bytes()).await.unwrap();
        // Meanwhile, everyone else is answered.
        let (status, _) = s.get("/api/v1/session", &token).await;
        assert_eq!(status, StatusCode::OK);
        let mut answer = vec![];
        tokio::time::timeout(Duration::from_secs(5), tcp.read_to_end(&mut answer))
            .await
            .expect("answered within 5 s")
            .unwrap();
        let answer = String::from_utf8_lossy(&answer).into_owned();
        let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
        let ctype = head
            .lines()
            .find_map(|l| {
                l.to_ascii_lowercase()
                    .strip_prefix("content-type: ")
                    .map(str::to_owned)
            })
            .unwrap_or_default();
        if !head.starts_with("HTTP/1.1 408") {
            failures.push(format!("{method} {path}: {head}"));
        } else if let Err(why) = check_envelope(m.shape, 408, &ctype, body) {
            failures.push(format!("{method} {path}: {why}: {body}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
