//! The MIM PAM dialect (seed 000, `GET /api/session/sessioninfo`): who is logged in to this
//! session, as `DOMAIN\name`, authenticated the way PAM's REST API is: Integrated Windows
//! Authentication (HTTP Negotiate with Kerberos), a session cookie after that, a Bearer token
//! of any dialect, or Basic when enabled. Errors are OData's.

mod error;
mod handler;

use axum::http::{header, HeaderValue, Method};
use axum::routing::get;
use axum::Router;
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::app::{AppState, PamConfig};
pub use error::PamError;

/// The session cookie that spares later requests a new ticket.
pub const COOKIE: &str = "sessiond_pam";

pub fn router(cfg: &PamConfig) -> Router<AppState> {
    let router = Router::new()
        .route("/sessioninfo", get(handler::session_info))
        .route("/sessioninfo/", get(handler::session_info))
        .fallback(error::not_found)
        .method_not_allowed_fallback(error::method_not_allowed);
    match cors(cfg) {
        Some(layer) => router.layer(layer),
        None => router,
    }
}

/// CORS as PAM's REST API documents it: configured origins, optionally with credentials.
fn cors(cfg: &PamConfig) -> Option<CorsLayer> {
    if cfg.cors_origins.is_empty() {
        return None;
    }
    let origins = if cfg.cors_origins.iter().any(|o| o == "*") && !cfg.cors_credentials {
        AllowOrigin::any()
    } else {
        let list: Vec<HeaderValue> = cfg
            .cors_origins
            .iter()
            .filter(|o| *o != "*")
            .filter_map(|o| HeaderValue::from_str(o).ok())
            .collect();
        AllowOrigin::list(list)
    };
    Some(
        CorsLayer::new()
            .allow_origin(origins)
            .allow_methods([Method::GET, Method::OPTIONS])
            .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE, header::ACCEPT])
            .expose_headers([header::WWW_AUTHENTICATE])
            .allow_credentials(cfg.cors_credentials),
    )
}
