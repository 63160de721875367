//! The MIM PAM dialect over raw HTTP (Bearer, Basic, cookie): shape, versions, statuses,
//! CORS. Kerberos (Negotiate) is tested with a real KDC in `pam_kerberos.rs`.

mod common;

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use common::{Options, TestServer};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use sessiond_core::ManualClock;
use tempfile::TempDir;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn pam_options() -> Options {
    let mut o = Options::default();
    o.server.pam.domain = "CONTOSO".into();
    o.server.pam.basic = true;
    o.server.read_timeout = Duration::from_millis(300);
    o.server.pam.cors_origins = vec!["https://portal.example".into()];
    o.server.pam.cors_credentials = true;
    o
}

async fn start(dir: &TempDir) -> (TestServer, String) {
    let s = TestServer::start_with(dir, pam_options(), Arc::new(ManualClock::starting_now())).await;
    let admin = s.admin().await;
    s.user(&admin, "jen", &["PAM Users"]).await;
    s.user(&admin, "nopam", &[]).await;
    (s, admin)
}

async fn get(s: &TestServer, path: &str, auth: Option<String>) -> reqwest::Response {
    let mut req = s.http.get(s.url(path));
    if let Some(a) = auth {
        req = req.header("authorization", a);
    }
    req.send().await.unwrap()
}

fn basic(user: &str, pw: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pw}"))
    )
}

fn odata_error(v: &Value) -> (&str, &str) {
    (
        v["odata.error"]["code"].as_str().unwrap(),
        v["odata.error"]["message"]["lang"].as_str().unwrap(),
    )
}

