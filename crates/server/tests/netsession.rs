//! Network sessions: reporting, and NetSessionGetInfo / Enum / Del with Windows' levels,
//! filters, paging, access rules and statuses.

mod common;

use std::sync::Arc;

use common::{Options, TestServer};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use sessiond_core::ManualClock;
use tempfile::TempDir;

struct Net {
    s: TestServer,
    clock: Arc<ManualClock>,
    admin: String,
    reporter: String,
    user: String,
    operator: String,
}

impl Net {
    async fn start(dir: &TempDir) -> Net {
        let clock = Arc::new(ManualClock::starting_now());
        let s = TestServer::start_with(dir, Options::default(), clock.clone()).await;
        let admin = s.admin().await;
        for (name, roles) in [
            ("alice", vec![]),
            ("bob", vec![]),
            ("reporter", vec!["Session Reporters"]),
            ("operator", vec!["Server Operators"]),
        ] {
            s.user(&admin, name, &roles).await;
        }
        let reporter = s.login("reporter", "reporter-password").await.0;
        let user = s.login("alice", "alice-password").await.0;
        let operator = s.login("operator", "operator-password").await.0;
        Net {
            s,
            clock,
            admin,
            reporter,
            user,
            operator,
        }
    }

    async fn report(&self, server: &str, body: Value) -> (StatusCode, Value) {
        self.s
            .call(
                Method::POST,
                &format!("/api/v1/servers/{server}/sessions"),
                Some(&self.reporter),
                Some(body),
            )
            .await
    }

    async fn net(&self, method: Method, path: &str, token: &str) -> (StatusCode, Value) {
        self.s.call(method, path, Some(token), None).await
    }
}

fn status(body: &Value) -> (i64, &str) {
    (
        body["status"].as_i64().unwrap(),
        body["name"].as_str().unwrap(),
    )
}

async fn two_file_servers(n: &Net) {
    for (server, body) in [
        (
            "FS1",
            json!({"client_name": "\\\\WS01", "username": "alice", "client_type": "Windows 10 Enterprise", "transport": "\\Device\\NetBT_Tcpip", "num_opens": 3, "user_flags": 0, "shares": ["data"]}),
        ),
        (
            "FS1",
            json!({"client_name": "WS02", "username": "bob", "client_type": "Windows 11 Pro", "num_opens": 1, "user_flags": 1}),
        ),
        ("FS1", json!({"client_name": "WS01", "username": "bob"})),
        (
            "FS2",
            json!({"client_name": "LAPTOP7", "username": "alice"}),
        ),
    ] {
        let (st, body) = n.report(server, body).await;
        assert_eq!(st, StatusCode::CREATED, "{body}");
    }
}

