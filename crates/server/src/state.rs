//! What every handler shares: the core, the server's settings and the Negotiate acceptor.
//! A leaf module: dialects import it, and it imports no dialect.

use std::sync::Arc;
use std::time::Duration;

use sessiond_core::Core;

pub use crate::listener::ConnectionLimits;

#[derive(Clone)]
pub struct AppState {
    pub core: Arc<Core>,
    pub cfg: Arc<ServerConfig>,
    /// Accepts HTTP Negotiate (SPNEGO/Kerberos) tokens, when a keytab is configured.
    pub negotiate: Option<Arc<dyn crate::negotiate::Negotiate>>,
}

#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Largest request body accepted; larger ones get 413.
    pub max_body_bytes: usize,
    /// A request body that has not fully arrived after this long gets 408.
    pub read_timeout: Duration,
    /// How often in-memory activity is written to the store.
    pub flush_interval: Duration,
    /// How often expired and idle sessions are ended and old history purged.
    pub sweep_interval: Duration,
    /// Entries per page when a paged list is asked for without a limit.
    pub page_size: u32,
    /// Commvault web-service roots, in lower case without a trailing slash.
    pub commvault_roots: Vec<String>,
    /// The MIM PAM dialect.
    pub pam: PamConfig,
    /// Connection cap and time-outs.
    pub connections: ConnectionLimits,
    /// Whether this server serves HTTPS itself: the pages' cookie is then marked Secure.
    pub https: bool,
    /// Whether `/metrics` is served and requests are counted.
    pub metrics: bool,
    /// Proxies whose `Forwarded` / `X-Forwarded-For` headers are believed (see `forwarded`).
    pub trusted_proxies: Vec<ipnet::IpNet>,
}

/// Settings of the MIM PAM dialect, and of Kerberos, which only it offers.
#[derive(Debug, Clone)]
pub struct PamConfig {
    /// The NetBIOS domain of `DOMAIN\name`.
    pub domain: String,
    /// The base of `odata.metadata`; `None`: the URL the client used, if its host is one of
    /// `hosts`, else this server's name.
    pub public_url: Option<String>,
    /// Host names (without port) a client may use in the URL, trusted to build the base of
    /// `odata.metadata` when `public_url` is not set. Never an arbitrary `Host` header.
    pub hosts: Vec<String>,
    /// Whether `Authorization: Basic` is accepted (and offered on a 401).
    pub basic: bool,
    /// Origins allowed by CORS (`*` for any); empty: no CORS headers.
    pub cors_origins: Vec<String>,
    /// Whether CORS allows credentials (cookies, Negotiate).
    pub cors_credentials: bool,
    /// Whether the session cookie is marked Secure (set when serving HTTPS).
    pub secure_cookie: bool,
    /// Kerberos principals mapped to user names; others lose their realm (`alice@R` → `alice`).
    pub principal_map: Vec<(String, String)>,
}

impl Default for PamConfig {
    fn default() -> Self {
        PamConfig {
            domain: "SESSIOND".into(),
            public_url: None,
            hosts: vec!["localhost".into(), "127.0.0.1".into(), "[::1]".into()],
            basic: false,
            cors_origins: vec![],
            cors_credentials: false,
            secure_cookie: false,
            principal_map: vec![],
        }
    }
}

impl PamConfig {
    /// `alice@REALM` → the configured user name, else `alice`.
    pub fn user_for_principal(&self, principal: &str) -> String {
        if let Some((_, user)) = self.principal_map.iter().find(|(p, _)| p == principal) {
            return user.clone();
        }
        principal.split('@').next().unwrap_or(principal).to_owned()
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            max_body_bytes: 1024 * 1024,
            read_timeout: Duration::from_secs(30),
            flush_interval: Duration::from_secs(5),
            sweep_interval: Duration::from_secs(60),
            page_size: 100,
            commvault_roots: vec!["/commandcenter/api".into(), "/webconsole/api".into()],
            pam: PamConfig::default(),
            connections: ConnectionLimits::default(),
            https: false,
            metrics: true,
            trusted_proxies: Vec::new(),
        }
    }
}
