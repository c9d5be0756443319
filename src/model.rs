//! Plain data passed between the engine, the knowledge modules and the outputs.
//!
//! Nothing here does I/O: an [`Observation`] is what the engine saw at one endpoint, and every
//! sink (CSV, JSON lines, summary) and the verdict logic read it without reaching back into
//! the network code.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::net::IpAddr;

/// Why an endpoint yielded no certificate (or why its handshake failed after it did).
///
/// The names are a stable vocabulary: they appear verbatim in reports and scripts match on
/// them, so variants are only ever added, never renamed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorClass {
    /// The name does not exist (NXDOMAIN).
    DnsNxdomain,
    /// The name exists but has no A/AAAA records (of the requested family).
    DnsNoAddress,
    /// The lookup failed: SERVFAIL, timeout, refused, malformed answer.
    DnsError,
    /// No TCP connection within the connect timeout (packets dropped, likely a firewall).
    ConnectTimeout,
    /// The TCP connection was actively refused (RST): nothing listens on the port.
    ConnectRefused,
    /// Any other connect failure: unreachable network or host, reset, local resource limits.
    ConnectError,
    /// Connected, but no complete handshake within the handshake timeout.
    TlsTimeout,
    /// The server sent a TLS alert.
    TlsAlert,
    /// No common protocol version or cipher suite (legacy server).
    TlsProtocol,
    /// Any other TLS failure: not TLS at all, connection closed mid-handshake, bad signature.
    TlsError,
    /// Connected, but the plaintext dialogue that comes before TLS on a STARTTLS port (SMTP,
    /// IMAP, POP3, FTP, LDAP, XMPP, PostgreSQL, MySQL, RDP) did not lead to TLS: an unexpected greeting,
    /// STARTTLS not offered, or the upgrade refused. The message quotes the server's answer.
    StarttlsError,
    /// certsweep itself failed on this endpoint (a bug; the message says where). The row is
    /// kept so that the endpoint is not missing from the reports, and the run exits 3.
    Internal,
}

impl ErrorClass {
    /// Every class, in report order.
    pub const ALL: [ErrorClass; 12] = [
        ErrorClass::DnsNxdomain,
        ErrorClass::DnsNoAddress,
        ErrorClass::DnsError,
        ErrorClass::ConnectTimeout,
        ErrorClass::ConnectRefused,
        ErrorClass::ConnectError,
        ErrorClass::TlsTimeout,
        ErrorClass::TlsAlert,
        ErrorClass::TlsProtocol,
        ErrorClass::TlsError,
        ErrorClass::StarttlsError,
        ErrorClass::Internal,
    ];

    /// The stable snake_case name used in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorClass::DnsNxdomain => "dns_nxdomain",
            ErrorClass::DnsNoAddress => "dns_no_address",
            ErrorClass::DnsError => "dns_error",
            ErrorClass::ConnectTimeout => "connect_timeout",
            ErrorClass::ConnectRefused => "connect_refused",
            ErrorClass::ConnectError => "connect_error",
            ErrorClass::TlsTimeout => "tls_timeout",
            ErrorClass::TlsAlert => "tls_alert",
            ErrorClass::TlsProtocol => "tls_protocol",
            ErrorClass::TlsError => "tls_error",
            ErrorClass::StarttlsError => "starttls_error",
            ErrorClass::Internal => "internal_error",
        }
    }
}

impl fmt::Display for ErrorClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A plaintext protocol whose STARTTLS (or equivalent) command turns the connection into TLS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Starttls {
    /// SMTP: greeting, `EHLO`, `STARTTLS` (RFC 3207).
    Smtp,
    /// IMAP: greeting, `STARTTLS` (RFC 3501).
    Imap,
    /// POP3: greeting, `STLS` (RFC 2595).
    Pop3,
    /// FTP: greeting, `AUTH TLS` (RFC 4217).
    Ftp,
    /// LDAP: the StartTLS extended operation (RFC 4511).
    Ldap,
    /// XMPP client-to-server: stream header, `<starttls/>` (RFC 6120).
    Xmpp,
    /// XMPP server-to-server: the same on a `jabber:server` stream.
    XmppServer,
    /// LMTP: as SMTP, with `LHLO` (RFC 2033).
    Lmtp,
    /// NNTP: greeting, `STARTTLS` (RFC 4642).
    Nntp,
    /// ManageSieve: capabilities, `STARTTLS` (RFC 5804).
    Sieve,
    /// PostgreSQL: the SSLRequest message.
    Postgres,
    /// MySQL and MariaDB: the server's handshake packet, then an SSLRequest packet.
    Mysql,
    /// Remote Desktop: an X.224 connection request asking for TLS (RDP_NEG_REQ, MS-RDPBCGR).
    Rdp,
}

impl Starttls {
    /// Every protocol, in the order help texts list them.
    pub const ALL: [Starttls; 13] = [
        Starttls::Smtp,
        Starttls::Imap,
        Starttls::Pop3,
        Starttls::Ftp,
        Starttls::Ldap,
        Starttls::Xmpp,
        Starttls::XmppServer,
        Starttls::Lmtp,
        Starttls::Nntp,
        Starttls::Sieve,
        Starttls::Postgres,
        Starttls::Mysql,
        Starttls::Rdp,
    ];

    /// The stable lowercase name used in options, target lists and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Starttls::Smtp => "smtp",
            Starttls::Imap => "imap",
            Starttls::Pop3 => "pop3",
            Starttls::Ftp => "ftp",
            Starttls::Ldap => "ldap",
            Starttls::Xmpp => "xmpp",
            Starttls::XmppServer => "xmpp-server",
            Starttls::Lmtp => "lmtp",
            Starttls::Nntp => "nntp",
            Starttls::Sieve => "sieve",
            Starttls::Postgres => "postgres",
            Starttls::Mysql => "mysql",
            Starttls::Rdp => "rdp",
        }
    }

    /// The protocol named `s` (any case).
    pub fn parse(s: &str) -> Option<Starttls> {
        Starttls::ALL
            .into_iter()
            .find(|p| p.as_str().eq_ignore_ascii_case(s))
    }

    /// The protocol a well-known port speaks before TLS, if it is one of those. These ports
    /// never carry TLS from the first byte (their implicit-TLS twins are 465, 993, 995, 990,
    /// 636, 5223, 563), so a sweep that opened them with a ClientHello would only get errors.
    pub fn for_port(port: u16) -> Option<Starttls> {
        match port {
            25 | 587 => Some(Starttls::Smtp),
            143 => Some(Starttls::Imap),
            110 => Some(Starttls::Pop3),
            21 => Some(Starttls::Ftp),
            389 | 3268 => Some(Starttls::Ldap),
            5222 => Some(Starttls::Xmpp),
            5269 => Some(Starttls::XmppServer),
            119 => Some(Starttls::Nntp),
            4190 => Some(Starttls::Sieve),
            5432 => Some(Starttls::Postgres),
            3306 => Some(Starttls::Mysql),
            3389 => Some(Starttls::Rdp),
            _ => None,
        }
    }

    /// The port the protocol's STARTTLS is usually found on (LMTP has none).
    pub fn default_port(self) -> Option<u16> {
        match self {
            Starttls::Smtp => Some(25),
            Starttls::Lmtp => None,
            Starttls::Imap => Some(143),
            Starttls::Pop3 => Some(110),
            Starttls::Ftp => Some(21),
            Starttls::Nntp => Some(119),
            Starttls::Sieve => Some(4190),
            Starttls::Ldap => Some(389),
            Starttls::Xmpp => Some(5222),
            Starttls::XmppServer => Some(5269),
            Starttls::Postgres => Some(5432),
            Starttls::Mysql => Some(3306),
            Starttls::Rdp => Some(3389),
        }
    }

    /// How reports and messages name the protocol.
    pub fn display_name(self) -> &'static str {
        match self {
            Starttls::Smtp => "SMTP",
            Starttls::Imap => "IMAP",
            Starttls::Pop3 => "POP3",
            Starttls::Ftp => "FTP",
            Starttls::Ldap => "LDAP",
            Starttls::Xmpp => "XMPP",
            Starttls::XmppServer => "XMPP (server-to-server)",
            Starttls::Lmtp => "LMTP",
            Starttls::Nntp => "NNTP",
            Starttls::Sieve => "ManageSieve",
            Starttls::Postgres => "PostgreSQL",
            Starttls::Mysql => "MySQL",
            Starttls::Rdp => "RDP",
        }
    }
}

