//! The web pages in a real browser: headless Chromium driven through ChromeDriver
//! (WebDriver), clicking what a person clicks. `scripts/test` installs Debian's `chromium`
//! and `chromium-driver` when they are missing; `CHROMEDRIVER` and `CHROMIUM` name other
//! binaries.
//!
//! Each page is kept as a screenshot in `$CARGO_TARGET_TMPDIR/ui-screenshots/`.

mod common;

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{TestServer, ADMIN_PASSWORD};
use fantoccini::{Client, ClientBuilder, Locator};
use reqwest::StatusCode;
use serde_json::json;

/// ChromeDriver on a port of its own, stopped when dropped.
struct Driver {
    child: Child,
    url: String,
}

impl Driver {
    fn start() -> Driver {
        let bin = std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "/usr/bin/chromedriver".into());
        assert!(
            std::path::Path::new(&bin).exists(),
            "{bin} is missing: install Debian's chromium and chromium-driver (scripts/test does)"
        );
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(&bin)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("start {bin}: {e}"));
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "ChromeDriver did not listen"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Driver {
            child,
            url: format!("http://127.0.0.1:{port}"),
        }
    }

    /// A browser of its own (its own profile, so its own cookies).
    async fn browser(&self) -> Client {
        let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
        let caps = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium,
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                         "--disable-dev-shm-usage", "--window-size=1280,900"],
            },
        });
        let serde_json::Value::Object(caps) = caps else {
            unreachable!()
        };
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        ClientBuilder::new(connector)
            .capabilities(caps)
            .connect(&self.url)
            .await
            .expect("a headless Chromium session")
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn shots() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("ui-screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

async fn screenshot(b: &Client, name: &str) {
    let png = b.screenshot().await.expect("screenshot");
    let path = shots().join(format!("{name}.png"));
    std::fs::write(&path, png).unwrap();
    println!("screenshot: {}", path.display());
}

async fn sign_in(b: &Client, t: &TestServer, user: &str, password: &str) {
    b.goto(&t.url("/ui/")).await.unwrap();
    // Not signed in: the root sends the browser to the sign-in form.
    b.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css("form.login"))
        .await
        .unwrap();
    assert!(b.current_url().await.unwrap().path().ends_with("/ui/login"));
    b.find(Locator::Css("input[name=username]"))
        .await
        .unwrap()
        .send_keys(user)
        .await
        .unwrap();
    b.find(Locator::Css("input[name=password]"))
        .await
        .unwrap()
        .send_keys(password)
        .await
        .unwrap();
    b.find(Locator::Css("form.login button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for(b, "ul.sessions").await;
}

async fn wait_for(b: &Client, css: &str) {
    b.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("waiting for {css}: {e}"));
}

/// Clicks the button `css` and waits for the page it leads to (`path_and_query`): a
/// notice from an earlier change may still be on the page, so the address is what says
/// the click's answer has arrived.
async fn click_to(b: &Client, t: &TestServer, css: &str, path_and_query: &str) {
    b.find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .click()
        .await
        .unwrap();
    let want = url::Url::parse(&t.url(path_and_query)).unwrap();
    b.wait()
        .at_most(Duration::from_secs(10))
        .for_url(&want)
        .await
        .unwrap_or_else(|e| panic!("waiting for {want}: {e}"));
}

/// The `data-session-id`s on the page, with whether each is marked current.
async fn listed(b: &Client, css: &str) -> Vec<(String, bool)> {
    let mut out = Vec::new();
    for e in b.find_all(Locator::Css(css)).await.unwrap() {
        let id = e.attr("data-session-id").await.unwrap().unwrap();
        let current = e.attr("data-current").await.unwrap().as_deref() == Some("true");
        out.push((id, current));
    }
    out
}

async fn heading(b: &Client) -> String {
    b.find(Locator::Css("h1"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

async fn refused(t: &TestServer, token: &str) -> bool {
    t.get("/api/v1/session", token).await.0 == StatusCode::UNAUTHORIZED
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pages_in_a_real_browser() {
    let dir = tempfile::tempdir().unwrap();
    let t = TestServer::start(&dir).await;
    let admin_token = t.admin().await;
    t.user(&admin_token, "alice", &[]).await;
    t.user(&admin_token, "bob", &[]).await;
    let driver = Driver::start();

    // Alice signs in; her API session from elsewhere is listed beside the browser's.
    let (alice_api, alice_api_id) = t.login("alice", "alice-password").await;
    let alice = driver.browser().await;
    sign_in(&alice, &t, "alice", "alice-password").await;
    let sessions = listed(&alice, "li.session").await;
    assert_eq!(sessions.len(), 2, "{sessions:?}");
    let current: Vec<_> = sessions.iter().filter(|(_, c)| *c).collect();
    assert_eq!(current.len(), 1, "one current session: {sessions:?}");
    assert_ne!(current[0].0, alice_api_id);
    let page_text = alice
        .find(Locator::Css("main"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for shown in [
        "Client type",
        "Server",
        "Signed in with",
        "Last activity",
        "just now",
        "password",
    ] {
        assert!(
            page_text.contains(shown),
            "{shown:?} not on the page: {page_text}"
        );
    }
    screenshot(&alice, "my-sessions").await;

    // She signs the other one out: the API refuses its token at once.
    click_to(
        &alice,
        &t,
        &format!("li[data-session-id=\"{alice_api_id}\"] button"),
        "/ui/sessions?done=revoked",
    )
    .await;
    assert!(refused(&t, &alice_api).await);
    assert_eq!(listed(&alice, "li.session").await.len(), 1);

    // "Sign out everywhere else" ends both of two new ones, and not the browser's own.
    let (other1, _) = t.login("alice", "alice-password").await;
    let (other2, _) = t.login("alice", "alice-password").await;
    alice.goto(&t.url("/ui/sessions")).await.unwrap();
    wait_for(&alice, "ul.sessions").await;
    assert_eq!(listed(&alice, "li.session").await.len(), 3);
    click_to(
        &alice,
        &t,
        "form[action=\"/ui/sessions/others/revoke\"] button",
        "/ui/sessions?done=others",
    )
    .await;
    assert!(refused(&t, &other1).await && refused(&t, &other2).await);
    let left = listed(&alice, "li.session").await;
    assert_eq!(left.len(), 1);
    assert!(left[0].1, "the browser's own session stays");

    // A forged POST without the CSRF token changes nothing.
    let (kept, _) = t.login("alice", "alice-password").await;
    alice
        .execute(
            "const f = document.createElement('form');
             f.method = 'post';
             f.action = '/ui/sessions/others/revoke';
             document.body.appendChild(f);
             f.submit();",
            vec![],
        )
        .await
        .unwrap();
    let refused_at = url::Url::parse(&t.url("/ui/sessions/others/revoke")).unwrap();
    alice
        .wait()
        .at_most(Duration::from_secs(10))
        .for_url(&refused_at)
        .await
        .unwrap();
    wait_for(&alice, "p.error").await;
    assert_eq!(heading(&alice).await, "Not allowed");
    assert!(
        !refused(&t, &kept).await,
        "the forged POST must not sign anything out"
    );
    screenshot(&alice, "forged-post-refused").await;

    // Alice is no admin: the admin pages refuse her.
    for path in [
        "/ui/admin/sessions",
        "/ui/admin/users",
        "/ui/admin/audit",
        "/ui/admin/servers",
    ] {
        alice.goto(&t.url(path)).await.unwrap();
        wait_for(&alice, "h1").await;
        assert_eq!(heading(&alice).await, "Not allowed", "{path}");
    }
    screenshot(&alice, "admin-page-refused").await;

    // An admin, in a browser of their own, revokes Bob's session.
    let (bob_token, bob_session) = t.login("bob", "bob-password").await;
    let admin = driver.browser().await;
    sign_in(&admin, &t, "admin", ADMIN_PASSWORD).await;
    admin
        .goto(&t.url("/ui/admin/sessions?user=bob"))
        .await
        .unwrap();
    wait_for(&admin, "table").await;
    let rows = listed(&admin, "tr[data-session-id]").await;
    assert_eq!(rows, vec![(bob_session.clone(), false)]);
    screenshot(&admin, "admin-sessions").await;
    click_to(
        &admin,
        &t,
        &format!("form[action=\"/ui/admin/sessions/{bob_session}/revoke\"] button"),
        "/ui/admin/sessions?done=revoked",
    )
    .await;
    assert!(refused(&t, &bob_token).await);

    // The other admin pages open, each kept as a screenshot.
    let (status, body) = t
        .call(
            reqwest::Method::POST,
            "/api/v1/servers/FS01/sessions",
            Some(&admin_token),
            Some(json!({"client_name": "10.0.0.7", "username": "bob",
                        "client_type": "SMB 3.1.1", "num_opens": 3})),
        )
        .await;
    assert!(status.is_success(), "{status} {body}");
    for (path, name, title) in [
        (
            "/ui/admin/sessions?state=all",
            "admin-sessions-all",
            "All sessions",
        ),
        ("/ui/admin/users", "admin-users", "Users"),
        ("/ui/admin/audit", "admin-audit", "Audit"),
        ("/ui/admin/servers", "admin-servers", "Servers"),
        ("/ui/sessions", "admin-my-sessions", "My sessions"),
    ] {
        admin.goto(&t.url(path)).await.unwrap();
        wait_for(&admin, "main h1").await;
        assert_eq!(heading(&admin).await, title, "{path}");
        screenshot(&admin, name).await;
    }

    // Signing out ends the page's own session and lands on the sign-in form.
    click_to(&admin, &t, "form.signout button", "/ui/login").await;
    screenshot(&admin, "sign-in").await;
    admin.goto(&t.url("/ui/sessions")).await.unwrap();
    wait_for(&admin, "form.login").await;

    alice.close().await.unwrap();
    admin.close().await.unwrap();
    t.stop().await;
}
