//! An in-process fleet of TLS endpoints on loopback, with rcgen-made chains.
//!
//! Used by `certsweep demo`, the integration tests and the sweep benchmark, so all three
//! exercise the real engine against real sockets.

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose,
    GeneralSubtree, IsCa, Issuer, KeyPair, KeyUsagePurpose, NameConstraints, SerialNumber,
    SigningKey as _,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::server::{ClientHello, ResolvesServerCert, WebPkiClientVerifier};
use rustls::sign::CertifiedKey;
use rustls::{RootCertStore, ServerConfig};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use time::OffsetDateTime;
use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::task::JoinHandle;

/// A failure to build fixtures.
#[derive(Debug, thiserror::Error)]
pub enum FleetError {
    /// Certificate generation failed.
    #[error("certificate generation: {0}")]
    Cert(#[from] rcgen::Error),
    /// TLS server configuration failed.
    #[error("TLS server: {0}")]
    Tls(#[from] rustls::Error),
    /// Socket failure.
    #[error("socket: {0}")]
    Io(#[from] std::io::Error),
    /// An OCSP response could not be made.
    #[error("OCSP response: {0}")]
    Ocsp(String),
    /// A certificate extension could not be encoded.
    #[error("certificate extension: {0}")]
    Extension(String),
}

/// A certificate authority that can sign.
pub struct Ca {
    issuer: Issuer<'static, KeyPair>,
    /// The CA's own certificate.
    pub cert: CertificateDer<'static>,
}

impl std::fmt::Debug for Ca {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ca").finish_non_exhaustive()
    }
}

fn ca_params(cn: &str) -> CertificateParams {
    let mut p = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::OrganizationName, "certsweep test PKI");
    dn.push(DnType::CommonName, cn);
    p.distinguished_name = dn;
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    p.not_before = OffsetDateTime::now_utc() - time::Duration::days(3650);
    p.not_after = OffsetDateTime::now_utc() + time::Duration::days(3650);
    p
}

/// Which CA of a [`Pki`] permits only names under `permitted` (none when empty).
#[derive(Clone, Copy)]
struct Confined<'a> {
    permitted: &'a [&'a str],
    in_policy_ca: bool,
}

impl Confined<'_> {
    const NOT: Self = Confined {
        permitted: &[],
        in_policy_ca: false,
    };
}

/// A root and an intermediate under it.
#[derive(Debug)]
pub struct Pki {
    /// The root (trust anchor).
    pub root: Ca,
    /// The issuing intermediate.
    pub intermediate: Ca,
    /// A CA between the root and the issuing intermediate ([`Pki::three_level`]), served
    /// after the intermediate in a full chain.
    pub policy: Option<Ca>,
}

/// How the served chain is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChainKind {
    /// Leaf and intermediate.
    Full,
    /// Leaf only: the intermediate is missing.
    LeafOnly,
    /// A self-signed leaf.
    SelfSigned,
}

/// What a leaf should look like.
#[derive(Debug, Clone)]
pub struct LeafSpec {
    /// DNS SANs (the first is also the CN).
    pub names: Vec<String>,
    /// notBefore.
    pub not_before: OffsetDateTime,
    /// notAfter.
    pub not_after: OffsetDateTime,
    /// Serial bytes (big-endian, positive).
    pub serial: Vec<u8>,
    /// Chain shape.
    pub chain: ChainKind,
    /// An RSA 2048 key instead of ECDSA P-256.
    pub rsa: bool,
    /// The TLS Feature extension asking for a stapled OCSP response ("must staple").
    pub must_staple: bool,
    /// A CRL distribution point (a URI).
    pub crl_url: Option<String>,
    /// An OCSP responder (a URI in the Authority Information Access).
    pub ocsp_url: Option<String>,
    /// Where the CA's delta CRLs are (a URI in a Freshest CRL extension, RFC 5280
    /// 4.2.1.15).
    pub delta_crl_url: Option<String>,
    /// The key of another leaf (PKCS#8 DER) instead of a new one: certificates that share
    /// one key, as a TLS-inspecting proxy mints them.
    pub key_of: Option<Vec<u8>>,
    /// Signed Certificate Timestamps to embed (Certificate Transparency), one per log id
    /// given: what a public CA embeds, two or three of them, dated at the leaf's notBefore
    /// (a CA logs the precertificate as it issues). Their signatures are not real.
    pub sct_logs: Vec<u8>,
    /// Its Key Usage: digitalSignature by default; empty for no extension.
    pub key_usages: Vec<KeyUsagePurpose>,
    /// Its Extended Key Usage: serverAuth by default; empty for no extension.
    pub extended_key_usages: Vec<ExtendedKeyUsagePurpose>,
}

impl LeafSpec {
    /// A leaf for `names`, valid from `days_ago` days ago for `days_left` more days.
    pub fn new(names: &[&str], serial: u64, days_ago: i64, days_left: i64) -> Self {
        let now = OffsetDateTime::now_utc();
        LeafSpec {
            names: names.iter().map(|s| s.to_string()).collect(),
            not_before: now - time::Duration::days(days_ago),
            not_after: now + time::Duration::days(days_left),
            serial: serial_bytes(serial),
            chain: ChainKind::Full,
            rsa: false,
            must_staple: false,
            crl_url: None,
            ocsp_url: None,
            delta_crl_url: None,
            key_of: None,
            sct_logs: Vec::new(),
            key_usages: vec![KeyUsagePurpose::DigitalSignature],
            extended_key_usages: vec![ExtendedKeyUsagePurpose::ServerAuth],
        }
    }

    /// The same with `leaf`'s key.
    pub fn with_key_of(mut self, leaf: &Leaf) -> Self {
        self.key_of = Some(leaf.key.secret_der().to_vec());
        self
    }

    /// The same naming `url` as its CRL distribution point.
    pub fn with_crl(mut self, url: &str) -> Self {
        self.crl_url = Some(url.to_string());
        self
    }

    /// The same naming `url` as where its CA's delta CRLs are (Freshest CRL).
    pub fn with_delta_crl(mut self, url: &str) -> Self {
        self.delta_crl_url = Some(url.to_string());
        self
    }

    /// The same naming `url` as its OCSP responder.
    pub fn with_ocsp(mut self, url: &str) -> Self {
        self.ocsp_url = Some(url.to_string());
        self
    }

    /// The same marked "must staple" (RFC 7633).
    pub fn with_must_staple(mut self) -> Self {
        self.must_staple = true;
        self
    }

    /// The same with an RSA key.
    pub fn with_rsa(mut self) -> Self {
        self.rsa = true;
        self
    }

    /// The same with another chain shape.
    pub fn with_chain(mut self, chain: ChainKind) -> Self {
        self.chain = chain;
        self
    }
}

/// What a hand-built CRL holds ([`Pki::crl_built`]).
#[derive(Debug, Clone, Default)]
pub struct CrlSpec<'a> {
    /// The serials listed (integer bytes), each with its reason code (RFC 5280 5.3.1:
    /// 6 certificateHold, 8 removeFromCRL, ...).
    pub revoked: &'a [(&'a [u8], u8)],
    /// thisUpdate, Unix seconds.
    pub this_update: i64,
    /// nextUpdate, Unix seconds.
    pub next_update: i64,
    /// Its CRL number (none: a list without one, as RFC 5280 forbids and some CAs publish).
    pub crl_number: Option<u64>,
    /// A delta list's base CRL number (its delta CRL indicator).
    pub delta_of: Option<u64>,
    /// Where its delta lists are (Freshest CRL), one extension a URL.
    pub freshest: Vec<String>,
}