impl fmt::Display for Starttls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A trust finding about a captured chain, judged after the handshake and without network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Finding {
    /// The leaf's notAfter is in the past.
    Expired,
    /// The leaf's notBefore is in the future.
    NotYetValid,
    /// The leaf does not cover the name that was asked for (SNI).
    HostnameMismatch,
    /// The server did not send the intermediate(s) needed to reach a trusted root.
    IncompleteChain,
    /// The leaf is self-signed.
    SelfSigned,
    /// The chain leads to a root that is not trusted.
    UnknownIssuer,
    /// RSA under 2048 bits, EC under 256 bits, or DSA.
    WeakKey,
    /// A certificate of the chain is signed with SHA-1 or MD5, which current clients refuse
    /// (legacy private CAs still issue them).
    WeakSignature,
    /// The OCSP response the server staples, signed by the CA, says the certificate is
    /// revoked: clients that check revocation refuse it.
    OcspRevoked,
    /// The stapled OCSP response is past its nextUpdate (the server stopped refreshing it):
    /// clients ignore it, and those that require a staple fail.
    OcspStale,
    /// The stapled OCSP response cannot be used: not a successful response, about another
    /// certificate, its signature does not verify, or the CA answers "unknown".
    OcspInvalid,
    /// The certificate requires a stapled OCSP response (TLS Feature "must staple") and the
    /// server sent none: Firefox refuses the connection.
    MustStapleMissing,
    /// The CA's certificate revocation list, its signature checked, lists the certificate
    /// (`scan --crl`): clients that check revocation refuse it.
    CrlRevoked,
    /// `scan --crl` could not learn from the CA's list whether the certificate is revoked
    /// (none named, not reachable, not verifiable, outdated); the reason is in the
    /// observation's `crl`.
    CrlUnavailable,
    /// The CA's OCSP responder, asked (`scan --ocsp`), answers with its signature that the
    /// certificate is revoked: clients that check revocation refuse it.
    OcspResponderRevoked,
    /// `scan --ocsp` could not learn from the CA's OCSP responder whether the certificate
    /// is revoked (none named, not reachable, an error or "unknown" answered, the answer
    /// not verifiable or outdated); the reason is in the observation's `ocsp_responder`.
    OcspResponderUnavailable,
    /// The chain is otherwise invalid (bad signature, expired intermediate, a private root
    /// past its date, wrong key usage).
    ChainInvalid,
    /// The server refused (or hung up on) every TLS version and cipher suite current clients
    /// offer (TLS 1.2 with ECDHE and AEAD ciphers, TLS 1.3) and speaks only older ones (TLS
    /// 1.0/1.1, RSA key exchange, CBC); its certificate was read from a handshake certsweep
    /// did not complete, so the server has not proven it holds the key.
    LegacyTls,
    /// The server refused the first handshake and answered a broader legacy hello with TLS
    /// 1.2 and a cipher suite the first one offered too: it needs a key exchange group, a
    /// signature algorithm or a TLS 1.3 cipher suite the first hello does not offer (TLS 1.3
    /// with only AES-CCM, a brainpool group beside TLS 1.2). Its certificate was read from a handshake certsweep did not
    /// complete, so the server has not proven it holds the key.
    UncommonTls,
    /// The server's Certificate message is over 64 KiB (a whole CA bundle configured as its
    /// chain): rustls, Go and Java clients refuse the handshake (Java over 32 KiB, OpenSSL
    /// over 100 KiB). Its first certificates were read from a TLS 1.2 handshake certsweep did
    /// not complete, so the server has not proven it holds the key.
    OversizedChain,
    /// A CA certificate of the validated path expires before the leaf: one the server sends
    /// (an old copy of an intermediate the CA has since reissued, a policy CA near its end),
    /// or the private root it ends at. From that date clients refuse the chain (those that do
    /// not fetch a current intermediate; those that check their roots' dates), though the
    /// leaf is still valid and no renewal of it is due.
    ChainExpiresFirst,
    /// The server sends an expired certificate beside a chain that validates without it (an
    /// expired cross-signed root, a stale copy of an intermediate): clients that trust the
    /// root build around it; older ones that follow the chain as sent refuse it.
    ExpiredInChain,
    /// The server sends the CA certificates of the validated path out of order: not each
    /// right after the certificate it issued (a root or a second CA first, a bundle written
    /// in reverse). TLS 1.2 requires that order; browsers and current TLS libraries sort a
    /// chain themselves, older and embedded clients that take it as sent refuse it.
    ChainOrder,
    /// The TLSA records published for the endpoint (`scan --dane`, `_PORT._tcp.NAME`)
    /// name none of the certificates it serves: clients that validate DANE (mail servers
    /// sending to an MX that publishes TLSA) refuse it, as after a renewal that changed the
    /// key while the record still names the old one. Its `dane` says which records.
    DaneMismatch,
    /// TLSA records are published for the endpoint (`scan --dane`) but a DANE client can
    /// use none of them: unknown parameters, a digest of the wrong length, data that is not
    /// the certificate or key it claims, or at a mail server only PKIX usages (RFC 7672).
    /// Clients that validate DANE then treat the endpoint as publishing none and
    /// authenticate nothing (mail servers send over unauthenticated TLS): the DANE the
    /// records were published for is off. Its `dane` says why each is unusable.
    DaneUnusable,
    /// A mail server's TLSA question (`scan --dane`) fails DNSSEC validation: the resolver
    /// answers SERVFAIL with a DNSSEC Extended DNS Error, or answers once checking is
    /// disabled (signatures expired, or the zone's keys and its parent's DS disagree).
    /// Senders that validate DANE cannot tell whether records exist, so they defer delivery
    /// to it (RFC 7672, section 2.2) until the zone validates again. Its `dane.error` says
    /// what the resolver answered.
    DaneBogus,
    /// The certificate chains to a public root but carries fewer Signed Certificate
    /// Timestamps than browsers require (Chrome's and Apple's CT policies, which Firefox
    /// follows: two from distinct logs for a lifetime of 180 days or less, three for a
    /// longer one; with SCTs in its stapled OCSP response too, two logs in all): Chrome,
    /// Safari and Firefox refuse it. Issued with CT logging off.
    CtMissing,
    /// The certificate chains to a root Chrome distrusts for certificates logged after a day
    /// (Entrust's roots after 2024-11-11, Chunghwa Telecom's and NetLock's after
    /// 2025-07-31), and its earliest Signed Certificate Timestamp is later: Chrome refuses
    /// it, though the root is still in other stores. Issued by a CA since distrusted; no
    /// chain fixes it.
    CaDistrusted,
    /// The certificate chains to a public root and was issued since 2020-09-01 for more
    /// than 398 days: Chrome and Apple refuse it (ERR_CERT_VALIDITY_TOO_LONG); its CA
    /// misissued it.
    ValidityTooLong,
    /// The certificate's Key Usage extension does not allow what the handshake's key
    /// exchange does with the key: `digitalSignature` for ECDHE and TLS 1.3 (the server
    /// signs), `keyEncipherment` for RSA key exchange. Chrome and Edge (from 124, whatever
    /// the root) and Java clients refuse it (ERR_SSL_KEY_USAGE_INCOMPATIBLE); OpenSSL and
    /// Go clients do not check. A private CA's template that sets only keyEncipherment.
    KeyUsageIncompatible,
    /// Apple's platforms refuse the certificate, issued since 2019-07-01: valid for more
    /// than 825 days (a private CA's template of three or five years), which Safari and
    /// every iOS and macOS app refuse whatever its CA; or without an Extended Key Usage
    /// extension (Apple requires one naming serverAuth), which apps that trust its CA
    /// themselves refuse (current releases waive it under a root installed on the device).
    /// Other clients accept it, so it leaves the status as it is: it matters where Apple
    /// devices use the service.
    AppleIncompatible,
    /// Chrome, Edge and Android apps cannot use the server's key in TLS: an ECDSA P-521,
    /// Ed25519 or PSS-only RSA key, which BoringSSL does not verify, so their handshakes
    /// fail (Firefox's too for Ed25519). OpenSSL, Go and Java clients (and Firefox for
    /// P-521) accept it, so it leaves the status as it is: it matters where those clients
    /// use the service.
    KeyTypeUnsupported,
    /// Connections to the one address got different certificates, or the same one with
    /// chains clients take differently (`scan --samples`): the nodes behind a load balancer
    /// that passes TLS through differ, one of them kept an old certificate or lacks the
    /// intermediate. The observation's `samples` says which, on how many connections.
    BackendsDiffer,
    /// Some connections to the one address got no certificate while others got one
    /// (`scan --samples`): a node behind the load balancer fails its handshakes (a
    /// keystore it could not read, a service half started), or a moment's loss, as samples
    /// are not retried. The observation's `samples` counts them, with the first error.
    BackendsFailing,
    /// The endpoint serves an older certificate than at the previous sweep (`scan
    /// --previous`): issued before the one it served then. A deployment rolled back (the
    /// provisioning bot's rollback protection), a configuration or snapshot restored, a
    /// node that lost the new file. Its `previous` names the certificate served then.
    RolledBack,
    /// The endpoint serves a newer certificate than at the previous sweep (`scan
    /// --previous`), and the one served then could authenticate a TLS client (clientAuth in
    /// its Extended Key Usage, or none) while this one cannot: public CAs issue server
    /// certificates for serverAuth alone since 2025-2026. Where the server also connects
    /// out with its certificate (mutual TLS to partners' APIs, SIP trunks, XMPP between
    /// servers), those connections fail since the renewal. (With `--inventory`, the
    /// verdict tells it from the records' PEMs too.)
    ClientAuthDropped,
}

