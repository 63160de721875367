//! End-to-end tests of the `sessiond` binary, run as a user would: `sessiond serve` in a
//! child process on a free port, and the client commands against it, each with its own
//! credentials file.

mod common;

use std::time::{Duration, Instant};

use common::*;

#[test]
fn first_start_prints_a_random_admin_password_once_and_users_survive_a_restart() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");

    let server = Server::start(&data, &[], &[]);
    let password = server
        .generated_password
        .clone()
        .expect("the first start prints the admin password");
    assert!(password.len() >= 8, "a short password: {password:?}");
    let admin = Client::new(tmp.path(), "admin");
    let out = admin.login(&server.url, "admin", &password).ok();
    assert!(out.stdout.contains("as admin"), "{}", out.stdout);
    let first = server.stop();
    assert!(first.status.success(), "SIGTERM is a clean stop: {first:?}");
    assert_eq!(
        first.stdout.matches(GENERATED).count(),
        1,
        "{}",
        first.stdout
    );
    assert_eq!(
        first.stdout.matches(&password).count(),
        1,
        "{}",
        first.stdout
    );
    assert!(
        !first.stderr.contains(&password),
        "the password went to the log:\n{}",
        first.stderr
    );

    let server = Server::start(&data, &[], &[]);
    assert_eq!(server.generated_password, None);
    let again = Client::new(tmp.path(), "again");
    again.login(&server.url, "admin", &password).ok();
    again.run(&["whoami"]).ok();
    let wrong = Client::new(tmp.path(), "wrong");
    let out = wrong
        .login(&server.url, "admin", "not-the-password")
        .fails_with(1);
    assert!(out.stderr.contains("HTTP 401"), "{}", out.stderr);
    let second = server.stop();
    assert!(
        !second.stdout.contains("created user"),
        "a second start creates no admin:\n{}",
        second.stdout
    );
}

#[test]
fn admin_password_from_the_environment_is_used_and_never_printed() {
    let tmp = tempfile::tempdir().unwrap();
    let secret = "Env-Configured-Secret-4711";
    let server = Server::start(
        &tmp.path().join("data"),
        &[],
        &[("SESSIOND_ADMIN_PASSWORD", secret)],
    );
    assert_eq!(server.generated_password, None);
    let admin = Client::new(tmp.path(), "admin");
    admin.login(&server.url, "admin", secret).ok();
    let out = admin.run(&["whoami"]).ok();
    assert!(out.stdout.contains("admin (id 500)"), "{}", out.stdout);
    let other = Client::new(tmp.path(), "other");
    other
        .login(&server.url, "admin", "Env-Configured-Secret-4712")
        .fails_with(1);
    let out = server.stop();
    assert!(
        out.stdout
            .contains("sessiond: created user \"admin\" with the configured password."),
        "{}",
        out.stdout
    );
    assert!(!out.stdout.contains(GENERATED), "{}", out.stdout);
    assert!(!out.stdout.contains(secret), "{}", out.stdout);
    assert!(!out.stderr.contains(secret), "{}", out.stderr);
}

