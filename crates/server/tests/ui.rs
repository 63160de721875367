//! The web pages over HTTP, as a browser's requests reach them: redirects, the cookie's
//! attributes, the security headers, CSRF and same-site checks, and who may open which
//! page. The same flows in a real browser are in `browser.rs`.

mod common;

use common::{TestServer, ADMIN_PASSWORD};
use reqwest::header::{HeaderMap, CONTENT_TYPE, COOKIE, LOCATION, SET_COOKIE};
use reqwest::{redirect, Method, StatusCode};

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(redirect::Policy::none())
        .user_agent("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36")
        .build()
        .unwrap()
}

/// A signed-in page session: its cookie value and the page it landed on.
struct Page {
    cookie: String,
}

async fn sign_in(t: &TestServer, user: &str, password: &str) -> Page {
    let resp = client()
        .post(t.url("/ui/login"))
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(format!("username={user}&password={password}"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::SEE_OTHER, "sign in {user}");
    assert_eq!(resp.headers()[LOCATION], "/ui/sessions");
    let set = resp.headers()[SET_COOKIE].to_str().unwrap().to_owned();
    let cookie = set.split(';').next().unwrap().to_owned();
    Page { cookie }
}

impl Page {
    fn token(&self) -> &str {
        self.cookie.split_once('=').unwrap().1
    }

    async fn get(&self, t: &TestServer, path: &str) -> (StatusCode, HeaderMap, String) {
        let resp = client()
            .get(t.url(path))
            .header(COOKIE, &self.cookie)
            .send()
            .await
            .unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        (status, headers, resp.text().await.unwrap())
    }

    async fn post(
        &self,
        t: &TestServer,
        path: &str,
        form: &str,
    ) -> (StatusCode, HeaderMap, String) {
        let resp = client()
            .post(t.url(path))
            .header(COOKIE, &self.cookie)
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(form.to_owned())
            .send()
            .await
            .unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        (status, headers, resp.text().await.unwrap())
    }

    /// The CSRF token the page's forms carry.
    async fn csrf(&self, t: &TestServer) -> String {
        let (status, _, html) = self.get(t, "/ui/sessions").await;
        assert_eq!(status, StatusCode::OK);
        let at = html
            .find("name=\"csrf\" value=\"")
            .expect("a form with a CSRF token")
            + 19;
        html[at..].split('"').next().unwrap().to_owned()
    }
}

async fn session_active(t: &TestServer, token: &str) -> bool {
    t.get("/api/v1/session", token).await.0 == StatusCode::OK
}

#[tokio::test]
async fn the_root_sends_a_browser_where_it_belongs() {
    let dir = tempfile::tempdir().unwrap();
    let t = TestServer::start(&dir).await;
    let resp = client().get(t.url("/ui/")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(resp.headers()[LOCATION], "/ui/login");
    let page = sign_in(&t, "admin", ADMIN_PASSWORD).await;
    let (status, headers, _) = page.get(&t, "/ui/").await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(headers[LOCATION], "/ui/sessions");
    // A page that needs a session, without one, goes to the sign-in form too.
    let resp = client().get(t.url("/ui/sessions")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(resp.headers()[LOCATION], "/ui/login");
    t.stop().await;
}

#[tokio::test]
async fn signing_in_sets_a_strict_cookie_and_opens_a_password_session() {
    let dir = tempfile::tempdir().unwrap();
    let t = TestServer::start(&dir).await;
    let resp = client()
        .post(t.url("/ui/login"))
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(format!("username=admin&password={ADMIN_PASSWORD}"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let set = resp.headers()[SET_COOKIE].to_str().unwrap().to_owned();
    assert!(set.starts_with("sessiond_ui="), "{set}");
    for attr in ["HttpOnly", "SameSite=Strict", "Path=/ui"] {
        assert!(set.contains(attr), "{attr} missing: {set}");
    }
    // Plain HTTP here: a Secure cookie would never come back.
    assert!(!set.contains("Secure"), "{set}");
    let token = set.split(';').next().unwrap().split_once('=').unwrap().1;
    let (status, me) = t.get("/api/v1/session", token).await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(me["session"]["auth_method"], "password");
    assert_eq!(me["session"]["client_type"], "Chrome 131 on Linux");
    t.stop().await;
}

#[tokio::test]
async fn a_wrong_password_shows_an_error_and_says_nothing_about_the_name() {
    let dir = tempfile::tempdir().unwrap();
    let t = TestServer::start(&dir).await;
    let mut bodies = Vec::new();
    for (user, password) in [
        ("admin", "wrong-password"),
        ("nobody-here", "wrong-password"),
    ] {
        let resp = client()
            .post(t.url("/ui/login"))
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(format!("username={user}&password={password}"))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
        assert!(resp.headers().get(SET_COOKIE).is_none());
        let html = resp.text().await.unwrap();
        assert!(html.contains("class=\"error\""), "{html}");
        bodies.push(html.replace(user, "NAME"));
    }
    assert_eq!(
        bodies[0], bodies[1],
        "the page must not tell which names exist"
    );
    t.stop().await;
}

#[tokio::test]
async fn pages_send_the_security_headers() {
    let dir = tempfile::tempdir().unwrap();
    let t = TestServer::start(&dir).await;
    let page = sign_in(&t, "admin", ADMIN_PASSWORD).await;
    for path in [
        "/ui/login",
        "/ui/sessions",
        "/ui/admin/sessions",
        "/ui/no-such-page",
    ] {
        let (_, h, _) = page.get(&t, path).await;
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("default-src 'none'"), "{path}: {csp}");
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        assert_eq!(h["x-frame-options"], "DENY", "{path}");
        assert_eq!(h["referrer-policy"], "same-origin", "{path}");
    }
    let (status, h, css) = page.get(&t, "/ui/style.css").await;
    assert_eq!(status, StatusCode::OK);
    assert!(h[CONTENT_TYPE].to_str().unwrap().starts_with("text/css"));
    assert!(css.contains("li.session"));
    t.stop().await;
}

#[tokio::test]
async fn a_post_without_this_sessions_csrf_token_is_refused_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let t = TestServer::start(&dir).await;
    let page = sign_in(&t, "admin", ADMIN_PASSWORD).await;
    let other = sign_in(&t, "admin", ADMIN_PASSWORD).await;
    let (other_token, other_id) = t.login("admin", ADMIN_PASSWORD).await;

    // No token at all.
    let (status, _, _) = page
        .post(&t, &format!("/ui/sessions/{other_id}/revoke"), "")
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // Another session's token.
    let foreign = other.csrf(&t).await;
    let (status, _, _) = page
        .post(&t, "/ui/sessions/others/revoke", &format!("csrf={foreign}"))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // The right token, sent from another site.
    let mine = page.csrf(&t).await;
    let resp = client()
        .post(t.url("/ui/sessions/others/revoke"))
        .header(COOKIE, &page.cookie)
        .header("origin", "https://evil.example")
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(format!("csrf={mine}"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    // Sign-out without a token leaves the session signed in.
    let (status, _, _) = page.post(&t, "/ui/logout", "").await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    assert!(session_active(&t, &other_token).await);
    assert!(session_active(&t, other.token()).await);
    assert!(session_active(&t, page.token()).await);

    // With its own token, the same request works.
    let (status, h, _) = page
        .post(&t, "/ui/sessions/others/revoke", &format!("csrf={mine}"))
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(h[LOCATION], "/ui/sessions?done=others");
    assert!(!session_active(&t, &other_token).await);
    assert!(!session_active(&t, other.token()).await);
    assert!(session_active(&t, page.token()).await);
    t.stop().await;
}

#[tokio::test]
async fn my_sessions_lists_only_mine_with_the_current_one_marked() {
    let dir = tempfile::tempdir().unwrap();
    let t = TestServer::start(&dir).await;
    let admin = t.admin().await;
    t.user(&admin, "alice", &[]).await;
    let (_, alice_api) = t.login("alice", "alice-password").await;
    let page = sign_in(&t, "alice", "alice-password").await;
    let (status, _, html) = page.get(&t, "/ui/sessions").await;
    assert_eq!(status, StatusCode::OK);
    let (_, me) = t.get("/api/v1/session", page.token()).await;
    let current = me["session"]["id"].as_str().unwrap();
    assert!(
        html.contains(&format!(
            "data-session-id=\"{current}\" data-current=\"true\""
        )),
        "{html}"
    );
    assert!(html.contains(&format!("data-session-id=\"{alice_api}\"")));
    assert_eq!(
        html.matches("data-session-id=").count(),
        2,
        "only alice's: {html}"
    );
    assert_eq!(html.matches("data-current=").count(), 1);
    assert!(html.contains("just now"));
    t.stop().await;
}

#[tokio::test]
async fn admin_pages_are_403_for_users_and_read_only_for_observers() {
    let dir = tempfile::tempdir().unwrap();
    let t = TestServer::start(&dir).await;
    let admin = t.admin().await;
    t.user(&admin, "bob", &[]).await;
    t.user(&admin, "olga", &["Observers"]).await;
    let (_, bob_session) = t.login("bob", "bob-password").await;

    let bob = sign_in(&t, "bob", "bob-password").await;
    for path in [
        "/ui/admin/sessions",
        "/ui/admin/users",
        "/ui/admin/audit",
        "/ui/admin/servers",
    ] {
        let (status, _, html) = bob.get(&t, path).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}");
        assert!(html.contains("Not allowed"), "{path}: {html}");
    }

    let olga = sign_in(&t, "olga", "olga-password").await;
    let (status, _, html) = olga.get(&t, "/ui/admin/sessions").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains(&format!("data-session-id=\"{bob_session}\"")));
    assert!(
        !html.contains("/revoke"),
        "an observer sees no revoke buttons"
    );
    let csrf = olga.csrf(&t).await;
    let (status, _, _) = olga
        .post(
            &t,
            &format!("/ui/admin/sessions/{bob_session}/revoke"),
            &format!("csrf={csrf}"),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    for path in ["/ui/admin/users", "/ui/admin/audit", "/ui/admin/servers"] {
        let (status, _, _) = olga.get(&t, path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
    }
    t.stop().await;
}

#[tokio::test]
async fn an_admin_filters_revokes_and_manages_users() {
    let dir = tempfile::tempdir().unwrap();
    let t = TestServer::start(&dir).await;
    let admin_token = t.admin().await;
    let carol_id = t.user(&admin_token, "carol", &[]).await;
    let (carol1, carol1_id) = t.login("carol", "carol-password").await;
    let (carol2, _) = t.login("carol", "carol-password").await;
    let admin = sign_in(&t, "admin", ADMIN_PASSWORD).await;
    let csrf = admin.csrf(&t).await;

    let (status, _, html) = admin.get(&t, "/ui/admin/sessions?user=carol").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(html.matches("<tr data-session-id=").count(), 2, "{html}");
    let (_, _, html) = admin.get(&t, "/ui/admin/sessions?user=nobody").await;
    assert!(html.contains("No sessions match."));
    let (status, _, _) = admin.get(&t, "/ui/admin/sessions?state=bogus").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // One session, then all of the user's.
    let (status, _, _) = admin
        .post(
            &t,
            &format!("/ui/admin/sessions/{carol1_id}/revoke"),
            &format!("csrf={csrf}"),
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(!session_active(&t, &carol1).await);
    assert!(session_active(&t, &carol2).await);
    let (status, _, _) = admin
        .post(
            &t,
            &format!("/ui/admin/users/{carol_id}/sessions/revoke"),
            &format!("csrf={csrf}"),
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(!session_active(&t, &carol2).await);

    // Users: create, disable, roles.
    let (status, h, _) = admin
        .post(
            &t,
            "/ui/admin/users",
            &format!("csrf={csrf}&name=dave&password=dave-password-1&display_name=Dave+D"),
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{h:?}");
    let (_, _, html) = admin.get(&t, "/ui/admin/users").await;
    assert!(html.contains("Dave D"));
    let (status, _, _) = admin
        .post(
            &t,
            &format!("/ui/admin/users/{carol_id}/roles"),
            &format!("csrf={csrf}&role=Observers"),
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, user) = t
        .get(&format!("/api/v1/users/{carol_id}"), &admin_token)
        .await;
    assert_eq!(user["roles"], serde_json::json!(["Observers"]));
    let (status, _, _) = admin
        .post(
            &t,
            &format!("/ui/admin/users/{carol_id}/enabled"),
            &format!("csrf={csrf}&enabled=false"),
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (status, _) = t
        .call(
            Method::POST,
            "/api/v1/login",
            None,
            Some(serde_json::json!({"username": "carol", "password": "carol-password"})),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "a disabled user cannot sign in"
    );

    // The audit page shows the revocations.
    let (status, _, html) = admin.get(&t, "/ui/admin/audit?kind=revoke").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("data-audit-kind=\"revoke\""), "{html}");
    t.stop().await;
}

#[tokio::test]
async fn rejections_are_pages_too() {
    let dir = tempfile::tempdir().unwrap();
    let t = TestServer::start(&dir).await;
    let page = sign_in(&t, "admin", ADMIN_PASSWORD).await;
    let csrf = page.csrf(&t).await;
    // A wrong method, a body over the limit, a path segment that is no number.
    let (status, h, html) = page.post(&t, "/ui/admin/audit", "").await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert!(h[CONTENT_TYPE].to_str().unwrap().starts_with("text/html"));
    assert!(html.contains("<h1>"), "{html}");
    let huge = format!("csrf={csrf}&name={}", "x".repeat(2 * 1024 * 1024));
    let (status, _, html) = page.post(&t, "/ui/admin/users", &huge).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(html.contains("<h1>"), "{html}");
    let (status, _, html) = page
        .post(
            &t,
            "/ui/admin/users/abc/enabled",
            &format!("csrf={csrf}&enabled=false"),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(html.contains("<h1>"), "{html}");
    // Control characters in a new user's name are refused as the API refuses them.
    let (status, _, html) = page
        .post(
            &t,
            "/ui/admin/users",
            &format!("csrf={csrf}&name=a%07b&password=long-enough-1"),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{html}");
    t.stop().await;
}
