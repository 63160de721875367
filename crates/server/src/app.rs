//! The top-level router (every dialect mounted at its prefixes) and the accept loop.

use std::future::Future;
use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::Router;
use tokio::net::TcpListener;
use tower_http::trace::TraceLayer;

use crate::dialect::{self, mount};
use crate::dialects::commvault::{self, Commvault};
use crate::dialects::netsession::NetSession;
use crate::dialects::pam::Pam;
use crate::dialects::qumulo::Qumulo;
use crate::dialects::symphony::Symphony;
use crate::health;
use crate::listener;
use crate::native::Native;
use crate::state::AppState;

pub fn build_router(state: AppState) -> Router {
    let limit = state.cfg.max_body_bytes;
    let mut router = Router::new().merge(health::router());
    router = mount::<Native>(router, &state);
    router = mount::<NetSession>(router, &state);
    router = mount::<Qumulo>(router, &state);
    router = mount::<Symphony>(router, &state);
    router = mount::<Commvault>(router, &state);
    router = mount::<Pam>(router, &state);
    let router = router
        .fallback(dialect::not_found::<Native>)
        .layer(DefaultBodyLimit::max(limit));
    // tower-http's request spans and events are at DEBUG. Built for every request even when
    // nothing records them, they cost about 1.2 µs a request (the floor went from ~140,000
    // to ~169,000 req/s without them), so they are layered only when the log wants them.
    let router = if tracing::enabled!(target: "tower_http::trace::on_request", tracing::Level::DEBUG)
    {
        router.layer(TraceLayer::new_for_http())
    } else {
        router
    };
    router.with_state(state)
}

/// Plain HTTP (behind a proxy that terminates TLS) or HTTPS.
pub enum Transport {
    Http,
    Https(Arc<rustls::ServerConfig>),
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
    let limits = state.cfg.connections.clone();
    // Commvault's paths are matched without regard to case or a trailing slash; the
    // rewrite must happen before routing, so it wraps the router.
    let app = commvault::NormalizePaths::new(build_router(state), roots);
    let tls = match transport {
        Transport::Http => None,
        Transport::Https(config) => Some(tokio_rustls::TlsAcceptor::from(config)),
    };
    listener::run(listener, app, tls, limits, shutdown).await
}
