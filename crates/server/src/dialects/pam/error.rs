//! PAM's OData error shape:
//! `{"odata.error":{"code":"...","message":{"lang":"en-US","value":"..."}}}`.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;
use sessiond_core::CoreError;

use crate::extract::DialectError;

#[derive(Debug)]
pub struct PamError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// `WWW-Authenticate` challenges for a 401.
    pub challenges: Vec<String>,
}

impl PamError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        PamError {
            status,
            code,
            message: message.into(),
            challenges: vec![],
        }
    }

    pub fn unauthorized(message: impl Into<String>, challenges: Vec<String>) -> Self {
        PamError {
            challenges,
            ..Self::new(StatusCode::UNAUTHORIZED, "Unauthorized", message)
        }
    }
}

impl From<CoreError> for PamError {
    fn from(e: CoreError) -> Self {
        let (status, code) = match &e {
            CoreError::Unauthenticated(_) => (StatusCode::UNAUTHORIZED, "Unauthorized"),
            CoreError::MissingPrivilege(_) | CoreError::Forbidden(_) => {
                (StatusCode::FORBIDDEN, "Forbidden")
            }
            CoreError::NotFound(_) => (StatusCode::NOT_FOUND, "NotFound"),
            CoreError::Conflict(_) | CoreError::Invalid(_) => {
                (StatusCode::BAD_REQUEST, "BadRequest")
            }
            CoreError::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "ServiceUnavailable"),
            CoreError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "InternalServerError"),
        };
        let message = match &e {
            CoreError::Unavailable(_) => {
                tracing::warn!(error = %e, "store unavailable");
                "The session store is unavailable; try again shortly.".into()
            }
            CoreError::Internal(_) => {
                tracing::error!(error = %e, "internal error");
                "An internal error occurred.".into()
            }
            _ => e.to_string(),
        };
        PamError::new(status, code, message)
    }
}

impl DialectError for PamError {
    fn rejection(status: StatusCode, message: String) -> Self {
        PamError::new(status, "BadRequest", message)
    }
}

impl IntoResponse for PamError {
    fn into_response(self) -> Response {
        let body = json!({"odata.error": {"code": self.code, "message": {"lang": "en-US", "value": self.message}}});
        let mut resp = (self.status, Json(body)).into_response();
        for c in &self.challenges {
            if let Ok(v) = HeaderValue::from_str(c) {
                resp.headers_mut().append(header::WWW_AUTHENTICATE, v);
            }
        }
        resp
    }
}

pub async fn not_found(uri: axum::extract::OriginalUri) -> PamError {
    PamError::new(
        StatusCode::NOT_FOUND,
        "NotFound",
        format!("No resource at {}.", uri.0.path()),
    )
}

pub async fn method_not_allowed(
    method: axum::http::Method,
    uri: axum::extract::OriginalUri,
) -> PamError {
    PamError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "MethodNotAllowed",
        format!("{method} is not allowed on {}.", uri.0.path()),
    )
}
