//! HTTPS: the operator's certificate, or a self-signed one generated once into the data
//! directory. HTTP/1.1 only (no ALPN is required), and no SNI is required either: some
//! clients (`qq` given an IP address) send none.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use sha2::{Digest, Sha256};

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("{0}")]
    Files(String),
    #[error("cannot generate a certificate: {0}")]
    Generate(String),
    #[error("invalid TLS configuration: {0}")]
    Config(String),
}

/// Where the certificate came from, and what a client should pin.
#[derive(Debug, Clone)]
pub struct TlsIdentity {
    pub cert_path: PathBuf,
    pub key_path: PathBuf,
    /// True when it was generated now (first start).
    pub generated: bool,
    /// SHA-256 of the leaf certificate (DER), as `AB:CD:...`.
    pub fingerprint: String,
}

/// The certificate and key to serve: the given files, or `DATA_DIR/tls/{cert,key}.pem`,
/// generated (self-signed, for `localhost`, `127.0.0.1`, `::1` and `hostnames`) when absent.
pub fn prepare(
    data_dir: &Path,
    cert: Option<&Path>,
    key: Option<&Path>,
    hostnames: &[String],
) -> Result<TlsIdentity, TlsError> {
    let (cert_path, key_path, generated) = match (cert, key) {
        (Some(c), Some(k)) => (c.to_owned(), k.to_owned(), false),
        (None, None) => {
            let dir = data_dir.join("tls");
            let (c, k) = (dir.join("cert.pem"), dir.join("key.pem"));
            let generated = if c.exists() && k.exists() {
                false
            } else {
                generate(&dir, &c, &k, hostnames)?;
                true
            };
            (c, k, generated)
        }
        _ => {
            return Err(TlsError::Files(
                "--tls-cert and --tls-key go together".into(),
            ))
        }
    };
    let certs = read_certs(&cert_path)?;
    read_key(&key_path)?;
    Ok(TlsIdentity {
        fingerprint: fingerprint(&certs[0]),
        cert_path,
        key_path,
        generated,
    })
}

fn generate(dir: &Path, cert: &Path, key: &Path, hostnames: &[String]) -> Result<(), TlsError> {
    let mut names = vec![
        "localhost".to_owned(),
        "127.0.0.1".to_owned(),
        "::1".to_owned(),
    ];
    for h in hostnames {
        if !h.is_empty() && !names.contains(h) {
            names.push(h.clone());
        }
    }
    let rcgen::CertifiedKey {
        cert: c,
        signing_key,
    } = rcgen::generate_simple_self_signed(names).map_err(|e| TlsError::Generate(e.to_string()))?;
    std::fs::create_dir_all(dir)
        .map_err(|e| TlsError::Files(format!("cannot create {}: {e}", dir.display())))?;
    write_private(key, signing_key.serialize_pem().as_bytes())?;
    std::fs::write(cert, c.pem())
        .map_err(|e| TlsError::Files(format!("cannot write {}: {e}", cert.display())))?;
    Ok(())
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<(), TlsError> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    opts.open(path)
        .and_then(|mut f| f.write_all(bytes))
        .map_err(|e| TlsError::Files(format!("cannot write {}: {e}", path.display())))
}

fn read_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let certs: Vec<_> = CertificateDer::pem_file_iter(path)
        .map_err(|e| TlsError::Files(format!("cannot read certificate {}: {e}", path.display())))?
        .collect::<Result<_, _>>()
        .map_err(|e| TlsError::Files(format!("bad certificate in {}: {e}", path.display())))?;
    if certs.is_empty() {
        return Err(TlsError::Files(format!(
            "no certificate in {}",
            path.display()
        )));
    }
    Ok(certs)
}

fn read_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    PrivateKeyDer::from_pem_file(path)
        .map_err(|e| TlsError::Files(format!("cannot read private key {}: {e}", path.display())))
}

pub fn fingerprint(cert: &CertificateDer<'_>) -> String {
    Sha256::digest(cert.as_ref())
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// The rustls configuration for `identity`: TLS 1.2 and 1.3, HTTP/1.1.
pub fn server_config(identity: &TlsIdentity) -> Result<Arc<rustls::ServerConfig>, TlsError> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let certs = read_certs(&identity.cert_path)?;
    let key = read_key(&identity.key_path)?;
    let mut config = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| TlsError::Config(e.to_string()))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generates_once_and_reuses() {
        let dir = tempfile::TempDir::new().unwrap();
        let first = prepare(dir.path(), None, None, &["node-a.example".into()]).unwrap();
        assert!(first.generated);
        assert_eq!(first.fingerprint.len(), 32 * 3 - 1);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&first.key_path)
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let again = prepare(dir.path(), None, None, &[]).unwrap();
        assert!(!again.generated);
        assert_eq!(again.fingerprint, first.fingerprint);
        assert!(server_config(&again).is_ok());
    }

    #[test]
    fn cert_and_key_go_together_and_must_parse() {
        let dir = tempfile::TempDir::new().unwrap();
        let cert = dir.path().join("c.pem");
        assert!(prepare(dir.path(), Some(&cert), None, &[]).is_err());
        std::fs::write(&cert, "not a certificate").unwrap();
        let err = prepare(dir.path(), Some(&cert), Some(&cert), &[]).unwrap_err();
        assert!(err.to_string().contains("c.pem"), "{err}");
    }
}
