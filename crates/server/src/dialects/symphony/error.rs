//! Symphony's error shape: `{"code": <int>, "message": "<text>"}`, `application/json`.

use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;

use sessiond_core::AuthFailure;

use crate::problem::Problem;

#[derive(Serialize)]
struct Body<'a> {
    code: u16,
    message: &'a str,
}

pub fn render(p: &Problem) -> Response {
    let status = p.status();
    let message = match p.auth {
        Some(AuthFailure::MissingCredentials) => "no sessionToken was given",
        _ => &p.message,
    };
    let body = Body {
        code: status.as_u16(),
        message,
    };
    (status, Json(body)).into_response()
}