#[test]
fn cli_flow_login_users_privileges_roles_logout() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(
        &tmp.path().join("data"),
        &[],
        &[("SESSIOND_ADMIN_PASSWORD", "admin-password-1")],
    );
    let url = server.url.clone();
    let admin = Client::new(tmp.path(), "admin");
    admin.login(&url, "admin", "admin-password-1").ok();

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&admin.credentials)
            .expect("login writes the credentials file")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "credentials mode {:o}", mode & 0o777);
    }
    let saved = admin.saved();
    assert_eq!(saved["server"], url.as_str());
    assert_eq!(saved["username"], "admin");
    assert!(saved["token"].as_str().is_some_and(|t| !t.is_empty()));
    let sid = admin.session_id();

    let out = admin.run(&["whoami"]).ok();
    assert!(out.stdout.contains("admin"), "{}", out.stdout);
    assert!(out.stdout.contains("id 500"), "{}", out.stdout);
    assert!(out.stdout.contains(&sid), "{}", out.stdout);

    let me = admin.run(&["whoami", "--json"]).ok().json();
    assert_eq!(me["user"]["id"], 500);
    assert_eq!(me["user"]["name"], "admin");
    assert_eq!(me["session"]["id"], sid.as_str());
    let privileges = me["privileges"].as_array().expect("privileges is an array");
    assert!(!privileges.is_empty());
    assert!(
        privileges.iter().any(|p| p == "PRIVILEGE_LOCAL_USER_READ"),
        "{privileges:?}"
    );

    let out = admin.run(&["sessions", "list"]).ok();
    let current: Vec<&str> = out.stdout.lines().filter(|l| l.contains(" *")).collect();
    assert_eq!(current.len(), 1, "one current session:\n{}", out.stdout);
    assert!(
        current[0].starts_with(&format!("{sid} *")),
        "the current session is ours:\n{}",
        out.stdout
    );

    let out = admin
        .run_stdin(
            &["users", "add", "bob", "--password-stdin"],
            Some("bob-password-1\n"),
        )
        .ok();
    assert!(out.stdout.contains("Created user bob"), "{}", out.stdout);
    let list = admin.run(&["users", "list", "--json"]).ok().json();
    let names: Vec<&str> = list["users"]
        .as_array()
        .expect("users is an array")
        .iter()
        .filter_map(|u| u["name"].as_str())
        .collect();
    assert!(names.contains(&"bob"), "{names:?}");
    assert!(names.contains(&"admin"), "{names:?}");

    let bob = Client::new(tmp.path(), "bob");
    // The password is the one line given on stdin, without its newline.
    bob.login(&url, "bob", "bob-password-1").ok();
    let out = bob.run(&["users", "list"]).fails_with(1);
    assert!(
        out.stderr.contains("PRIVILEGE_LOCAL_USER_READ"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("HTTP 403"), "{}", out.stderr);
    assert!(out.stdout.is_empty(), "{}", out.stdout);

    let out = admin.run(&["users", "set-roles", "bob", "Observers"]).ok();
    assert!(out.stdout.contains("Observers"), "{}", out.stdout);
    let out = bob.run(&["users", "list"]).ok();
    assert!(
        out.stdout.lines().any(|l| l.contains("bob")),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.lines().any(|l| l.contains("admin")),
        "{}",
        out.stdout
    );

    let out = admin.run(&["logout"]).ok();
    assert!(out.stdout.contains("Logged out"), "{}", out.stdout);
    assert!(
        !admin.credentials.exists(),
        "logout removes the credentials"
    );
    let out = admin.run(&["whoami"]).fails_with(1);
    assert!(out.stderr.contains("not logged in"), "{}", out.stderr);
    // The session itself ended on the server: bob (an Observer) no longer sees it active.
    let list = bob.run(&["sessions", "list", "--json"]).ok().json();
    let active: Vec<&str> = list["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["id"].as_str())
        .collect();
    assert!(!active.contains(&sid.as_str()), "{active:?}");
}

#[test]
fn sessions_survive_a_restart() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let envs = [("SESSIOND_ADMIN_PASSWORD", "admin-password-1")];
    let server = Server::start(&data, &[], &envs);
    let admin = Client::new(tmp.path(), "admin");
    admin.login(&server.url, "admin", "admin-password-1").ok();
    let before = admin.saved();
    let sid = admin.session_id();
    admin.run(&["whoami"]).ok();
    let stopped = server.stop();
    assert!(
        stopped.status.success(),
        "SIGTERM is a clean stop: {stopped:?}"
    );

    let server = Server::start(
        &data,
        &[],
        &[
            envs[0],
            ("SESSIOND_LOG", "warn,sessiond_server::tasks=info"),
        ],
    );
    // It loads the live session into its cache by itself, and says so.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let warmed = loop {
        let log = server.stderr.lock().unwrap().clone();
        if let Some(l) = log.lines().find(|l| l.contains("hot cache warmed")) {
            break l.to_owned();
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no warm-up in the log: {log}"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    assert!(warmed.contains("sessions=1"), "{warmed}");
    let mut creds = before.clone();
    creds["server"] = server.url.clone().into();
    std::fs::write(
        &admin.credentials,
        serde_json::to_string_pretty(&creds).unwrap(),
    )
    .unwrap();

    let me = admin.run(&["whoami", "--json"]).ok().json();
    assert_eq!(me["user"]["id"], 500);
    assert_eq!(me["session"]["id"], sid.as_str());
    assert_eq!(admin.saved()["token"], before["token"], "the same token");

    let list = admin
        .run(&["sessions", "list", "--state", "all", "--json"])
        .ok()
        .json();
    let session = list["sessions"]
        .as_array()
        .expect("sessions is an array")
        .iter()
        .find(|s| s["id"] == sid.as_str())
        .unwrap_or_else(|| panic!("session {sid} is gone after a restart: {list}"));
    assert_eq!(session["current"], true);
    assert_eq!(session["username"], "admin");
}

#[test]
fn revoke_others_ends_the_other_sessions() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(
        &tmp.path().join("data"),
        &[],
        &[("SESSIOND_ADMIN_PASSWORD", "admin-password-1")],
    );
    let first = Client::new(tmp.path(), "first");
    let second = Client::new(tmp.path(), "second");
    first.login(&server.url, "admin", "admin-password-1").ok();
    second.login(&server.url, "admin", "admin-password-1").ok();
    assert_ne!(first.session_id(), second.session_id());
    second.run(&["whoami"]).ok();

    let out = first.run(&["sessions", "revoke", "--others"]).ok();
    assert!(
        out.stdout.contains("Revoked 1 other session(s)."),
        "{}",
        out.stdout
    );

    let out = second.run(&["whoami"]).fails_with(1);
    assert!(out.stderr.contains("HTTP 401"), "{}", out.stderr);
    let out = first.run(&["whoami"]).ok();
    assert!(out.stdout.contains(&first.session_id()), "{}", out.stdout);
}

