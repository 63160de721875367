//! `GET /api/session/sessioninfo[?v=1]`.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::Engine as _;
use serde_json::json;
use sessiond_core::model::{console_type, AuthMethod, User};
use sessiond_core::{AuthFailure, CoreError, LoginContext, Principal, Privilege};

use super::error::PamError;
use super::COOKIE;
use crate::app::AppState;
use crate::extract::ClientInfo;
use crate::negotiate::NegotiateError;

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
        Some(other) => Err(PamError::new(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            format!("API version {other:?} is not supported; use v=1 or leave it out."),
        )),
    }
}

fn cookie_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == COOKIE)
        .map(|(_, v)| v.to_owned())
}

fn authorization(headers: &HeaderMap) -> Option<(String, String)> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, rest) = v.split_once(' ')?;
    Some((scheme.to_ascii_lowercase(), rest.trim().to_owned()))
}

/// The challenges a 401 offers.
fn challenges(s: &AppState) -> Vec<String> {
    let mut c = vec![];
    if s.negotiate.is_some() {
        c.push("Negotiate".to_owned());
    }
    if s.cfg.pam.basic {
        c.push("Basic realm=\"sessiond\", charset=\"UTF-8\"".to_owned());
    }
    c.push("Bearer realm=\"sessiond\"".to_owned());
    c
}

/// How the caller proved who they are, and what the answer must carry for it.
struct Authenticated {
    principal: Principal,
    /// A session opened now (Negotiate, Basic): its token goes in the cookie.
    new_token: Option<String>,
    /// The Negotiate mutual-authentication token.
    negotiate_reply: Option<Vec<u8>>,
}

fn context(client: &ClientInfo, method: AuthMethod) -> LoginContext {
    LoginContext {
        client_name: client.address.clone(),
        client_type: client
            .user_agent
            .clone()
            .unwrap_or_else(|| "PAM REST client".into()),
        console_type: console_type::WEB_CONSOLE,
        transport: Some("HTTPS".into()),
        auth_method: method,
    }
}

/// `alice@REALM` → the configured user name, else `alice`.
fn user_name_for(s: &AppState, principal: &str) -> String {
    if let Some((_, user)) = s.cfg.pam.principal_map.iter().find(|(p, _)| p == principal) {
        return user.clone();
    }
    principal.split('@').next().unwrap_or(principal).to_owned()
}

async fn negotiate(
    s: &AppState,
    client: &ClientInfo,
    token: &str,
) -> Result<Authenticated, PamError> {
    let Some(acceptor) = s.negotiate.clone() else {
        return Err(PamError::unauthorized(
            "Negotiate is not configured on this server.",
            challenges(s),
        ));
    };
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(token)
        .map_err(|_| PamError::unauthorized("The Negotiate token is not base64.", challenges(s)))?;
    let accepted = tokio::task::spawn_blocking(move || acceptor.accept(&bytes))
        .await
        .map_err(|e| PamError::from(CoreError::Internal(format!("negotiate task: {e}"))))?;
    let accepted = match accepted {
        Ok(a) => a,
        Err(NegotiateError::Rejected(why)) | Err(NegotiateError::Other(why)) => {
            tracing::info!(client = %client.address, reason = %why, "Negotiate refused");
            return Err(PamError::unauthorized(
                format!("Kerberos authentication failed: {why}"),
                challenges(s),
            ));
        }
        Err(e) => return Err(PamError::unauthorized(e.to_string(), challenges(s))),
    };
    let name = user_name_for(s, &accepted.principal);
    let user: User = match s.core.find_user_by_name(&name).await? {
        Some(u) => u,
        None => {
            tracing::info!(principal = %accepted.principal, "Kerberos principal maps to no user");
            return Err(PamError::unauthorized(
                format!("The principal {} is not a user here.", accepted.principal),
                challenges(s),
            ));
        }
    };
    if !user.enabled {
        return Err(PamError::new(
            StatusCode::FORBIDDEN,
            "Forbidden",
            "The account is disabled.",
        ));
    }
    let out = s
        .core
        .open_session(Arc::new(user), context(client, AuthMethod::Kerberos))
        .await?;
    let token = out.token.expose().to_owned();
    Ok(Authenticated {
        principal: s.core.authenticate(&token).await?,
        new_token: Some(token),
        negotiate_reply: accepted.reply,
    })
}