impl Finding {
    /// The stable snake_case name used in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Finding::Expired => "expired",
            Finding::NotYetValid => "not_yet_valid",
            Finding::HostnameMismatch => "hostname_mismatch",
            Finding::IncompleteChain => "incomplete_chain",
            Finding::SelfSigned => "self_signed",
            Finding::UnknownIssuer => "unknown_issuer",
            Finding::WeakKey => "weak_key",
            Finding::WeakSignature => "weak_signature",
            Finding::OcspRevoked => "ocsp_revoked",
            Finding::OcspStale => "ocsp_stale",
            Finding::OcspInvalid => "ocsp_invalid",
            Finding::MustStapleMissing => "must_staple_missing",
            Finding::CrlRevoked => "crl_revoked",
            Finding::CrlUnavailable => "crl_unavailable",
            Finding::OcspResponderRevoked => "ocsp_responder_revoked",
            Finding::OcspResponderUnavailable => "ocsp_responder_unavailable",
            Finding::ChainInvalid => "chain_invalid",
            Finding::LegacyTls => "legacy_tls",
            Finding::UncommonTls => "uncommon_tls",
            Finding::OversizedChain => "oversized_chain",
            Finding::ChainExpiresFirst => "chain_expires_first",
            Finding::ExpiredInChain => "expired_in_chain",
            Finding::ChainOrder => "chain_order",
            Finding::DaneMismatch => "dane_mismatch",
            Finding::DaneUnusable => "dane_unusable",
            Finding::DaneBogus => "dane_bogus",
            Finding::CtMissing => "ct_missing",
            Finding::CaDistrusted => "ca_distrusted",
            Finding::ValidityTooLong => "validity_too_long",
            Finding::KeyUsageIncompatible => "key_usage_incompatible",
            Finding::AppleIncompatible => "apple_incompatible",
            Finding::KeyTypeUnsupported => "key_type_unsupported",
            Finding::BackendsDiffer => "backends_differ",
            Finding::BackendsFailing => "backends_failing",
            Finding::RolledBack => "rolled_back",
            Finding::ClientAuthDropped => "client_auth_dropped",
        }
    }

    /// Every finding, in report order.
    pub const ALL: [Finding; 36] = [
        Finding::Expired,
        Finding::NotYetValid,
        Finding::HostnameMismatch,
        Finding::IncompleteChain,
        Finding::SelfSigned,
        Finding::UnknownIssuer,
        Finding::WeakKey,
        Finding::WeakSignature,
        Finding::OcspRevoked,
        Finding::OcspStale,
        Finding::OcspInvalid,
        Finding::MustStapleMissing,
        Finding::CrlRevoked,
        Finding::CrlUnavailable,
        Finding::OcspResponderRevoked,
        Finding::OcspResponderUnavailable,
        Finding::ChainInvalid,
        Finding::LegacyTls,
        Finding::UncommonTls,
        Finding::OversizedChain,
        Finding::ChainExpiresFirst,
        Finding::ExpiredInChain,
        Finding::ChainOrder,
        Finding::DaneMismatch,
        Finding::DaneUnusable,
        Finding::DaneBogus,
        Finding::CtMissing,
        Finding::CaDistrusted,
        Finding::ValidityTooLong,
        Finding::KeyUsageIncompatible,
        Finding::AppleIncompatible,
        Finding::KeyTypeUnsupported,
        Finding::BackendsDiffer,
        Finding::BackendsFailing,
        Finding::RolledBack,
        Finding::ClientAuthDropped,
    ];

    /// Whether the finding is about the chain sent with the certificate rather than the
    /// certificate: another chain file on a node can make or clear it.
    pub fn of_the_chain(self) -> bool {
        matches!(
            self,
            Finding::IncompleteChain
                | Finding::UnknownIssuer
                | Finding::ChainInvalid
                | Finding::ChainExpiresFirst
                | Finding::ExpiredInChain
                | Finding::ChainOrder
        )
    }

    /// Whether the finding is the CA's word that the certificate is revoked (a stapled OCSP
    /// response, the CA's responder asked, or the CA's list).
    pub fn is_ca_revocation(self) -> bool {
        matches!(
            self,
            Finding::OcspRevoked | Finding::OcspResponderRevoked | Finding::CrlRevoked
        )
    }

    /// Whether clients refuse the certificate for this finding: a trust failure, a
    /// certificate not valid yet, or one browsers refuse for Certificate Transparency or
    /// Chrome for its distrusted CA, or a key usage the handshake's key exchange needs not
    /// allowed (what makes an endpoint `untrusted`).
    pub fn makes_untrusted(self) -> bool {
        self.is_trust_failure()
            || matches!(
                self,
                Finding::NotYetValid
                    | Finding::CtMissing
                    | Finding::CaDistrusted
                    | Finding::ValidityTooLong
                    | Finding::KeyUsageIncompatible
            )
    }

    /// Findings that mean a client would not trust the chain (names aside).
    pub fn is_trust_failure(self) -> bool {
        matches!(
            self,
            Finding::IncompleteChain
                | Finding::SelfSigned
                | Finding::UnknownIssuer
                | Finding::ChainInvalid
                | Finding::WeakKey
                | Finding::WeakSignature
        )
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Facts of one certificate, as reports show them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CertInfo {
    /// Canonical serial: uppercase hex of the integer, no leading zeros.
    pub serial: String,
    /// The same serial in decimal (as CERTInext writes it).
    pub serial_dec: String,
    /// Subject common name, if any.
    pub subject_cn: Option<String>,
    /// Full subject DN (RFC 4514 style).
    pub subject: String,
    /// DNS and IP subject alternative names, lowercased.
    pub sans: Vec<String>,
    /// Issuer DN.
    pub issuer: String,
    /// Issuer common name, if any.
    pub issuer_cn: Option<String>,
    /// notBefore, RFC 3339 UTC.
    pub not_before: String,
    /// notAfter, RFC 3339 UTC.
    pub not_after: String,
    /// notBefore as Unix seconds (for comparisons).
    pub not_before_unix: i64,
    /// notAfter as Unix seconds (for comparisons).
    pub not_after_unix: i64,
    /// SHA-256 of the DER, lowercase hex.
    pub sha256: String,
    /// SHA-1 thumbprint of the DER, uppercase hex (as Windows and most CLM exports write it).
    pub sha1: String,
    /// SHA-256 of the SubjectPublicKeyInfo (the key), lowercase hex: the same across
    /// certificates that share a key (a renewal that kept its key, certificates a
    /// TLS-inspecting proxy mints).
    #[serde(default)]
    pub spki_sha256: String,
    /// `RSA`, `EC`, `Ed25519`, `DSA` or the OID.
    pub key_type: String,
    /// Key size in bits (0 when unknown).
    pub key_bits: u32,
    /// The curve of an EC key that is none of NIST's P-256, P-384 and P-521 (which
    /// `key_bits` tells apart): `brainpoolP256r1`, `secp256k1`, `P-224`, ... or its OID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_curve: Option<String>,
    /// Signature algorithm name.
    pub signature_algorithm: String,
    /// The certificate requires a stapled OCSP response (TLS Feature status_request,
    /// "must staple").
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub must_staple: bool,
    /// The Signed Certificate Timestamps embedded in it (Certificate Transparency), counted
    /// once per log; none when it carries no SCT list.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub embedded_scts: Option<u8>,
    /// The key usages its Key Usage extension allows (RFC 5280 names, such as
    /// `digitalSignature`), absent without the extension (any use allowed).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "key_usage_names"
    )]
    pub key_usage: Option<u16>,
    /// The purposes its Extended Key Usage extension names, of those [`eku_names`] knows
    /// (`serverAuth`, `clientAuth`, ...; other OIDs are left out), absent without the
    /// extension (any purpose).
    #[serde(default, skip_serializing_if = "Option::is_none", with = "eku_names")]
    pub extended_key_usage: Option<u16>,
}

