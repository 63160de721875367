//! HTTP Negotiate (RFC 4559): SPNEGO tokens accepted with the service's keytab. The
//! GSS-API acceptor (`gssapi`: MIT Kerberos' library, loaded at run time) implements
//! `Negotiate`.

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    /// The client principal, e.g. `alice@SESSIOND.TEST`.
    pub principal: String,
    /// The mutual-authentication token for `WWW-Authenticate: Negotiate <token>`.
    pub reply: Option<Vec<u8>>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NegotiateError {
    /// Bad, expired, replayed or foreign token: the client is not authenticated.
    #[error("{0}")]
    Rejected(String),
    /// The mechanism wants another round trip, which Kerberos never needs.
    #[error("negotiation needs another round trip, which is not supported")]
    ContinueNeeded,
    /// The acceptor itself failed (no keytab, a library error).
    #[error("{0}")]
    Other(String),
}

pub trait Negotiate: Send + Sync + 'static {
    /// Accepts one token (blocking but local: the keytab and the replay cache).
    fn accept(&self, token: &[u8]) -> Result<Accepted, NegotiateError>;
}

pub mod gssapi;

/// The realm of the first principal in an MIT keytab file (format 0x0502), to derive the
/// NetBIOS domain from when none is configured.
pub fn keytab_realm(keytab: &[u8]) -> Option<String> {
    if keytab.len() < 2 || keytab[0] != 0x05 || keytab[1] != 0x02 {
        return None;
    }
    let mut at = 2;
    loop {
        let size = i32::from_be_bytes(keytab.get(at..at + 4)?.try_into().ok()?);
        at += 4;
        if size < 0 {
            at += size.unsigned_abs() as usize; // a hole left by a deleted entry
            continue;
        }
        // num_components (u16), then the realm as a counted string.
        let len = u16::from_be_bytes(keytab.get(at + 2..at + 4)?.try_into().ok()?) as usize;
        let realm = keytab.get(at + 4..at + 4 + len)?;
        return String::from_utf8(realm.to_vec()).ok();
    }
}

/// `SESSIOND.TEST` → `SESSIOND`: a NetBIOS domain from a realm or host name.
pub fn netbios_domain(name: &str) -> String {
    name.split('.').next().unwrap_or(name).to_ascii_uppercase()
}

#[cfg(test)]
mod tests {
    #[test]
    fn realm_of_a_keytab() {
        // version 0x0502, one entry: size, 1 component, realm "EX.ORG", ...
        let mut kt = vec![0x05, 0x02, 0, 0, 0, 20, 0, 1, 0, 6];
        kt.extend_from_slice(b"EX.ORG");
        kt.extend_from_slice(&[0, 4]);
        kt.extend_from_slice(b"HTTP");
        kt.extend_from_slice(&[0; 6]);
        assert_eq!(super::keytab_realm(&kt).as_deref(), Some("EX.ORG"));
        assert_eq!(super::keytab_realm(b"garbage"), None);
        assert_eq!(super::keytab_realm(&[0x05, 0x02]), None);
        assert_eq!(super::netbios_domain("sessiond.test"), "SESSIOND");
    }
}
