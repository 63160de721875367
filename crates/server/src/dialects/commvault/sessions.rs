//! `GET <root>/Session?userId=N` (seed 002): every session of a user, opened through any
//! dialect, in JSON or in the XML of the seed's sample.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use sessiond_core::model::{Session, SessionFilter, SessionState, User};
use sessiond_core::service::UserKey;

use super::wire::{respond, Format};
use super::{only_active, Commvault};
use super::{CommvaultError, CvResult};
use crate::extract::{ApiQuery, Caller};
use crate::state::AppState;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionQuery {
    user_id: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JsonSession {
    logout_time: i64,
    login_time: i64,
    host: String,
    description: String,
    session_id: String,
    browser_session_id: i64,
    console_type: i32,
    last_accessed_time: i64,
    user: JsonUser,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JsonUser {
    user_name: String,
    user_id: i64,
}

#[derive(Serialize)]
struct JsonSessions {
    sessions: Vec<JsonSession>,
}

/// Attributes in the order of the seed's sample.
#[derive(Serialize)]
struct XmlSession {
    #[serde(rename = "@logoutTime")]
    logout_time: i64,
    #[serde(rename = "@loginTime")]
    login_time: i64,
    #[serde(rename = "@host")]
    host: String,
    #[serde(rename = "@description")]
    description: String,
    #[serde(rename = "@sessionId")]
    session_id: String,
    #[serde(rename = "@browserSessionId")]
    browser_session_id: i64,
    #[serde(rename = "@consoleType")]
    console_type: i32,
    user: XmlUser,
}

#[derive(Serialize)]
struct XmlUser {
    #[serde(rename = "@userName")]
    user_name: String,
    #[serde(rename = "@userId")]
    user_id: i64,
}

#[derive(Serialize)]
#[serde(rename = "App_GetUserSessionsResponse")]
struct XmlSessions {
    sessions: Vec<XmlSession>,
}

/// Commvault's browser session ids are integers; sessions without one show 0.
fn browser_session_id(s: &Session) -> i64 {
    s.browser_session_id
        .as_deref()
        .and_then(|b| b.parse().ok())
        .unwrap_or(0)
}

fn json_session(s: &Session, u: &User) -> JsonSession {
    JsonSession {
        logout_time: s.logout_time.map(|t| t.unix_timestamp()).unwrap_or(0),
        login_time: s.login_time.unix_timestamp(),
        host: s.client_name.clone(),
        // Commvault has no field for an acting app; its free-text description carries it.
        description: s
            .actor
            .as_ref()
            .map(|app| format!("on behalf of app {app}"))
            .unwrap_or_default(),
        session_id: s.id.clone(),
        browser_session_id: browser_session_id(s),
        console_type: s.console_type,
        last_accessed_time: s.last_active.unix_timestamp(),
        user: JsonUser {
            user_name: u.name.clone(),
            user_id: u.id,
        },
    }
}

fn xml_session(s: &Session, u: &User) -> XmlSession {
    let j = json_session(s, u);
    XmlSession {
        logout_time: j.logout_time,
        login_time: j.login_time,
        host: j.host,
        description: j.description,
        session_id: j.session_id,
        browser_session_id: j.browser_session_id,
        console_type: j.console_type,
        user: XmlUser {
            user_name: u.name.clone(),
            user_id: u.id,
        },
    }
}

/// One's own sessions always; another user's with `PRIVILEGE_SESSION_READ`.
/// `ONLY-ACTIVE-SESSIONS: true` leaves the ended ones out.
pub async fn list(
    State(s): State<AppState>,
    Caller(p, ..): Caller<Commvault>,
    headers: HeaderMap,
    format: Format,
    ApiQuery(q, _): ApiQuery<SessionQuery, Commvault>,
) -> CvResult<Response> {
    let raw = q.user_id.unwrap_or_default();
    if raw.trim().is_empty() {
        return Err(CommvaultError::bad_request("userId is required"));
    }
    let id: i64 = raw
        .trim()
        .parse()
        .map_err(|_| CommvaultError::bad_request(format!("userId {raw:?} is not a number")))?;
    // One's own sessions (what the SDK asks for) need no look-up of the user.
    let found;
    let user = if id == p.user.id {
        &*p.user
    } else {
        found = s
            .core
            .find_user(&UserKey::Id(id))
            .await?
            .ok_or_else(|| CommvaultError::not_found(format!("no user with id {id}")))?;
        &found
    };
    let filter = SessionFilter {
        user_id: Some(id),
        state: if only_active(&headers) {
            SessionState::Active
        } else {
            SessionState::All
        },
        ..SessionFilter::default()
    };
    let sessions = s.core.list_sessions(&p, &filter).await?;
    Ok(respond(
        format,
        &JsonSessions {
            sessions: sessions.iter().map(|x| json_session(x, user)).collect(),
        },
        &XmlSessions {
            sessions: sessions.iter().map(|x| xml_session(x, user)).collect(),
        },
    ))
}
