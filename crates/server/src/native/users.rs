//! Users, roles, privileges and groups.

use std::str::FromStr;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use sessiond_api as api;
use sessiond_core::model::{GroupId, UserId};
use sessiond_core::{Privilege, PrivilegeSet};

use super::convert;
use super::{Native, NativeError, NativeResult};
use crate::extract::{ApiJson, ApiPath, Caller};
use crate::problem::Kind;
use crate::state::AppState;
use crate::views;

fn user_id(s: &str) -> NativeResult<UserId> {
    s.parse()
        .map_err(|_| NativeError::bad_request(format!("{s:?} is not a user id (an integer)")))
}

fn group_id(s: &str) -> NativeResult<GroupId> {
    s.parse()
        .map_err(|_| NativeError::bad_request(format!("{s:?} is not a group id (an integer)")))
}

#[utoipa::path(
    get,
    path = "/api/v1/users",
    tag = "users",
    summary = "List users",
    responses((status = 200, body = api::UserList), super::openapi::Errors),
    security(("bearer" = [])),
)]
pub async fn list(
    State(s): State<AppState>,
    Caller(p, ..): Caller<Native>,
) -> NativeResult<Json<api::UserList>> {
    let users = s.core.list_users(&p).await?;
    Ok(Json(api::UserList {
        users: users.iter().map(views::user_owned).collect(),
    }))
}

#[utoipa::path(
    post,
    path = "/api/v1/users",
    tag = "users",
    summary = "Create a user",
    request_body = api::UserFields,
    responses((status = 201, body = api::UserView), super::openapi::Errors),
    security(("bearer" = [])),
)]
pub async fn create(
    State(s): State<AppState>,
    Caller(p, ..): Caller<Native>,
    ApiJson(f, _): ApiJson<api::UserFields, Native>,
) -> NativeResult<(StatusCode, Json<api::UserView<'static>>)> {
    let user = s.core.create_user(&p, convert::create_user(f)?).await?;
    Ok((StatusCode::CREATED, Json(views::user_owned(&user))))
}

#[utoipa::path(
    get,
    path = "/api/v1/users/{id}",
    tag = "users",
    summary = "One user",
    params(("id" = i64, Path, description = "User id")),
    responses((status = 200, body = api::UserView), super::openapi::Errors),
    security(("bearer" = [])),
)]
pub async fn show(
    State(s): State<AppState>,
    Caller(p, ..): Caller<Native>,
    ApiPath(id, _): ApiPath<String, Native>,
) -> NativeResult<Json<api::UserView<'static>>> {
    let user = s.core.get_user(&p, user_id(&id)?).await?;
    Ok(Json(views::user_owned(&user)))
}

#[utoipa::path(
    patch,
    path = "/api/v1/users/{id}",
    tag = "users",
    summary = "Change a user",
    params(("id" = i64, Path, description = "User id")),
    request_body = api::UserFields,
    responses((status = 200, body = api::UserView), super::openapi::Errors),
    security(("bearer" = [])),
)]
pub async fn modify(
    State(s): State<AppState>,
    Caller(p, ..): Caller<Native>,
    ApiPath(id, _): ApiPath<String, Native>,
    ApiJson(f, _): ApiJson<api::UserFields, Native>,
) -> NativeResult<Json<api::UserView<'static>>> {
    let user = s
        .core
        .update_user(&p, user_id(&id)?, convert::user_changes(f)?)
        .await?;
    Ok(Json(views::user_owned(&user)))
}

#[utoipa::path(
    delete,
    path = "/api/v1/users/{id}",
    tag = "users",
    summary = "Delete a user",
    params(("id" = i64, Path, description = "User id")),
    responses((status = 204, description = "Done"), super::openapi::Errors),
    security(("bearer" = [])),
)]
pub async fn remove(
    State(s): State<AppState>,
    Caller(p, ..): Caller<Native>,
    ApiPath(id, _): ApiPath<String, Native>,
) -> NativeResult<StatusCode> {
    s.core.delete_user(&p, user_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    put,
    path = "/api/v1/users/{id}/roles",
    tag = "users",
    summary = "Replace a user's roles",
    params(("id" = i64, Path, description = "User id")),
    request_body = Vec<String>,
    responses((status = 200, body = api::UserView), super::openapi::Errors),
    security(("bearer" = [])),
)]
pub async fn set_roles(
    State(s): State<AppState>,
    Caller(p, ..): Caller<Native>,
    ApiPath(id, _): ApiPath<String, Native>,
    ApiJson(roles, _): ApiJson<Vec<String>, Native>,
) -> NativeResult<Json<api::UserView<'static>>> {
    let user = s.core.set_user_roles(&p, user_id(&id)?, roles).await?;
    Ok(Json(views::user_owned(&user)))
}

