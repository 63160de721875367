//! The Commvault dialect over raw HTTP: the seed's XML attribute by attribute, JSON types,
//! ended sessions, every error in both formats, paths, Authtoken forms, renewal.

mod common;

use base64::Engine as _;
use common::{TestServer, ADMIN_PASSWORD};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tempfile::TempDir;

const ROOT: &str = "/webconsole/api";

struct Cv<'a> {
    s: &'a TestServer,
}

impl Cv<'_> {
    async fn login(&self, user: &str, pw: &str) -> Value {
        let body = json!({
            "mode": 4, "username": user,
            "password": base64::engine::general_purpose::STANDARD.encode(pw),
            "deviceId": "test-host", "clientType": 30
        });
        let resp = self
            .s
            .http
            .post(self.s.url(&format!("{ROOT}/Login")))
            .header("accept", "application/json")
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        resp.json().await.unwrap()
    }

    async fn get(
        &self,
        path: &str,
        token: Option<&str>,
        accept: &str,
        only_active: bool,
    ) -> (StatusCode, String, String) {
        let mut req = self
            .s
            .http
            .get(self.s.url(path))
            .header("accept", accept)
            .header("content-type", "application/json");
        if let Some(t) = token {
            req = req.header("Authtoken", t);
        }
        if only_active {
            req = req.header("ONLY-ACTIVE-SESSIONS", "true");
        }
        let resp = req.send().await.unwrap();
        let status = resp.status();
        let ctype = resp
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        (status, ctype, resp.text().await.unwrap())
    }
}

