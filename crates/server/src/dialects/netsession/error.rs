//! Windows network-management statuses, answered as
//! `{"status": 2312, "name": "NERR_ClientNameNotFound", "message": "..."}` with an HTTP status
//! that fits.

use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;

use super::NetSession;
use crate::dialect::Failure;
use crate::problem::{Kind, Problem};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WinStatus {
    Success,
    AccessDenied,
    InvalidParameter,
    InvalidLevel,
    MoreData,
    NotSupported,
    Timeout,
    Busy,
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
            WinStatus::NotSupported => 50,
            WinStatus::Timeout => 1460,
            WinStatus::Busy => 170,
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
            WinStatus::NotSupported => "ERROR_NOT_SUPPORTED",
            WinStatus::Timeout => "ERROR_TIMEOUT",
            WinStatus::Busy => "ERROR_BUSY",
            WinStatus::NotFound => "ERROR_NOT_FOUND",
            WinStatus::ServerUnavailable => "RPC_S_SERVER_UNAVAILABLE",
            WinStatus::InternalError => "ERROR_INTERNAL_ERROR",
            WinStatus::UserNotFound => "NERR_UserNotFound",
            WinStatus::ClientNameNotFound => "NERR_ClientNameNotFound",
            WinStatus::InvalidComputer => "NERR_InvalidComputer",
        }
    }
}

impl Failure<NetSession> {
    /// A failure with the Windows status Windows gives it.
    pub fn win(kind: Kind, status: WinStatus, message: impl Into<String>) -> Self {
        Self::new(kind, message).with(Some(status))
    }

    pub fn invalid_parameter(message: impl Into<String>) -> Self {
        Self::win(Kind::BadRequest, WinStatus::InvalidParameter, message)
    }

    pub fn user_not_found(user: &str) -> Self {
        Self::win(
            Kind::NotFound,
            WinStatus::UserNotFound,
            format!("The user name {user} could not be found."),
        )
    }

    pub fn client_not_found(client: &str) -> Self {
        Self::win(
            Kind::NotFound,
            WinStatus::ClientNameNotFound,
            format!("A session does not exist with the computer name {client}."),
        )
    }
}

/// The status of a failure that names none: the nearest Windows has.
fn status_of(kind: Kind) -> WinStatus {
    match kind {
        Kind::Unauthorized | Kind::Forbidden => WinStatus::AccessDenied,
        Kind::NotFound => WinStatus::NotFound,
        Kind::MethodNotAllowed => WinStatus::NotSupported,
        Kind::RequestTimeout => WinStatus::Timeout,
        Kind::BadRequest | Kind::Conflict | Kind::PayloadTooLarge | Kind::UnsupportedMediaType => {
            WinStatus::InvalidParameter
        }
        Kind::TooManyRequests => WinStatus::Busy,
        Kind::Unavailable => WinStatus::ServerUnavailable,
        Kind::Internal => WinStatus::InternalError,
    }
}

#[derive(Serialize)]
struct Body<'a> {
    status: u32,
    name: &'static str,
    message: &'a str,
}

pub fn render(p: &Problem, status: &Option<WinStatus>) -> Response {
    let status = status.unwrap_or_else(|| status_of(p.kind));
    (
        p.status(),
        Json(Body {
            status: status.code(),
            name: status.name(),
            message: &p.message,
        }),
    )
        .into_response()
}
