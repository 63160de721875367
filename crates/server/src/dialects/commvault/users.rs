//! Users as `cvpysdk` reads them (`v4/user`, `v4/user/{id}`, `User/{id}/Security`), the
//! older `User` endpoints, the root probe and `CommServ`.

use axum::extract::State;
use axum::Json;
use serde::Serialize;
use serde_json::{json, Value};
use sessiond_core::model::{User, UserId};
use sessiond_core::{Principal, Privilege};

use super::login::user_guid;
use super::Commvault;
use super::{CommvaultError, CvResult};
use crate::extract::{ApiPath, Caller};
use crate::state::AppState;

/// `GET <root>/`: the SDK's probe; it looks only at the 200.
pub async fn probe() -> Json<Value> {
    Json(json!({"name": "sessiond", "service": "Commvault web services dialect"}))
}

fn full_name(u: &User) -> String {
    u.profile
        .display_name
        .clone()
        .unwrap_or_else(|| u.name.clone())
}

/// The users the caller may see: everyone with `PRIVILEGE_LOCAL_USER_READ`, else oneself
/// (so that `users.get(own name)` always works).
async fn visible_users(s: &AppState, p: &Principal) -> CvResult<Vec<User>> {
    if p.has(Privilege::LOCAL_USER_READ) {
        Ok(s.core.list_users(p).await?)
    } else {
        Ok(vec![s.core.get_user(p, p.user.id).await?])
    }
}

fn user_id(s: &str) -> CvResult<UserId> {
    s.parse()
        .map_err(|_| CommvaultError::bad_request(format!("user id {s:?} is not a number")))
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct V4User {
    id: i64,
    name: String,
    full_name: String,
    email: String,
    #[serde(rename = "GUID")]
    guid: String,
    enabled: bool,
    description: String,
}

impl From<&User> for V4User {
    fn from(u: &User) -> Self {
        V4User {
            id: u.id,
            name: u.name.clone(),
            full_name: full_name(u),
            email: u.profile.email.clone().unwrap_or_default(),
            guid: user_guid(u.id),
            enabled: u.enabled,
            description: u.profile.title.clone().unwrap_or_default(),
        }
    }
}

pub async fn v4_users(
    State(s): State<AppState>,
    Caller(p, ..): Caller<Commvault>,
) -> CvResult<Json<Value>> {
    let users: Vec<V4User> = visible_users(&s, &p)
        .await?
        .iter()
        .map(V4User::from)
        .collect();
    Ok(Json(json!({ "users": users })))
}

/// One user, never `{}` (the SDK rejects an empty object).
pub async fn v4_user(
    State(s): State<AppState>,
    Caller(p, ..): Caller<Commvault>,
    ApiPath(id, _): ApiPath<String, Commvault>,
) -> CvResult<Json<Value>> {
    let u = s.core.get_user(&p, user_id(&id)?).await?;
    let groups = s.core.user_groups(&p, u.id).await.unwrap_or_default();
    Ok(Json(json!({
        "id": u.id,
        "name": u.name,
        "fullName": full_name(&u),
        "email": u.profile.email.clone().unwrap_or_default(),
        "enabled": u.enabled,
        "description": u.profile.title.clone().unwrap_or_default(),
        "userPrincipalName": u.name,
        "GUID": user_guid(u.id),
        "numDevices": 0,
        "associatedUserGroups": groups
            .iter()
            .map(|g| json!({"userGroupId": g.id, "userGroupName": g.name}))
            .collect::<Vec<_>>(),
    })))
}

/// Security associations: none (roles are sessiond's, not Commvault's).
pub async fn security(
    State(s): State<AppState>,
    Caller(p, ..): Caller<Commvault>,
    ApiPath(id, _): ApiPath<String, Commvault>,
) -> CvResult<Json<Value>> {
    s.core.get_user(&p, user_id(&id)?).await?;
    Ok(Json(json!({ "associations": [] })))
}

fn old_user_json(u: &User) -> Value {
    json!({
        "userEntity": {"userName": u.name, "userId": u.id, "userGUID": user_guid(u.id)},
        "enableUser": u.enabled,
        "email": u.profile.email.clone().unwrap_or_default(),
        "description": u.profile.title.clone().unwrap_or_default(),
    })
}

/// `GET <root>/User`, for SDKs older than 11.44.
pub async fn old_users(
    State(s): State<AppState>,
    Caller(p, ..): Caller<Commvault>,
) -> CvResult<Json<Value>> {
    let users: Vec<Value> = visible_users(&s, &p)
        .await?
        .iter()
        .map(old_user_json)
        .collect();
    Ok(Json(json!({ "users": users })))
}

pub async fn old_user(
    State(s): State<AppState>,
    Caller(p, ..): Caller<Commvault>,
    ApiPath(id, _): ApiPath<String, Commvault>,
) -> CvResult<Json<Value>> {
    let u = s.core.get_user(&p, user_id(&id)?).await?;
    Ok(Json(json!({ "users": [old_user_json(&u)] })))
}

/// What the SDK reads when a CommServ property is asked for.
pub async fn commserv(State(s): State<AppState>, _: Caller<Commvault>) -> Json<Value> {
    let host = &s.core.config().server_name;
    Json(json!({
        "commcell": {"commCellName": host, "commCellId": 2, "csGUID": user_guid(0)},
        "hostName": host,
        "csTimeZone": {"TimeZoneName": "UTC"},
        "timeZone": "0:0:(UTC) Coordinated Universal Time",
        "currentSPVersion": 44,
        "csVersionInfo": "11.0 SP44",
        "releaseName": "11.44",
    }))
}
