//! # sessiond-directory
//!
//! Users from an LDAP directory (OpenLDAP, Active Directory): `LdapDirectory` implements
//! the core's `Directory` over `ldap3`. Each operation opens its own connection (logins and
//! syncs are rare next to token checks, and a fresh connection never carries another
//! user's bind), binds as the service account (or anonymously), finds the user with the
//! configured filter, reads the groups, and for a login binds as the user last.

#[cfg(feature = "test-support")]
pub mod testing;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use ldap3::{ldap_escape, Ldap, LdapConnAsync, LdapConnSettings, Scope, SearchEntry};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use sessiond_core::directory::{Directory, DirectoryEntry, DirectoryError};

/// How to reach the directory and find users in it.
#[derive(Clone)]
pub struct LdapConfig {
    /// `ldap://host:port` or `ldaps://host:port`.
    pub url: String,
    /// Upgrade `ldap://` with StartTLS before anything is sent.
    pub starttls: bool,
    /// CA certificates (PEM) to check the directory's certificate against; none: the
    /// system's roots.
    pub ca_file: Option<PathBuf>,
    /// The service account that searches; none: anonymous searches.
    pub bind_dn: Option<String>,
    pub bind_password: Option<String>,
    /// Where users are searched (subtree).
    pub user_base: String,
    /// `{username}` is replaced by the escaped login name, e.g. `(uid={username})` or
    /// `(sAMAccountName={username})`.
    pub user_filter: String,
    /// An entry that also matches this filter is disabled (OpenLDAP has no standard flag;
    /// AD's `userAccountControl` is read in any case).
    pub disabled_filter: Option<String>,
    /// Each connection, bind and search must be done within this.
    pub timeout: Duration,
}

impl std::fmt::Debug for LdapConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LdapConfig")
            .field("url", &self.url)
            .field("starttls", &self.starttls)
            .field("bind_dn", &self.bind_dn)
            .field("user_base", &self.user_base)
            .field("user_filter", &self.user_filter)
            .finish_non_exhaustive()
    }
}

pub struct LdapDirectory {
    cfg: LdapConfig,
    tls: Option<Arc<rustls::ClientConfig>>,
}

/// Attributes read from a user's entry.
const ATTRS: [&str; 10] = [
    "uid",
    "sAMAccountName",
    "cn",
    "displayName",
    "givenName",
    "sn",
    "mail",
    "memberOf",
    "userAccountControl",
    "objectClass",
];

/// AD's `userAccountControl` flag ACCOUNTDISABLE.
const ACCOUNT_DISABLE: u32 = 0x2;

impl LdapDirectory {
    /// Checks the configuration (URL scheme, filter, CA file) without connecting.
    pub fn new(cfg: LdapConfig) -> Result<LdapDirectory, String> {
        let scheme = cfg.url.split("://").next().unwrap_or("");
        if !matches!(scheme, "ldap" | "ldaps") || !cfg.url.contains("://") {
            return Err(format!(
                "--ldap-url: {:?} is not ldap://HOST:PORT or ldaps://HOST:PORT",
                cfg.url
            ));
        }
        if cfg.starttls && scheme == "ldaps" {
            return Err("--ldap-starttls is for ldap:// URLs (ldaps:// is TLS already)".into());
        }
        if !cfg.user_filter.contains("{username}") {
            return Err(format!(
                "--ldap-user-filter: {:?} has no {{username}}",
                cfg.user_filter
            ));
        }
        if cfg.user_base.trim().is_empty() {
            return Err("--ldap-user-base is required with --ldap-url".into());
        }
        let tls = if scheme == "ldaps" || cfg.starttls {
            Some(Arc::new(client_config(cfg.ca_file.as_deref())?))
        } else {
            None
        };
        Ok(LdapDirectory { cfg, tls })
    }

