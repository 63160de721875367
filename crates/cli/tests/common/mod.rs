//! Running the real `sessiond` binary as a user would: servers on random ports, CLI
//! clients with credentials files of their own, timeouts instead of hangs.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_sessiond");
/// Generous: the machine may be busy with other tests and password hashing.
pub const TIMEOUT: Duration = Duration::from_secs(60);
pub const LISTENING: &str = "sessiond: listening on ";
pub const GENERATED: &str = "sessiond: created user \"admin\" with password: ";

/// A `sessiond` command with no inherited `SESSIOND_*` variables.
pub fn sessiond() -> Command {
    let mut cmd = Command::new(BIN);
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("SESSIOND_") {
            cmd.env_remove(k);
        }
    }
    cmd
}

/// Reads a pipe to its end into a shared string, passing each line on as well.
pub fn drain(
    pipe: impl Read + Send + 'static,
    buf: Arc<Mutex<String>>,
    lines: Option<mpsc::Sender<String>>,
) -> JoinHandle<()> {
    std::thread::spawn(move || {
        for line in BufReader::new(pipe).lines() {
            let Ok(line) = line else { break };
            {
                let mut b = buf.lock().unwrap();
                b.push_str(&line);
                b.push('\n');
            }
            if let Some(tx) = &lines {
                let _ = tx.send(line);
            }
        }
    })
}

/// Waits for a child until the deadline; kills it (and fails) if it is still running then.
pub fn wait_until(child: &mut Child, deadline: Instant, what: &str) -> ExitStatus {
    loop {
        match child.try_wait().expect("cannot wait for the child") {
            Some(status) => return status,
            None if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("{what} did not finish within {TIMEOUT:?}");
            }
            None => std::thread::sleep(Duration::from_millis(20)),
        }
    }
}

/// What a finished process said.
#[derive(Debug)]
pub struct Output {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    pub fn code(&self) -> Option<i32> {
        self.status.code()
    }

    #[track_caller]
    pub fn ok(self) -> Output {
        assert!(
            self.status.success(),
            "expected success, got {:?}\nstdout:\n{}\nstderr:\n{}",
            self.status,
            self.stdout,
            self.stderr
        );
        self
    }

    #[track_caller]
    pub fn fails_with(self, code: i32) -> Output {
        assert_eq!(
            self.code(),
            Some(code),
            "expected exit code {code}\nstdout:\n{}\nstderr:\n{}",
            self.stdout,
            self.stderr
        );
        self
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", self.stdout))
    }
}

/// Runs `sessiond ARGS` to completion (within the timeout), with `stdin` as its input.
pub fn run(args: &[&str], envs: &[(&str, &str)], stdin: Option<&str>) -> Output {
    let mut cmd = sessiond();
    cmd.args(args).envs(envs.iter().copied());
    output_of(cmd, stdin)
}

/// Runs any command to its end (or the timeout), feeding it `stdin`, and collects it all.
pub fn output_of(mut cmd: Command, stdin: Option<&str>) -> Output {
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let what = format!("{cmd:?}");
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {what}: {e}"));
    if let Some(input) = stdin {
        let mut pipe = child.stdin.take().unwrap();
        pipe.write_all(input.as_bytes()).unwrap();
    }
    let out = Arc::new(Mutex::new(String::new()));
    let err = Arc::new(Mutex::new(String::new()));
    let readers = [
        drain(child.stdout.take().unwrap(), out.clone(), None),
        drain(child.stderr.take().unwrap(), err.clone(), None),
    ];
    let status = wait_until(&mut child, Instant::now() + TIMEOUT, &what);
    for r in readers {
        r.join().unwrap();
    }
    let stdout = out.lock().unwrap().clone();
    let stderr = err.lock().unwrap().clone();
    Output {
        status,
        stdout,
        stderr,
    }
}

/// A running `sessiond serve`, killed when dropped.
pub struct Server {
    pub child: Option<Child>,
    pub url: String,
    /// The admin password printed at first start, if it was.
    pub generated_password: Option<String>,
    pub stdout: Arc<Mutex<String>>,
    pub stderr: Arc<Mutex<String>>,
    pub readers: Vec<JoinHandle<()>>,
}

impl Server {
    /// `sessiond serve --listen 127.0.0.1:0 --data-dir DIR ARGS` with `SESSIOND_LOG=warn`
    /// (unless `envs` says otherwise); returns once it listens.
    pub fn start(data_dir: &Path, args: &[&str], envs: &[(&str, &str)]) -> Server {
        let store = ["--data-dir".into(), data_dir.as_os_str().to_owned()];
        Self::spawn(&store, args, envs, false)
    }

    /// The same over HTTPS (the default; the other helpers pass --insecure-http).
    pub fn start_https(data_dir: &Path, args: &[&str], envs: &[(&str, &str)]) -> Server {
        let store = ["--data-dir".into(), data_dir.as_os_str().to_owned()];
        Self::spawn(&store, args, envs, true)
    }

    /// The same, on PostgreSQL (`--store URL`).
    pub fn start_on_postgres(url: &str, args: &[&str], envs: &[(&str, &str)]) -> Server {
        Self::spawn(&["--store".into(), url.into()], args, envs, false)
    }

    pub fn spawn(
        store: &[std::ffi::OsString],
        args: &[&str],
        envs: &[(&str, &str)],
        https: bool,
    ) -> Server {
        Self::spawn_with(store, args, envs, https, |_| {})
    }