/// A CRLDistributionPoints value (the syntax of a Freshest CRL extension too) naming `url`.
fn distribution_points(url: &str) -> Result<Vec<u8>, FleetError> {
    use x509_cert::ext::pkix::crl::dp::DistributionPoint;
    use x509_cert::ext::pkix::name::{DistributionPointName, GeneralName};
    let uri = der::asn1::Ia5String::new(url).map_err(|e| FleetError::Ocsp(e.to_string()))?;
    let points = x509_cert::ext::pkix::crl::CrlDistributionPoints(vec![DistributionPoint {
        distribution_point: Some(DistributionPointName::FullName(vec![
            GeneralName::UniformResourceIdentifier(uri),
        ])),
        reasons: None,
        crl_issuer: None,
    }]);
    der::Encode::to_der(&points).map_err(|e| FleetError::Ocsp(e.to_string()))
}

/// Big-endian bytes of `n` with a high bit set in the first byte, so that the DER encoding
/// needs a leading zero byte, as real CA serials often do.
pub fn serial_bytes(n: u64) -> Vec<u8> {
    let mut v = vec![0x8a];
    v.extend_from_slice(&n.to_be_bytes());
    v
}

/// An issued leaf with the chain to serve.
#[derive(Debug)]
pub struct Leaf {
    /// The chain to serve, leaf first.
    pub chain: Vec<CertificateDer<'static>>,
    /// The leaf's private key (PKCS#8).
    pub key: PrivateKeyDer<'static>,
    /// Canonical serial (uppercase hex).
    pub serial_hex: String,
    /// Decimal serial.
    pub serial_dec: String,
    /// notBefore.
    pub not_before: OffsetDateTime,
    /// notAfter.
    pub not_after: OffsetDateTime,
    /// The leaf as PEM.
    pub pem: String,
    /// An OCSP response the server staples with it ([`Pki::staple`]).
    pub ocsp: Option<Vec<u8>>,
}

impl Leaf {
    /// The same certificate stapling `ocsp` instead: another node's stapling of it.
    pub fn stapling(&self, ocsp: Option<Vec<u8>>) -> Leaf {
        Leaf {
            chain: self.chain.clone(),
            key: self.key.clone_key(),
            serial_hex: self.serial_hex.clone(),
            serial_dec: self.serial_dec.clone(),
            not_before: self.not_before,
            not_after: self.not_after,
            pem: self.pem.clone(),
            ocsp,
        }
    }

    /// The same certificate sent alone, without its intermediate: a node whose chain file
    /// holds only the certificate.
    pub fn without_intermediates(&self) -> Leaf {
        let mut alone = self.stapling(self.ocsp.clone());
        alone.chain.truncate(1);
        alone
    }

    /// A TLS 1.3/1.2 server configuration serving this leaf's chain (ring provider).
    pub fn server_config(&self) -> Result<ServerConfig, FleetError> {
        Ok(
            ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
                .with_safe_default_protocol_versions()?
                .with_no_client_auth()
                .with_single_cert(self.chain.clone(), self.key.clone_key())?,
        )
    }

    /// The chain and key as a TLS server holds them (with the stapled response, if any),
    /// for a server resolving certificates its own way.
    pub fn certified_key(&self) -> Result<Arc<CertifiedKey>, FleetError> {
        let provider = rustls::crypto::ring::default_provider();
        let key = provider
            .key_provider
            .load_private_key(self.key.clone_key())?;
        let mut certified = CertifiedKey::new(self.chain.clone(), key);
        certified.ocsp = self.ocsp.clone();
        Ok(Arc::new(certified))
    }
}

/// A fresh RSA 2048 key: ring cannot generate RSA keys, aws-lc-rs (already built for
/// X25519) can.
fn rsa_key() -> Result<KeyPair, FleetError> {
    use aws_lc_rs::encoding::AsDer;
    let unspecified = |_| rcgen::Error::CouldNotParseKeyPair;
    let key =
        aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).map_err(unspecified)?;
    let der = key.as_der().map_err(unspecified)?;
    Ok(KeyPair::from_pkcs8_der_and_sign_algo(
        &PrivatePkcs8KeyDer::from(der.as_ref()),
        &rcgen::PKCS_RSA_SHA256,
    )?)
}

impl Pki {
    /// A fresh root and intermediate named after `label`.
    pub fn new(label: &str) -> Result<Self, FleetError> {
        Self::build(label, 3650, None, Confined::NOT)
    }

    /// A root valid for `root_days_left` more days (negative: expired) and an intermediate
    /// under it: a private root near or past its end.
    pub fn with_root_days_left(label: &str, root_days_left: i64) -> Result<Self, FleetError> {
        Self::build(label, root_days_left, None, Confined::NOT)
    }

    /// A root, a policy CA under it valid for `policy_days_left` more days, and the issuing
    /// intermediate under the policy CA: three levels, as AD CS hierarchies with an offline
    /// root and many commercial CAs run them.
    pub fn three_level(label: &str, policy_days_left: i64) -> Result<Self, FleetError> {
        Self::build(label, 3650, Some(policy_days_left), Confined::NOT)
    }

    /// A root, a policy CA and the issuing intermediate under it, the root's name
    /// constraints (or the policy CA's, `in_policy_ca`) permitting only names under
    /// `permitted`: a private PKI confined to its domains.
    pub fn name_constrained(
        label: &str,
        permitted: &[&str],
        in_policy_ca: bool,
    ) -> Result<Self, FleetError> {
        let confined = Confined {
            permitted,
            in_policy_ca,
        };
        Self::build(label, 3650, Some(3650), confined)
    }

    /// A root valid `root_days_left` more days, a policy CA under it when
    /// `policy_days_left` says for how long, and the issuing intermediate under the last;
    /// the root or the policy CA confined to names as `confined` says.
    fn build(
        label: &str,
        root_days_left: i64,
        policy_days_left: Option<i64>,
        confined: Confined<'_>,
    ) -> Result<Self, FleetError> {
        let constraints = (!confined.permitted.is_empty()).then(|| NameConstraints {
            permitted_subtrees: confined
                .permitted
                .iter()
                .map(|d| GeneralSubtree::DnsName((*d).to_string()))
                .collect(),
            excluded_subtrees: Vec::new(),
        });
        let root_key = KeyPair::generate()?;
        let mut root_params = ca_params(&format!("{label} Root CA"));
        root_params.not_after = OffsetDateTime::now_utc() + time::Duration::days(root_days_left);
        if !confined.in_policy_ca {
            root_params.name_constraints = constraints.clone();
        }
        let root_cert = root_params.self_signed(&root_key)?;
        let root_issuer = Issuer::new(root_params, root_key);
        let policy = match policy_days_left {
            Some(days) => {
                let key = KeyPair::generate()?;
                let mut params = ca_params(&format!("{label} Policy CA"));
                params.not_after = OffsetDateTime::now_utc() + time::Duration::days(days);
                if confined.in_policy_ca {
                    params.name_constraints = constraints;
                }
                let cert = params.signed_by(&key, &root_issuer)?;
                Some(Ca {
                    issuer: Issuer::new(params, key),
                    cert: cert.der().clone(),
                })
            }
            None => None,
        };
        let int_key = KeyPair::generate()?;
        let int_params = ca_params(&format!("{label} Issuing CA 1"));
        let int_cert = int_params.signed_by(
            &int_key,
            policy.as_ref().map_or(&root_issuer, |p| &p.issuer),
        )?;
        Ok(Pki {
            root: Ca {
                issuer: root_issuer,
                cert: root_cert.der().clone(),
            },
            intermediate: Ca {
                issuer: Issuer::new(int_params, int_key),
                cert: int_cert.der().clone(),
            },
            policy,
        })
    }

    /// The root as PEM (for `--ca-file`).
    pub fn root_pem(&self) -> String {
        pem::encode(&pem::Pem::new("CERTIFICATE", self.root.cert.to_vec()))
    }

