//! SSL_GET's transport (feature `ssl`): a rustls client session and a
//! `Read + Write` view of it over a socket, so [`super::http::HttpExchange`]
//! and `genhash -S` speak HTTP through TLS unchanged.
//!
//! Like keepalived, **no certificate verification is done**: any server
//! certificate is accepted, whoever issued it and whatever name it holds
//! (keepalived sets `SSL_VERIFY_NONE`). A health check asks "does the
//! service answer", not "is this the right server"; real servers often use
//! self-signed certificates. The handshake signatures are still checked
//! against the certificate the server presented.

use std::io::{self, Read, Write};
use std::net::IpAddr;
use std::sync::{Arc, OnceLock};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{ring, verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, ClientConnection, DigitallySignedStruct, SignatureScheme};

/// Accepts every certificate: keepalived's SSL_GET behaviour (see the
/// module comment).
#[derive(Debug)]
struct AnyCertificate(Arc<CryptoProvider>);

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// One client configuration for the process (TLS 1.2 and 1.3, ring).
fn config() -> Result<Arc<ClientConfig>, String> {
    static CONFIG: OnceLock<Result<Arc<ClientConfig>, String>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let provider = Arc::new(ring::default_provider());
            let config = ClientConfig::builder_with_provider(provider.clone())
                .with_safe_default_protocol_versions()
                .map_err(|e| format!("TLS setup: {e}"))?
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(AnyCertificate(provider)))
                .with_no_client_auth();
            Ok(Arc::new(config))
        })
        .clone()
}

/// A TLS client session, before or after its handshake.
#[derive(Debug)]
pub struct TlsSession {
    conn: ClientConnection,
}

impl TlsSession {
    /// A session to `ip`. `sni`: the name to send in the server name
    /// extension; `None` (or a name that is not a valid DNS name) sends
    /// none, as keepalived does without `enable_sni`.
    pub fn new(ip: IpAddr, sni: Option<&str>) -> Result<TlsSession, String> {
        let name = sni
            .and_then(|n| ServerName::try_from(n.to_string()).ok())
            .filter(|n| matches!(n, ServerName::DnsName(_)))
            // rustls never sends SNI for an IP address.
            .unwrap_or(ServerName::IpAddress(ip.into()));
        let conn = ClientConnection::new(config()?, name).map_err(|e| format!("TLS setup: {e}"))?;
        Ok(TlsSession { conn })
    }

    /// The session as a byte stream over `sock`.
    pub fn over<'a, S: Read + Write>(&'a mut self, sock: &'a mut S) -> TlsIo<'a, S> {
        TlsIo { conn: &mut self.conn, sock }
    }
}

/// Plaintext in and out of a [`TlsSession`] over a socket, blocking or not:
/// a `WouldBlock` from the socket is passed up, and the next call resumes.
/// A peer that closes TCP without `close_notify` (common after an HTTP/1.0
/// response) reads as a normal end of stream.
pub struct TlsIo<'a, S> {
    conn: &'a mut ClientConnection,
    sock: &'a mut S,
}

impl<S: Read + Write> TlsIo<'_, S> {
    /// Send whatever TLS records are pending (handshake, request).
    fn flush_tls(&mut self) -> io::Result<()> {
        while self.conn.wants_write() {
            if self.conn.write_tls(self.sock)? == 0 {
                return Err(io::ErrorKind::WriteZero.into());
            }
        }
        Ok(())
    }
}

impl<S: Read + Write> Read for TlsIo<'_, S> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            self.flush_tls()?;
            match self.conn.reader().read(buf) {
                Ok(n) => return Ok(n),
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(0),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(e),
            }
            // No plaintext yet: take ciphertext. At TCP EOF rustls records
            // it, and the reader above then says UnexpectedEof or Ok(0).
            self.conn.read_tls(self.sock)?;
            self.conn.process_new_packets().map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
        }
    }
}

impl<S: Read + Write> Write for TlsIo<'_, S> {
    /// Plaintext is buffered by rustls (until the handshake is done, if need
    /// be) and sent as far as the socket takes it; the rest goes out on the
    /// next read or write.
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.conn.writer().write(buf)?;
        match self.flush_tls() {
            Err(e) if e.kind() != io::ErrorKind::WouldBlock => Err(e),
            _ => Ok(n),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        self.flush_tls()
    }
}