#[tokio::test]
async fn sessions_of_a_user_in_json_with_integer_fields_and_history() {
    let dir = TempDir::new().unwrap();
    let s = TestServer::start(&dir).await;
    let cv = Cv { s: &s };
    let login = cv.login("admin", ADMIN_PASSWORD).await;
    assert_eq!(login["userName"], "admin");
    let token = login["token"].as_str().unwrap().to_owned();
    assert!(token.starts_with("QSDK "));
    let (native, native_id) = s.login("admin", ADMIN_PASSWORD).await;
    let (ended, ended_id) = s.login("admin", ADMIN_PASSWORD).await;
    s.call(Method::DELETE, "/api/v1/session", Some(&ended), None)
        .await;

    // Without the header: every session, the ended one with its logoutTime.
    let (status, ctype, body) = cv
        .get(
            &format!("{ROOT}/Session?userId=500"),
            Some(&token),
            "application/json",
            false,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(ctype.starts_with("application/json"), "{ctype}");
    let all: Value = serde_json::from_str(&body).unwrap();
    let list = all["sessions"].as_array().unwrap();
    assert_eq!(list.len(), 3, "{body}");
    let ended_row = list
        .iter()
        .find(|x| x["sessionId"] == ended_id.as_str())
        .unwrap();
    assert!(ended_row["logoutTime"].as_i64().unwrap() >= ended_row["loginTime"].as_i64().unwrap());
    assert!(ended_row["logoutTime"].as_i64().unwrap() > 0);
    let row = list
        .iter()
        .find(|x| x["sessionId"] == native_id.as_str())
        .unwrap();
    assert_eq!(row["logoutTime"], 0);
    for k in [
        "logoutTime",
        "loginTime",
        "browserSessionId",
        "consoleType",
        "lastAccessedTime",
    ] {
        assert!(row[k].is_i64(), "{k} is an integer: {row}");
    }
    assert_eq!(row["consoleType"], 19);
    assert_eq!(row["host"], "127.0.0.1");
    assert_eq!(row["description"], "");
    assert_eq!(row["user"], json!({"userName": "admin", "userId": 500}));

    // With ONLY-ACTIVE-SESSIONS: true, the ended one is hidden.
    let (_, _, body) = cv
        .get(
            &format!("{ROOT}/Session?userId=500"),
            Some(&token),
            "application/json",
            true,
        )
        .await;
    let active: Value = serde_json::from_str(&body).unwrap();
    let ids: Vec<&str> = active["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["sessionId"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 2);
    assert!(!ids.contains(&ended_id.as_str()));
    assert_eq!(s.get("/api/v1/session", &native).await.0, StatusCode::OK);

    // A user with no sessions: {"sessions": []}, never {} and never 204.
    let admin = s.admin().await;
    let bob = s.user(&admin, "bob", &[]).await;
    let (status, _, body) = cv
        .get(
            &format!("{ROOT}/Session?userId={bob}"),
            Some(&token),
            "application/json",
            true,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap(),
        json!({"sessions": []})
    );
}

#[tokio::test]
async fn the_xml_form_matches_the_seed_sample_attribute_by_attribute() {
    let dir = TempDir::new().unwrap();
    let s = TestServer::start(&dir).await;
    let cv = Cv { s: &s };
    let token = cv.login("admin", ADMIN_PASSWORD).await["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, ctype, body) = cv
        .get(
            &format!("{ROOT}/Session?userId=500"),
            Some(&token),
            "application/xml",
            true,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(ctype.starts_with("application/xml"), "{ctype}");
    assert!(
        body.starts_with(r#"<?xml version="1.0" encoding="UTF-8" standalone="no" ?>"#),
        "{body}"
    );
    // <sessions logoutTime=".." loginTime=".." host=".." description="" sessionId=".."
    //           browserSessionId=".." consoleType=".."><user userName=".." userId=".."/></sessions>
    let start = body.find("<sessions ").expect("a sessions element");
    let element = &body[start..body[start..].find("</sessions>").unwrap() + start];
    let attrs: Vec<&str> = element
        .split('"')
        .step_by(2)
        .map(|chunk| {
            chunk
                .trim()
                .trim_start_matches("<sessions")
                .trim()
                .trim_end_matches('=')
        })
        .filter(|a| !a.is_empty() && !a.starts_with('>'))
        .take(7)
        .collect();
    assert_eq!(
        attrs,
        [
            "logoutTime",
            "loginTime",
            "host",
            "description",
            "sessionId",
            "browserSessionId",
            "consoleType"
        ],
        "{element}"
    );
    assert!(element.contains(r#"logoutTime="0""#) && element.contains(r#"description="""#));
    assert!(
        element.contains(r#"<user userName="admin" userId="500"/>"#),
        "{element}"
    );
    assert!(
        body.contains("<App_GetUserSessionsResponse>")
            && body.trim_end().ends_with("</App_GetUserSessionsResponse>")
    );
}

#[tokio::test]
async fn every_error_in_json_and_in_xml() {
    let dir = TempDir::new().unwrap();
    let s = TestServer::start(&dir).await;
    let cv = Cv { s: &s };
    let admin_token = cv.login("admin", ADMIN_PASSWORD).await["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let admin = s.admin().await;
    s.user(&admin, "bob", &[]).await;
    let bob = cv.login("bob", "bob-password").await["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let cases: Vec<(String, Option<&str>, StatusCode)> = vec![
        (
            format!("{ROOT}/Session"),
            Some(&admin_token),
            StatusCode::BAD_REQUEST,
        ),
        (
            format!("{ROOT}/Session?userId="),
            Some(&admin_token),
            StatusCode::BAD_REQUEST,
        ),
        (
            format!("{ROOT}/Session?userId=abc"),
            Some(&admin_token),
            StatusCode::BAD_REQUEST,
        ),
        (
            format!("{ROOT}/Session?userId=999"),
            Some(&admin_token),
            StatusCode::NOT_FOUND,
        ),
        (
            format!("{ROOT}/Session?userId=500"),
            None,
            StatusCode::UNAUTHORIZED,
        ),
        (
            format!("{ROOT}/Session?userId=500"),
            Some("QSDK not-a-token"),
            StatusCode::UNAUTHORIZED,
        ),
        (
            format!("{ROOT}/Session?userId=500"),
            Some(&bob),
            StatusCode::FORBIDDEN,
        ),
        (
            format!("{ROOT}/NoSuchThing"),
            Some(&admin_token),
            StatusCode::NOT_FOUND,
        ),
    ];
    for (path, token, want) in cases {
        let (status, ctype, body) = cv.get(&path, token, "application/json", true).await;
        assert_eq!(status, want, "{path}: {body}");
        assert!(ctype.starts_with("application/json"), "{path}: {ctype}");
        let err: Value = serde_json::from_str(&body).unwrap();
        assert!(
            err["errorCode"].is_i64() && !err["errorMessage"].as_str().unwrap().is_empty(),
            "{body}"
        );
        let (status, ctype, body) = cv.get(&path, token, "application/xml", true).await;
        assert_eq!(status, want, "{path}");
        assert!(ctype.starts_with("application/xml"), "{path}: {ctype}");
        assert!(body.contains("<CVGui_GenericResp errorCode=\""), "{body}");
        assert!(body.contains("errorMessage=\""), "{body}");
    }
    // Bob may read his own sessions.
    let (status, _, _) = cv
        .get(
            &format!("{ROOT}/Session?userId=501"),
            Some(&bob),
            "application/json",
            true,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn refused_logins_answer_200_with_errlist_and_the_lock() {
    let dir = TempDir::new().unwrap();
    let s = TestServer::start(&dir).await;
    let cv = Cv { s: &s };
    let bad = cv.login("admin", "wrong-password").await;
    assert_eq!(
        bad["errList"][0]["errLogMessage"],
        "Invalid username or password"
    );
    assert_eq!(bad["errList"][0]["errorCode"], 1116);
    assert_eq!(bad["isAccountLocked"], false);
    // Failures from three addresses lock the name (from one they only slow it down).
    for ip in ["127.0.0.2", "127.0.0.3", "127.0.0.2", "127.0.0.3"] {
        let resp = common::client_from(ip)
            .post(s.url(&format!("{ROOT}/Login")))
            .json(&json!({"username": "admin", "password": base64::engine::general_purpose::STANDARD.encode("wrong")}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
    }
    let locked = cv.login("admin", ADMIN_PASSWORD).await;
    assert_eq!(locked["isAccountLocked"], true);
    assert_eq!(locked["errList"][0]["errorCode"], 1117);
    let left = locked["remainingLockTime"].as_i64().unwrap();
    assert!(left > 29 * 60 && left <= 30 * 60, "{left}");
    // A body the server cannot read is 400 with a JSON body.
    let resp = s
        .http
        .post(s.url(&format!("{ROOT}/Login")))
        .header("content-type", "application/json")
        .body("{")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert!(resp.json::<Value>().await.unwrap()["errorMessage"].is_string());
}

#[tokio::test]
async fn roots_paths_authtoken_forms_whoami_logout_and_renewal() {
    let dir = TempDir::new().unwrap();
    let s = TestServer::start(&dir).await;
    let cv = Cv { s: &s };
    for probe in [
        "/commandcenter/api",
        "/commandcenter/api/",
        "/webconsole/api/",
        "/WebConsole/API",
    ] {
        let resp = s.http.get(s.url(probe)).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK, "{probe}");
    }
    let token = cv.login("admin", ADMIN_PASSWORD).await["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let bare = token.trim_start_matches("QSDK ").to_owned();
    let native = s.admin().await;
    for (t, path) in [
        (
            token.clone(),
            "/commandcenter/api/v4/user?additionalProperties=true",
        ),
        (format!("Bearer {bare}"), "/webconsole/api/V4/User/"),
        (bare.clone(), "/webconsole/api/v4/user"),
        (format!("QSDK {native}"), "/commandcenter/api/v4/user"),
    ] {
        let (status, _, body) = cv.get(path, Some(&t), "application/json", false).await;
        assert_eq!(status, StatusCode::OK, "{t} {path}: {body}");
        let users: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(users["users"][0]["id"], 500);
        assert_eq!(users["users"][0]["name"], "admin");
    }
    let (_, _, one) = cv
        .get(
            &format!("{ROOT}/v4/user/500"),
            Some(&token),
            "application/json",
            false,
        )
        .await;
    assert_eq!(
        serde_json::from_str::<Value>(&one).unwrap()["name"],
        "admin"
    );
    let (_, _, sec) = cv
        .get(
            &format!("{ROOT}/User/500/Security"),
            Some(&token),
            "application/json",
            false,
        )
        .await;
    assert_eq!(
        serde_json::from_str::<Value>(&sec).unwrap(),
        json!({"associations": []})
    );
    let (status, _, _) = cv
        .get(
            &format!("{ROOT}/v4/user/999"),
            Some(&token),
            "application/json",
            false,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // WhoAmI, in JSON and XML, with a Content-Type.
    let whoami = |accept: &'static str| {
        s.http
            .post(s.url(&format!("{ROOT}/WhoAmI")))
            .header("Authtoken", token.clone())
            .header("accept", accept)
            .header("content-type", "application/xml")
            .send()
    };
    let resp = whoami("application/json").await.unwrap();
    assert!(resp.headers()["content-type"]
        .to_str()
        .unwrap()
        .contains("application/json"));
    assert_eq!(
        resp.json::<Value>().await.unwrap()["user"],
        json!({"userName": "admin", "userId": 500})
    );
    let resp = whoami("application/xml").await.unwrap();
    let xml = resp.text().await.unwrap();
    assert!(
        xml.contains(
            r#"<CvEntities_ProcessingInstructionInfo><user userName="admin" userId="500"/>"#
        ),
        "{xml}"
    );

    // A RenewLoginToken body that is not the request is a 400 and renews nothing.
    for body in ["{not json", r#"{"sessionId": 5}"#] {
        let resp = s
            .http
            .post(s.url(&format!("{ROOT}/RenewLoginToken")))
            .header("Authtoken", token.clone())
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(resp.json::<Value>().await.unwrap()["errorCode"], 2);
        let (status, _, _) = cv
            .get(
                &format!("{ROOT}/WhoAmI"),
                Some(&token),
                "application/json",
                false,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "the token still works");
    }

    // RenewLoginToken: a new token; the old one no longer works.
    let resp = s
        .http
        .post(s.url(&format!("{ROOT}/RenewLoginToken")))
        .header("Authtoken", token.clone())
        .json(&json!({"sessionId": token, "deviceId": "test-host"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let renewed = resp.json::<Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(renewed.starts_with("QSDK ") && renewed != token);
    let (status, _, _) = cv
        .get(
            &format!("{ROOT}/v4/user"),
            Some(&token),
            "application/json",
            false,
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // Logout: 200 with text; the session stays in history with its logoutTime.
    let resp = s
        .http
        .post(s.url(&format!("{ROOT}/Logout")))
        .header("Authtoken", renewed.clone())
        .header("content-type", "application/xml")
        .header("content-length", "0")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.text().await.unwrap(), "User logged out");
    let (status, _, _) = cv
        .get(
            &format!("{ROOT}/v4/user"),
            Some(&renewed),
            "application/json",
            false,
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // Renewing an ended session: 200 with an error the SDK reports.
    let resp = s
        .http
        .post(s.url(&format!("{ROOT}/RenewLoginToken")))
        .json(&json!({"sessionId": renewed}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(resp.json::<Value>().await.unwrap()["error"]["errLogMessage"].is_string());
}
