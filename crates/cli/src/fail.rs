//! The CLI's error: a message for the user and an exit code.

use std::fmt::Display;

#[derive(Debug)]
pub struct Fail {
    pub message: String,
    pub code: i32,
}

impl Fail {
    pub fn new(message: impl Into<String>) -> Self {
        Fail {
            message: message.into(),
            code: 1,
        }
    }

    /// Bad input from the user (exit code 2, like clap's usage errors).
    pub fn usage(message: impl Into<String>) -> Self {
        Fail {
            message: message.into(),
            code: 2,
        }
    }
}

pub trait Context<T> {
    fn context(self, what: &str) -> Result<T, Fail>;
    fn with_context(self, what: impl FnOnce() -> String) -> Result<T, Fail>;
}

impl<T, E: Display> Context<T> for Result<T, E> {
    fn context(self, what: &str) -> Result<T, Fail> {
        self.map_err(|e| Fail::new(format!("{what}: {e}")))
    }

    fn with_context(self, what: impl FnOnce() -> String) -> Result<T, Fail> {
        self.map_err(|e| Fail::new(format!("{}: {e}", what())))
    }
}
