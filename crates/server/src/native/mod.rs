//! The native API: sessiond's own JSON interface under `/api/v1`.

mod apps;
pub mod convert;
pub mod error;
pub mod extract;
mod identity;
mod sessions;
mod users;

use axum::routing::{get, post, put};
use axum::Router;

use crate::app::AppState;

/// The table of contents of the native API.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/login", post(identity::login))
        .route("/session", get(identity::whoami).delete(identity::logout))
        .route(
            "/session/others",
            axum::routing::delete(identity::revoke_others),
        )
        .route("/session/password", post(identity::change_password))
        .route("/sessions", get(sessions::list))
        .route(
            "/sessions/{id}",
            get(sessions::show).delete(sessions::revoke),
        )
        .route("/users", get(users::list).post(users::create))
        .route(
            "/users/{id}",
            get(users::show).patch(users::modify).delete(users::remove),
        )
        .route("/users/{id}/roles", put(users::set_roles))
        .route("/users/{id}/groups", get(users::groups_of))
        .route("/users/{id}/keys", get(apps::list_keys).post(apps::add_key))
        .route(
            "/users/{id}/keys/{key}",
            axum::routing::delete(apps::delete_key),
        )
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
        .merge(crate::dialects::netsession::router())
        .fallback(error::not_found)
        .method_not_allowed_fallback(error::method_not_allowed)
}
