//! The Qumulo dialect (seed 003, `GET /v1/session/who-am-i`), for Qumulo's own SDK and `qq`
//! CLI (`qumulo-api`). Paths match exactly as `qq` spells them, trailing slashes included.

mod access_tokens;
mod error;
pub mod identity;
mod session;
mod smb;
mod users;

use axum::http::request::Parts;
use axum::response::Response;
use axum::routing::{get, post};

use crate::dialect::{Credential, Dialect, Failure, Mount};
use crate::extract::bearer;
use crate::problem::Problem;
use crate::state::ServerConfig;

/// Qumulo's REST API: `Authorization: Bearer`, errors as
/// `{"module","error_class","description",...}`.
pub struct Qumulo;

pub type QumuloError = Failure<Qumulo>;
pub type QResult<T> = Result<T, QumuloError>;

impl Dialect for Qumulo {
    const NAME: &'static str = "qumulo";
    const CLIENT_TYPE: &'static str = "Qumulo API";
    type Detail = ();

    fn mounts(_: &ServerConfig) -> Vec<Mount> {
        vec![routes(Mount::new("/v1"))]
    }

    fn credential(parts: &Parts, _: &ServerConfig) -> Result<Option<Credential>, QumuloError> {
        bearer(&parts.headers)
    }

    fn render(problem: &Problem, _: &()) -> Response {
        error::render(problem)
    }
}

/// Qumulo's calls, relative to `/v1`.
fn routes(mount: Mount) -> Mount {
    mount
        .route("/session/login", post(session::login))
        .route("/session/who-am-i", get(session::who_am_i))
        .route("/session/roles", get(session::roles))
        .route("/session/change-password", post(session::change_password))
        .route("/users/", get(users::list_users))
        .route("/users/{id}", get(users::get_user))
        .route("/users/{id}/groups/", get(users::user_groups))
        .route("/groups/", get(users::list_groups))
        .route("/identity/expand", post(users::expand))
        .route(
            "/auth/access-tokens/",
            get(access_tokens::list).post(access_tokens::create),
        )
        .route(
            "/auth/access-tokens/{id}",
            get(access_tokens::get)
                .patch(access_tokens::modify)
                .delete(access_tokens::delete),
        )
        .route("/smb/sessions/", get(smb::list))
        .route("/smb/sessions/close", post(smb::close))
}
