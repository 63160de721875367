//! Users' RSA keys and extension apps.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use sessiond_api as api;
use sessiond_core::model::{App, UserPublicKey};
use sessiond_core::service::AppSpec;

use super::{Native, NativeError, NativeResult};
use crate::extract::{ApiJson, ApiPath, Caller};
use crate::state::AppState;

fn key_view(k: &UserPublicKey) -> api::KeyView {
    api::KeyView {
        id: k.id.clone(),
        user_id: k.user_id,
        public_key: k.public_key.clone(),
        created_at: k.created_at,
    }
}

fn app_view(a: &App) -> api::AppView {
    api::AppView {
        app_id: a.app_id.clone(),
        name: a.name.clone(),
        public_key: a.public_key.clone(),
        permissions: a.permissions.clone(),
        users: a.users.clone(),
        enabled: a.enabled,
        created_at: a.created_at,
    }
}

fn user_id(s: &str) -> NativeResult<i64> {
    s.parse()
        .map_err(|_| NativeError::bad_request(format!("{s:?} is not a user id (an integer)")))
}

#[utoipa::path(
    post,
    path = "/api/v1/users/{id}/keys",
    tag = "keys",
    summary = "Add an RSA public key for JWT logins",
    params(("id" = i64, Path, description = "User id")),
    request_body = api::KeyRequest,
    responses((status = 201, body = api::KeyView), super::openapi::Errors),
    security(("bearer" = [])),
)]
pub async fn add_key(
    State(s): State<AppState>,
    Caller(p, ..): Caller<Native>,
    ApiPath(id, _): ApiPath<String, Native>,
    ApiJson(req, _): ApiJson<api::KeyRequest, Native>,
) -> NativeResult<(StatusCode, Json<api::KeyView>)> {
    let key = s
        .core
        .add_user_key(&p, user_id(&id)?, &req.public_key)
        .await?;
    Ok((StatusCode::CREATED, Json(key_view(&key))))
}

#[utoipa::path(
    get,
    path = "/api/v1/users/{id}/keys",
    tag = "keys",
    summary = "A user's RSA public keys",
    params(("id" = i64, Path, description = "User id")),
    responses((status = 200, body = api::KeyList), super::openapi::Errors),
    security(("bearer" = [])),
)]
pub async fn list_keys(
    State(s): State<AppState>,
    Caller(p, ..): Caller<Native>,
    ApiPath(id, _): ApiPath<String, Native>,
) -> NativeResult<Json<api::KeyList>> {
    let keys = s.core.list_user_keys(&p, user_id(&id)?).await?;
    Ok(Json(api::KeyList {
        keys: keys.iter().map(key_view).collect(),
    }))
}

#[utoipa::path(
    delete,
    path = "/api/v1/users/{id}/keys/{key}",
    tag = "keys",
    summary = "Delete a key",
    params(("id" = i64, Path, description = "User id"), ("key" = String, Path, description = "Key id")),
    responses((status = 204, description = "Done"), super::openapi::Errors),
    security(("bearer" = [])),
)]
pub async fn delete_key(
    State(s): State<AppState>,
    Caller(p, ..): Caller<Native>,
    ApiPath((id, key), _): ApiPath<(String, String), Native>,
) -> NativeResult<StatusCode> {
    s.core.delete_user_key(&p, user_id(&id)?, &key).await?;
    Ok(StatusCode::NO_CONTENT)
}

fn spec(r: api::AppRequest) -> AppSpec {
    AppSpec {
        name: r.name,
        public_key: r.public_key,
        permissions: r.permissions,
        users: r.users,
        enabled: r.enabled,
    }
}

#[utoipa::path(
    post,
    path = "/api/v1/apps",
    tag = "apps",
    summary = "Register an extension app",
    request_body = api::AppRequest,
    responses((status = 201, body = api::AppView), super::openapi::Errors),
    security(("bearer" = [])),
)]
pub async fn create_app(
    State(s): State<AppState>,
    Caller(p, ..): Caller<Native>,
    ApiJson(req, _): ApiJson<api::AppRequest, Native>,
) -> NativeResult<(StatusCode, Json<api::AppView>)> {
    let app_id = req
        .app_id
        .clone()
        .ok_or_else(|| NativeError::bad_request("app_id is required"))?;
    let app = s.core.register_app(&p, &app_id, spec(req)).await?;
    Ok((StatusCode::CREATED, Json(app_view(&app))))
}

#[utoipa::path(
    get,
    path = "/api/v1/apps",
    tag = "apps",
    summary = "List extension apps",
    responses((status = 200, body = api::AppList), super::openapi::Errors),
    security(("bearer" = [])),
)]
pub async fn list_apps(
    State(s): State<AppState>,
    Caller(p, ..): Caller<Native>,
) -> NativeResult<Json<api::AppList>> {
    let apps = s.core.list_apps(&p).await?;
    Ok(Json(api::AppList {
        apps: apps.iter().map(app_view).collect(),
    }))
}

#[utoipa::path(
    get,
    path = "/api/v1/apps/{app_id}",
    tag = "apps",
    summary = "One app",
    params(("app_id" = String, Path, description = "App id")),
    responses((status = 200, body = api::AppView), super::openapi::Errors),
    security(("bearer" = [])),
)]
pub async fn get_app(
    State(s): State<AppState>,
    Caller(p, ..): Caller<Native>,
    ApiPath(app_id, _): ApiPath<String, Native>,
) -> NativeResult<Json<api::AppView>> {
    Ok(Json(app_view(&s.core.get_app(&p, &app_id).await?)))
}

#[utoipa::path(
    patch,
    path = "/api/v1/apps/{app_id}",
    tag = "apps",
    summary = "Change an app",
    params(("app_id" = String, Path, description = "App id")),
    request_body = api::AppRequest,
    responses((status = 200, body = api::AppView), super::openapi::Errors),
    security(("bearer" = [])),
)]
pub async fn modify_app(
    State(s): State<AppState>,
    Caller(p, ..): Caller<Native>,
    ApiPath(app_id, _): ApiPath<String, Native>,
    ApiJson(req, _): ApiJson<api::AppRequest, Native>,
) -> NativeResult<Json<api::AppView>> {
    if req.app_id.as_deref().is_some_and(|id| id != app_id) {
        return Err(NativeError::bad_request("app_id cannot be changed"));
    }
    Ok(Json(app_view(
        &s.core.change_app(&p, &app_id, spec(req)).await?,
    )))
}

#[utoipa::path(
    delete,
    path = "/api/v1/apps/{app_id}",
    tag = "apps",
    summary = "Delete an app",
    params(("app_id" = String, Path, description = "App id")),
    responses((status = 204, description = "Done"), super::openapi::Errors),
    security(("bearer" = [])),
)]
pub async fn delete_app(
    State(s): State<AppState>,
    Caller(p, ..): Caller<Native>,
    ApiPath(app_id, _): ApiPath<String, Native>,
) -> NativeResult<StatusCode> {
    s.core.delete_app(&p, &app_id).await?;
    Ok(StatusCode::NO_CONTENT)
}
