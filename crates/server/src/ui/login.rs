//! Signing in and out of the pages. The page session is a sessiond session like any other
//! (auth method "password", the browser as its client type); its token lives only in an
//! HttpOnly, SameSite=Strict cookie scoped to `/ui`.

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use serde::Deserialize;
use sessiond_core::model::{console_type, AuthMethod};
use sessiond_core::LoginContext;
use time::OffsetDateTime;

use super::csrf::{self, Form};
use super::page::{self, answer, layout};
use super::{cookie_token, UiResult, Viewer, COOKIE};
use crate::extract::ClientInfo;
use crate::problem::{classify, Kind, Problem};
use crate::state::AppState;

/// `/ui/`: to the sessions when signed in, else to the sign-in form.
pub async fn root(State(s): State<AppState>, req: Request) -> Response {
    let signed_in = match cookie_token(req.headers()) {
        Some(token) => s.core.authenticate(token).await.is_ok(),
        None => false,
    };
    Redirect::to(if signed_in {
        "/ui/sessions"
    } else {
        "/ui/login"
    })
    .into_response()
}

pub async fn form() -> Response {
    login_page(StatusCode::OK, None, "")
}

fn login_page(status: StatusCode, problem: Option<&Problem>, username: &str) -> Response {
    let body = html! {
        @if let Some(p) = problem {
            p.error role="alert" { (p.message) }
        }
        form.login method="post" action="/ui/login" {
            label { "User name" input type="text" name="username" value=(username) autocomplete="username" required autofocus; }
            label { "Password" input type="password" name="password" autocomplete="current-password" required; }
            button type="submit" { "Sign in" }
        }
    };
    answer(status, layout("Sign in", None, body))
}

/// Checks the form's user name and password exactly as every dialect's login does (the
/// same throttling, lock-out and audit), then sets the cookie.
pub async fn submit(
    State(s): State<AppState>,
    client: ClientInfo,
    req: Request,
) -> UiResult<Response> {
    let (_, pairs) = csrf::pairs(req, &s).await?;
    let field = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let (username, password) = (field("username"), field("password"));
    // Over HTTPS: served so, or said so by a trusted proxy that terminated TLS.
    let https = s.cfg.https || client.https == Some(true);
    let ctx = LoginContext {
        via: "ui",
        client_name: client.address,
        client_type: client
            .user_agent
            .as_deref()
            .map(page::browser)
            .unwrap_or_else(|| "Web browser".into()),
        console_type: console_type::WEB_CONSOLE,
        transport: Some(if https { "HTTPS" } else { "HTTP" }.into()),
        auth_method: AuthMethod::Password,
    };
    match s.core.login(&username, &password, ctx).await {
        Ok(out) => {
            let mut resp = Redirect::to("/ui/sessions").into_response();
            let cookie = session_cookie(
                out.token.expose(),
                out.session.expires_at,
                s.core.now(),
                https,
            );
            resp.headers_mut().insert(header::SET_COOKIE, cookie);
            Ok(resp)
        }
        Err(e) => {
            let problem = classify(e);
            let shown_name = if problem.kind == Kind::Unauthorized {
                username.as_str()
            } else {
                ""
            };
            let mut resp = login_page(problem.status(), Some(&problem), shown_name);
            if let Some(secs) = problem.retry_after {
                resp.headers_mut()
                    .insert(header::RETRY_AFTER, secs.max(1).into());
            }
            Ok(resp)
        }
    }
}

fn session_cookie(
    token: &str,
    expires_at: Option<OffsetDateTime>,
    now: OffsetDateTime,
    secure: bool,
) -> HeaderValue {
    let mut cookie = format!("{COOKIE}={token}; Path=/ui; HttpOnly; SameSite=Strict");
    if let Some(at) = expires_at {
        cookie.push_str(&format!("; Max-Age={}", (at - now).whole_seconds().max(0)));
    }
    if secure {
        cookie.push_str("; Secure");
    }
    HeaderValue::from_str(&cookie).expect("a token is visible ASCII")
}

fn cleared_cookie(secure: bool) -> HeaderValue {
    let mut cookie = format!("{COOKIE}=; Path=/ui; HttpOnly; SameSite=Strict; Max-Age=0");
    if secure {
        cookie.push_str("; Secure");
    }
    HeaderValue::from_str(&cookie).expect("ASCII")
}

#[derive(Deserialize)]
pub struct Nothing {}

/// Ends the page's own session and forgets its cookie.
pub async fn logout(
    State(s): State<AppState>,
    viewer: Viewer,
    Form(_): Form<Nothing>,
) -> UiResult<Response> {
    s.core.logout(&viewer.principal).await?;
    let mut resp = Redirect::to("/ui/login").into_response();
    resp.headers_mut()
        .insert(header::SET_COOKIE, cleared_cookie(s.cfg.https));
    Ok(resp)
}
