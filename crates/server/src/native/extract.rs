//! Extractors: the authenticated caller, and JSON bodies and queries whose rejections answer
//! in the native error shape.

use std::net::SocketAddr;

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use serde::de::DeserializeOwned;
use sessiond_core::{AuthFailure, CoreError, Principal};

use super::error::NativeError;
use crate::app::AppState;

/// The principal behind `Authorization: Bearer <token>`.
pub struct Caller(pub Principal);

/// The bearer token of a request, if it carries one.
pub fn bearer_token(parts: &Parts) -> Result<Option<&str>, NativeError> {
    let Some(value) = parts.headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let value = value
        .to_str()
        .map_err(|_| NativeError::unauthorized("the Authorization header is not valid text"))?;
    match value.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => Ok(Some(token.trim())),
        _ => Err(NativeError::unauthorized(
            "the Authorization header must be \"Bearer <token>\"",
        )),
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = NativeError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = bearer_token(parts)?
            .ok_or(CoreError::Unauthenticated(AuthFailure::MissingCredentials))?;
        Ok(Caller(state.core.authenticate(token).await?))
    }
}

/// Where a request comes from: the peer address and the User-Agent.
pub struct ClientInfo {
    pub address: String,
    pub user_agent: Option<String>,
}

impl<S: Send + Sync> FromRequestParts<S> for ClientInfo {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let address = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ci| ci.0.ip().to_string())
            .unwrap_or_else(|| "unknown".into());
        let user_agent = parts
            .headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        Ok(ClientInfo {
            address,
            user_agent,
        })
    }
}

/// A JSON body; malformed JSON, wrong types and unknown fields answer 400, a missing JSON
/// content type 415, and a body over the limit 413, all in the native shape.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = NativeError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(ApiJson(v)),
            Err(rejection) => Err(json_rejection(rejection)),
        }
    }
}

fn json_rejection(r: JsonRejection) -> NativeError {
    let status = match r.status() {
        StatusCode::UNPROCESSABLE_ENTITY => StatusCode::BAD_REQUEST,
        s => s,
    };
    let message = match status {
        StatusCode::PAYLOAD_TOO_LARGE => {
            "the request body is larger than the server accepts".into()
        }
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "expected Content-Type: application/json".into(),
        _ => format!("invalid JSON body: {}", r.body_text()),
    };
    NativeError::new(status, message)
}

/// Query parameters; bad ones answer 400 in the native shape.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = NativeError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| ApiQuery(q.0))
            .map_err(|r: QueryRejection| NativeError::bad_request(r.body_text()))
    }
}
