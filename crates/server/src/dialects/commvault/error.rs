//! Commvault's error shape, in the format the request's `Accept` asks for:
//! JSON `{"errorCode","errorMessage"}` or XML `<CVGui_GenericResp errorCode=".." errorMessage=".."/>`.
//!
//! Handlers and rejections produce a JSON error carrying a `ErrorMark`; the `negotiate`
//! middleware, which knows the request's `Accept`, rewrites it as XML when asked.

use axum::extract::Request;
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use sessiond_core::CoreError;

use super::wire::Format;
use crate::extract::DialectError;

#[derive(Debug)]
pub struct CommvaultError {
    pub status: StatusCode,
    pub code: i32,
    pub message: String,
}

/// Error codes (Commvault leaves them to the server): 1 authentication, 2 bad input or not
/// found, 5 access denied, 3 the server's own trouble.
impl CommvaultError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        let code = match status {
            StatusCode::UNAUTHORIZED => 1,
            StatusCode::FORBIDDEN => 5,
            s if s.is_server_error() => 3,
            _ => 2,
        };
        CommvaultError {
            status,
            code,
            message: message.into(),
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }
}

impl From<CoreError> for CommvaultError {
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
            CoreError::MissingPrivilege(p) => format!("Access denied: missing privilege {p}"),
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
        CommvaultError::new(status, message)
    }
}

impl DialectError for CommvaultError {
    fn rejection(status: StatusCode, message: String) -> Self {
        CommvaultError::new(status, message)
    }
}

#[derive(Serialize)]
struct JsonBody<'a> {
    #[serde(rename = "errorCode")]
    code: i32,
    #[serde(rename = "errorMessage")]
    message: &'a str,
}

#[derive(Serialize)]
#[serde(rename = "CVGui_GenericResp")]
struct XmlBody<'a> {
    #[serde(rename = "@errorCode")]
    code: i32,
    #[serde(rename = "@errorMessage")]
    message: &'a str,
}

/// Marks an error response so that `negotiate` can render it as XML.
#[derive(Clone)]
struct ErrorMark {
    code: i32,
    message: String,
}

impl IntoResponse for CommvaultError {
    fn into_response(self) -> Response {
        let mut resp = (
            self.status,
            Json(JsonBody {
                code: self.code,
                message: &self.message,
            }),
        )
            .into_response();
        resp.extensions_mut().insert(ErrorMark {
            code: self.code,
            message: self.message,
        });
        resp
    }
}

/// Renders error responses as XML when the request's `Accept` asks for XML.
pub async fn negotiate(req: Request, next: Next) -> Response {
    let format = Format::of(req.headers());
    let resp = next.run(req).await;
    if format != Format::Xml {
        return resp;
    }
    let Some(mark) = resp.extensions().get::<ErrorMark>().cloned() else {
        return resp;
    };
    let status = resp.status();
    let body = XmlBody {
        code: mark.code,
        message: &mark.message,
    };
    super::wire::xml_response(status, &body)
}

pub type CvResult<T> = Result<T, CommvaultError>;

pub async fn not_found(uri: axum::extract::OriginalUri) -> CommvaultError {
    CommvaultError::new(
        StatusCode::NOT_FOUND,
        format!("no such web service: {}", uri.0.path()),
    )
}

pub async fn method_not_allowed(
    method: axum::http::Method,
    uri: axum::extract::OriginalUri,
) -> CommvaultError {
    CommvaultError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        format!("{method} is not allowed on {}", uri.0.path()),
    )
}

/// A plain-text 200, as Commvault answers Logout.
pub fn text(body: &'static str) -> Response {
    let mut resp = body.into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    resp
}
