//! The native API: sessiond's own JSON interface under `/api/v1`.

mod apps;
mod convert;
pub mod error;
mod identity;
pub mod openapi;
mod sessions;
mod users;
mod webhooks;

use axum::http::request::Parts;
use axum::response::Response;
use axum::routing::{delete, get, post, put};

use crate::dialect::{Credential, Dialect, Failure, Mount};
use crate::extract::bearer;
use crate::problem::Problem;
use crate::state::ServerConfig;

/// sessiond's own API: `Authorization: Bearer`, errors as `{"error":{"code","message"}}`.
pub struct Native;

pub type NativeError = Failure<Native>;
pub type NativeResult<T> = Result<T, NativeError>;

impl Dialect for Native {
    const NAME: &'static str = "native";
    const CLIENT_TYPE: &'static str = "API";
    type Detail = ();

    fn mounts(_: &ServerConfig) -> Vec<Mount> {
        vec![routes(Mount::new(sessiond_api::PREFIX))]
    }

    fn credential(parts: &Parts, _: &ServerConfig) -> Result<Option<Credential>, NativeError> {
        bearer(&parts.headers)
    }

    fn render(problem: &Problem, _: &()) -> Response {
        error::render(problem)
    }
}

/// The table of contents of the native API.
fn routes(mount: Mount) -> Mount {
    mount
        .route("/openapi.json", get(openapi::serve))
        .route("/login", post(identity::login))
        .route("/session", get(identity::whoami).delete(identity::logout))
        .route("/session/others", delete(identity::revoke_others))
        .route("/session/password", post(identity::change_password))
        .route("/sessions", get(sessions::list))
        .route(
            "/sessions/{id}",
            get(sessions::show)
                .patch(sessions::change)
                .delete(sessions::revoke),
        )
        .route("/users", get(users::list).post(users::create))
        .route(
            "/users/{id}",
            get(users::show).patch(users::modify).delete(users::remove),
        )
        .route("/users/{id}/roles", put(users::set_roles))
        .route("/users/{id}/sessions", delete(sessions::revoke_user))
        .route("/users/{id}/groups", get(users::groups_of))
        .route("/users/{id}/keys", get(apps::list_keys).post(apps::add_key))
        .route("/users/{id}/keys/{key}", delete(apps::delete_key))
        .route("/apps", get(apps::list_apps).post(apps::create_app))
        .route(
            "/apps/{app_id}",
            get(apps::get_app)
                .patch(apps::modify_app)
                .delete(apps::delete_app),
        )
        .route("/roles", get(users::list_roles).post(users::create_role))
        .route(
            "/roles/{name}",
            get(users::show_role)
                .put(users::replace_role)
                .delete(users::delete_role),
        )
        .route("/roles/{name}/policy", put(users::set_role_policy))
        .route("/privileges", get(users::list_privileges))
        .route("/groups", get(users::list_groups).post(users::create_group))
        .route(
            "/groups/{id}",
            get(users::show_group).delete(users::delete_group),
        )
        .route(
            "/groups/{id}/members/{user}",
            put(users::add_member).delete(users::remove_member),
        )
        .route("/audit", get(sessions::audit))
        .route("/lockouts", get(users::list_lockouts))
        .route("/lockouts/{name}", delete(users::clear_lockout))
        .route("/webhooks", get(webhooks::list).post(webhooks::create))
        .route(
            "/webhooks/{id}",
            get(webhooks::show).delete(webhooks::delete),
        )
        .route(
            "/webhooks/{id}/rotate-secret",
            post(webhooks::rotate_secret),
        )
        .route("/webhooks/{id}/dead-letters", get(webhooks::dead_letters))
        .route("/webhooks/{id}/dead-letters/replay", post(webhooks::replay))
}
