//! PAM's OData error shape:
//! `{"odata.error":{"code":"...","message":{"lang":"en-US","value":"..."}}}`.

use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use crate::problem::{Kind, Problem};

fn code(kind: Kind) -> &'static str {
    match kind {
        Kind::BadRequest | Kind::Conflict => "BadRequest",
        Kind::Unauthorized => "Unauthorized",
        Kind::Forbidden => "Forbidden",
        Kind::NotFound => "NotFound",
        Kind::MethodNotAllowed => "MethodNotAllowed",
        Kind::RequestTimeout => "RequestTimeout",
        Kind::PayloadTooLarge => "PayloadTooLarge",
        Kind::UnsupportedMediaType => "UnsupportedMediaType",
        Kind::TooManyRequests => "TooManyRequests",
        Kind::Unavailable => "ServiceUnavailable",
        Kind::Internal => "InternalServerError",
    }
}

/// PAM's messages are sentences; its 401s get their challenges from `Pam::wrap`.
pub fn render(p: &Problem) -> Response {
    let message = match (p.kind, p.privilege) {
        (_, Some(privilege)) => format!("Missing privilege {privilege}."),
        (Kind::Unavailable, _) => "The session store is unavailable; try again shortly.".into(),
        (Kind::Internal, _) => "An internal error occurred.".into(),
        _ => p.message.clone(),
    };
    // Conflicts answer 400, as OData has no better code for them.
    let status = match p.kind {
        Kind::Conflict => Kind::BadRequest.status(),
        _ => p.status(),
    };
    let body = json!({"odata.error": {"code": code(p.kind), "message": {"lang": "en-US", "value": message}}});
    (status, Json(body)).into_response()
}
