//! Network sessions (seed 004, Windows `NetSessionGetInfo`, with `NetSessionEnum` and
//! `NetSessionDel`) over a fleet of servers, beside the native API (`/api/v1/net` and
//! `/api/v1/servers`): servers report their client sessions, and the three calls answer
//! with Windows' levels, filters, paging and statuses.

mod error;
mod levels;
mod report;

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::State;
use axum::http::request::Parts;
use axum::response::Response;
use axum::routing::{get, patch};
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sessiond_core::model::{Session, UserId};
use sessiond_core::service::computer_name;
use sessiond_core::{Core, Principal};

use crate::dialect::{Credential, Dialect, Failure, Mount};
use crate::extract::{bearer, ApiQuery, Caller};
use crate::problem::{Kind, Problem};
use crate::state::{AppState, ServerConfig};
pub use error::WinStatus;
use levels::{entry_size, info, is_detailed, Info, LEVELS};

/// Windows' network-session calls over HTTP: `Authorization: Bearer`, errors as
/// `{"status","name","message"}` with the Windows status.
pub struct NetSession;

pub type NetError = Failure<NetSession>;
pub type NetResult<T> = Result<T, NetError>;

impl Dialect for NetSession {
    const NAME: &'static str = "netsession";
    const CLIENT_TYPE: &'static str = "API";
    /// The Windows status, when the failure has a more precise one than its kind's.
    type Detail = Option<WinStatus>;

    fn mounts(_: &ServerConfig) -> Vec<Mount> {
        let api = sessiond_api::PREFIX;
        let net = Mount::new(format!("{api}/net"))
            .route("/session", get(get_info))
            .route("/sessions", get(enumerate).delete(delete));
        let servers = Mount::new(format!("{api}/servers"))
            .route("/{server}/sessions", get(report::list).post(report::report))
            .route(
                "/{server}/sessions/{id}",
                patch(report::update).delete(report::close),
            );
        vec![net, servers]
    }

    fn credential(parts: &Parts, _: &ServerConfig) -> Result<Option<Credential>, NetError> {
        bearer(&parts.headers)
    }

    fn render(problem: &Problem, status: &Option<WinStatus>) -> Response {
        error::render(problem, status)
    }
}

/// `server` absent: this one. Malformed (400) or unknown (404): `NERR_InvalidComputer`.
async fn resolve_server(core: &Core, server: Option<&str>) -> NetResult<String> {
    let Some(raw) = server.filter(|s| !s.is_empty()) else {
        return Ok(core.server_name().to_owned());
    };
    let name = computer_name(raw).ok_or_else(|| {
        NetError::win(
            Kind::BadRequest,
            WinStatus::InvalidComputer,
            format!("The computer name {raw} is not valid."),
        )
    })?;
    if !core.server_exists(&name).await? {
        return Err(NetError::win(
            Kind::NotFound,
            WinStatus::InvalidComputer,
            format!("The computer name {raw} names no known server."),
        ));
    }
    Ok(name)
}

fn parse_level(level: Option<&str>) -> NetResult<u32> {
    let raw = level.ok_or_else(|| NetError::invalid_parameter("level is required"))?;
    raw.parse::<u32>()
        .ok()
        .filter(|l| LEVELS.contains(l))
        .ok_or_else(|| {
            NetError::win(
                Kind::BadRequest,
                WinStatus::InvalidLevel,
                format!("The level {raw} is not valid; use 0, 1, 2, 10 or 502."),
            )
        })
}

async fn check_level(core: &Core, p: &Principal, level: u32) -> NetResult<()> {
    if is_detailed(level) {
        core.require_server_operator(p).await.map_err(|_| {
            NetError::win(
                Kind::Forbidden,
                WinStatus::AccessDenied,
                format!("Level {level} needs membership in Administrators or Server Operators."),
            )
        })?;
    }
    Ok(())
}

#[derive(Deserialize)]
pub struct Query {
    server: Option<String>,
    client: Option<String>,
    user: Option<String>,
    level: Option<String>,
    prefmaxlen: Option<i64>,
    resume: Option<usize>,
}

/// The sessions a request picked out of the server's kept list (shared, not copied),
/// oldest first as Windows lists them, with the names of their users.
struct Matching {
    all: Arc<Vec<Session>>,
    /// Indices into `all`.
    picked: Vec<usize>,
    names: HashMap<UserId, String>,
}

impl Matching {
    fn sessions(&self) -> impl Iterator<Item = &Session> {
        self.picked.iter().map(|i| &self.all[*i])
    }

    fn len(&self) -> usize {
        self.picked.len()
    }

    fn name_of(&self, s: &Session) -> &str {
        self.names.get(&s.user_id).map(String::as_str).unwrap_or("")
    }
}

/// The sessions on `server` matching `client` and `user` (each optional), with the names
/// of their users; Windows' not-found statuses when a filter matches nothing.
async fn matching(
    core: &Core,
    p: &Principal,
    server: &str,
    client: Option<&str>,
    user: Option<&str>,
) -> NetResult<Matching> {
    let client = client
        .filter(|c| !c.is_empty())
        .map(|c| {
            computer_name(c)
                .ok_or_else(|| NetError::invalid_parameter(format!("{c:?} is not a computer name")))
        })
        .transpose()?;
    let user_id = match user.filter(|u| !u.is_empty()) {
        Some(u) => Some(
            core.find_user_by_name(u)
                .await?
                .ok_or_else(|| NetError::user_not_found(u))?
                .id,
        ),
        None => None,
    };
    // Kept newest first.
    let all = core.sessions_on(p, server).await?;
    let mut picked: Vec<usize> = (0..all.len()).rev().collect();
    if let Some(c) = &client {
        picked.retain(|i| all[*i].client_name.eq_ignore_ascii_case(c));
        if picked.is_empty() {
            return Err(NetError::client_not_found(&levels::unc(c)));
        }
    }
    if let Some(id) = user_id {
        picked.retain(|i| all[*i].user_id == id);
        if picked.is_empty() {
            return Err(NetError::user_not_found(user.unwrap_or_default()));
        }
    }
    let mut ids: Vec<UserId> = picked.iter().map(|i| all[*i].user_id).collect();
    ids.sort_unstable();
    ids.dedup();
    let names = core.user_names(&ids).await?;
    Ok(Matching { all, picked, names })
}

