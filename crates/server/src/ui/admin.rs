//! The admins' pages: every session (filtered as the API filters), users, the audit log and
//! the file servers' sessions. Administrators change; Observers read (the forms that need a
//! write privilege are not shown to them, and the core refuses them anyway). Anyone else
//! gets 403 on every page here.

use std::collections::{BTreeMap, HashMap};

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{html, Markup};
use serde::Deserialize;
use sessiond_core::model::{AuditFilter, AuditKind, Session, SessionFilter, SessionState, UserId};
use sessiond_core::service::{CreateUser, UserChanges};
use sessiond_core::{Principal, Privilege};

use super::csrf::Form;
use super::login::Nothing;
use super::mine::notice_text;
use super::page::{answer, hidden_csrf, layout, when, Nav};
use super::{Ui, UiError, UiResult, Viewer};
use crate::extract::{ApiPath, ApiQuery};
use crate::problem::Kind;
use crate::state::AppState;

fn require(p: &Principal, privilege: Privilege) -> UiResult<()> {
    if p.has(privilege) {
        Ok(())
    } else {
        Err(UiError::forbidden(
            "This page is for administrators. Your account may not open it.",
        ))
    }
}

fn page(viewer: &Viewer, title: &str, body: Markup) -> Response {
    let nav = Nav {
        principal: &viewer.principal,
        csrf: &viewer.csrf,
    };
    answer(StatusCode::OK, layout(title, Some(&nav), body))
}

fn notice(done: Option<&str>) -> Markup {
    html! {
        @if let Some(text) = notice_text(done) {
            p.notice role="status" { (text) }
        }
    }
}