#[tokio::test]
async fn session_info_in_the_seed_shape_for_every_credential() {
    let dir = TempDir::new().unwrap();
    let (s, _) = start(&dir).await;
    let (jen, _) = s.login("jen", "jen-password").await;
    for path in [
        "/api/session/sessioninfo",
        "/api/session/sessioninfo/",
        "/api/session/sessioninfo?v=1",
    ] {
        let resp = get(&s, path, Some(format!("Bearer {jen}"))).await;
        assert_eq!(resp.status(), StatusCode::OK, "{path}");
        assert!(resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json"));
        let host = s.base.trim_start_matches("http://").to_owned();
        let body: Value = resp.json().await.unwrap();
        assert_eq!(
            body,
            json!({
                "odata.metadata": format!("http://{host}/api/pamresources/%24metadata#sessioninfo"),
                "value": [{"Username": "CONTOSO\\jen"}]
            })
        );
    }
    // Basic opens a session and sets the cookie; the cookie then suffices.
    let resp = get(
        &s,
        "/api/session/sessioninfo",
        Some(basic("CONTOSO\\jen", "jen-password")),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let cookie = resp.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.starts_with("sessiond_pam="), "{cookie}");
    for attr in ["HttpOnly", "SameSite=Strict", "Path=/api/session"] {
        assert!(cookie.contains(attr), "{cookie}");
    }
    let pair = cookie.split(';').next().unwrap().to_owned();
    let resp = s
        .http
        .get(s.url("/api/session/sessioninfo"))
        .header("cookie", pair.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(
        resp.headers().get("set-cookie").is_none(),
        "a cookie session is reused, not renewed"
    );
    // The cookie's session is an ordinary one, visible to the native API.
    let token = pair.trim_start_matches("sessiond_pam=");
    assert_eq!(
        s.get("/api/v1/session", token).await.1["user"]["name"],
        "jen"
    );
}

#[tokio::test]
async fn statuses_as_the_seed_lists_them() {
    let dir = TempDir::new().unwrap();
    let (s, admin) = start(&dir).await;
    // 401: none or bad credentials, with the challenges.
    let resp = get(&s, "/api/session/sessioninfo", None).await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    let challenges: Vec<String> = resp
        .headers()
        .get_all("www-authenticate")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    assert!(
        challenges.iter().any(|c| c.starts_with("Basic realm=")),
        "{challenges:?}"
    );
    let body: Value = resp.json().await.unwrap();
    assert_eq!(odata_error(&body), ("Unauthorized", "en-US"));
    assert_eq!(
        get(
            &s,
            "/api/session/sessioninfo",
            Some(basic("jen", "wrong-pw"))
        )
        .await
        .status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        get(&s, "/api/session/sessioninfo", Some("Bearer nope".into()))
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
    let resp = s
        .http
        .get(s.url("/api/session/sessioninfo"))
        .header("cookie", "sessiond_pam=stale")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    // Without a keytab, Negotiate cannot succeed.
    assert_eq!(
        get(
            &s,
            "/api/session/sessioninfo",
            Some("Negotiate YIIB".into())
        )
        .await
        .status(),
        StatusCode::UNAUTHORIZED
    );

    // 403: no privilege to read one's session, or a disabled account.
    let (nopam, _) = s.login("nopam", "nopam-password").await;
    let resp = get(
        &s,
        "/api/session/sessioninfo",
        Some(format!("Bearer {nopam}")),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    assert_eq!(odata_error(&resp.json().await.unwrap()).0, "Forbidden");
    s.call(
        Method::PATCH,
        "/api/v1/users/501",
        Some(&admin),
        Some(json!({"enabled": false})),
    )
    .await;
    let resp = get(
        &s,
        "/api/session/sessioninfo",
        Some(basic("jen", "jen-password")),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    s.call(
        Method::PATCH,
        "/api/v1/users/501",
        Some(&admin),
        Some(json!({"enabled": true})),
    )
    .await;

    // 400: a version other than 1.
    let (jen, _) = s.login("jen", "jen-password").await;
    for v in ["2", "0", "latest"] {
        let resp = get(
            &s,
            &format!("/api/session/sessioninfo?v={v}"),
            Some(format!("Bearer {jen}")),
        )
        .await;
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST, "v={v}");
        assert_eq!(odata_error(&resp.json().await.unwrap()).0, "BadRequest");
    }

    // 408: a request that does not arrive in time.
    let addr = s.base.trim_start_matches("http://").to_owned();
    let mut tcp = tokio::net::TcpStream::connect(&addr).await.unwrap();
    tcp.write_all(
        format!("GET /api/session/sessioninfo HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {jen}\r\nContent-Length: 10\r\n\r\nabc")
            .as_bytes(),
    )
    .await
    .unwrap();
    let mut answer = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(5), tcp.read(&mut answer))
        .await
        .unwrap()
        .unwrap();
    let answer = String::from_utf8_lossy(&answer[..n]);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("RequestTimeout"), "{answer}");

    // 503: the store is unavailable (the cached session is no help for a new login).
    s.store.close().await;
    let resp = get(
        &s,
        "/api/session/sessioninfo",
        Some(basic("jen", "jen-password")),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        odata_error(&resp.json().await.unwrap()).0,
        "ServiceUnavailable"
    );
}

#[tokio::test]
async fn cors_for_the_configured_origin_with_credentials() {
    let dir = TempDir::new().unwrap();
    let (s, _) = start(&dir).await;
    let resp = s
        .http
        .request(Method::OPTIONS, s.url("/api/session/sessioninfo"))
        .header("origin", "https://portal.example")
        .header("access-control-request-method", "GET")
        .header("access-control-request-headers", "authorization")
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success());
    let h = resp.headers();
    assert_eq!(h["access-control-allow-origin"], "https://portal.example");
    assert_eq!(h["access-control-allow-credentials"], "true");
    let other = s
        .http
        .get(s.url("/api/session/sessioninfo"))
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert!(other.headers().get("access-control-allow-origin").is_none());
    // Unknown paths and methods answer in OData's shape.
    let resp = s
        .http
        .post(s.url("/api/session/sessioninfo"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(
        odata_error(&resp.json().await.unwrap()).0,
        "MethodNotAllowed"
    );
}

/// The metadata URL comes from configuration or an accepted host name, never from a `Host`
/// header the caller chose.
#[tokio::test]
async fn the_metadata_url_is_never_an_arbitrary_host() {
    let dir = TempDir::new().unwrap();
    let (s, _) = start(&dir).await;
    let (jen, _) = s.login("jen", "jen-password").await;
    let port = s.base.rsplit(':').next().unwrap().to_owned();
    let metadata = |host: &str| {
        let s = &s;
        let jen = jen.clone();
        let host = host.to_owned();
        async move {
            let resp = s
                .http
                .get(s.url("/api/session/sessioninfo"))
                .bearer_auth(jen)
                .header("host", host)
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status(), StatusCode::OK);
            let body: Value = resp.json().await.unwrap();
            body["odata.metadata"].as_str().unwrap().to_owned()
        }
    };
    let tail = "/api/pamresources/%24metadata#sessioninfo";
    assert_eq!(
        metadata(&format!("localhost:{port}")).await,
        format!("http://localhost:{port}{tail}")
    );
    assert_eq!(
        metadata("evil.example").await,
        format!("http://testhost{tail}"),
        "an unknown host falls back to the server's own name"
    );

    // A configured public URL wins over every Host.
    let dir = TempDir::new().unwrap();
    let mut o = pam_options();
    o.server.pam.public_url = Some("https://pam.example/".into());
    let s = TestServer::start_with(&dir, o, Arc::new(ManualClock::starting_now())).await;
    let admin = s.admin().await;
    let resp = s
        .http
        .get(s.url("/api/session/sessioninfo"))
        .bearer_auth(admin)
        .header("host", "evil.example")
        .send()
        .await
        .unwrap();
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["odata.metadata"], format!("https://pam.example{tail}"));
}

/// A client that sends Basic on every request has one session, not one per request.
#[tokio::test]
async fn basic_on_every_request_reuses_one_session() {
    let dir = TempDir::new().unwrap();
    let (s, admin) = start(&dir).await;
    let mut cookies = 0;
    for _ in 0..20 {
        let resp = get(
            &s,
            "/api/session/sessioninfo",
            Some(basic("jen", "jen-password")),
        )
        .await;
        assert_eq!(resp.status(), StatusCode::OK);
        cookies += resp.headers().get_all("set-cookie").iter().count();
    }
    assert_eq!(cookies, 1, "the session (and its cookie) is made once");
    let (_, list) = s.get("/api/v1/sessions?user=jen", &admin).await;
    assert_eq!(list["sessions"].as_array().unwrap().len(), 1, "{list}");

    // A wrong password is never served from the reused session.
    let resp = get(
        &s,
        "/api/session/sessioninfo",
        Some(basic("jen", "not-jen-password")),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);

    // Once that session ends, the next request opens a new one.
    let (_, list) = s.get("/api/v1/sessions?user=jen", &admin).await;
    let id = list["sessions"][0]["id"].as_str().unwrap().to_owned();
    let (st, _) = s
        .call(
            reqwest::Method::DELETE,
            &format!("/api/v1/sessions/{id}"),
            Some(&admin),
            None,
        )
        .await;
    assert!(st.is_success(), "{st}");
    let resp = get(
        &s,
        "/api/session/sessioninfo",
        Some(basic("jen", "jen-password")),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(resp.headers().get("set-cookie").is_some());
}