    /// A new connection, bound as the service account (or anonymous).
    async fn connect(&self) -> Result<Ldap, DirectoryError> {
        let mut settings = LdapConnSettings::new()
            .set_conn_timeout(self.cfg.timeout)
            .set_starttls(self.cfg.starttls);
        if let Some(tls) = &self.tls {
            settings = settings.set_config(tls.clone());
        }
        let (conn, mut ldap) = LdapConnAsync::with_settings(settings, &self.cfg.url)
            .await
            .map_err(|e| DirectoryError::Unavailable(format!("cannot connect: {e}")))?;
        tokio::spawn(async move {
            if let Err(e) = conn.drive().await {
                tracing::debug!(error = %e, "LDAP connection closed");
            }
        });
        if let Some(dn) = &self.cfg.bind_dn {
            let pw = self.cfg.bind_password.as_deref().unwrap_or_default();
            let res = ldap
                .with_timeout(self.cfg.timeout)
                .simple_bind(dn, pw)
                .await
                .map_err(unavailable)?;
            if res.rc != 0 {
                // The service account itself is refused: an operator's problem, not the
                // user's password.
                return Err(DirectoryError::Unavailable(format!(
                    "the service account {dn} cannot bind (result {}: {})",
                    res.rc, res.text
                )));
            }
        }
        Ok(ldap)
    }

    async fn find(
        &self,
        ldap: &mut Ldap,
        username: &str,
    ) -> Result<Option<SearchEntry>, DirectoryError> {
        let filter = self
            .cfg
            .user_filter
            .replace("{username}", &ldap_escape(username));
        let (entries, _) = ldap
            .with_timeout(self.cfg.timeout)
            .search(&self.cfg.user_base, Scope::Subtree, &filter, ATTRS.to_vec())
            .await
            .map_err(unavailable)?
            .success()
            .map_err(unavailable)?;
        let mut found: Vec<SearchEntry> = entries.into_iter().map(SearchEntry::construct).collect();
        if found.len() > 1 {
            tracing::warn!(user = %username, entries = found.len(),
                "the user filter matches several directory entries: none is used");
            return Ok(None);
        }
        Ok(found.pop())
    }

    /// The user's groups: `memberOf` when the directory keeps it (AD, OpenLDAP's memberof
    /// overlay), else the groups naming the user as `member` or `memberUid`.
    async fn groups(
        &self,
        ldap: &mut Ldap,
        entry: &SearchEntry,
    ) -> Result<Vec<String>, DirectoryError> {
        if let Some(g) = attr_values(&entry.attrs, "memberOf") {
            return Ok(g.to_vec());
        }
        let uid = first(&entry.attrs, "uid").unwrap_or_default();
        let filter = format!(
            "(|(&(objectClass=groupOfNames)(member={}))(&(objectClass=groupOfUniqueNames)(uniqueMember={}))(&(objectClass=posixGroup)(memberUid={})))",
            ldap_escape(&entry.dn),
            ldap_escape(&entry.dn),
            ldap_escape(&uid)
        );
        let (groups, _) = ldap
            .with_timeout(self.cfg.timeout)
            .search(
                naming_context(&self.cfg.user_base),
                Scope::Subtree,
                &filter,
                vec!["1.1"],
            )
            .await
            .map_err(unavailable)?
            .success()
            .map_err(unavailable)?;
        Ok(groups
            .into_iter()
            .map(|g| SearchEntry::construct(g).dn)
            .collect())
    }

    async fn disabled(&self, ldap: &mut Ldap, entry: &SearchEntry) -> Result<bool, DirectoryError> {
        let uac = first(&entry.attrs, "userAccountControl")
            .and_then(|v| v.parse::<u32>().ok())
            .unwrap_or(0);
        if uac & ACCOUNT_DISABLE != 0 {
            return Ok(true);
        }
        let Some(filter) = &self.cfg.disabled_filter else {
            return Ok(false);
        };
        let (hits, _) = ldap
            .with_timeout(self.cfg.timeout)
            .search(&entry.dn, Scope::Base, filter, vec!["1.1"])
            .await
            .map_err(unavailable)?
            .success()
            .map_err(unavailable)?;
        Ok(!hits.is_empty())
    }

