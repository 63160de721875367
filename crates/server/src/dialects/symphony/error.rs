//! Symphony's error shape: `{"code": <int>, "message": "<text>"}`, `application/json`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use sessiond_core::CoreError;

use crate::extract::DialectError;

#[derive(Debug)]
pub struct SymphonyError {
    pub status: StatusCode,
    pub message: String,
}

impl SymphonyError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        SymphonyError {
            status,
            message: message.into(),
        }
    }
}

#[derive(Serialize)]
struct Body<'a> {
    code: u16,
    message: &'a str,
}

impl From<CoreError> for SymphonyError {
    fn from(e: CoreError) -> Self {
        let status = match &e {
            CoreError::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
            CoreError::MissingPrivilege(_) | CoreError::Forbidden(_) => StatusCode::FORBIDDEN,
            CoreError::NotFound(_) => StatusCode::NOT_FOUND,
            CoreError::Conflict(_) => StatusCode::CONFLICT,
            CoreError::Invalid(_) => StatusCode::BAD_REQUEST,
            CoreError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            CoreError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        let message = match &e {
            CoreError::Unavailable(_) => {
                tracing::warn!(error = %e, "store unavailable");
                "the session store is unavailable; try again shortly".into()
            }
            CoreError::Internal(_) => {
                tracing::error!(error = %e, "internal error");
                "internal error".into()
            }
            _ => e.to_string(),
        };
        SymphonyError { status, message }
    }
}

impl DialectError for SymphonyError {
    /// A body the login endpoints cannot read is a bad credential (401), never a 5xx.
    fn rejection(status: StatusCode, message: String) -> Self {
        SymphonyError::new(status, message)
    }
}

impl IntoResponse for SymphonyError {
    fn into_response(self) -> Response {
        (
            self.status,
            Json(Body {
                code: self.status.as_u16(),
                message: &self.message,
            }),
        )
            .into_response()
    }
}

pub type SyResult<T> = Result<T, SymphonyError>;

pub async fn not_found(uri: axum::extract::OriginalUri) -> SymphonyError {
    SymphonyError::new(
        StatusCode::NOT_FOUND,
        format!("no such endpoint: {}", uri.0.path()),
    )
}

pub async fn method_not_allowed(
    method: axum::http::Method,
    uri: axum::extract::OriginalUri,
) -> SymphonyError {
    SymphonyError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        format!("{method} is not allowed on {}", uri.0.path()),
    )
}
