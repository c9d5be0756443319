//! TLS-ALPN-01 (RFC 8737): the server must negotiate `acme-tls/1` on port 443 and present a
//! self-signed certificate for exactly the one name, with the critical acmeIdentifier
//! extension holding SHA-256 of the key authorization.

use super::{Check, Evidence};
use crate::engine::handshake::{probe, Timeouts, TlsClient};
use crate::model::ErrorClass;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;
use x509_parser::prelude::*;

/// The ALPN protocol id of the challenge.
pub const ACME_TLS_1: &[u8] = b"acme-tls/1";
const ACME_IDENTIFIER_OID: &str = "1.3.6.1.5.5.7.1.31";

/// Probes every address and judges what each presented.
pub async fn check_address(
    tls: &TlsClient,
    name: &str,
    ip: IpAddr,
    port: u16,
    timeout: Duration,
    key_authorization: Option<&str>,
    out: &mut Vec<Check>,
) -> Evidence {
    let at = ip.to_string();
    let attempt = probe(
        tls,
        SocketAddr::new(ip, port),
        Some(name),
        None,
        Timeouts::all(timeout),
    )
    .await;
    let ev = |result: String| Evidence {
        at: at.clone(),
        result,
        hops: vec![],
    };
    if let Some(err) = &attempt.error {
        if err.is_no_route() {
            // This host cannot reach the address at all (no IPv6 here): the CA can, so
            // nothing is known of the server there.
            out.push(Check::unknown(
                "no_route_from_here",
                format!(
                    "[{at}] not tried: {}; check from a host that has it",
                    crate::model::NO_ROUTE
                ),
            ));
            return ev("no_route_from_here".to_string());
        }
        let (id, text) = match err.class {
            ErrorClass::ConnectTimeout => ("tls_unreachable", format!("Timeout during connect to port {port} (likely firewall problem)")),
            ErrorClass::ConnectRefused => ("tls_unreachable", format!("Connection refused on port {port}")),
            ErrorClass::ConnectError => ("tls_unreachable", err.message.clone()),
            _ if err.message.contains("NoApplicationProtocol") => (
                "alpn_not_negotiated",
                "the server refused ALPN \"acme-tls/1\" (no_application_protocol): the TLS-ALPN-01 responder is not active here".to_string(),
            ),
            _ => ("tls_handshake_failed", err.message.clone()),
        };
        out.push(Check::error(id, format!("[{at}] {text}")));
        return ev(id.to_string());
    }
    let negotiated = attempt.tls.as_ref().and_then(|t| t.alpn.clone());
    if negotiated.as_deref().map(str::as_bytes) != Some(ACME_TLS_1) {
        out.push(Check::error(
            "alpn_not_negotiated",
            format!(
                "[{at}] the server did not negotiate ALPN \"acme-tls/1\" (got {}): a normal web server or a TLS-terminating proxy answers here, not the challenge responder",
                negotiated.as_deref().unwrap_or("none")
            ),
        ));
        return ev("alpn_not_negotiated".into());
    }
    let Some(leaf) = attempt.chain.first() else {
        out.push(Check::error(
            "tls_handshake_failed",
            format!("[{at}] no certificate presented"),
        ));
        return ev("no certificate".into());
    };
    let Some(ka) = key_authorization else {
        out.push(Check::info(
            "alpn_cert_not_judged",
            format!("[{at}] acme-tls/1 is negotiated; the certificate is not judged (no key authorization given)"),
        ));
        return ev("acme-tls/1 negotiated".into());
    };
    let before = out.len();
    judge_certificate(leaf.as_ref(), name, ka, &at, out);
    if out.len() == before {
        ev("acme-tls/1 negotiated, certificate matches".into())
    } else {
        ev("acme-tls/1 negotiated, certificate wrong".into())
    }
}

