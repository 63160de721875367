//! RFC 7662 token introspection and RFC 7009 token revocation, for resource servers and API
//! gateways that trust sessiond's tokens (of any dialect): `POST /api/v1/introspect` and
//! `POST /api/v1/revoke`, each with a form body `token=…` and the caller's own Bearer token
//! (a user or access token holding `PRIVILEGE_TOKEN_INTROSPECT`). Errors are OAuth's
//! (RFC 6749 §5.2): `{"error","error_description"}`, with RFC 6750's `WWW-Authenticate`.

use axum::extract::State;
use axum::http::request::Parts;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::{IntoResponses, ToSchema};

use crate::dialect::{Credential, Dialect, Failure, Mount};
use crate::extract::{bearer, ApiForm, Caller};
use crate::problem::{Kind, Problem};
use crate::state::{AppState, ServerConfig};

/// The two OAuth endpoints, an error shape of their own.
pub struct OAuth;

pub type OAuthResult<T> = Result<T, Failure<OAuth>>;

pub const INTROSPECT: &str = "/api/v1/introspect";
pub const REVOKE: &str = "/api/v1/revoke";

impl Dialect for OAuth {
    const NAME: &'static str = "oauth";
    const CLIENT_TYPE: &'static str = "API";
    type Detail = ();

    fn mounts(_: &ServerConfig) -> Vec<Mount> {
        vec![
            Mount::new(INTROSPECT).route("", post(introspect)),
            Mount::new(REVOKE).route("", post(revoke)),
        ]
    }

    fn credential(parts: &Parts, _: &ServerConfig) -> Result<Option<Credential>, Failure<Self>> {
        bearer(&parts.headers)
    }

    fn render(problem: &Problem, _: &()) -> Response {
        render(problem)
    }
}

/// RFC 6749 §5.2's codes, and RFC 6750's for the caller's own token.
fn code(kind: Kind) -> &'static str {
    match kind {
        Kind::Unauthorized => "invalid_token",
        Kind::Forbidden => "insufficient_scope",
        Kind::TooManyRequests | Kind::Unavailable => "temporarily_unavailable",
        Kind::Internal => "server_error",
        Kind::BadRequest
        | Kind::NotFound
        | Kind::MethodNotAllowed
        | Kind::RequestTimeout
        | Kind::Conflict
        | Kind::PayloadTooLarge
        | Kind::UnsupportedMediaType => "invalid_request",
    }
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: &'static str,
    error_description: &'a str,
}

fn render(p: &Problem) -> Response {
    let mut resp = (
        p.status(),
        Json(ErrorBody {
            error: code(p.kind),
            error_description: &p.message,
        }),
    )
        .into_response();
    let challenge = match p.kind {
        Kind::Unauthorized => Some("Bearer realm=\"sessiond\", error=\"invalid_token\""),
        Kind::Forbidden => Some(
            "Bearer realm=\"sessiond\", error=\"insufficient_scope\", \
             scope=\"PRIVILEGE_TOKEN_INTROSPECT\"",
        ),
        _ => None,
    };
    if let Some(c) = challenge {
        resp.headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(c));
    }
    no_store(resp)
}

/// Answers about tokens are never cached (RFC 6749 §5.1).
fn no_store(mut resp: Response) -> Response {
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

/// The form both endpoints take. Other parameters, `token_type_hint` among them, are
/// accepted and ignored, as the RFCs allow: sessiond tells its tokens apart by themselves.
#[derive(Deserialize, ToSchema)]
pub struct TokenForm {
    /// A session or access token of any dialect (a Commvault one with or without `QSDK `).
    pub(crate) token: String,
}

/// RFC 7662 §2.2's answer, for the OpenAPI document: `active`, and the rest only when it
/// is true (`sid` and `client_id` only for a session).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct Introspection {
    active: bool,
    /// The user's id.
    sub: Option<String>,
    username: Option<String>,
    /// Seconds since the epoch; absent when the token does not expire.
    exp: Option<i64>,
    iat: Option<i64>,
    client_id: Option<String>,
    /// The user's privileges, space-separated.
    scope: Option<String>,
    token_type: Option<String>,
    /// The session's id.
    sid: Option<String>,
}

