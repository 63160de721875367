//! Liveness and readiness.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use sessiond_api::Health;

use crate::dialect::method_not_allowed;
use crate::native::Native;
use crate::state::AppState;

/// Rejections here (a wrong method) answer in the native API's error envelope.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .method_not_allowed_fallback(method_not_allowed::<Native>)
}

async fn healthz() -> Json<Health> {
    Json(Health {
        status: "ok".into(),
    })
}

/// Ready when the store answers.
async fn readyz(State(s): State<AppState>) -> (StatusCode, Json<Health>) {
    match s.core.ready().await {
        Ok(()) => (
            StatusCode::OK,
            Json(Health {
                status: "ok".into(),
            }),
        ),
        Err(e) => {
            tracing::warn!(error = %e, "not ready");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(Health {
                    status: "store unavailable".into(),
                }),
            )
        }
    }
}
