//! TCP connect and TLS handshake that capture the presented chain whatever happens next.
//!
//! The client accepts any chain during the handshake (trust is judged afterwards, see
//! `crate::trust`) but still checks the handshake signature, so a captured chain is one the
//! server proved it holds the key for. The chain is written into a per-connection slot the
//! moment it arrives, so servers that later abort (client certificate required, bad
//! signature) still yield it.

use super::starttls::{self, Refusal};
use crate::model::{
    iana_suite_name, tls_version_name, ErrorClass, ErrorInfo, KeyFamily, Starttls, TlsInfo,
};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::Resumption;
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::{CertificateDer, ServerName, SubjectPublicKeyInfoDer, UnixTime};
use rustls::{
    AlertDescription, CertificateError, ClientConfig, ClientConnection, DigitallySignedStruct,
    InvalidMessage, SignatureScheme,
};
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::net::{TcpSocket, TcpStream};
use tokio_rustls::TlsConnector;

/// What the server's Certificate message brought, as the verifier saw it.
#[derive(Debug, Default)]
pub struct Presented {
    /// The presented chain, leaf first.
    pub chain: Vec<CertificateDer<'static>>,
    /// The OCSP response the server stapled (empty when none): rustls asks for one in
    /// every ClientHello.
    pub ocsp: Vec<u8>,
}

/// A slot the verifier fills with what the server presented.
pub type ChainSlot = Arc<Mutex<Presented>>;

#[derive(Debug)]
struct Capture {
    slot: ChainSlot,
    /// Offer only this family's signature schemes (a second look, see [`TlsClient::only`]).
    only: Option<KeyFamily>,
}

impl ServerCertVerifier for Capture {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let mut chain = Vec::with_capacity(1 + intermediates.len());
        chain.push(end_entity.clone().into_owned());
        chain.extend(intermediates.iter().map(|c| c.clone().into_owned()));
        if let Ok(mut s) = self.slot.lock() {
            *s = Presented {
                chain,
                ocsp: ocsp.to_vec(),
            };
        }
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        if let Some(checked) = verify_pss_key(message, cert, dss) {
            return checked;
        }
        match rustls::crypto::verify_tls12_signature(message, cert, dss, &HANDSHAKE_ALGS) {
            Err(rustls::Error::InvalidCertificate(_)) => {
                let spki = spki_of(cert)?;
                let key = webpki::RawPublicKeyEntity::try_from(&spki).map_err(|_| {
                    rustls::Error::InvalidCertificate(CertificateError::BadEncoding)
                })?;
                let algs = HANDSHAKE_ALGS
                    .mapping
                    .iter()
                    .find(|(scheme, _)| *scheme == dss.scheme)
                    .map(|(_, algs)| *algs)
                    .unwrap_or(&[]);
                if algs
                    .iter()
                    .any(|alg| key.verify_signature(*alg, message, dss.signature()).is_ok())
                {
                    Ok(HandshakeSignatureValid::assertion())
                } else {
                    Err(unchecked_or_bad(cert))
                }
            }
            other => other,
        }
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        if let Some(checked) = verify_pss_key(message, cert, dss) {
            return checked;
        }
        match rustls::crypto::verify_tls13_signature(message, cert, dss, &HANDSHAKE_ALGS) {
            Err(rustls::Error::InvalidCertificate(_)) => {
                let spki = spki_of(cert)?;
                rustls::crypto::verify_tls13_signature_with_raw_key(
                    message,
                    &spki,
                    dss,
                    &HANDSHAKE_ALGS,
                )
                .map_err(|_| unchecked_or_bad(cert))
            }
            other => other,
        }
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        // Asked for once per connection, to write the ClientHello.
        match self.only {
            None => OFFERED_SCHEMES.clone(),
            Some(f) => OFFERED_SCHEMES
                .iter()
                .copied()
                .filter(|s| family_of(*s) == Some(f))
                .collect(),
        }
    }
}

/// Handshake signature schemes and their checks: ring's provider's, plus ECDSA with P-521
/// keys (aws-lc-rs: ring has none), which a server with a P-521 certificate needs offered;
/// without it such a server was reached only by the legacy hello and reported as
/// `legacy_tls`. For TLS 1.3 the first check of a scheme is the one used (the curve is part
/// of the scheme); TLS 1.2 may pair any curve with any of these hashes.
static HANDSHAKE_ALGS: WebPkiSupportedAlgorithms = WebPkiSupportedAlgorithms {
    all: webpki::ALL_VERIFICATION_ALGS,
    mapping: &[
        (
            SignatureScheme::ECDSA_NISTP384_SHA384,
            &[
                webpki::ring::ECDSA_P384_SHA384,
                webpki::ring::ECDSA_P256_SHA384,
                webpki::aws_lc_rs::ECDSA_P521_SHA384,
            ],
        ),
        (
            SignatureScheme::ECDSA_NISTP256_SHA256,
            &[
                // ring's check, with a table for a key met often (src/tabled.rs): the nodes
                // of a pool, a wildcard's servers, keys kept across renewals.
                &crate::tabled::TABLED_P256_SHA256,
                webpki::ring::ECDSA_P384_SHA256,
                webpki::aws_lc_rs::ECDSA_P521_SHA256,
            ],
        ),
        (
            SignatureScheme::ECDSA_NISTP521_SHA512,
            &[
                webpki::aws_lc_rs::ECDSA_P521_SHA512,
                webpki::aws_lc_rs::ECDSA_P384_SHA512,
                webpki::aws_lc_rs::ECDSA_P256_SHA512,
            ],
        ),
        (SignatureScheme::ED25519, &[webpki::ring::ED25519]),
        (
            SignatureScheme::RSA_PSS_SHA512,
            &[webpki::ring::RSA_PSS_2048_8192_SHA512_LEGACY_KEY],
        ),
        (
            SignatureScheme::RSA_PSS_SHA384,
            &[webpki::ring::RSA_PSS_2048_8192_SHA384_LEGACY_KEY],
        ),
        (
            SignatureScheme::RSA_PSS_SHA256,
            &[webpki::ring::RSA_PSS_2048_8192_SHA256_LEGACY_KEY],
        ),
        (
            SignatureScheme::RSA_PKCS1_SHA512,
            &[webpki::ring::RSA_PKCS1_2048_8192_SHA512],
        ),
        (
            SignatureScheme::RSA_PKCS1_SHA384,
            &[webpki::ring::RSA_PKCS1_2048_8192_SHA384],
        ),
        (
            SignatureScheme::RSA_PKCS1_SHA256,
            &[webpki::ring::RSA_PKCS1_2048_8192_SHA256],
        ),
    ],
};

