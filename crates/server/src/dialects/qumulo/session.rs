//! `/v1/session/*`: login, who-am-i, roles, change-password.

use axum::extract::State;
use axum::response::Response;
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use sessiond_core::model::AuthMethod;

use super::users::ApiUser;
use super::QResult;
use super::Qumulo;
use crate::extract::{ApiJson, Caller, ClientInfo};
use crate::state::AppState;

#[derive(Deserialize)]
pub struct LoginRequest {
    username: String,
    password: String,
}

#[derive(Serialize)]
pub struct LoginResponse {
    bearer_token: String,
}

/// `qq login` sends its stored token, dead or alive, along: this route reads no
/// Authorization header at all.
pub async fn login(
    State(s): State<AppState>,
    client: ClientInfo,
    ApiJson(req, _): ApiJson<LoginRequest, Qumulo>,
) -> QResult<Json<LoginResponse>> {
    let ctx = client.login_context::<Qumulo>(AuthMethod::Password);
    let out = s.core.login(&req.username, &req.password, ctx).await?;
    Ok(Json(LoginResponse {
        bearer_token: out.token.expose().to_owned(),
    }))
}

/// Seed 003's `api_user_info`: ids are decimal integers in strings (`qq` calls `int()` on
/// them); `access_token_id` only when the caller used an access token.
#[derive(Serialize)]
pub struct WhoAmI<'a> {
    #[serde(flatten)]
    user: ApiUser,
    privileges: &'a RawValue,
    #[serde(skip_serializing_if = "Option::is_none")]
    access_token_id: Option<&'a str>,
}

/// Written here rather than returned: the answer borrows the caller's privilege names,
/// rendered once per user, and only Qumulo's vocabulary (the seed's schema enumerates it).
pub async fn who_am_i(Caller(p, ..): Caller<Qumulo>) -> Response {
    // 1 to 4 KB with the privilege names: written into one buffer.
    crate::sized_json::json(
        &WhoAmI {
            user: ApiUser::from(&*p.user),
            privileges: p.grants().qumulo_privilege_names_json(),
            access_token_id: p.access_token_id(),
        },
        4096,
    )
}

/// The caller's role names; every signed-in principal may ask.
pub async fn roles(Caller(p, ..): Caller<Qumulo>) -> Json<Vec<String>> {
    Json(p.user.roles.clone())
}

#[derive(Deserialize)]
pub struct ChangePassword {
    old_password: String,
    new_password: String,
}

/// Always the caller's own password; a wrong old password is 401.
pub async fn change_password(
    State(s): State<AppState>,
    Caller(p, ..): Caller<Qumulo>,
    ApiJson(req, _): ApiJson<ChangePassword, Qumulo>,
) -> QResult<()> {
    s.core
        .change_own_password(&p, &req.old_password, &req.new_password)
        .await?;
    Ok(())
}
