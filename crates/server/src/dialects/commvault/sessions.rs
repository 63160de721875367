//! `GET <root>/Session?userId=N` (seed 002): every session of a user, opened through any
//! dialect, in JSON or in the XML of the seed's sample.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use sessiond_core::model::{Session, SessionFilter, SessionState, User};
use sessiond_core::service::UserKey;

use super::wire::{respond_json, respond_xml, Format};
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
struct JsonSession<'a> {
    logout_time: i64,
    login_time: i64,
    host: &'a str,
    description: String,
    session_id: &'a str,
    browser_session_id: i64,
    console_type: i32,
    last_accessed_time: i64,
    user: JsonUser<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JsonUser<'a> {
    user_name: &'a str,
    user_id: i64,
}

#[derive(Serialize)]
struct JsonSessions<'a> {
    sessions: Vec<JsonSession<'a>>,
}

/// Attributes in the order of the seed's sample.
#[derive(Serialize)]
struct XmlSession<'a> {
    #[serde(rename = "@logoutTime")]
    logout_time: i64,
    #[serde(rename = "@loginTime")]
    login_time: i64,
    #[serde(rename = "@host")]
    host: &'a str,
    #[serde(rename = "@description")]
    description: String,
    #[serde(rename = "@sessionId")]
    session_id: &'a str,
    #[serde(rename = "@browserSessionId")]
    browser_session_id: i64,
    #[serde(rename = "@consoleType")]
    console_type: i32,
    user: XmlUser<'a>,
}

#[derive(Serialize)]
struct XmlUser<'a> {
    #[serde(rename = "@userName")]
    user_name: &'a str,
    #[serde(rename = "@userId")]
    user_id: i64,
}

#[derive(Serialize)]
#[serde(rename = "App_GetUserSessionsResponse")]
struct XmlSessions<'a> {
    sessions: Vec<XmlSession<'a>>,
}

/// Commvault's browser session ids are integers; sessions without one show 0.
fn browser_session_id(s: &Session) -> i64 {
    s.browser_session_id
        .as_deref()
        .and_then(|b| b.parse().ok())
        .unwrap_or(0)
}

/// `last_active` is the session's live stamp (`Core::last_active_of`).
fn json_session<'a>(s: &'a Session, last_active: i64, u: &'a User) -> JsonSession<'a> {
    JsonSession {
        logout_time: s.logout_time.map(|t| t.unix_timestamp()).unwrap_or(0),
        login_time: s.login_time.unix_timestamp(),
        host: &s.client_name,
        // Commvault has no field for an acting app; its free-text description carries it.
        description: s
            .actor
            .as_ref()
            .map(|app| format!("on behalf of app {app}"))
            .unwrap_or_default(),
        session_id: &s.id,
        browser_session_id: browser_session_id(s),
        console_type: s.console_type,
        last_accessed_time: last_active,
        user: JsonUser {
            user_name: &u.name,
            user_id: u.id,
        },
    }
}

fn xml_session<'a>(s: &'a Session, u: &'a User) -> XmlSession<'a> {
    // The XML shape has no last-access time.
    let j = json_session(s, 0, u);
    XmlSession {
        logout_time: j.logout_time,
        login_time: j.login_time,
        host: j.host,
        description: j.description,
        session_id: j.session_id,
        browser_session_id: j.browser_session_id,
        console_type: j.console_type,
        user: XmlUser {
            user_name: &u.name,
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
    // Only the shape asked for is built.
    Ok(match format {
        Format::Json => respond_json(&JsonSessions {
            sessions: sessions
                .iter()
                .map(|x| json_session(x, s.core.last_active_of(x).unix_timestamp(), user))
                .collect(),
        }),
        Format::Xml => respond_xml(&XmlSessions {
            sessions: sessions.iter().map(|x| xml_session(x, user)).collect(),
        }),
    })
}
