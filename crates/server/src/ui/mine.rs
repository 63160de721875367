//! "My sessions": where the signed-in person is signed in, and signing out of the others.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{html, Markup};
use serde::Deserialize;
use sessiond_core::model::{Session, SessionFilter, SessionState};
use time::OffsetDateTime;

use super::csrf::Form;
use super::login::Nothing;
use super::page::{answer, hidden_csrf, layout, when, Nav};
use super::{UiError, UiResult, Viewer};
use crate::extract::{ApiPath, ApiQuery};
use crate::state::AppState;

#[derive(Deserialize, Default)]
pub struct Notice {
    done: Option<String>,
}

/// What a finished change says on the page it returns to.
pub fn notice_text(done: Option<&str>) -> Option<&'static str> {
    match done? {
        "revoked" => Some("The session was signed out."),
        "others" => Some("Every other session was signed out."),
        "user" => Some("Every session of that user was signed out."),
        "saved" => Some("Saved."),
        "created" => Some("The user was created."),
        "unlocked" => Some("The lock-out was cleared."),
        _ => None,
    }
}

pub async fn page(
    State(s): State<AppState>,
    viewer: Viewer,
    ApiQuery(q, _): ApiQuery<Notice, super::Ui>,
) -> UiResult<Response> {
    let p = &viewer.principal;
    let filter = SessionFilter {
        user_id: Some(p.user.id),
        state: SessionState::Active,
        ..SessionFilter::default()
    };
    let sessions = s.core.list_sessions(p, &filter).await?;
    let now = s.core.now();
    let current = p.session_id().unwrap_or("");
    let others = sessions.iter().filter(|x| x.id != current).count();
    let body = html! {
        @if let Some(text) = notice_text(q.done.as_deref()) {
            p.notice role="status" { (text) }
        }
        p.muted { "Where you are signed in as " strong { (p.user.name) } " right now." }
        ul.sessions {
            @for x in sessions.iter() {
                (session_item(&s, x, now, x.id == current, &viewer.csrf))
            }
        }
        @if others > 0 {
            form method="post" action="/ui/sessions/others/revoke" {
                (hidden_csrf(&viewer.csrf))
                p { button.danger type="submit" { "Sign out everywhere else" } }
            }
        }
    };
    let nav = Nav {
        principal: p,
        csrf: &viewer.csrf,
    };
    Ok(answer(
        StatusCode::OK,
        layout("My sessions", Some(&nav), body),
    ))
}

fn session_item(
    s: &AppState,
    x: &Session,
    now: OffsetDateTime,
    current: bool,
    csrf: &str,
) -> Markup {
    html! {
        li.session data-session-id=(x.id) data-current=[current.then_some("true")] {
            div {
                span.title { (x.client_type) }
                @if current { span.badge { "this browser" } }
                dl {
                    dt { "Client" } dd { (x.client_name) }
                    dt { "Client type" } dd { (x.client_type) }
                    dt { "Server" } dd { (x.server) }
                    dt { "Signed in with" } dd { (x.auth_method.as_str().replace('_', " ")) }
                    dt { "Signed in" } dd { (when(now, x.login_time)) }
                    dt { "Last activity" } dd { (when(now, s.core.last_active_of(x))) }
                }
            }
            div {
                @if !current {
                    form.inline method="post" action=(format!("/ui/sessions/{}/revoke", x.id)) {
                        (hidden_csrf(csrf))
                        button.danger type="submit" { "Sign out" }
                    }
                }
            }
        }
    }
}

/// Signs out one of the person's own sessions (another user's is "not found" here, as on
/// the API for someone who may not see it).
pub async fn revoke(
    State(s): State<AppState>,
    viewer: Viewer,
    ApiPath(id, _): ApiPath<String, super::Ui>,
    Form(_): Form<Nothing>,
) -> UiResult<Response> {
    let p = &viewer.principal;
    let session = s.core.get_session(p, &id).await;
    match session {
        Ok(x) if x.user_id == p.user.id => {}
        _ => return Err(UiError::not_found("There is no such session of yours.")),
    }
    s.core.revoke_session(p, &id).await?;
    Ok(Redirect::to("/ui/sessions?done=revoked").into_response())
}

pub async fn revoke_others(
    State(s): State<AppState>,
    viewer: Viewer,
    Form(_): Form<Nothing>,
) -> UiResult<Response> {
    s.core.revoke_other_sessions(&viewer.principal).await?;
    Ok(Redirect::to("/ui/sessions?done=others").into_response())
}
