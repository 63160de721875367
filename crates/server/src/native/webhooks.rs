//! Webhook endpoints: register (the secret is answered once), list, show, delete, rotate
//! the secret, read and replay the dead letters.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use sessiond_api as api;
use sessiond_core::service::WebhookSpec;
use sessiond_core::webhook::{DeadLetter, WebhookEndpoint, WebhookSecret};

use super::{Native, NativeResult};
use crate::extract::{ApiJson, ApiPath, Caller};
use crate::state::AppState;

fn view(w: &WebhookEndpoint) -> api::WebhookView {
    api::WebhookView {
        id: w.id.clone(),
        url: w.shown_url(),
        events: w.kinds.iter().map(|k| k.as_str().to_owned()).collect(),
        description: w.description.clone(),
        created_at: w.created_at,
        status: api::WebhookStatus {
            queued: w.status.queued,
            dead_letters: w.status.dead_letters,
            failures: w.status.failures,
            retry_at: w.status.retry_at,
            last_error: w.status.last_error.clone(),
            last_delivered_at: w.status.last_delivered_at,
        },
    }
}

fn with_secret(w: &WebhookEndpoint, secret: &WebhookSecret) -> api::WebhookWithSecret {
    api::WebhookWithSecret {
        webhook: view(w),
        secret: secret.expose().to_owned(),
    }
}

fn dead_letter(d: &DeadLetter) -> api::DeadLetterView {
    api::DeadLetterView {
        id: d.event.msg_id.clone(),
        kind: d.event.kind.as_str().to_owned(),
        payload: serde_json::from_str(&d.event.payload()).unwrap_or_default(),
        attempts: d.attempts,
        failed_at: d.failed_at,
        last_error: d.last_error.clone(),
    }
}

#[utoipa::path(
    post,
    path = "/api/v1/webhooks",
    tag = "webhooks",
    summary = "Register a webhook endpoint; the answer holds its signing secret, shown only now",
    request_body = api::WebhookRequest,
    responses((status = 201, body = api::WebhookWithSecret), super::openapi::Errors),
    security(("bearer" = [])),
)]
pub async fn create(
    State(s): State<AppState>,
    Caller(p, ..): Caller<Native>,
    ApiJson(req, _): ApiJson<api::WebhookRequest, Native>,
) -> NativeResult<(StatusCode, Json<api::WebhookWithSecret>)> {
    let spec = WebhookSpec {
        url: req.url,
        events: req.events,
        description: req.description,
    };
    let (w, secret) = s.core.create_webhook(&p, spec).await?;
    Ok((StatusCode::CREATED, Json(with_secret(&w, &secret))))
}

#[utoipa::path(
    get,
    path = "/api/v1/webhooks",
    tag = "webhooks",
    summary = "Webhook endpoints with where their deliveries stand",
    responses((status = 200, body = api::WebhookList), super::openapi::Errors),
    security(("bearer" = [])),
)]
pub async fn list(
    State(s): State<AppState>,
    Caller(p, ..): Caller<Native>,
) -> NativeResult<Json<api::WebhookList>> {
    let all = s.core.list_webhooks(&p).await?;
    Ok(Json(api::WebhookList {
        webhooks: all.iter().map(view).collect(),
    }))
}

#[utoipa::path(
    get,
    path = "/api/v1/webhooks/{id}",
    tag = "webhooks",
    summary = "One webhook endpoint",
    params(("id" = String, Path, description = "Endpoint id (wh_...)")),
    responses((status = 200, body = api::WebhookView), super::openapi::Errors),
    security(("bearer" = [])),
)]
pub async fn show(
    State(s): State<AppState>,
    Caller(p, ..): Caller<Native>,
    ApiPath(id, _): ApiPath<String, Native>,
) -> NativeResult<Json<api::WebhookView>> {
    Ok(Json(view(&s.core.get_webhook(&p, &id).await?)))
}

#[utoipa::path(
    delete,
    path = "/api/v1/webhooks/{id}",
    tag = "webhooks",
    summary = "Delete a webhook endpoint with its queue and dead letters",
    params(("id" = String, Path, description = "Endpoint id (wh_...)")),
    responses((status = 204, description = "Done"), super::openapi::Errors),
    security(("bearer" = [])),
)]
pub async fn delete(
    State(s): State<AppState>,
    Caller(p, ..): Caller<Native>,
    ApiPath(id, _): ApiPath<String, Native>,
) -> NativeResult<StatusCode> {
    s.core.delete_webhook(&p, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    post,
    path = "/api/v1/webhooks/{id}/rotate-secret",
    tag = "webhooks",
    summary = "A new signing secret, shown only now; the old one keeps signing beside it for a day",
    params(("id" = String, Path, description = "Endpoint id (wh_...)")),
    responses((status = 200, body = api::WebhookWithSecret), super::openapi::Errors),
    security(("bearer" = [])),
)]
pub async fn rotate_secret(
    State(s): State<AppState>,
    Caller(p, ..): Caller<Native>,
    ApiPath(id, _): ApiPath<String, Native>,
) -> NativeResult<Json<api::WebhookWithSecret>> {
    let (w, secret) = s.core.rotate_webhook_secret(&p, &id).await?;
    Ok(Json(with_secret(&w, &secret)))
}

#[utoipa::path(
    get,
    path = "/api/v1/webhooks/{id}/dead-letters",
    tag = "webhooks",
    summary = "Events the endpoint did not take within the give-up time, oldest first",
    params(("id" = String, Path, description = "Endpoint id (wh_...)")),
    responses((status = 200, body = api::DeadLetterList), super::openapi::Errors),
    security(("bearer" = [])),
)]
pub async fn dead_letters(
    State(s): State<AppState>,
    Caller(p, ..): Caller<Native>,
    ApiPath(id, _): ApiPath<String, Native>,
) -> NativeResult<Json<api::DeadLetterList>> {
    let dead = s.core.webhook_dead_letters(&p, &id).await?;
    Ok(Json(api::DeadLetterList {
        dead_letters: dead.iter().map(dead_letter).collect(),
    }))
}

#[utoipa::path(
    post,
    path = "/api/v1/webhooks/{id}/dead-letters/replay",
    tag = "webhooks",
    summary = "Queue the dead letters again, ahead of newer events",
    params(("id" = String, Path, description = "Endpoint id (wh_...)")),
    responses((status = 200, body = api::Replayed), super::openapi::Errors),
    security(("bearer" = [])),
)]
pub async fn replay(
    State(s): State<AppState>,
    Caller(p, ..): Caller<Native>,
    ApiPath(id, _): ApiPath<String, Native>,
) -> NativeResult<Json<api::Replayed>> {
    let replayed = s.core.replay_dead_letters(&p, &id).await?;
    Ok(Json(api::Replayed { replayed }))
}
