//! The TOML file (`--config` / `SESSIOND_CONFIG`) as the layer below the environment: each
//! of its keys becomes the default of the option of the same name, so clap alone layers
//! flag > environment > file > built-in default for every option and type, and knows which
//! layer each value came from (`sessiond config`). An option is declared once, on
//! `serve::ServeArgs`; the file has no declaration of its own. A key that names no option
//! is an error.

use std::ffi::OsString;
use std::path::PathBuf;

use crate::fail::{Context, Fail};

/// The commands whose options the file sets.
const COMMANDS: [&str; 2] = ["serve", "config"];

/// The file given on the command line (`--config F`, `--config=F`) or in the environment,
/// when the command is one of `COMMANDS`.
fn config_path(args: &[OsString]) -> Option<PathBuf> {
    let command = args.get(1)?.to_str()?;
    if !COMMANDS.contains(&command) {
        return None;
    }
    let mut it = args.iter().skip(2);
    while let Some(a) = it.next() {
        let a = a.to_string_lossy();
        if a == "--config" {
            return it.next().map(PathBuf::from);
        }
        if let Some(v) = a.strip_prefix("--config=") {
            return Some(PathBuf::from(v));
        }
    }
    std::env::var_os("SESSIOND_CONFIG").map(PathBuf::from)
}

fn values(key: &str, v: &toml::Value) -> Result<Vec<String>, String> {
    match v {
        toml::Value::String(s) => Ok(vec![s.clone()]),
        toml::Value::Integer(i) => Ok(vec![i.to_string()]),
        toml::Value::Float(f) => Ok(vec![f.to_string()]),
        toml::Value::Boolean(b) => Ok(vec![b.to_string()]),
        toml::Value::Array(items) => items
            .iter()
            .map(|i| match i {
                toml::Value::Array(_) | toml::Value::Table(_) => {
                    Err(format!("{key}: a list holds plain values only"))
                }
                other => values(key, other).map(|mut v| v.remove(0)),
            })
            .collect(),
        _ => Err(format!("{key}: not a string, number, boolean or list")),
    }
}

/// The id of the option a file key names: its own name, or one of its aliases.
fn option_for(command: &clap::Command, key: &str) -> Option<String> {
    command
        .get_arguments()
        .find(|a| {
            a.get_id().as_str() == key
                || a.get_all_aliases()
                    .unwrap_or_default()
                    .iter()
                    .any(|alias| alias.replace('-', "_") == key)
        })
        .map(|a| a.get_id().as_str().to_owned())
        .filter(|id| id != "config")
}

/// `command` with the file's values as defaults of the options they name.
pub fn apply(command: clap::Command, args: &[OsString]) -> Result<clap::Command, Fail> {
    let Some(path) = config_path(args) else {
        return Ok(command);
    };
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read configuration file {}", path.display()))?;
    let table: toml::Table = text
        .parse()
        .map_err(|e| Fail::usage(format!("configuration file {}: {e}", path.display())))?;
    let serve = command
        .find_subcommand("serve")
        .expect("the serve command")
        .clone();
    let mut defaults = Vec::new();
    for (key, value) in &table {
        let id = option_for(&serve, key).ok_or_else(|| {
            Fail::usage(format!(
                "configuration file {}: unknown key {key:?} (keys are the options of `sessiond serve --help`, with _ for -)",
                path.display()
            ))
        })?;
        let vals = values(key, value)
            .map_err(|e| Fail::usage(format!("configuration file {}: {e}", path.display())))?;
        defaults.push((id, vals));
    }
    let mut command = command;
    for name in COMMANDS {
        command = command.mut_subcommand(name, |mut sub| {
            for (id, vals) in &defaults {
                sub = sub.mut_arg(id.as_str(), |arg| {
                    arg.default_values(vals.iter().map(|v| clap::builder::OsStr::from(v.clone())))
                });
            }
            sub
        });
    }
    Ok(command)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(v: &[&str]) -> Vec<OsString> {
        v.iter().map(OsString::from).collect()
    }

    #[test]
    fn the_file_is_found_on_the_command_line() {
        assert_eq!(
            config_path(&os(&["sessiond", "serve", "--config", "a.toml"])),
            Some(PathBuf::from("a.toml"))
        );
        assert_eq!(
            config_path(&os(&[
                "sessiond",
                "config",
                "--listen",
                "x",
                "--config=b.toml"
            ])),
            Some(PathBuf::from("b.toml"))
        );
        assert_eq!(
            config_path(&os(&["sessiond", "sessions", "--config", "c"])),
            None
        );
    }

    #[test]
    fn values_become_option_text() {
        let t: toml::Table = "a = 5\nb = true\nc = [\"x\", \"y\"]\nd = \"30m\""
            .parse()
            .unwrap();
        assert_eq!(values("a", &t["a"]).unwrap(), vec!["5"]);
        assert_eq!(values("b", &t["b"]).unwrap(), vec!["true"]);
        assert_eq!(values("c", &t["c"]).unwrap(), vec!["x", "y"]);
        assert_eq!(values("d", &t["d"]).unwrap(), vec!["30m"]);
    }
}