/// The CA certificate of a validated path that ends before the leaf.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChainExpiry {
    /// Its subject DN.
    pub subject: String,
    /// Whether it is the root the path ends at (given as a certificate), not one the
    /// server sends.
    pub root: bool,
    /// Its notAfter, RFC 3339.
    pub not_after: String,
    /// Its notAfter, Unix seconds.
    pub not_after_unix: i64,
}

/// One certificate of the presented chain, briefly.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChainEntry {
    /// Subject DN.
    pub subject: String,
    /// Issuer DN.
    pub issuer: String,
    /// SHA-256 of the DER, lowercase hex.
    pub sha256: String,
}

/// A protocol version's name as scanners and compliance policies write it (OpenSSL's and
/// nmap's `TLSv1.3` ... `TLSv1.0`, `SSLv3`), from its number on the wire.
pub fn tls_version_name(wire: u16) -> String {
    match wire {
        0x0300 => "SSLv3".into(),
        0x0301 => "TLSv1.0".into(),
        0x0302 => "TLSv1.1".into(),
        0x0303 => "TLSv1.2".into(),
        0x0304 => "TLSv1.3".into(),
        other => format!("0x{other:04X}"),
    }
}

/// The IANA name of a cipher suite named as rustls names it: rustls gives its TLS 1.3
/// suites a `TLS13_` prefix of its own (`TLS13_AES_128_GCM_SHA256` is IANA's
/// `TLS_AES_128_GCM_SHA256`); its TLS 1.2 names are IANA's.
pub fn iana_suite_name(rustls_name: &str) -> String {
    match rustls_name.strip_prefix("TLS13_") {
        Some(rest) => format!("TLS_{rest}"),
        None => rustls_name.to_string(),
    }
}

/// What was negotiated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TlsInfo {
    /// `TLSv1.3` or `TLSv1.2`; from legacy servers also `TLSv1.1`, `TLSv1.0` or `SSLv3`
    /// ([`tls_version_name`]).
    pub version: String,
    /// IANA cipher suite name.
    pub cipher_suite: String,
    /// Negotiated ALPN protocol, if any.
    pub alpn: Option<String>,
    /// Key exchange group.
    pub kx_group: Option<String>,
}

/// Flags as the list of their names, and back (the bits of [`key_usage_names`] and
/// [`eku_names`]).
mod flag_names {
    use serde::{Deserialize, Deserializer, Serializer};

    /// The names of the flags `bits` has, of `names` in bit order.
    pub fn names(bits: u16, names: &'static [&'static str]) -> impl Iterator<Item = &'static str> {
        names
            .iter()
            .enumerate()
            .filter(move |(i, _)| bits >> i & 1 == 1)
            .map(|(_, n)| *n)
    }

    /// Serializes the flags as their names, of `all` in bit order.
    pub fn serialize<S: Serializer>(
        bits: &Option<u16>,
        all: &'static [&'static str],
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match bits {
            Some(b) => s.collect_seq(names(*b, all)),
            None => s.serialize_none(),
        }
    }

    /// Reads the names back; one not in `all` is an error.
    pub fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
        all: &'static [&'static str],
    ) -> Result<Option<u16>, D::Error> {
        let Some(list) = Option::<Vec<String>>::deserialize(d)? else {
            return Ok(None);
        };
        let mut bits = 0u16;
        for n in &list {
            let i = all
                .iter()
                .position(|k| k == n)
                .ok_or_else(|| serde::de::Error::custom(format!("unknown usage {n:?}")))?;
            bits |= 1 << i;
        }
        Ok(Some(bits))
    }
}

/// An Extended Key Usage extension's purposes as flags, in the order of [`eku_names::NAMES`].
pub mod eku_names {
    use serde::{Deserializer, Serializer};

    /// The purposes known (RFC 5280, 4.2.1.12), in bit order.
    pub const NAMES: [&str; 7] = [
        "serverAuth",
        "clientAuth",
        "codeSigning",
        "emailProtection",
        "timeStamping",
        "OCSPSigning",
        "anyExtendedKeyUsage",
    ];
    /// clientAuth's flag.
    pub const CLIENT_AUTH: u16 = 1 << 1;
    /// serverAuth's flag.
    pub const SERVER_AUTH: u16 = 1;
    /// anyExtendedKeyUsage's flag.
    pub const ANY: u16 = 1 << 6;

    /// Whether a certificate with these purposes (`None`: no extension) may authenticate a
    /// TLS client.
    pub fn allows_client_auth(bits: Option<u16>) -> bool {
        bits.is_none_or(|b| b & (CLIENT_AUTH | ANY) != 0)
    }

    /// The flags of `eku`'s purposes.
    pub fn of(eku: &x509_parser::extensions::ExtendedKeyUsage<'_>) -> u16 {
        [
            eku.server_auth,
            eku.client_auth,
            eku.code_signing,
            eku.email_protection,
            eku.time_stamping,
            eku.ocsp_signing,
            eku.any,
        ]
        .iter()
        .enumerate()
        .fold(0, |bits, (i, &on)| bits | u16::from(on) << i)
    }

    /// Serializes the flags as their names.
    pub fn serialize<S: Serializer>(bits: &Option<u16>, s: S) -> Result<S::Ok, S::Error> {
        super::flag_names::serialize(bits, &NAMES, s)
    }

    /// Reads the names back; one not known is an error.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u16>, D::Error> {
        super::flag_names::deserialize(d, &NAMES)
    }
}

/// A Key Usage extension's bits (bit 0 digitalSignature, as x509-parser numbers them) as
/// the list of their RFC 5280 names, and back.
pub mod key_usage_names {
    use serde::{Deserializer, Serializer};

    /// RFC 5280, 4.2.1.3, in bit order.
    pub const NAMES: [&str; 9] = [
        "digitalSignature",
        "nonRepudiation",
        "keyEncipherment",
        "dataEncipherment",
        "keyAgreement",
        "keyCertSign",
        "cRLSign",
        "encipherOnly",
        "decipherOnly",
    ];

    /// The names of the usages `bits` allows.
    pub fn names(bits: u16) -> impl Iterator<Item = &'static str> {
        super::flag_names::names(bits, &NAMES)
    }

    /// Serializes the bits as their names.
    pub fn serialize<S: Serializer>(bits: &Option<u16>, s: S) -> Result<S::Ok, S::Error> {
        super::flag_names::serialize(bits, &NAMES, s)
    }

    /// Reads the names back; one not known is an error.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u16>, D::Error> {
        super::flag_names::deserialize(d, &NAMES)
    }
}

/// Milliseconds spent per phase (absent when the phase did not run).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Timings {
    /// Name resolution (shared by every endpoint of the name).
    pub dns_ms: Option<f64>,
    /// TCP connect.
    pub connect_ms: Option<f64>,
    /// The plaintext dialogue before TLS (STARTTLS), when there was one.
    #[serde(default)]
    pub starttls_ms: Option<f64>,
    /// TLS handshake up to the point it ended.
    pub handshake_ms: Option<f64>,
}

/// Why there is no (complete) result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorInfo {
    /// The stable class.
    pub class: ErrorClass,
    /// A human message with the detail.
    pub message: String,
}

