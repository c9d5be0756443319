//! The certificate of a server that speaks only legacy TLS.
//!
//! rustls speaks TLS 1.2 with ECDHE and AEAD ciphers, and TLS 1.3. Old appliances, embedded
//! management interfaces and forgotten load balancers often offer only TLS 1.0/1.1, or TLS
//! 1.2 with RSA key exchange or CBC ciphers; with them the sweep's handshake fails before any
//! certificate arrives (an alert, `tls_protocol`, or a hang-up, `tls_error`). Those are the endpoints where certificates expire
//! unnoticed, so their certificate is still read: up to TLS 1.2 the server sends its
//! Certificate message in the clear, right after its ServerHello. This module offers TLS 1.0
//! to 1.2 with a broad list of cipher suites, reads the server's flight up to its Certificate
//! message and stops there. The handshake is not completed, so the server has not proven it
//! holds the key; the observation says so with the `legacy_tls` finding.

use rustls::pki_types::CertificateDer;
use std::io;
use tls_parser::{
    gen_tls_extension, gen_tls_plaintext, parse_tls_message_handshake, NamedGroup, SNIType,
    TlsCipherSuite, TlsCipherSuiteID, TlsClientHelloContents, TlsCompressionID, TlsExtension,
    TlsMessage, TlsMessageHandshake, TlsPlaintext, TlsRecordHeader, TlsRecordType, TlsVersion,
};
use tokio::net::TcpStream;

/// What the server's plaintext flight gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LegacyCapture {
    /// The version the server chose (`TLSv1.0`, `TLSv1.1`, `TLSv1.2`, `SSLv3`:
    /// [`crate::model::tls_version_name`]).
    pub version: String,
    /// The IANA name of the cipher suite the server chose (its number when unknown).
    pub cipher_suite: String,
    /// The presented chain, leaf first.
    pub chain: Vec<CertificateDer<'static>>,
    /// The server chose TLS 1.2 with a suite the sweep's first ClientHello offers too: the
    /// first handshake did not fail for want of a legacy protocol.
    pub offered_first: bool,
    /// The length of the server's Certificate message. One too large to hold (a CA bundle
    /// configured as the chain) is not read whole: `chain` is then its first certificates.
    pub certificate_len: usize,
}

/// The most a server's flight may hold unread while its Certificate message is incomplete:
/// the part of it read ([`CERTIFICATES_READ`]) and a record of 16 KiB in the making, far
/// above real chains (a few KiB). It bounds what a thousand legacy tries in flight can hold.
const MAX_FLIGHT: usize = 72 * 1024;

/// How much of a Certificate message too large to hold is read before its first
/// certificates are taken (the leaf and its intermediates come first): a server that sends
/// a whole CA bundle as its chain (100 KiB and more) still tells which certificate it serves.
const CERTIFICATES_READ: usize = 48 * 1024;

/// Cipher suites offered, most common first: every key exchange and cipher TLS 1.0-1.2 servers
/// still use (ECDHE, DHE and RSA key exchange; AES-GCM, AES-CBC, 3DES, RC4), so that any
/// server that speaks one of these versions picks one and sends its certificate.
const SUITES: &[u16] = &[
    0xc02b, 0xc02f, 0xc02c, 0xc030, // ECDHE-ECDSA/RSA AES-GCM
    0xc023, 0xc027, 0xc024, 0xc028, // ECDHE AES-CBC SHA-256/384
    0xc009, 0xc013, 0xc00a, 0xc014, // ECDHE AES-CBC SHA-1
    0x009e, 0x009f, 0x0067, 0x006b, 0x0033, 0x0039, // DHE-RSA
    0x009c, 0x009d, 0x003c, 0x003d, 0x002f, 0x0035, // RSA key exchange
    0xc012, 0x0016, 0x000a, // 3DES
    0xc011, 0xc007, 0x0005, 0x0004, // RC4
    0x0041, 0x0084, // Camellia
    0x00ff, // TLS_EMPTY_RENEGOTIATION_INFO_SCSV: old servers want secure renegotiation signalled
];

/// Signature algorithms for TLS 1.2 servers (SHA-256/384/512 and SHA-1, RSA and ECDSA, RSA-PSS).
const SIGNATURE_ALGORITHMS: &[u16] = &[
    0x0403, 0x0503, 0x0603, 0x0804, 0x0805, 0x0806, 0x0401, 0x0501, 0x0601, 0x0203, 0x0201,
];