#[test]
fn configuration_flags_beat_environment_beat_file() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let config = tmp.path().join("sessiond.toml");
    std::fs::write(
        &config,
        "listen = \"127.0.0.1:1\"\nidle_timeout = \"bogus\"\n",
    )
    .unwrap();
    let config = config.to_str().unwrap();
    let data_s = data.to_str().unwrap();
    let env = [("SESSIOND_LOG", "warn")];

    // The file's bad value is refused as a usage error.
    let out = run(
        &["serve", "--config", config, "--data-dir", data_s],
        &env,
        None,
    )
    .fails_with(2);
    assert!(out.stderr.contains("idle-timeout"), "{}", out.stderr);
    assert!(out.stderr.contains("bogus"), "{}", out.stderr);

    // A flag overrides the file (and --listen the file's 127.0.0.1:1).
    let server = Server::start(&data, &["--config", config, "--idle-timeout", "5m"], &[]);
    assert!(!server.url.ends_with(":1"), "{}", server.url);
    drop(server);

    // So does the environment.
    let server = Server::start(
        &data,
        &["--config", config],
        &[("SESSIOND_IDLE_TIMEOUT", "5m")],
    );
    drop(server);

    // And a flag overrides the environment.
    let out = run(
        &[
            "serve",
            "--config",
            config,
            "--data-dir",
            data_s,
            "--idle-timeout",
            "bogus-flag",
        ],
        &[("SESSIOND_LOG", "warn"), ("SESSIOND_IDLE_TIMEOUT", "5m")],
        None,
    )
    .fails_with(2);
    assert!(out.stderr.contains("bogus-flag"), "{}", out.stderr);

    // An unknown key is named, not ignored.
    let unknown = tmp.path().join("unknown.toml");
    std::fs::write(&unknown, "colour = 1\n").unwrap();
    let out = run(
        &[
            "serve",
            "--config",
            unknown.to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
            "--data-dir",
            data_s,
        ],
        &env,
        None,
    )
    .fails_with(2);
    assert!(out.stderr.contains("colour"), "{}", out.stderr);
}