#[utoipa::path(
    get,
    path = "/api/v1/users/{id}/groups",
    tag = "users",
    summary = "The groups a user is in",
    params(("id" = i64, Path, description = "User id")),
    responses((status = 200, body = api::GroupList), super::openapi::Errors),
    security(("bearer" = [])),
)]
pub async fn groups_of(
    State(s): State<AppState>,
    Caller(p, ..): Caller<Native>,
    ApiPath(id, _): ApiPath<String, Native>,
) -> NativeResult<Json<api::GroupList>> {
    let groups = s.core.user_groups(&p, user_id(&id)?).await?;
    Ok(Json(api::GroupList {
        groups: groups.iter().map(|g| views::group(g, None)).collect(),
    }))
}

#[utoipa::path(
    get,
    path = "/api/v1/roles",
    tag = "roles",
    summary = "List roles",
    responses((status = 200, body = api::RoleList), super::openapi::Errors),
    security(("bearer" = [])),
)]
pub async fn list_roles(
    State(s): State<AppState>,
    Caller(p, ..): Caller<Native>,
) -> NativeResult<Json<api::RoleList>> {
    let roles = s.core.list_roles(&p).await?;
    Ok(Json(api::RoleList {
        roles: roles.iter().map(views::role).collect(),
    }))
}

#[utoipa::path(
    get,
    path = "/api/v1/roles/{name}",
    tag = "roles",
    summary = "One role",
    params(("name" = String, Path, description = "Role name")),
    responses((status = 200, body = api::RoleView), super::openapi::Errors),
    security(("bearer" = [])),
)]
pub async fn show_role(
    State(s): State<AppState>,
    Caller(p, ..): Caller<Native>,
    ApiPath(name, _): ApiPath<String, Native>,
) -> NativeResult<Json<api::RoleView>> {
    Ok(Json(views::role(&s.core.get_role(&p, &name).await?)))
}

fn privileges(names: &[String]) -> NativeResult<PrivilegeSet> {
    names
        .iter()
        .map(|n| Privilege::from_str(n).map_err(|e| NativeError::bad_request(e.to_string())))
        .collect()
}

#[utoipa::path(
    post,
    path = "/api/v1/roles",
    tag = "roles",
    summary = "Create a role",
    request_body = api::RoleRequest,
    responses((status = 201, body = api::RoleView), super::openapi::Errors),
    security(("bearer" = [])),
)]
pub async fn create_role(
    State(s): State<AppState>,
    Caller(p, ..): Caller<Native>,
    ApiJson(r, _): ApiJson<api::RoleRequest, Native>,
) -> NativeResult<(StatusCode, Json<api::RoleView>)> {
    let privs = privileges(&r.privileges)?;
    if s.core.get_role(&p, &r.name).await.is_ok() {
        return Err(NativeError::new(
            Kind::Conflict,
            format!(
                "a role named {:?} exists; use PUT /api/v1/roles/{{name}} to change it",
                r.name
            ),
        ));
    }
    let role = s.core.put_role(&p, &r.name, &r.description, privs).await?;
    Ok((StatusCode::CREATED, Json(views::role(&role))))
}

#[utoipa::path(
    put,
    path = "/api/v1/roles/{name}",
    tag = "roles",
    summary = "Replace a role",
    params(("name" = String, Path, description = "Role name")),
    request_body = api::RoleRequest,
    responses((status = 200, body = api::RoleView), super::openapi::Errors),
    security(("bearer" = [])),
)]
pub async fn replace_role(
    State(s): State<AppState>,
    Caller(p, ..): Caller<Native>,
    ApiPath(name, _): ApiPath<String, Native>,
    ApiJson(r, _): ApiJson<api::RoleRequest, Native>,
) -> NativeResult<Json<api::RoleView>> {
    if r.name != name {
        return Err(NativeError::bad_request(
            "the body's name must match the path",
        ));
    }
    let privs = privileges(&r.privileges)?;
    let role = s.core.put_role(&p, &name, &r.description, privs).await?;
    Ok(Json(views::role(&role)))
}