    /// Issues a leaf.
    pub fn issue(&self, spec: &LeafSpec) -> Result<Leaf, FleetError> {
        let key = match &spec.key_of {
            Some(der) => KeyPair::try_from(der.as_slice())?,
            None if spec.rsa => rsa_key()?,
            None => KeyPair::generate()?,
        };
        let mut p = CertificateParams::new(spec.names.clone())?;
        let mut dn = DistinguishedName::new();
        if let Some(cn) = spec.names.first() {
            dn.push(DnType::CommonName, cn.as_str());
        }
        p.distinguished_name = dn;
        p.not_before = spec.not_before;
        p.not_after = spec.not_after;
        p.serial_number = Some(SerialNumber::from_slice(&spec.serial));
        p.extended_key_usages = spec.extended_key_usages.clone();
        p.key_usages = spec.key_usages.clone();
        p.use_authority_key_identifier_extension = true;
        if spec.must_staple {
            // TLS Feature (1.3.6.1.5.5.7.1.24): SEQUENCE { INTEGER 5 (status_request) }.
            p.custom_extensions
                .push(rcgen::CustomExtension::from_oid_content(
                    &[1, 3, 6, 1, 5, 5, 7, 1, 24],
                    vec![0x30, 3, 2, 1, 5],
                ));
        }
        if !spec.sct_logs.is_empty() {
            // 1.3.6.1.4.1.11129.2.4.2.
            let logged = u64::try_from(spec.not_before.unix_timestamp()).unwrap_or(0) * 1000;
            let content = sct_list(&spec.sct_logs, logged)
                .map_err(|e| FleetError::Extension(format!("SCT list: {e}")))?;
            p.custom_extensions
                .push(rcgen::CustomExtension::from_oid_content(
                    &[1, 3, 6, 1, 4, 1, 11129, 2, 4, 2],
                    content,
                ));
        }
        if let Some(url) = &spec.crl_url {
            p.crl_distribution_points = vec![rcgen::CrlDistributionPoint {
                uris: vec![url.clone()],
            }];
        }
        if let Some(url) = &spec.delta_crl_url {
            p.custom_extensions
                .push(rcgen::CustomExtension::from_oid_content(
                    &[2, 5, 29, 46],
                    distribution_points(url)?,
                ));
        }
        if let Some(url) = &spec.ocsp_url {
            use x509_cert::ext::pkix::{name::GeneralName, AccessDescription};
            let aia = x509_cert::ext::pkix::AuthorityInfoAccessSyntax(vec![AccessDescription {
                access_method: der::oid::ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.48.1"),
                access_location: GeneralName::UniformResourceIdentifier(
                    der::asn1::Ia5String::new(url).map_err(|e| FleetError::Ocsp(e.to_string()))?,
                ),
            }]);
            p.custom_extensions
                .push(rcgen::CustomExtension::from_oid_content(
                    &[1, 3, 6, 1, 5, 5, 7, 1, 1],
                    der::Encode::to_der(&aia).map_err(|e| FleetError::Ocsp(e.to_string()))?,
                ));
        }
        let cert = match spec.chain {
            ChainKind::SelfSigned => p.self_signed(&key)?,
            _ => p.signed_by(&key, &self.intermediate.issuer)?,
        };
        let mut chain = vec![cert.der().clone()];
        if spec.chain == ChainKind::Full {
            chain.push(self.intermediate.cert.clone());
            chain.extend(self.policy.as_ref().map(|p| p.cert.clone()));
        }
        let serial_hex = crate::cert::canonical_serial_from_bytes(&spec.serial);
        let serial_dec = num_bigint::BigUint::from_bytes_be(&spec.serial).to_string();
        Ok(Leaf {
            chain,
            key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
            serial_hex,
            serial_dec,
            not_before: spec.not_before,
            not_after: spec.not_after,
            pem: cert.pem(),
            ocsp: None,
        })
    }

    /// A CRL of the intermediate listing `revoked` (serial bytes, reason), valid from
    /// `this_update` to `next_update` (Unix seconds), signed by the intermediate (by the root
    /// when `by_root`, which makes a list the intermediate's key does not verify), DER.
    pub fn crl(
        &self,
        revoked: &[(&[u8], rcgen::RevocationReason)],
        this_update: i64,
        next_update: i64,
        by_root: bool,
    ) -> Result<Vec<u8>, FleetError> {
        self.crl_with(revoked, this_update, next_update, by_root, None)
    }

    /// [`Pki::crl`] with an issuing distribution point extension (a partition's URL, a
    /// scope).
    pub fn crl_with(
        &self,
        revoked: &[(&[u8], rcgen::RevocationReason)],
        this_update: i64,
        next_update: i64,
        by_root: bool,
        idp: Option<rcgen::CrlIssuingDistributionPoint>,
    ) -> Result<Vec<u8>, FleetError> {
        let at =
            |t: i64| OffsetDateTime::from_unix_timestamp(t).unwrap_or(OffsetDateTime::UNIX_EPOCH);
        let params = rcgen::CertificateRevocationListParams {
            this_update: at(this_update),
            next_update: at(next_update),
            crl_number: SerialNumber::from(1u64),
            issuing_distribution_point: idp,
            revoked_certs: revoked
                .iter()
                .map(|(serial, reason)| rcgen::RevokedCertParams {
                    serial_number: SerialNumber::from_slice(serial),
                    revocation_time: at(this_update - 3600),
                    reason_code: Some(*reason),
                    invalidity_date: None,
                })
                .collect(),
            key_identifier_method: rcgen::KeyIdMethod::Sha256,
        };
        let list = if by_root {
            // The root's key under the intermediate's name: a list its key does not verify.
            let cn = x509_parser::parse_x509_certificate(&self.intermediate.cert)
                .ok()
                .and_then(|(_, x)| {
                    x.subject()
                        .iter_common_name()
                        .next()
                        .and_then(|c| c.as_str().ok().map(str::to_string))
                })
                .unwrap_or_default();
            params.signed_by(&Issuer::new(ca_params(&cn), self.root.issuer.key()))?
        } else {
            params.signed_by(&self.intermediate.issuer)?
        };
        Ok(list.der().to_vec())
    }