/// The handshake signature schemes offered: [`HANDSHAKE_ALGS`]'s, then [`RSA_PSS_KEY`]'s.
static OFFERED_SCHEMES: std::sync::LazyLock<Vec<SignatureScheme>> =
    std::sync::LazyLock::new(|| {
        let mut schemes = HANDSHAKE_ALGS.supported_schemes();
        schemes.extend(
            RSA_PSS_KEY
                .iter()
                .map(|(code, _)| SignatureScheme::from(*code)),
        );
        schemes
    });

/// The key family that signs with `scheme`, if RSA or ECDSA.
fn family_of(scheme: SignatureScheme) -> Option<KeyFamily> {
    use SignatureScheme as S;
    match scheme {
        S::RSA_PKCS1_SHA1
        | S::RSA_PKCS1_SHA256
        | S::RSA_PKCS1_SHA384
        | S::RSA_PKCS1_SHA512
        | S::RSA_PSS_SHA256
        | S::RSA_PSS_SHA384
        | S::RSA_PSS_SHA512 => Some(KeyFamily::Rsa),
        S::ECDSA_SHA1_Legacy
        | S::ECDSA_NISTP256_SHA256
        | S::ECDSA_NISTP384_SHA384
        | S::ECDSA_NISTP521_SHA512 => Some(KeyFamily::Ecdsa),
        _ if RSA_PSS_KEY
            .iter()
            .any(|(code, _)| *code == u16::from(scheme)) =>
        {
            Some(KeyFamily::Rsa)
        }
        _ => None,
    }
}

/// The rsa_pss_pss_* schemes (RFC 8446 4.2.3): RSASSA-PSS by a key whose certificate declares
/// it PSS-only (an id-RSASSA-PSS public key, as `openssl req -newkey rsa-pss` makes and some
/// private PKIs issue). webpki checks PSS only with rsaEncryption keys, and a server with
/// such a key refuses a client that does not offer these: its certificate was never seen.
const RSA_PSS_KEY: [(u16, &ring::signature::RsaParameters); 3] = [
    (0x0809, &ring::signature::RSA_PSS_2048_8192_SHA256),
    (0x080a, &ring::signature::RSA_PSS_2048_8192_SHA384),
    (0x080b, &ring::signature::RSA_PSS_2048_8192_SHA512),
];

/// Checks a handshake signature of an rsa_pss_pss_* scheme with the certificate's
/// id-RSASSA-PSS key; `None` for every other scheme.
fn verify_pss_key(
    message: &[u8],
    cert: &CertificateDer<'_>,
    dss: &DigitallySignedStruct,
) -> Option<Result<HandshakeSignatureValid, rustls::Error>> {
    let code = u16::from(dss.scheme);
    let params = RSA_PSS_KEY.iter().find(|(c, _)| *c == code)?.1;
    let bad = |e| Some(Err(rustls::Error::InvalidCertificate(e)));
    let Ok((_, c)) = x509_parser::parse_x509_certificate(cert.as_ref()) else {
        return bad(CertificateError::BadEncoding);
    };
    let spki = c.public_key();
    if spki.algorithm.algorithm != x509_parser::oid_registry::OID_PKCS1_RSASSAPSS {
        // An rsaEncryption key signs with the rsa_pss_rsae_* schemes, never these.
        return bad(CertificateError::BadSignature);
    }
    // The subjectPublicKey of either algorithm is the same RSAPublicKey.
    let key = ring::signature::UnparsedPublicKey::new(params, &spki.subject_public_key.data);
    match key.verify(message, dss.signature()) {
        Ok(()) => Some(Ok(HandshakeSignatureValid::assertion())),
        Err(_) => bad(CertificateError::BadSignature),
    }
}

/// An RSA key too small for the signature checks (ring and aws-lc-rs check RSA-PSS, which
/// TLS 1.3 and most TLS 1.2 servers sign with, only for keys of 2048 bits and more): the
/// handshake signature could not be checked at all, which is not a bad signature.
#[derive(Debug)]
pub struct UncheckableRsaKey {
    /// The key's size.
    pub bits: u32,
}

impl std::fmt::Display for UncheckableRsaKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the server's RSA key has {} bits, and handshake signatures by keys under 2048 bits cannot be checked, so it has not proven it holds the key (its certificate was read; see weak_key)",
            self.bits
        )
    }
}

impl std::error::Error for UncheckableRsaKey {}

/// The error for a handshake signature that did not verify: a small RSA key's, or a bad one.
/// Only reached on failure, so the certificate is parsed again only then.
fn unchecked_or_bad(cert: &CertificateDer<'_>) -> rustls::Error {
    let small_rsa = x509_parser::parse_x509_certificate(cert.as_ref())
        .ok()
        .map(|(_, c)| crate::cert::key_facts(&c))
        .filter(|(kind, bits)| {
            matches!(kind.as_str(), "RSA" | "RSA-PSS") && (1..2048).contains(bits)
        })
        .map(|(_, bits)| bits);
    match small_rsa {
        Some(bits) => rustls::Error::InvalidCertificate(CertificateError::Other(
            rustls::OtherError(Arc::new(UncheckableRsaKey { bits })),
        )),
        None => rustls::Error::InvalidCertificate(CertificateError::BadSignature),
    }
}

