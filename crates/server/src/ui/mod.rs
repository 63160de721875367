//! Web pages under `/ui`: a person's own sessions, and the admins' views of every session,
//! user, audit event and file server. Rendered on the server (maud, compiled into the
//! binary), usable without JavaScript, styled by one stylesheet shipped in the binary.
//!
//! The pages are one more dialect: their credential is the page session's cookie (a
//! sessiond session like any other, opened by the sign-in form), their errors are HTML
//! pages, and a request without a live session is sent to the sign-in page. Every change is
//! a POST form carrying a CSRF token bound to the session (`csrf`).

mod admin;
pub(crate) mod csrf;
mod login;
mod mine;
pub(crate) mod page;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::Response;
use axum::routing::{get, post};
use sessiond_core::{AuthFailure, CoreError, Principal};
use tower::ServiceExt as _;

use crate::dialect::{Credential, Dialect, Failure, Mount, Service};
use crate::problem::Problem;
use crate::state::{AppState, ServerConfig};

pub struct Ui;

pub type UiError = Failure<Ui>;
pub type UiResult<T> = Result<T, UiError>;

/// The page session's cookie, scoped to `/ui`.
pub const COOKIE: &str = "sessiond_ui";

/// The longest cookie value read; longer ones are ignored before any look-up.
const MAX_TOKEN: usize = 512;

impl Dialect for Ui {
    const NAME: &'static str = "ui";
    const CLIENT_TYPE: &'static str = "Web browser";
    type Detail = ();

    fn mounts(_: &ServerConfig) -> Vec<Mount> {
        let pages = Mount::new("/ui")
            .route("", get(login::root))
            .route("/", get(login::root))
            .route("/style.css", get(page::style))
            .route("/login", get(login::form).post(login::submit))
            .route("/logout", post(login::logout))
            .route("/sessions", get(mine::page))
            .route("/sessions/others/revoke", post(mine::revoke_others))
            .route("/sessions/{id}/revoke", post(mine::revoke))
            .route("/admin/sessions", get(admin::sessions))
            .route("/admin/sessions/{id}/revoke", post(admin::revoke))
            .route("/admin/users", get(admin::users).post(admin::create_user))
            .route("/admin/users/{id}/enabled", post(admin::set_enabled))
            .route("/admin/users/{id}/roles", post(admin::set_roles))
            .route(
                "/admin/users/{id}/sessions/revoke",
                post(admin::revoke_user),
            )
            .route("/admin/lockouts/clear", post(admin::clear_lockout))
            .route("/admin/audit", get(admin::audit))
            .route("/admin/servers", get(admin::servers));
        vec![pages]
    }

    fn credential(parts: &Parts, _: &ServerConfig) -> Result<Option<Credential>, UiError> {
        Ok(cookie_token(&parts.headers).map(|t| Credential::Token(t.to_owned())))
    }

    fn render(problem: &Problem, _: &()) -> Response {
        page::error(problem)
    }

    /// Every page, error or not, with the headers that keep it from being framed, leaking
    /// its address, running foreign code or being cached.
    fn wrap(service: Service, _: &AppState) -> Service {
        Service::new(service.map_response(|mut resp: Response| {
            let h = resp.headers_mut();
            h.insert(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(
                    "default-src 'none'; style-src 'self'; img-src 'self'; \
                     form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
                ),
            );
            h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
            h.insert(
                header::REFERRER_POLICY,
                HeaderValue::from_static("same-origin"),
            );
            h.insert(
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            );
            h.entry(header::CACHE_CONTROL)
                .or_insert(HeaderValue::from_static("no-store"));
            resp
        }))
    }
}

/// The page session's token from the `Cookie` header, if it carries a plausible one.
pub fn cookie_token(headers: &HeaderMap) -> Option<&str> {
    crate::extract::cookie(headers, COOKIE)
        .map(str::trim)
        .filter(|v| !v.is_empty() && v.len() <= MAX_TOKEN && v.is_ascii())
}

/// The signed-in person behind a page request, with the CSRF token their forms carry.
pub struct Viewer {
    pub principal: Principal,
    pub csrf: String,
}

impl FromRequestParts<AppState> for Viewer {
    type Rejection = UiError;

    async fn from_request_parts(parts: &mut Parts, s: &AppState) -> Result<Self, Self::Rejection> {
        let token = cookie_token(&parts.headers).ok_or_else(|| {
            UiError::from(CoreError::Unauthenticated(AuthFailure::MissingCredentials))
        })?;
        let principal = s.core.authenticate(token).await?;
        Ok(Viewer {
            csrf: csrf::token_for(token),
            principal,
        })
    }
}