    /// `spawn`, with a last say on the command (`pre_exec`, limits).
    pub fn spawn_with(
        store: &[std::ffi::OsString],
        args: &[&str],
        envs: &[(&str, &str)],
        https: bool,
        prepare: impl FnOnce(&mut Command),
    ) -> Server {
        let mut cmd = sessiond();
        cmd.arg("serve").args(["--listen", "127.0.0.1:0"]);
        if !https {
            cmd.arg("--insecure-http");
        }
        cmd.args(store)
            .args(args)
            .env("SESSIOND_LOG", "warn")
            .envs(envs.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        prepare(&mut cmd);
        let mut child = cmd.spawn().expect("cannot start sessiond serve");
        let stdout = Arc::new(Mutex::new(String::new()));
        let stderr = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = mpsc::channel();
        let readers = vec![
            drain(child.stdout.take().unwrap(), stdout.clone(), Some(tx)),
            drain(child.stderr.take().unwrap(), stderr.clone(), None),
        ];
        let mut server = Server {
            child: Some(child),
            url: String::new(),
            generated_password: None,
            stdout,
            stderr,
            readers,
        };
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) => {
                    if let Some(pw) = line.strip_prefix(GENERATED) {
                        server.generated_password = Some(pw.to_owned());
                    }
                    if let Some(url) = line.strip_prefix(LISTENING) {
                        server.url = url.to_owned();
                        return server;
                    }
                }
                Err(e) => {
                    let out = server.stop();
                    panic!(
                        "sessiond serve did not start ({e:?}): {:?}\nstdout:\n{}\nstderr:\n{}",
                        out.status, out.stdout, out.stderr
                    );
                }
            }
        }
    }

    /// Stops the server gracefully (SIGTERM) and returns everything it printed.
    pub fn stop(mut self) -> Output {
        let mut child = self.child.take().expect("server already stopped");
        if child.try_wait().unwrap().is_none() {
            let sent = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status()
                .expect("cannot run kill");
            assert!(sent.success(), "kill -TERM failed");
        }
        let status = wait_until(
            &mut child,
            Instant::now() + TIMEOUT,
            "sessiond serve after SIGTERM",
        );
        for r in std::mem::take(&mut self.readers) {
            r.join().unwrap();
        }
        let stdout = self.stdout.lock().unwrap().clone();
        let stderr = self.stderr.lock().unwrap().clone();
        Output {
            status,
            stdout,
            stderr,
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        for r in std::mem::take(&mut self.readers) {
            let _ = r.join();
        }
    }
}

/// One CLI user: the client commands with their own credentials file.
pub struct Client {
    pub credentials: PathBuf,
}

impl Client {
    pub fn new(dir: &Path, name: &str) -> Client {
        Client {
            credentials: dir.join(name).join("credentials.json"),
        }
    }

    /// `sessiond ARGS --credentials FILE`.
    pub fn run(&self, args: &[&str]) -> Output {
        self.run_stdin(args, None)
    }

    pub fn run_stdin(&self, args: &[&str], stdin: Option<&str>) -> Output {
        let mut all: Vec<&str> = args.to_vec();
        let creds = self.credentials.to_str().unwrap();
        all.extend(["--credentials", creds]);
        run(&all, &[], stdin)
    }

    pub fn login(&self, url: &str, username: &str, password: &str) -> Output {
        let creds = self.credentials.to_str().unwrap();
        run(
            &[
                "login",
                "--server",
                url,
                "--username",
                username,
                "--credentials",
                creds,
            ],
            &[("SESSIOND_PASSWORD", password)],
            None,
        )
    }

    pub fn saved(&self) -> serde_json::Value {
        let text = std::fs::read_to_string(&self.credentials).expect("no credentials file");
        serde_json::from_str(&text).expect("the credentials file is not JSON")
    }

    pub fn session_id(&self) -> String {
        self.saved()["session_id"]
            .as_str()
            .expect("no session_id in the credentials file")
            .to_owned()
    }
}

/// The pinned client venv (created on first use by scripts/clients-venv).
pub fn clients_venv() -> PathBuf {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/clients-venv");
    let out = Command::new(&script)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
    assert!(
        out.status.success(),
        "scripts/clients-venv failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
}

/// A CLI client logged in to an HTTPS server as `user`, trusting the server's generated
/// certificate.
pub fn https_client(
    dir: &Path,
    server: &Server,
    data_dir: &Path,
    user: &str,
    password: &str,
) -> Client {
    let client = Client::new(dir, &format!("{user}-cli"));
    let ca = data_dir.join("tls").join("cert.pem");
    let creds = client.credentials.to_str().unwrap().to_owned();
    run(
        &[
            "login",
            "--server",
            &server.url,
            "--username",
            user,
            "--ca",
            ca.to_str().unwrap(),
            "--credentials",
            &creds,
        ],
        &[("SESSIOND_PASSWORD", password)],
        None,
    )
    .ok();
    client
}

/// A loopback port free a moment ago, for a helper server (slapd, smbd, a receiver) that
/// must come back on the same port after a restart.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("no free loopback port")
        .port()
}

/// Polls `check` every 20 ms until it answers, for at most `limit`.
pub fn wait_for<T>(limit: Duration, what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(v) = check() {
            return v;
        }
        assert!(Instant::now() < deadline, "gave up waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}