/// The certificate's public key, read leniently. webpki refuses certificates it would not
/// trust for other reasons (an unknown critical extension such as the TLS-ALPN-01
/// acmeIdentifier); the handshake signature must still be checked against the presented key,
/// so it falls back to the raw key.
fn spki_of(cert: &CertificateDer<'_>) -> Result<SubjectPublicKeyInfoDer<'static>, rustls::Error> {
    let (_, c) = x509_parser::parse_x509_certificate(cert.as_ref())
        .map_err(|_| rustls::Error::InvalidCertificate(CertificateError::BadEncoding))?;
    Ok(SubjectPublicKeyInfoDer::from(c.public_key().raw.to_vec()))
}

/// Settings of the TLS client.
#[derive(Debug, Clone)]
pub struct TlsSettings {
    /// ALPN protocols to offer (so the negotiated one can be reported).
    pub alpn: Vec<Vec<u8>>,
}

impl Default for TlsSettings {
    fn default() -> Self {
        TlsSettings {
            alpn: vec![b"h2".to_vec(), b"http/1.1".to_vec()],
        }
    }
}

/// A shared client configuration from which each connection gets its own capture slot.
#[derive(Debug, Clone)]
pub struct TlsClient {
    base: Arc<ClientConfig>,
    /// The configurations of [`TlsClient::only`], RSA's then ECDSA's.
    restricted: Arc<[Arc<ClientConfig>; 2]>,
    /// Which of them this client uses, if one.
    only: Option<KeyFamily>,
}

impl TlsClient {
    /// Builds the client: one provider, TLS 1.3 and 1.2, X25519 then P-256 then P-384 key
    /// shares (classical only: post-quantum shares cost CPU and make ClientHellos some old
    /// servers mishandle), no session resumption (a resumed session carries no certificate).
    ///
    /// The provider is ring's except for X25519, whose arithmetic comes from aws-lc-rs at half
    /// the cost (`super::kx` says how and why). aws-lc-rs's whole provider was measured too:
    /// its signature checks and key schedule were not faster in place.
    pub fn new(settings: &TlsSettings) -> Result<Self, rustls::Error> {
        let mut provider = rustls::crypto::ring::default_provider();
        provider.kx_groups = vec![
            super::kx::X25519,
            rustls::crypto::ring::kx_group::SECP256R1,
            rustls::crypto::ring::kx_group::SECP384R1,
            super::kx::SECP521R1,
        ];
        // AES-128-GCM with SHA-256 first: the SHA-256 key schedule runs on the CPU's SHA
        // instructions, SHA-384 does not, and both are as good for reading a certificate.
        provider.cipher_suites.sort_by_key(|s| {
            !matches!(
                s.suite(),
                rustls::CipherSuite::TLS13_AES_128_GCM_SHA256
                    | rustls::CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256
                    | rustls::CipherSuite::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256
            )
        });
        provider.secure_random = &super::random::ThreadRandom;
        provider.signature_verification_algorithms = HANDSHAKE_ALGS;
        let config = |provider: CryptoProvider| -> Result<Arc<ClientConfig>, rustls::Error> {
            let mut config = ClientConfig::builder_with_provider(Arc::new(provider))
                .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(Capture {
                    slot: Arc::default(),
                    only: None,
                }))
                .with_no_client_auth();
            config.resumption = Resumption::disabled();
            config.alpn_protocols = settings.alpn.clone();
            Ok(Arc::new(config))
        };
        // A TLS 1.2 server picks its certificate by the cipher suite too: the restricted
        // clients offer only the suites their key family signs.
        let only = |family: KeyFamily| {
            let mut p = provider.clone();
            p.cipher_suites.retain(|s| match s {
                rustls::SupportedCipherSuite::Tls12(t) => {
                    t.sign.iter().any(|s| family_of(*s) == Some(family))
                }
                rustls::SupportedCipherSuite::Tls13(_) => true,
            });
            config(p)
        };
        Ok(TlsClient {
            restricted: Arc::new([only(KeyFamily::Rsa)?, only(KeyFamily::Ecdsa)?]),
            base: config(provider)?,
            only: None,
        })
    }

    /// The same client offering only `family`'s signature algorithms (and, for TLS 1.2, its
    /// cipher suites): a server holding an RSA and an ECDSA certificate for one name then has
    /// to present the one of that family, or refuse.
    pub fn only(&self, family: KeyFamily) -> TlsClient {
        TlsClient {
            base: self.base.clone(),
            restricted: self.restricted.clone(),
            only: Some(family),
        }
    }

    /// A connector whose verifier captures the chain into the returned slot.
    pub fn connector(&self) -> (TlsConnector, ChainSlot) {
        let (config, slot) = self.capturing_config(None);
        (TlsConnector::from(config), slot)
    }

    /// A configuration of its own for one connection. After a STARTTLS dialogue no ALPN is
    /// offered: the protocol is settled already, and the web's `h2`/`http/1.1` would be
    /// offered to a mail or directory server that may refuse what it does not know.
    fn capturing_config(&self, starttls: Option<Starttls>) -> (Arc<ClientConfig>, ChainSlot) {
        let slot: ChainSlot = Arc::default();
        let base = match self.only {
            None => &self.base,
            Some(KeyFamily::Rsa) => &self.restricted[0],
            Some(KeyFamily::Ecdsa) => &self.restricted[1],
        };
        let mut config = (**base).clone();
        if starttls.is_some() {
            config.alpn_protocols.clear();
        }
        config
            .dangerous()
            .set_certificate_verifier(Arc::new(Capture {
                slot: slot.clone(),
                only: self.only,
            }));
        (Arc::new(config), slot)
    }
}

