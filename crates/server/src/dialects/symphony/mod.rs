//! The Symphony dialect (seed 001, `GET /pod/v2/sessioninfo`), for Symphony's Python BDK
//! (`symphony-bdk-python` 3.0.0): RSA pubkey logins for bots (`/login`, `/relay`), apps
//! and on-behalf-of (OBO) sessions, and the session's `UserV2`.
//!
//! The BDK retries 429, 5xx and network errors for about 13 minutes and re-authenticates on
//! a 401 from `/pod`, so bad credentials are always 401 (never 5xx) and a token just issued
//! is never refused.

mod error;
mod login;
mod session_info;

use axum::http::request::Parts;
use axum::response::Response;
use axum::routing::{get, post};

use crate::dialect::{Credential, Dialect, Failure, Mount};
use crate::problem::Problem;
use crate::state::ServerConfig;

/// Symphony's pod, login and relay APIs: the `sessionToken` header, errors as
/// `{"code","message"}`.
pub struct Symphony;

pub type SymphonyError = Failure<Symphony>;
pub type SyResult<T> = Result<T, SymphonyError>;

/// The longest `sessionToken` read; longer ones are refused before any look-up.
const MAX_TOKEN: usize = 512;

impl Dialect for Symphony {
    const NAME: &'static str = "symphony";
    const CLIENT_TYPE: &'static str = "Symphony API";
    type Detail = ();

    fn mounts(_: &ServerConfig) -> Vec<Mount> {
        let login = Mount::new("/login")
            .route("/pubkey/authenticate", post(login::bot))
            .route("/pubkey/app/authenticate", post(login::app))
            .route(
                "/pubkey/app/user/{uid}/authenticate",
                post(login::obo_by_id),
            )
            .route(
                "/pubkey/app/username/{username}/authenticate",
                post(login::obo_by_name),
            );
        let relay = Mount::new("/relay").route("/pubkey/authenticate", post(login::key_manager));
        let pod = Mount::new("/pod").route("/v2/sessioninfo", get(session_info::session_info));
        vec![login, relay, pod]
    }

    /// The `sessionToken` header, which carries a session token of any dialect (or, on
    /// the OBO logins, an app's session token).
    fn credential(parts: &Parts, _: &ServerConfig) -> Result<Option<Credential>, SymphonyError> {
        let Some(v) = parts.headers.get("sessiontoken") else {
            return Ok(None);
        };
        v.to_str()
            .ok()
            .map(str::trim)
            .filter(|t| !t.is_empty() && t.len() <= MAX_TOKEN && !t.contains(char::is_whitespace))
            .map(|t| Some(Credential::Token(t.to_owned())))
            .ok_or_else(|| SymphonyError::unauthorized("the sessionToken header is malformed"))
    }

    fn render(problem: &Problem, _: &()) -> Response {
        error::render(problem)
    }
}
