//! What a dialect is: one product's API over the core, declared in one place by
//! implementing `Dialect` (where it is mounted, how a caller's credential is read, how an
//! error looks, and its routes), then made one service by `service` and reached through
//! `Dispatch` by its prefixes.
//!
//! Every failure a dialect answers is a `Failure<D>`: a classified `Problem` (see
//! `problem`) that `D::render` dresses in the product's envelope. `service` gives the
//! dialect's prefixes its own 404 and 405, and a last line of defence (`Shape`) that
//! re-dresses any error some layer answered in plain text, so that no client ever reads a
//! body in a shape its product never sends.

use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use axum::extract::{OriginalUri, Request};
use axum::http::request::Parts;
use axum::http::{header, Method};
use axum::response::{IntoResponse, Response};
use axum::routing::MethodRouter;
use axum::Router;
use sessiond_core::metrics::RequestMetrics;
use sessiond_core::CoreError;
use tower::util::{BoxCloneSyncService, Oneshot};
use tower::ServiceExt;

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

/// A group of routes served under one path prefix, each declared by its path below it.
pub struct Mount {
    pub prefix: String,
    routes: Vec<(String, MethodRouter<AppState>)>,
}

impl Mount {
    pub fn new(prefix: impl Into<String>) -> Self {
        Mount {
            prefix: prefix.into(),
            routes: Vec::new(),
        }
    }

    /// `path` below the prefix: `""` is the prefix itself, `"/"` the prefix and a slash.
    pub fn route(mut self, path: &str, method_router: MethodRouter<AppState>) -> Self {
        self.routes.push((path.to_owned(), method_router));
        self
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

    /// Layers around the whole dialect, outside the rejection shaping (Commvault's XML,
    /// PAM's challenges and CORS). Applied once around the dialect's router, never per route:
    /// every layer on an axum `Router` wraps each route in one more boxed, cloned-per-request
    /// service.
    fn wrap(service: Service, _state: &AppState) -> Service {
        service
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

/// Marks a response as already in its dialect's shape (set by `Failure::into_response`, and
/// by handlers that answer an error in their dialect's shape themselves).
#[derive(Clone, Copy)]
pub struct Shaped;

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

/// A whole dialect (or the server's own routes) as one service.
pub type Service = BoxCloneSyncService<Request, Response, Infallible>;

/// Re-dresses an error response that no dialect code produced (a framework rejection, a
/// layer's bare status) in `D`'s shape, keeping its status and its text as the message.
async fn reshape<D: Dialect>(resp: Response) -> Response {
    let status = resp.status();
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

fn needs_reshaping(resp: &Response) -> bool {
    let status = resp.status();
    (status.is_client_error() || status.is_server_error())
        && resp.extensions().get::<Shaped>().is_none()
}

/// `D`'s router with the last line of defence around it: any error answer not already in
/// `D`'s shape is re-dressed by `reshape`.
/// It also counts what the dialect answered (status class and time), when metrics are on.
struct Shape<D> {
    router: Router,
    metrics: Option<Arc<RequestMetrics>>,
    dialect: PhantomData<fn() -> D>,
}

impl<D> Clone for Shape<D> {
    fn clone(&self) -> Self {
        Shape {
            router: self.router.clone(),
            metrics: self.metrics.clone(),
            dialect: PhantomData,
        }
    }
}

impl<D: Dialect> tower::Service<Request> for Shape<D> {
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request) -> Self::Future {
        let started = self.metrics.as_ref().map(|_| Instant::now());
        let metrics = self.metrics.clone();
        let answer = self.router.call(req);
        Box::pin(async move {
            let mut resp = answer.await?;
            if needs_reshaping(&resp) {
                resp = reshape::<D>(resp).await;
            }
            if let (Some(m), Some(t)) = (metrics, started) {
                m.observe(resp.status().as_u16(), t.elapsed().as_secs_f64());
            }
            Ok(resp)
        })
    }
}

/// `prefix` joined with a route's `path` below it (`""` is the prefix itself).
fn full_path(prefix: &str, path: &str) -> String {
    format!("{prefix}{path}")
}

/// `D` as one service: its routes at their full paths (no nesting, which would add a layer
/// to every route), `D`'s own 404 and 405 for anything else under its prefixes, its
/// rejection shaping and its layers. Returns the prefixes it answers under with it.
pub fn service<D: Dialect>(state: &AppState) -> (Vec<String>, Service) {
    let mut router = Router::new();
    let mut prefixes = Vec::new();
    for mount in D::mounts(&state.cfg) {
        for (path, method_router) in mount.routes {
            router = router.route(&full_path(&mount.prefix, &path), method_router);
        }
        prefixes.push(mount.prefix);
    }
    let router = router
        .fallback(not_found::<D>)
        .method_not_allowed_fallback(method_not_allowed::<D>)
        .with_state(state.clone());
    let metrics = state
        .cfg
        .metrics
        .then(|| Arc::new(state.core.metrics.requests_of(D::NAME)));
    let shaped = Service::new(Shape::<D> {
        router,
        metrics,
        dialect: PhantomData,
    });
    (prefixes, D::wrap(shaped, state))
}

/// Sends each request to the dialect whose prefix it is under (the longest that matches),
/// the rest to the server's own routes. Choosing the dialect first, by a few string
/// comparisons, is what lets each dialect's layers sit around its router once.
#[derive(Clone)]
pub struct Dispatch {
    table: Arc<[(String, Service)]>,
    rest: Service,
}

impl Dispatch {
    /// `rest` answers whatever no prefix claims.
    pub fn new(mut table: Vec<(String, Service)>, rest: Service) -> Self {
        table.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then_with(|| a.0.cmp(&b.0)));
        for pair in table.windows(2) {
            assert!(
                pair[0].0 != pair[1].0,
                "two dialects mounted at {}",
                pair[0].0
            );
        }
        Dispatch {
            table: table.into(),
            rest,
        }
    }

    fn pick(&self, path: &str) -> &Service {
        self.table
            .iter()
            .find(|(prefix, _)| under(path, prefix))
            .map_or(&self.rest, |(_, service)| service)
    }
}

/// Whether `path` is `prefix` or below it.
fn under(path: &str, prefix: &str) -> bool {
    path.strip_prefix(prefix)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

impl tower::Service<Request> for Dispatch {
    type Response = Response;
    type Error = Infallible;
    type Future = Oneshot<Service, Request>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request) -> Self::Future {
        self.pick(req.uri().path()).clone().oneshot(req)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_prefix_claims_itself_and_what_is_below_it_only() {
        assert!(under("/pod", "/pod"));
        assert!(under("/pod/", "/pod"));
        assert!(under("/pod/v2/sessioninfo", "/pod"));
        assert!(!under("/podcast", "/pod"));
        assert!(!under("/po", "/pod"));
    }

    #[test]
    fn full_paths() {
        assert_eq!(full_path("/commandcenter/api", ""), "/commandcenter/api");
        assert_eq!(full_path("/ui", "/"), "/ui/");
        assert_eq!(full_path("/pod", "/v2/sessioninfo"), "/pod/v2/sessioninfo");
    }
}
