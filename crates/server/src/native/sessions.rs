//! Session listing and revocation, and the audit log.

use axum::extract::State;
use axum::Json;
use serde::Deserialize;
use sessiond_api as api;
use sessiond_core::model::{AuditFilter, AuditKind, Session, SessionFilter, SessionState, UserId};
use sessiond_core::{Core, Principal, Privilege};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::{Native, NativeError, NativeResult};
use crate::extract::{ApiJson, ApiPath, ApiQuery, Caller};
use crate::problem::Kind;
use crate::state::AppState;
use crate::views;

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// A user id or name; without `PRIVILEGE_SESSION_READ`, only one's own.
    user: Option<String>,
    server: Option<String>,
    /// The client's address or name (a leading `\\` is dropped).
    client: Option<String>,
    #[param(value_type = Option<String>, pattern = "^(active|ended|all)$")]
    state: Option<String>,
    #[param(value_type = Option<i64>, minimum = 0)]
    limit: Option<u32>,
}

/// A user given by id or by name.
pub(super) async fn resolve_user(core: &Core, s: &str) -> NativeResult<UserId> {
    if let Ok(id) = s.parse::<UserId>() {
        return Ok(id);
    }
    core.find_user_by_name(s)
        .await?
        .map(|u| u.id)
        .ok_or_else(|| NativeError::new(Kind::NotFound, format!("no user named {s:?}")))
}

/// Without `PRIVILEGE_SESSION_READ` and without a `user` filter, a caller sees their own
/// sessions; asking for someone else's without the privilege is 403.
#[utoipa::path(
    get,
    path = "/api/v1/sessions",
    tag = "sessions",
    summary = "List sessions (one's own without PRIVILEGE_SESSION_READ)",
    params(ListQuery),
    responses((status = 200, body = api::SessionList), super::openapi::Errors),
    security(("bearer" = [])),
)]
pub async fn list(
    State(s): State<AppState>,
    Caller(p, ..): Caller<Native>,
    ApiQuery(q, _): ApiQuery<ListQuery, Native>,
) -> NativeResult<Json<api::SessionList>> {
    let state = match q.state.as_deref() {
        None => SessionState::Active,
        Some(v) => SessionState::parse(v)
            .ok_or_else(|| NativeError::bad_request("state must be active, ended or all"))?,
    };
    let user_id = match q.user.as_deref() {
        Some(u) => Some(resolve_user(&s.core, u).await?),
        None if p.has(Privilege::SESSION_READ) => None,
        None => Some(p.user.id),
    };
    let filter = SessionFilter {
        user_id,
        server: q.server,
        client_name: q.client.map(|c| c.trim_start_matches('\\').to_owned()),
        state,
        limit: q.limit,
    };
    let sessions = s.core.list_sessions(&p, &filter).await?;
    Ok(Json(api::SessionList {
        sessions: render(&s, &p, &sessions).await?,
    }))
}

async fn render(
    s: &AppState,
    p: &Principal,
    sessions: &[Session],
) -> NativeResult<Vec<api::SessionView<'static>>> {
    let core = &s.core;
    let mut ids: Vec<UserId> = sessions.iter().map(|s| s.user_id).collect();
    ids.sort_unstable();
    ids.dedup();
    let names = core.user_names(&ids).await?;
    let now = core.now();
    let domain = &s.cfg.pam.domain;
    Ok(sessions
        .iter()
        .map(|x| {
            let name = names.get(&x.user_id).map(String::as_str).unwrap_or("");
            views::with_pam_name(
                views::session(
                    x,
                    core.last_active_of(x),
                    name,
                    now,
                    p.session_id().unwrap_or(""),
                ),
                domain,
            )
            .into_owned()
        })
        .collect())
}

#[utoipa::path(
    get,
    path = "/api/v1/sessions/{id}",
    tag = "sessions",
    summary = "One session",
    params(("id" = String, Path, description = "Session id")),
    responses((status = 200, body = api::SessionView), super::openapi::Errors),
    security(("bearer" = [])),
)]
pub async fn show(
    State(s): State<AppState>,
    Caller(p, ..): Caller<Native>,
    ApiPath(id, _): ApiPath<String, Native>,
) -> NativeResult<Json<api::SessionView<'static>>> {
    let session = s.core.get_session(&p, &id).await?;
    Ok(Json(render(&s, &p, &[session]).await?.remove(0)))
}