    /// A CRL of the intermediate as `spec` describes it, signed by the intermediate, DER:
    /// made by hand where rcgen's lists carry no such extensions (a delta CRL indicator, a
    /// Freshest CRL pointer to the delta lists) or entries (removeFromCRL).
    pub fn crl_built(&self, spec: &CrlSpec<'_>) -> Result<Vec<u8>, FleetError> {
        use der::asn1::{BitString, OctetString, Uint, UtcTime};
        use der::{Decode, Encode};
        use x509_cert::ext::pkix::crl::CrlReason;
        use x509_cert::ext::Extension;
        let bad = |e: der::Error| FleetError::Ocsp(format!("CRL: {e}"));
        let time = |t: i64| -> Result<x509_cert::time::Time, FleetError> {
            let since = std::time::Duration::from_secs(t.max(0) as u64);
            Ok(x509_cert::time::Time::UtcTime(
                UtcTime::from_unix_duration(since).map_err(bad)?,
            ))
        };
        let ext = |oid: &str, critical: bool, value: Vec<u8>| -> Result<Extension, FleetError> {
            Ok(Extension {
                extn_id: der::oid::ObjectIdentifier::new_unwrap(oid),
                critical,
                extn_value: OctetString::new(value).map_err(bad)?,
            })
        };
        let number = |n: u64| -> Result<Vec<u8>, FleetError> {
            Uint::new(&n.to_be_bytes())
                .map_err(bad)?
                .to_der()
                .map_err(bad)
        };
        let reason = |code: u8| match code {
            1 => CrlReason::KeyCompromise,
            2 => CrlReason::CaCompromise,
            3 => CrlReason::AffiliationChanged,
            4 => CrlReason::Superseded,
            5 => CrlReason::CessationOfOperation,
            6 => CrlReason::CertificateHold,
            8 => CrlReason::RemoveFromCRL,
            9 => CrlReason::PrivilegeWithdrawn,
            10 => CrlReason::AaCompromise,
            _ => CrlReason::Unspecified,
        };
        let (_, issuer) = x509_parser::parse_x509_certificate(&self.intermediate.cert)
            .map_err(|e| FleetError::Ocsp(format!("CRL issuer: {e}")))?;
        let issuer = x509_cert::name::Name::from_der(issuer.subject().as_raw()).map_err(bad)?;
        let revoked = spec
            .revoked
            .iter()
            .map(|(serial, code)| {
                Ok(x509_cert::crl::RevokedCert {
                    serial_number: x509_cert::serial_number::SerialNumber::new(serial)
                        .map_err(bad)?,
                    revocation_date: time(spec.this_update - 3600)?,
                    crl_entry_extensions: Some(vec![ext(
                        "2.5.29.21",
                        false,
                        reason(*code).to_der().map_err(bad)?,
                    )?]),
                })
            })
            .collect::<Result<Vec<_>, FleetError>>()?;
        let mut extensions = Vec::new();
        if let Some(n) = spec.crl_number {
            extensions.push(ext("2.5.29.20", false, number(n)?)?);
        }
        if let Some(base) = spec.delta_of {
            extensions.push(ext("2.5.29.27", true, number(base)?)?);
        }
        for url in &spec.freshest {
            extensions.push(ext("2.5.29.46", false, distribution_points(url)?)?);
        }
        let algorithm = x509_cert::spki::AlgorithmIdentifierOwned {
            oid: der::oid::ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2"),
            parameters: None,
        };
        let tbs = x509_cert::crl::TbsCertList {
            version: x509_cert::Version::V2,
            signature: algorithm.clone(),
            issuer,
            this_update: time(spec.this_update)?,
            next_update: Some(time(spec.next_update)?),
            revoked_certificates: (!revoked.is_empty()).then_some(revoked),
            crl_extensions: (!extensions.is_empty()).then_some(extensions),
        };
        let signed = tbs.to_der().map_err(bad)?;
        let signature = rcgen::SigningKey::sign(self.intermediate.issuer.key(), &signed)?;
        let list = x509_cert::crl::CertificateList {
            tbs_cert_list: tbs,
            signature_algorithm: algorithm,
            signature: BitString::from_bytes(&signature).map_err(bad)?,
        };
        list.to_der().map_err(bad)
    }
}

/// An SCT list as a certificate or an OCSP response carries it (RFC 6962, 3.3): an OCTET
/// STRING holding the TLS-encoded list, an SCT per entry of `logs` (each a log id's every
/// byte), made at `logged_ms`, with no extensions and a signature that is not real.
fn sct_list(logs: &[u8], logged_ms: u64) -> Result<Vec<u8>, der::Error> {
    let mut list = Vec::new();
    for log in logs {
        let mut sct = vec![0u8];
        sct.extend_from_slice(&[*log; 32]);
        sct.extend_from_slice(&logged_ms.to_be_bytes());
        sct.extend_from_slice(&[0, 0, 4, 3, 0, 2, 0x30, 0]);
        list.extend_from_slice(&(sct.len() as u16).to_be_bytes());
        list.extend_from_slice(&sct);
    }
    let mut tls = (list.len() as u16).to_be_bytes().to_vec();
    tls.extend_from_slice(&list);
    der::Encode::to_der(&der::asn1::OctetString::new(tls)?)
}

