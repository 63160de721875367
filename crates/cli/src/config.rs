//! `sessiond config`: the configuration `serve` would run with, each setting with where its
//! value came from (flag, environment, file or default), secrets masked. It reads the
//! options' own declarations (clap), so a new option appears here without code of its own.

use clap::parser::ValueSource;
use clap::ArgMatches;

use crate::fail::{Context, Fail};
use crate::serve::ServeArgs;

/// One line of the report.
#[derive(Debug, PartialEq, Eq)]
pub struct Line {
    pub key: String,
    pub value: String,
    pub source: &'static str,
}

/// The TOML file's table, if one is given.
fn file_table(args: &ServeArgs) -> Result<toml::Table, Fail> {
    let Some(path) = &args.config else {
        return Ok(toml::Table::new());
    };
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read configuration file {}", path.display()))?;
    text.parse::<toml::Table>()
        .map_err(|e| Fail::usage(format!("configuration file {}: {e}", path.display())))
}

/// What a reader may see of a value: a URL's password and any password are masked.
fn shown(key: &str, value: &str) -> String {
    if key.contains("password") && !key.ends_with("_file") {
        return "********".into();
    }
    // postgres://user:secret@host/db → postgres://user:********@host/db
    if let Some((scheme, rest)) = value.split_once("://") {
        if let Some((userinfo, host)) = rest.split_once('@') {
            if let Some((user, _)) = userinfo.split_once(':') {
                return format!("{scheme}://{user}:********@{host}");
            }
        }
    }
    value.to_owned()
}

fn toml_text(v: &toml::Value) -> String {
    match v {
        toml::Value::String(s) => s.clone(),
        toml::Value::Array(a) => a.iter().map(toml_text).collect::<Vec<_>>().join(","),
        other => other.to_string(),
    }
}

/// The default an option's help states (`[default: X]`), if any.
fn stated_default(arg: &clap::Arg) -> String {
    let help = arg
        .get_long_help()
        .or_else(|| arg.get_help())
        .map(|h| h.to_string())
        .unwrap_or_default();
    let Some((_, rest)) = help.split_once("[default: ") else {
        return "(none)".into();
    };
    // Up to the bracket that closes this one: a default may hold brackets (`[::1]`).
    let mut depth = 0;
    for (i, c) in rest.char_indices() {
        match c {
            '[' => depth += 1,
            ']' if depth == 0 => return rest[..i].to_owned(),
            ']' => depth -= 1,
            _ => {}
        }
    }
    rest.to_owned()
}

/// Every setting of `serve` (as declared on `command`), its value and its source.
pub fn report(
    command: &clap::Command,
    matches: &ArgMatches,
    args: &ServeArgs,
) -> Result<Vec<Line>, Fail> {
    let file = file_table(args)?;
    let mut lines = Vec::new();
    for arg in command.get_arguments() {
        let id = arg.get_id().as_str();
        if matches!(id, "help" | "version") {
            continue;
        }
        let raw = || {
            matches
                .get_raw(id)
                .map(|vals| {
                    vals.map(|v| v.to_string_lossy().into_owned())
                        .collect::<Vec<_>>()
                        .join(",")
                })
                .unwrap_or_default()
        };
        let (value, source) = match matches.value_source(id) {
            Some(ValueSource::CommandLine) => (raw(), "flag"),
            Some(ValueSource::EnvVariable) => (raw(), "environment"),
            _ => match file.get(id) {
                Some(v) => (toml_text(v), "file"),
                // A constant default is clap's own; a computed one is stated in the help.
                None => match raw() {
                    v if v.is_empty() => (stated_default(arg), "default"),
                    v => (v, "default"),
                },
            },
        };
        lines.push(Line {
            key: id.to_owned(),
            value: shown(id, &value),
            source,
        });
    }
    if std::env::var_os("SESSIOND_ADMIN_PASSWORD").is_some() {
        lines.push(Line {
            key: "admin_password".into(),
            value: "********".into(),
            source: "environment",
        });
    }
    Ok(lines)
}

pub fn print(lines: &[Line]) {
    let width = lines.iter().map(|l| l.key.len()).max().unwrap_or(0);
    for l in lines {
        println!("{:width$} = {}  # {}", l.key, l.value, l.source);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_masked() {
        assert_eq!(
            shown("store", "postgres://app:s3cret@db:5432/sessiond"),
            "postgres://app:********@db:5432/sessiond"
        );
        assert_eq!(
            shown("store", "postgres://db/sessiond"),
            "postgres://db/sessiond"
        );
        assert_eq!(shown("admin_password", "x"), "********");
        assert_eq!(shown("admin_password_file", "/etc/pw"), "/etc/pw");
    }
}
