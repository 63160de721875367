//! The native API's error shape, `{"error":{"code","message"}}`, with
//! `WWW-Authenticate: Bearer` on a 401.

use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use sessiond_api::{ErrorBody, ErrorDetail};

use crate::problem::{Kind, Problem};

fn code(kind: Kind) -> &'static str {
    match kind {
        Kind::BadRequest => "bad_request",
        Kind::Unauthorized => "unauthorized",
        Kind::Forbidden => "forbidden",
        Kind::NotFound => "not_found",
        Kind::MethodNotAllowed => "method_not_allowed",
        Kind::RequestTimeout => "request_timeout",
        Kind::Conflict => "conflict",
        Kind::PayloadTooLarge => "payload_too_large",
        Kind::UnsupportedMediaType => "unsupported_media_type",
        Kind::TooManyRequests => "too_many_requests",
        Kind::Unavailable => "unavailable",
        Kind::Internal => "internal",
    }
}

pub fn render(p: &Problem) -> Response {
    let body = ErrorBody {
        error: ErrorDetail {
            code: code(p.kind).into(),
            message: p.message.clone(),
        },
    };
    let mut resp = (p.status(), Json(body)).into_response();
    if p.kind == Kind::Unauthorized {
        resp.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"sessiond\""),
        );
    }
    resp
}
