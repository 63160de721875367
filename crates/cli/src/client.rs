//! The CLI as a client of the native API: where the token is kept, and how requests and
//! errors go over the wire.

use std::io::Write;
use std::path::{Path, PathBuf};

use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sessiond_api::{ErrorBody, CLI_USER_AGENT_PREFIX, PREFIX};

use crate::fail::{Context, Fail};

pub const DEFAULT_SERVER: &str = "https://127.0.0.1:8000";

/// What `sessiond login` keeps between commands (mode 0600).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Credentials {
    pub server: String,
    pub username: String,
    pub session_id: String,
    pub token: String,
    /// CA certificate (PEM) that the server's certificate is checked against.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca: Option<PathBuf>,
}

pub fn credentials_path(flag: Option<PathBuf>) -> PathBuf {
    if let Some(p) = flag {
        return p;
    }
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))
        .unwrap_or_else(|| PathBuf::from("."));
    base.join("sessiond").join("credentials.json")
}

pub fn load_credentials(path: &Path) -> Result<Option<Credentials>, Fail> {
    match std::fs::read_to_string(path) {
        Ok(text) => serde_json::from_str(&text)
            .map(Some)
            .with_context(|| format!("{} is not a sessiond credentials file", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Fail::new(format!("cannot read {}: {e}", path.display()))),
    }
}

/// Writes the file atomically, readable by its owner only.
pub fn save_credentials(path: &Path, c: &Credentials) -> Result<(), Fail> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let tmp = path.with_extension("tmp");
    {
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let mut f = opts
            .open(&tmp)
            .with_context(|| format!("cannot write {}", tmp.display()))?;
        let text = serde_json::to_string_pretty(c).context("cannot encode credentials")?;
        f.write_all(text.as_bytes())
            .with_context(|| format!("cannot write {}", tmp.display()))?;
    }
    std::fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))
}

pub fn remove_credentials(path: &Path) -> Result<(), Fail> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Fail::new(format!("cannot remove {}: {e}", path.display()))),
    }
}

pub struct Api {
    http: reqwest::Client,
    pub base: String,
    token: Option<String>,
}

impl Api {
    /// A client of `server`; with `ca`, the server's certificate must chain to it (never is
    /// verification turned off).
    pub fn new(server: &str, token: Option<String>, ca: Option<&Path>) -> Result<Api, Fail> {
        let base = server.trim_end_matches('/').to_owned();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(Fail::usage(format!(
                "--server: {server:?} must start with http:// or https://"
            )));
        }
        let mut builder = reqwest::Client::builder()
            .user_agent(format!(
                "{CLI_USER_AGENT_PREFIX}{}",
                env!("CARGO_PKG_VERSION")
            ))
            .timeout(std::time::Duration::from_secs(30));
        if let Some(ca) = ca {
            let pem = std::fs::read(ca)
                .with_context(|| format!("cannot read the CA certificate {}", ca.display()))?;
            let cert = reqwest::Certificate::from_pem(&pem)
                .with_context(|| format!("{} is not a PEM certificate", ca.display()))?;
            builder = builder.add_root_certificate(cert);
        }
        let http = builder.build().context("cannot build the HTTP client")?;
        Ok(Api { http, base, token })
    }

    /// Sends a request to `/api/v1{path}` and decodes the answer; errors carry the server's
    /// message and the HTTP status.
    pub async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&(impl Serialize + ?Sized)>,
    ) -> Result<T, Fail> {
        let resp = self.send(method, path, body).await?;
        let bytes = resp.bytes().await.context("cannot read the answer")?;
        serde_json::from_slice(&bytes).context("the server's answer is not what sessiond sends")
    }

    /// Like `call`, for answers without a body.
    pub async fn call_empty(
        &self,
        method: Method,
        path: &str,
        body: Option<&(impl Serialize + ?Sized)>,
    ) -> Result<(), Fail> {
        self.send(method, path, body).await.map(|_| ())
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<&(impl Serialize + ?Sized)>,
    ) -> Result<reqwest::Response, Fail> {
        let url = format!("{}{PREFIX}{path}", self.base);
        let mut req = self.http.request(method, &url);
        if let Some(t) = &self.token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        let resp = req.send().await.map_err(|e| {
            // reqwest's top-level message hides the cause (refused, certificate unknown...).
            let mut why = e.to_string();
            let mut src = std::error::Error::source(&e);
            while let Some(s) = src {
                why = format!("{why}: {s}");
                src = s.source();
            }
            Fail::new(format!("cannot reach sessiond at {}: {why}", self.base))
        })?;
        let status = resp.status();
        if status.is_success() {
            return Ok(resp);
        }
        let text = resp.text().await.unwrap_or_default();
        let message = serde_json::from_str::<ErrorBody>(&text)
            .map(|b| b.error.message)
            .or_else(|_| {
                // Network-session calls answer with Windows statuses.
                serde_json::from_str::<serde_json::Value>(&text)
                    .map_err(|_| ())
                    .and_then(|v| match (v["name"].as_str(), v["message"].as_str()) {
                        (Some(n), Some(m)) => Ok(format!("{n}: {m}")),
                        _ => Err(()),
                    })
            })
            .unwrap_or_else(|_| text.chars().take(200).collect());
        let hint = match status {
            StatusCode::UNAUTHORIZED => " (log in again with `sessiond login`)",
            _ => "",
        };
        Err(Fail::new(format!(
            "{message}{hint} [HTTP {}]",
            status.as_u16()
        )))
    }
}

/// Percent-encodes one path segment or query value.
pub fn enc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}
