//! Bounds on what callers may store. Every limit here answers 400 with a message that says
//! which field and why; nothing reaches the store unchecked.

use crate::error::{CoreError, CoreResult};
use crate::model::{Avatar, Profile};

pub const MAX_NAME: usize = 64;
pub const MIN_PASSWORD: usize = 8;
pub const MAX_PASSWORD: usize = 1024;
pub const MAX_FIELD: usize = 256;
pub const MAX_AVATARS: usize = 16;
pub const MAX_METADATA_BYTES: usize = 16 * 1024;
pub const MAX_ROLES: usize = 64;

/// User and role names: 1–64 characters, letters, digits and `. _ - @`, starting with a
/// letter or digit. `\` and `:` are excluded because dialects use them as separators
/// (`DOMAIN\name`, `local:name`).
pub fn name(kind: &str, s: &str) -> CoreResult<()> {
    let ok = !s.is_empty()
        && s.chars().count() <= MAX_NAME
        && s.chars().next().is_some_and(|c| c.is_alphanumeric())
        && s.chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-' | '@' | ' '))
        && !s.ends_with(' ');
    if ok {
        Ok(())
    } else {
        Err(CoreError::Invalid(format!(
            "{kind} name must be 1 to {MAX_NAME} letters, digits, spaces or . _ - @, starting with a letter or digit"
        )))
    }
}

pub fn new_password(p: &str) -> CoreResult<()> {
    let n = p.chars().count();
    if n < MIN_PASSWORD {
        return Err(CoreError::Invalid(format!(
            "password must be at least {MIN_PASSWORD} characters"
        )));
    }
    if p.len() > MAX_PASSWORD {
        return Err(CoreError::Invalid(format!(
            "password must be at most {MAX_PASSWORD} bytes"
        )));
    }
    Ok(())
}

pub fn field(label: &str, v: &Option<String>) -> CoreResult<()> {
    match v {
        Some(s) if s.len() > MAX_FIELD => Err(CoreError::Invalid(format!(
            "{label} must be at most {MAX_FIELD} bytes"
        ))),
        Some(s) if s.chars().any(char::is_control) => Err(CoreError::Invalid(format!(
            "{label} must not contain control characters"
        ))),
        _ => Ok(()),
    }
}

pub fn avatars(a: &[Avatar]) -> CoreResult<()> {
    if a.len() > MAX_AVATARS {
        return Err(CoreError::Invalid(format!("at most {MAX_AVATARS} avatars")));
    }
    for av in a {
        field("avatar size", &Some(av.size.clone()))?;
        if av.url.len() > 2048 {
            return Err(CoreError::Invalid(
                "avatar url must be at most 2048 bytes".into(),
            ));
        }
    }
    Ok(())
}

pub fn metadata(m: &serde_json::Map<String, serde_json::Value>) -> CoreResult<()> {
    let size = serde_json::to_vec(m).map(|v| v.len()).unwrap_or(usize::MAX);
    if size > MAX_METADATA_BYTES {
        return Err(CoreError::Invalid(format!(
            "metadata must be at most {MAX_METADATA_BYTES} bytes of JSON"
        )));
    }
    Ok(())
}

pub fn profile(p: &Profile) -> CoreResult<()> {
    for (label, v) in p.string_fields() {
        field(label, v)?;
    }
    avatars(&p.avatars)?;
    metadata(&p.metadata)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        for ok in [
            "admin", "jane.doe", "bot-1", "a@b", "Zoë", "svc_x", "Jane Doe",
        ] {
            assert!(name("user", ok).is_ok(), "{ok}");
        }
        let long = "a".repeat(65);
        for bad in [
            "",
            " a",
            "a ",
            "DOM\\x",
            "local:x",
            "a/b",
            long.as_str(),
            "-x",
            "a\tb",
        ] {
            assert!(name("user", bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn passwords() {
        assert!(new_password("short").is_err());
        assert!(new_password("long enough").is_ok());
        assert!(new_password(&"x".repeat(2000)).is_err());
    }
}