#[utoipa::path(
    put,
    path = "/api/v1/roles/{name}/policy",
    tag = "roles",
    summary = "Set a role's session rules (built-in roles too)",
    params(("name" = String, Path, description = "Role name")),
    request_body = api::RolePolicy,
    responses((status = 200, body = api::RoleView), super::openapi::Errors),
    security(("bearer" = [])),
)]
pub async fn set_role_policy(
    State(s): State<AppState>,
    Caller(p, ..): Caller<Native>,
    ApiPath(name, _): ApiPath<String, Native>,
    ApiJson(body, _): ApiJson<serde_json::Value, Native>,
) -> NativeResult<Json<api::RoleView>> {
    // An object only: serde would also take the fields, all optional, as an array.
    if !body.is_object() {
        return Err(NativeError::bad_request("the policy must be a JSON object"));
    }
    let r: api::RolePolicy = serde_json::from_value(body)
        .map_err(|e| NativeError::bad_request(format!("invalid JSON body: {e}")))?;
    let seconds = |what: &str, v: Option<i64>| -> NativeResult<Option<time::Duration>> {
        match v {
            Some(n) if !(1..=31_622_400).contains(&n) => Err(NativeError::bad_request(format!(
                "{what} must be between 1 and 31622400 seconds (366 days)"
            ))),
            v => Ok(v.map(time::Duration::seconds)),
        }
    };
    let policy = sessiond_core::model::RolePolicy {
        idle_timeout: seconds("idle_timeout_seconds", r.idle_timeout_seconds)?,
        lifetime: seconds("session_lifetime_seconds", r.session_lifetime_seconds)?,
        max_sessions: r.max_sessions,
    };
    let role = s.core.set_role_policy(&p, &name, policy).await?;
    Ok(Json(views::role(&role)))
}

#[utoipa::path(
    delete,
    path = "/api/v1/roles/{name}",
    tag = "roles",
    summary = "Delete a role",
    params(("name" = String, Path, description = "Role name")),
    responses((status = 204, description = "Done"), super::openapi::Errors),
    security(("bearer" = [])),
)]
pub async fn delete_role(
    State(s): State<AppState>,
    Caller(p, ..): Caller<Native>,
    ApiPath(name, _): ApiPath<String, Native>,
) -> NativeResult<StatusCode> {
    s.core.delete_role(&p, &name).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The privilege vocabulary; any signed-in caller may read it.
#[utoipa::path(
    get,
    path = "/api/v1/privileges",
    tag = "roles",
    summary = "Every privilege",
    responses((status = 200, body = Vec<api::PrivilegeView>), super::openapi::Errors),
    security(("bearer" = [])),
)]
pub async fn list_privileges(_: Caller<Native>) -> Json<Vec<api::PrivilegeView>> {
    Json(
        Privilege::all()
            .map(|p| api::PrivilegeView {
                name: p.as_str().into(),
                description: p.description().into(),
            })
            .collect(),
    )
}

#[utoipa::path(
    get,
    path = "/api/v1/groups",
    tag = "groups",
    summary = "List groups",
    responses((status = 200, body = api::GroupList), super::openapi::Errors),
    security(("bearer" = [])),
)]
pub async fn list_groups(
    State(s): State<AppState>,
    Caller(p, ..): Caller<Native>,
) -> NativeResult<Json<api::GroupList>> {
    let groups = s.core.list_groups(&p).await?;
    Ok(Json(api::GroupList {
        groups: groups.iter().map(|g| views::group(g, None)).collect(),
    }))
}

#[utoipa::path(
    post,
    path = "/api/v1/groups",
    tag = "groups",
    summary = "Create a group",
    request_body = api::GroupRequest,
    responses((status = 201, body = api::GroupView), super::openapi::Errors),
    security(("bearer" = [])),
)]
pub async fn create_group(
    State(s): State<AppState>,
    Caller(p, ..): Caller<Native>,
    ApiJson(g, _): ApiJson<api::GroupRequest, Native>,
) -> NativeResult<(StatusCode, Json<api::GroupView>)> {
    let group = s.core.create_group(&p, &g.name).await?;
    Ok((
        StatusCode::CREATED,
        Json(views::group(&group, Some(vec![]))),
    ))
}

