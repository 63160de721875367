//! The native API's extractors; failures answer `{"error":{"code","message"}}`.

use axum::http::StatusCode;

use super::error::NativeError;
pub use crate::extract::ClientInfo;
use crate::extract::{dialect_extractors, DialectError};

impl DialectError for NativeError {
    fn rejection(status: StatusCode, message: String) -> Self {
        NativeError::new(status, message)
    }
}

dialect_extractors!(NativeError);
