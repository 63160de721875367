//! `/v1/smb/sessions/`: Qumulo's SMB view of the sessions other servers report, for
//! `qq smb_list_sessions` and `qq smb_close_sessions`.

use axum::extract::State;
use axum::Json;
use serde::{Deserialize, Serialize};
use sessiond_core::model::{Session, UserId};
use sessiond_core::service::UserKey;

use super::identity::{self, IdentityOut};
use super::Qumulo;
use super::{QResult, QumuloError};
use crate::extract::{ApiJson, ApiQuery, Caller};
use crate::state::AppState;

#[derive(Deserialize)]
pub struct ListQuery {
    identity: Option<String>,
    after: Option<String>,
    limit: Option<u32>,
}

#[derive(Serialize)]
struct Nanos {
    nanoseconds: String,
}

#[derive(Serialize)]
pub struct SessionInfo {
    location: String,
    tenant_id: u32,
    originator: String,
    server_address: String,
    user: IdentityOut,
    num_opens: i64,
    time_open: Nanos,
    time_idle: Nanos,
    is_guest: bool,
    is_encrypted: bool,
    share_names: Vec<String>,
}

#[derive(Serialize)]
pub struct Paging {
    next: Option<String>,
}

#[derive(Serialize)]
pub struct Page {
    session_infos: Vec<SessionInfo>,
    paging: Paging,
}

fn nanos(d: time::Duration) -> Nanos {
    Nanos {
        nanoseconds: d.whole_nanoseconds().max(0).to_string(),
    }
}

/// Keyset paging by `location` (the session id); `paging.next` repeats the filter and limit.
pub async fn list(
    State(s): State<AppState>,
    Caller(p, ..): Caller<Qumulo>,
    ApiQuery(q, _): ApiQuery<ListQuery, Qumulo>,
) -> QResult<Json<Page>> {
    let mut sessions = s.core.network_sessions(&p).await?;
    if let Some(ident) = q.identity.as_deref() {
        let key = identity::parse(ident)?.user_key()?;
        let user = s
            .core
            .find_user(&key)
            .await?
            .ok_or_else(|| QumuloError::not_found(format!("no such local user {ident:?}")))?;
        sessions.retain(|x| x.user_id == user.id);
    }
    if let Some(after) = &q.after {
        sessions.retain(|x| &x.id > after);
    }
    let limit = q.limit.unwrap_or(s.cfg.page_size).clamp(1, 1000) as usize;
    let more = sessions.len() > limit;
    sessions.truncate(limit);
    let next = match (more, sessions.last()) {
        (true, Some(last)) => {
            let mut params = vec![];
            if let Some(i) = &q.identity {
                params.push(("identity", i.clone()));
            }
            params.push(("after", last.id.clone()));
            params.push(("limit", limit.to_string()));
            Some(format!(
                "/v1/smb/sessions/?{}",
                serde_urlencoded::to_string(&params).unwrap_or_default()
            ))
        }
        _ => None,
    };
    let now = s.core.now();
    let mut infos = vec![];
    for x in &sessions {
        infos.push(info(&s, x, now).await?);
    }
    Ok(Json(Page {
        session_infos: infos,
        paging: Paging { next },
    }))
}

async fn info(s: &AppState, x: &Session, now: time::OffsetDateTime) -> QResult<SessionInfo> {
    let user = match s.core.find_user(&UserKey::Id(x.user_id)).await? {
        Some(u) => IdentityOut::user(&u),
        None => IdentityOut::unknown(x.user_id as UserId),
    };
    Ok(SessionInfo {
        location: x.id.clone(),
        tenant_id: 1,
        originator: x.client_name.clone(),
        server_address: x.server.clone(),
        user,
        num_opens: x.num_opens,
        time_open: nanos(now - x.login_time),
        time_idle: nanos(now - x.last_active),
        is_guest: x.user_flags & 1 != 0,
        is_encrypted: x.user_flags & 2 == 0,
        share_names: x.shares.clone(),
    })
}

/// Only `location` identifies a session; the rest of each listed info is ignored.
#[derive(Deserialize)]
pub struct CloseItem {
    location: String,
}

#[derive(Serialize)]
pub struct CloseError {
    error_message: String,
}

pub async fn close(
    State(s): State<AppState>,
    Caller(p, ..): Caller<Qumulo>,
    ApiJson(items, _): ApiJson<Vec<CloseItem>, Qumulo>,
) -> QResult<Json<Vec<CloseError>>> {
    if items.len() > 1000 {
        return Err(QumuloError::bad_request(
            "at most 1000 sessions per request",
        ));
    }
    let ids: Vec<String> = items.into_iter().map(|i| i.location).collect();
    s.core.close_network_sessions(&p, &ids).await?;
    Ok(Json(vec![]))
}
