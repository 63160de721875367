//! The server's log: text (the default) or JSON lines, on standard error.
//!
//! Many logged values come from requests (user names, client types, principals, server and
//! client names). In text, every field and message is written with control characters
//! escaped, so a caller cannot forge a log line or drive the terminal; JSON escapes them by
//! its own rules.

use std::fmt::Write as _;

use clap::ValueEnum;
use serde::Deserialize;
use tracing_subscriber::field::MakeExt;
use tracing_subscriber::EnvFilter;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

/// `text` with its control characters written as `\n`, `\r`, `\t` or `\u{1b}`.
pub fn escape_controls(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

pub fn init(filter: Option<&str>, format: LogFormat) {
    let filter =
        EnvFilter::try_new(filter.unwrap_or("info")).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Json => builder.json().flatten_event(true).init(),
        LogFormat::Text => {
            let fields = tracing_subscriber::fmt::format::debug_fn(|w, field, value| {
                let text = escape_controls(&format!("{value:?}"));
                if field.name() == "message" {
                    w.write_str(&text)
                } else {
                    write!(w, "{field}={text}")
                }
            })
            .delimited(" ");
            builder
                .fmt_fields(fields)
                .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
                .init()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_cannot_start_a_line_or_drive_a_terminal() {
        let forged = "x\n2026-01-01T00:00:00Z  INFO login user=admin\r\u{1b}[2K\u{7}\u{85}";
        let clean = escape_controls(forged);
        assert!(!clean.chars().any(char::is_control), "{clean}");
        assert_eq!(
            clean,
            "x\\n2026-01-01T00:00:00Z  INFO login user=admin\\r\\u{1b}[2K\\u{7}\\u{85}"
        );
        assert_eq!(escape_controls("Zoë, 東京"), "Zoë, 東京");
    }
}