/// Runs the client side of a handshake until the server's flight is verified.
///
/// It stops before sending the client's final flight: by then the chain is captured, the
/// server has proven it holds the key (CertificateVerify), its Finished MAC is checked, and the
/// version, cipher suite and ALPN are settled. In TLS 1.3 that flight (the client's Finished)
/// would only make the server send session tickets we do not want; not sending it saves a
/// write and the server's work for it. In TLS 1.2 the client's Finished precedes the server's,
/// so there nothing is left unsent. Errors carry the `rustls::Error` as tokio-rustls does, so
/// `classify_tls` reads both the same way.
async fn handshake(
    tcp: &TcpStream,
    conn: &mut ClientConnection,
    opening: &mut Opening,
) -> io::Result<()> {
    let mut io = Io { tcp, opening };
    loop {
        while conn.is_handshaking() && conn.wants_write() {
            match conn.write_tls(&mut io) {
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => tcp.writable().await?,
                Err(e) => return Err(e),
            }
        }
        if !conn.is_handshaking() {
            return Ok(());
        }
        match conn.read_tls(&mut io) {
            Ok(0) => {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    crate::model::CLOSED_IN_HANDSHAKE,
                ))
            }
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                tcp.readable().await?;
                continue;
            }
            Err(e) => return Err(e),
        }
        if let Err(e) = conn.process_new_packets() {
            // Best effort: tell the server why (the alert rustls queued), then give up.
            let _ = conn.write_tls(&mut io);
            return Err(io::Error::new(io::ErrorKind::InvalidData, e));
        }
    }
}

/// Runs `proto`'s dialogue within `limit`. A failure is the endpoint's error, and whether
/// trying again may help (a timeout or a reset; an answer is an answer).
async fn talk(
    tcp: &TcpStream,
    proto: Starttls,
    sni: Option<&str>,
    addr: SocketAddr,
    limit: Duration,
) -> Result<(), (ErrorInfo, bool)> {
    let name = sni.map_or_else(|| addr.ip().to_string(), str::to_string);
    let mut stage = "";
    let talked =
        tokio::time::timeout(limit, starttls::upgrade(tcp, proto, &name, &mut stage)).await;
    let server = proto.display_name();
    match talked {
        Ok(Ok(())) => Ok(()),
        Err(_) => Err((
            ErrorInfo {
                class: ErrorClass::TlsTimeout,
                message: format!(
                    "connected, but no {stage} from the {server} server within {}",
                    crate::duration::display(limit)
                ),
            },
            true,
        )),
        Ok(Err(Refusal::Io(e))) => Err((
            ErrorInfo {
                class: ErrorClass::StarttlsError,
                message: format!("{server} STARTTLS dialogue failed: {e}"),
            },
            matches!(
                e.kind(),
                io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionAborted
            ),
        )),
        Ok(Err(Refusal::Answer(text))) => Err((
            ErrorInfo {
                class: ErrorClass::StarttlsError,
                message: format!("{server} STARTTLS: {text}"),
            },
            false,
        )),
    }
}

/// The first bytes the server sent, kept to explain a server that does not speak TLS.
struct Opening {
    bytes: [u8; 80],
    len: usize,
}

impl Opening {
    fn new() -> Self {
        Opening {
            bytes: [0; 80],
            len: 0,
        }
    }

    /// The first bytes of an answer that is neither text nor a TLS record (whose content
    /// type, 20 to 23, rustls names itself), in hex: what tells an SSL 2.0 server, RDP or
    /// another binary protocol apart where the error says only "corrupt message".
    fn binary(bytes: &[u8]) -> Option<String> {
        let first = *bytes.first()?;
        if (20..=23).contains(&first) {
            return None;
        }
        let shown = &bytes[..bytes.len().min(16)];
        let hex: Vec<String> = shown.iter().map(|b| format!("{b:02x}")).collect();
        // An SSL 2.0 record: a 2-byte header with the top bit set, then SERVER-HELLO (4) or
        // ERROR (0).
        let ssl2 = first & 0x80 != 0 && matches!(bytes.get(2), Some(4 | 0));
        Some(format!(
            "the server answered with bytes that are not TLS: {}{}{}",
            hex.join(" "),
            if bytes.len() > shown.len() {
                " ..."
            } else {
                ""
            },
            if ssl2 {
                " (an SSL 2.0 record: a server of SSL 2.0 only, which no client speaks)"
            } else {
                ""
            }
        ))
    }

    /// What a server that answered a ClientHello with something other than TLS said, and
    /// the protocol whose greeting it was, if it was one certsweep can speak before TLS:
    /// a plain-text greeting (SMTP, FTP, IMAP, POP3, NNTP, ManageSieve), plain HTTP, SSH, a
    /// MySQL handshake; other bytes that are not TLS, in hex ([`Opening::binary`]). `None`
    /// for a TLS record or no answer.
    fn said(&self) -> Option<(String, Option<Starttls>)> {
        let bytes = &self.bytes[..self.len];
        // A MySQL packet: 3-byte length (a greeting's is some 50-100 bytes, where a TLS
        // record's first bytes would read as over 190,000), sequence 0, protocol version 10.
        let mysql_length = bytes
            .get(..3)
            .map(|l| u32::from_le_bytes([l[0], l[1], l[2], 0]));
        if mysql_length.is_some_and(|l| (40..1024).contains(&l))
            && bytes.get(3) == Some(&0)
            && bytes.get(4) == Some(&10)
        {
            return Some((
                "the server sent a MySQL greeting (give the target starttls=mysql)".into(),
                Some(Starttls::Mysql),
            ));
        }
        // The kept bytes may end inside a character.
        let text = match std::str::from_utf8(bytes) {
            Ok(t) => t,
            Err(e) => std::str::from_utf8(&bytes[..e.valid_up_to()]).unwrap_or_default(),
        };
        let line = text.lines().next().unwrap_or_default().trim();
        if line.is_empty() || !line.chars().all(|c| c.is_ascii_graphic() || c == ' ') {
            return Self::binary(bytes).map(|said| (said, None));
        }
        let (hint, proto) = if line.starts_with("220") {
            // FTP servers name themselves in their greeting far more often than mail servers
            // call themselves FTP.
            if text.to_ascii_uppercase().contains("FTP") {
                (
                    "an FTP greeting: give the target starttls=ftp",
                    Some(Starttls::Ftp),
                )
            } else {
                (
                    "an SMTP greeting: give the target starttls=smtp",
                    Some(Starttls::Smtp),
                )
            }
        } else if line.starts_with("* OK") {
            (
                "an IMAP greeting: give the target starttls=imap",
                Some(Starttls::Imap),
            )
        } else if line.starts_with("+OK") {
            (
                "a POP3 greeting: give the target starttls=pop3",
                Some(Starttls::Pop3),
            )
        } else if line.starts_with("200 ") || line.starts_with("201 ") {
            (
                "an NNTP greeting: give the target starttls=nntp",
                Some(Starttls::Nntp),
            )
        } else if line.starts_with("\"IMPLEMENTATION\"") || line.starts_with("\"SIEVE\"") {
            (
                "a ManageSieve greeting: give the target starttls=sieve",
                Some(Starttls::Sieve),
            )
        } else if line.starts_with("HTTP/") {
            ("plain HTTP: the port does not serve HTTPS", None)
        } else if line.starts_with("SSH-") {
            ("an SSH server", None)
        } else {
            ("not TLS", None)
        };
        Some((
            format!("the server answered in plain text, \"{line}\" ({hint})"),
            proto,
        ))
    }
}

