//! The top-level router and the accept loop.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::Router;
use sessiond_core::Core;
use tokio::net::TcpListener;
use tower_http::trace::TraceLayer;

use crate::{dialects, health, native};

#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Largest request body accepted; larger ones get 413.
    pub max_body_bytes: usize,
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
}

/// Settings of the MIM PAM dialect.
#[derive(Debug, Clone)]
pub struct PamConfig {
    /// The NetBIOS domain of `DOMAIN\name`.
    pub domain: String,
    /// The base of `odata.metadata`; `None`: the URL the client used.
    pub public_url: Option<String>,
    /// Whether `Authorization: Basic` is accepted (and offered on a 401).
    pub basic: bool,
    /// A request whose body has not arrived after this long gets 408.
    pub read_timeout: Duration,
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
            basic: false,
            read_timeout: Duration::from_secs(30),
            cors_origins: vec![],
            cors_credentials: false,
            secure_cookie: false,
            principal_map: vec![],
        }
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            max_body_bytes: 1024 * 1024,
            flush_interval: Duration::from_secs(5),
            sweep_interval: Duration::from_secs(60),
            page_size: 100,
            commvault_roots: vec!["/commandcenter/api".into(), "/webconsole/api".into()],
            pam: PamConfig::default(),
        }
    }
}

#[derive(Clone)]
pub struct AppState {
    pub core: Arc<Core>,
    pub cfg: Arc<ServerConfig>,
    /// Accepts HTTP Negotiate (SPNEGO/Kerberos) tokens, when a keytab is configured.
    pub negotiate: Option<Arc<dyn crate::negotiate::Negotiate>>,
}

pub fn build_router(state: AppState) -> Router {
    let limit = state.cfg.max_body_bytes;
    let mut router = Router::new()
        .merge(health::router())
        .nest(sessiond_api::PREFIX, native::router())
        .nest("/v1", dialects::qumulo::router())
        .nest("/login", dialects::symphony::login_router())
        .nest("/relay", dialects::symphony::relay_router())
        .nest("/pod", dialects::symphony::pod_router())
        .nest("/api/session", dialects::pam::router(&state.cfg.pam));
    for root in &state.cfg.commvault_roots {
        router = router.nest(root, dialects::commvault::router());
    }
    router
        .fallback(native::error::not_found)
        .layer(DefaultBodyLimit::max(limit))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// Plain HTTP (behind a proxy that terminates TLS) or HTTPS.
pub enum Transport {
    Http,
    Https(axum_server::tls_rustls::RustlsConfig),
}

/// Serves until `shutdown` completes, then lets in-flight requests finish (up to 10 s).
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_on(listener, state, Transport::Http, shutdown).await
}

pub async fn serve_on(
    listener: TcpListener,
    state: AppState,
    transport: Transport,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let roots = state.cfg.commvault_roots.clone();
    // Commvault's paths are matched without regard to case or a trailing slash; the
    // rewrite must happen before routing, so it wraps the router.
    let app = dialects::commvault::NormalizePaths::new(build_router(state), roots);
    let app = axum::ServiceExt::<axum::extract::Request>::into_make_service_with_connect_info::<
        SocketAddr,
    >(app);
    match transport {
        Transport::Http => {
            axum::serve(listener, app)
                .with_graceful_shutdown(shutdown)
                .await
        }
        Transport::Https(tls) => {
            let handle = axum_server::Handle::new();
            let stopper = handle.clone();
            tokio::spawn(async move {
                shutdown.await;
                stopper.graceful_shutdown(Some(Duration::from_secs(10)));
            });
            let listener = listener.into_std()?;
            axum_server::from_tcp_rustls(listener, tls)?
                .handle(handle)
                .serve(app)
                .await
        }
    }
}