impl Pki {
    /// SHA-1 of the intermediate's name and of its key bits: the issuer name and key hashes
    /// of an OCSP request about its leaves.
    pub fn intermediate_sha1s(&self) -> Result<IssuerHashes, FleetError> {
        let (_, issuer) = x509_parser::parse_x509_certificate(&self.intermediate.cert)
            .map_err(|e| FleetError::Ocsp(e.to_string()))?;
        let sha1 = |b: &[u8]| {
            let hash = ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, b);
            hash.as_ref().to_vec()
        };
        Ok((
            sha1(issuer.subject().as_raw()),
            sha1(issuer.public_key().subject_public_key.data.as_ref()),
        ))
    }

    /// An OCSP response about `leaf` (issued by the intermediate), signed by the intermediate
    /// as a CA's responder signs it, saying `says` from `this_update` to `next_update` (Unix
    /// seconds): what a server fetches and staples.
    pub fn staple(
        &self,
        leaf: &Leaf,
        says: StapleSays,
        this_update: i64,
        next_update: i64,
    ) -> Result<Vec<u8>, FleetError> {
        self.staple_made(
            leaf,
            &StapleSpec::new(says, this_update, next_update, StapleSigner::Issuer),
        )
    }

    /// The same signed by a delegated responder, as many CAs sign: a certificate the
    /// intermediate issues for the purpose, sent in the response; with `for_ocsp` false its
    /// extended key usage is server authentication instead, which may not sign responses.
    pub fn staple_by_responder(
        &self,
        leaf: &Leaf,
        says: StapleSays,
        this_update: i64,
        next_update: i64,
        for_ocsp: bool,
    ) -> Result<Vec<u8>, FleetError> {
        let signer = StapleSigner::Responder {
            for_ocsp,
            other_ca: None,
            expired: false,
        };
        self.staple_made(
            leaf,
            &StapleSpec::new(says, this_update, next_update, signer),
        )
    }

    /// An OCSP response about `leaf` as `spec` makes it: who signs it, about which serial,
    /// with which CertID hashes, beside which other certificates' answers.
    pub fn staple_made(&self, leaf: &Leaf, spec: &StapleSpec<'_>) -> Result<Vec<u8>, FleetError> {
        let (says, this_update) = (spec.says, spec.this_update);
        use der::asn1::{BitString, GeneralizedTime, Null, OctetString};
        use der::{Any, Encode};
        use x509_cert::spki::AlgorithmIdentifierOwned;
        use x509_ocsp::{
            BasicOcspResponse, CertId, CertStatus, OcspGeneralizedTime, OcspResponse, ResponderId,
            ResponseData, RevokedInfo, SingleResponse,
        };
        let bad = |e: der::Error| FleetError::Ocsp(e.to_string());
        let (_, issuer) = x509_parser::parse_x509_certificate(&self.intermediate.cert)
            .map_err(|e| FleetError::Ocsp(e.to_string()))?;
        let sha1 = |b: &[u8]| -> Result<OctetString, FleetError> {
            let h = ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, b);
            OctetString::new(h.as_ref()).map_err(bad)
        };
        let key_bits = issuer.public_key().subject_public_key.data.as_ref();
        let at = |t: i64| -> Result<OcspGeneralizedTime, FleetError> {
            let t = std::time::Duration::from_secs(t.max(0) as u64);
            Ok(OcspGeneralizedTime(
                GeneralizedTime::from_unix_duration(t).map_err(bad)?,
            ))
        };
        let serial = match &spec.serial {
            Some(other) => other.clone(),
            None => x509_parser::parse_x509_certificate(&leaf.chain[0])
                .map_err(|e| FleetError::Ocsp(e.to_string()))?
                .1
                .raw_serial()
                .to_vec(),
        };
        let hash = |b: &[u8]| -> Result<OctetString, FleetError> {
            match spec.sha256_id {
                true => OctetString::new(ring::digest::digest(&ring::digest::SHA256, b).as_ref())
                    .map_err(bad),
                false => sha1(b),
            }
        };
        let hash_oid = match spec.sha256_id {
            true => "2.16.840.1.101.3.4.2.1",
            false => "1.3.14.3.2.26",
        };
        let cert_status = match says {
            StapleSays::Good => CertStatus::Good(Null),
            StapleSays::Revoked(t) => CertStatus::Revoked(RevokedInfo {
                revocation_time: at(t)?,
                revocation_reason: Some(x509_cert::ext::pkix::CrlReason::KeyCompromise),
            }),
            StapleSays::Unknown => CertStatus::Unknown(Null),
        };
        let scts = (!spec.sct_logs.is_empty())
            .then(|| -> Result<_, FleetError> {
                let logged = u64::try_from(this_update).unwrap_or(0) * 1000;
                Ok(vec![x509_cert::ext::Extension {
                    extn_id: der::oid::ObjectIdentifier::new_unwrap("1.3.6.1.4.1.11129.2.4.5"),
                    critical: false,
                    extn_value: OctetString::new(sct_list(&spec.sct_logs, logged).map_err(bad)?)
                        .map_err(bad)?,
                }])
            })
            .transpose()?;
        let single = |serial: &[u8],
                      cert_status: CertStatus,
                      single_extensions: Option<Vec<x509_cert::ext::Extension>>|
         -> Result<SingleResponse, FleetError> {
            Ok(SingleResponse {
                cert_id: CertId {
                    hash_algorithm: AlgorithmIdentifierOwned {
                        oid: der::oid::ObjectIdentifier::new_unwrap(hash_oid),
                        parameters: Some(Any::from(Null)),
                    },
                    issuer_name_hash: hash(issuer.subject().as_raw())?,
                    issuer_key_hash: hash(key_bits)?,
                    serial_number: x509_cert::serial_number::SerialNumber::new(serial)
                        .map_err(bad)?,
                },
                cert_status,
                this_update: at(this_update)?,
                next_update: spec.next_update.map(at).transpose()?,
                single_extensions,
            })
        };
        // Other certificates' answers first, as a responder batching them writes them.
        let mut responses = (0..spec.others_first)
            .map(|i| single(&[0x11, 0x22, i as u8], CertStatus::Good(Null), None))
            .collect::<Result<Vec<_>, _>>()?;
        responses.push(single(&serial, cert_status, scts)?);
        let tbs = ResponseData {
            version: Default::default(),
            responder_id: ResponderId::ByKey(sha1(key_bits)?),
            produced_at: at(this_update)?,
            responses,
            response_extensions: None,
        };
        let signed = tbs.to_der().map_err(bad)?;
        let (signature, certs) = match spec.signer {
            StapleSigner::Issuer => (self.intermediate.issuer.key().sign(&signed)?, None),
            StapleSigner::OtherCa(other) => (other.intermediate.issuer.key().sign(&signed)?, None),
            StapleSigner::Responder {
                for_ocsp,
                other_ca,
                expired,
            } => {
                let key = KeyPair::generate()?;
                let mut p = CertificateParams::default();
                let mut dn = DistinguishedName::new();
                dn.push(DnType::CommonName, "certsweep test OCSP responder");
                p.distinguished_name = dn;
                let now = OffsetDateTime::now_utc();
                (p.not_before, p.not_after) = match expired {
                    true => (
                        now - time::Duration::days(30),
                        now - time::Duration::days(1),
                    ),
                    false => (
                        now - time::Duration::days(1),
                        now + time::Duration::days(30),
                    ),
                };
                p.extended_key_usages = vec![if for_ocsp {
                    ExtendedKeyUsagePurpose::OcspSigning
                } else {
                    ExtendedKeyUsagePurpose::ServerAuth
                }];
                let ca = other_ca.unwrap_or(self);
                let cert = p.signed_by(&key, &ca.intermediate.issuer)?;
                let cert =
                    <x509_cert::Certificate as der::Decode>::from_der(cert.der()).map_err(bad)?;
                (key.sign(&signed)?, Some(vec![cert]))
            }
        };
        let basic = BasicOcspResponse {
            tbs_response_data: tbs,
            // ecdsa-with-SHA256: the fleet's keys are P-256.
            signature_algorithm: AlgorithmIdentifierOwned {
                oid: der::oid::ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2"),
                parameters: None,
            },
            signature: BitString::from_bytes(&signature).map_err(bad)?,
            certs,
        };
        OcspResponse::successful(basic)
            .and_then(|r| r.to_der())
            .map_err(bad)
    }
}

/// What a stapled OCSP response says ([`Pki::staple`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StapleSays {
    /// The certificate is good.
    Good,
    /// Revoked at this Unix time (reason keyCompromise).
    Revoked(i64),
    /// The responder does not know it.
    Unknown,
}

/// Who signs an OCSP response ([`Pki::staple_made`]).
#[derive(Debug, Clone, Copy)]
pub enum StapleSigner<'a> {
    /// The issuing intermediate itself.
    Issuer,
    /// A delegated responder, whose certificate the response carries: issued by the
    /// intermediate (or by `other_ca`'s), for OCSP signing or (not `for_ocsp`) for server
    /// authentication, valid now or (`expired`) no longer.
    Responder {
        /// Its extended key usage is OCSP signing.
        for_ocsp: bool,
        /// Issued by this other CA's intermediate instead.
        other_ca: Option<&'a Pki>,
        /// Its validity ended yesterday.
        expired: bool,
    },
    /// Another CA's intermediate key.
    OtherCa(&'a Pki),
}

/// How an OCSP response is made ([`Pki::staple_made`]).
#[derive(Debug, Clone)]
pub struct StapleSpec<'a> {
    /// What it says of the certificate.
    pub says: StapleSays,
    /// thisUpdate (and producedAt), Unix seconds.
    pub this_update: i64,
    /// nextUpdate, Unix seconds; none: a response without one.
    pub next_update: Option<i64>,
    /// Who signs it.
    pub signer: StapleSigner<'a>,
    /// The serial (integer bytes, DER) it speaks of instead of the leaf's.
    pub serial: Option<Vec<u8>>,
    /// Its CertID hashes by SHA-256 instead of SHA-1.
    pub sha256_id: bool,
    /// How many other certificates' answers come before this one's.
    pub others_first: usize,
    /// The SCTs its answer carries for the certificate (RFC 6962, 3.3: what a CA that
    /// logs at OCSP time staples), by log id as [`LeafSpec::sct_logs`].
    pub sct_logs: Vec<u8>,
}

impl<'a> StapleSpec<'a> {
    /// A response saying `says` from `this_update` to `next_update`, signed by `signer`,
    /// about the leaf's serial by SHA-1 hashes, alone.
    pub fn new(
        says: StapleSays,
        this_update: i64,
        next_update: i64,
        signer: StapleSigner<'a>,
    ) -> Self {
        StapleSpec {
            says,
            this_update,
            next_update: Some(next_update),
            signer,
            serial: None,
            sha256_id: false,
            others_first: 0,
            sct_logs: Vec::new(),
        }
    }
}

#[derive(Debug)]
struct SniMap {
    by_name: HashMap<String, Arc<CertifiedKey>>,
    default: Option<Arc<CertifiedKey>>,
}

impl ResolvesServerCert for SniMap {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        hello
            .server_name()
            .and_then(|n| self.by_name.get(n))
            .or(self.default.as_ref())
            .cloned()
    }
}

/// One certificate per key type: the first whose key can sign with a scheme the client
/// offers, as servers holding an RSA and an ECDSA certificate for one name choose.
#[derive(Debug)]
struct ByKeyType(Vec<Arc<CertifiedKey>>);

impl ResolvesServerCert for ByKeyType {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let offered = hello.signature_schemes();
        self.0
            .iter()
            .find(|k| k.key.choose_scheme(offered).is_some())
            .cloned()
    }
}