/// Non-blocking reads and writes on a tokio socket, for rustls's `read_tls`/`write_tls`;
/// the first bytes read are kept in `opening`.
struct Io<'a> {
    tcp: &'a TcpStream,
    opening: &'a mut Opening,
}

impl io::Read for Io<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.tcp.try_read(buf)?;
        if self.opening.len == 0 {
            let keep = n.min(self.opening.bytes.len());
            self.opening.bytes[..keep].copy_from_slice(&buf[..keep]);
            self.opening.len = keep;
        }
        Ok(n)
    }
}

impl io::Write for Io<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.tcp.try_write(buf)
    }

    fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        self.tcp.try_write_vectored(bufs)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// What one connection attempt produced.
#[derive(Debug, Default)]
pub struct Attempt {
    /// The presented chain, leaf first (empty when none arrived).
    pub chain: Vec<CertificateDer<'static>>,
    /// The OCSP response stapled with it (empty when none).
    pub ocsp: Vec<u8>,
    /// Negotiated parameters when the handshake completed.
    pub tls: Option<TlsInfo>,
    /// TCP connect time.
    pub connect_ms: Option<f64>,
    /// Time of the plaintext dialogue before TLS, when there was one.
    pub starttls_ms: Option<f64>,
    /// Handshake time, up to completion or failure.
    pub handshake_ms: Option<f64>,
    /// The failure, if any.
    pub error: Option<ErrorInfo>,
    /// The failure may pass if tried again: a timeout, or a connection reset or aborted
    /// before any certificate came. A refusal, an alert or a bad chain is an answer.
    pub retry_may_help: bool,
    /// The chain was read from a legacy TLS handshake (`super::legacy`): the server refused
    /// or hung up on every version and cipher suite rustls offers.
    pub legacy: bool,
    /// ... and the legacy hello got TLS 1.2 with a suite the first hello offered too: the
    /// server refused the first hello's groups or signature algorithms, not its protocol.
    pub uncommon: bool,
    /// The chain was read in part from a TLS 1.2 handshake: its Certificate message, of
    /// this many bytes, is larger than rustls accepts ([`MAX_HANDSHAKE_MESSAGE`]).
    pub oversized_chain: Option<usize>,
    /// Why a legacy handshake may still get the certificate (`legacy_fallback`), when it may.
    pub fallback: Option<LegacyReason>,
    /// The protocol whose greeting the server sent instead of TLS, when it was one certsweep
    /// can speak before TLS (a STARTTLS port it was not told of).
    pub greeting: Option<Starttls>,
}

/// Why the first handshake gave no certificate in a way a legacy handshake may get past.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LegacyReason {
    /// The server refused every version and suite offered (`tls_protocol`).
    Refused,
    /// The server closed or reset the connection after the ClientHello, without an alert:
    /// what some old stacks (Windows Schannel among them) do when no cipher suite is in
    /// common, and also what an overloaded server does now and then.
    HungUp,
    /// The server sent a handshake message larger than rustls accepts, most often a chain
    /// with a whole CA bundle in it: up to TLS 1.2 the chain comes in the clear, and its
    /// first certificates can be read.
    TooLarge,
}

/// The largest handshake message rustls accepts (its body's length), as Go's TLS does; Java
/// accepts 32 KiB by default, OpenSSL and BoringSSL a certificate list of 100 KiB.
pub const MAX_HANDSHAKE_MESSAGE: usize = 0xffff;

/// How long each phase of a connection may take.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    /// TCP connect.
    pub connect: Duration,
    /// The plaintext dialogue before TLS, when there is one: mail servers delay their
    /// greeting on purpose (Postfix's postscreen for 6 s, sendmail's greet_pause).
    pub starttls: Duration,
    /// The TLS handshake.
    pub handshake: Duration,
}

impl Timeouts {
    /// The same limit for connect and handshake, and for a dialogue if there is one.
    pub fn all(limit: Duration) -> Self {
        Timeouts {
            connect: limit,
            starttls: limit,
            handshake: limit,
        }
    }
}

