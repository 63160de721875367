//! Symphony's error shape: `{"code": <int>, "message": "<text>"}`, `application/json`.

use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;

use crate::problem::Problem;

#[derive(Serialize)]
struct Body<'a> {
    code: u16,
    message: &'a str,
}

pub fn render(p: &Problem) -> Response {
    let status = p.status();
    let body = Body {
        code: status.as_u16(),
        message: &p.message,
    };
    (status, Json(body)).into_response()
}
