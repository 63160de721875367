//! `Login`, `Logout`, `WhoAmI`, `RenewLoginToken`.
//!
//! A refused Login answers **200** with `errList`: `cvpysdk` reads the reason only from a
//! 2xx answer. That is the one exception to "401 means who are you?" in this dialect.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use sessiond_core::model::AuthMethod;
use sessiond_core::{AuthFailure, CoreError};

use super::error::text;
use super::wire::{respond, Format};
use super::{strip_scheme, Commvault, CommvaultError, CvResult};
use crate::extract::{ApiBody, ApiJson, Caller, ClientInfo, Presented};
use crate::state::AppState;

#[derive(Deserialize)]
pub struct LoginRequest {
    username: String,
    /// Base64 of the UTF-8 password, as the SDK sends it.
    password: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct LoginOk {
    user_name: String,
    token: String,
    alias_name: String,
    #[serde(rename = "userGUID")]
    user_guid: String,
    login_attempts: u32,
    remaining_lock_time: i64,
    is_account_locked: bool,
    force_password_change: bool,
    provider_type: i32,
    ccn: i32,
    capability: i64,
    smtp_address: String,
    err_list: [(); 0],
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ErrItem {
    err_log_message: String,
    error_code: i32,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct LoginRefused {
    err_list: Vec<ErrItem>,
    is_account_locked: bool,
    remaining_lock_time: i64,
}

/// A stable GUID-shaped identifier for a user.
pub fn user_guid(id: i64) -> String {
    format!("5e55100d-0000-4000-8000-{id:012x}")
}

/// Error codes of refused logins: 1116 bad credentials, 1117 locked. Never 5 with "Access
/// denied", which the SDK takes for a certificate problem.
fn refused(message: String, locked_secs: Option<i64>) -> Response {
    Json(LoginRefused {
        err_list: vec![ErrItem {
            err_log_message: message,
            error_code: if locked_secs.is_some() { 1117 } else { 1116 },
        }],
        is_account_locked: locked_secs.is_some(),
        remaining_lock_time: locked_secs.unwrap_or(0),
    })
    .into_response()
}

pub async fn login(
    State(s): State<AppState>,
    client: ClientInfo,
    ApiJson(req, _): ApiJson<LoginRequest, Commvault>,
) -> CvResult<Response> {
    let password = base64::engine::general_purpose::STANDARD
        .decode(req.password.trim())
        .ok()
        .and_then(|b| String::from_utf8(b).ok());
    let Some(password) = password else {
        return Ok(refused("Invalid username or password".into(), None));
    };
    let ctx = client.login_context::<Commvault>(AuthMethod::Password);
    match s.core.login(&req.username, &password, ctx).await {
        Ok(out) => Ok(Json(LoginOk {
            user_name: out.user().name.clone(),
            token: format!("QSDK {}", out.token.expose()),
            alias_name: out.user().id.to_string(),
            user_guid: user_guid(out.user().id),
            login_attempts: 0,
            remaining_lock_time: 0,
            is_account_locked: false,
            force_password_change: false,
            provider_type: 1,
            ccn: 0,
            capability: 0,
            smtp_address: out.user().profile.email.clone().unwrap_or_default(),
            err_list: [],
        })
        .into_response()),
        Err(CoreError::Unauthenticated(AuthFailure::Throttled { retry_after_secs })) => {
            Ok(refused(
                format!("Too many failed logins; try again in {retry_after_secs} second(s)"),
                None,
            ))
        }
        Err(CoreError::Unauthenticated(AuthFailure::AccountLocked { remaining_secs })) => Ok(
            refused("User account is locked".into(), Some(remaining_secs)),
        ),
        Err(CoreError::Unauthenticated(_)) => {
            Ok(refused("Invalid username or password".into(), None))
        }
        Err(CoreError::Forbidden(m)) => Ok(refused(m, None)),
        Err(e) => Err(e.into()),
    }
}

/// Ends the caller's session; it stays in the history with its `logoutTime`.
pub async fn logout(
    State(s): State<AppState>,
    Caller(p, ..): Caller<Commvault>,
) -> CvResult<Response> {
    s.core.logout(&p).await?;
    Ok(text("User logged out"))
}

#[derive(Serialize)]
struct WhoAmIJson<'a> {
    user: UserRef<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct UserRef<'a> {
    user_name: &'a str,
    user_id: i64,
}

#[derive(Serialize)]
#[serde(rename = "CvEntities_ProcessingInstructionInfo")]
struct WhoAmIXml<'a> {
    user: UserRefXml<'a>,
}

#[derive(Serialize)]
struct UserRefXml<'a> {
    #[serde(rename = "@userName")]
    user_name: &'a str,
    #[serde(rename = "@userId")]
    user_id: i64,
}

pub async fn whoami(Caller(p, ..): Caller<Commvault>, format: Format) -> Response {
    respond(
        format,
        &WhoAmIJson {
            user: UserRef {
                user_name: &p.user.name,
                user_id: p.user.id,
            },
        },
        &WhoAmIXml {
            user: UserRefXml {
                user_name: &p.user.name,
                user_id: p.user.id,
            },
        },
    )
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RenewRequest {
    #[serde(default)]
    session_id: Option<String>,
}

#[derive(Serialize)]
struct Renewed {
    token: String,
}

#[derive(Serialize)]
struct RenewRefused {
    error: ErrItem,
}

/// Gives a live session a new token and retires the old one. The token to renew is the
/// body's `sessionId` (the full Authtoken value), else the `Authtoken` header. An ended
/// session answers 200 with `error`, which the SDK reports as "log in again".
pub async fn renew(
    State(s): State<AppState>,
    Presented(header_token, _): Presented<Commvault>,
    ApiBody(body, _): ApiBody<Commvault>,
) -> CvResult<Response> {
    // An empty body renews the Authtoken header's token; a body must be the request.
    let asked = if body.iter().all(u8::is_ascii_whitespace) {
        None
    } else {
        serde_json::from_slice::<RenewRequest>(&body)
            .map_err(|e| CommvaultError::bad_request(format!("invalid RenewLoginToken body: {e}")))?
            .session_id
    };
    let token = asked
        .or(header_token)
        .ok_or_else(|| CommvaultError::unauthorized("no Authtoken to renew"))?;
    let principal = match s.core.authenticate(strip_scheme(&token)).await {
        Ok(p) => p,
        Err(CoreError::Unauthenticated(_)) => {
            return Ok(Json(RenewRefused {
                error: ErrItem {
                    err_log_message: "Session has ended; log in again".into(),
                    error_code: 5,
                },
            })
            .into_response())
        }
        Err(e) => return Err(e.into()),
    };
    let new = s.core.renew_session_token(&principal).await?;
    Ok(Json(Renewed {
        token: format!("QSDK {}", new.expose()),
    })
    .into_response())
}
