//! The native API described as OpenAPI 3.1, served at `GET /api/v1/openapi.json`. The
//! schemas are derived from the same `sessiond-api` types the handlers read and write, and
//! each operation is declared on its handler (`#[utoipa::path]`), so the document and the
//! code change together; schemathesis checks the running server against it.

use std::sync::OnceLock;

use axum::http::header;
use axum::response::{IntoResponse, Response};
use sessiond_api as api;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{IntoResponses, Modify, OpenApi};

/// What any native call may fail with, each in the one error envelope.
#[derive(IntoResponses)]
#[allow(dead_code)]
pub enum Errors {
    /// A malformed request: a bad value, query, path segment or JSON body.
    #[response(status = 400)]
    BadRequest(api::ErrorBody),
    /// No credential, or one that is not (or no longer) valid.
    #[response(status = 401)]
    Unauthorized(api::ErrorBody),
    /// The caller lacks the privilege.
    #[response(status = 403)]
    Forbidden(api::ErrorBody),
    #[response(status = 404)]
    NotFound(api::ErrorBody),
    /// The change conflicts with what is stored (a name taken, a session already ended).
    #[response(status = 409)]
    Conflict(api::ErrorBody),
    #[response(status = 408)]
    RequestTimeout(api::ErrorBody),
    #[response(status = 413)]
    PayloadTooLarge(api::ErrorBody),
    #[response(status = 415)]
    UnsupportedMediaType(api::ErrorBody),
    /// Too many failed logins: wait as `Retry-After` says.
    #[response(status = 429)]
    TooManyRequests(api::ErrorBody),
    /// The store is unavailable.
    #[response(status = 503)]
    Unavailable(api::ErrorBody),
}

struct Bearer;

impl Modify for Bearer {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("A session or access token of any dialect"))
                    .build(),
            ),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "sessiond native API",
        description = "Sessions, users, roles and the audit log of sessiond, RFC 7662/7009 \
                       token introspection and revocation, and webhook endpoints.",
        license(name = "MIT"),
    ),
    paths(
        super::identity::login,
        super::identity::whoami,
        super::identity::logout,
        super::identity::revoke_others,
        super::identity::change_password,
        super::sessions::list,
        super::sessions::show,
        super::sessions::revoke,
        super::sessions::change,
        super::sessions::revoke_user,
        super::sessions::audit,
        super::users::list,
        super::users::create,
        super::users::show,
        super::users::modify,
        super::users::remove,
        super::users::set_roles,
        super::users::groups_of,
        super::users::list_roles,
        super::users::create_role,
        super::users::show_role,
        super::users::replace_role,
        super::users::delete_role,
        super::users::set_role_policy,
        super::users::list_privileges,
        super::users::list_groups,
        super::users::create_group,
        super::users::show_group,
        super::users::delete_group,
        super::users::add_member,
        super::users::remove_member,
        super::users::list_lockouts,
        super::users::clear_lockout,
        super::apps::add_key,
        super::apps::list_keys,
        super::apps::delete_key,
        super::apps::create_app,
        super::apps::list_apps,
        super::apps::get_app,
        super::apps::modify_app,
        super::apps::delete_app,
        super::webhooks::create,
        super::webhooks::list,
        super::webhooks::show,
        super::webhooks::delete,
        super::webhooks::rotate_secret,
        super::webhooks::dead_letters,
        super::webhooks::replay,
        crate::oauth::introspect,
        crate::oauth::revoke
    ),
    components(schemas(
        api::ErrorBody,
        api::ErrorDetail,
        crate::oauth::OAuthError,
        crate::oauth::Introspection,
        crate::oauth::TokenForm
    )),
    modifiers(&Bearer),
)]
struct NativeApi;

/// The document, built once.
pub fn document() -> &'static str {
    static DOC: OnceLock<String> = OnceLock::new();
    DOC.get_or_init(|| {
        NativeApi::openapi()
            .to_pretty_json()
            .expect("the OpenAPI document serializes")
    })
}

pub async fn serve() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], document()).into_response()
}

#[cfg(test)]
mod tests {
    use sessiond_core::model::AuditKind;

    #[test]
    fn the_audit_kinds_in_the_document_are_the_cores() {
        let doc: serde_json::Value = serde_json::from_str(super::document()).unwrap();
        let params = doc["paths"]["/api/v1/audit"]["get"]["parameters"]
            .as_array()
            .unwrap();
        let kind = params.iter().find(|p| p["name"] == "kind").unwrap();
        let pattern = kind["schema"]["pattern"].as_str().unwrap();
        let kinds: Vec<&str> = AuditKind::ALL.iter().map(|k| k.as_str()).collect();
        assert_eq!(pattern, format!("^({})$", kinds.join("|")));
    }
}