/// Everything the engine learnt about one endpoint (name, address, port).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Observation {
    /// When the endpoint was scanned, RFC 3339 UTC.
    pub scan_time: String,
    /// The name as given (A-label form), or the address for address targets.
    pub host: String,
    /// The address connected to; absent when resolution failed.
    pub ip: Option<IpAddr>,
    /// TCP port.
    pub port: u16,
    /// The SNI sent; absent for bare addresses.
    pub sni: Option<String>,
    /// Free label carried from the target list.
    pub label: Option<String>,
    /// The plaintext protocol spoken before TLS, when the port needed one (STARTTLS).
    #[serde(default)]
    pub starttls: Option<Starttls>,
    /// The leaf certificate, when one was captured.
    pub cert: Option<CertInfo>,
    /// The presented chain, leaf first.
    pub chain: Vec<ChainEntry>,
    /// The presented chain as PEM, when asked for (`--pem`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pem: Option<Vec<String>>,
    /// Negotiated parameters, when the handshake completed.
    pub tls: Option<TlsInfo>,
    /// Trust findings on the captured chain.
    pub findings: Vec<Finding>,
    /// The trust judgement in words: why clients refuse the chain when they do, then what
    /// about it needs attention even so (a name only in the CN, a CA certificate that
    /// expires first, an expired one sent), separated by "; ".
    pub trust_detail: Option<String>,
    /// The CA certificate of the validated path that ends first, when it ends more than a
    /// day before the leaf ([`Finding::ChainExpiresFirst`]): when the chain breaks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chain_expires: Option<Box<ChainExpiry>>,
    /// Per-phase timings.
    pub timings: Timings,
    /// Set when there is no certificate, or when the handshake failed after it was captured
    /// (e.g. the server demanded a client certificate).
    pub error: Option<ErrorInfo>,
    /// TCP connections tried for the handshake: 0 when the name did not resolve, more than 1
    /// when `--retries` tried again after a timeout or a reset (a flaky endpoint even when it
    /// answered). The connections of a legacy handshake or of a dialogue a greeting named
    /// are not counted: they are steps, not signs of a flaky endpoint.
    pub attempts: u32,
    /// What a second handshake offering only the other key type got, when one was asked
    /// for (see [`SecondLook`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub other_key: Option<Box<OtherKey>>,
    /// The OCSP response the server stapled, as read (`crate::ocsp`); absent when it
    /// stapled none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ocsp: Option<Box<OcspInfo>>,
    /// What the CA's revocation list says of the leaf (`scan --crl`, `crate::crl`); absent
    /// when not asked for or when there is no leaf.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crl: Option<Box<RevocationInfo>>,
    /// What the CA's OCSP responder answers about the leaf when asked (`scan --ocsp`,
    /// `crate::ocsp`); absent when not asked for or when there is no leaf.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ocsp_responder: Option<Box<RevocationInfo>>,
    /// What more connections to the endpoint presented (`scan --samples N`); absent when
    /// only one was made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub samples: Option<Box<Samples>>,
    /// What the endpoint's TLSA records (DANE) say of its chain (`scan --dane`); absent
    /// without the option or when it publishes none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dane: Option<Box<DaneInfo>>,
    /// The certificate it served at the previous sweep (`scan --previous`), when that was
    /// another one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous: Option<Box<PreviousCert>>,
}

/// The certificate an endpoint served at an earlier sweep (`scan --previous`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PreviousCert {
    /// Its canonical serial.
    pub serial: String,
    /// Its notBefore, RFC 3339.
    pub not_before: String,
    /// Its notBefore, Unix seconds.
    pub not_before_unix: i64,
    /// When that sweep saw it.
    pub scan_time: String,
    /// The address that served it, when this endpoint's address was not swept then (a
    /// name whose addresses change: it is what the name served at another one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<std::net::IpAddr>,
    /// Whether it could authenticate a TLS client (its Extended Key Usage), when the earlier
    /// sweep's line tells: lines written before certsweep read key usages do not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_auth: Option<bool>,
}

/// The endpoint's TLSA records (`_PORT._tcp.NAME`) and whether one names its chain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DaneInfo {
    /// The records, in presentation form with their data shortened (`3 1 1 8a1f…c2e0`).
    pub records: Vec<String>,
    /// The first record that names a certificate served, if any.
    pub matched: Option<String>,
    /// The records a DANE client does not use, each with why (`2 1 1 8a1f…c2e0: a SHA-256
    /// digest of 31 bytes, not 32`): they are left out of the match.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unusable: Vec<String>,
    /// Whether the resolver said the records are DNSSEC-authentic (the AD bit): clients
    /// that validate DANE use only such records; a resolver that does not validate never
    /// says so.
    pub validated: bool,
    /// The keys the records pin (usage 3 or 1, selector 1, SHA-256: the usual `3 1 1`),
    /// whole, lowercase hex: what a renewal's key is looked for among before it is
    /// deployed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub key_pins: Vec<String>,
    /// Whether every record is such a pin (then a key not among them matches none).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub only_key_pins: bool,
    /// The CA keys the records pin (usage 2 or 0, selector 1, SHA-256: `2 1 1`), whole,
    /// lowercase hex: what a renewal's CA's key is looked for among, when its record carries
    /// the CA's certificate.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ca_pins: Vec<String>,
    /// Whether every record pins a key (as above) or names only the CA that issued the leaf
    /// served (a `2 1 1` record of the issuing intermediate), and one does the latter: a
    /// renewal issued by another CA (Let's Encrypt's rotation among its intermediates)
    /// matches none of them unless its key is pinned.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub issuer_pinned: bool,
    /// A record names a CA above the one that issued the leaf served (a root sent in the
    /// chain): a renewal from another intermediate under it still matches it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub ca_above: bool,
    /// SHA-256 of the key of the CA that issued the leaf served, when the server sends that
    /// CA, lowercase hex: what a `2 1 1` record for it holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer_key: Option<String>,
    /// The resolver validates DNSSEC and did not vouch for the records: they are an
    /// unsigned zone's, which DANE clients ignore (each is in `unusable` for it).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub insecure: bool,
    /// Of such records, none would name a certificate served once the zone is signed:
    /// signing it as they are turns DANE on with a mismatch.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub stale_if_signed: bool,
    /// Why the records could not be had (a failed question, a SERVFAIL as a DNSSEC
    /// failure gives); then there are none to judge.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The records' owner when they are published at the target of the name's alias
    /// (CNAME), `_25._tcp.mx.provider.example`: where DANE clients look first (RFC 7671,
    /// section 7), as a hosting provider publishes them for its customers' names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_alias: Option<String>,
}

impl DaneInfo {
    /// The facts of a TLSA question that failed, `error` saying why.
    pub fn failed(error: String) -> Self {
        DaneInfo {
            records: Vec::new(),
            matched: None,
            validated: false,
            key_pins: Vec::new(),
            only_key_pins: false,
            ca_pins: Vec::new(),
            issuer_pinned: false,
            ca_above: false,
            issuer_key: None,
            insecure: false,
            stale_if_signed: false,
            unusable: Vec::new(),
            error: Some(error),
            at_alias: None,
        }
    }

    /// Whether every usable record is a key pin or a CA pin ([`DaneInfo::key_pins`],
    /// [`DaneInfo::ca_pins`]), and there is one.
    pub fn only_pins(&self) -> bool {
        let usable = self.records.len().saturating_sub(self.unusable.len());
        usable > 0 && self.key_pins.len() + self.ca_pins.len() == usable
    }

    /// Where the records are (`_25._tcp.mx.example.com`) for an endpoint on `port` asked
    /// for `name`: the alias target's owner when they were found there.
    pub fn owner(&self, port: u16, name: &str) -> String {
        match &self.at_alias {
            Some(owner) => owner.clone(),
            None => format!("_{port}._tcp.{name}"),
        }
    }

    /// In words, as a report cell says it: the record that matched, or that none of them
    /// did, or why there were none; with whether the resolver vouched for them.
    pub fn shown(&self) -> String {
        let what = match (&self.error, &self.matched) {
            (Some(e), _) => return e.clone(),
            (None, Some(m)) => format!("matched by {m}"),
            (None, None) if self.unusable.len() == self.records.len() => format!(
                "none of {} record(s) usable: {}",
                self.records.len(),
                self.unusable.join("; ")
            ),
            (None, None) => format!(
                "no match among {} record(s): {}",
                self.records.len(),
                self.records.join("; ")
            ),
        };
        let what = match self.unusable.len() {
            0 => what,
            _ if self.unusable.len() == self.records.len() => what,
            n => format!(
                "{what} ({n} of them unusable: {})",
                self.unusable.join("; ")
            ),
        };
        let what = match &self.at_alias {
            Some(owner) => format!("{what}, published at {owner} (the name's alias target)"),
            None => what,
        };
        if self.validated {
            format!("{what} (DNSSEC-validated)")
        } else {
            format!("{what} (the resolver did not say they are DNSSEC-authentic)")
        }
    }
}

