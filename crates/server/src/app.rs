//! The top-level router (every dialect mounted at its prefixes) and the accept loop.

use std::future::Future;
use std::sync::Arc;

use tokio::net::TcpListener;
use tower::{Layer as _, ServiceExt as _};
use tower_http::trace::TraceLayer;

use crate::dialect::{self, Dispatch, Service};
use crate::dialects::commvault::{self, Commvault};
use crate::dialects::netsession::NetSession;
use crate::dialects::pam::Pam;
use crate::dialects::qumulo::Qumulo;
use crate::dialects::symphony::Symphony;
use crate::health;
use crate::listener;
use crate::native::Native;
use crate::oauth::OAuth;
use crate::state::AppState;
use crate::ui::Ui;

/// The whole application: each dialect a service of its own, chosen by path prefix, and the
/// server's own routes (health) for the rest. Bodies are bounded where they are read
/// (`extract::read_body`, `--max-body-bytes`), so no body limit is layered here.
pub fn build_app(state: AppState) -> Dispatch {
    let mut table = Vec::new();
    let mut add = |(prefixes, service): (Vec<String>, Service)| {
        table.extend(prefixes.into_iter().map(|p| (p, service.clone())));
    };
    add(dialect::service::<Native>(&state));
    add(dialect::service::<OAuth>(&state));
    add(dialect::service::<NetSession>(&state));
    add(dialect::service::<Qumulo>(&state));
    add(dialect::service::<Symphony>(&state));
    add(dialect::service::<Commvault>(&state));
    add(dialect::service::<Pam>(&state));
    add(dialect::service::<Ui>(&state));
    let rest = Service::new(
        health::router(state.cfg.metrics)
            .fallback(dialect::not_found::<Native>)
            .with_state(state),
    );
    Dispatch::new(table, rest)
}

/// tower-http's request spans and events are at DEBUG. Built for every request even when
/// nothing records them, they cost about 1.2 µs a request (the floor went from ~140,000 to
/// ~169,000 req/s without them), so they are layered only when the log wants them.
fn tracing_requests() -> bool {
    tracing::enabled!(target: "tower_http::trace::on_request", tracing::Level::DEBUG)
}

fn traced(app: Dispatch) -> Service {
    Service::new(
        TraceLayer::new_for_http()
            .layer(app)
            .map_response(|resp| resp.map(axum::body::Body::new)),
    )
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
    let app = build_app(state);
    let tls = match transport {
        Transport::Http => None,
        Transport::Https(config) => Some(tokio_rustls::TlsAcceptor::from(config)),
    };
    // Commvault's paths are matched without regard to case or a trailing slash; the
    // rewrite must happen before dispatch, so it wraps the whole app. Untraced, the app is
    // one concrete service: cloning it for a request allocates nothing.
    if tracing_requests() {
        let app = commvault::NormalizePaths::new(traced(app), roots);
        listener::run(listener, app, tls, limits, shutdown).await
    } else {
        let app = commvault::NormalizePaths::new(app, roots);
        listener::run(listener, app, tls, limits, shutdown).await
    }
}
