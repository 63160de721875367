//! Users who live in a directory (OpenLDAP, Active Directory): what the core asks of one,
//! what it reads back, and how the directory's groups become sessiond's roles. The LDAP
//! client itself is the `sessiond-directory` crate.

use async_trait::async_trait;

/// A user's entry, as the directory has it now.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DirectoryEntry {
    pub dn: String,
    /// The login name (`uid`, `sAMAccountName`), as the directory spells it.
    pub username: String,
    pub display_name: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email: Option<String>,
    /// The DNs of the groups the user is a member of.
    pub groups: Vec<String>,
    /// Disabled there (AD's `userAccountControl` bit, or the configured filter).
    pub disabled: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DirectoryError {
    /// The directory refused the password (or has no such user: the same to the caller).
    #[error("invalid user name or password")]
    BadCredentials,
    /// The directory cannot be reached or did not answer in time.
    #[error("the directory is unavailable: {0}")]
    Unavailable(String),
}

#[async_trait]
pub trait Directory: Send + Sync + 'static {
    /// Checks `password` by binding as the user, and reads their entry. Never stores or
    /// logs the password.
    async fn authenticate(
        &self,
        username: &str,
        password: &str,
    ) -> Result<DirectoryEntry, DirectoryError>;

    /// The user's entry without their password (the periodic sync, Kerberos logins);
    /// `None` when the directory has no such user.
    async fn lookup(&self, username: &str) -> Result<Option<DirectoryEntry>, DirectoryError>;

    /// Whether the directory answers (for `/readyz`).
    async fn ping(&self) -> Result<(), DirectoryError>;

    /// Where it is, for logs (no password).
    fn describe(&self) -> String;
}

/// `--ldap-group-role GROUP=ROLE`: members of GROUP (its DN, or the value of its first
/// RDN, e.g. `admins` for `cn=admins,ou=groups,dc=example,dc=test`; case-insensitive) get
/// ROLE.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GroupRoles(pub Vec<(String, String)>);

impl GroupRoles {
    /// The roles the groups give, each once, in the order of the mapping.
    pub fn roles_of(&self, groups: &[String]) -> Vec<String> {
        let mut roles: Vec<String> = Vec::new();
        for (group, role) in &self.0 {
            let member = groups.iter().any(|dn| {
                dn.eq_ignore_ascii_case(group) || first_rdn_value(dn).eq_ignore_ascii_case(group)
            });
            if member && !roles.contains(role) {
                roles.push(role.clone());
            }
        }
        roles
    }
}

/// `admins` for `cn=admins,ou=groups,...` (the DN itself when it has no `=`).
pub fn first_rdn_value(dn: &str) -> &str {
    let first = dn.split(',').next().unwrap_or(dn);
    first.split_once('=').map_or(first, |(_, v)| v).trim()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_map_to_roles_by_dn_or_name_case_insensitively() {
        let map = GroupRoles(vec![
            (
                "cn=Admins,ou=groups,dc=example,dc=test".into(),
                "Administrators".into(),
            ),
            ("operators".into(), "Server Operators".into()),
            ("admins".into(), "Administrators".into()),
            ("auditors".into(), "Observers".into()),
        ]);
        let groups = vec![
            "CN=admins,OU=groups,DC=example,DC=test".to_owned(),
            "cn=Operators,ou=groups,dc=example,dc=test".to_owned(),
        ];
        assert_eq!(
            map.roles_of(&groups),
            ["Administrators", "Server Operators"]
        );
        assert!(map.roles_of(&[]).is_empty());
        assert_eq!(first_rdn_value("cn=ops team,dc=x"), "ops team");
        assert_eq!(first_rdn_value("plain"), "plain");
    }
}