/// What several connections to one endpoint presented (`scan --samples N`). A load
/// balancer that passes TLS through (TCP mode, a Kubernetes service) hands each connection
/// to one of its nodes, so a node that kept the old certificate (its provisioning failed,
/// it was not reloaded, a rollback put the old file back) shows only to some connections.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Samples {
    /// Connections made, the first one included.
    pub connections: u32,
    /// How many of them presented the observation's certificate.
    pub same: u32,
    /// How many got no certificate (the first one's error is in `error`).
    pub failed: u32,
    /// Why the first of those got none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorInfo>,
    /// Every other certificate presented, once each, in the order first seen.
    pub others: Vec<Sampled>,
    /// Staplings of the observation's own certificate that make findings the first
    /// connection's did not (a node whose staple went stale, a node stapling none of a
    /// must-staple certificate), once per set of findings, in the order first seen.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub staples: Vec<StapledApart>,
    /// Connections that got the observation's certificate with a staple free of the
    /// first connection's staple fault (stale, unusable, none for must-staple): the first
    /// one met the node that staples apart.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub staples_fine: u32,
    /// Connections that got the observation's certificate with a chain free of the first
    /// connection's chain fault (an intermediate the first one's lacked): the first one met
    /// the node whose chain file differs.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub chains_fine: u32,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// How some nodes staple for the observation's certificate, where that makes findings
/// the first connection's staple did not: the nodes share the certificate but not its
/// OCSP stapling (one cannot reach the CA's responder, one was not reloaded).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StapledApart {
    /// On how many connections.
    pub seen: u32,
    /// The response stapled, as read; absent when none was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ocsp: Option<Box<OcspInfo>>,
    /// The findings it makes that the first connection's staple did not.
    pub findings: Vec<Finding>,
}

/// A certificate some of the sampled connections got instead of the observation's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sampled {
    /// The leaf.
    pub cert: CertInfo,
    /// On how many connections.
    pub seen: u32,
    /// Trust findings on the chain it came with.
    pub findings: Vec<Finding>,
    /// The trust judgement in words, when there is something to say.
    pub trust_detail: Option<String>,
    /// The OCSP response the node stapled with it, as read; absent when it stapled none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ocsp: Option<Box<OcspInfo>>,
    /// What the CA's revocation list says of it (`scan --crl`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crl: Option<Box<RevocationInfo>>,
    /// What the CA's OCSP responder answers about it (`scan --ocsp`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ocsp_responder: Option<Box<RevocationInfo>>,
    /// What the endpoint's TLSA records say of it (`scan --dane`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dane: Option<Box<DaneInfo>>,
    /// The observation's own certificate, sent with another chain that clients refuse where
    /// they take the first connection's (a node whose chain file lacks the intermediate).
    #[serde(default, skip_serializing_if = "is_false")]
    pub chain_apart: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
}

impl Samples {
    /// These samples as a view from another certificate than the first connection's sees
    /// them: what was about that certificate alone (the staplings apart, the connections
    /// free of its staple or chain fault) left out.
    pub fn seen_from_another_certificate(&self) -> Samples {
        Samples {
            staples: Vec::new(),
            staples_fine: 0,
            chains_fine: 0,
            ..self.clone()
        }
    }

    /// The `other_serials` cell: each other serial with its share of the connections, then
    /// the share that got none, `;`-separated.
    pub fn others_shown(&self) -> String {
        let mut shown: Vec<String> = self
            .others
            .iter()
            .map(|o| {
                let chain = if o.chain_apart {
                    " with another chain"
                } else {
                    ""
                };
                format!(
                    "{}{chain} ({} of {})",
                    o.cert.serial, o.seen, self.connections
                )
            })
            .collect();
        if self.failed > 0 {
            shown.push(format!(
                "no certificate ({} of {})",
                self.failed, self.connections
            ));
        }
        shown.join("; ")
    }
}

/// What the CA's revocation service says of a certificate when asked: its list (`--crl`)
/// or its OCSP responder (`--ocsp`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RevocationInfo {
    /// The distribution point read or the responder asked (or the first the certificate
    /// names, when none could say).
    pub url: Option<String>,
    /// `good` (a current answer, its signature checked, that does not call it revoked),
    /// `revoked`, or `unavailable` (none could say; `problem` says why).
    pub status: String,
    /// The list's or the answer's thisUpdate, RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub this_update: Option<String>,
    /// The list's or the answer's nextUpdate, RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_update: Option<String>,
    /// When the certificate was revoked, RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<String>,
    /// The revocation reason, when the CA gives one (`keyCompromise`, `superseded`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Why no list or answer could say; beside a `good` list's answer, what it could not
    /// see (a delta list that could not be read).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
    /// The delta list read with the list (`--crl`, RFC 5280 §5.2.4), when the certificate
    /// or the list names one: revocations since the base list are there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delta_url: Option<String>,
    /// That delta list's thisUpdate, RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delta_this_update: Option<String>,
}

impl RevocationInfo {
    /// No list or answer could say, for `problem`; `url` is the first the certificate names.
    pub fn unavailable(url: Option<&str>, problem: String) -> Self {
        RevocationInfo {
            url: url.map(str::to_string),
            status: "unavailable".into(),
            this_update: None,
            next_update: None,
            revoked_at: None,
            reason: None,
            problem: Some(problem),
            delta_url: None,
            delta_this_update: None,
        }
    }
}

/// A revocation reason as RFC 5280 names it (`keyCompromise`), from its enum variant's name
/// in a crate (`KeyCompromise`; `CACompromise` gives `cACompromise`, as the RFC has it).
pub fn reason_name(variant: &str) -> String {
    let mut chars = variant.chars();
    chars
        .next()
        .map(|c| c.to_ascii_lowercase().to_string() + chars.as_str())
        .unwrap_or_default()
}

/// The CA's word that a served certificate is revoked, from a stapled OCSP response or the
/// CA's revocation list (both with their signatures checked).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CaRevocation<'a> {
    /// Where it was read, in words ("The CA's OCSP response, stapled by the server,").
    pub source: &'static str,
    /// The same for a report row about the certificate ("the OCSP response its servers
    /// staple").
    pub source_short: &'static str,
    /// When, RFC 3339, if known.
    pub at: Option<&'a str>,
    /// The reason, if given.
    pub reason: Option<&'a str>,
}

/// What a stapled OCSP response says of the served certificate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OcspInfo {
    /// The CA's word: `good`, `revoked` or `unknown`; `unusable` when the response cannot
    /// be read, is not a successful one, or is about another certificate.
    pub status: String,
    /// Whether its signature was checked, by the issuer's key or a responder certificate the
    /// issuer signed for OCSP; only a checked response changes a verdict.
    pub verified: bool,
    /// thisUpdate, RFC 3339.
    pub this_update: Option<String>,
    /// nextUpdate, RFC 3339 (after it, clients ignore the response).
    pub next_update: Option<String>,
    /// When the certificate was revoked, RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<String>,
    /// The revocation reason, when the CA gave one (`keyCompromise`, `superseded`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Why it could not be used or its signature not checked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
}

/// The key type a certificate's signatures are made with, as far as a TLS client's offer
/// can select it: a server holding an RSA and an ECDSA certificate for one name (nginx,
/// Apache, HAProxy and most load balancers allow both) sends the one matching the client's
/// signature algorithms, so one handshake sees only one of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyFamily {
    /// RSA keys (rsaEncryption or RSASSA-PSS).
    Rsa,
    /// ECDSA keys (P-256, P-384, P-521).
    Ecdsa,
}

impl KeyFamily {
    /// The family of a [`CertInfo::key_type`]; none for keys a client's offer cannot single
    /// out (Ed25519, DSA, unknown).
    pub fn of_key_type(key_type: &str) -> Option<KeyFamily> {
        match key_type {
            "RSA" | "RSA-PSS" => Some(KeyFamily::Rsa),
            "EC" => Some(KeyFamily::Ecdsa),
            _ => None,
        }
    }

    /// The other family.
    pub fn other(self) -> KeyFamily {
        match self {
            KeyFamily::Rsa => KeyFamily::Ecdsa,
            KeyFamily::Ecdsa => KeyFamily::Rsa,
        }
    }

    /// `RSA` or `ECDSA`, for messages.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyFamily::Rsa => "RSA",
            KeyFamily::Ecdsa => "ECDSA",
        }
    }
}

/// What an endpoint presented to a handshake that offered only `offered`'s signature
/// algorithms, taken after the first handshake when [`SecondLook`] asked for it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OtherKey {
    /// The key family the second handshake offered.
    pub offered: KeyFamily,
    /// The leaf it got, if any.
    pub cert: Option<CertInfo>,
    /// Trust findings on that chain.
    pub findings: Vec<Finding>,
    /// Detail of the trust judgement when that chain is not trusted.
    pub trust_detail: Option<String>,
    /// What the CA's revocation list says of that leaf (`--crl`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crl: Option<Box<RevocationInfo>>,
    /// What the CA's OCSP responder answers about that leaf (`--ocsp`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ocsp_responder: Option<Box<RevocationInfo>>,
    /// Why there is no certificate (a server with one key type refuses the offer), or why
    /// the handshake failed after it was captured.
    pub error: Option<ErrorInfo>,
    /// The certificate the second look got at the previous sweep (`scan --previous`), when
    /// that was another one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous: Option<Box<PreviousCert>>,
    /// What the endpoint's TLSA records say of that chain (`scan --dane`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dane: Option<Box<DaneInfo>>,
    /// The OCSP response the server stapled with that certificate, as read; absent when it
    /// stapled none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ocsp: Option<Box<OcspInfo>>,
}

