//! dns-persist-01 (draft-ietf-acme-dns-persist): one standing TXT record at
//! `_validation-persist.<name>` that names the CA (an RFC 8659 issuer-domain-name) and the
//! ACME account allowed to order, instead of a fresh value per order. The record is read the
//! way Let's Encrypt's validation authority (boulder's `dns_persist.go`) reads it: the
//! strings of one record joined; `issuer; tag=value; ...` with `accounturi` required and
//! compared exactly, `policy=wildcard` (any case) needed for a wildcard name, `persistUntil`
//! (Unix seconds) after which the record no longer counts, unknown tags ignored, a tag twice
//! malformed. A record for another CA is skipped; a malformed one for this CA is the reason
//! given before the others. Like DNS-01, every authoritative nameserver address is asked,
//! so a record that reached only some of them is caught.

use super::caa::CaIdentity;
use super::dns::Recursive;
use super::dns01::{gather, TxtSeen};
use super::ident::Ident;
use super::{short, shortened, Check, Evidence};
use std::collections::BTreeSet;

/// The label the record lives under.
pub const PREFIX: &str = "_validation-persist";

/// How much of a record a sentence or the evidence quotes: the issuer, an account URI and
/// the policy and persistUntil after it.
const WIDTH: usize = 160;

/// A record within this many seconds of its `persistUntil` is warned about: renewals after
/// that date fail, and the point of a standing record is that nobody watches it.
const EXPIRING_SECONDS: i64 = 30 * 86_400;

/// One parsed record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// The issuer-domain-name, normalised (lower case, A-labels, no trailing dot).
    pub issuer: String,
    /// `accounturi`: the ACME account allowed to order.
    pub account_uri: String,
    /// `policy`, as written (only `wildcard`, in any case, means anything).
    pub policy: Option<String>,
    /// `persistUntil`, Unix seconds.
    pub persist_until: Option<i64>,
}

/// Why a record could not be read: with the issuer when that part could be, so a malformed
/// record for this CA is told apart from one for another CA.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Malformed {
    /// The normalised issuer-domain-name, when it was readable.
    pub issuer: Option<String>,
    /// What is wrong.
    pub why: String,
}

fn is_wsp(c: char) -> bool {
    c == ' ' || c == '\t'
}

/// Normalises an issuer-domain-name as the draft recommends: lower case, A-labels, no
/// trailing dot, at most 253 octets.
pub fn normalize_issuer(raw: &str) -> Result<String, String> {
    let lower = raw.to_lowercase();
    let ascii = idna::domain_to_ascii(&lower)
        .map_err(|_| format!("issuer-domain-name \"{}\" is not a domain name", short(raw)))?;
    let name = ascii.strip_suffix('.').unwrap_or(&ascii).to_string();
    if name.is_empty() {
        return Err("empty issuer-domain-name".into());
    }
    if name.split('.').any(str::is_empty) {
        return Err(format!(
            "issuer-domain-name \"{}\" has an empty label",
            short(raw)
        ));
    }
    if name.len() > 253 {
        return Err(format!(
            "issuer-domain-name is {} octets long (at most 253)",
            name.len()
        ));
    }
    Ok(name)
}

/// A record as a sentence or the evidence quotes it: to its policy and persistUntil, after an
/// account URI of some 50 characters.
pub fn quoted(text: &str) -> String {
    format!("\"{}\"", shortened(text, WIDTH))
}