/// OAuth's error envelope (RFC 6749 §5.2), for the OpenAPI document.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct OAuthError {
    /// `invalid_request`, `invalid_token`, `insufficient_scope`, `temporarily_unavailable`
    /// or `server_error`.
    error: String,
    error_description: String,
}

/// What either endpoint may fail with.
#[derive(IntoResponses)]
#[allow(dead_code)]
pub enum Errors {
    /// No `token` in the form, or a malformed form.
    #[response(status = 400)]
    BadRequest(OAuthError),
    /// The caller's own token is missing or not valid.
    #[response(status = 401)]
    Unauthorized(OAuthError),
    /// The caller lacks `PRIVILEGE_TOKEN_INTROSPECT`.
    #[response(status = 403)]
    Forbidden(OAuthError),
    #[response(status = 408)]
    RequestTimeout(OAuthError),
    #[response(status = 413)]
    PayloadTooLarge(OAuthError),
    /// Not `application/x-www-form-urlencoded`.
    #[response(status = 415)]
    UnsupportedMediaType(OAuthError),
    #[response(status = 503)]
    Unavailable(OAuthError),
}

/// The token itself: a Commvault client holds its token with the `QSDK ` scheme before it.
pub(crate) fn presented(form: &TokenForm) -> &str {
    crate::dialects::commvault::strip_scheme(&form.token)
}

/// An active token, RFC 7662 §2.2; `sid` names the session (absent for an access token).
#[derive(Serialize)]
struct Active<'a> {
    active: bool,
    sub: String,
    username: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    exp: Option<i64>,
    iat: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_id: Option<&'a str>,
    scope: &'a str,
    token_type: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    sid: Option<&'a str>,
}

#[utoipa::path(
    post,
    path = "/api/v1/introspect",
    tag = "oauth",
    summary = "RFC 7662: whether a token is live, and whose it is",
    request_body(content = TokenForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, body = Introspection), Errors),
    security(("bearer" = [])),
)]
pub async fn introspect(
    State(s): State<AppState>,
    Caller(caller, ..): Caller<OAuth>,
    ApiForm(form, _): ApiForm<TokenForm, OAuth>,
) -> OAuthResult<Response> {
    let Some(p) = s.core.introspect(&caller, presented(&form)).await? else {
        return Ok(no_store(
            Json(serde_json::json!({"active": false})).into_response(),
        ));
    };
    let scope = p
        .privileges
        .iter()
        .map(|x| x.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    let (iat, exp, client_id, sid) = match (p.session(), p.access_token()) {
        (Some(sess), _) => (
            sess.login_time(),
            sess.expires_at(),
            // The app that opened it on the user's behalf, else the kind of client.
            Some(sess.actor().unwrap_or(sess.client_type())),
            Some(sess.id()),
        ),
        (None, Some(t)) => (t.creation_time, t.expiration_time, None, None),
        (None, None) => return Err(Failure::new(Kind::Internal, "a credential of no kind")),
    };
    let body = Active {
        active: true,
        sub: p.user.id.to_string(),
        username: &p.user.name,
        exp: exp.map(|t| t.unix_timestamp()),
        iat: iat.unix_timestamp(),
        client_id,
        scope: &scope,
        token_type: "Bearer",
        sid,
    };
    Ok(no_store(crate::sized_json::json(&body, 512 + scope.len())))
}

/// 200 with an empty body, whether or not the token was live (RFC 7009 §2.2).
#[utoipa::path(
    post,
    path = "/api/v1/revoke",
    tag = "oauth",
    summary = "RFC 7009: end the session behind a token, or delete the access token",
    request_body(content = TokenForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, description = "Revoked, or was not live"), Errors),
    security(("bearer" = [])),
)]
pub async fn revoke(
    State(s): State<AppState>,
    Caller(caller, ..): Caller<OAuth>,
    ApiForm(form, _): ApiForm<TokenForm, OAuth>,
) -> OAuthResult<Response> {
    s.core.revoke_token(&caller, presented(&form)).await?;
    Ok(no_store(().into_response()))
}
