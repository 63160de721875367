//! Windows network-management statuses, answered as
//! `{"status": 2312, "name": "NERR_ClientNameNotFound", "message": "..."}` with an HTTP status
//! that fits.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use sessiond_core::CoreError;

use crate::extract::DialectError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WinStatus {
    Success,
    AccessDenied,
    InvalidParameter,
    InvalidLevel,
    MoreData,
    NotFound,
    ServerUnavailable,
    InternalError,
    UserNotFound,
    ClientNameNotFound,
    InvalidComputer,
}

impl WinStatus {
    pub fn code(self) -> u32 {
        match self {
            WinStatus::Success => 0,
            WinStatus::AccessDenied => 5,
            WinStatus::InvalidParameter => 87,
            WinStatus::InvalidLevel => 124,
            WinStatus::MoreData => 234,
            WinStatus::NotFound => 1168,
            WinStatus::ServerUnavailable => 1722,
            WinStatus::InternalError => 1359,
            WinStatus::UserNotFound => 2221,
            WinStatus::ClientNameNotFound => 2312,
            WinStatus::InvalidComputer => 2351,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            WinStatus::Success => "NERR_Success",
            WinStatus::AccessDenied => "ERROR_ACCESS_DENIED",
            WinStatus::InvalidParameter => "ERROR_INVALID_PARAMETER",
            WinStatus::InvalidLevel => "ERROR_INVALID_LEVEL",
            WinStatus::MoreData => "ERROR_MORE_DATA",
            WinStatus::NotFound => "ERROR_NOT_FOUND",
            WinStatus::ServerUnavailable => "RPC_S_SERVER_UNAVAILABLE",
            WinStatus::InternalError => "ERROR_INTERNAL_ERROR",
            WinStatus::UserNotFound => "NERR_UserNotFound",
            WinStatus::ClientNameNotFound => "NERR_ClientNameNotFound",
            WinStatus::InvalidComputer => "NERR_InvalidComputer",
        }
    }
}

#[derive(Debug)]
pub struct NetError {
    pub http: StatusCode,
    pub status: WinStatus,
    pub message: String,
}

impl NetError {
    pub fn new(http: StatusCode, status: WinStatus, message: impl Into<String>) -> Self {
        NetError {
            http,
            status,
            message: message.into(),
        }
    }

    pub fn invalid_parameter(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            WinStatus::InvalidParameter,
            message,
        )
    }

    pub fn user_not_found(user: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            WinStatus::UserNotFound,
            format!("The user name {user} could not be found."),
        )
    }

    pub fn client_not_found(client: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            WinStatus::ClientNameNotFound,
            format!("A session does not exist with the computer name {client}."),
        )
    }
}

#[derive(Serialize)]
struct Body<'a> {
    status: u32,
    name: &'static str,
    message: &'a str,
}

impl From<CoreError> for NetError {
    fn from(e: CoreError) -> Self {
        let (http, status) = match &e {
            CoreError::Unauthenticated(_) => (StatusCode::UNAUTHORIZED, WinStatus::AccessDenied),
            CoreError::MissingPrivilege(_) | CoreError::Forbidden(_) => {
                (StatusCode::FORBIDDEN, WinStatus::AccessDenied)
            }
            CoreError::NotFound(_) => (StatusCode::NOT_FOUND, WinStatus::NotFound),
            CoreError::Conflict(_) => (StatusCode::CONFLICT, WinStatus::InvalidParameter),
            CoreError::Invalid(_) => (StatusCode::BAD_REQUEST, WinStatus::InvalidParameter),
            CoreError::Unavailable(_) => (
                StatusCode::SERVICE_UNAVAILABLE,
                WinStatus::ServerUnavailable,
            ),
            CoreError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, WinStatus::InternalError),
        };
        let message = match &e {
            CoreError::Unavailable(_) => {
                tracing::warn!(error = %e, "store unavailable");
                "the session store is unavailable; try again shortly".into()
            }
            CoreError::Internal(_) => {
                tracing::error!(error = %e, "internal error");
                "internal error".into()
            }
            _ => e.to_string(),
        };
        NetError {
            http,
            status,
            message,
        }
    }
}

impl DialectError for NetError {
    fn rejection(http: StatusCode, message: String) -> Self {
        let status = if http == StatusCode::UNAUTHORIZED {
            WinStatus::AccessDenied
        } else {
            WinStatus::InvalidParameter
        };
        NetError::new(http, status, message)
    }
}

impl IntoResponse for NetError {
    fn into_response(self) -> Response {
        (
            self.http,
            Json(Body {
                status: self.status.code(),
                name: self.status.name(),
                message: &self.message,
            }),
        )
            .into_response()
    }
}

pub type NetResult<T> = Result<T, NetError>;