/// Connects to `addr` and runs one handshake with `sni` (none for bare addresses), after
/// `starttls`'s plaintext dialogue when the endpoint needs one.
pub async fn probe(
    client: &TlsClient,
    addr: SocketAddr,
    sni: Option<&str>,
    starttls: Option<Starttls>,
    limits: Timeouts,
) -> Attempt {
    let mut out = Attempt::default();
    let server_name = match server_name(sni, addr) {
        Ok(s) => s,
        Err(error) => {
            out.error = Some(error);
            return out;
        }
    };
    let t0 = Instant::now();
    let tcp = match connect_within(addr, starttls, limits.connect).await {
        Ok(s) => s,
        Err((error, retry_may_help)) => {
            out.retry_may_help = retry_may_help;
            out.error = Some(error);
            return out;
        }
    };
    out.connect_ms = Some(ms(t0.elapsed()));
    let (config, slot) = client.capturing_config(starttls);
    let mut conn = match ClientConnection::new(config, server_name) {
        Ok(c) => c,
        Err(e) => {
            out.error = Some(ErrorInfo {
                class: ErrorClass::TlsError,
                message: format!("cannot start a TLS client: {e}"),
            });
            return out;
        }
    };
    if let Some(proto) = starttls {
        let t = Instant::now();
        let talked = talk(&tcp, proto, sni, addr, limits.starttls).await;
        out.starttls_ms = Some(ms(t.elapsed()));
        if let Err((error, retry_may_help)) = talked {
            close_with_reset(&tcp);
            out.error = Some(error);
            out.retry_may_help = retry_may_help;
            return out;
        }
    }
    let t1 = Instant::now();
    let mut opening = Opening::new();
    let result =
        tokio::time::timeout(limits.handshake, handshake(&tcp, &mut conn, &mut opening)).await;
    out.handshake_ms = Some(ms(t1.elapsed()));
    close_with_reset(&tcp);
    let presented = slot
        .lock()
        .map(|mut s| std::mem::take(&mut *s))
        .unwrap_or_default();
    out.chain = presented.chain;
    out.ocsp = presented.ocsp;
    match result {
        Err(_) => {
            out.retry_may_help = out.chain.is_empty();
            out.error = Some(ErrorInfo {
                class: ErrorClass::TlsTimeout,
                message: format!(
                    "connected, but no complete TLS handshake within {}",
                    crate::duration::display(limits.handshake)
                ),
            })
        }
        Ok(Err(e)) => handshake_failed(&mut out, &e, &opening),
        Ok(Ok(())) => {
            out.tls = Some(negotiated(&conn));
            if out.chain.is_empty() {
                if let Some(certs) = conn.peer_certificates() {
                    out.chain = certs.iter().map(|c| c.clone().into_owned()).collect();
                }
            }
        }
    }
    out
}

/// The name sent as SNI, or the address when there is none; an error for a name rustls
/// cannot send.
fn server_name(sni: Option<&str>, addr: SocketAddr) -> Result<ServerName<'static>, ErrorInfo> {
    match sni {
        Some(n) => ServerName::try_from(n.to_string()).map_err(|e| ErrorInfo {
            class: ErrorClass::TlsError,
            message: format!("name \"{n}\" cannot be sent as SNI: {e}"),
        }),
        None => Ok(ServerName::IpAddress(addr.ip().into())),
    }
}

/// The TCP connection to `addr` within `limit`, or why there is none and whether trying
/// again may help (not after a refusal).
async fn connect_within(
    addr: SocketAddr,
    starttls: Option<Starttls>,
    limit: Duration,
) -> Result<TcpStream, (ErrorInfo, bool)> {
    match tokio::time::timeout(limit, connect(addr, starttls)).await {
        Err(_) => Err((
            ErrorInfo {
                class: ErrorClass::ConnectTimeout,
                message: format!(
                    "no TCP answer from {addr} within {}",
                    crate::duration::display(limit)
                ),
            },
            true,
        )),
        Ok(Err(e)) => {
            let error = classify_connect(&e, addr);
            let retry_may_help = error.class != ErrorClass::ConnectRefused;
            Err((error, retry_may_help))
        }
        Ok(Ok(s)) => Ok(s),
    }
}

/// A handshake that ended in `e`: its error class and message, whether a retry may help,
/// what the server said instead of TLS, and whether a legacy handshake should be tried.
fn handshake_failed(out: &mut Attempt, e: &io::Error, opening: &Opening) {
    out.retry_may_help = out.chain.is_empty()
        && matches!(
            e.kind(),
            io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionAborted
        );
    let mut error = classify_tls(e, !out.chain.is_empty());
    if error.class == ErrorClass::TlsError && out.chain.is_empty() {
        if let Some((said, proto)) = opening.said() {
            error.message = format!("{}; {said}", error.message);
            out.greeting = proto;
        }
    }
    let said = e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>());
    let tls_answer = said.is_some();
    let too_large = matches!(
        said,
        Some(rustls::Error::InvalidMessage(
            InvalidMessage::HandshakePayloadTooLarge
        ))
    );
    if out.chain.is_empty() {
        out.fallback = if too_large {
            Some(LegacyReason::TooLarge)
        } else if error.class == ErrorClass::TlsProtocol {
            Some(LegacyReason::Refused)
        } else if !tls_answer
            && matches!(
                e.kind(),
                io::ErrorKind::ConnectionReset
                    | io::ErrorKind::ConnectionAborted
                    | io::ErrorKind::UnexpectedEof
            )
        {
            Some(LegacyReason::HungUp)
        } else {
            None
        };
    }
    out.error = Some(error);
}

/// The version, cipher suite, ALPN protocol and key exchange group the handshake agreed.
fn negotiated(conn: &ClientConnection) -> TlsInfo {
    TlsInfo {
        version: conn
            .protocol_version()
            .map_or_else(|| "unknown".into(), |v| tls_version_name(u16::from(v))),
        cipher_suite: conn
            .negotiated_cipher_suite()
            .and_then(|s| s.suite().as_str())
            .map_or_else(|| "unknown".into(), iana_suite_name),
        alpn: conn
            .alpn_protocol()
            .map(|p| String::from_utf8_lossy(p).into_owned()),
        kx_group: conn
            .negotiated_key_exchange_group()
            .and_then(|g| g.name().as_str())
            .map(str::to_string),
    }
}