#[test]
fn unknown_environment_variable_is_warned_about() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(
        &tmp.path().join("data"),
        &[],
        &[
            ("SESSIOND_LISTN", "x"),
            ("SESSIOND_ADMIN_PASSWORD", "admin-password-1"),
            ("SESSIOND_METRICS", "true"),
            ("SESSIOND_TRUSTED_PROXY", "127.0.0.1"),
        ],
    );
    let out = server.stop();
    let warnings: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.contains("SESSIOND_LISTN"))
        .collect();
    assert_eq!(warnings.len(), 1, "{}", out.stderr);
    assert!(warnings[0].contains("WARN"), "{}", out.stderr);
    assert!(
        warnings[0].contains("unknown environment variable"),
        "{}",
        out.stderr
    );
    // Variables sessiond knows are not warned about: each option's own, read from its
    // declaration, and the few that are no option.
    for known in [
        "SESSIOND_LOG",
        "SESSIOND_ADMIN_PASSWORD",
        "SESSIOND_METRICS",
        "SESSIOND_TRUSTED_PROXY",
    ] {
        assert!(!out.stderr.contains(known), "{known}: {}", out.stderr);
    }
}

#[test]
fn help_documents_the_options_and_their_variables() {
    let out = run(&["--help"], &[], None).ok();
    for word in ["serve", "login", "whoami", "sessions", "users"] {
        assert!(out.stdout.contains(word), "{word}:\n{}", out.stdout);
    }
    let out = run(&["serve", "--help"], &[], None).ok();
    for word in [
        "--data-dir",
        "--idle-timeout",
        "--listen",
        "--config",
        "SESSIOND_LISTEN",
        "SESSIOND_DATA_DIR",
        "SESSIOND_IDLE_TIMEOUT",
    ] {
        assert!(out.stdout.contains(word), "{word}:\n{}", out.stdout);
    }
}

#[test]
fn two_processes_on_one_postgres_share_sessions_and_revocations() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let schema = rt.block_on(sessiond_store::testing::PgSchema::create());
    let env = [("SESSIOND_ADMIN_PASSWORD", "admin-password-1")];
    let a = Server::start_on_postgres(&schema.url, &["--server-name", "node-a"], &env);
    let b = Server::start_on_postgres(&schema.url, &["--server-name", "node-b"], &env);
    assert_ne!(a.url, b.url);
    let tmp = tempfile::tempdir().unwrap();

    // Logged in on A; the same token works on B.
    let alice = Client::new(tmp.path(), "alice");
    alice.login(&a.url, "admin", "admin-password-1").ok();
    let on_b = |client: &Client| {
        let mut creds = client.saved();
        creds["server"] = serde_json::Value::String(b.url.clone());
        let other = Client::new(tmp.path(), "via-b");
        std::fs::create_dir_all(other.credentials.parent().unwrap()).unwrap();
        std::fs::write(&other.credentials, creds.to_string()).unwrap();
        other
    };
    let alice_b = on_b(&alice);
    let me = alice_b.run(&["whoami", "--json"]).ok().json();
    assert_eq!(me["session"]["id"], alice.session_id().as_str());
    assert_eq!(
        me["session"]["server"], "node-a",
        "the session was opened on A"
    );
    alice.run(&["whoami"]).ok(); // cached on A too

    // Logged out on B: A refuses it.
    alice_b.run(&["logout"]).ok();
    let start = Instant::now();
    loop {
        let out = alice.run(&["whoami"]);
        if out.code() == Some(1) && out.stderr.contains("HTTP 401") {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(1),
            "A still accepts the session"
        );
    }
    // Both nodes list every session, whichever node opened it.
    let admin_b = Client::new(tmp.path(), "admin-b");
    admin_b.login(&b.url, "admin", "admin-password-1").ok();
    let all = admin_b
        .run(&["sessions", "list", "--state", "all", "--json"])
        .ok()
        .json();
    let servers: Vec<&str> = all["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["server"].as_str().unwrap())
        .collect();
    assert!(
        servers.contains(&"node-a") && servers.contains(&"node-b"),
        "{servers:?}"
    );
    // The servers stop before the schema is dropped (locals drop in reverse order).
}