    async fn entry(
        &self,
        ldap: &mut Ldap,
        username: &str,
        e: SearchEntry,
    ) -> Result<DirectoryEntry, DirectoryError> {
        let groups = self.groups(ldap, &e).await?;
        let disabled = self.disabled(ldap, &e).await?;
        let a = &e.attrs;
        // The name as the directory spells it; the one presented if it has none of these.
        let name = first(a, "sAMAccountName")
            .or_else(|| first(a, "uid"))
            .unwrap_or_else(|| username.to_owned());
        Ok(DirectoryEntry {
            username: name,
            display_name: first(a, "displayName").or_else(|| first(a, "cn")),
            first_name: first(a, "givenName"),
            last_name: first(a, "sn"),
            email: first(a, "mail"),
            groups,
            disabled,
            dn: e.dn,
        })
    }
}

#[async_trait]
impl Directory for LdapDirectory {
    async fn authenticate(
        &self,
        username: &str,
        password: &str,
    ) -> Result<DirectoryEntry, DirectoryError> {
        // An empty password is an unauthenticated bind, which succeeds: never a login.
        if password.is_empty() {
            return Err(DirectoryError::BadCredentials);
        }
        let mut ldap = self.connect().await?;
        let Some(found) = self.find(&mut ldap, username).await? else {
            let _ = ldap.unbind().await;
            return Err(DirectoryError::BadCredentials);
        };
        let dn = found.dn.clone();
        // Everything is read as the service account; the user's bind comes last.
        let entry = self.entry(&mut ldap, username, found).await?;
        let res = ldap
            .with_timeout(self.cfg.timeout)
            .simple_bind(&dn, password)
            .await
            .map_err(unavailable)?;
        let _ = ldap.unbind().await;
        match res.rc {
            0 => Ok(entry),
            // invalidCredentials, and AD's disabled/expired/locked answers (also 49).
            49 | 48 | 50 | 53 => Err(DirectoryError::BadCredentials),
            rc => Err(DirectoryError::Unavailable(format!(
                "the bind as the user failed (result {rc}: {})",
                res.text
            ))),
        }
    }

    async fn lookup(&self, username: &str) -> Result<Option<DirectoryEntry>, DirectoryError> {
        let mut ldap = self.connect().await?;
        let found = self.find(&mut ldap, username).await?;
        let out = match found {
            Some(e) => Some(self.entry(&mut ldap, username, e).await?),
            None => None,
        };
        let _ = ldap.unbind().await;
        Ok(out)
    }

    async fn ping(&self) -> Result<(), DirectoryError> {
        let mut ldap = self.connect().await?;
        let _ = ldap.unbind().await;
        Ok(())
    }

    fn describe(&self) -> String {
        let tls = if self.cfg.starttls {
            " with StartTLS"
        } else {
            ""
        };
        format!("{}{tls}, users under {}", self.cfg.url, self.cfg.user_base)
    }
}

fn unavailable(e: ldap3::LdapError) -> DirectoryError {
    DirectoryError::Unavailable(e.to_string())
}

/// An attribute's values, whatever case the directory gave its name in.
fn attr_values<'a>(attrs: &'a HashMap<String, Vec<String>>, name: &str) -> Option<&'a [String]> {
    attrs
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_slice())
}

fn first(attrs: &HashMap<String, Vec<String>>, name: &str) -> Option<String> {
    attr_values(attrs, name)
        .and_then(|v| v.first())
        .filter(|v| !v.is_empty())
        .cloned()
}

/// The directory's root under which groups live: the `dc=` part of the user base
/// (`dc=example,dc=test` for `ou=people,dc=example,dc=test`), else the base itself.
fn naming_context(base: &str) -> &str {
    let lower = base.to_ascii_lowercase();
    let mut at = 0;
    for part in lower.split(',') {
        if part.trim_start().starts_with("dc=") {
            return base[at..].trim_start();
        }
        at += part.len() + 1;
    }
    base
}