/// Serves `leaves`, one per key type, on `bind`: the one the client's signature schemes
/// allow, the first if both do.
pub async fn serve_tls_key_types(bind: SocketAddr, leaves: &[&Leaf]) -> Result<Server, FleetError> {
    let keys = leaves
        .iter()
        .map(|l| l.certified_key())
        .collect::<Result<Vec<_>, _>>()?;
    serve_resolved(bind, Arc::new(ByKeyType(keys)))
}

/// Serves TLS on `bind`, the certificate of each handshake chosen by `resolver`.
fn serve_resolved(
    bind: SocketAddr,
    resolver: Arc<dyn ResolvesServerCert>,
) -> Result<Server, FleetError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_cert_resolver(resolver);
    serve_config(listen(bind)?, config)
}

/// The nodes behind one address in turn, as a load balancer passing TLS through hands each
/// connection to the next node.
#[derive(Debug)]
struct RoundRobin {
    keys: Vec<Option<Arc<CertifiedKey>>>,
    next: std::sync::atomic::AtomicUsize,
}

impl ResolvesServerCert for RoundRobin {
    fn resolve(&self, _: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let n = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.keys.get(n % self.keys.len().max(1)).cloned().flatten()
    }
}

/// Serves `nodes` on `bind` in turn, one handshake each (the n-th gets `nodes[n % len]`): a
/// load balancer in TCP mode before nodes of which some kept an old certificate. `None` is
/// a node that refuses every handshake (an alert: its keystore could not be read).
pub async fn serve_tls_round_robin(
    bind: SocketAddr,
    nodes: &[Option<&Leaf>],
) -> Result<Server, FleetError> {
    let keys = nodes
        .iter()
        .map(|n| n.map(Leaf::certified_key).transpose())
        .collect::<Result<Vec<_>, _>>()?;
    serve_resolved(
        bind,
        Arc::new(RoundRobin {
            keys,
            next: Default::default(),
        }),
    )
}

/// A running server; stops when dropped.
#[derive(Debug)]
pub struct Server {
    /// Where it listens.
    pub addr: SocketAddr,
    task: JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Serves `default` (and `by_name` per SNI) on `bind`; `client_auth` demands a client
/// certificate issued by that root.
pub async fn serve_tls(
    bind: SocketAddr,
    default: &Leaf,
    by_name: &[(&str, &Leaf)],
    client_auth: Option<&CertificateDer<'static>>,
) -> Result<Server, FleetError> {
    serve_sni(bind, Some(default), by_name, client_auth)
}

/// Serves `by_name` per SNI only, as a CDN's edge does: a handshake without a name it holds
/// is refused (a handshake_failure alert).
pub async fn serve_tls_names_only(
    bind: SocketAddr,
    by_name: &[(&str, &Leaf)],
) -> Result<Server, FleetError> {
    serve_sni(bind, None, by_name, None)
}

/// Serves `by_name` per SNI only, as an Envoy proxy (Istio's and many other Kubernetes
/// gateways) does: a handshake without a name, which matches no filter chain, has its
/// connection closed without an alert.
pub async fn serve_tls_names_only_closing(
    bind: SocketAddr,
    by_name: &[(&str, &Leaf)],
) -> Result<Server, FleetError> {
    let config = Arc::new(sni_config(None, by_name, None)?);
    serve_each(listen(bind)?, move |tcp| {
        let config = config.clone();
        async move {
            let hello =
                tokio_rustls::LazyConfigAcceptor::new(rustls::server::Acceptor::default(), tcp);
            let Ok(start) = hello.await else {
                return;
            };
            // Dropping the connection unanswered closes it.
            if start.client_hello().server_name().is_some() {
                if let Ok(tls) = start.into_stream(config).await {
                    hold(tls).await;
                }
            }
        }
    })
}

fn serve_sni(
    bind: SocketAddr,
    default: Option<&Leaf>,
    by_name: &[(&str, &Leaf)],
    client_auth: Option<&CertificateDer<'static>>,
) -> Result<Server, FleetError> {
    serve_config(listen(bind)?, sni_config(default, by_name, client_auth)?)
}

fn sni_config(
    default: Option<&Leaf>,
    by_name: &[(&str, &Leaf)],
    client_auth: Option<&CertificateDer<'static>>,
) -> Result<ServerConfig, FleetError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut names = HashMap::new();
    for (n, l) in by_name {
        names.insert(n.to_string(), l.certified_key()?);
    }
    let resolver = Arc::new(SniMap {
        by_name: names,
        default: default.map(Leaf::certified_key).transpose()?,
    });
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()?;
    let config = match client_auth {
        Some(root) => {
            let mut roots = RootCertStore::empty();
            roots.add(root.clone())?;
            let v = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .map_err(|e| rustls::Error::General(e.to_string()))?;
            builder
                .with_client_cert_verifier(v)
                .with_cert_resolver(resolver)
        }
        None => builder.with_no_client_auth().with_cert_resolver(resolver),
    };
    Ok(config)
}

/// A listener with a deep accept queue: `TcpListener::bind` uses 128, which a sweep with
/// hundreds of connections in flight to one address overflows (a dropped SYN is retried
/// after a second), unlike the servers the fleet stands in for.
pub fn listen(bind: SocketAddr) -> Result<TcpListener, FleetError> {
    let socket = if bind.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(bind)?;
    Ok(socket.listen(1024)?)
}

/// Serves TLS with `config` on `listener`, holding each connection until the client goes.
/// For servers the fleet does not build itself (the DCV tests' ALPN responders).
pub fn serve_config(listener: TcpListener, config: ServerConfig) -> Result<Server, FleetError> {
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    serve_each(listener, move |tcp| {
        let acceptor = acceptor.clone();
        async move {
            if let Ok(tls) = acceptor.accept(tcp).await {
                hold(tls).await;
            }
        }
    })
}

/// Runs `each` on every connection `listener` accepts, each in a task of its own, until
/// the server is dropped.
fn serve_each<F, Fut>(listener: TcpListener, each: F) -> Result<Server, FleetError>
where
    F: Fn(TcpStream) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let addr = listener.local_addr()?;
    let task = tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                continue;
            };
            tokio::spawn(each(tcp));
        }
    });
    Ok(Server { addr, task })
}

/// Holds a connection until the client goes, as a real server would.
async fn hold(mut tls: tokio_rustls::server::TlsStream<TcpStream>) {
    let mut buf = [0u8; 256];
    while let Ok(n) = tls.read(&mut buf).await {
        if n == 0 {
            break;
        }
    }
}

/// Serves `leaf` behind SMTP's STARTTLS on `bind`: a greeting, an EHLO answer offering
/// STARTTLS, then TLS; each connection is held until the client goes. The demo's mail server.
pub async fn serve_smtp(bind: SocketAddr, name: &str, leaf: &Leaf) -> Result<Server, FleetError> {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(leaf.server_config()?));
    let greeting = format!("220 {name} ESMTP\r\n");
    let offer = format!("250-{name}\r\n250-8BITMIME\r\n250 STARTTLS\r\n");
    serve_each(listen(bind)?, move |tcp| {
        let (acceptor, greeting, offer) = (acceptor.clone(), greeting.clone(), offer.clone());
        async move {
            let mut s = BufReader::new(tcp);
            let mut line = String::new();
            let talked: std::io::Result<bool> = async {
                s.get_mut().write_all(greeting.as_bytes()).await?;
                s.read_line(&mut line).await?;
                if !line.to_ascii_uppercase().starts_with("EHLO ") {
                    s.get_mut().write_all(b"500 5.5.2 Error\r\n").await?;
                    return Ok(false);
                }
                s.get_mut().write_all(offer.as_bytes()).await?;
                line.clear();
                s.read_line(&mut line).await?;
                if !line.eq_ignore_ascii_case("STARTTLS\r\n") {
                    s.get_mut().write_all(b"502 5.5.1 Error\r\n").await?;
                    return Ok(false);
                }
                s.get_mut()
                    .write_all(b"220 2.0.0 Ready to start TLS\r\n")
                    .await?;
                // A client that sent its ClientHello early would have it read here.
                Ok(s.buffer().is_empty())
            }
            .await;
            if !matches!(talked, Ok(true)) {
                return;
            }
            if let Ok(mut tls) = acceptor.accept(s.into_inner()).await {
                let mut buf = [0u8; 256];
                while matches!(tls.read(&mut buf).await, Ok(n) if n > 0) {}
            }
        }
    })
}

