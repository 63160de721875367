//! The core's one error type. Each dialect maps it to its product's error shape at the edge.

use crate::privilege::Privilege;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CoreError {
    /// "Who are you?": no credentials, or credentials that do not (or no longer) work.
    #[error("{0}")]
    Unauthenticated(AuthFailure),
    /// "I know you, and no."
    #[error("missing privilege {0}")]
    MissingPrivilege(Privilege),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Invalid(String),
    /// The store cannot be reached; the request may succeed later.
    #[error("the session store is unavailable: {0}")]
    Unavailable(String),
    /// The directory that owns the user cannot be reached: never "wrong password".
    #[error("the directory is unavailable: {0}")]
    DirectoryUnavailable(String),
    #[error("internal error: {0}")]
    Internal(String),
}

/// Why a request was not authenticated. The text is safe to show to the caller: it never
/// says whether a user name exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthFailure {
    MissingCredentials,
    BadCredentials,
    InvalidToken,
    SessionEnded,
    SessionExpired,
    SessionIdle,
    /// Too many failed logins; refused for this many more seconds, whatever the password.
    AccountLocked {
        remaining_secs: i64,
    },
    /// Too many failed logins from this client or for this name lately: try again after this
    /// many seconds.
    Throttled {
        retry_after_secs: i64,
    },
}

impl std::fmt::Display for AuthFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            AuthFailure::MissingCredentials => "no credentials were given",
            AuthFailure::BadCredentials => "invalid user name or password",
            AuthFailure::InvalidToken => "the token is not valid",
            AuthFailure::SessionEnded => "the session has ended",
            AuthFailure::SessionExpired => "the session has expired",
            AuthFailure::SessionIdle => "the session was closed after being idle too long",
            AuthFailure::Throttled { retry_after_secs } => {
                return write!(
                    f,
                    "too many failed logins; try again in {retry_after_secs} second(s)"
                );
            }
            AuthFailure::AccountLocked { remaining_secs } => {
                let minutes = (remaining_secs + 59) / 60;
                return write!(
                    f,
                    "the account is locked after repeated failed logins; try again in {minutes} minute(s)"
                );
            }
        })
    }
}

pub type CoreResult<T> = Result<T, CoreError>;

/// Errors a `Store` implementation reports; the core turns them into `CoreError`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("not found: {0}")]
    NotFound(String),
    #[error("store unavailable: {0}")]
    Unavailable(String),
    #[error("store error: {0}")]
    Other(String),
}

impl From<StoreError> for CoreError {
    fn from(e: StoreError) -> Self {
        if matches!(e, StoreError::Unavailable(_) | StoreError::Other(_)) {
            crate::metrics::STORE_ERRORS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        match e {
            StoreError::Conflict(m) => CoreError::Conflict(m),
            StoreError::NotFound(m) => CoreError::NotFound(m),
            StoreError::Unavailable(m) => CoreError::Unavailable(m),
            StoreError::Other(m) => CoreError::Internal(m),
        }
    }
}