#[utoipa::path(
    get,
    path = "/api/v1/groups/{id}",
    tag = "groups",
    summary = "One group with its members",
    params(("id" = i64, Path, description = "Group id")),
    responses((status = 200, body = api::GroupView), super::openapi::Errors),
    security(("bearer" = [])),
)]
pub async fn show_group(
    State(s): State<AppState>,
    Caller(p, ..): Caller<Native>,
    ApiPath(id, _): ApiPath<String, Native>,
) -> NativeResult<Json<api::GroupView>> {
    let (g, members) = s.core.get_group(&p, group_id(&id)?).await?;
    Ok(Json(views::group(&g, Some(members))))
}

#[utoipa::path(
    delete,
    path = "/api/v1/groups/{id}",
    tag = "groups",
    summary = "Delete a group",
    params(("id" = i64, Path, description = "Group id")),
    responses((status = 204, description = "Done"), super::openapi::Errors),
    security(("bearer" = [])),
)]
pub async fn delete_group(
    State(s): State<AppState>,
    Caller(p, ..): Caller<Native>,
    ApiPath(id, _): ApiPath<String, Native>,
) -> NativeResult<StatusCode> {
    s.core.delete_group(&p, group_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    put,
    path = "/api/v1/groups/{id}/members/{user}",
    tag = "groups",
    summary = "Add a user to a group",
    params(("id" = i64, Path, description = "Group id"), ("user" = i64, Path, description = "User id")),
    responses((status = 204, description = "Done"), super::openapi::Errors),
    security(("bearer" = [])),
)]
pub async fn add_member(
    State(s): State<AppState>,
    Caller(p, ..): Caller<Native>,
    ApiPath((group, user), _): ApiPath<(String, String), Native>,
) -> NativeResult<StatusCode> {
    s.core
        .add_group_member(&p, group_id(&group)?, user_id(&user)?)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    delete,
    path = "/api/v1/groups/{id}/members/{user}",
    tag = "groups",
    summary = "Remove a user from a group",
    params(("id" = i64, Path, description = "Group id"), ("user" = i64, Path, description = "User id")),
    responses((status = 204, description = "Done"), super::openapi::Errors),
    security(("bearer" = [])),
)]
pub async fn remove_member(
    State(s): State<AppState>,
    Caller(p, ..): Caller<Native>,
    ApiPath((group, user), _): ApiPath<(String, String), Native>,
) -> NativeResult<StatusCode> {
    s.core
        .remove_group_member(&p, group_id(&group)?, user_id(&user)?)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/v1/lockouts`: the names locked now.
#[utoipa::path(
    get,
    path = "/api/v1/lockouts",
    tag = "users",
    summary = "Names locked after failed logins",
    responses((status = 200, body = api::LockoutList), super::openapi::Errors),
    security(("bearer" = [])),
)]
pub async fn list_lockouts(
    State(s): State<AppState>,
    Caller(p, ..): Caller<Native>,
) -> NativeResult<Json<api::LockoutList>> {
    let locks = s.core.login_locks(&p).await?;
    Ok(Json(api::LockoutList {
        lockouts: locks
            .into_iter()
            .map(|(name, locked_until)| api::LockoutView { name, locked_until })
            .collect(),
    }))
}

/// `DELETE /api/v1/lockouts/{name}`: lifts the lock on a name and forgets its failures.
#[utoipa::path(
    delete,
    path = "/api/v1/lockouts/{name}",
    tag = "users",
    summary = "Lift a lock-out",
    params(("name" = String, Path, description = "Locked user name")),
    responses((status = 204, description = "Done"), super::openapi::Errors),
    security(("bearer" = [])),
)]
pub async fn clear_lockout(
    State(s): State<AppState>,
    Caller(p, ..): Caller<Native>,
    ApiPath(name, _): ApiPath<String, Native>,
) -> NativeResult<StatusCode> {
    s.core.unlock_login(&p, &name).await?;
    Ok(StatusCode::NO_CONTENT)
}
