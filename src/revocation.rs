//! What a certificate's revocation checks ask about it (`--crl`'s list in [`crate::crl`],
//! `--ocsp`'s responder in [`crate::ocsp`]): where to ask, and the issuer whose key signs
//! the answer.

use x509_parser::extensions::{DistributionPointName, GeneralName, ParsedExtension};
use x509_parser::oid_registry::OID_PKIX_ACCESS_DESCRIPTOR_OCSP;
use x509_parser::prelude::{FromDer, X509Certificate};

/// What a leaf's revocation checks need from the served chain, taken while its DER is at
/// hand.
#[derive(Debug, Clone)]
pub struct Query {
    /// The leaf's CRL distribution points, in its order.
    pub(crate) crl_urls: Vec<String>,
    /// Where its CA's delta CRLs are (the leaf's Freshest CRL extension), in its order.
    pub(crate) delta_urls: Vec<String>,
    /// The leaf's OCSP responders (its Authority Information Access), in its order.
    pub(crate) ocsp_urls: Vec<String>,
    /// The leaf's serial as the integer's bytes (no leading zeros).
    pub(crate) serial: Vec<u8>,
    /// The leaf's issuer name, DER.
    pub(crate) issuer_name: Vec<u8>,
    /// The issuer's public key (SubjectPublicKeyInfo, DER): from the served certificate
    /// named as the leaf's issuer, else from a trusted one (a root, a `--ca-file`
    /// intermediate the server does not send).
    pub(crate) issuer_key: Option<Vec<u8>>,
}

/// The Freshest CRL extension (RFC 5280 §4.2.1.15): where the CA's delta lists are.
const FRESHEST_CRL: &str = "2.5.29.46";

/// A DER integer's bytes without the leading zeros (a sign byte, or padding).
pub(crate) fn integer_slice(raw: &[u8]) -> &[u8] {
    let start = raw.iter().position(|b| *b != 0).unwrap_or(raw.len());
    &raw[start..]
}

impl Query {
    /// The query for `chain`'s leaf; `None` when the leaf cannot be read. `trusted_key`
    /// finds the key of the trusted certificate that issued the leaf when the chain lacks
    /// its issuer.
    pub fn of(
        chain: &[rustls::pki_types::CertificateDer<'_>],
        trusted_key: impl FnOnce(&X509Certificate<'_>) -> Option<Vec<u8>>,
    ) -> Option<Query> {
        let (_, leaf) = X509Certificate::from_der(chain.first()?).ok()?;
        Some(Query::of_leaf(&leaf, chain, trusted_key))
    }

    /// The query for `leaf`, already parsed, the first of `chain`.
    pub fn of_leaf(
        leaf: &X509Certificate<'_>,
        chain: &[rustls::pki_types::CertificateDer<'_>],
        trusted_key: impl FnOnce(&X509Certificate<'_>) -> Option<Vec<u8>>,
    ) -> Query {
        // One pass over the extensions for both: the CRL distribution points and the OCSP
        // responders of the Authority Information Access. URLs are shown in the reports:
        // a control character in one is written escaped (it is no usable URL either way).
        let (mut urls, mut ocsp_urls, mut delta_urls) = (Vec::new(), Vec::new(), Vec::new());
        let shown = |u: &str| crate::model::visible_string(u.to_string());
        for ext in leaf.extensions() {
            if ext.oid.to_id_string() == FRESHEST_CRL {
                delta_urls.extend(crate::crl::distribution_point_urls(ext.value));
                continue;
            }
            match ext.parsed_extension() {
                ParsedExtension::CRLDistributionPoints(points) => {
                    for p in points.iter() {
                        if let Some(DistributionPointName::FullName(names)) = &p.distribution_point
                        {
                            for n in names {
                                if let GeneralName::URI(u) = n {
                                    urls.push(shown(u));
                                }
                            }
                        }
                    }
                }
                ParsedExtension::AuthorityInfoAccess(aia) => {
                    for d in &aia.accessdescs {
                        if let (true, GeneralName::URI(u)) = (
                            d.access_method == OID_PKIX_ACCESS_DESCRIPTOR_OCSP,
                            &d.access_location,
                        ) {
                            ocsp_urls.push(shown(u));
                        }
                    }
                }
                _ => {}
            }
        }
        let issuer_name = leaf.issuer().as_raw().to_vec();
        if urls.is_empty() && ocsp_urls.is_empty() {
            // Nothing to ask, so no key to find (most private CAs' leaves).
            return Query {
                crl_urls: urls,
                delta_urls,
                ocsp_urls,
                serial: Vec::new(),
                issuer_name,
                issuer_key: None,
            };
        }
        let served = served_issuer(leaf, chain).map(|x| x.public_key().raw.to_vec());
        let issuer_key = served.or_else(|| trusted_key(leaf));
        Query {
            crl_urls: urls,
            delta_urls,
            ocsp_urls,
            serial: integer_slice(leaf.raw_serial()).to_vec(),
            issuer_name,
            issuer_key,
        }
    }
}

/// The certificate of `chain` (after the leaf) that issued `leaf`: the one named as its
/// issuer, and of several so named (a CA renewed with a new key, as AD CS renews, both
/// copies sent) the one whose key identifier the leaf names as its authority's; without
/// identifiers to tell them apart, the first.
pub(crate) fn served_issuer<'a>(
    leaf: &X509Certificate<'_>,
    chain: &'a [rustls::pki_types::CertificateDer<'_>],
) -> Option<X509Certificate<'a>> {
    let mut named: Vec<X509Certificate<'a>> = chain
        .iter()
        .skip(1)
        .filter_map(|c| X509Certificate::from_der(c).ok().map(|(_, x)| x))
        .filter(|x| x.subject().as_raw() == leaf.issuer().as_raw())
        .collect();
    if named.len() > 1 {
        let authority = crate::cert::authority_key_id(leaf);
        let names_key = |x: &X509Certificate<'_>| {
            authority.is_some() && crate::cert::subject_key_id(x) == authority
        };
        if let Some(i) = named.iter().position(names_key) {
            return Some(named.swap_remove(i));
        }
    }
    named.into_iter().next()
}
