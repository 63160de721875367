//! The Symphony dialect over raw HTTP: the JWT rules, key and app registration, OBO, and
//! the exact `UserV2`.

mod common;

use std::sync::Arc;

use common::{message, Options, TestServer};
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use sessiond_core::ManualClock;
use tempfile::TempDir;

const KEYS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures/keys");

fn key(name: &str) -> String {
    std::fs::read_to_string(format!("{KEYS}/{name}")).unwrap()
}

fn jwt(alg: Algorithm, private: &str, claims: Value) -> String {
    let k = match alg {
        Algorithm::HS512 => EncodingKey::from_secret(key("bot.pub").as_bytes()),
        _ => EncodingKey::from_rsa_pem(key(private).as_bytes()).unwrap(),
    };
    encode(&Header::new(alg), &claims, &k).unwrap()
}

struct Sym {
    s: TestServer,
    admin: String,
    bot_id: i64,
}

impl Sym {
    async fn start(dir: &TempDir) -> Sym {
        let clock = Arc::new(ManualClock::starting_now());
        // The JWT rules are checked with many refusals in a row: no throttle here (it has a
        // test of its own below).
        let s = TestServer::start_with(
            dir,
            common::without_throttle(Options::default()),
            clock.clone(),
        )
        .await;
        let admin = s.admin().await;
        let (status, bot) = s
            .call(
                Method::POST,
                "/api/v1/users",
                Some(&admin),
                Some(json!({
                    "name": "bot", "account_type": "SYSTEM", "display_name": "The Bot",
                    "email": "bot@example.com", "department": "R&D", "work_phone": "555-0100",
                    "metadata": {"team": {"name": "core"}, "flat": "value"}
                })),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{bot}");
        let bot_id = bot["id"].as_i64().unwrap();
        let (status, body) = s
            .call(
                Method::POST,
                &format!("/api/v1/users/{bot_id}/keys"),
                Some(&admin),
                Some(json!({"public_key": key("bot.pub")})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        Sym { s, admin, bot_id }
    }

    fn exp(&self, secs: i64) -> i64 {
        (self.s.core.now() + time::Duration::seconds(secs)).unix_timestamp()
    }

    async fn post(
        &self,
        path: &str,
        body: Option<Value>,
        session: Option<&str>,
    ) -> (StatusCode, Value, String) {
        let mut req = self
            .s
            .http
            .post(self.s.url(path))
            .header("content-type", "application/json")
            .header("accept", "application/json");
        if let Some(t) = session {
            req = req.header("sessionToken", t);
        }
        req = match body {
            Some(b) => req.body(b.to_string()),
            None => req.header("content-length", "0"),
        };
        let resp = req.send().await.unwrap();
        let status = resp.status();
        let ctype = resp
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        (status, resp.json().await.unwrap_or(Value::Null), ctype)
    }

    async fn session_info(&self, token: Option<&str>) -> (StatusCode, Value, String) {
        let mut req = self
            .s
            .http
            .get(self.s.url("/pod/v2/sessioninfo"))
            .header("content-type", "application/json");
        if let Some(t) = token {
            req = req.header("sessionToken", t);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status();
        let ctype = resp
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        (status, resp.json().await.unwrap_or(Value::Null), ctype)
    }

    async fn app_token(&self, app: &str) -> String {
        let j = jwt(
            Algorithm::RS512,
            "app.key",
            json!({"sub": app, "exp": self.exp(240)}),
        );
        let (status, body, _) = self
            .post(
                "/login/pubkey/app/authenticate",
                Some(json!({ "token": j })),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["token"].as_str().unwrap().to_owned()
    }

    async fn bot_login(&self, token: String) -> (StatusCode, Value) {
        let (status, body, _) = self
            .post(
                "/login/pubkey/authenticate",
                Some(json!({ "token": token })),
                None,
            )
            .await;
        (status, body)
    }
}

#[tokio::test]
async fn the_jwt_rules() {
    let dir = TempDir::new().unwrap();
    let y = Sym::start(&dir).await;
    let good = jwt(
        Algorithm::RS512,
        "bot.key",
        json!({"sub": "bot", "exp": y.exp(240)}),
    );
    let (status, tok) = y.bot_login(good.clone()).await;
    assert_eq!(status, StatusCode::OK, "{tok}");
    assert_eq!(tok["name"], "sessionToken");
    let token = tok["token"].as_str().unwrap().to_owned();
    assert!(!token.contains('.'), "never a JWT");
    // The same JWT again, and on /relay: both fine (no replay cache).
    assert_eq!(y.bot_login(good.clone()).await.0, StatusCode::OK);
    let (status, km, _) = y
        .post(
            "/relay/pubkey/authenticate",
            Some(json!({ "token": good })),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(km["name"], "keyManagerToken");
    // A key-manager token is no session token.
    assert_eq!(
        y.session_info(km["token"].as_str()).await.0,
        StatusCode::UNAUTHORIZED
    );

    let cases = [
        (
            "expired",
            jwt(
                Algorithm::RS512,
                "bot.key",
                json!({"sub": "bot", "exp": y.exp(-60)}),
            ),
        ),
        (
            "too far ahead",
            jwt(
                Algorithm::RS512,
                "bot.key",
                json!({"sub": "bot", "exp": y.exp(600)}),
            ),
        ),
        (
            "wrong algorithm",
            jwt(
                Algorithm::RS256,
                "bot.key",
                json!({"sub": "bot", "exp": y.exp(240)}),
            ),
        ),
        (
            "HMAC with the public key",
            jwt(
                Algorithm::HS512,
                "",
                json!({"sub": "bot", "exp": y.exp(240)}),
            ),
        ),
        (
            "unknown user",
            jwt(
                Algorithm::RS512,
                "bot.key",
                json!({"sub": "nobody", "exp": y.exp(240)}),
            ),
        ),
        (
            "another key",
            jwt(
                Algorithm::RS512,
                "other.key",
                json!({"sub": "bot", "exp": y.exp(240)}),
            ),
        ),
        (
            "no exp",
            jwt(Algorithm::RS512, "bot.key", json!({"sub": "bot"})),
        ),
        ("malformed", "not.a.jwt".to_owned()),
    ];
    for (what, token) in cases {
        let (status, body) = y.bot_login(token).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{what}: {body}");
        assert_eq!(body["code"], 401, "{what}");
        assert!(body["message"].is_string());
    }
    for body in [json!({}), json!({"token": 5}), json!([1])] {
        let (status, _, _) = y.post("/login/pubkey/authenticate", Some(body), None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    // A disabled bot is refused too.
    y.s.call(
        Method::PATCH,
        &format!("/api/v1/users/{}", y.bot_id),
        Some(&y.admin),
        Some(json!({"enabled": false})),
    )
    .await;
    let fresh = jwt(
        Algorithm::RS512,
        "bot.key",
        json!({"sub": "bot", "exp": y.exp(240)}),
    );
    assert_eq!(y.bot_login(fresh).await.0, StatusCode::UNAUTHORIZED);
    // The session opened before is ended with the account.
    assert_eq!(
        y.session_info(Some(&token)).await.0,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn user_v2_is_exact_and_extended_fields_need_the_privilege() {
    let dir = TempDir::new().unwrap();
    let y = Sym::start(&dir).await;
    let (_, tok) = y
        .bot_login(jwt(
            Algorithm::RS512,
            "bot.key",
            json!({"sub": "bot", "exp": y.exp(240)}),
        ))
        .await;
    let token = tok["token"].as_str().unwrap().to_owned();
    let (status, me, ctype) = y.session_info(Some(&token)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(ctype.starts_with("application/json"), "{ctype}");
    assert_eq!(me["id"], y.bot_id);
    assert!(me["id"].is_i64());
    assert_eq!(me["accountType"], "SYSTEM");
    assert_eq!(me["username"], "bot");
    assert_eq!(me["displayName"], "The Bot");
    assert_eq!(me["title"], "", "every scalar but id is a string");
    assert_eq!(
        me["userMetadata"],
        json!({"team": {"name": "core"}, "flat": {"value": "value"}})
    );
    for hidden in [
        "workPhoneNumber",
        "mobilePhoneNumber",
        "jobFunction",
        "department",
        "division",
    ] {
        assert!(me.get(hidden).is_none(), "{hidden} without the permission");
    }
    // The session is in the core: auth method RSA key.
    let (_, sessions) = y.s.get("/api/v1/sessions?user=bot", &y.admin).await;
    assert_eq!(sessions["sessions"][0]["auth_method"], "rsa_key");

    // Granted through a role: the extended fields appear.
    y.s.call(
        Method::POST,
        "/api/v1/roles",
        Some(&y.admin),
        Some(json!({"name": "Directory", "privileges": ["PRIVILEGE_GET_EXTENDED_USER_INFO"]})),
    )
    .await;
    y.s.call(
        Method::PUT,
        &format!("/api/v1/users/{}/roles", y.bot_id),
        Some(&y.admin),
        Some(json!(["Directory"])),
    )
    .await;
    let (_, me, _) = y.session_info(Some(&token)).await;
    assert_eq!(me["department"], "R&D");
    assert_eq!(me["workPhoneNumber"], "555-0100");
    assert_eq!(me["roles"], json!(["Directory"]));

    // Any dialect's token works on /pod; no token, a malformed header or an unknown token
    // is 401 (the BDK then logs in again).
    assert_eq!(y.session_info(Some(&y.admin)).await.1["username"], "admin");
    let (status, body, _) = y.session_info(None).await;
    assert_eq!(
        (status, body["code"].as_i64()),
        (StatusCode::UNAUTHORIZED, Some(401))
    );
    assert_eq!(
        y.session_info(Some("two words")).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        y.session_info(Some("unknown-token")).await.0,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn obo_acts_only_for_listed_users_and_needs_basic_info() {
    let dir = TempDir::new().unwrap();
    let y = Sym::start(&dir).await;
    let other = y.s.user(&y.admin, "carol", &[]).await;
    for (id, perms) in [
        ("obo", json!(["GET_BASIC_USER_INFO"])),
        (
            "ext",
            json!(["GET_BASIC_USER_INFO", "GET_EXTENDED_CONTACT_INFO"]),
        ),
        ("mute", json!(["SEND_MESSAGES"])),
    ] {
        let (status, body) = y
            .s
            .call(
                Method::POST,
                "/api/v1/apps",
                Some(&y.admin),
                Some(json!({"app_id": id, "name": id, "public_key": key("app.pub"), "permissions": perms, "users": [y.bot_id]})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let obo = y.app_token("obo").await;
    let (status, by_id, _) = y
        .post(
            &format!("/login/pubkey/app/user/{}/authenticate", y.bot_id),
            None,
            Some(&obo),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{by_id}");
    let (status, by_name, _) = y
        .post(
            "/login/pubkey/app/username/bot/authenticate",
            None,
            Some(&obo),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    for t in [&by_id, &by_name] {
        let (status, me, _) = y.session_info(t["token"].as_str()).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(me["username"], "bot");
        assert!(me.get("department").is_none());
    }
    // The session records the acting app, in every listing.
    let (_, sessions) = y.s.get("/api/v1/sessions?user=bot", &y.admin).await;
    let s0 = &sessions["sessions"][0];
    assert_eq!(
        (s0["auth_method"].as_str(), s0["actor"].as_str()),
        (Some("on_behalf_of"), Some("obo"))
    );

    // Not a listed user: 403. A bad app token: 401. No app token: 401.
    let (status, _, _) = y
        .post(
            &format!("/login/pubkey/app/user/{other}/authenticate"),
            None,
            Some(&obo),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _, _) = y
        .post(
            "/login/pubkey/app/username/carol/authenticate",
            None,
            Some(&obo),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _, _) = y
        .post(
            &format!("/login/pubkey/app/user/{}/authenticate", y.bot_id),
            None,
            Some("bogus"),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _, _) = y
        .post(
            &format!("/login/pubkey/app/user/{}/authenticate", y.bot_id),
            None,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // A user's session token is not an app token.
    let (status, _, _) = y
        .post(
            &format!("/login/pubkey/app/user/{}/authenticate", y.bot_id),
            None,
            Some(&y.admin),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // The contact permission brings the extended fields; an app without basic info gets 403.
    let ext = y.app_token("ext").await;
    let (_, t, _) = y
        .post(
            &format!("/login/pubkey/app/user/{}/authenticate", y.bot_id),
            None,
            Some(&ext),
        )
        .await;
    assert_eq!(
        y.session_info(t["token"].as_str()).await.1["workPhoneNumber"],
        "555-0100"
    );
    let mute = y.app_token("mute").await;
    let (_, t, _) = y
        .post(
            &format!("/login/pubkey/app/user/{}/authenticate", y.bot_id),
            None,
            Some(&mute),
        )
        .await;
    let (status, body, _) = y.session_info(t["token"].as_str()).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["code"], 403);
}

#[tokio::test]
async fn keys_and_apps_are_checked_and_guarded() {
    let dir = TempDir::new().unwrap();
    let y = Sym::start(&dir).await;
    for (pem, what) in [
        (key("weak.pub"), "1024 bits"),
        (key("ec.pub"), "RSA public key"),
        ("junk".into(), "RSA"),
    ] {
        let (status, body) =
            y.s.call(
                Method::POST,
                &format!("/api/v1/users/{}/keys", y.bot_id),
                Some(&y.admin),
                Some(json!({ "public_key": pem })),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(message(&body).contains(what), "{body}");
    }
    let (status, keys) =
        y.s.get(&format!("/api/v1/users/{}/keys", y.bot_id), &y.admin)
            .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(keys["keys"].as_array().unwrap().len(), 1);
    // A PKCS#1 key is accepted (and kept as SPKI).
    let (status, k) =
        y.s.call(
            Method::POST,
            &format!("/api/v1/users/{}/keys", y.bot_id),
            Some(&y.admin),
            Some(json!({ "public_key": key("bot.pkcs1.pub") })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert!(k["public_key"]
        .as_str()
        .unwrap()
        .starts_with("-----BEGIN PUBLIC KEY-----"));
    let (status, _) =
        y.s.call(
            Method::DELETE,
            &format!(
                "/api/v1/users/{}/keys/{}",
                y.bot_id,
                k["id"].as_str().unwrap()
            ),
            Some(&y.admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);

    // Apps need an administrator's privilege.
    y.s.user(&y.admin, "carol", &["Observers"]).await;
    let (carol_token, _) = y.s.login("carol", "carol-password").await;
    let app = json!({"app_id": "a1", "public_key": key("app.pub"), "permissions": ["GET_BASIC_USER_INFO"], "users": []});
    let (status, body) =
        y.s.call(
            Method::POST,
            "/api/v1/apps",
            Some(&carol_token),
            Some(app.clone()),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(message(&body), "missing privilege PRIVILEGE_APP_WRITE");
    assert_eq!(
        y.s.call(
            Method::POST,
            "/api/v1/apps",
            Some(&y.admin),
            Some(app.clone())
        )
        .await
        .0,
        StatusCode::CREATED
    );
    assert_eq!(
        y.s.call(Method::POST, "/api/v1/apps", Some(&y.admin), Some(app))
            .await
            .0,
        StatusCode::CONFLICT
    );
    let (status, _) =
        y.s.call(
            Method::POST,
            "/api/v1/apps",
            Some(&y.admin),
            Some(json!({"app_id": "a2", "public_key": key("app.pub"), "users": [9999]})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, a) =
        y.s.call(
            Method::PATCH,
            "/api/v1/apps/a1",
            Some(&y.admin),
            Some(json!({"enabled": false, "users": [y.bot_id]})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (a["enabled"].as_bool(), a["users"].clone()),
        (Some(false), json!([y.bot_id]))
    );
    // A disabled app cannot log in.
    let j = jwt(
        Algorithm::RS512,
        "app.key",
        json!({"sub": "a1", "exp": y.exp(240)}),
    );
    let (status, _, _) = y
        .post(
            "/login/pubkey/app/authenticate",
            Some(json!({ "token": j })),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        y.s.call(Method::DELETE, "/api/v1/apps/a1", Some(&y.admin), None)
            .await
            .0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        y.s.get("/api/v1/apps/a1", &y.admin).await.0,
        StatusCode::NOT_FOUND
    );
}

/// Refused JWT logins count against the client's address like wrong passwords: after a few,
/// the address waits, told so in Symphony's shape (the BDK retries a 429 later).
#[tokio::test]
async fn refused_key_logins_from_one_address_are_throttled() {
    let dir = TempDir::new().unwrap();
    let s = TestServer::start(&dir).await;
    let body = json!({"token": "not.a.jwt"});
    for _ in 0..5 {
        let resp = s
            .http
            .post(s.url("/login/pubkey/authenticate"))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    }
    let resp = s
        .http
        .post(s.url("/login/pubkey/authenticate"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(
        resp.status(),
        StatusCode::UNAUTHORIZED,
        "the sixth is counted"
    );
    let resp = s
        .http
        .post(s.url("/relay/pubkey/authenticate"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(resp.headers()["retry-after"], "1");
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["code"], 429);
    assert!(v["message"].as_str().unwrap().contains("try again in"));
    // Another address is not affected.
    let other = common::client_from("127.0.0.2");
    let resp = other
        .post(s.url("/login/pubkey/authenticate"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
}

/// RFC 7662: a resource server learns who is behind a bot's Symphony session token, and
/// nothing once the session has ended.
#[tokio::test]
async fn a_bots_session_token_can_be_introspected() {
    let dir = TempDir::new().unwrap();
    let y = Sym::start(&dir).await;
    let good = jwt(
        Algorithm::RS512,
        "bot.key",
        json!({"sub": "bot", "exp": y.exp(240)}),
    );
    let (status, tok) = y.bot_login(good).await;
    assert_eq!(status, StatusCode::OK, "{tok}");
    let token = tok["token"].as_str().unwrap().to_owned();
    y.s.user(&y.admin, "gateway", &["Resource Servers"]).await;
    let (gateway, _) = y.s.login("gateway", "gateway-password").await;
    let post = |path: &'static str| {
        y.s.http
            .post(y.s.url(path))
            .bearer_auth(&gateway)
            .form(&[("token", token.as_str())])
            .send()
    };
    let ask = || async {
        let resp = post("/api/v1/introspect").await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        resp.json::<Value>().await.unwrap()
    };
    let v = ask().await;
    assert_eq!(v["active"], true, "{v}");
    assert_eq!(v["username"], "bot");
    assert_eq!(v["sub"], y.bot_id.to_string());
    assert_eq!(
        post("/api/v1/revoke").await.unwrap().status(),
        StatusCode::OK
    );
    assert_eq!(ask().await, json!({"active": false}));
    let (status, _, _) = y.session_info(Some(&token)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}