async fn basic(s: &AppState, client: &ClientInfo, creds: &str) -> Result<Authenticated, PamError> {
    if !s.cfg.pam.basic {
        return Err(PamError::unauthorized(
            "Basic authentication is not enabled.",
            challenges(s),
        ));
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(creds)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(|| {
            PamError::unauthorized("The Basic credentials are malformed.", challenges(s))
        })?;
    let (user, password) = decoded.split_once(':').ok_or_else(|| {
        PamError::unauthorized("The Basic credentials are malformed.", challenges(s))
    })?;
    let user = user.rsplit('\\').next().unwrap_or(user); // DOMAIN\name is accepted
    let out = match s
        .core
        .login(user, password, context(client, AuthMethod::Password))
        .await
    {
        Ok(o) => o,
        Err(CoreError::Unauthenticated(f)) => {
            return Err(PamError::unauthorized(f.to_string(), challenges(s)))
        }
        Err(e) => return Err(e.into()),
    };
    let token = out.token.expose().to_owned();
    Ok(Authenticated {
        principal: s.core.authenticate(&token).await?,
        new_token: Some(token),
        negotiate_reply: None,
    })
}

async fn authenticate(
    s: &AppState,
    client: &ClientInfo,
    headers: &HeaderMap,
) -> Result<Authenticated, PamError> {
    let reuse = |principal| Authenticated {
        principal,
        new_token: None,
        negotiate_reply: None,
    };
    match authorization(headers) {
        Some((scheme, token)) if scheme == "bearer" => match s.core.authenticate(&token).await {
            Ok(p) => return Ok(reuse(p)),
            Err(CoreError::Unauthenticated(f)) => {
                return Err(PamError::unauthorized(f.to_string(), challenges(s)))
            }
            Err(e) => return Err(e.into()),
        },
        Some((scheme, token)) if scheme == "negotiate" => {
            return negotiate(s, client, &token).await
        }
        Some((scheme, creds)) if scheme == "basic" => return basic(s, client, &creds).await,
        Some(_) => {
            return Err(PamError::unauthorized(
                "Unsupported authorization scheme.",
                challenges(s),
            ));
        }
        None => {}
    }
    if let Some(token) = cookie_token(headers) {
        match s.core.authenticate(&token).await {
            Ok(p) => return Ok(reuse(p)),
            Err(CoreError::Unauthenticated(_)) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Err(PamError::unauthorized(
        AuthFailure::MissingCredentials.to_string(),
        challenges(s),
    ))
}

pub async fn session_info(
    State(s): State<AppState>,
    client: ClientInfo,
    req: Request,
) -> Result<Response, PamError> {
    let (parts, body) = req.into_parts();
    // The whole request must arrive within the read timeout.
    match tokio::time::timeout(s.cfg.pam.read_timeout, axum::body::to_bytes(body, MAX_BODY)).await {
        Err(_) => {
            return Err(PamError::new(
                StatusCode::REQUEST_TIMEOUT,
                "RequestTimeout",
                "The request did not arrive in time.",
            ))
        }
        Ok(Err(_)) => {
            return Err(PamError::new(
                StatusCode::BAD_REQUEST,
                "BadRequest",
                "The request body could not be read.",
            ))
        }
        Ok(Ok(_)) => {}
    }
    check_version(parts.uri.query())?;
    let auth = authenticate(&s, &client, &parts.headers).await?;
    let p = &auth.principal;
    if !p.user.enabled {
        return Err(PamError::new(
            StatusCode::FORBIDDEN,
            "Forbidden",
            "The account is disabled.",
        ));
    }
    s.core
        .require(p, Privilege::PAM_SESSION_READ)
        .await
        .map_err(|_| {
            PamError::new(
                StatusCode::FORBIDDEN,
                "Forbidden",
                "Missing privilege PRIVILEGE_PAM_SESSION_READ.",
            )
        })?;
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
    if let Some(token) = &auth.new_token {
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
    if let Some(reply) = &auth.negotiate_reply {
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