/// A listener that accepts TCP and never says a word (a tarpit).
pub async fn serve_tarpit(bind: SocketAddr) -> Result<Server, FleetError> {
    serve_each(TcpListener::bind(bind).await?, |mut tcp| async move {
        let mut buf = [0u8; 1024];
        while let Ok(n) = tcp.read(&mut buf).await {
            if n == 0 {
                break;
            }
        }
    })
}

/// A load balancer in TCP mode on `bind`: the n-th connection goes to `nodes[n % len]`,
/// passed through byte for byte; `None` is a node that accepts and never answers (a hung
/// service behind the balancer).
pub async fn serve_balancer(
    bind: SocketAddr,
    nodes: Vec<Option<SocketAddr>>,
) -> Result<Server, FleetError> {
    let nodes = Arc::new(nodes);
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    serve_each(TcpListener::bind(bind).await?, move |mut tcp| {
        let n = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let node = nodes.get(n % nodes.len().max(1)).copied().flatten();
        async move {
            let Some(node) = node else {
                // Hung: reads and never answers, until the client goes.
                let mut buf = [0u8; 1024];
                while let Ok(n) = tcp.read(&mut buf).await {
                    if n == 0 {
                        break;
                    }
                }
                return;
            };
            if let Ok(mut up) = TcpStream::connect(node).await {
                let _ = tokio::io::copy_bidirectional(&mut tcp, &mut up).await;
            }
        }
    })
}

/// An appliance's self-signed certificate for `name` and the one it made itself since, the
/// same name with a new key: (old, new).
pub fn self_signed_anew(
    name: &str,
) -> Result<(rcgen::Certificate, rcgen::Certificate), FleetError> {
    let p = CertificateParams::new(vec![name.to_string()])?;
    Ok((
        p.self_signed(&KeyPair::generate()?)?,
        p.self_signed(&KeyPair::generate()?)?,
    ))
}

/// A port where nothing listens (connections are refused), held while this lives.
#[derive(Debug)]
pub struct Refused {
    /// The address to connect to.
    pub addr: SocketAddr,
    /// Bound and never listening: the kernel refuses connections to the port, and does not
    /// give it to a listener bound later (a port bound and freed could be).
    _socket: socket2::Socket,
}

/// A port on `ip` where nothing listens (connections are refused).
pub async fn refused_addr(ip: std::net::IpAddr) -> Result<Refused, FleetError> {
    let socket = socket2::Socket::new(
        socket2::Domain::for_address(SocketAddr::new(ip, 0)),
        socket2::Type::STREAM,
        Some(socket2::Protocol::TCP),
    )?;
    socket.bind(&SocketAddr::new(ip, 0).into())?;
    let addr = socket
        .local_addr()?
        .as_socket()
        .ok_or_else(|| std::io::Error::other("not an IP socket"))?;
    Ok(Refused {
        addr,
        _socket: socket,
    })
}

/// An address whose SYNs are dropped, so connecting times out: a listener with a full
/// accept queue that never accepts. This is what a firewalled address looks like, made on
/// loopback without privileges.
pub struct Blackhole {
    /// The address that does not answer.
    pub addr: SocketAddr,
    _listener: tokio::net::TcpListener,
    _fillers: Vec<TcpStream>,
}

impl std::fmt::Debug for Blackhole {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Blackhole")
            .field("addr", &self.addr)
            .finish()
    }
}

/// Makes a [`Blackhole`] on `ip`.
pub async fn blackhole(ip: std::net::IpAddr) -> Result<Blackhole, FleetError> {
    blackhole_at(SocketAddr::new(ip, 0)).await
}

/// Makes a [`Blackhole`] at `addr` (port 0: any free port).
pub async fn blackhole_at(addr: SocketAddr) -> Result<Blackhole, FleetError> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    socket.bind(addr)?;
    filled(socket.listen(0)?).await
}

/// Makes a [`Blackhole`] of a listener already bound, at its address: one of several that
/// share a port cannot be closed and bound again there without racing other binds (a
/// parallel test took the port in between).
pub async fn blackhole_of(listener: TcpListener) -> Result<Blackhole, FleetError> {
    let socket = socket2::Socket::from(listener.into_std()?);
    // On a listening socket, listen() sets the backlog anew.
    socket.listen(0)?;
    filled(TcpListener::from_std(socket.into())?).await
}

/// The blackhole of `listener`, whose backlog is the least.
async fn filled(listener: TcpListener) -> Result<Blackhole, FleetError> {
    let addr = listener.local_addr()?;
    let mut fillers = Vec::new();
    // Fill the accept queue; once full, the kernel drops further SYNs.
    for _ in 0..4 {
        match tokio::time::timeout(
            std::time::Duration::from_millis(200),
            TcpStream::connect(addr),
        )
        .await
        {
            Ok(Ok(s)) => fillers.push(s),
            _ => break,
        }
    }
    Ok(Blackhole {
        addr,
        _listener: listener,
        _fillers: fillers,
    })
}

/// A hyper HTTP/1.1 server on `listener` serving `files` by path (404 for the rest), and
/// how many times each path was asked for.
pub fn serve_files(
    listener: tokio::net::TcpListener,
    files: HashMap<String, Vec<u8>>,
) -> std::sync::Arc<std::sync::Mutex<HashMap<String, usize>>> {
    serve_files_moved(listener, files, HashMap::new())
}

/// [`serve_files`] answering the paths of `moved` with a redirect: its status (301, 302,
/// ...) and Location.
pub fn serve_files_moved(
    listener: tokio::net::TcpListener,
    files: HashMap<String, Vec<u8>>,
    moved: HashMap<String, (u16, String)>,
) -> std::sync::Arc<std::sync::Mutex<HashMap<String, usize>>> {
    use http_body_util::Full;
    let moved = std::sync::Arc::new(moved);
    let files = std::sync::Arc::new(files);
    let hits = std::sync::Arc::new(std::sync::Mutex::new(HashMap::new()));
    let counted = hits.clone();
    serve_http(listener, move |req| {
        let path = req.uri().path().to_string();
        *counted.lock().unwrap().entry(path.clone()).or_insert(0) += 1;
        let resp = match (files.get(&path), moved.get(&path)) {
            (_, Some((status, to))) => hyper::Response::builder()
                .status(*status)
                .header(hyper::header::LOCATION, to.as_str())
                .body(Full::new(bytes::Bytes::new()))
                .unwrap_or_default(),
            (Some(body), None) => hyper::Response::new(Full::new(bytes::Bytes::from(body.clone()))),
            (None, None) => hyper::Response::builder()
                .status(404)
                .body(Full::new(bytes::Bytes::new()))
                .unwrap(),
        };
        async move { resp }
    });
    hits
}