#[test]
fn https_by_default_with_a_generated_certificate_the_cli_can_trust() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let env = [("SESSIOND_ADMIN_PASSWORD", "admin-password-1")];
    let server = Server::start_https(&data, &[], &env);
    assert!(
        server.url.starts_with("https://127.0.0.1:"),
        "{}",
        server.url
    );
    let cert = data.join("tls").join("cert.pem");
    let (first_line, fingerprint) = {
        let out = server.stdout.lock().unwrap().clone();
        let line = out
            .lines()
            .find(|l| l.starts_with("sessiond: TLS certificate"))
            .expect("the certificate line")
            .to_owned();
        let fp = line.rsplit(' ').next().unwrap().to_owned();
        (line, fp)
    };
    assert!(first_line.contains("(generated now)"), "{first_line}");
    assert_eq!(fingerprint.len(), 95, "{fingerprint}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let key = std::fs::metadata(data.join("tls").join("key.pem")).unwrap();
        assert_eq!(key.permissions().mode() & 0o777, 0o600);
    }

    // Verification is never off: without --ca the self-signed certificate is refused.
    let user = Client::new(tmp.path(), "user");
    let refused = user
        .login(&server.url, "admin", "admin-password-1")
        .fails_with(1);
    assert!(
        refused.stderr.to_lowercase().contains("certificate"),
        "{}",
        refused.stderr
    );

    // With --ca it is trusted, and later commands remember the CA.
    let creds = user.credentials.to_str().unwrap().to_owned();
    run(
        &[
            "login",
            "--server",
            &server.url,
            "--username",
            "admin",
            "--ca",
            cert.to_str().unwrap(),
            "--credentials",
            &creds,
        ],
        &[("SESSIOND_PASSWORD", "admin-password-1")],
        None,
    )
    .ok();
    assert!(user.saved()["ca"].as_str().unwrap().ends_with("cert.pem"));
    let me = user.run(&["whoami", "--json"]).ok().json();
    assert_eq!(me["user"]["id"], 500);
    server.stop().ok();

    // The next start reuses the certificate; the operator's own files work too.
    let again = Server::start_https(&data, &[], &env);
    let out = again.stdout.lock().unwrap().clone();
    assert!(
        out.contains("(in use)") && out.contains(&fingerprint),
        "{out}"
    );
    again.stop().ok();
    let own = Server::start_https(
        &tmp.path().join("other"),
        &[
            "--tls-cert",
            cert.to_str().unwrap(),
            "--tls-key",
            data.join("tls").join("key.pem").to_str().unwrap(),
        ],
        &env,
    );
    let out = own.stdout.lock().unwrap().clone();
    assert!(out.contains(&fingerprint), "{out}");
    // A new login keeps the CA it was given before.
    user.login(&own.url, "admin", "admin-password-1").ok();
    user.run(&["whoami"]).ok();
}

