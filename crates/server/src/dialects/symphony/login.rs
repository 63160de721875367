//! Pubkey logins: bots (`/login`, `/relay`), apps, and OBO sessions for users.

use axum::body::Bytes;
use axum::extract::State;
use axum::Json;
use serde::{Deserialize, Serialize};
use sessiond_core::model::AuthMethod;
use sessiond_core::service::UserKey;
use sessiond_core::{AuthFailure, CoreError, LoginContext};

use super::{SyResult, Symphony, SymphonyError};
use crate::extract::{ApiBody, ApiPath, ClientInfo, Presented};
use crate::state::AppState;

/// Symphony's `Token`. The BDK reads only `token`.
#[derive(Serialize)]
pub struct TokenResponse {
    token: String,
    name: &'static str,
}

#[derive(Deserialize)]
struct AuthRequest {
    token: String,
}

/// The JWT of `{"token": "<JWT>"}`. Any body that is not that is a refused credential
/// (401), as Symphony answers it.
fn jwt_of(body: &Bytes) -> SyResult<String> {
    serde_json::from_slice::<AuthRequest>(body)
        .map(|r| r.token)
        .map_err(|_| SymphonyError::from(CoreError::Unauthenticated(AuthFailure::BadCredentials)))
}

fn context(client: &ClientInfo) -> LoginContext {
    client.login_context::<Symphony>(AuthMethod::RsaKey)
}

/// A bot's session: `POST /login/pubkey/authenticate`.
pub async fn bot(
    State(s): State<AppState>,
    client: ClientInfo,
    ApiBody(body, _): ApiBody<Symphony>,
) -> SyResult<Json<TokenResponse>> {
    let out = s
        .core
        .login_with_jwt(&jwt_of(&body)?, context(&client))
        .await?;
    Ok(Json(TokenResponse {
        token: out.token.expose().to_owned(),
        name: "sessionToken",
    }))
}

/// `POST /relay/pubkey/authenticate`: the same JWT, answered with a key-manager token. It
/// opens no session: it is not a session token, and `/pod` refuses it.
pub async fn key_manager(
    State(s): State<AppState>,
    client: ClientInfo,
    ApiBody(body, _): ApiBody<Symphony>,
) -> SyResult<Json<TokenResponse>> {
    s.core.check_jwt(&jwt_of(&body)?, &context(&client)).await?;
    let token = sessiond_core::secret::Token::generate()?;
    Ok(Json(TokenResponse {
        token: token.expose().to_owned(),
        name: "keyManagerToken",
    }))
}

/// An app's own session: `POST /login/pubkey/app/authenticate`.
pub async fn app(
    State(s): State<AppState>,
    client: ClientInfo,
    ApiBody(body, _): ApiBody<Symphony>,
) -> SyResult<Json<TokenResponse>> {
    let (_, token) = s.core.app_login(&jwt_of(&body)?, &client.address).await?;
    Ok(Json(TokenResponse {
        token: token.expose().to_owned(),
        name: "sessionToken",
    }))
}

/// The app's session token comes in the `sessionToken` header, with no body.
async fn obo(
    s: &AppState,
    app: Presented<Symphony>,
    client: ClientInfo,
    target: UserKey,
) -> SyResult<Json<TokenResponse>> {
    let app_token = app
        .0
        .ok_or_else(|| SymphonyError::unauthorized("no sessionToken was given"))?;
    let ctx = client.login_context::<Symphony>(AuthMethod::OnBehalfOf);
    let out = s.core.obo_login(&app_token, &target, ctx).await?;
    Ok(Json(TokenResponse {
        token: out.token.expose().to_owned(),
        name: "sessionToken",
    }))
}

/// `POST /login/pubkey/app/user/{uid}/authenticate`.
pub async fn obo_by_id(
    State(s): State<AppState>,
    app: Presented<Symphony>,
    client: ClientInfo,
    ApiPath(uid, _): ApiPath<String, Symphony>,
) -> SyResult<Json<TokenResponse>> {
    let id = uid
        .parse()
        .map_err(|_| SymphonyError::bad_request(format!("{uid:?} is not a user id")))?;
    obo(&s, app, client, UserKey::Id(id)).await
}

/// `POST /login/pubkey/app/username/{username}/authenticate` (the path segment is decoded).
pub async fn obo_by_name(
    State(s): State<AppState>,
    app: Presented<Symphony>,
    client: ClientInfo,
    ApiPath(username, _): ApiPath<String, Symphony>,
) -> SyResult<Json<TokenResponse>> {
    obo(&s, app, client, UserKey::Name(username)).await
}