/// Parses one record's text (its strings joined).
pub fn parse(text: &str) -> Result<Record, Malformed> {
    let mut parts = text.split(';');
    let raw_issuer = parts.next().unwrap_or_default().trim_matches(is_wsp);
    if raw_issuer.is_empty() {
        return Err(Malformed {
            issuer: None,
            why: "empty issuer-domain-name".into(),
        });
    }
    let issuer = normalize_issuer(raw_issuer).map_err(|why| Malformed { issuer: None, why })?;
    let bad = |why: String| Malformed {
        issuer: Some(issuer.clone()),
        why,
    };
    let mut account_uri: Option<String> = None;
    let mut policy: Option<String> = None;
    let mut persist_until: Option<i64> = None;
    for param in parts {
        let param = param.trim_matches(is_wsp);
        if param.is_empty() {
            return Err(bad("an empty parameter or a trailing semicolon".into()));
        }
        let Some((tag, value)) = param.split_once('=') else {
            return Err(bad(format!(
                "parameter \"{}\" is not tag=value",
                short(param)
            )));
        };
        let (tag, value) = (tag.trim_matches(is_wsp), value.trim_matches(is_wsp));
        if tag.is_empty() {
            return Err(bad(format!("parameter \"{}\" has no tag", short(param))));
        }
        // RFC 8659 values: printable ASCII without spaces or semicolons.
        if !value.chars().all(|c| ('\x21'..='\x7e').contains(&c)) {
            return Err(bad(format!(
                "the value of {tag} holds a space, a control or a non-ASCII character"
            )));
        }
        let twice = || bad(format!("{tag} given twice"));
        // Tags match without regard to case (RFC 8659).
        match tag.to_ascii_lowercase().as_str() {
            "accounturi" => {
                if account_uri.is_some() {
                    return Err(twice());
                }
                if value.is_empty() {
                    return Err(bad("accounturi is empty".into()));
                }
                account_uri = Some(value.to_string());
            }
            "policy" => {
                if policy.is_some() {
                    return Err(twice());
                }
                policy = Some(value.to_string());
            }
            "persistuntil" => {
                if persist_until.is_some() {
                    return Err(twice());
                }
                let t = value.parse::<i64>().map_err(|_| {
                    bad(format!(
                        "persistUntil \"{}\" is not a Unix time in seconds",
                        short(value)
                    ))
                })?;
                persist_until = Some(t);
            }
            // The draft: unknown tags are ignored (room for later parameters).
            _ => {}
        }
    }
    let Some(account_uri) = account_uri else {
        return Err(bad("accounturi, which is required, is missing".into()));
    };
    Ok(Record {
        issuer,
        account_uri,
        policy,
        persist_until,
    })
}

/// What one set of TXT values (one nameserver's, or the resolver's) says for an order.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Judged {
    /// A record authorises it; `persist_until` is that record's.
    Authorises { persist_until: Option<i64> },
    /// Nothing there authorises it: the finding that says why.
    Refused(Check),
}

/// Why a record of this CA does not authorise the order.
enum Refusal {
    Account,
    Wildcard,
    Expired,
}

/// What an order needs from the records.
struct Want<'a> {
    /// The CA's issuer domains (normalised); empty: any CA's record counts.
    issuers: Vec<String>,
    /// The account that will order; `None`: any account counts.
    account: Option<&'a str>,
    wildcard: bool,
    now: i64,
}

