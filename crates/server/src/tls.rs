//! TLS for the wire protocol: a configured certificate, or a self-signed one
//! made on first start under `<data>/tls/`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::ServerError;
use crate::datadir::write_private;

/// Where the certificate and key are.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// Uses the configured files, or makes (once) a self-signed certificate for
/// `localhost` and the loopback addresses.
pub fn ensure_certificate(
    data_dir: &Path,
    configured: Option<(PathBuf, PathBuf)>,
) -> Result<TlsFiles, ServerError> {
    if let Some((cert, key)) = configured {
        return Ok(TlsFiles { cert, key });
    }
    let dir = data_dir.join("tls");
    let files = TlsFiles {
        cert: dir.join("server.crt"),
        key: dir.join("server.key"),
    };
    if files.cert.exists() && files.key.exists() {
        return Ok(files);
    }
    let names = vec![
        "localhost".to_string(),
        "127.0.0.1".to_string(),
        "::1".to_string(),
    ];
    let certified = rcgen::generate_simple_self_signed(names)
        .map_err(|e| ServerError::Tls(format!("cannot generate a certificate: {e}")))?;
    write_private(&files.key, certified.signing_key.serialize_pem().as_bytes())?;
    write_private(&files.cert, certified.cert.pem().as_bytes())?;
    Ok(files)
}

/// A TLS acceptor for the wire protocol.
pub fn acceptor(files: &TlsFiles) -> Result<TlsAcceptor, ServerError> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&files.cert)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(|e| ServerError::Tls(format!("cannot read {}: {e}", files.cert.display())))?;
    let key = PrivateKeyDer::from_pem_file(&files.key)
        .map_err(|e| ServerError::Tls(format!("cannot read {}: {e}", files.key.display())))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| ServerError::Tls(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| ServerError::Tls(e.to_string()))?;
    config.alpn_protocols = vec![b"postgresql".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}
