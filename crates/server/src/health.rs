//! Liveness, readiness and the metrics.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use prometheus_client::encoding::text::encode;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::{ConstGauge, Gauge};
use prometheus_client::registry::Registry;
use sessiond_api::Health;
use sessiond_core::metrics::Metrics;

use crate::dialect::method_not_allowed;
use crate::native::Native;
use crate::state::AppState;

/// Rejections here (a wrong method) answer in the native API's error envelope.
pub fn router(metrics: bool) -> Router<AppState> {
    let router = Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz));
    let router = if metrics {
        router.route("/metrics", get(self::metrics))
    } else {
        router
    };
    router.method_not_allowed_fallback(method_not_allowed::<Native>)
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ServerLabels {
    server: String,
}

/// Everything counted, in the OpenMetrics text format that Prometheus scrapes: counts and
/// durations only (server names are the one label taken from the data).
async fn metrics(State(s): State<AppState>) -> Response {
    let mut registry = Registry::with_prefix("sessiond");
    s.core.metrics.register(&mut registry);
    registry.register(
        "store_errors",
        "Store operations that failed (unavailable or unexpected)",
        Metrics::store_errors(),
    );
    registry.register(
        "cache_entries",
        "Tokens held in the hot cache",
        ConstGauge::new(s.core.cached_entries() as i64),
    );
    let active: Family<ServerLabels, Gauge> = Family::default();
    match s.core.active_sessions_by_server().await {
        Ok(rows) => {
            for (server, n) in rows {
                active.get_or_create(&ServerLabels { server }).set(n);
            }
        }
        Err(e) => tracing::warn!(error = %e, "metrics: cannot count active sessions"),
    }
    registry.register("active_sessions", "Active sessions by server", active);
    let mut text = String::with_capacity(8192);
    if let Err(e) = encode(&mut text, &registry) {
        tracing::error!(error = %e, "metrics: cannot encode");
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    }
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        text,
    )
        .into_response()
}

async fn healthz() -> Json<Health> {
    Json(Health {
        status: "ok".into(),
        directory: None,
    })
}

/// Ready when the store answers; says how the directory is, if one is configured.
async fn readyz(State(s): State<AppState>) -> (StatusCode, Json<Health>) {
    let directory = match s.core.directory_ready().await {
        None => None,
        Some(Ok(())) => Some("ok".to_owned()),
        Some(Err(e)) => {
            tracing::warn!(error = %e, "directory unavailable (still ready: local users log in)");
            Some("unavailable".to_owned())
        }
    };
    match s.core.ready().await {
        Ok(()) => (
            StatusCode::OK,
            Json(Health {
                status: "ok".into(),
                directory,
            }),
        ),
        Err(e) => {
            tracing::warn!(error = %e, "not ready");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(Health {
                    status: "store unavailable".into(),
                    directory,
                }),
            )
        }
    }
}
