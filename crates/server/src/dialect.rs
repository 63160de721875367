//! What a dialect is: one product's API over the core, declared in one place by
//! implementing `Dialect` (where it is mounted, how a caller's credential is read, how an
//! error looks, and its routes), then mounted with `mount`.
//!
//! Every failure a dialect answers is a `Failure<D>`: a classified `Problem` (see
//! `problem`) that `D::render` dresses in the product's envelope. `mount` gives each
//! prefix the dialect's own 404 and 405, and a last line of defence (`shape_rejections`)
//! that re-dresses any error some layer answered in plain text, so that no client ever
//! reads a body in a shape its product never sends.

use std::fmt;

use axum::extract::{OriginalUri, Request};
use axum::http::request::Parts;
use axum::http::{header, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Router;
use sessiond_core::CoreError;

use crate::problem::{classify, Kind, Problem};
use crate::state::{AppState, ServerConfig};

/// How a request says who is behind it.
#[derive(Debug)]
pub enum Credential {
    /// A session or access token of any dialect.
    Token(String),
    /// A user name and password, checked on this request (HTTP Basic).
    Password { username: String, password: String },
    /// An HTTP Negotiate (SPNEGO/Kerberos) token.
    Negotiate(Vec<u8>),
}

/// A group of routes served under one path prefix.
pub struct Mount {
    pub prefix: String,
    pub routes: Router<AppState>,
}

impl Mount {
    pub fn new(prefix: impl Into<String>, routes: Router<AppState>) -> Self {
        Mount {
            prefix: prefix.into(),
            routes,
        }
    }
}

/// One product's API.
pub trait Dialect: Sized + Send + Sync + 'static {
    /// Names the dialect in logs.
    const NAME: &'static str;
    /// The client type recorded on sessions opened through this dialect when the client
    /// sends no User-Agent.
    const CLIENT_TYPE: &'static str;
    /// What an error of this dialect carries beyond the `Problem` (NetSession's Windows
    /// status); `()` for most.
    type Detail: Default + Send + Sync + 'static;

    /// Where the dialect is served, and its routes there: its table of contents.
    fn mounts(cfg: &ServerConfig) -> Vec<Mount>;

    /// The caller's credential as this product sends it; `Ok(None)` when there is none.
    /// A credential present but garbled is an error.
    fn credential(parts: &Parts, cfg: &ServerConfig) -> Result<Option<Credential>, Failure<Self>>;

    /// The product's error envelope: status, headers and body.
    fn render(problem: &Problem, detail: &Self::Detail) -> Response;

    /// Layers around every mount, outside the rejection shaping (Commvault's XML, PAM's
    /// challenges and CORS).
    fn wrap(routes: Router<AppState>, _state: &AppState) -> Router<AppState> {
        routes
    }
}

/// A failure answered in dialect `D`'s shape.
pub struct Failure<D: Dialect> {
    pub problem: Problem,
    pub detail: D::Detail,
}

impl<D: Dialect> Failure<D> {
    pub fn new(kind: Kind, message: impl Into<String>) -> Self {
        Problem::new(kind, message).into()
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(Kind::BadRequest, message)
    }

    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(Kind::Unauthorized, message)
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(Kind::Forbidden, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(Kind::NotFound, message)
    }

    pub fn with(mut self, detail: D::Detail) -> Self {
        self.detail = detail;
        self
    }

    pub fn status(&self) -> axum::http::StatusCode {
        self.problem.status()
    }
}

impl<D: Dialect> From<Problem> for Failure<D> {
    fn from(problem: Problem) -> Self {
        Failure {
            problem,
            detail: D::Detail::default(),
        }
    }
}

impl<D: Dialect> From<CoreError> for Failure<D> {
    fn from(e: CoreError) -> Self {
        classify(e).into()
    }
}

impl<D: Dialect> fmt::Debug for Failure<D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {:?}", D::NAME, self.problem)
    }
}

/// Marks a response as already in its dialect's shape.
#[derive(Clone, Copy)]
struct Shaped;

impl<D: Dialect> IntoResponse for Failure<D> {
    fn into_response(self) -> Response {
        let mut resp = D::render(&self.problem, &self.detail);
        if let Some(secs) = self.problem.retry_after {
            resp.headers_mut()
                .insert(axum::http::header::RETRY_AFTER, secs.max(1).into());
        }
        resp.extensions_mut().insert(Shaped);
        resp
    }
}

pub type DResult<T, D> = Result<T, Failure<D>>;

pub async fn not_found<D: Dialect>(OriginalUri(uri): OriginalUri) -> Failure<D> {
    Failure::not_found(format!("no such endpoint: {}", uri.path()))
}

pub async fn method_not_allowed<D: Dialect>(
    method: Method,
    OriginalUri(uri): OriginalUri,
) -> Failure<D> {
    Failure::new(
        Kind::MethodNotAllowed,
        format!("{method} is not allowed on {}", uri.path()),
    )
}

/// Re-dresses an error response that no dialect code produced (a framework rejection, a
/// layer's bare status) in `D`'s shape, keeping its status and its text as the message.
async fn shape_rejections<D: Dialect>(req: Request, next: Next) -> Response {
    let resp = next.run(req).await;
    let status = resp.status();
    if !(status.is_client_error() || status.is_server_error())
        || resp.extensions().get::<Shaped>().is_some()
    {
        return resp;
    }
    let (parts, body) = resp.into_parts();
    let text = axum::body::to_bytes(body, 4096)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_owned())
        .unwrap_or_default();
    let message = if text.is_empty() {
        status.canonical_reason().unwrap_or("error").to_owned()
    } else {
        text
    };
    let mut problem = Problem::new(Kind::of_status(status), message);
    if Kind::of_status(status) == Kind::Internal {
        tracing::error!(%status, message = %problem.message, "unshaped server error");
        problem.message = "internal error".into();
    }
    let mut shaped = Failure::<D>::from(problem).into_response();
    *shaped.status_mut() = status;
    if let Some(allow) = parts.headers.get(header::ALLOW) {
        shaped.headers_mut().insert(header::ALLOW, allow.clone());
    }
    shaped
}

/// Nests each of `D`'s mounts into `app`, with `D`'s own 404, 405 and rejection shape.
pub fn mount<D: Dialect>(mut app: Router<AppState>, state: &AppState) -> Router<AppState> {
    for m in D::mounts(&state.cfg) {
        let routes = shaped::<D>(m.routes, state);
        // `prefix/` with nothing after it matches no nested route: answer it here.
        let bare = shaped::<D>(Router::new(), state).with_state(state.clone());
        app = app.route_service(&format!("{}/", m.prefix), bare);
        app = app.nest(&m.prefix, routes);
    }
    app
}

/// `routes` with `D`'s fallbacks and shaping, for mounting at a prefix or at the root.
pub fn shaped<D: Dialect>(routes: Router<AppState>, state: &AppState) -> Router<AppState> {
    let routes = routes
        .fallback(not_found::<D>)
        .method_not_allowed_fallback(method_not_allowed::<D>)
        .layer(axum::middleware::from_fn(shape_rejections::<D>));
    D::wrap(routes, state)
}
