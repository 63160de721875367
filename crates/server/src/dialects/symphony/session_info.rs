//! `GET /pod/v2/sessioninfo`: the session's user as Symphony's `UserV2`.

use axum::extract::State;
use axum::Json;
use serde::Serialize;
use serde_json::{Map, Value};
use sessiond_core::model::User;
use sessiond_core::service::{
    GET_BASIC_USER_INFO, GET_EXTENDED_CONTACT_INFO, GET_EXTENDED_USER_INFO,
};
use sessiond_core::Privilege;

use super::{SyResult, Symphony, SymphonyError};
use crate::extract::Caller;
use crate::state::AppState;

#[derive(Serialize)]
pub struct Avatar {
    size: String,
    url: String,
}

/// Seed 001's `UserV2`: `id` an integer, every other scalar a string, `userMetadata`
/// values objects. The five extended fields only when `extended`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UserV2 {
    id: i64,
    email_address: String,
    first_name: String,
    last_name: String,
    display_name: String,
    title: String,
    company: String,
    username: String,
    location: String,
    account_type: &'static str,
    avatars: Vec<Avatar>,
    #[serde(skip_serializing_if = "Option::is_none")]
    work_phone_number: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    mobile_phone_number: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    job_function: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    department: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    division: Option<String>,
    roles: Vec<String>,
    user_metadata: Map<String, Value>,
}

fn s(v: &Option<String>) -> String {
    v.clone().unwrap_or_default()
}

/// The schema says each metadata value is an object: other values are wrapped.
fn metadata(m: &Map<String, Value>) -> Map<String, Value> {
    m.iter()
        .map(|(k, v)| {
            let v = match v {
                Value::Object(_) => v.clone(),
                other => serde_json::json!({ "value": other }),
            };
            (k.clone(), v)
        })
        .collect()
}

pub fn user_v2(u: &User, extended: bool) -> UserV2 {
    let p = &u.profile;
    let ext = |v: &Option<String>| extended.then(|| s(v));
    UserV2 {
        id: u.id,
        email_address: s(&p.email),
        first_name: s(&p.first_name),
        last_name: s(&p.last_name),
        display_name: p.display_name.clone().unwrap_or_else(|| u.name.clone()),
        title: s(&p.title),
        company: s(&p.company),
        username: u.name.clone(),
        location: s(&p.location),
        account_type: u.account_type.as_str(),
        avatars: p
            .avatars
            .iter()
            .map(|a| Avatar {
                size: a.size.clone(),
                url: a.url.clone(),
            })
            .collect(),
        work_phone_number: ext(&p.work_phone),
        mobile_phone_number: ext(&p.mobile_phone),
        job_function: ext(&p.job_function),
        department: ext(&p.department),
        division: ext(&p.division),
        roles: u.roles.clone(),
        user_metadata: metadata(&p.metadata),
    }
}

/// Through OBO the app needs `GET_BASIC_USER_INFO` (else 403), and the extended fields
/// need the app's extended user or contact permission; otherwise the caller's own
/// privileges decide them.
pub async fn session_info(
    State(s): State<AppState>,
    Caller(p, ..): Caller<Symphony>,
) -> SyResult<Json<UserV2>> {
    let extended = match p.session().and_then(|x| x.actor()) {
        Some(app_id) => {
            let app = s
                .core
                .acting_app(&p)
                .await?
                .filter(|a| a.enabled)
                .ok_or_else(|| {
                    SymphonyError::unauthorized(format!("app {app_id} is no longer registered"))
                })?;
            if !app.may(GET_BASIC_USER_INFO) {
                return Err(SymphonyError::forbidden(format!(
                    "app {app_id} lacks the {GET_BASIC_USER_INFO} permission"
                )));
            }
            app.may(GET_EXTENDED_USER_INFO) || app.may(GET_EXTENDED_CONTACT_INFO)
        }
        None => {
            p.has(Privilege::GET_EXTENDED_USER_INFO) || p.has(Privilege::GET_EXTENDED_CONTACT_INFO)
        }
    };
    Ok(Json(user_v2(&p.user, extended)))
}
