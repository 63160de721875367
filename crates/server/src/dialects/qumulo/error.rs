//! Qumulo's error shape: `{"module","error_class","description","stack","user_visible"}`.
//! `qq` parses every answer under /v1 as JSON, errors included, so even the framework's own
//! rejections (404, 405, 413, 415, bad JSON) must answer in this shape.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use sessiond_core::CoreError;

use crate::extract::DialectError;

#[derive(Debug)]
pub struct QumuloError {
    pub status: StatusCode,
    pub description: String,
}

#[derive(Serialize)]
struct Body<'a> {
    module: &'static str,
    error_class: &'static str,
    description: &'a str,
    stack: [&'static str; 0],
    user_visible: bool,
}

impl QumuloError {
    pub fn new(status: StatusCode, description: impl Into<String>) -> Self {
        QumuloError {
            status,
            description: description.into(),
        }
    }

    pub fn bad_request(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, description)
    }

    pub fn not_found(description: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, description)
    }

    /// Named in the style of the classes the Qumulo SDK itself names. Never
    /// `auth_sso_required_error`, which makes `qq` tell the user to use SSO.
    fn error_class(&self) -> &'static str {
        match self.status {
            StatusCode::BAD_REQUEST => "http_bad_request_error",
            StatusCode::UNAUTHORIZED => "http_unauthorized_error",
            StatusCode::FORBIDDEN => "http_forbidden_error",
            StatusCode::NOT_FOUND => "http_not_found_error",
            StatusCode::METHOD_NOT_ALLOWED => "http_method_not_allowed_error",
            StatusCode::CONFLICT => "http_conflict_error",
            StatusCode::PAYLOAD_TOO_LARGE => "http_payload_too_large_error",
            StatusCode::UNSUPPORTED_MEDIA_TYPE => "http_unsupported_media_type_error",
            StatusCode::SERVICE_UNAVAILABLE => "http_service_unavailable_error",
            _ => "http_internal_server_error",
        }
    }
}

impl From<CoreError> for QumuloError {
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
        let description = match &e {
            CoreError::MissingPrivilege(p) => format!("Missing privilege {p}"),
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
        QumuloError {
            status,
            description,
        }
    }
}

impl DialectError for QumuloError {
    fn rejection(status: StatusCode, message: String) -> Self {
        QumuloError::new(status, message)
    }
}

impl IntoResponse for QumuloError {
    fn into_response(self) -> Response {
        let body = Body {
            module: "sessiond.qumulo",
            error_class: self.error_class(),
            description: &self.description,
            stack: [],
            user_visible: true,
        };
        (self.status, Json(body)).into_response()
    }
}

pub type QResult<T> = Result<T, QumuloError>;

pub async fn not_found(uri: axum::extract::OriginalUri) -> QumuloError {
    QumuloError::not_found(format!("no such endpoint: {}", uri.0.path()))
}

pub async fn method_not_allowed(
    method: axum::http::Method,
    uri: axum::extract::OriginalUri,
) -> QumuloError {
    QumuloError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        format!("{method} is not allowed on {}", uri.0.path()),
    )
}
