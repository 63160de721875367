//! Pubkey logins: bots (`/login`, `/relay`), apps, and OBO sessions for users.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use sessiond_core::model::{console_type, AuthMethod};
use sessiond_core::service::UserKey;
use sessiond_core::{AuthFailure, CoreError, LoginContext};

use super::error::{SyResult, SymphonyError};
use super::session_token;
use crate::app::AppState;
use crate::extract::ClientInfo;

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

fn context(client: ClientInfo) -> LoginContext {
    LoginContext {
        client_name: client.address,
        client_type: client.user_agent.unwrap_or_else(|| "Symphony API".into()),
        console_type: console_type::WEB_CONSOLE,
        transport: Some("HTTPS".into()),
        auth_method: AuthMethod::RsaKey,
    }
}

/// A bot's session: `POST /login/pubkey/authenticate`.
pub async fn bot(
    State(s): State<AppState>,
    client: ClientInfo,
    body: Bytes,
) -> SyResult<Json<TokenResponse>> {
    let out = s
        .core
        .login_with_jwt(&jwt_of(&body)?, context(client))
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
    body: Bytes,
) -> SyResult<Json<TokenResponse>> {
    s.core.check_jwt(&jwt_of(&body)?, &context(client)).await?;
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
    body: Bytes,
) -> SyResult<Json<TokenResponse>> {
    let (_, token) = s.core.app_login(&jwt_of(&body)?, &client.address).await?;
    Ok(Json(TokenResponse {
        token: token.expose().to_owned(),
        name: "sessionToken",
    }))
}

/// The app session token of an OBO user call (`sessionToken` header, no body).
pub struct AppToken(String);

impl axum::extract::FromRequestParts<AppState> for AppToken {
    type Rejection = SymphonyError;

    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> Result<Self, Self::Rejection> {
        session_token(parts)?
            .map(|t| AppToken(t.to_owned()))
            .ok_or_else(|| {
                SymphonyError::new(StatusCode::UNAUTHORIZED, "no sessionToken was given")
            })
    }
}

async fn obo(
    s: &AppState,
    app: AppToken,
    client: ClientInfo,
    target: UserKey,
) -> SyResult<Json<TokenResponse>> {
    let mut ctx = context(client);
    ctx.auth_method = AuthMethod::OnBehalfOf;
    let out = s.core.obo_login(&app.0, &target, ctx).await?;
    Ok(Json(TokenResponse {
        token: out.token.expose().to_owned(),
        name: "sessionToken",
    }))
}

/// `POST /login/pubkey/app/user/{uid}/authenticate`.
pub async fn obo_by_id(
    State(s): State<AppState>,
    app: AppToken,
    client: ClientInfo,
    Path(uid): Path<String>,
) -> SyResult<Json<TokenResponse>> {
    let id = uid.parse().map_err(|_| {
        SymphonyError::new(StatusCode::BAD_REQUEST, format!("{uid:?} is not a user id"))
    })?;
    obo(&s, app, client, UserKey::Id(id)).await
}

/// `POST /login/pubkey/app/username/{username}/authenticate` (the path segment is decoded).
pub async fn obo_by_name(
    State(s): State<AppState>,
    app: AppToken,
    client: ClientInfo,
    Path(username): Path<String>,
) -> SyResult<Json<TokenResponse>> {
    obo(&s, app, client, UserKey::Name(username)).await
}
