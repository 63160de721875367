//! Login, who-am-i, logout, and the caller's own password and sessions.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use serde::Deserialize;
use sessiond_api as api;
use sessiond_core::model::{console_type, AuthMethod};
use sessiond_core::LoginContext;

use super::{Native, NativeResult};
use crate::dialect::Dialect as _;
use crate::extract::{ApiJson, Caller, ClientInfo};
use crate::state::AppState;
use crate::views;

#[utoipa::path(
    post,
    path = "/api/v1/login",
    tag = "session",
    summary = "Log in with a user name and password; opens a session",
    request_body = api::LoginRequest,
    responses((status = 200, body = api::LoginResponse), super::openapi::Errors),
)]
pub async fn login(
    State(s): State<AppState>,
    client: ClientInfo,
    ApiJson(req, _): ApiJson<api::LoginRequest, Native>,
) -> NativeResult<Json<api::LoginResponse>> {
    let from_cli = client
        .user_agent
        .as_deref()
        .is_some_and(|ua| ua.starts_with(api::CLI_USER_AGENT_PREFIX));
    let ctx = LoginContext {
        via: super::Native::NAME,
        client_name: client.address,
        client_type: req
            .client_type
            .clone()
            .or(client.user_agent)
            .unwrap_or_else(|| "API".into()),
        console_type: if from_cli {
            console_type::COMMAND_LINE
        } else {
            console_type::WEB_CONSOLE
        },
        transport: Some("HTTP".into()),
        auth_method: AuthMethod::Password,
    };
    let out = s.core.login(&req.username, &req.password, ctx).await?;
    Ok(Json(api::LoginResponse {
        token: out.token.expose().to_owned(),
        session_id: out.session.id,
        expires_at: out.session.expires_at,
    }))
}

/// Written here rather than returned: the answer borrows the caller's privilege names,
/// rendered once per privilege set, and the user, kept rendered within a budget.
#[utoipa::path(
    get,
    path = "/api/v1/session",
    tag = "session",
    summary = "Who is behind this token: the user, the session and the privileges",
    responses((status = 200, body = api::WhoAmI), super::openapi::Errors),
    security(("bearer" = [])),
)]
pub async fn whoami(State(s): State<AppState>, Caller(p, ..): Caller<Native>) -> Response {
    let now = s.core.now();
    let grants = p.grants();
    // The user part is the same on every call until the user changes: kept rendered for
    // the users who call, within a memory budget (`Grants::user_json`).
    // (Writing a user cannot fail; `null` would be the default.)
    let user =
        grants.user_json(|u| serde_json::value::to_raw_value(&views::user(u)).unwrap_or_default());
    // The answer is 1 to 5 KB (the privilege names): written into one buffer.
    crate::sized_json::json(
        &api::WhoAmI {
            user: &*user,
            session: p.session().map(|sess| {
                views::with_pam_name(
                    views::cached_session(sess, p.last_active(), &p.user.name, now),
                    &s.cfg.pam.domain,
                )
            }),
            access_token_id: p.access_token_id().map(str::to_owned),
            privileges: grants.privilege_names_json(),
        },
        8192,
    )
}

#[utoipa::path(
    delete,
    path = "/api/v1/session",
    tag = "session",
    summary = "End the caller's own session",
    responses((status = 204, description = "Done"), super::openapi::Errors),
    security(("bearer" = [])),
)]
pub async fn logout(
    State(s): State<AppState>,
    Caller(p, ..): Caller<Native>,
) -> NativeResult<StatusCode> {
    s.core.logout(&p).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    delete,
    path = "/api/v1/session/others",
    tag = "session",
    summary = "End every other session of the caller",
    responses((status = 200, body = api::RevokeOthersResponse), super::openapi::Errors),
    security(("bearer" = [])),
)]
pub async fn revoke_others(
    State(s): State<AppState>,
    Caller(p, ..): Caller<Native>,
) -> NativeResult<Json<api::RevokeOthersResponse>> {
    let revoked = s.core.revoke_other_sessions(&p).await?;
    Ok(Json(api::RevokeOthersResponse { revoked }))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    old_password: String,
    new_password: String,
}

#[utoipa::path(
    post,
    path = "/api/v1/session/password",
    tag = "session",
    summary = "Change the caller's own password",
    request_body = PasswordChange,
    responses((status = 204, description = "Done"), super::openapi::Errors),
    security(("bearer" = [])),
)]
pub async fn change_password(
    State(s): State<AppState>,
    Caller(p, ..): Caller<Native>,
    ApiJson(req, _): ApiJson<PasswordChange, Native>,
) -> NativeResult<StatusCode> {
    s.core
        .change_own_password(&p, &req.old_password, &req.new_password)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