/// An empty filter field means "any".
fn given(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

#[derive(Deserialize, Default)]
pub struct SessionQuery {
    user: Option<String>,
    server: Option<String>,
    client: Option<String>,
    state: Option<String>,
    done: Option<String>,
}

async fn user_id_named(s: &AppState, name: &str) -> UiResult<Option<UserId>> {
    Ok(s.core.find_user_by_name(name).await?.map(|u| u.id))
}

pub async fn sessions(
    State(s): State<AppState>,
    viewer: Viewer,
    ApiQuery(q, _): ApiQuery<SessionQuery, Ui>,
) -> UiResult<Response> {
    let p = &viewer.principal;
    require(p, Privilege::SESSION_READ)?;
    let state = match given(&q.state) {
        None => SessionState::Active,
        Some(v) => SessionState::parse(v)
            .ok_or_else(|| UiError::bad_request("state must be active, ended or all"))?,
    };
    let user_filter = given(&q.user);
    let user_id = match user_filter {
        Some(name) => match user_id_named(&s, name).await? {
            Some(id) => Some(id),
            // No such user: an empty list, as for a user without sessions.
            None => Some(UserId::MIN),
        },
        None => None,
    };
    let filter = SessionFilter {
        user_id,
        server: given(&q.server).map(str::to_owned),
        client_name: given(&q.client).map(|c| c.trim_start_matches('\\').to_owned()),
        state,
        limit: None,
    };
    let sessions = s.core.list_sessions(p, &filter).await?;
    let names = names_of(&s, &sessions).await?;
    let now = s.core.now();
    let can_revoke = p.has(Privilege::SESSION_WRITE);
    let state_value = given(&q.state).unwrap_or("active");
    let body = html! {
        (notice(q.done.as_deref()))
        form.filters method="get" action="/ui/admin/sessions" {
            label { "User" input type="text" name="user" value=[user_filter]; }
            label { "Server" input type="text" name="server" value=[given(&q.server)]; }
            label { "Client" input type="text" name="client" value=[given(&q.client)]; }
            label { "State"
                select name="state" {
                    @for v in ["active", "ended", "all"] {
                        option value=(v) selected[v == state_value] { (v) }
                    }
                }
            }
            button.secondary type="submit" { "Filter" }
        }
        @if sessions.is_empty() {
            p.empty { "No sessions match." }
        } @else {
            table {
                thead { tr {
                    th { "User" } th { "Client" } th { "Client type" } th { "Server" }
                    th { "Signed in with" } th { "Signed in" } th { "Last activity" } th { "State" }
                    @if can_revoke { th { "" } }
                } }
                tbody {
                    @for x in sessions.iter() {
                        @let name = names.get(&x.user_id).map(String::as_str).unwrap_or("");
                        tr data-session-id=(x.id) {
                            td { a href=(format!("/ui/admin/sessions?user={}", urlencode(name))) { (name) } }
                            td { (x.client_name) }
                            td { (x.client_type) }
                            td { (x.server) }
                            td { (x.auth_method.as_str().replace('_', " ")) }
                            td { (when(now, x.login_time)) }
                            td { (when(now, s.core.last_active_of(x))) }
                            td {
                                @if x.is_active() { "active" } @else {
                                    "ended"
                                    @if let Some(why) = x.end_reason { " (" (why.as_str().replace('_', " ")) ")" }
                                }
                            }
                            @if can_revoke {
                                td.actions {
                                    @if x.is_active() {
                                        form method="post" action=(format!("/ui/admin/sessions/{}/revoke", x.id)) {
                                            (hidden_csrf(&viewer.csrf))
                                            button.danger type="submit" { "Revoke" }
                                        }
                                        " "
                                        form method="post" action=(format!("/ui/admin/users/{}/sessions/revoke", x.user_id)) {
                                            (hidden_csrf(&viewer.csrf))
                                            button.danger type="submit" { "Revoke all of " (name) }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(page(&viewer, "All sessions", body))
}

fn urlencode(v: &str) -> String {
    serde_urlencoded::to_string([("", v)])
        .map(|s| s.trim_start_matches('=').to_owned())
        .unwrap_or_default()
}

async fn names_of(s: &AppState, sessions: &[Session]) -> UiResult<HashMap<UserId, String>> {
    let mut ids: Vec<UserId> = sessions.iter().map(|x| x.user_id).collect();
    ids.sort_unstable();
    ids.dedup();
    Ok(s.core.user_names(&ids).await?)
}

pub async fn revoke(
    State(s): State<AppState>,
    viewer: Viewer,
    ApiPath(id, _): ApiPath<String, Ui>,
    Form(_): Form<Nothing>,
) -> UiResult<Response> {
    s.core.revoke_session(&viewer.principal, &id).await?;
    Ok(Redirect::to("/ui/admin/sessions?done=revoked").into_response())
}

pub async fn revoke_user(
    State(s): State<AppState>,
    viewer: Viewer,
    ApiPath(id, _): ApiPath<UserId, Ui>,
    Form(_): Form<Nothing>,
) -> UiResult<Response> {
    require(&viewer.principal, Privilege::SESSION_WRITE)?;
    s.core.revoke_user_sessions(&viewer.principal, id).await?;
    Ok(Redirect::to("/ui/admin/sessions?done=user").into_response())
}

#[derive(Deserialize, Default)]
pub struct Done {
    done: Option<String>,
}

pub async fn users(
    State(s): State<AppState>,
    viewer: Viewer,
    ApiQuery(q, _): ApiQuery<Done, Ui>,
) -> UiResult<Response> {
    let p = &viewer.principal;
    require(p, Privilege::LOCAL_USER_READ)?;
    let users = s.core.list_users(p).await?;
    let roles: Vec<String> = match s.core.list_roles(p).await {
        Ok(roles) => roles.into_iter().map(|r| r.name).collect(),
        Err(_) => Vec::new(),
    };
    let locks = s.core.login_locks(p).await?;
    let now = s.core.now();
    let can_write = p.has(Privilege::LOCAL_USER_WRITE);
    let can_roles = can_write && p.has(Privilege::ROLE_WRITE);
    let csrf = &viewer.csrf;
    let body = html! {
        (notice(q.done.as_deref()))
        @if can_write {
            h2 { "New user" }
            form.create method="post" action="/ui/admin/users" {
                (hidden_csrf(csrf))
                label { "User name" input type="text" name="name" required; }
                label { "Display name" input type="text" name="display_name"; }
                label { "Password" input type="password" name="password" autocomplete="new-password" required; }
                button type="submit" { "Create" }
            }
        }
        h2 { "Users" }
        table {
            thead { tr {
                th { "Name" } th { "Display name" } th { "Enabled" } th { "Roles" }
                @if can_write { th { "" } }
            } }
            tbody {
                @for u in &users {
                    tr data-user-id=(u.id) {
                        td { a href=(format!("/ui/admin/sessions?user={}", urlencode(&u.name))) { (u.name) } }
                        td { (u.profile.display_name.as_deref().unwrap_or("")) }
                        td { @if u.enabled { "yes" } @else { "no" } }
                        td {
                            @if can_roles {
                                form method="post" action=(format!("/ui/admin/users/{}/roles", u.id)) {
                                    (hidden_csrf(csrf))
                                    @for r in &roles {
                                        label { input type="checkbox" name="role" value=(r) checked[u.roles.contains(r)]; " " (r) } " "
                                    }
                                    button.secondary type="submit" { "Set roles" }
                                }
                            } @else {
                                (u.roles.join(", "))
                            }
                        }
                        @if can_write {
                            td.actions {
                                form method="post" action=(format!("/ui/admin/users/{}/enabled", u.id)) {
                                    (hidden_csrf(csrf))
                                    input type="hidden" name="enabled" value=(if u.enabled { "false" } else { "true" });
                                    @if u.enabled {
                                        button.danger type="submit" { "Disable" }
                                    } @else {
                                        button.secondary type="submit" { "Enable" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        h2 { "Locked out" }
        @if locks.is_empty() {
            p.empty { "Nobody is locked out." }
        } @else {
            table {
                thead { tr { th { "Name" } th { "Until" } @if can_write { th { "" } } } }
                tbody {
                    @for (name, until) in &locks {
                        tr {
                            td { (name) }
                            td { (when(now, *until)) }
                            @if can_write {
                                td.actions {
                                    form method="post" action="/ui/admin/lockouts/clear" {
                                        (hidden_csrf(csrf))
                                        input type="hidden" name="name" value=(name);
                                        button.secondary type="submit" { "Clear" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(page(&viewer, "Users", body))
}

#[derive(Deserialize)]
pub struct NewUser {
    name: String,
    password: String,
    #[serde(default)]
    display_name: String,
}

pub async fn create_user(
    State(s): State<AppState>,
    viewer: Viewer,
    Form(f): Form<NewUser>,
) -> UiResult<Response> {
    let mut req = CreateUser {
        name: f.name.trim().to_owned(),
        password: Some(f.password),
        ..CreateUser::default()
    };
    let display = f.display_name.trim();
    if !display.is_empty() {
        req.profile.display_name = Some(display.to_owned());
    }
    s.core.create_user(&viewer.principal, req).await?;
    Ok(Redirect::to("/ui/admin/users?done=created").into_response())
}

#[derive(Deserialize)]
pub struct Enabled {
    enabled: String,
}

pub async fn set_enabled(
    State(s): State<AppState>,
    viewer: Viewer,
    ApiPath(id, _): ApiPath<UserId, Ui>,
    Form(f): Form<Enabled>,
) -> UiResult<Response> {
    let enabled = match f.enabled.as_str() {
        "true" => true,
        "false" => false,
        _ => return Err(UiError::bad_request("enabled must be true or false")),
    };
    let changes = UserChanges {
        enabled: Some(enabled),
        ..UserChanges::default()
    };
    s.core.update_user(&viewer.principal, id, changes).await?;
    Ok(Redirect::to("/ui/admin/users?done=saved").into_response())
}

pub async fn set_roles(
    State(s): State<AppState>,
    viewer: Viewer,
    ApiPath(id, _): ApiPath<UserId, Ui>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> UiResult<Response> {
    let roles = pairs
        .into_iter()
        .filter(|(k, _)| k == "role")
        .map(|(_, v)| v)
        .collect();
    s.core.set_user_roles(&viewer.principal, id, roles).await?;
    Ok(Redirect::to("/ui/admin/users?done=saved").into_response())
}

#[derive(Deserialize)]
pub struct LockName {
    name: String,
}

pub async fn clear_lockout(
    State(s): State<AppState>,
    viewer: Viewer,
    Form(f): Form<LockName>,
) -> UiResult<Response> {
    s.core.unlock_login(&viewer.principal, &f.name).await?;
    Ok(Redirect::to("/ui/admin/users?done=unlocked").into_response())
}

#[derive(Deserialize, Default)]
pub struct AuditQuery {
    kind: Option<String>,
    user: Option<String>,
}

pub async fn audit(
    State(s): State<AppState>,
    viewer: Viewer,
    ApiQuery(q, _): ApiQuery<AuditQuery, Ui>,
) -> UiResult<Response> {
    let p = &viewer.principal;
    require(p, Privilege::AUDIT_READ)?;
    let kind = match given(&q.kind) {
        None => None,
        Some(k) => Some(AuditKind::parse(k).ok_or_else(|| {
            UiError::new(Kind::BadRequest, format!("there is no event kind {k:?}"))
        })?),
    };
    let user = given(&q.user);
    let actor_id = match user {
        Some(name) => Some(user_id_named(&s, name).await?.unwrap_or(UserId::MIN)),
        None => None,
    };
    let filter = AuditFilter {
        actor_id,
        kind,
        since: None,
        limit: Some(500),
    };
    let events = s.core.list_audit(p, &filter).await?;
    let now = s.core.now();
    let chosen = kind.map(AuditKind::as_str).unwrap_or("");
    let body = html! {
        form.filters method="get" action="/ui/admin/audit" {
            label { "Kind"
                select name="kind" {
                    option value="" selected[chosen.is_empty()] { "any" }
                    @for k in AuditKind::ALL {
                        option value=(k.as_str()) selected[k.as_str() == chosen] { (k.as_str()) }
                    }
                }
            }
            label { "User" input type="text" name="user" value=[user]; }
            button.secondary type="submit" { "Filter" }
        }
        @if events.is_empty() {
            p.empty { "No events match." }
        } @else {
            table {
                thead { tr {
                    th { "When" } th { "Kind" } th { "By" } th { "Subject" } th { "Client" } th { "Detail" }
                } }
                tbody {
                    @for e in &events {
                        tr data-audit-kind=(e.kind.as_str()) {
                            td { (when(now, e.time)) }
                            td { (e.kind.as_str()) }
                            td { (e.actor_name.as_deref().unwrap_or("")) }
                            td { (e.subject.as_deref().or(e.session_id.as_deref()).unwrap_or("")) }
                            td { (e.client.as_deref().unwrap_or("")) }
                            td { (e.detail) }
                        }
                    }
                }
            }
        }
    };
    Ok(page(&viewer, "Audit", body))
}

/// NetSession's view: each server and who is on it, as `net session` shows it.
pub async fn servers(State(s): State<AppState>, viewer: Viewer) -> UiResult<Response> {
    let p = &viewer.principal;
    require(p, Privilege::SESSION_READ)?;
    let filter = SessionFilter {
        state: SessionState::Active,
        ..SessionFilter::default()
    };
    let sessions = s.core.list_sessions(p, &filter).await?;
    let names = names_of(&s, &sessions).await?;
    let mut by_server: BTreeMap<String, Vec<&Session>> = BTreeMap::new();
    for x in sessions.iter() {
        by_server
            .entry(x.server.to_ascii_uppercase())
            .or_default()
            .push(x);
    }
    // As `net session` lists them: by computer, then user.
    let name_of = |x: &Session| names.get(&x.user_id).map(String::as_str).unwrap_or("");
    for list in by_server.values_mut() {
        list.sort_by(|a, b| {
            (a.client_name.as_str(), name_of(a), a.id.as_str()).cmp(&(
                b.client_name.as_str(),
                name_of(b),
                b.id.as_str(),
            ))
        });
    }
    let now = s.core.now();
    let body = html! {
        @if by_server.is_empty() {
            p.empty { "No server has an active session." }
        }
        @for (server, list) in &by_server {
            section data-server=(server) {
                h2 { "\\\\" (server) " " span.muted { "(" (list.len()) " session" @if list.len() != 1 { "s" } ")" } }
                table {
                    thead { tr {
                        th { "Computer" } th { "User name" } th { "Client type" } th { "Opens" } th { "Idle time" }
                    } }
                    tbody {
                        @for x in list {
                            tr data-session-id=(x.id) {
                                td { "\\\\" (x.client_name) }
                                td { (names.get(&x.user_id).map(String::as_str).unwrap_or("")) }
                                td { (x.client_type) }
                                td { (x.num_opens) }
                                td { (idle(now - s.core.last_active_of(x))) }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(page(&viewer, "Servers", body))
}

/// `net session`'s idle column: `HH:MM:SS`.
fn idle(d: time::Duration) -> String {
    let secs = d.whole_seconds().max(0);
    format!("{:02}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idle_reads_as_net_session_shows_it() {
        assert_eq!(idle(time::Duration::seconds(0)), "00:00:00");
        assert_eq!(idle(time::Duration::seconds(3_725)), "01:02:05");
        assert_eq!(idle(time::Duration::seconds(-5)), "00:00:00");
    }

    #[test]
    fn names_in_links_are_encoded() {
        assert_eq!(urlencode("a b&c"), "a+b%26c");
    }
}
