//! What every dialect extracts from a request, with failures answered in the dialect's own
//! error shape: the bearer principal, JSON bodies, query strings, the client's address.
//!
//! A dialect implements `DialectError` for its error type and invokes
//! `dialect_extractors!(ItsError)` to get `Caller`, `ApiJson<T>` and `ApiQuery<T>`.

use std::net::SocketAddr;

use axum::extract::rejection::JsonRejection;
use axum::extract::ConnectInfo;
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use sessiond_core::{AuthFailure, CoreError};

/// A dialect's error type: how the product answers a failure.
pub trait DialectError: IntoResponse + From<CoreError> + Send + 'static {
    /// A failure found before the handler ran: malformed JSON, a bad query, a wrong
    /// content type, a body over the limit, a malformed Authorization header.
    fn rejection(status: StatusCode, message: String) -> Self;
}

/// The token of `Authorization: Bearer <token>`, if the request carries one.
pub fn bearer_token<E: DialectError>(parts: &Parts) -> Result<Option<&str>, E> {
    let Some(value) = parts.headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let bad = |m: &str| E::rejection(StatusCode::UNAUTHORIZED, m.to_owned());
    let value = value
        .to_str()
        .map_err(|_| bad("the Authorization header is not valid text"))?;
    match value.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => Ok(Some(token.trim())),
        _ => Err(bad("the Authorization header must be \"Bearer <token>\"")),
    }
}

pub fn missing_credentials<E: DialectError>() -> E {
    E::from(CoreError::Unauthenticated(AuthFailure::MissingCredentials))
}

pub fn json_rejection<E: DialectError>(r: JsonRejection) -> E {
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
    E::rejection(status, message)
}

/// Where a request comes from: the peer address and the User-Agent.
pub struct ClientInfo {
    pub address: String,
    pub user_agent: Option<String>,
}

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for ClientInfo {
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

/// Defines `Caller` (the principal behind a Bearer token), `ApiJson<T>` and `ApiQuery<T>`
/// whose rejections are `$err`.
macro_rules! dialect_extractors {
    ($err:ty) => {
        $crate::extract::dialect_body_extractors!($err);

        /// The principal behind `Authorization: Bearer <token>`.
        pub struct Caller(pub sessiond_core::Principal);

        impl axum::extract::FromRequestParts<$crate::app::AppState> for Caller {
            type Rejection = $err;

            async fn from_request_parts(
                parts: &mut axum::http::request::Parts,
                state: &$crate::app::AppState,
            ) -> Result<Self, Self::Rejection> {
                let token = $crate::extract::bearer_token::<$err>(parts)?
                    .ok_or_else($crate::extract::missing_credentials::<$err>)?;
                Ok(Caller(state.core.authenticate(token).await?))
            }
        }
    };
}
pub(crate) use dialect_extractors;

/// Defines `ApiJson<T>` and `ApiQuery<T>` whose rejections are `$err`, for dialects that
/// read their token from a header of their own.
macro_rules! dialect_body_extractors {
    ($err:ty) => {
        /// A JSON body; failures answer in this dialect's error shape.
        pub struct ApiJson<T>(pub T);

        impl<T: serde::de::DeserializeOwned, S: Send + Sync> axum::extract::FromRequest<S>
            for ApiJson<T>
        {
            type Rejection = $err;

            async fn from_request(
                req: axum::extract::Request,
                state: &S,
            ) -> Result<Self, Self::Rejection> {
                match axum::Json::<T>::from_request(req, state).await {
                    Ok(axum::Json(v)) => Ok(ApiJson(v)),
                    Err(r) => Err($crate::extract::json_rejection::<$err>(r)),
                }
            }
        }

        /// Query parameters; failures answer 400 in this dialect's error shape.
        pub struct ApiQuery<T>(pub T);

        impl<T: serde::de::DeserializeOwned, S: Send + Sync> axum::extract::FromRequestParts<S>
            for ApiQuery<T>
        {
            type Rejection = $err;

            async fn from_request_parts(
                parts: &mut axum::http::request::Parts,
                state: &S,
            ) -> Result<Self, Self::Rejection> {
                axum::extract::Query::<T>::from_request_parts(parts, state)
                    .await
                    .map(|q| ApiQuery(q.0))
                    .map_err(|r| {
                        <$err as $crate::extract::DialectError>::rejection(
                            axum::http::StatusCode::BAD_REQUEST,
                            r.body_text(),
                        )
                    })
            }
        }
    };
}
pub(crate) use dialect_body_extractors;