/// The ClientHello: TLS 1.2 at most (no supported_versions extension, so no TLS 1.3), in a
/// TLS 1.0 record, which the oldest servers require.
pub fn client_hello(sni: Option<&str>, random: &[u8; 32]) -> Result<Vec<u8>, String> {
    let gen_err = |e: tls_parser::GenError| format!("cannot build the ClientHello: {e:?}");
    let mut ext = Vec::new();
    let mut framed = |e: &TlsExtension| -> Result<(), String> {
        let buf = cookie_factory::gen_simple(gen_tls_extension(e), Vec::new()).map_err(gen_err)?;
        ext.extend_from_slice(&buf);
        Ok(())
    };
    if let Some(name) = sni {
        framed(&TlsExtension::SNI(vec![(
            SNIType::HostName,
            name.as_bytes(),
        )]))?;
    }
    // The brainpool curves last: a TLS 1.2 server with an ECDSA certificate on one (a German
    // PKI's, such as the health network's) chooses a suite only if the client lists its
    // curve, and browsers and rustls list none, so its certificate is read only here.
    framed(&TlsExtension::EllipticCurves(vec![
        NamedGroup::Secp256r1,
        NamedGroup::Secp384r1,
        NamedGroup::Secp521r1,
        NamedGroup::EcdhX25519,
        NamedGroup::BrainpoolP256r1,
        NamedGroup::BrainpoolP384r1,
        NamedGroup::BrainpoolP512r1,
    ]))?;
    // tls-parser does not serialise these two; their layout is a tag, a length and a list.
    // ec_point_formats: uncompressed only.
    ext.extend_from_slice(&[0x00, 0x0b, 0x00, 0x02, 0x01, 0x00]);
    let algs: Vec<u8> = SIGNATURE_ALGORITHMS
        .iter()
        .flat_map(|a| a.to_be_bytes())
        .collect();
    let list_len = u16::try_from(algs.len()).map_err(|e| e.to_string())?;
    ext.extend_from_slice(&[0x00, 0x0d]);
    ext.extend_from_slice(&(list_len + 2).to_be_bytes());
    ext.extend_from_slice(&list_len.to_be_bytes());
    ext.extend_from_slice(&algs);
    let hello = TlsClientHelloContents {
        version: TlsVersion::Tls12,
        random,
        session_id: None,
        ciphers: SUITES.iter().map(|&s| TlsCipherSuiteID(s)).collect(),
        comp: vec![TlsCompressionID::Null],
        ext: Some(&ext),
    };
    let record = TlsPlaintext {
        hdr: TlsRecordHeader {
            record_type: TlsRecordType::Handshake,
            version: TlsVersion::Tls10,
            len: 0, // not read by the serialiser, which measures the body
        },
        msg: vec![TlsMessage::Handshake(TlsMessageHandshake::ClientHello(
            hello,
        ))],
    };
    cookie_factory::gen_simple(gen_tls_plaintext(&record), Vec::new()).map_err(gen_err)
}

/// Why no certificate came.
#[derive(Debug)]
pub enum LegacyError {
    /// The server answered with an alert.
    Alert(String),
    /// The server spoke, but not the way a TLS <= 1.2 server does.
    Protocol(String),
    /// The connection failed.
    Io(io::Error),
}

impl std::fmt::Display for LegacyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LegacyError::Alert(a) => write!(f, "server sent alert {a}"),
            LegacyError::Protocol(m) => f.write_str(m),
            LegacyError::Io(e) => write!(f, "{e}"),
        }
    }
}

/// Sends the legacy ClientHello on `tcp` and reads the server's flight up to its certificate.
/// The caller bounds it in time and closes the connection.
pub async fn grab(tcp: &TcpStream, sni: Option<&str>) -> Result<LegacyCapture, LegacyError> {
    let mut random = [0u8; 32];
    super::random::fill(&mut random);
    let hello = client_hello(sni, &random).map_err(LegacyError::Protocol)?;
    super::write_all(tcp, &hello)
        .await
        .map_err(LegacyError::Io)?;
    let mut flight = Flight::default();
    let mut buf = vec![0u8; 8 * 1024];
    loop {
        let n = match super::read_some(tcp, &mut buf).await {
            Ok(0) => {
                return Err(LegacyError::Protocol(
                    "the server closed the connection before sending its certificate".into(),
                ))
            }
            Ok(n) => n,
            Err(e) => return Err(LegacyError::Io(e)),
        };
        if let Some(capture) = flight.feed(&buf[..n])? {
            return Ok(capture);
        }
    }
}