/// `NetSessionGetInfo`: `client` and `user` are both required.
pub async fn get_info(
    State(s): State<AppState>,
    Caller(p, ..): Caller<NetSession>,
    ApiQuery(q, _): ApiQuery<Query, NetSession>,
) -> NetResult<Json<Value>> {
    let server = resolve_server(&s.core, q.server.as_deref()).await?;
    let level = parse_level(q.level.as_deref())?;
    let (Some(client), Some(user)) = (q.client.as_deref(), q.user.as_deref()) else {
        return Err(NetError::invalid_parameter(
            "NetSessionGetInfo needs both client and user",
        ));
    };
    check_level(&s.core, &p, level).await?;
    let m = matching(&s.core, &p, &server, Some(client), Some(user)).await?;
    let Some(first) = m.sessions().next() else {
        return Err(NetError::user_not_found(user));
    };
    let live = s.core.last_active_of(first);
    Ok(Json(json!({
        "status": 0, "name": WinStatus::Success.name(), "server": server, "level": level,
        "info": info(level, first, m.name_of(first), live, s.core.now()),
    })))
}

/// `NetSessionEnum`'s answer, fields in alphabetical order (the order it always had).
#[derive(Serialize)]
struct Enumerated<'a> {
    entries: Vec<Info<'a>>,
    entries_read: usize,
    level: u32,
    name: &'static str,
    resume_handle: Option<usize>,
    server: &'a str,
    status: u32,
    total_entries: usize,
}

/// `NetSessionEnum`, with `prefmaxlen` (bytes; -1 or absent for all) and a resume handle.
/// Written here rather than returned: the entries borrow the sessions.
pub async fn enumerate(
    State(s): State<AppState>,
    Caller(p, ..): Caller<NetSession>,
    ApiQuery(q, _): ApiQuery<Query, NetSession>,
) -> NetResult<Response> {
    let server = resolve_server(&s.core, q.server.as_deref()).await?;
    let level = parse_level(q.level.as_deref())?;
    check_level(&s.core, &p, level).await?;
    let m = matching(&s.core, &p, &server, q.client.as_deref(), q.user.as_deref()).await?;
    let total = m.len();
    let start = q.resume.unwrap_or(0);
    if start > total {
        return Err(NetError::invalid_parameter(format!(
            "resume handle {start} is past the end ({total})"
        )));
    }
    let budget = match q.prefmaxlen {
        None | Some(-1) => i64::MAX,
        Some(n) if n >= 0 => n,
        Some(n) => {
            return Err(NetError::invalid_parameter(format!(
                "prefmaxlen {n} is not valid"
            )))
        }
    };
    let now = s.core.now();
    let mut used = 0i64;
    let mut chosen: Vec<&Session> = Vec::with_capacity(total - start);
    for sess in m.sessions().skip(start) {
        let size = entry_size(level, sess, m.name_of(sess));
        // At least one entry per call, as Windows returns, so paging always advances.
        if !chosen.is_empty() && used + size > budget {
            break;
        }
        used += size;
        chosen.push(sess);
    }
    let live = s.core.last_active_of_each(&chosen);
    let entries: Vec<Info> = chosen
        .iter()
        .zip(live)
        .map(|(sess, live)| info(level, sess, m.name_of(sess), live, now))
        .collect();
    let next = start + entries.len();
    let status = if next < total {
        WinStatus::MoreData
    } else {
        WinStatus::Success
    };
    // About 100 bytes an entry at level 10, a few hundred at the detailed levels.
    let capacity = 256 + entries.len() * if is_detailed(level) { 384 } else { 128 };
    Ok(crate::sized_json::json(
        &Enumerated {
            entries_read: entries.len(),
            entries,
            level,
            name: status.name(),
            resume_handle: (next < total).then_some(next),
            server: &server,
            status: status.code(),
            total_entries: total,
        },
        capacity,
    ))
}

/// `NetSessionDel`: every session matching `client`, `user` or both.
pub async fn delete(
    State(s): State<AppState>,
    Caller(p, ..): Caller<NetSession>,
    ApiQuery(q, _): ApiQuery<Query, NetSession>,
) -> NetResult<Json<Value>> {
    let server = resolve_server(&s.core, q.server.as_deref()).await?;
    let client = q.client.as_deref().filter(|c| !c.is_empty());
    let user = q.user.as_deref().filter(|u| !u.is_empty());
    if client.is_none() && user.is_none() {
        return Err(NetError::invalid_parameter(
            "NetSessionDel needs a client, a user or both",
        ));
    }
    s.core.require_server_operator(&p).await.map_err(|_| {
        NetError::win(
            Kind::Forbidden,
            WinStatus::AccessDenied,
            "Closing sessions needs Administrators or Server Operators.",
        )
    })?;
    let m = matching(&s.core, &p, &server, client, user).await?;
    let ids: Vec<String> = m.sessions().map(|x| x.id.clone()).collect();
    let closed = s.core.close_sessions(&p, &ids).await?;
    Ok(Json(json!({
        "status": 0, "name": WinStatus::Success.name(), "server": server, "closed": closed,
    })))
}