/// rustls with the CA file's certificates, or the system's roots.
fn client_config(ca_file: Option<&Path>) -> Result<rustls::ClientConfig, String> {
    let mut roots = rustls::RootCertStore::empty();
    match ca_file {
        Some(path) => {
            let certs: Vec<CertificateDer> = CertificateDer::pem_file_iter(path)
                .map_err(|e| format!("--ldap-ca {}: {e}", path.display()))?
                .collect::<Result<_, _>>()
                .map_err(|e| format!("--ldap-ca {}: {e}", path.display()))?;
            if certs.is_empty() {
                return Err(format!(
                    "--ldap-ca {}: no certificate in it",
                    path.display()
                ));
            }
            for c in certs {
                roots
                    .add(c)
                    .map_err(|e| format!("--ldap-ca {}: {e}", path.display()))?;
            }
        }
        None => {
            let found = rustls_native_roots();
            if found.is_empty() {
                return Err("no system CA certificates found: give --ldap-ca FILE".into());
            }
            for c in found {
                let _ = roots.add(c);
            }
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

/// The system's CA bundle (Debian's, as OpenSSL reads it).
fn rustls_native_roots() -> Vec<CertificateDer<'static>> {
    let path = Path::new("/etc/ssl/certs/ca-certificates.crt");
    CertificateDer::pem_file_iter(path)
        .map(|it| it.filter_map(Result::ok).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> LdapConfig {
        LdapConfig {
            url: "ldap://127.0.0.1:389".into(),
            starttls: false,
            ca_file: None,
            bind_dn: None,
            bind_password: Some("secret".into()),
            user_base: "ou=people,dc=example,dc=test".into(),
            user_filter: "(uid={username})".into(),
            disabled_filter: None,
            timeout: Duration::from_secs(5),
        }
    }

    #[test]
    fn configurations_that_cannot_work_are_refused() {
        assert!(LdapDirectory::new(cfg()).is_ok());
        let bad = |f: fn(&mut LdapConfig)| {
            let mut c = cfg();
            f(&mut c);
            LdapDirectory::new(c).err().unwrap()
        };
        assert!(bad(|c| c.url = "http://x".into()).contains("--ldap-url"));
        assert!(bad(|c| c.url = "127.0.0.1:389".into()).contains("--ldap-url"));
        assert!(bad(|c| c.user_filter = "(uid=admin)".into()).contains("{username}"));
        assert!(bad(|c| c.user_base = " ".into()).contains("--ldap-user-base"));
        assert!(bad(|c| {
            c.url = "ldaps://h".into();
            c.starttls = true
        })
        .contains("--ldap-starttls"));
        assert!(bad(|c| {
            c.starttls = true;
            c.ca_file = Some("/nonexistent/ca.pem".into())
        })
        .contains("--ldap-ca"));
    }

    #[test]
    fn the_service_password_stays_out_of_debug_output() {
        assert!(!format!("{:?}", cfg()).contains("secret"));
    }

    #[test]
    fn groups_are_searched_from_the_naming_context() {
        assert_eq!(
            naming_context("ou=people,dc=example,dc=test"),
            "dc=example,dc=test"
        );
        assert_eq!(
            naming_context("OU=Users,DC=Example,DC=Test"),
            "DC=Example,DC=Test"
        );
        assert_eq!(naming_context("o=corp"), "o=corp");
    }

    #[test]
    fn attributes_are_found_whatever_their_case() {
        let mut a = HashMap::new();
        a.insert("sAMAccountName".to_owned(), vec!["dave".to_owned()]);
        a.insert("mail".to_owned(), vec![String::new()]);
        assert_eq!(first(&a, "samaccountname").as_deref(), Some("dave"));
        assert_eq!(first(&a, "mail"), None);
        assert_eq!(first(&a, "uid"), None);
    }
}