impl OtherKey {
    /// What a second look offering `offered` got: `cert` (if any) with its trust
    /// `findings`; what else is known of it is added to it.
    pub fn new(offered: KeyFamily, cert: Option<CertInfo>, findings: Vec<Finding>) -> OtherKey {
        OtherKey {
            offered,
            cert,
            findings,
            trust_detail: None,
            crl: None,
            ocsp_responder: None,
            error: None,
            previous: None,
            dane: None,
            ocsp: None,
        }
    }
}

/// The second look for every endpoint (`--both-key-types`): the other family than the
/// presented certificate's.
#[derive(Debug)]
pub struct EveryKeyType;

impl SecondLook for EveryKeyType {
    fn wanted(&self, o: &Observation) -> Option<KeyFamily> {
        o.cert.as_ref()?.key_family().map(KeyFamily::other)
    }
}

/// Asked by the engine once an endpoint's observation is complete: whether a second
/// handshake offering only one key family's signature algorithms should be made, and with
/// which family. The knowledge side answers (an endpoint that serves an old certificate
/// may hold the renewal under the other key type), so the engine does not depend on it.
pub trait SecondLook: Send + Sync + fmt::Debug {
    /// The family to offer in a second handshake for `o`, or none.
    fn wanted(&self, o: &Observation) -> Option<KeyFamily>;
}

impl CertInfo {
    /// Whether its Extended Key Usage lets it authenticate a TLS client: no extension, or
    /// one naming clientAuth or any purpose.
    pub fn allows_client_auth(&self) -> bool {
        eku_names::allows_client_auth(self.extended_key_usage)
    }

    /// Its key family, if RSA or ECDSA.
    pub fn key_family(&self) -> Option<KeyFamily> {
        KeyFamily::of_key_type(&self.key_type)
    }
}

impl Observation {
    /// The endpoint's findings with those of the certificates other nodes presented
    /// (`--samples`) and of the other key type's (the second look), sorted, once each: what
    /// its clients meet, whichever certificate they get.
    pub fn findings_with_others(&self) -> std::borrow::Cow<'_, [Finding]> {
        let nodes = self
            .samples
            .as_deref()
            .map(|s| &s.others[..])
            .unwrap_or_default();
        let second = self
            .second_cert()
            .and(self.other_key.as_deref())
            .map(|k| &k.findings[..])
            .unwrap_or_default();
        if nodes.is_empty() && second.is_empty() {
            return std::borrow::Cow::Borrowed(&self.findings[..]);
        }
        let mut all = self.findings.clone();
        all.extend(nodes.iter().flat_map(|x| &x.findings));
        all.extend(second);
        all.sort();
        all.dedup();
        std::borrow::Cow::Owned(all)
    }

    /// The certificate a second look got ([`SecondLook`]) when it is not the presented one:
    /// the endpoint's second certificate, of the other key type.
    pub fn second_cert(&self) -> Option<&CertInfo> {
        let theirs = self.other_key.as_ref()?.cert.as_ref()?;
        let differs = self
            .cert
            .as_ref()
            .is_none_or(|mine| mine.serial != theirs.serial);
        differs.then_some(theirs)
    }

    /// An endpoint that yielded no certificate, scanned now: `error` says why.
    pub fn failed(
        host: String,
        ip: Option<IpAddr>,
        port: u16,
        sni: Option<String>,
        label: Option<String>,
        error: ErrorInfo,
    ) -> Self {
        Observation {
            scan_time: crate::timefmt::rfc3339(time::OffsetDateTime::now_utc()),
            host,
            ip,
            port,
            sni,
            label,
            starttls: None,
            cert: None,
            chain: Vec::new(),
            pem: None,
            tls: None,
            findings: Vec::new(),
            trust_detail: None,
            chain_expires: None,
            timings: Timings::default(),
            error: Some(error),
            attempts: 0,
            other_key: None,
            ocsp: None,
            crl: None,
            ocsp_responder: None,
            samples: None,
            dane: None,
            previous: None,
        }
    }

    /// The staple that made finding `f` (a staple's finding), and on how many of all the
    /// connections made (`scan --samples`) when not every one got it: other nodes' stapling
    /// of this certificate when theirs made it, else the first connection's (its share
    /// told when other connections got a staple free of it).
    pub fn staple_with(&self, f: Finding) -> (Option<&OcspInfo>, Option<(u32, u32)>) {
        let apart = self.samples.as_deref().and_then(|s| {
            let x = s.staples.iter().find(|x| x.findings.contains(&f))?;
            Some((x.ocsp.as_deref(), Some((x.seen, s.connections))))
        });
        // The first connection's own, on the connections that got its certificate but not
        // a staple free of it.
        let first = self
            .samples
            .as_deref()
            .filter(|s| s.staples_fine > 0)
            .map(|s| (s.same.saturating_sub(s.staples_fine), s.connections));
        apart.unwrap_or((self.ocsp.as_deref(), first))
    }

    /// The CA's word that the served certificate is revoked, if it gave one: a stapled OCSP
    /// response first (the server's own), else the CA's responder asked, else its list.
    pub fn revoked_by_ca(&self) -> Option<CaRevocation<'_>> {
        if self.findings.contains(&Finding::OcspRevoked) {
            let (i, _) = self.staple_with(Finding::OcspRevoked);
            return Some(CaRevocation {
                source: "The CA's OCSP response, stapled by the server,",
                source_short: "the OCSP response its servers staple",
                at: i.and_then(|i| i.revoked_at.as_deref()),
                reason: i.and_then(|i| i.reason.as_deref()),
            });
        }
        if self.findings.contains(&Finding::OcspResponderRevoked) {
            let i = self.ocsp_responder.as_deref();
            return Some(CaRevocation {
                source: "The CA's OCSP responder",
                source_short: "the CA's OCSP responder",
                at: i.and_then(|i| i.revoked_at.as_deref()),
                reason: i.and_then(|i| i.reason.as_deref()),
            });
        }
        if self.findings.contains(&Finding::CrlRevoked) {
            let i = self.crl.as_deref();
            return Some(CaRevocation {
                source: "The CA's revocation list (CRL)",
                source_short: "the CA's revocation list",
                at: i.and_then(|i| i.revoked_at.as_deref()),
                reason: i.and_then(|i| i.reason.as_deref()),
            });
        }
        None
    }

    /// The name the endpoint was asked for, which its clients use: the SNI, else the host
    /// (a bare address). Certificates are judged against it, and a name's endpoints are
    /// those asked for it.
    pub fn asked_name(&self) -> &str {
        self.sni.as_deref().unwrap_or(&self.host)
    }

    /// Where the endpoint is, as a log line names it: `10.0.0.5:443`, `[2001:db8::5]:443`,
    /// or `host:port` when no address was had.
    pub fn place(&self) -> String {
        match self.ip {
            Some(ip) => std::net::SocketAddr::new(ip, self.port).to_string(),
            None => host_port(&self.host, self.port),
        }
    }

    /// The error class, if any.
    pub fn error_class(&self) -> Option<ErrorClass> {
        self.error.as_ref().map(|e| e.class)
    }

    /// Whole days until the leaf expires, negative once expired, relative to `now_unix`.
    pub fn days_left(&self, now_unix: i64) -> Option<i64> {
        self.cert
            .as_ref()
            .map(|c| (c.not_after_unix - now_unix).div_euclid(86_400))
    }
}

