//! Reporting: other servers tell sessiond about their client sessions.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use sessiond_api::SessionView;
use sessiond_core::model::Session;
use sessiond_core::service::Report;
use sessiond_core::store::ReportedChange;
use sessiond_core::{Core, CoreError};

use super::{NetError, NetResult, NetSession};
use crate::extract::{ApiJson, ApiPath, Caller};
use crate::state::AppState;
use crate::views;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportRequest {
    client_name: String,
    username: String,
    #[serde(default)]
    client_type: Option<String>,
    #[serde(default)]
    transport: Option<String>,
    #[serde(default)]
    num_opens: Option<i64>,
    #[serde(default)]
    user_flags: Option<i64>,
    #[serde(default)]
    shares: Vec<String>,
    #[serde(default)]
    console_type: Option<i32>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateRequest {
    #[serde(default)]
    num_opens: Option<i64>,
    #[serde(default)]
    client_type: Option<String>,
    #[serde(default)]
    transport: Option<String>,
    #[serde(default)]
    shares: Option<Vec<String>>,
}

async fn view(core: &Core, s: &Session) -> NetResult<Json<SessionView<'static>>> {
    let names = core.user_names(&[s.user_id]).await?;
    let name = names.get(&s.user_id).map(String::as_str).unwrap_or("");
    Ok(Json(views::session_owned(
        s,
        core.last_active_of(s),
        name,
        core.now(),
        "",
    )))
}

/// `POST /api/v1/servers/{server}/sessions` → 201 with the session; an unknown user is
/// `NERR_UserNotFound`.
pub async fn report(
    State(s): State<AppState>,
    Caller(p, ..): Caller<NetSession>,
    ApiPath(server, _): ApiPath<String, NetSession>,
    ApiJson(r, _): ApiJson<ReportRequest, NetSession>,
) -> NetResult<(StatusCode, Json<SessionView<'static>>)> {
    let username = r.username.clone();
    let report = Report {
        client_name: r.client_name,
        username: r.username,
        client_type: r.client_type,
        transport: r.transport,
        num_opens: r.num_opens,
        user_flags: r.user_flags,
        shares: r.shares,
        console_type: r.console_type,
    };
    let session = s
        .core
        .report_session(&p, &server, report)
        .await
        .map_err(|e| match e {
            CoreError::NotFound(_) => NetError::user_not_found(&username),
            other => other.into(),
        })?;
    Ok((StatusCode::CREATED, view(&s.core, &session).await?))
}

/// `GET /api/v1/servers/{server}/sessions`: the server's reported sessions still active,
/// for its reporter to reconcile with.
pub async fn list(
    State(s): State<AppState>,
    Caller(p, ..): Caller<NetSession>,
    ApiPath(server, _): ApiPath<String, NetSession>,
) -> NetResult<Json<sessiond_api::ReportedSessionList>> {
    let sessions = s.core.reported_sessions(&p, &server).await?;
    let ids: Vec<i64> = sessions.iter().map(|x| x.user_id).collect();
    let names = s.core.user_names(&ids).await?;
    Ok(Json(sessiond_api::ReportedSessionList {
        sessions: sessions
            .into_iter()
            .map(|x| sessiond_api::ReportedSession {
                username: names.get(&x.user_id).cloned().unwrap_or_default(),
                id: x.id,
                client_name: x.client_name,
                client_type: x.client_type,
                transport: x.transport,
                num_opens: x.num_opens,
                user_flags: x.user_flags,
                shares: x.shares,
                login_time: x.login_time,
            })
            .collect(),
    }))
}

/// `PATCH .../sessions/{id}`: changes what is given and records activity now.
pub async fn update(
    State(s): State<AppState>,
    Caller(p, ..): Caller<NetSession>,
    ApiPath((server, id), _): ApiPath<(String, String), NetSession>,
    ApiJson(r, _): ApiJson<UpdateRequest, NetSession>,
) -> NetResult<Json<SessionView<'static>>> {
    let change = ReportedChange {
        num_opens: r.num_opens,
        client_type: r.client_type,
        transport: r.transport,
        shares: r.shares,
    };
    let session = s.core.update_reported(&p, &server, &id, change).await?;
    view(&s.core, &session).await
}

/// `DELETE .../sessions/{id}`: the server closed it ("closed by server").
pub async fn close(
    State(s): State<AppState>,
    Caller(p, ..): Caller<NetSession>,
    ApiPath((server, id), _): ApiPath<(String, String), NetSession>,
) -> NetResult<Json<SessionView<'static>>> {
    let session = s.core.close_reported(&p, &server, &id).await?;
    view(&s.core, &session).await
}