#[utoipa::path(
    delete,
    path = "/api/v1/sessions/{id}",
    tag = "sessions",
    summary = "End a session (another user's with PRIVILEGE_SESSION_WRITE)",
    params(("id" = String, Path, description = "Session id")),
    responses((status = 200, body = api::SessionView), super::openapi::Errors),
    security(("bearer" = [])),
)]
pub async fn revoke(
    State(s): State<AppState>,
    Caller(p, ..): Caller<Native>,
    ApiPath(id, _): ApiPath<String, Native>,
) -> NativeResult<Json<api::SessionView<'static>>> {
    let session = s.core.revoke_session(&p, &id).await?;
    Ok(Json(render(&s, &p, &[session]).await?.remove(0)))
}

#[utoipa::path(
    patch,
    path = "/api/v1/sessions/{id}",
    tag = "sessions",
    summary = "Give an active session a new end (PRIVILEGE_SESSION_WRITE)",
    params(("id" = String, Path, description = "Session id")),
    request_body = api::SessionChange,
    responses((status = 200, body = api::SessionView), super::openapi::Errors),
    security(("bearer" = [])),
)]
pub async fn change(
    State(s): State<AppState>,
    Caller(p, ..): Caller<Native>,
    ApiPath(id, _): ApiPath<String, Native>,
    ApiJson(c, _): ApiJson<api::SessionChange, Native>,
) -> NativeResult<Json<api::SessionView<'static>>> {
    let session = s.core.set_session_expiry(&p, &id, c.expires_at).await?;
    Ok(Json(render(&s, &p, &[session]).await?.remove(0)))
}

#[utoipa::path(
    delete,
    path = "/api/v1/users/{id}/sessions",
    tag = "sessions",
    summary = "End every session of one user (PRIVILEGE_SESSION_WRITE)",
    params(("id" = i64, Path, description = "User id")),
    responses((status = 200, body = api::RevokeOthersResponse), super::openapi::Errors),
    security(("bearer" = [])),
)]
pub async fn revoke_user(
    State(s): State<AppState>,
    Caller(p, ..): Caller<Native>,
    ApiPath(id, _): ApiPath<i64, Native>,
) -> NativeResult<Json<api::RevokeOthersResponse>> {
    let revoked = s.core.revoke_user_sessions(&p, id).await?;
    Ok(Json(api::RevokeOthersResponse { revoked }))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    #[param(value_type = Option<String>, pattern = "^(login|login_failed|logout|revoke|session_ended|denied|user_created|user_changed|user_deleted|password_changed|roles_changed|role_changed|group_changed|access_token_created|access_token_changed|access_token_deleted|account_locked|session_changed|webhook_changed)$")]
    kind: Option<String>,
    /// A user id or name: the events that user caused.
    user: Option<String>,
    #[param(value_type = Option<String>, format = DateTime)]
    since: Option<String>,
    #[param(value_type = Option<i64>, minimum = 0)]
    limit: Option<u32>,
}

#[utoipa::path(
    get,
    path = "/api/v1/audit",
    tag = "audit",
    summary = "The audit log",
    params(AuditQuery),
    responses((status = 200, body = api::AuditList), super::openapi::Errors),
    security(("bearer" = [])),
)]
pub async fn audit(
    State(s): State<AppState>,
    Caller(p, ..): Caller<Native>,
    ApiQuery(q, _): ApiQuery<AuditQuery, Native>,
) -> NativeResult<Json<api::AuditList>> {
    let kind = q
        .kind
        .as_deref()
        .map(|k| {
            AuditKind::parse(k).ok_or_else(|| {
                let kinds: Vec<&str> = AuditKind::ALL.iter().map(|k| k.as_str()).collect();
                NativeError::bad_request(format!("kind must be one of {}", kinds.join(", ")))
            })
        })
        .transpose()?;
    let since = q
        .since
        .as_deref()
        .map(|t| {
            OffsetDateTime::parse(t, &Rfc3339)
                .map_err(|_| NativeError::bad_request("since must be an RFC 3339 time"))
        })
        .transpose()?;
    let actor_id = match q.user.as_deref() {
        Some(u) => Some(resolve_user(&s.core, u).await?),
        None => None,
    };
    let filter = AuditFilter {
        actor_id,
        kind,
        since,
        limit: q.limit,
    };
    let events = s.core.list_audit(&p, &filter).await?;
    Ok(Json(api::AuditList {
        events: events.iter().map(views::audit).collect(),
    }))
}
