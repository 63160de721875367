//! HTTP Negotiate (RFC 4559): SPNEGO tokens accepted with the service's keytab. The
//! GSS-API acceptor (feature `kerberos`, MIT Kerberos through `libgssapi`) implements
//! `Negotiate`; without the feature a server cannot be given a keytab.

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

#[cfg(feature = "kerberos")]
pub mod gssapi;
