//! What went wrong with a request, before any product spells it: one classification of
//! every `CoreError` and every framework rejection. Dialects only dress a `Problem` in their
//! own envelope (`dialect::Dialect::render`).

use axum::http::StatusCode;
use sessiond_core::{AuthFailure, CoreError, Privilege};

/// The kinds of failure a client can be told about, each with one HTTP status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    BadRequest,
    /// "Who are you?"
    Unauthorized,
    /// "I know you, and no."
    Forbidden,
    NotFound,
    MethodNotAllowed,
    RequestTimeout,
    Conflict,
    PayloadTooLarge,
    UnsupportedMediaType,
    /// Too many failed logins: wait `Problem::retry_after` seconds.
    TooManyRequests,
    Unavailable,
    Internal,
}

impl Kind {
    pub fn status(self) -> StatusCode {
        match self {
            Kind::BadRequest => StatusCode::BAD_REQUEST,
            Kind::Unauthorized => StatusCode::UNAUTHORIZED,
            Kind::Forbidden => StatusCode::FORBIDDEN,
            Kind::NotFound => StatusCode::NOT_FOUND,
            Kind::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Kind::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            Kind::Conflict => StatusCode::CONFLICT,
            Kind::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Kind::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Kind::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
            Kind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            Kind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The kind of an error status some layer answered without saying why.
    pub fn of_status(status: StatusCode) -> Kind {
        match status {
            StatusCode::UNAUTHORIZED => Kind::Unauthorized,
            StatusCode::FORBIDDEN => Kind::Forbidden,
            StatusCode::NOT_FOUND => Kind::NotFound,
            StatusCode::METHOD_NOT_ALLOWED => Kind::MethodNotAllowed,
            StatusCode::REQUEST_TIMEOUT => Kind::RequestTimeout,
            StatusCode::CONFLICT => Kind::Conflict,
            StatusCode::PAYLOAD_TOO_LARGE => Kind::PayloadTooLarge,
            StatusCode::UNSUPPORTED_MEDIA_TYPE => Kind::UnsupportedMediaType,
            StatusCode::TOO_MANY_REQUESTS => Kind::TooManyRequests,
            StatusCode::SERVICE_UNAVAILABLE => Kind::Unavailable,
            s if s.is_server_error() => Kind::Internal,
            _ => Kind::BadRequest,
        }
    }
}

/// One failure, classified. `message` is safe to show to the caller.
#[derive(Debug, Clone)]
pub struct Problem {
    pub kind: Kind,
    pub message: String,
    /// The privilege the caller lacks, for dialects that phrase it their own way.
    pub privilege: Option<Privilege>,
    /// Why authentication failed, for dialects that answer some reasons specially.
    pub auth: Option<AuthFailure>,
    /// Seconds to wait before trying again (`Retry-After`).
    pub retry_after: Option<i64>,
}

impl Problem {
    pub fn new(kind: Kind, message: impl Into<String>) -> Self {
        Problem {
            kind,
            message: message.into(),
            privilege: None,
            auth: None,
            retry_after: None,
        }
    }

    pub fn status(&self) -> StatusCode {
        self.kind.status()
    }
}

/// The one place a `CoreError` becomes a status and a public message. Store trouble and
/// internal errors are logged here with their detail, which the caller never sees.
pub fn classify(e: CoreError) -> Problem {
    match e {
        CoreError::Unauthenticated(f @ AuthFailure::Throttled { retry_after_secs }) => Problem {
            auth: Some(f),
            retry_after: Some(retry_after_secs),
            ..Problem::new(Kind::TooManyRequests, f.to_string())
        },
        CoreError::Unauthenticated(f) => Problem {
            auth: Some(f),
            ..Problem::new(Kind::Unauthorized, f.to_string())
        },
        CoreError::MissingPrivilege(p) => Problem {
            privilege: Some(p),
            ..Problem::new(Kind::Forbidden, format!("missing privilege {p}"))
        },
        CoreError::Forbidden(m) => Problem::new(Kind::Forbidden, m),
        CoreError::NotFound(m) => Problem::new(Kind::NotFound, m),
        CoreError::Conflict(m) => Problem::new(Kind::Conflict, m),
        CoreError::Invalid(m) => Problem::new(Kind::BadRequest, m),
        CoreError::Unavailable(m) => {
            tracing::warn!(error = %m, "store unavailable");
            Problem::new(
                Kind::Unavailable,
                "the session store is unavailable; try again shortly",
            )
        }
        CoreError::DirectoryUnavailable(m) => {
            tracing::warn!(error = %m, "directory unavailable");
            Problem::new(
                Kind::Unavailable,
                "the directory is unavailable; try again shortly",
            )
        }
        CoreError::Internal(m) => {
            tracing::error!(error = %m, "internal error");
            Problem::new(Kind::Internal, "internal error")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_core_error_has_one_status() {
        let cases = [
            (
                CoreError::Unauthenticated(AuthFailure::InvalidToken),
                StatusCode::UNAUTHORIZED,
            ),
            (
                CoreError::MissingPrivilege(Privilege::AUDIT_READ),
                StatusCode::FORBIDDEN,
            ),
            (CoreError::Forbidden("no".into()), StatusCode::FORBIDDEN),
            (CoreError::NotFound("x".into()), StatusCode::NOT_FOUND),
            (CoreError::Conflict("x".into()), StatusCode::CONFLICT),
            (CoreError::Invalid("x".into()), StatusCode::BAD_REQUEST),
            (
                CoreError::Unavailable("db down".into()),
                StatusCode::SERVICE_UNAVAILABLE,
            ),
            (
                CoreError::Internal("bug".into()),
                StatusCode::INTERNAL_SERVER_ERROR,
            ),
        ];
        for (e, status) in cases {
            assert_eq!(classify(e).status(), status);
        }
    }

    #[test]
    fn store_and_internal_detail_stay_private() {
        let p = classify(CoreError::Unavailable("password=hunter2 host=db".into()));
        assert!(!p.message.contains("hunter2"));
        let p = classify(CoreError::Internal("stack detail".into()));
        assert_eq!(p.message, "internal error");
    }

    #[test]
    fn statuses_round_trip_through_kinds() {
        for kind in [
            Kind::BadRequest,
            Kind::Unauthorized,
            Kind::Forbidden,
            Kind::NotFound,
            Kind::MethodNotAllowed,
            Kind::RequestTimeout,
            Kind::Conflict,
            Kind::PayloadTooLarge,
            Kind::UnsupportedMediaType,
            Kind::TooManyRequests,
            Kind::Unavailable,
            Kind::Internal,
        ] {
            assert_eq!(Kind::of_status(kind.status()), kind);
        }
    }
}