/// Serves HTTP/1.1 on `listener`, each request answered by `answer`.
fn serve_http<F, Fut>(listener: tokio::net::TcpListener, answer: F)
where
    F: Fn(hyper::Request<hyper::body::Incoming>) -> Fut + Clone + Send + Sync + 'static,
    Fut: std::future::Future<Output = hyper::Response<http_body_util::Full<bytes::Bytes>>>
        + Send
        + 'static,
{
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                continue;
            };
            let answer = answer.clone();
            tokio::spawn(async move {
                let svc = hyper::service::service_fn(move |req| {
                    let resp = answer(req);
                    async move { Ok::<_, std::convert::Infallible>(resp.await) }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(tcp), svc)
                    .await;
            });
        }
    });
}

/// An OCSP responder on `listener` (HTTP GET and POST, RFC 6960 A.1), as a CA runs one: it reads
/// each request and answers the first certificate it asks about with `answers`' response
/// for its serial (canonical hex), when its issuer name and key hashes are `issuer_sha1s`
/// (SHA-1, [`Pki::intermediate_sha1s`]); else it
/// answers `unauthorized`, as responders answer about certificates they do not serve.
pub fn serve_ocsp(
    listener: tokio::net::TcpListener,
    issuer_sha1s: IssuerHashes,
    answers: HashMap<String, Vec<u8>>,
) -> OcspServed {
    serve_ocsp_refusing(listener, issuer_sha1s, answers, None)
}

/// How a responder that takes only POST refuses a GET.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GetRefusal {
    /// HTTP 405 Method Not Allowed.
    MethodNotAllowed,
    /// OCSP's malformedRequest, with HTTP 200.
    Malformed,
}

/// [`serve_ocsp`], refusing every GET as `refusal` says (`None`: answering it).
pub fn serve_ocsp_refusing(
    listener: tokio::net::TcpListener,
    issuer_sha1s: IssuerHashes,
    answers: HashMap<String, Vec<u8>>,
    refusal: Option<GetRefusal>,
) -> OcspServed {
    use http_body_util::Full;
    use std::sync::atomic::Ordering;
    let answers = std::sync::Arc::new((issuer_sha1s, answers));
    let served = OcspServed::default();
    let counted = served.hits.clone();
    let (in_flight, peak) = (served.in_flight.clone(), served.peak.clone());
    serve_http(listener, move |req| {
        let answers = answers.clone();
        let counted = counted.clone();
        let in_flight = in_flight.clone();
        let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        peak.fetch_max(now, Ordering::SeqCst);
        async move {
            use http_body_util::BodyExt;
            let post = req.method() == hyper::Method::POST;
            let refused = refusal.filter(|_| !post);
            if refused.is_some() {
                *counted.lock().unwrap().entry("GET".into()).or_insert(0) += 1;
            }
            if refused == Some(GetRefusal::MethodNotAllowed) {
                in_flight.fetch_sub(1, Ordering::SeqCst);
                return hyper::Response::builder()
                    .status(hyper::StatusCode::METHOD_NOT_ALLOWED)
                    .body(Full::new(bytes::Bytes::new()))
                    .unwrap();
            }
            let asked = if refused.is_some() {
                None
            } else if post {
                let body = req.into_body().collect().await;
                body.ok().and_then(|b| ocsp_request_asked(&b.to_bytes()))
            } else {
                ocsp_asked(req.uri().path())
            };
            let (issuer, answers) = answers.as_ref();
            let body = match asked {
                Some((serial, hashes)) => {
                    let counted_as = match post {
                        true => format!("POST {serial}"),
                        false => serial.clone(),
                    };
                    *counted.lock().unwrap().entry(counted_as).or_insert(0) += 1;
                    match answers.get(&serial) {
                        Some(answer) if &hashes == issuer => answer.clone(),
                        _ => ocsp_error(x509_ocsp::OcspResponseStatus::Unauthorized),
                    }
                }
                None => ocsp_error(x509_ocsp::OcspResponseStatus::MalformedRequest),
            };
            in_flight.fetch_sub(1, Ordering::SeqCst);
            hyper::Response::builder()
                .header("content-type", "application/ocsp-response")
                .body(Full::new(bytes::Bytes::from(body)))
                .unwrap()
        }
    });
    served
}

/// What a test OCSP responder ([`serve_ocsp`]) was asked.
#[derive(Debug, Clone, Default)]
pub struct OcspServed {
    /// Requests by serial (canonical hex; `POST <serial>` for POSTs; `GET` for refused
    /// GETs).
    pub hits: std::sync::Arc<std::sync::Mutex<HashMap<String, usize>>>,
    /// Requests being answered now.
    in_flight: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    /// The most ever answered at once.
    pub peak: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

/// The SHA-1 hashes of an issuer's name and key that an OCSP request names it by.
pub type IssuerHashes = (Vec<u8>, Vec<u8>);

/// The serial (canonical hex) and issuer name and key hashes of the first certificate an
/// OCSP GET request's path asks about.
fn ocsp_asked(path: &str) -> Option<(String, IssuerHashes)> {
    let encoded = path.rsplit('/').next()?;
    let base64 = percent_encoding::percent_decode_str(encoded)
        .decode_utf8()
        .ok()?;
    let der = data_encoding::BASE64.decode(base64.as_bytes()).ok()?;
    ocsp_request_asked(&der)
}

/// The same of a DER OCSP request (a POST's body).
fn ocsp_request_asked(der: &[u8]) -> Option<(String, IssuerHashes)> {
    let request = <x509_ocsp::OcspRequest as der::Decode>::from_der(der).ok()?;
    let id = &request.tbs_request.request_list.first()?.req_cert;
    Some((
        crate::cert::canonical_serial_from_bytes(id.serial_number.as_bytes()),
        (
            id.issuer_name_hash.as_bytes().to_vec(),
            id.issuer_key_hash.as_bytes().to_vec(),
        ),
    ))
}

/// An OCSP response that is only an error status.
fn ocsp_error(status: x509_ocsp::OcspResponseStatus) -> Vec<u8> {
    der::Encode::to_der(&x509_ocsp::OcspResponse {
        response_status: status,
        response_bytes: None,
    })
    .unwrap_or_default()
}

/// What the engine records for `host` at `ip` when it presents a leaf with `serial` (the
/// canonical form), valid from `not_before` to `not_after` (unix seconds): an observation for
/// testing the verdicts without a sweep.
pub fn presenting(
    host: &str,
    ip: std::net::IpAddr,
    serial: &str,
    not_before: i64,
    not_after: i64,
) -> Box<crate::model::Observation> {
    use crate::model::{CertInfo, Observation};
    Box::new(Observation {
        ocsp: None,
        crl: None,
        ocsp_responder: None,
        previous: None,
        chain_expires: None,
        scan_time: "2026-06-01T00:00:00Z".into(),
        host: host.into(),
        ip: Some(ip),
        port: 443,
        sni: Some(host.into()),
        label: None,
        starttls: None,
        cert: Some(CertInfo {
            serial: serial.into(),
            serial_dec: String::new(),
            subject_cn: Some(host.into()),
            subject: format!("CN={host}"),
            sans: vec![host.into()],
            issuer: "CN=CA".into(),
            issuer_cn: Some("CA".into()),
            not_before: crate::timefmt::rfc3339_unix(not_before),
            not_after: crate::timefmt::rfc3339_unix(not_after),
            not_before_unix: not_before,
            not_after_unix: not_after,
            sha256: "00".repeat(32),
            sha1: "00".repeat(20),
            spki_sha256: "00".repeat(32),
            key_type: "EC".into(),
            key_bits: 256,
            key_curve: None,
            signature_algorithm: "ecdsa-with-SHA256".into(),
            must_staple: false,
            embedded_scts: None,
            key_usage: None,
            extended_key_usage: None,
        }),
        chain: Vec::new(),
        pem: None,
        tls: None,
        findings: Vec::new(),
        trust_detail: None,
        timings: Default::default(),
        error: None,
        attempts: 1,
        other_key: None,
        samples: None,
        dane: None,
    })
}
