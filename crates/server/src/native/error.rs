//! The native API's error shape, `{"error":{"code","message"}}`, for core errors and for
//! every rejection axum would otherwise answer in plain text.

use axum::extract::OriginalUri;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use sessiond_api::{ErrorBody, ErrorDetail};
use sessiond_core::CoreError;

#[derive(Debug)]
pub struct NativeError {
    pub status: StatusCode,
    pub message: String,
}

impl NativeError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        NativeError {
            status,
            message: message.into(),
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    fn code(&self) -> &'static str {
        match self.status {
            StatusCode::BAD_REQUEST => "bad_request",
            StatusCode::UNAUTHORIZED => "unauthorized",
            StatusCode::FORBIDDEN => "forbidden",
            StatusCode::NOT_FOUND => "not_found",
            StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
            StatusCode::CONFLICT => "conflict",
            StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
            StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
            StatusCode::SERVICE_UNAVAILABLE => "unavailable",
            s if s.is_server_error() => "internal",
            _ => "error",
        }
    }
}

impl From<CoreError> for NativeError {
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
            // Details of store failures go to the log, not to the caller.
            CoreError::Unavailable(_) => {
                tracing::warn!(error = %e, "store unavailable");
                "the session store is unavailable; try again shortly".to_owned()
            }
            CoreError::Internal(_) => {
                tracing::error!(error = %e, "internal error");
                "internal error".to_owned()
            }
            _ => e.to_string(),
        };
        NativeError { status, message }
    }
}

impl IntoResponse for NativeError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code().into(),
                message: self.message.clone(),
            },
        };
        let mut resp = (self.status, Json(body)).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            resp.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"sessiond\""),
            );
        }
        resp
    }
}

pub type NativeResult<T> = Result<T, NativeError>;

pub async fn not_found(OriginalUri(uri): OriginalUri) -> NativeError {
    NativeError::new(
        StatusCode::NOT_FOUND,
        format!("no such endpoint: {}", uri.path()),
    )
}

pub async fn method_not_allowed(
    method: axum::http::Method,
    OriginalUri(uri): OriginalUri,
) -> NativeError {
    NativeError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        format!("{method} is not allowed on {}", uri.path()),
    )
}