/// After a server refused or hung up on every version and cipher suite rustls offers, or
/// sent a message too large for it (`out.fallback`), one more connection reads its
/// certificate from a legacy handshake (`super::legacy`). On success the attempt has the
/// chain, the server's choice of version and suite, and no error; a chain too large is
/// marked `oversized_chain` instead of `legacy`. A server that had hung up but now chooses
/// what the first hello offered did not hang up for want of a legacy protocol (an
/// overloaded server resets now and then), and one whose chain fits sent another message
/// too large: its certificate is kept beside the first error, without the `legacy_tls`
/// claim. Otherwise the attempt is left as it was and the miss returned: the caller may try
/// again ([`LegacyMiss::retry_may_help`]) or add it to the first error
/// ([`Attempt::note_legacy_miss`]).
pub async fn legacy_fallback(
    out: &mut Attempt,
    addr: SocketAddr,
    sni: Option<&str>,
    starttls: Option<Starttls>,
    limits: Timeouts,
) -> Result<(), LegacyMiss> {
    let Some(reason) = out.fallback else {
        return Ok(());
    };
    let miss = |why: String, retry_may_help: bool| LegacyMiss {
        why,
        retry_may_help,
    };
    let t0 = Instant::now();
    let got = match tokio::time::timeout(limits.connect, connect(addr, starttls)).await {
        Err(_) => Err(miss("no TCP answer to a second connection".into(), true)),
        Ok(Err(e)) => Err(miss(
            format!("a second connection failed: {e}"),
            e.kind() != io::ErrorKind::ConnectionRefused,
        )),
        Ok(Ok(tcp)) => {
            let talked = match starttls {
                Some(proto) => {
                    talk(&tcp, proto, sni, addr, limits.starttls)
                        .await
                        .map_err(|(e, again)| {
                            miss(format!("on the second connection: {}", e.message), again)
                        })
                }
                None => Ok(()),
            };
            let got = match talked {
                Err(m) => Err(m),
                Ok(()) => tokio::time::timeout(limits.handshake, super::legacy::grab(&tcp, sni))
                    .await
                    .map_err(|_| {
                        miss(
                            format!(
                                "no certificate within {}",
                                crate::duration::display(limits.handshake)
                            ),
                            true,
                        )
                    })
                    .and_then(|r| r.map_err(|e| miss(e.to_string(), false))),
            };
            close_with_reset(&tcp);
            got
        }
    };
    let capture = match got {
        Err(m) => return Err(m),
        Ok(c) if c.chain.is_empty() => {
            return Err(miss(
                "the server sent an empty certificate list".into(),
                false,
            ))
        }
        Ok(c) => c,
    };
    let oversized = capture.certificate_len > MAX_HANDSHAKE_MESSAGE;
    // Where the first error still says what clients meet, the certificate is kept beside it.
    let beside_the_error = match reason {
        // Another message was over the limit (TLS 1.3's encrypted extensions or request for
        // a client certificate, whose lists can pass it by a few bytes).
        LegacyReason::TooLarge if !oversized => Some(format!(
            "its certificate chain came in a Certificate message of {} bytes, so the larger message is another",
            capture.certificate_len
        )),
        LegacyReason::HungUp if capture.offered_first => Some(format!(
            "it then sent its certificate, choosing {} with {}, which the first hello offered too",
            capture.version, capture.cipher_suite
        )),
        _ => None,
    };
    if let Some(note) = beside_the_error {
        note_legacy_try(out, &note);
        out.chain = capture.chain;
        return Ok(());
    }
    out.handshake_ms = Some(ms(t0.elapsed()));
    out.chain = capture.chain;
    out.tls = Some(TlsInfo {
        version: capture.version,
        cipher_suite: capture.cipher_suite,
        alpn: None,
        kx_group: None,
    });
    out.error = None;
    out.retry_may_help = false;
    if reason == LegacyReason::TooLarge {
        // What the server serves, beside the fact that clients with a limit refuse it.
        out.oversized_chain = Some(capture.certificate_len);
    } else {
        out.legacy = true;
        out.uncommon = capture.offered_first;
    }
    Ok(())
}

/// Why a legacy handshake gave no certificate.
#[derive(Debug)]
pub struct LegacyMiss {
    /// What happened, for the endpoint's error message.
    pub why: String,
    /// A timeout or a failed connect, which another try may get past; an answer is final.
    pub retry_may_help: bool,
}

impl Attempt {
    /// The TLS handshake began: the dialogue before it, if any, went through.
    pub fn reached_tls(&self) -> bool {
        self.handshake_ms.is_some()
    }

    /// Adds a legacy handshake's miss (after `tries` connections) to the first error.
    pub fn note_legacy_miss(&mut self, miss: &LegacyMiss, tries: u32) {
        if tries > 1 {
            note_legacy_try(self, &format!("{} ({tries} tries)", miss.why));
        } else {
            note_legacy_try(self, &miss.why);
        }
    }
}

/// Makes the coming close of `tcp` a reset rather than a FIN: the client closing first would
/// keep each socket in TIME_WAIT for a minute, and a sweep of thousands of names behind one
/// load balancer address would run out of local ports for that address (28,000 by default)
/// within half a minute at a thousand connections per second. Nothing is left to deliver.
fn close_with_reset(tcp: &TcpStream) {
    let _ = socket2::SockRef::from(tcp).set_linger(Some(Duration::ZERO));
}

/// Adds what the legacy offer got to the first error's message.
fn note_legacy_try(out: &mut Attempt, what: &str) {
    if let Some(e) = &mut out.error {
        e.message.push_str(&format!(
            "; offered TLS 1.0-1.2 with legacy cipher suites: {what}"
        ));
    }
}