/// The server's bytes so far, taken apart into records and handshake messages as they come.
#[derive(Debug, Default)]
pub struct Flight {
    records: Vec<u8>,
    handshake: Vec<u8>,
    hello: Option<(TlsVersion, TlsCipherSuiteID)>,
}

impl Flight {
    /// Takes the next bytes from the server; the capture once its Certificate message is
    /// complete, `None` while more is needed.
    pub fn feed(&mut self, bytes: &[u8]) -> Result<Option<LegacyCapture>, LegacyError> {
        self.records.extend_from_slice(bytes);
        loop {
            // A record: type, version, length (5 bytes), then the payload.
            let Some(header) = self.records.get(..5) else {
                return self.within_bounds();
            };
            let (kind, major) = (header[0], header[1]);
            let len = usize::from(u16::from_be_bytes([header[3], header[4]]));
            // Judged on the header, before waiting for a payload that may never come (an
            // HTTP server's "HTTP/1.1 400" reads as a 21,584-byte record).
            if !matches!(kind, 21 | 22) || major != 3 {
                return Err(LegacyError::Protocol(format!(
                    "not a TLS server: it answered with bytes {:02x?}",
                    &self.records[..5]
                )));
            }
            let Some(payload) = self.records.get(5..5 + len) else {
                return self.within_bounds();
            };
            if kind == 21 {
                let alert = match payload {
                    [_, code, ..] => tls_parser::TlsAlertDescription(*code).to_string(),
                    _ => "(truncated)".into(),
                };
                return Err(LegacyError::Alert(alert));
            }
            self.handshake.extend_from_slice(payload);
            self.records.drain(..5 + len);
            if let Some(capture) = self.messages()? {
                return Ok(Some(capture));
            }
        }
    }

    /// `None` (more is needed) while what is held unread stays bounded.
    fn within_bounds(&self) -> Result<Option<LegacyCapture>, LegacyError> {
        if self.records.len() + self.handshake.len() > MAX_FLIGHT {
            return Err(LegacyError::Protocol(format!(
                "the server sent over {} KiB without a complete certificate",
                MAX_FLIGHT / 1024
            )));
        }
        Ok(None)
    }

    /// Reads the complete handshake messages gathered so far.
    fn messages(&mut self) -> Result<Option<LegacyCapture>, LegacyError> {
        loop {
            // A message: type (1 byte), length (3 bytes), then the body; it may span records.
            let Some(&[kind, a, b, c]) = self.handshake.get(..4) else {
                return Ok(None);
            };
            let total = 4 + (usize::from(a) << 16 | usize::from(b) << 8 | usize::from(c));
            if self.handshake.len() < total {
                if kind == 11 && self.handshake.len() >= CERTIFICATES_READ {
                    return self.first_certificates(total - 4).map(Some);
                }
                return Ok(None);
            }
            let parsed = parse_tls_message_handshake(&self.handshake[..total])
                .map_err(|e| LegacyError::Protocol(format!("malformed handshake message: {e}")))?;
            let capture = match parsed.1 {
                TlsMessage::Handshake(TlsMessageHandshake::ServerHello(h)) => {
                    self.hello = Some((h.version, h.cipher));
                    None
                }
                TlsMessage::Handshake(TlsMessageHandshake::Certificate(c)) => {
                    let Some((version, suite)) = self.hello else {
                        return Err(LegacyError::Protocol(
                            "the server sent a certificate before its ServerHello".into(),
                        ));
                    };
                    Some(LegacyCapture {
                        version: version_name(version),
                        cipher_suite: suite_name(suite),
                        offered_first: offered_first(version, suite),
                        certificate_len: total - 4,
                        chain: c
                            .cert_chain
                            .iter()
                            .map(|raw| CertificateDer::from(raw.data.to_vec()))
                            .collect(),
                    })
                }
                TlsMessage::Handshake(TlsMessageHandshake::ServerDone(_)) => {
                    return Err(LegacyError::Protocol(
                        "the server sent no certificate (an anonymous cipher suite)".into(),
                    ))
                }
                _ => None,
            };
            self.handshake.drain(..total);
            if capture.is_some() {
                return Ok(capture);
            }
        }
    }

