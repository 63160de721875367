//! Qumulo's error shape: `{"module","error_class","description","stack","user_visible"}`.
//! `qq` parses every answer under /v1 as JSON, errors included.

use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;

use crate::problem::{Kind, Problem};

#[derive(Serialize)]
struct Body<'a> {
    module: &'static str,
    error_class: &'static str,
    description: &'a str,
    stack: [&'static str; 0],
    user_visible: bool,
}

/// Named in the style of the classes the Qumulo SDK itself names. Never
/// `auth_sso_required_error`, which makes `qq` tell the user to use SSO.
fn error_class(kind: Kind) -> &'static str {
    match kind {
        Kind::BadRequest => "http_bad_request_error",
        Kind::Unauthorized => "http_unauthorized_error",
        Kind::Forbidden => "http_forbidden_error",
        Kind::NotFound => "http_not_found_error",
        Kind::MethodNotAllowed => "http_method_not_allowed_error",
        Kind::RequestTimeout => "http_request_timeout_error",
        Kind::Conflict => "http_conflict_error",
        Kind::PayloadTooLarge => "http_payload_too_large_error",
        Kind::UnsupportedMediaType => "http_unsupported_media_type_error",
        Kind::TooManyRequests => "http_too_many_requests_error",
        Kind::Unavailable => "http_service_unavailable_error",
        Kind::Internal => "http_internal_server_error",
    }
}

pub fn render(p: &Problem) -> Response {
    let privilege_message;
    let description = match p.privilege {
        Some(privilege) => {
            privilege_message = format!("Missing privilege {privilege}");
            &privilege_message
        }
        None => &p.message,
    };
    let body = Body {
        module: "sessiond.qumulo",
        error_class: error_class(p.kind),
        description,
        stack: [],
        user_visible: true,
    };
    (p.status(), Json(body)).into_response()
}
