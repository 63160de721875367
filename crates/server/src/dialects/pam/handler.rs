//! `GET /api/session/sessioninfo[?v=1]`.

use axum::extract::{FromRequestParts, Request, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::Engine as _;
use serde_json::json;
use sessiond_core::Privilege;

use super::{Pam, PamError, COOKIE};
use crate::extract::{read_body, Caller};
use crate::state::AppState;

/// A GET may carry a body; it is read (so that a slow one is answered), and bounded.
const MAX_BODY: usize = 64 * 1024;

/// The versions this API answers: absent or `1` (the current one).
fn check_version(query: Option<&str>) -> Result<(), PamError> {
    let v = query
        .unwrap_or("")
        .split('&')
        .filter_map(|kv| kv.split_once('=').or(Some((kv, ""))))
        .find(|(k, _)| k.eq_ignore_ascii_case("v"))
        .map(|(_, v)| v);
    match v {
        None | Some("1") => Ok(()),
        Some(other) => Err(PamError::bad_request(format!(
            "API version {other:?} is not supported; use v=1 or leave it out."
        ))),
    }
}

/// The whole request is read before anyone is authenticated: no session is opened for a
/// request that cannot be answered.
pub async fn session_info(State(s): State<AppState>, req: Request) -> Result<Response, PamError> {
    let (mut parts, body) = req.into_parts();
    read_body::<Pam>(body, MAX_BODY, &s).await?;
    check_version(parts.uri.query())?;
    let Caller(p, issued, _) = Caller::<Pam>::from_request_parts(&mut parts, &s).await?;
    s.core.require(&p, Privilege::PAM_SESSION_READ).await?;
    let base = match &s.cfg.pam.public_url {
        Some(u) => u.trim_end_matches('/').to_owned(),
        None => {
            let host = parts
                .headers
                .get(header::HOST)
                .and_then(|h| h.to_str().ok())
                .unwrap_or(s.core.server_name());
            let scheme = if s.cfg.pam.secure_cookie {
                "https"
            } else {
                "http"
            };
            format!("{scheme}://{host}")
        }
    };
    let body = json!({
        "odata.metadata": format!("{base}/api/pamresources/%24metadata#sessioninfo"),
        "value": [{"Username": format!("{}\\{}", s.cfg.pam.domain, p.user.name)}],
    });
    let mut resp = Json(body).into_response();
    if let Some(token) = issued.as_ref().map(|i| &i.token) {
        let lifetime = s
            .core
            .config()
            .session_lifetime
            .map(|d| format!("; Max-Age={}", d.whole_seconds()))
            .unwrap_or_default();
        let secure = if s.cfg.pam.secure_cookie {
            "; Secure"
        } else {
            ""
        };
        let cookie = format!(
            "{COOKIE}={token}; Path=/api/session; HttpOnly; SameSite=Strict{secure}{lifetime}"
        );
        if let Ok(v) = HeaderValue::from_str(&cookie) {
            resp.headers_mut().insert(header::SET_COOKIE, v);
        }
    }
    if let Some(reply) = issued.as_ref().and_then(|i| i.negotiate_reply.as_ref()) {
        let v = format!(
            "Negotiate {}",
            base64::engine::general_purpose::STANDARD.encode(reply)
        );
        if let Ok(v) = HeaderValue::from_str(&v) {
            resp.headers_mut().insert(header::WWW_AUTHENTICATE, v);
        }
    }
    Ok(resp)
}