fn judge(values: &BTreeSet<String>, want: &Want<'_>, at: &str) -> Judged {
    if values.is_empty() {
        return Judged::Refused(Check::error(
            "txt_absent",
            format!("No TXT record found at {at}: place the dns-persist-01 record there"),
        ));
    }
    let ours = |issuer: &str| want.issuers.is_empty() || want.issuers.iter().any(|i| i == issuer);
    let mut malformed = Vec::new();
    let mut refused = Vec::new();
    // The latest persistUntil among the records that authorise the order (inner `None`:
    // one has none).
    let mut authorising: Option<Option<i64>> = None;
    let mut others = BTreeSet::new();
    for text in values {
        let record = match parse(text) {
            Ok(r) => r,
            Err(m) => {
                if m.issuer.as_deref().is_some_and(ours) {
                    malformed.push(format!("{}: {}", quoted(text), m.why));
                }
                continue;
            }
        };
        if !ours(&record.issuer) {
            others.insert(record.issuer);
            continue;
        }
        if let Some(a) = want.account {
            // Simple string comparison (RFC 3986 §6.2.1), as the draft asks.
            if record.account_uri != a {
                refused.push((
                    Refusal::Account,
                    format!(
                        "the record names account {} where {a} will order",
                        shortened(&record.account_uri, WIDTH)
                    ),
                ));
                continue;
            }
        }
        if want.wildcard
            && !record
                .policy
                .as_deref()
                .is_some_and(|p| p.eq_ignore_ascii_case("wildcard"))
        {
            refused.push((
                Refusal::Wildcard,
                format!(
                    "the record has {} where a wildcard certificate needs policy=wildcard",
                    match &record.policy {
                        Some(p) => format!("policy={}", short(p)),
                        None => "no policy".into(),
                    }
                ),
            ));
            continue;
        }
        if let Some(until) = record.persist_until.filter(|u| want.now > *u) {
            refused.push((
                Refusal::Expired,
                format!(
                    "the record's persistUntil passed on {}",
                    crate::timefmt::rfc3339_unix(until)
                ),
            ));
            continue;
        }
        // Of several records that authorise it, the one that lasts longest says when
        // validation starts to fail (none without a persistUntil).
        authorising = Some(match (authorising, record.persist_until) {
            (Some(None), _) | (_, None) => None,
            (Some(Some(a)), Some(b)) => Some(a.max(b)),
            (None, b) => b,
        });
    }
    if let Some(persist_until) = authorising {
        return Judged::Authorises { persist_until };
    }
    if !malformed.is_empty() {
        return Judged::Refused(Check::error(
            "dns_persist_malformed",
            format!(
                "the dns-persist-01 record at {at} cannot be read: {}; fix its syntax",
                malformed.join("; ")
            ),
        ));
    }
    if let Some((first, _)) = refused.first() {
        let why: Vec<&str> = refused.iter().map(|(_, w)| w.as_str()).collect();
        let why = format!(
            "no record at {at} authorises this order: {}",
            why.join("; ")
        );
        // Named after the first record's fault; the sentence gives every record's.
        return Judged::Refused(match first {
            Refusal::Account => Check::error(
                "dns_persist_account_mismatch",
                format!("{why}; put the ordering account's URI in accounturi"),
            ),
            Refusal::Wildcard => Check::error(
                "dns_persist_not_wildcard",
                format!("{why}; add policy=wildcard to the record"),
            ),
            Refusal::Expired => Check::error(
                "dns_persist_expired",
                format!("{why}; raise persistUntil or remove it"),
            ),
        });
    }
    let named: Vec<&str> = others.iter().map(String::as_str).collect();
    let what = if named.is_empty() {
        format!("the TXT records at {at} are no dns-persist-01 records")
    } else {
        format!(
            "the dns-persist-01 records at {at} name {}",
            named.join(", ")
        )
    };
    let message = match want.issuers.first() {
        Some(first) => format!(
            "{what}, not {}: add a record naming {first}",
            want.issuers.join(" or ")
        ),
        None => format!("{what}: add one naming the CA"),
    };
    Judged::Refused(Check::error("dns_persist_other_ca", message))
}

/// Runs the dns-persist-01 checks for `ident`: `ca` names the CA and (when known) the
/// account; `account` overrides its account (the input row's `expected` column); `now` is
/// the validation time in Unix seconds.
#[allow(clippy::too_many_arguments)]
pub async fn check(
    dns: &Recursive,
    ident: &Ident,
    ca: &CaIdentity,
    account: Option<&str>,
    now: i64,
    ns_port: u16,
    exclude: Option<&crate::engine::exclude::Exclusions>,
    out: &mut Vec<Check>,
) -> Vec<Evidence> {
    let Some(TxtSeen {
        target_shown,
        zone_shown,
        recursive,
        per_ns,
        evidence,
    }) = gather(
        dns,
        &format!("{PREFIX}.{}", ident.base),
        true,
        super::Method::DnsPersist01,
        ns_port,
        exclude,
        out,
    )
    .await
    else {
        return Vec::new();
    };
    let issuers: Vec<String> = ca
        .domains
        .iter()
        .filter_map(|d| normalize_issuer(d).ok())
        .collect();
    let want = Want {
        issuers,
        account: account.or(ca.account_uri.as_deref()),
        wildcard: ident.wildcard,
        now,
    };
    // Nothing could be asked directly: what the resolver saw speaks for the zone.
    let sets: Vec<(&str, &BTreeSet<String>)> = if per_ns.is_empty() {
        vec![("the recursive resolver", &recursive)]
    } else {
        per_ns.iter().map(|(a, v)| (a.as_str(), v)).collect()
    };
    let judged: Vec<(&str, Judged)> = sets
        .iter()
        .map(|(a, v)| (*a, judge(v, &want, &target_shown)))
        .collect();
    let authorising: Vec<(&str, Option<i64>)> = judged
        .iter()
        .filter_map(|(a, j)| match j {
            Judged::Authorises { persist_until } => Some((*a, *persist_until)),
            Judged::Refused(..) => None,
        })
        .collect();
    if authorising.is_empty() {
        // Every nameserver refuses: the first one's reason (they mostly agree; where they
        // do not, the SOA serials above said so).
        if let Some((_, Judged::Refused(check))) = judged.first() {
            out.push(check.clone());
        }
    } else if authorising.len() < judged.len() {
        let missing: Vec<&str> = judged
            .iter()
            .filter(|(_, j)| matches!(j, Judged::Refused(..)))
            .map(|(a, _)| *a)
            .collect();
        out.push(Check::error(
            "txt_not_propagated",
            format!(
                "the dns-persist-01 record is on {} of {} nameserver addresses of {zone_shown}; missing or different on {}: the CA may ask one of those",
                authorising.len(),
                judged.len(),
                missing.join(", ")
            ),
        ));
    }
    // The soonest end among the authorising answers is when validation starts to fail.
    if let Some(until) = authorising.iter().filter_map(|(_, u)| *u).min() {
        if until - now <= EXPIRING_SECONDS {
            out.push(Check::warning(
                "dns_persist_expiring",
                format!(
                    "the record at {target_shown} stops authorising orders on {}: renewals after it fail; raise persistUntil",
                    crate::timefmt::rfc3339_unix(until)
                ),
            ));
        }
    }
    if !authorising.is_empty() && (want.issuers.is_empty() || want.account.is_none()) {
        out.push(Check::info(
            "dns_persist_not_judged",
            format!(
                "{target_shown} has a dns-persist-01 record; its {} not compared (give {})",
                match (want.issuers.is_empty(), want.account.is_none()) {
                    (true, true) => "CA and account were",
                    (true, false) => "CA was",
                    _ => "account was",
                },
                match (want.issuers.is_empty(), want.account.is_none()) {
                    (true, true) => "--ca-domain and --account-uri",
                    (true, false) => "--ca-domain",
                    _ => "--account-uri or the row's expected column",
                }
            ),
        ));
    }
    evidence
}