#[test]
fn the_pages_cookie_is_secure_over_https() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let env = [("SESSIOND_ADMIN_PASSWORD", "admin-password-1")];
    let server = Server::start_https(&data, &[], &env);
    let ca = data.join("tls").join("cert.pem");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (status, cookie, location) = rt.block_on(async {
        let cert = reqwest::Certificate::from_pem(&std::fs::read(&ca).unwrap()).unwrap();
        let http = reqwest::Client::builder()
            .add_root_certificate(cert)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let resp = http
            .post(format!("{}/ui/login", server.url))
            .header("content-type", "application/x-www-form-urlencoded")
            .body("username=admin&password=admin-password-1")
            .send()
            .await
            .unwrap();
        let header = |name: &str| {
            resp.headers()
                .get(name)
                .map(|v| v.to_str().unwrap().to_owned())
                .unwrap_or_default()
        };
        (resp.status(), header("set-cookie"), header("location"))
    });
    assert_eq!(status, reqwest::StatusCode::SEE_OTHER);
    assert_eq!(location, "/ui/sessions");
    for attr in ["HttpOnly", "SameSite=Strict", "Path=/ui", "Secure"] {
        assert!(cookie.contains(attr), "{attr} missing: {cookie}");
    }
    server.stop().ok();
}

#[test]
fn a_boolean_set_true_in_the_file_is_turned_off_by_the_environment() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let config = tmp.path().join("sessiond.toml");
    std::fs::write(&config, "insecure_http = true\npam_basic = true\n").unwrap();
    let config = config.to_str().unwrap();
    let env = [("SESSIOND_ADMIN_PASSWORD", "admin-password-1")];

    // The file alone: plain HTTP.
    let server = Server::start_https(&data, &["--config", config], &env);
    assert!(server.url.starts_with("http://"), "{}", server.url);
    server.stop().ok();

    // The environment's false beats the file's true: HTTPS again.
    let env_off = [
        ("SESSIOND_ADMIN_PASSWORD", "admin-password-1"),
        ("SESSIOND_INSECURE_HTTP", "false"),
    ];
    let server = Server::start_https(&data, &["--config", config], &env_off);
    assert!(server.url.starts_with("https://"), "{}", server.url);
    server.stop().ok();

    // And a flag's false beats both the environment and the file.
    let env_on = [
        ("SESSIOND_ADMIN_PASSWORD", "admin-password-1"),
        ("SESSIOND_INSECURE_HTTP", "true"),
    ];
    let server = Server::start_https(
        &data,
        &["--config", config, "--insecure-http", "false"],
        &env_on,
    );
    assert!(server.url.starts_with("https://"), "{}", server.url);
    server.stop().ok();
}

#[test]
fn config_shows_each_setting_with_its_source_and_masks_secrets() {
    let tmp = tempfile::tempdir().unwrap();
    let config = tmp.path().join("sessiond.toml");
    std::fs::write(
        &config,
        "pam_basic = true\nidle_timeout = \"45m\"\nstore = \"postgres://app:s3cret@db/sessiond\"\n",
    )
    .unwrap();
    let config = config.to_str().unwrap();
    let out = run(
        &["config", "--config", config, "--listen", "127.0.0.1:9"],
        &[
            ("SESSIOND_PAM_BASIC", "false"),
            ("SESSIOND_ADMIN_PASSWORD", "admin-password-1"),
        ],
        None,
    );
    let line = |key: &str| {
        out.stdout
            .lines()
            .find(|l| l.split_whitespace().next() == Some(key))
            .unwrap_or_else(|| panic!("no {key} line:\n{}", out.stdout))
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    };
    // True in the file, false in the environment: false, from the environment.
    assert_eq!(line("pam_basic"), "pam_basic = false # environment");
    assert_eq!(line("listen"), "listen = 127.0.0.1:9 # flag");
    assert_eq!(line("idle_timeout"), "idle_timeout = 45m # file");
    assert_eq!(line("session_lifetime"), "session_lifetime = 8h # default");
    assert_eq!(
        line("store"),
        "store = postgres://app:********@db/sessiond # file"
    );
    assert_eq!(
        line("admin_password"),
        "admin_password = ******** # environment"
    );
    assert!(!out.stdout.contains("s3cret") && !out.stdout.contains("admin-password-1"));
    assert!(!out.stderr.contains("s3cret"), "{}", out.stderr);
}
