//! Qumulo identities: `{"domain","auth_id","uid","gid","sid","name"}` objects in bodies and
//! answers, and the string grammar `qq` sends in query strings (`jane`, `auth_id:500`,
//! `local:jane`, `S-1-5-...`, `uid:N`, `sid:X`, `name:X`).

use serde::{Deserialize, Serialize};
use sessiond_core::model::{Group, User};
use sessiond_core::service::UserKey;

use super::QumuloError;

/// An identity as it appears in a request: any subset of the fields.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct IdentityIn {
    #[serde(default)]
    pub domain: Option<String>,
    #[serde(default, deserialize_with = "string_or_number")]
    pub auth_id: Option<String>,
    #[serde(default, deserialize_with = "string_or_number")]
    pub uid: Option<String>,
    #[serde(default, deserialize_with = "string_or_number")]
    pub gid: Option<String>,
    #[serde(default)]
    pub sid: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
}

fn string_or_number<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum V {
        S(String),
        N(i64),
    }
    Ok(Option::<V>::deserialize(d)?.map(|v| match v {
        V::S(s) => s,
        V::N(n) => n.to_string(),
    }))
}

/// An identity in an answer: all six fields, `null` for the unknown ones.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IdentityOut {
    pub domain: &'static str,
    pub auth_id: String,
    pub uid: Option<String>,
    pub gid: Option<String>,
    pub sid: Option<String>,
    pub name: Option<String>,
}

impl IdentityOut {
    pub fn user(u: &User) -> Self {
        IdentityOut {
            domain: "LOCAL",
            auth_id: u.id.to_string(),
            uid: u.profile.nfs_uid.clone(),
            gid: None,
            sid: Some(u.sid()),
            name: Some(u.name.clone()),
        }
    }

    pub fn group(g: &Group) -> Self {
        IdentityOut {
            domain: "LOCAL",
            auth_id: g.id.to_string(),
            uid: None,
            gid: g.gid.clone(),
            sid: Some(group_sid(g)),
            name: Some(g.name.clone()),
        }
    }

    /// A user known only by id (deleted since, for instance).
    pub fn unknown(id: i64) -> Self {
        IdentityOut {
            domain: "LOCAL",
            auth_id: id.to_string(),
            uid: None,
            gid: None,
            sid: None,
            name: None,
        }
    }
}

pub fn group_sid(g: &Group) -> String {
    g.sid
        .clone()
        .unwrap_or_else(|| format!("S-1-5-21-1-2-3-{}", g.id))
}

/// Parses `qq`'s identity grammar (as sent in a query string).
pub fn parse(s: &str) -> Result<IdentityIn, QumuloError> {
    let bad = || QumuloError::bad_request(format!("{s:?} is not an identity"));
    let mut id = IdentityIn::default();
    match s.split_once(':') {
        None if s.len() > 2 && s.get(..2).is_some_and(|p| p.eq_ignore_ascii_case("S-")) => {
            id.sid = Some(s.to_owned())
        }
        None if !s.is_empty() => id.name = Some(s.to_owned()),
        None => return Err(bad()),
        Some((kind, value)) => match kind.to_ascii_lowercase().as_str() {
            "auth_id" => id.auth_id = Some(value.to_owned()),
            "uid" => id.uid = Some(value.to_owned()),
            "gid" => id.gid = Some(value.to_owned()),
            "sid" => id.sid = Some(value.to_owned()),
            "name" => id.name = Some(value.to_owned()),
            "local" => {
                id.domain = Some("LOCAL".into());
                id.name = Some(value.to_owned());
            }
            "ad" => {
                id.domain = Some("ACTIVE_DIRECTORY".into());
                id.name = Some(value.to_owned());
            }
            "ldap_user" => {
                id.domain = Some("POSIX_USER".into());
                id.name = Some(value.to_owned());
            }
            "ldap_group" => {
                id.domain = Some("POSIX_GROUP".into());
                id.name = Some(value.to_owned());
            }
            "world" => {
                id.domain = Some("WORLD".into());
                id.name = Some(value.to_owned());
            }
            _ => return Err(bad()),
        },
    }
    Ok(id)
}

impl IdentityIn {
    /// How to find the local user this identity names.
    pub fn user_key(&self) -> Result<UserKey, QumuloError> {
        if let Some(d) = &self.domain {
            if !d.eq_ignore_ascii_case("LOCAL") && !d.eq_ignore_ascii_case("API_NULL_DOMAIN") {
                return Err(QumuloError::not_found(format!(
                    "only local users are known here, not {d} identities"
                )));
            }
        }
        if let Some(a) = &self.auth_id {
            let id = parse_int(a).ok_or_else(|| {
                QumuloError::bad_request(format!("auth_id {a:?} is not a number"))
            })?;
            return Ok(UserKey::Id(id));
        }
        if let Some(n) = &self.name {
            return Ok(UserKey::Name(n.clone()));
        }
        if let Some(s) = &self.sid {
            return Ok(UserKey::Sid(s.clone()));
        }
        if let Some(u) = &self.uid {
            return Ok(UserKey::NfsUid(u.clone()));
        }
        Err(QumuloError::bad_request("the identity names no user"))
    }
}

/// Decimal, or `0x` hexadecimal as Python's `int(x, 0)` accepts.
fn parse_int(s: &str) -> Option<i64> {
    match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(hex) => i64::from_str_radix(hex, 16).ok(),
        None => s.parse().ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_qq_grammar() {
        assert_eq!(parse("jane").unwrap().name.as_deref(), Some("jane"));
        assert_eq!(
            parse("auth_id:500").unwrap().auth_id.as_deref(),
            Some("500")
        );
        let l = parse("local:jane").unwrap();
        assert_eq!(
            (l.domain.as_deref(), l.name.as_deref()),
            (Some("LOCAL"), Some("jane"))
        );
        assert_eq!(
            parse("S-1-5-21-1-2-3-500").unwrap().sid.as_deref(),
            Some("S-1-5-21-1-2-3-500")
        );
        assert_eq!(parse("uid:1000").unwrap().uid.as_deref(), Some("1000"));
        assert!(parse("bogus:x").is_err());
        assert!(parse("").is_err());
    }

    #[test]
    fn identities_resolve_to_user_keys() {
        assert_eq!(
            parse("auth_id:0x1f4").unwrap().user_key().unwrap(),
            UserKey::Id(500)
        );
        assert_eq!(
            parse("local:jane").unwrap().user_key().unwrap(),
            UserKey::Name("jane".into())
        );
        assert!(parse("ad:jane").unwrap().user_key().is_err());
        let body: IdentityIn = serde_json::from_str(r#"{"uid": 1000}"#).unwrap();
        assert_eq!(body.user_key().unwrap(), UserKey::NfsUid("1000".into()));
    }
}