/// A TCP connect whose last handshake ACK travels with the client's first message (the
/// ClientHello, or a STARTTLS dialogue's first words) instead of alone.
///
/// With quick ACKs off before connecting, Linux holds the ACK of the server's SYN-ACK (up to
/// 200 ms) and sends it with the first data, which the client writes at once: the server
/// sees the connection complete and its first read ready in one event, and it no longer
/// acknowledges the ClientHello on its own either (HAProxy's `tcp-smart-connect` does the
/// same). A sweep of 5,000 endpoints puts 30,100 TCP segments on the wire instead of 40,000;
/// the scanner's own CPU is unchanged within what this machine can measure. Not when the
/// server speaks first (an SMTP greeting): it would wait the 200 ms for its connection.
async fn connect(addr: SocketAddr, starttls: Option<Starttls>) -> io::Result<TcpStream> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    // Best effort: without it the connection is the same, one packet longer.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    if !starttls.is_some_and(starttls::server_speaks_first) {
        let _ = socket2::SockRef::from(&socket).set_tcp_quickack(false);
    }
    socket.connect(addr).await
}

fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1_000_000.0).round() / 1_000.0
}

fn classify_connect(e: &io::Error, addr: SocketAddr) -> ErrorInfo {
    let class = match e.kind() {
        io::ErrorKind::ConnectionRefused => ErrorClass::ConnectRefused,
        io::ErrorKind::TimedOut => ErrorClass::ConnectTimeout,
        _ => ErrorClass::ConnectError,
    };
    // Said in words the verdict and the summary recognise (the scanning host lacks the
    // route, typically IPv6), instead of the OS's "Network is unreachable (os error 101)".
    let message = if e.kind() == io::ErrorKind::NetworkUnreachable {
        format!("connect to {addr}: {}", crate::model::NO_ROUTE)
    } else {
        format!("connect to {addr}: {e}")
    };
    ErrorInfo { class, message }
}

/// Maps a handshake failure to its class. `have_chain` tells whether the server got as far
/// as sending its certificate: an alert before that is a negotiation failure.
fn classify_tls(e: &io::Error, have_chain: bool) -> ErrorInfo {
    let inner = e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>());
    let (class, message) = match inner {
        Some(rustls::Error::AlertReceived(a)) => {
            let negotiation = matches!(
                a,
                AlertDescription::HandshakeFailure
                    | AlertDescription::ProtocolVersion
                    | AlertDescription::InsufficientSecurity
            );
            let class = if negotiation && !have_chain {
                ErrorClass::TlsProtocol
            } else {
                ErrorClass::TlsAlert
            };
            let message = match a {
                AlertDescription::UnrecognisedName => crate::model::SNI_REFUSED.to_string(),
                _ => format!("server sent alert {a:?}"),
            };
            (class, message)
        }
        Some(rustls::Error::InvalidCertificate(CertificateError::Other(o)))
            if o.0.downcast_ref::<UncheckableRsaKey>().is_some() =>
        {
            (ErrorClass::TlsError, o.0.to_string())
        }
        Some(rustls::Error::InvalidMessage(InvalidMessage::HandshakePayloadTooLarge)) => (
            ErrorClass::TlsError,
            format!(
                "the server sent a TLS handshake message over {} KiB, which rustls, Go and Java clients refuse (a certificate chain with a whole CA bundle in it?)",
                (MAX_HANDSHAKE_MESSAGE + 1) / 1024
            ),
        ),
        Some(rustls::Error::PeerIncompatible(p)) => (
            ErrorClass::TlsProtocol,
            format!("no common TLS version or cipher: {p:?}"),
        ),
        Some(other) => (
            ErrorClass::TlsError,
            format!("TLS handshake failed: {other}"),
        ),
        None => match e.kind() {
            io::ErrorKind::UnexpectedEof => (
                ErrorClass::TlsError,
                crate::model::CLOSED_IN_HANDSHAKE.to_string(),
            ),
            io::ErrorKind::ConnectionReset => (
                ErrorClass::TlsError,
                crate::model::RESET_IN_HANDSHAKE.to_string(),
            ),
            _ => (ErrorClass::TlsError, format!("TLS handshake failed: {e}")),
        },
    };
    ErrorInfo { class, message }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opening(bytes: &[u8]) -> Opening {
        let mut o = Opening::new();
        o.bytes[..bytes.len()].copy_from_slice(bytes);
        o.len = bytes.len();
        o
    }

    #[test]
    fn an_answer_that_is_not_tls_is_quoted_as_text_or_as_bytes() {
        let said = |b: &[u8]| opening(b).said().map(|(s, _)| s);
        assert_eq!(
            said(b"SSH-2.0-OpenSSH_9.6\r\n").as_deref(),
            Some("the server answered in plain text, \"SSH-2.0-OpenSSH_9.6\" (an SSH server)")
        );
        // An SSL 2.0 server's hello; an RDP answer (TPKT) to a hello it cannot read.
        assert_eq!(
            said(&[0x80, 0x0a, 0x04, 0x00, 0x01, 0x00, 0x02]).as_deref(),
            Some("the server answered with bytes that are not TLS: 80 0a 04 00 01 00 02 (an SSL 2.0 record: a server of SSL 2.0 only, which no client speaks)")
        );
        let tpkt: Vec<u8> = (0..20u8).map(|i| if i == 0 { 3 } else { i }).collect();
        assert_eq!(
            said(&tpkt).as_deref(),
            Some("the server answered with bytes that are not TLS: 03 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f ...")
        );
        // A TLS record is rustls's to name; nothing read, nothing to say.
        assert_eq!(said(&[0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28]), None);
        assert_eq!(said(b""), None);
    }

    #[test]
    fn a_missing_route_is_said_in_words_the_verdict_recognises() {
        let addr: SocketAddr = "[2001:db8::1]:443".parse().expect("an address");
        let e = classify_connect(&io::Error::from(io::ErrorKind::NetworkUnreachable), addr);
        assert_eq!(e.class, ErrorClass::ConnectError);
        assert_eq!(
            e.message,
            format!("connect to [2001:db8::1]:443: {}", crate::model::NO_ROUTE)
        );
        let e = classify_connect(&io::Error::from(io::ErrorKind::ConnectionRefused), addr);
        assert_eq!(e.class, ErrorClass::ConnectRefused);
    }
}