    /// The certificates complete in the first part of a Certificate message of `len` bytes
    /// too large to read whole (the part held in `handshake`, after its 4-byte header).
    fn first_certificates(&self, len: usize) -> Result<LegacyCapture, LegacyError> {
        let Some((version, suite)) = self.hello else {
            return Err(LegacyError::Protocol(
                "the server sent a certificate before its ServerHello".into(),
            ));
        };
        let u24 = |b: &[u8]| usize::from(b[0]) << 16 | usize::from(b[1]) << 8 | usize::from(b[2]);
        // After the header, the list's own 3-byte length, then entries of a 3-byte length
        // and the DER.
        let mut rest = self.handshake.get(4 + 3..).unwrap_or_default();
        let mut chain = Vec::new();
        while let Some(n) = rest.get(..3).map(u24) {
            let Some(der) = rest.get(3..3 + n) else { break };
            chain.push(CertificateDer::from(der.to_vec()));
            rest = &rest[3 + n..];
        }
        if chain.is_empty() {
            return Err(LegacyError::Protocol(format!(
                "the server's Certificate message is {len} bytes, its first certificate over {} KiB",
                CERTIFICATES_READ / 1024
            )));
        }
        Ok(LegacyCapture {
            version: version_name(version),
            cipher_suite: suite_name(suite),
            offered_first: offered_first(version, suite),
            certificate_len: len,
            chain,
        })
    }
}

/// TLS 1.2 with one of the suites of the sweep's provider (ring's: ECDHE with AES-GCM or
/// ChaCha20-Poly1305), which its first ClientHello offers.
fn offered_first(version: TlsVersion, suite: TlsCipherSuiteID) -> bool {
    version == TlsVersion::Tls12
        && rustls::crypto::ring::DEFAULT_CIPHER_SUITES
            .iter()
            .any(|s| u16::from(s.suite()) == suite.0)
}

fn version_name(v: TlsVersion) -> String {
    crate::model::tls_version_name(v.0)
}