#[cfg(test)]
mod tests {
    use super::*;

    const LE: &str = "letsencrypt.org";
    const ACCT: &str = "https://acme-v02.api.letsencrypt.org/acme/acct/1234";

    fn want(wildcard: bool, now: i64) -> Want<'static> {
        Want {
            issuers: vec![LE.into()],
            account: Some(ACCT),
            wildcard,
            now,
        }
    }

    fn set(values: &[&str]) -> BTreeSet<String> {
        values.iter().map(|s| s.to_string()).collect()
    }

    fn id(values: &[&str], w: &Want<'_>) -> &'static str {
        match judge(&set(values), w, "_validation-persist.example.com") {
            Judged::Authorises { .. } => "authorises",
            Judged::Refused(c) => c.id,
        }
    }

    #[test]
    fn a_record_is_read_as_the_draft_writes_it() {
        let r = parse(&format!(
            " LetsEncrypt.ORG. ;accounturi={ACCT} ; Policy=WILDCARD; persistUntil=1767225600; future=x"
        ))
        .unwrap();
        assert_eq!(r.issuer, LE);
        assert_eq!(r.account_uri, ACCT);
        assert_eq!(r.policy.as_deref(), Some("WILDCARD"));
        assert_eq!(r.persist_until, Some(1_767_225_600));
        assert_eq!(
            parse("bücher.example; accounturi=x").unwrap().issuer,
            "xn--bcher-kva.example"
        );
    }

    #[test]
    fn malformed_records_say_why_and_keep_their_issuer() {
        for (text, why) in [
            (
                "letsencrypt.org",
                "accounturi, which is required, is missing",
            ),
            (
                "letsencrypt.org;",
                "an empty parameter or a trailing semicolon",
            ),
            ("letsencrypt.org; accounturi", "is not tag=value"),
            (
                "letsencrypt.org; accounturi=a; accounturi=b",
                "accounturi given twice",
            ),
            ("letsencrypt.org; accounturi=", "accounturi is empty"),
            ("letsencrypt.org; accounturi=a b", "holds a space"),
            (
                "letsencrypt.org; accounturi=a; persistUntil=soon",
                "is not a Unix time",
            ),
            ("letsencrypt.org; =x; accounturi=a", "has no tag"),
        ] {
            let m = parse(text).unwrap_err();
            assert_eq!(m.issuer.as_deref(), Some(LE), "{text}");
            assert!(m.why.contains(why), "{text}: {}", m.why);
        }
        assert_eq!(parse(" ; accounturi=a").unwrap_err().issuer, None);
        assert_eq!(parse("a..b; accounturi=a").unwrap_err().issuer, None);
    }

    #[test]
    fn any_record_text_is_read_or_refused_with_a_reason() {
        // TXT records are anyone's text: pieces of the syntax in any order, with spaces,
        // controls, non-ASCII letters and numbers out of range, must never stop the check.
        const PIECES: [&str; 16] = [
            "letsencrypt.org",
            ";",
            "=",
            " ",
            "\t",
            "accounturi",
            "policy",
            "wildcard",
            "persistUntil",
            "99999999999999999999",
            "-1",
            "é",
            "\u{0}",
            "..",
            "xn--",
            "https://a/b",
        ];
        let mut rng = crate::testrng::XorShift::new(0xD1B5_4A32_D192_ED03);
        let w = want(true, 1_800_000_000);
        for _ in 0..20_000 {
            let n = 1 + rng.below(12) as usize;
            let text: String = (0..n).map(|_| PIECES[rng.below(16) as usize]).collect();
            match parse(&text) {
                Ok(r) => assert!(
                    !r.issuer.is_empty() && !r.account_uri.is_empty(),
                    "{text:?}"
                ),
                Err(m) => assert!(!m.why.is_empty(), "{text:?}"),
            }
            let _ = judge(&set(&[&text]), &w, "_validation-persist.example.com");
        }
    }

    #[test]
    fn the_verdict_follows_the_validation_authority() {
        let now = 1_800_000_000;
        let good = format!("letsencrypt.org; accounturi={ACCT}");
        assert_eq!(id(&[&good], &want(false, now)), "authorises");
        // A wildcard needs the policy; any case of it.
        assert_eq!(id(&[&good], &want(true, now)), "dns_persist_not_wildcard");
        let wild = format!("letsencrypt.org; accounturi={ACCT}; policy=Wildcard");
        assert_eq!(id(&[&wild], &want(true, now)), "authorises");
        // The account is compared exactly: no case folding.
        let upper = format!("letsencrypt.org; accounturi={}", ACCT.to_uppercase());
        assert_eq!(
            id(&[&upper], &want(false, now)),
            "dns_persist_account_mismatch"
        );
        let past = format!(
            "letsencrypt.org; accounturi={ACCT}; persistUntil={}",
            now - 1
        );
        assert_eq!(id(&[&past], &want(false, now)), "dns_persist_expired");
        let exact = format!("letsencrypt.org; accounturi={ACCT}; persistUntil={now}");
        assert_eq!(id(&[&exact], &want(false, now)), "authorises");
        // Of two that authorise, the one lasting longer says when validation fails.
        let later = format!(
            "letsencrypt.org; accounturi={ACCT}; persistUntil={}",
            now + 99
        );
        let until = |values: &[&str]| match judge(&set(values), &want(false, now), "x") {
            Judged::Authorises { persist_until } => persist_until,
            Judged::Refused(c) => panic!("{c:?}"),
        };
        assert_eq!(until(&[&exact, &later]), Some(now + 99));
        assert_eq!(until(&[&later, &good]), None);
        // Another CA's record is skipped; one of them is enough.
        let other = format!("digicert.com; accounturi={ACCT}");
        assert_eq!(id(&[&other], &want(false, now)), "dns_persist_other_ca");
        assert_eq!(id(&[&other, &good], &want(false, now)), "authorises");
        assert_eq!(
            id(&["v=spf1 -all"], &want(false, now)),
            "dns_persist_other_ca"
        );
        assert_eq!(id(&[], &want(false, now)), "txt_absent");
        // A malformed record for this CA is the reason given first; another CA's is not.
        assert_eq!(
            id(
                &["letsencrypt.org; policy=wildcard", &upper],
                &want(false, now)
            ),
            "dns_persist_malformed"
        );
        assert_eq!(
            id(&["digicert.com; policy=wildcard"], &want(false, now)),
            "dns_persist_other_ca"
        );
        // Without a CA or an account to compare with, any well-formed record counts.
        let open = Want {
            issuers: vec![],
            account: None,
            wildcard: false,
            now,
        };
        assert_eq!(id(&[&other], &open), "authorises");
    }
}