#[tokio::test]
async fn reporting_and_its_errors() {
    let dir = TempDir::new().unwrap();
    let n = Net::start(&dir).await;
    let (st, s) = n
        .report("FS1", json!({"client_name": "\\\\WS01", "username": "alice", "num_opens": 2, "shares": ["data"]}))
        .await;
    assert_eq!(st, StatusCode::CREATED);
    assert_eq!(s["client_name"], "WS01", "stored without the leading \\\\");
    assert_eq!(
        (s["server"].as_str(), s["auth_method"].as_str()),
        (Some("FS1"), Some("reported"))
    );
    let id = s["id"].as_str().unwrap().to_owned();

    let (st, body) = n
        .report("FS1", json!({"client_name": "WS01", "username": "ghost"}))
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    assert_eq!(status(&body), (2221, "NERR_UserNotFound"));
    let (st, _) = n.report("FS1", json!({"username": "alice"})).await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    let (st, _) = n
        .report(
            "FS1",
            json!({"client_name": "bad name", "username": "alice"}),
        )
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    let (st, body) =
        n.s.call(
            Method::POST,
            "/api/v1/servers/FS1/sessions",
            Some(&n.user),
            Some(json!({"client_name": "X", "username": "alice"})),
        )
        .await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    assert_eq!(status(&body), (5, "ERROR_ACCESS_DENIED"));

    // PATCH changes what it is given and restarts the idle time.
    n.clock.advance(time::Duration::minutes(5));
    let (_, before) = n
        .net(
            Method::GET,
            "/api/v1/net/session?server=FS1&client=WS01&user=alice&level=10",
            &n.user,
        )
        .await;
    assert_eq!(before["info"]["sesi10_idle_time"], 300);
    let (st, s) =
        n.s.call(
            Method::PATCH,
            &format!("/api/v1/servers/FS1/sessions/{id}"),
            Some(&n.reporter),
            Some(json!({"num_opens": 9})),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{s}");
    let (_, after) = n
        .net(
            Method::GET,
            "/api/v1/net/session?server=FS1&client=WS01&user=alice&level=1",
            &n.admin,
        )
        .await;
    assert_eq!(after["info"]["sesi1_idle_time"], 0);
    assert_eq!(after["info"]["sesi1_num_opens"], 9);
    assert_eq!(after["info"]["sesi1_time"], 300);

    // It is an ordinary session: in the native list, and in Commvault's.
    let (_, list) = n.s.get("/api/v1/sessions?server=FS1", &n.admin).await;
    assert_eq!(list["sessions"][0]["id"], id.as_str());
    let resp =
        n.s.http
            .get(n.s.url("/webconsole/api/Session?userId=501"))
            .header("Authtoken", format!("QSDK {}", n.admin))
            .header("accept", "application/json")
            .send()
            .await
            .unwrap();
    let cv: Value = resp.json().await.unwrap();
    assert!(cv["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .any(|x| x["sessionId"] == id.as_str() && x["host"] == "WS01"));

    // The server closes it.
    let (st, s) =
        n.s.call(
            Method::DELETE,
            &format!("/api/v1/servers/FS1/sessions/{id}"),
            Some(&n.reporter),
            None,
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(s["end_reason"], "closed_by_server");
    let (st, _) =
        n.s.call(
            Method::DELETE,
            &format!("/api/v1/servers/FS2/sessions/{id}"),
            Some(&n.reporter),
            None,
        )
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND, "another server's session");
}

#[tokio::test]
async fn every_level_with_windows_field_names() {
    let dir = TempDir::new().unwrap();
    let n = Net::start(&dir).await;
    two_file_servers(&n).await;
    n.clock.advance(time::Duration::seconds(90));
    let expect: [(u32, &[&str]); 5] = [
        (0, &["sesi0_cname"]),
        (
            1,
            &[
                "sesi1_cname",
                "sesi1_idle_time",
                "sesi1_num_opens",
                "sesi1_time",
                "sesi1_user_flags",
                "sesi1_username",
            ],
        ),
        (
            2,
            &[
                "sesi2_cltype_name",
                "sesi2_cname",
                "sesi2_idle_time",
                "sesi2_num_opens",
                "sesi2_time",
                "sesi2_user_flags",
                "sesi2_username",
            ],
        ),
        (
            10,
            &[
                "sesi10_cname",
                "sesi10_idle_time",
                "sesi10_time",
                "sesi10_username",
            ],
        ),
        (
            502,
            &[
                "sesi502_cltype_name",
                "sesi502_cname",
                "sesi502_idle_time",
                "sesi502_num_opens",
                "sesi502_time",
                "sesi502_transport",
                "sesi502_user_flags",
                "sesi502_username",
            ],
        ),
    ];
    for (level, fields) in expect {
        let (st, body) = n
            .net(
                Method::GET,
                &format!("/api/v1/net/session?server=fs1&client=\\\\WS01&user=alice&level={level}"),
                &n.admin,
            )
            .await;
        assert_eq!(st, StatusCode::OK, "level {level}: {body}");
        assert_eq!(status(&body), (0, "NERR_Success"));
        let mut keys: Vec<&str> = body["info"]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort();
        assert_eq!(keys, fields, "level {level}");
        assert_eq!(body["info"][format!("sesi{level}_cname")], "\\\\WS01");
        if level != 0 {
            assert_eq!(body["info"][format!("sesi{level}_username")], "alice");
            assert_eq!(body["info"][format!("sesi{level}_time")], 90);
        }
        let (st, all) = n
            .net(
                Method::GET,
                &format!("/api/v1/net/sessions?server=FS1&level={level}"),
                &n.admin,
            )
            .await;
        assert_eq!(st, StatusCode::OK);
        assert_eq!(
            (all["entries_read"].as_i64(), all["total_entries"].as_i64()),
            (Some(3), Some(3))
        );
    }
    let (_, two) = n
        .net(
            Method::GET,
            "/api/v1/net/session?server=FS1&client=WS02&user=bob&level=502",
            &n.admin,
        )
        .await;
    assert_eq!(two["info"]["sesi502_cltype_name"], "Windows 11 Pro");
    assert_eq!(two["info"]["sesi502_user_flags"], 1);
    let (_, one) = n
        .net(
            Method::GET,
            "/api/v1/net/session?server=FS1&client=WS01&user=alice&level=502",
            &n.admin,
        )
        .await;
    assert_eq!(one["info"]["sesi502_transport"], "\\Device\\NetBT_Tcpip");
}

#[tokio::test]
async fn access_rule_per_level_and_every_error() {
    let dir = TempDir::new().unwrap();
    let n = Net::start(&dir).await;
    two_file_servers(&n).await;
    // 0 and 10: anyone signed in. 1, 2, 502: Administrators or Server Operators.
    for level in [0, 10] {
        assert_eq!(
            n.net(
                Method::GET,
                &format!("/api/v1/net/sessions?server=FS1&level={level}"),
                &n.user
            )
            .await
            .0,
            StatusCode::OK
        );
    }
    for level in [1, 2, 502] {
        let (st, body) = n
            .net(
                Method::GET,
                &format!("/api/v1/net/sessions?server=FS1&level={level}"),
                &n.user,
            )
            .await;
        assert_eq!(st, StatusCode::FORBIDDEN, "level {level}");
        assert_eq!(status(&body), (5, "ERROR_ACCESS_DENIED"));
        assert_eq!(
            n.net(
                Method::GET,
                &format!("/api/v1/net/sessions?server=FS1&level={level}"),
                &n.operator
            )
            .await
            .0,
            StatusCode::OK
        );
    }
    assert_eq!(
        n.s.call(Method::GET, "/api/v1/net/sessions?level=0", None, None)
            .await
            .0,
        StatusCode::UNAUTHORIZED
    );
    let cases: [(&str, StatusCode, (i64, &str)); 9] = [
        (
            "/api/v1/net/session?server=FS1&client=WS01&level=1",
            StatusCode::BAD_REQUEST,
            (87, "ERROR_INVALID_PARAMETER"),
        ),
        (
            "/api/v1/net/session?server=FS1&user=alice&level=1",
            StatusCode::BAD_REQUEST,
            (87, "ERROR_INVALID_PARAMETER"),
        ),
        (
            "/api/v1/net/sessions?server=FS1&level=3",
            StatusCode::BAD_REQUEST,
            (124, "ERROR_INVALID_LEVEL"),
        ),
        (
            "/api/v1/net/sessions?server=FS1&level=x",
            StatusCode::BAD_REQUEST,
            (124, "ERROR_INVALID_LEVEL"),
        ),
        (
            "/api/v1/net/sessions?server=FS1&level=1&user=ghost",
            StatusCode::NOT_FOUND,
            (2221, "NERR_UserNotFound"),
        ),
        (
            "/api/v1/net/session?server=FS1&client=WS02&user=alice&level=1",
            StatusCode::NOT_FOUND,
            (2221, "NERR_UserNotFound"),
        ),
        (
            "/api/v1/net/sessions?server=FS1&level=1&client=\\\\NOPE",
            StatusCode::NOT_FOUND,
            (2312, "NERR_ClientNameNotFound"),
        ),
        (
            "/api/v1/net/sessions?server=NOSUCH&level=0",
            StatusCode::NOT_FOUND,
            (2351, "NERR_InvalidComputer"),
        ),
        (
            "/api/v1/net/sessions?server=bad%20name&level=0",
            StatusCode::BAD_REQUEST,
            (2351, "NERR_InvalidComputer"),
        ),
    ];
    for (path, want, st) in cases {
        let (got, body) = n.net(Method::GET, path, &n.admin).await;
        assert_eq!(got, want, "{path}: {body}");
        assert_eq!(status(&body), st, "{path}");
        assert!(!body["message"].as_str().unwrap().is_empty());
    }
    let (st, body) = n
        .net(Method::DELETE, "/api/v1/net/sessions?server=FS1", &n.admin)
        .await;
    assert_eq!(
        (st, status(&body)),
        (StatusCode::BAD_REQUEST, (87, "ERROR_INVALID_PARAMETER"))
    );
    let (st, body) = n
        .net(
            Method::DELETE,
            "/api/v1/net/sessions?server=FS1&user=bob",
            &n.user,
        )
        .await;
    assert_eq!(
        (st, status(&body)),
        (StatusCode::FORBIDDEN, (5, "ERROR_ACCESS_DENIED"))
    );
    // Without a server: this one, where logins open sessions.
    let (st, local) = n
        .net(Method::GET, "/api/v1/net/sessions?level=10", &n.user)
        .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(local["server"], "testhost");
    assert!(local["entries"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["sesi10_username"] == "alice" && e["sesi10_cname"] == "\\\\127.0.0.1"));
}

#[tokio::test]
async fn enum_pages_with_prefmaxlen_and_a_resume_handle() {
    let dir = TempDir::new().unwrap();
    let n = Net::start(&dir).await;
    for i in 0..10 {
        let (st, _) = n.report("FS9", json!({"client_name": format!("WS{i:02}"), "username": "alice", "client_type": "Windows"})).await;
        assert_eq!(st, StatusCode::CREATED);
    }
    // Level 10 entries here are 24 + "\\\\WSnn" (7 chars + NUL: 16) + "alice" (12) = 52 bytes.
    let (mut seen, mut resume, mut calls) = (vec![], 0, 0);
    loop {
        let (st, page) = n
            .net(
                Method::GET,
                &format!("/api/v1/net/sessions?server=FS9&level=10&prefmaxlen=120&resume={resume}"),
                &n.user,
            )
            .await;
        assert_eq!(st, StatusCode::OK);
        calls += 1;
        assert_eq!(page["total_entries"], 10);
        for e in page["entries"].as_array().unwrap() {
            seen.push(e["sesi10_cname"].as_str().unwrap().to_owned());
        }
        if page["status"] == 234 {
            assert_eq!(page["name"], "ERROR_MORE_DATA");
            assert_eq!(page["entries_read"], 2);
            resume = page["resume_handle"].as_u64().unwrap();
        } else {
            assert_eq!(status(&page), (0, "NERR_Success"));
            assert_eq!(page["resume_handle"], Value::Null);
            break;
        }
    }
    assert_eq!(calls, 5);
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), 10, "every session once: {seen:?}");
    // prefmaxlen smaller than one entry still returns one (so paging advances); -1 is all.
    let (_, one) = n
        .net(
            Method::GET,
            "/api/v1/net/sessions?server=FS9&level=10&prefmaxlen=1",
            &n.user,
        )
        .await;
    assert_eq!(
        (one["entries_read"].as_i64(), one["status"].as_i64()),
        (Some(1), Some(234))
    );
    let (_, all) = n
        .net(
            Method::GET,
            "/api/v1/net/sessions?server=FS9&level=10&prefmaxlen=-1",
            &n.user,
        )
        .await;
    assert_eq!(
        (all["entries_read"].as_i64(), all["status"].as_i64()),
        (Some(10), Some(0))
    );
}

#[tokio::test]
async fn del_by_client_by_user_and_by_both() {
    let dir = TempDir::new().unwrap();
    let n = Net::start(&dir).await;
    two_file_servers(&n).await;
    let count = |body: Value| body["total_entries"].as_i64().unwrap();
    // Both: only bob on WS01.
    let (st, r) = n
        .net(
            Method::DELETE,
            "/api/v1/net/sessions?server=FS1&client=WS01&user=bob",
            &n.operator,
        )
        .await;
    assert_eq!((st, r["closed"].as_i64()), (StatusCode::OK, Some(1)));
    assert_eq!(
        count(
            n.net(
                Method::GET,
                "/api/v1/net/sessions?server=FS1&level=0",
                &n.user
            )
            .await
            .1
        ),
        2
    );
    // By user: bob's remaining session (WS02).
    let (_, r) = n
        .net(
            Method::DELETE,
            "/api/v1/net/sessions?server=FS1&user=bob",
            &n.admin,
        )
        .await;
    assert_eq!(r["closed"], 1);
    // By client: WS01 (alice's).
    let (_, r) = n
        .net(
            Method::DELETE,
            "/api/v1/net/sessions?server=FS1&client=\\\\WS01",
            &n.admin,
        )
        .await;
    assert_eq!(r["closed"], 1);
    let (st, body) = n
        .net(
            Method::GET,
            "/api/v1/net/sessions?server=FS1&level=0",
            &n.user,
        )
        .await;
    assert_eq!((st, count(body)), (StatusCode::OK, 0));
    // Nothing left to match.
    let (st, body) = n
        .net(
            Method::DELETE,
            "/api/v1/net/sessions?server=FS1&client=WS01",
            &n.admin,
        )
        .await;
    assert_eq!(
        (st, status(&body)),
        (StatusCode::NOT_FOUND, (2312, "NERR_ClientNameNotFound"))
    );
    // The other server's session is untouched, and the ended ones say why.
    assert_eq!(
        count(
            n.net(
                Method::GET,
                "/api/v1/net/sessions?server=FS2&level=0",
                &n.user
            )
            .await
            .1
        ),
        1
    );
    let (_, ended) =
        n.s.get("/api/v1/sessions?server=FS1&state=ended", &n.admin)
            .await;
    assert!(ended["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .all(|s| s["end_reason"] == "closed_by_server"));
}