fn suite_name(id: TlsCipherSuiteID) -> String {
    TlsCipherSuite::from_id(id.0)
        .map(|s| s.name.to_string())
        .unwrap_or_else(|| format!("0x{:04X}", id.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_client_hello_parses_back_with_the_name_and_every_suite() {
        let bytes = client_hello(Some("old.example"), &[7; 32]).expect("hello");
        let (rest, record) = tls_parser::parse_tls_plaintext(&bytes).expect("parses");
        assert!(rest.is_empty());
        assert_eq!(record.hdr.version, TlsVersion::Tls10);
        let TlsMessage::Handshake(TlsMessageHandshake::ClientHello(h)) = &record.msg[0] else {
            panic!("not a ClientHello: {record:?}");
        };
        assert_eq!(h.version, TlsVersion::Tls12);
        assert_eq!(h.ciphers.len(), SUITES.len());
        let (_, exts) = tls_parser::parse_tls_client_hello_extensions(h.ext.expect("extensions"))
            .expect("extensions parse");
        assert!(exts
            .iter()
            .any(|e| matches!(e, TlsExtension::SNI(v) if v[0].1 == b"old.example")));
        assert!(exts
            .iter()
            .any(|e| matches!(e, TlsExtension::SignatureAlgorithms(v) if v.len() == SIGNATURE_ALGORITHMS.len())));
        assert!(exts
            .iter()
            .any(|e| matches!(e, TlsExtension::EcPointFormats(f) if f == &[0])));
    }

    #[test]
    fn no_name_no_sni_extension() {
        let bytes = client_hello(None, &[7; 32]).expect("hello");
        let (_, record) = tls_parser::parse_tls_plaintext(&bytes).expect("parses");
        let TlsMessage::Handshake(TlsMessageHandshake::ClientHello(h)) = &record.msg[0] else {
            panic!("not a ClientHello");
        };
        let (_, exts) =
            tls_parser::parse_tls_client_hello_extensions(h.ext.expect("extensions")).expect("ok");
        assert!(!exts.iter().any(|e| matches!(e, TlsExtension::SNI(_))));
    }

    #[test]
    fn an_alert_and_a_foreign_protocol_are_errors_not_captures() {
        let mut f = Flight::default();
        let e = f.feed(&[21, 3, 1, 0, 2, 2, 70]).expect_err("alert");
        assert!(e.to_string().contains("ProtocolVersion"), "{e}");
        let mut f = Flight::default();
        let e = f
            .feed(b"HTTP/1.1 400 Bad Request\r\n\r\n")
            .expect_err("http");
        assert!(e.to_string().contains("not a TLS server"), "{e}");
    }

    #[test]
    fn a_certificate_message_too_large_to_hold_gives_its_first_certificates() {
        // A CA bundle configured as the chain: 200 certificates of 1,000 bytes, a message of
        // 200,603 bytes, sent in records of 16 KiB. Its first certificates are taken once 48
        // KiB of it are in, and no more of it is read.
        let mut hs = vec![2, 0, 0, 38, 3, 3];
        hs.extend_from_slice(&[9; 32]);
        hs.extend_from_slice(&[0, 0xc0, 0x2b, 0]);
        let entries = 200usize;
        let list_len = entries * 1003;
        let body = list_len + 3;
        hs.extend_from_slice(&[11, (body >> 16) as u8, (body >> 8) as u8, body as u8]);
        hs.extend_from_slice(&[
            (list_len >> 16) as u8,
            (list_len >> 8) as u8,
            list_len as u8,
        ]);
        for i in 0..entries {
            hs.extend_from_slice(&[0, 0x03, 0xe8]);
            hs.extend_from_slice(&[i as u8; 1000]);
        }
        let mut f = Flight::default();
        let mut fed = 0;
        let got = hs
            .chunks(16 * 1024)
            .find_map(|part| {
                let mut record = vec![22, 3, 3, (part.len() >> 8) as u8, part.len() as u8];
                record.extend_from_slice(part);
                fed += record.len();
                f.feed(&record).expect("no error")
            })
            .expect("a capture before the end");
        assert!(fed <= 4 * (16 * 1024 + 5), "{fed}");
        assert_eq!(got.certificate_len, body);
        assert_eq!(got.version, "TLSv1.2");
        assert_eq!(got.cipher_suite, "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256");
        assert!(got.chain.len() >= 40, "{}", got.chain.len());
        for (i, c) in got.chain.iter().enumerate() {
            assert_eq!(c.as_ref(), &[i as u8; 1000][..], "{i}");
        }
        // A first certificate that is itself larger than what is read is no capture.
        let mut hs = vec![2, 0, 0, 38, 3, 3];
        hs.extend_from_slice(&[9; 32]);
        hs.extend_from_slice(&[0, 0xc0, 0x2b, 0]);
        hs.extend_from_slice(&[11, 1, 0, 3, 1, 0, 0, 0, 0xff, 0xfd]);
        hs.extend_from_slice(&vec![1; 60 * 1024]);
        let mut f = Flight::default();
        let e = hs
            .chunks(16 * 1024)
            .find_map(|part| {
                let mut record = vec![22, 3, 3, (part.len() >> 8) as u8, part.len() as u8];
                record.extend_from_slice(part);
                f.feed(&record).transpose()
            })
            .expect("an answer")
            .expect_err("no certificate");
        assert!(
            e.to_string().contains("first certificate over 48 KiB"),
            "{e}"
        );
    }

    #[test]
    fn a_flight_arriving_byte_by_byte_yields_the_chain_once_complete() {
        // ServerHello (TLS 1.0, TLS_RSA_WITH_AES_128_CBC_SHA), then a Certificate message of
        // two certificates split over two records.
        let mut hs = vec![2, 0, 0, 38, 3, 1];
        hs.extend_from_slice(&[9; 32]);
        hs.extend_from_slice(&[0, 0x00, 0x2f, 0]);
        let certs: [&[u8]; 2] = [b"leaf-der", b"intermediate-der"];
        let mut list = Vec::new();
        for c in certs {
            list.extend_from_slice(&[0, 0, c.len() as u8]);
            list.extend_from_slice(c);
        }
        let body_len = list.len() + 3;
        hs.extend_from_slice(&[11, 0, 0, body_len as u8, 0, 0, list.len() as u8]);
        hs.extend_from_slice(&list);
        let (first, second) = hs.split_at(50);
        let mut wire = Vec::new();
        for part in [first, second] {
            wire.extend_from_slice(&[22, 3, 1, 0, part.len() as u8]);
            wire.extend_from_slice(part);
        }
        let mut f = Flight::default();
        let mut got = None;
        for (i, b) in wire.iter().enumerate() {
            let r = f.feed(&[*b]).expect("no error");
            if i + 1 < wire.len() {
                assert!(r.is_none(), "capture before the last byte ({i})");
            } else {
                got = r;
            }
        }
        let got = got.expect("capture after the last byte");
        assert_eq!(got.version, "TLSv1.0");
        assert_eq!(got.cipher_suite, "TLS_RSA_WITH_AES_128_CBC_SHA");
        assert_eq!(
            got.chain,
            vec![
                CertificateDer::from(b"leaf-der".to_vec()),
                CertificateDer::from(b"intermediate-der".to_vec())
            ]
        );
    }
}
