//! The Commvault dialect (seed 002, `GET <webservice>/Session?userId=N`), for Commvault's
//! Python SDK (`cvpysdk` 11.44). Served under each configured web-service root
//! (`/commandcenter/api` and `/webconsole/api` by default); paths are matched without regard
//! to case or a trailing slash, as Commvault's web server does (`normalize_path`).

mod error;
mod login;
mod sessions;
mod users;
pub mod wire;

use axum::body::Bytes;
use axum::http::request::Parts;
use axum::http::uri::PathAndQuery;
use axum::http::Uri;
use axum::response::Response;
use axum::routing::{get, post};

use crate::dialect::{Credential, Dialect, Failure, Mount, Service};
use crate::extract::bearer;
use crate::problem::Problem;
use crate::state::{AppState, ServerConfig};

/// Commvault's web services: the `Authtoken` header, errors as `errorCode`/`errorMessage`
/// in JSON or XML as `Accept` asks.
pub struct Commvault;

pub type CommvaultError = Failure<Commvault>;
pub type CvResult<T> = Result<T, CommvaultError>;

impl Dialect for Commvault {
    const NAME: &'static str = "commvault";
    const CLIENT_TYPE: &'static str = "Commvault API";
    type Detail = ();

    fn mounts(cfg: &ServerConfig) -> Vec<Mount> {
        cfg.commvault_roots
            .iter()
            .map(|root| routes(Mount::new(root.clone())))
            .collect()
    }

    /// `Authtoken: QSDK <t>`, `Authtoken: Bearer <t>` or `Authtoken: <t>`; some Commvault
    /// clients send `Authorization: Bearer` instead.
    fn credential(parts: &Parts, _: &ServerConfig) -> Result<Option<Credential>, CommvaultError> {
        let Some(v) = parts.headers.get("authtoken") else {
            return bearer(&parts.headers);
        };
        let v = v
            .to_str()
            .map_err(|_| CommvaultError::unauthorized("the Authtoken header is not valid text"))?;
        Ok(Some(Credential::Token(strip_scheme(v).to_owned())))
    }

    fn render(problem: &Problem, _: &()) -> Response {
        error::render(problem)
    }

    fn wrap(service: Service, _: &AppState) -> Service {
        Service::new(error::Negotiate(service))
    }
}

/// The calls under one root, in lower case (see `normalize_path`).
fn routes(mount: Mount) -> Mount {
    mount
        .route("", get(users::probe))
        .route("/login", post(login::login))
        .route("/logout", post(login::logout))
        .route("/whoami", post(login::whoami).get(login::whoami))
        .route("/renewlogintoken", post(login::renew))
        .route("/commserv", get(users::commserv))
        .route("/v4/user", get(users::v4_users))
        .route("/v4/user/{id}", get(users::v4_user))
        .route("/user", get(users::old_users))
        .route("/user/{id}", get(users::old_user))
        .route("/user/{id}/security", get(users::security))
        .route("/session", get(sessions::list))
}

/// Rewrites a path under one of `roots` to lower case without a trailing slash, so that
/// `/WebConsole/api/Session/` reaches the same route as `/webconsole/api/session`. Other
/// paths are left alone.
pub fn normalize_path(uri: &Uri, roots: &[String]) -> Option<Uri> {
    let path = uri.path();
    // Matched before anything is allocated: most requests are not Commvault's.
    let root = roots.iter().find(|r| {
        path.as_bytes()
            .get(..r.len())
            .is_some_and(|head| head.eq_ignore_ascii_case(r.as_bytes()))
            && matches!(path.as_bytes().get(r.len()), None | Some(b'/'))
    })?;
    let trimmed = path.trim_end_matches('/');
    let folded = if trimmed.len() < root.len() {
        root.as_str()
    } else {
        trimmed
    };
    if folded == path && !folded.bytes().any(|b| b.is_ascii_uppercase()) {
        return None;
    }
    // One buffer, handed to the new URI without another copy.
    let mut pq = folded.to_ascii_lowercase();
    if let Some(q) = uri.query() {
        pq.push('?');
        pq.push_str(q);
    }
    let mut parts = uri.clone().into_parts();
    parts.path_and_query = PathAndQuery::from_maybe_shared(Bytes::from(pq)).ok();
    Uri::from_parts(parts).ok()
}

/// Wraps the whole router (routing happens inside) to apply `normalize_path` first, for any
/// request body type (axum's or hyper's).
#[derive(Clone)]
pub struct NormalizePaths<S> {
    inner: S,
    roots: std::sync::Arc<Vec<String>>,
}

impl<S> NormalizePaths<S> {
    pub fn new(inner: S, roots: Vec<String>) -> Self {
        NormalizePaths {
            inner,
            roots: std::sync::Arc::new(roots),
        }
    }
}

impl<S, B> tower::Service<axum::http::Request<B>> for NormalizePaths<S>
where
    S: tower::Service<axum::http::Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: axum::http::Request<B>) -> Self::Future {
        if let Some(uri) = normalize_path(req.uri(), &self.roots) {
            *req.uri_mut() = uri;
        }
        self.inner.call(req)
    }
}

pub fn strip_scheme(v: &str) -> &str {
    let v = v.trim();
    for scheme in ["QSDK ", "Bearer "] {
        // `get` rather than slicing: the value may hold any text (a renewal body's sessionId).
        match (v.get(..scheme.len()), v.get(scheme.len()..)) {
            (Some(head), Some(rest)) if !rest.is_empty() && head.eq_ignore_ascii_case(scheme) => {
                return rest.trim();
            }
            _ => {}
        }
    }
    v
}

/// `ONLY-ACTIVE-SESSIONS: true` (any case) restricts a listing to active sessions.
pub fn only_active(headers: &axum::http::HeaderMap) -> bool {
    headers
        .get("only-active-sessions")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roots() -> Vec<String> {
        vec!["/commandcenter/api".into(), "/webconsole/api".into()]
    }

    #[test]
    fn paths_under_a_root_are_folded() {
        let n = |p: &str| normalize_path(&p.parse().unwrap(), &roots()).map(|u| u.to_string());
        assert_eq!(
            n("/webconsole/api/Session?userId=5").as_deref(),
            Some("/webconsole/api/session?userId=5")
        );
        assert_eq!(
            n("/commandcenter/api/").as_deref(),
            Some("/commandcenter/api")
        );
        assert_eq!(
            n("/CommandCenter/API/v4/User/").as_deref(),
            Some("/commandcenter/api/v4/user")
        );
        assert_eq!(n("/commandcenter/api/login"), None);
        assert_eq!(n("/commandcenter/apix"), None);
        assert_eq!(n("/api/v1/Session"), None);
    }

    #[test]
    fn authtoken_schemes() {
        assert_eq!(strip_scheme("QSDK abc"), "abc");
        assert_eq!(strip_scheme("qsdk abc"), "abc");
        assert_eq!(strip_scheme("Bearer abc"), "abc");
        assert_eq!(strip_scheme("abc"), "abc");
    }
}
