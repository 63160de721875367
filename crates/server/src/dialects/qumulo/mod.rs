//! The Qumulo dialect (seed 003, `GET /v1/session/who-am-i`), for Qumulo's own SDK and `qq`
//! CLI (`qumulo-api`). Paths match exactly as `qq` spells them, trailing slashes included.

mod access_tokens;
pub mod error;
pub mod identity;
mod session;
mod smb;
mod users;

use axum::routing::{get, post};
use axum::Router;

use crate::app::AppState;
use crate::extract::dialect_extractors;
use error::QumuloError;

dialect_extractors!(QumuloError);

/// Qumulo's API, mounted at `/v1`.
pub fn router() -> Router<AppState> {
    Router::new()
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
        .fallback(error::not_found)
        .method_not_allowed_fallback(error::method_not_allowed)
}
