//! The Symphony dialect (seed 001, `GET /pod/v2/sessioninfo`), for Symphony's Python BDK
//! (`symphony-bdk-python` 3.0.0): RSA pubkey logins for bots (`/login`, `/relay`), apps
//! and on-behalf-of (OBO) sessions, and the session's `UserV2`.
//!
//! The BDK retries 429, 5xx and network errors for about 13 minutes and re-authenticates on
//! a 401 from `/pod`, so bad credentials are always 401 (never 5xx) and a token just issued
//! is never refused.

mod error;
mod login;
mod session_info;

use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;

use crate::app::AppState;
use crate::extract::DialectError;
pub use error::SymphonyError;

pub fn login_router() -> Router<AppState> {
    Router::new()
        .route("/pubkey/authenticate", post(login::bot))
        .route("/pubkey/app/authenticate", post(login::app))
        .route(
            "/pubkey/app/user/{uid}/authenticate",
            post(login::obo_by_id),
        )
        .route(
            "/pubkey/app/username/{username}/authenticate",
            post(login::obo_by_name),
        )
        .fallback(error::not_found)
        .method_not_allowed_fallback(error::method_not_allowed)
}

pub fn relay_router() -> Router<AppState> {
    Router::new()
        .route("/pubkey/authenticate", post(login::key_manager))
        .fallback(error::not_found)
        .method_not_allowed_fallback(error::method_not_allowed)
}

pub fn pod_router() -> Router<AppState> {
    Router::new()
        .route("/v2/sessioninfo", get(session_info::session_info))
        .fallback(error::not_found)
        .method_not_allowed_fallback(error::method_not_allowed)
}

/// The `sessionToken` header: absent is `None`; present but unusable text is 400.
fn session_token(parts: &Parts) -> Result<Option<&str>, SymphonyError> {
    let Some(v) = parts.headers.get("sessiontoken") else {
        return Ok(None);
    };
    let t = v
        .to_str()
        .ok()
        .map(str::trim)
        .filter(|t| !t.is_empty() && t.len() <= 512 && !t.contains(char::is_whitespace))
        .ok_or_else(|| {
            SymphonyError::rejection(
                StatusCode::BAD_REQUEST,
                "the sessionToken header is malformed".into(),
            )
        })?;
    Ok(Some(t))
}
