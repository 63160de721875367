//! `GET /api/session/sessioninfo[?v=1]`.

use axum::extract::{FromRequestParts, Request, State};
use axum::http::{header, HeaderValue};
use axum::response::Response;
use base64::Engine as _;
use serde::Serialize;
use sessiond_core::Privilege;

use super::{Pam, PamError, COOKIE};
use crate::extract::{read_body, Caller};
use crate::sized_json::Concat;
use crate::state::AppState;

/// A GET may carry a body; it is read (so that a slow one is answered), and bounded.
const MAX_BODY: usize = 64 * 1024;

/// The versions this API answers: absent or `1` (the current one).
pub(crate) fn check_version(query: Option<&str>) -> Result<(), PamError> {
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

/// Where `odata.metadata` points: the configured public URL; else the URL the client used
/// when its host is an accepted one; else this server's own name. A caller never chooses it.
fn metadata_base(s: &AppState, headers: &axum::http::HeaderMap) -> String {
    let pam = &s.cfg.pam;
    if let Some(u) = &pam.public_url {
        return u.trim_end_matches('/').to_owned();
    }
    let scheme = if pam.secure_cookie { "https" } else { "http" };
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            let name = host_name(h);
            pam.hosts.iter().any(|a| a.eq_ignore_ascii_case(name))
        })
        .unwrap_or(s.core.server_name());
    format!("{scheme}://{host}")
}

/// The host name of a `Host` value, without its port (`[::1]:8000` → `[::1]`).
pub(crate) fn host_name(host: &str) -> &str {
    if host.starts_with('[') {
        return host.find(']').map(|i| &host[..=i]).unwrap_or(host);
    }
    host.split(':').next().unwrap_or(host)
}

/// The whole request is read before anyone is authenticated: no session is opened for a
/// request that cannot be answered.
/// The answer, fields in the order they always had.
#[derive(Serialize)]
struct SessionInfo<'a> {
    #[serde(rename = "odata.metadata")]
    metadata: Concat<'a, 2>,
    value: [PamUser<'a>; 1],
}

/// The user as PAM names it, `DOMAIN\\name`.
#[derive(Serialize)]
struct PamUser<'a> {
    #[serde(rename = "Username")]
    username: Concat<'a, 3>,
}

pub async fn session_info(State(s): State<AppState>, req: Request) -> Result<Response, PamError> {
    let (mut parts, body) = req.into_parts();
    read_body::<Pam>(body, MAX_BODY, &s).await?;
    check_version(parts.uri.query())?;
    let Caller(p, issued, _) = Caller::<Pam>::from_request_parts(&mut parts, &s).await?;
    s.core.require(&p, Privilege::PAM_SESSION_READ).await?;
    let base = metadata_base(&s, &parts.headers);
    let mut resp = crate::sized_json::json(
        &SessionInfo {
            metadata: Concat([&base, "/api/pamresources/%24metadata#sessioninfo"]),
            value: [PamUser {
                username: Concat([&s.cfg.pam.domain, "\\", &p.user.name]),
            }],
        },
        256,
    );
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

#[cfg(test)]
mod tests {
    use super::host_name;

    #[test]
    fn host_names_lose_their_port() {
        assert_eq!(host_name("sessiond.example:8443"), "sessiond.example");
        assert_eq!(host_name("sessiond.example"), "sessiond.example");
        assert_eq!(host_name("[::1]:8000"), "[::1]");
        assert_eq!(host_name("[::1"), "[::1");
    }
}