/// The RFC 8737 §3 rules for the challenge certificate.
pub fn judge_certificate(
    der: &[u8],
    name: &str,
    key_authorization: &str,
    at: &str,
    out: &mut Vec<Check>,
) {
    let cert = match parse_x509_certificate(der) {
        Ok((_, c)) => c,
        Err(e) => {
            out.push(Check::error(
                "alpn_cert_invalid",
                format!("[{at}] the certificate does not parse: {e}"),
            ));
            return;
        }
    };
    let self_signed =
        cert.subject().as_raw() == cert.issuer().as_raw() && cert.verify_signature(None).is_ok();
    if !self_signed {
        out.push(Check::error(
            "alpn_cert_invalid",
            format!(
                "[{at}] the challenge certificate is not self-signed (issuer {})",
                cert.issuer()
            ),
        ));
    }
    let names: Vec<String> = match cert.subject_alternative_name() {
        Ok(Some(san)) => san
            .value
            .general_names
            .iter()
            .map(|g| match g {
                GeneralName::DNSName(d) => d.to_ascii_lowercase(),
                other => format!("{other:?}"),
            })
            .collect(),
        _ => vec![],
    };
    if names.len() != 1 || names[0] != name.to_ascii_lowercase() {
        out.push(Check::error(
            "alpn_cert_invalid",
            format!(
                "[{at}] the challenge certificate must name exactly {name}, it names [{}]",
                names.join(", ")
            ),
        ));
    }
    let mut oids = std::collections::HashSet::new();
    for ext in cert.extensions() {
        if !oids.insert(ext.oid.to_id_string()) {
            out.push(Check::error(
                "alpn_cert_invalid",
                format!(
                    "[{at}] the challenge certificate repeats extension {}",
                    ext.oid.to_id_string()
                ),
            ));
        }
    }
    let ident = cert
        .extensions()
        .iter()
        .find(|e| e.oid.to_id_string() == ACME_IDENTIFIER_OID);
    let digest = ring::digest::digest(&ring::digest::SHA256, key_authorization.as_bytes());
    let mut want = vec![0x04, 0x20];
    want.extend_from_slice(digest.as_ref());
    match ident {
        None => out.push(Check::error(
            "alpn_cert_invalid",
            format!("[{at}] the challenge certificate has no acmeIdentifier extension ({ACME_IDENTIFIER_OID})"),
        )),
        Some(e) if !e.critical => out.push(Check::error(
            "alpn_cert_invalid",
            format!("[{at}] the acmeIdentifier extension is not marked critical"),
        )),
        Some(e) if e.value != want.as_slice() => out.push(Check::error(
            "alpn_digest_mismatch",
            format!("[{at}] the acmeIdentifier digest is not SHA-256 of the key authorization: the responder serves another challenge (stale or for another order)"),
        )),
        Some(_) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rcgen::{CertificateParams, CustomExtension, IsCa, Issuer, KeyPair, SanType};

    const ACME_ID: &[u64] = &[1, 3, 6, 1, 5, 5, 7, 1, 31];

    /// What the acmeIdentifier extension of a generated certificate is.
    #[derive(Debug, Clone, Copy, PartialEq)]
    enum Ident {
        Right,
        WrongDigest,
        NotCritical,
        Missing,
        Twice,
    }

    #[test]
    fn generated_challenge_certificates_are_judged_as_the_ca_judges_them() {
        let name = "alpn.example.com";
        let key_auth = "token.thumbprint";
        let digest = |ka: &str| {
            ring::digest::digest(&ring::digest::SHA256, ka.as_bytes())
                .as_ref()
                .to_vec()
        };
        let ca_key = KeyPair::generate().unwrap();
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let ca = Issuer::new(ca_params, ca_key);
        let mut seen = std::collections::HashMap::new();
        for round in 1..=200u64 {
            let mut rng = crate::testrng::XorShift::new(round ^ 0xa1b2_c3d4);
            // The names: the identifier alone (in any case), another, both, none, or the
            // identifier beside an address.
            let names = rng.below(6);
            let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
            let dns = |n: &str| SanType::DnsName(n.try_into().unwrap());
            params.subject_alt_names = match names {
                0 | 1 => vec![dns(name)],
                2 => vec![dns("ALPN.Example.COM")],
                3 => vec![dns("other.example.com")],
                4 => vec![dns(name), dns("www.example.com")],
                _ => vec![dns(name), SanType::IpAddress([127, 0, 0, 1].into())],
            };
            let ident = [
                Ident::Right,
                Ident::Right,
                Ident::WrongDigest,
                Ident::NotCritical,
                Ident::Missing,
                Ident::Twice,
            ][rng.below(6) as usize];
            let value = |d: Vec<u8>| {
                let mut v = vec![0x04, 0x20];
                v.extend(d);
                v
            };
            match ident {
                Ident::Right => params
                    .custom_extensions
                    .push(CustomExtension::new_acme_identifier(&digest(key_auth))),
                Ident::WrongDigest => params
                    .custom_extensions
                    .push(CustomExtension::new_acme_identifier(&digest("stale"))),
                Ident::NotCritical => {
                    let mut e = CustomExtension::from_oid_content(ACME_ID, value(digest(key_auth)));
                    e.set_criticality(false);
                    params.custom_extensions.push(e);
                }
                Ident::Missing => {}
                Ident::Twice => {
                    for _ in 0..2 {
                        params
                            .custom_extensions
                            .push(CustomExtension::new_acme_identifier(&digest(key_auth)));
                    }
                }
            }
            // Another extension twice, now and then.
            let repeated = rng.below(6) == 0;
            if repeated {
                for _ in 0..2 {
                    params
                        .custom_extensions
                        .push(CustomExtension::from_oid_content(
                            &[1, 2, 3, 4],
                            vec![0x05, 0x00],
                        ));
                }
            }
            let self_signed = rng.below(4) != 0;
            let key = KeyPair::generate().unwrap();
            let cert = match self_signed {
                true => params.self_signed(&key),
                false => params.signed_by(&key, &ca),
            }
            .unwrap();

            // RFC 8737 section 3 as boulder checks it, apart: self-signed; exactly one
            // name, a DNS name equal to the identifier (case aside); no extension twice;
            // the acmeIdentifier present, critical, and SHA-256 of the key authorization.
            let mut want = std::collections::BTreeSet::new();
            if !self_signed || !matches!(names, 0..=2) || repeated || ident == Ident::Twice {
                want.insert("alpn_cert_invalid");
            }
            match ident {
                Ident::Missing | Ident::NotCritical => {
                    want.insert("alpn_cert_invalid");
                }
                Ident::WrongDigest => {
                    want.insert("alpn_digest_mismatch");
                }
                Ident::Right | Ident::Twice => {}
            }
            let mut out = Vec::new();
            judge_certificate(cert.der(), name, key_auth, "127.0.0.1", &mut out);
            let got: std::collections::BTreeSet<&str> = out.iter().map(|c| c.id).collect();
            assert_eq!(
                got, want,
                "round {round}: names {names}, {ident:?}, repeated {repeated}, self-signed {self_signed}: {out:?}"
            );
            *seen
                .entry(want.into_iter().collect::<Vec<_>>())
                .or_insert(0) += 1;
        }
        for outcome in [
            vec![],
            vec!["alpn_cert_invalid"],
            vec!["alpn_digest_mismatch"],
            vec!["alpn_cert_invalid", "alpn_digest_mismatch"],
        ] {
            assert!(
                seen.get(&outcome).is_some_and(|n| *n >= 3),
                "{outcome:?}: {seen:?}"
            );
        }
    }
}