/// `host:port`, an IPv6 address in brackets (`[2001:db8::5]:443`): written without them its
/// last group would read as the port, or the port as its last group.
pub fn host_port(host: &str, port: u16) -> String {
    if host.parse::<std::net::Ipv6Addr>().is_ok() {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// The 1-based line of byte `offset` in `bytes` (where a UTF-8 error sits, for messages).
pub fn line_at(bytes: &[u8], offset: usize) -> u64 {
    1 + bytes[..offset.min(bytes.len())]
        .iter()
        .filter(|b| **b == b'\n')
        .count() as u64
}

/// The error message of a server that has no certificate for the name asked for (its
/// `unrecognized_name` alert): the verdict's next step tells how to bind one.
pub const SNI_REFUSED: &str = "server sent alert UnrecognisedName";

/// The end of the error message of a connection refused locally for want of a route to the
/// address's network (`ENETUNREACH`): on a host without IPv6 connectivity, every AAAA
/// answer ends so, and the fix is on the scanning side, not at the endpoint.
pub const NO_ROUTE: &str = "no route to that network from this host";

/// Whether this host has a route to `ip`: a UDP socket connected to it (a route lookup, no
/// packet sent). False on a host without IPv6 for every global IPv6 address.
pub fn route_from_here(ip: std::net::IpAddr) -> bool {
    let any: std::net::SocketAddr = if ip.is_ipv4() {
        ([0, 0, 0, 0], 0).into()
    } else {
        ([0u16; 8], 0).into()
    };
    std::net::UdpSocket::bind(any)
        .and_then(|s| s.connect(std::net::SocketAddr::new(ip, 53)))
        .is_ok()
}

impl ErrorInfo {
    /// Whether the connection failed for want of a route from this host ([`NO_ROUTE`]).
    pub fn is_no_route(&self) -> bool {
        self.class == ErrorClass::ConnectError && self.message.ends_with(NO_ROUTE)
    }
}

/// The error message of a server that closed the connection during the TLS handshake before
/// sending its certificate, without an alert.
pub const CLOSED_IN_HANDSHAKE: &str = "connection closed during the TLS handshake";

/// The error message of a server that reset the connection during the TLS handshake.
pub const RESET_IN_HANDSHAKE: &str = "connection reset during the TLS handshake";

/// Whether `o` is a bare address (no name asked for) that refused the handshake with an
/// alert, as speaking no common protocol, or by ending the connection: what a server holding
/// certificates for names only does without SNI (a CDN edge and name-only virtual hosts send
/// an alert; Envoy, and with it Istio's and other Kubernetes gateways, closes the connection
/// when no filter chain matches).
pub fn refused_without_a_name(o: &Observation) -> bool {
    unnamed_refusal(o.sni.as_deref(), o.cert.is_some(), o.error.as_ref())
}

/// [`refused_without_a_name`] from its parts, for the engine before the observation is
/// made: the name asked for, whether a certificate came, the error.
pub fn unnamed_refusal(sni: Option<&str>, presented: bool, error: Option<&ErrorInfo>) -> bool {
    sni.is_none()
        && !presented
        && error.is_some_and(|e| match e.class {
            ErrorClass::TlsAlert | ErrorClass::TlsProtocol => true,
            // Its legacy retry's words may follow (closed again, or some other answer).
            ErrorClass::TlsError => {
                e.message.starts_with(CLOSED_IN_HANDSHAKE)
                    || e.message.starts_with(RESET_IN_HANDSHAKE)
            }
            _ => false,
        })
}

/// Whether `o` failed to connect for want of a route from this host ([`NO_ROUTE`]).
pub fn no_route(o: &Observation) -> bool {
    o.error.as_ref().is_some_and(ErrorInfo::is_no_route)
}

/// A line of an input file (target list, inventory) that could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineError {
    /// The file (`-` for standard input).
    pub file: String,
    /// 1-based line (of a JSON record: the line it begins on); 0 for the whole file.
    pub line: u64,
    /// The field at fault, when known.
    pub field: Option<String>,
    /// What is wrong.
    pub reason: String,
}

impl LineError {
    /// An error of `file` at `line` (0: the file as a whole), about no one field.
    pub fn new(file: impl Into<String>, line: u64, reason: impl Into<String>) -> Self {
        LineError {
            file: file.into(),
            line,
            field: None,
            reason: reason.into(),
        }
    }
}

impl fmt::Display for LineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A reason may quote the file, which may be anything (a binary given by mistake):
        // its control characters must not reach the terminal raw. Line breaks and tabs of
        // a parser's own message (a TOML error's layout) stay.
        let reason = readable(&self.reason);
        let reason = if reason
            .chars()
            .any(|c| c.is_control() && c != '\n' && c != '\t')
        {
            reason
                .split('\n')
                .map(|l| visible(l).replace("\\u{9}", "\t"))
                .collect::<Vec<_>>()
                .join("\n")
                .into()
        } else {
            reason
        };
        // Line 0 is the whole file (it could not be opened or read): no line to name.
        match (&self.field, self.line) {
            (Some(field), 0) => write!(f, "{}: field {field}: {reason}", self.file),
            (None, 0) => write!(f, "{}: {reason}", self.file),
            (Some(field), line) => write!(f, "{}:{line}: field {field}: {reason}", self.file),
            (None, line) => write!(f, "{}:{line}: {reason}", self.file),
        }
    }
}

/// `s` with its control characters written as `\u{..}`: text a peer chose (a certificate's
/// names, a server's greeting) goes into reports and terminals, where a raw NUL, escape
/// sequence or line break would hide or forge what follows.
pub fn visible(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.chars().any(char::is_control) {
        return s.into();
    }
    s.chars()
        .map(|c| {
            if c.is_control() {
                format!("\\u{{{:x}}}", u32::from(c))
            } else {
                c.to_string()
            }
        })
        .collect::<String>()
        .into()
}

/// [`visible`] of an owned string, which is kept when there is nothing to escape.
pub fn visible_string(s: String) -> String {
    match visible(&s) {
        std::borrow::Cow::Borrowed(_) => s,
        std::borrow::Cow::Owned(shown) => shown,
    }
}

/// A message cut to a readable length: reasons quote the input, and a cell or line of a
/// file given by mistake can be megabytes long. Head and tail are kept (the tail often
/// says what is wrong).
pub(crate) fn readable(reason: &str) -> std::borrow::Cow<'_, str> {
    const HEAD: usize = 240;
    const TAIL: usize = 120;
    let chars = reason.chars().count();
    if chars <= HEAD + TAIL + 40 {
        return reason.into();
    }
    let head: String = reason.chars().take(HEAD).collect();
    let tail: String = reason.chars().skip(chars - TAIL).collect();
    format!(
        "{head} ...[{} characters cut]... {tail}",
        chars - HEAD - TAIL
    )
    .into()
}

impl std::error::Error for LineError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_is_routed_and_the_lookup_sends_nothing() {
        // A UDP connect is a route lookup: loopback has one. (That a host without IPv6 has
        // none for global IPv6 addresses was checked by hand in a network namespace
        // without routes: connect fails with ENETUNREACH.)
        assert!(route_from_here(std::net::IpAddr::from([127, 0, 0, 1])));
        // Port 53 on an address nothing listens on: nothing fails, as nothing is sent.
        assert!(route_from_here(std::net::IpAddr::from([127, 0, 0, 9])));
    }

    #[test]
    fn a_reason_quoting_a_binary_file_reaches_the_terminal_escaped() {
        let e = LineError::new("/bin/ls", 1, "columns are: \u{7f}ELF\u{2}\0\u{1b}[2J\tx\ny");
        assert_eq!(
            e.to_string(),
            "/bin/ls:1: columns are: \\u{7f}ELF\\u{2}\\u{0}\\u{1b}[2J\tx\ny"
        );
        let plain = LineError::new("m.toml", 2, "expected `=`\n  |\n2 | x\t");
        assert_eq!(plain.to_string(), "m.toml:2: expected `=`\n  |\n2 | x\t");
    }

    #[test]
    fn a_whole_files_error_names_no_line() {
        let e = LineError::new(
            "/gone.csv",
            0,
            "cannot read: No such file or directory (os error 2)",
        );
        assert_eq!(
            e.to_string(),
            "/gone.csv: cannot read: No such file or directory (os error 2)"
        );
    }

    #[test]
    fn a_huge_quoted_value_is_cut_in_the_message() {
        // A 1 MB inventory cell used to come back whole in the error line.
        let e = LineError {
            file: "inv.csv".into(),
            line: 2,
            field: Some("Serial Number".into()),
            reason: format!(
                "serial \"{}\" contains \"Z\", not a hex or decimal digit",
                "Z".repeat(1_000_000)
            ),
        };
        let shown = e.to_string();
        assert!(shown.len() < 500, "{} bytes", shown.len());
        assert!(shown.starts_with("inv.csv:2: field Serial Number: serial \"ZZZ"));
        assert!(
            shown.ends_with("contains \"Z\", not a hex or decimal digit"),
            "{shown}"
        );
        assert!(shown.contains("characters cut"));
        let short = LineError {
            reason: "bad port \"0\"".into(),
            field: None,
            ..e
        };
        assert_eq!(short.to_string(), "inv.csv:2: bad port \"0\"");
    }
}
