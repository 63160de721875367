//! `/v1/users/`, `/v1/groups/`, `/v1/identity/expand`: what `qq who_am_i`,
//! `auth_list_users`, `auth_list_user` and `auth_list_groups` read.

use axum::extract::State;
use axum::Json;
use serde::{Deserialize, Serialize};
use sessiond_core::model::{Group, User, UserId};
use sessiond_core::Privilege;

use super::identity::{group_sid, IdentityIn, IdentityOut};
use super::Qumulo;
use super::{QResult, QumuloError};
use crate::extract::{ApiJson, ApiPath, Caller};
use crate::state::AppState;

/// Qumulo's `api_user`.
#[derive(Serialize)]
pub struct ApiUser {
    id: String,
    name: String,
    primary_group: String,
    sid: String,
    uid: String,
    home_directory: Option<String>,
    can_change_password: bool,
}

impl From<&User> for ApiUser {
    fn from(u: &User) -> Self {
        ApiUser {
            id: u.id.to_string(),
            name: u.name.clone(),
            primary_group: u.primary_group.to_string(),
            sid: u.sid(),
            uid: u.profile.nfs_uid.clone().unwrap_or_default(),
            home_directory: u.profile.home_directory.clone(),
            can_change_password: u.can_change_password,
        }
    }
}

/// Qumulo's `api_group`.
#[derive(Serialize)]
pub struct ApiGroup {
    id: String,
    name: String,
    sid: String,
    gid: String,
}

impl From<&Group> for ApiGroup {
    fn from(g: &Group) -> Self {
        ApiGroup {
            id: g.id.to_string(),
            name: g.name.clone(),
            sid: group_sid(g),
            gid: g.gid.clone().unwrap_or_default(),
        }
    }
}

fn user_id(s: &str) -> QResult<UserId> {
    s.parse()
        .map_err(|_| QumuloError::not_found(format!("no user with id {s:?}")))
}

pub async fn list_users(
    State(s): State<AppState>,
    Caller(p, ..): Caller<Qumulo>,
) -> QResult<Json<Vec<ApiUser>>> {
    let users = s.core.list_users(&p).await?;
    Ok(Json(users.iter().map(ApiUser::from).collect()))
}

pub async fn get_user(
    State(s): State<AppState>,
    Caller(p, ..): Caller<Qumulo>,
    ApiPath(id, _): ApiPath<String, Qumulo>,
) -> QResult<Json<ApiUser>> {
    s.core.require(&p, Privilege::LOCAL_USER_READ).await?;
    let user = s.core.get_user(&p, user_id(&id)?).await?;
    Ok(Json(ApiUser::from(&user)))
}

/// Needs `PRIVILEGE_LOCAL_USER_READ` even for one's own groups: `qq who_am_i` treats the 403
/// as "not allowed to see related info" and carries on.
pub async fn user_groups(
    State(s): State<AppState>,
    Caller(p, ..): Caller<Qumulo>,
    ApiPath(id, _): ApiPath<String, Qumulo>,
) -> QResult<Json<Vec<ApiGroup>>> {
    s.core.require(&p, Privilege::LOCAL_USER_READ).await?;
    let id = user_id(&id)?;
    s.core.get_user(&p, id).await?;
    let groups = s.core.user_groups(&p, id).await?;
    Ok(Json(groups.iter().map(ApiGroup::from).collect()))
}

pub async fn list_groups(
    State(s): State<AppState>,
    Caller(p, ..): Caller<Qumulo>,
) -> QResult<Json<Vec<ApiGroup>>> {
    let groups = s.core.list_groups(&p).await?;
    Ok(Json(groups.iter().map(ApiGroup::from).collect()))
}

#[derive(Deserialize)]
pub struct ExpandRequest {
    id: IdentityIn,
}

#[derive(Serialize)]
pub struct Expanded {
    id: IdentityOut,
    #[serde(rename = "type")]
    kind: &'static str,
    nfs_id: Option<IdentityOut>,
    smb_id: Option<IdentityOut>,
    equivalent_ids: Vec<IdentityOut>,
    group_ids: Vec<IdentityOut>,
}

/// Everything an identity is known as, and the groups it is in. Needs
/// `PRIVILEGE_IDENTITY_READ`.
pub async fn expand(
    State(s): State<AppState>,
    Caller(p, ..): Caller<Qumulo>,
    ApiJson(req, _): ApiJson<ExpandRequest, Qumulo>,
) -> QResult<Json<Expanded>> {
    s.core.require(&p, Privilege::IDENTITY_READ).await?;
    let key = req.id.user_key()?;
    let user = s
        .core
        .find_user(&key)
        .await?
        .ok_or_else(|| QumuloError::not_found("no such local user"))?;
    let groups = s.core.user_groups(&p, user.id).await.unwrap_or_default();
    let me = IdentityOut::user(&user);
    Ok(Json(Expanded {
        nfs_id: user.profile.nfs_uid.as_ref().map(|_| me.clone()),
        smb_id: Some(me.clone()),
        id: me,
        kind: "USER",
        equivalent_ids: vec![],
        group_ids: groups.iter().map(IdentityOut::group).collect(),
    }))
}
