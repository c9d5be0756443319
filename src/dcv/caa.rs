//! CAA (RFC 8659, with the RFC 8657 parameters) judged the way a CA does at issuance.

use super::dns::{describe, Failure, Recursive, Status};
use super::{Check, Method};
use hickory_resolver::proto::rr::{Name, RData, RecordType};

/// One CAA record as published (flags, tag, raw value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caa {
    /// The flags octet.
    pub flags: u8,
    /// The property tag, lower case.
    pub tag: String,
    /// The raw value.
    pub value: String,
}

impl std::fmt::Display for Caa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {} \"{}\"", self.flags, self.tag, self.value)
    }
}

/// The relevant CAA set: the records at the closest name that has any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaaSet {
    /// Where the set was found.
    pub at: String,
    /// The records.
    pub records: Vec<Caa>,
}

impl CaaSet {
    /// `name: record; record` for reports.
    pub fn summary(&self) -> String {
        let recs: Vec<String> = self.records.iter().map(|r| r.to_string()).collect();
        format!("{}: {}", self.at, recs.join("; "))
    }
}

/// What the CA is and which account it will use, to judge CAA against.
#[derive(Debug, Clone, Default)]
pub struct CaIdentity {
    /// The CA's CAA issuer domains (`letsencrypt.org`, `digicert.com`); empty: report only.
    pub domains: Vec<String>,
    /// The ACME account URI that will request the certificate, if known.
    pub account_uri: Option<String>,
}

/// Finds the relevant CAA set for `name` by climbing towards the TLD. A failed lookup below
/// the first non-empty set blocks issuance (RFC 8659 §3); NXDOMAIN counts as empty.
pub async fn lookup(dns: &Recursive, name: &Name, out: &mut Vec<Check>) -> Option<CaaSet> {
    let mut candidate = name.clone();
    loop {
        if candidate.is_root() {
            return None;
        }
        let r = dns.resolve(&candidate, RecordType::CAA).await;
        if let Some(ede) = dns.dnssec_failure(&candidate, &r, RecordType::CAA).await {
            // A CA that cannot read CAA refuses to issue (RFC 8659 §3).
            out.push(Check::error(
                "dnssec_bogus",
                super::dns::dnssec_text(&format!("the CAA lookup of {candidate}"), &ede),
            ));
            return None;
        }
        match &r.status {
            Status::Found => {
                let records = r
                    .records
                    .iter()
                    .filter_map(|rd| match rd {
                        RData::CAA(c) => Some(Caa {
                            flags: c.flags(),
                            tag: c.tag.to_ascii_lowercase(),
                            value: String::from_utf8_lossy(&c.value).into_owned(),
                        }),
                        _ => None,
                    })
                    .collect();
                return Some(CaaSet {
                    at: candidate.to_string().trim_end_matches('.').to_string(),
                    records,
                });
            }
            // NXDOMAIN, and a CNAME to a name that does not exist, count as an empty set.
            Status::NoData | Status::NxDomain | Status::CnameDangling => {}
            Status::Failed(Failure::Timeout) => {
                out.push(Check::unknown(
                    "caa_lookup_failed",
                    format!("CAA lookup of {candidate} timed out; a CA that cannot read CAA refuses to issue, so check the zone's nameservers"),
                ));
                return None;
            }
            // Our own resolver could not be reached: nothing is known of the zone.
            Status::Failed(Failure::Network(m)) => {
                out.push(Check::unknown(
                    "caa_lookup_failed",
                    format!("CAA lookup of {candidate} failed ({m}): the resolver used here did not answer"),
                ));
                return None;
            }
            other => {
                out.push(Check::error(
                    "caa_lookup_failed",
                    format!(
                        "CAA lookup of {candidate} failed ({}); a CA treats this as a refusal. Fix the nameservers of {candidate}",
                        describe(other)
                    ),
                ));
                return None;
            }
        }
        candidate = candidate.base_name();
    }
}

const KNOWN_TAGS: [&str; 7] = [
    "issue",
    "issuewild",
    "iodef",
    "issuemail",
    "issuevmc",
    "contactemail",
    "contactphone",
];

/// An `issue`/`issuewild` value: issuer domain (empty = nobody) and parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
struct IssueValue {
    domain: String,
    params: Vec<(String, String)>,
}

/// Parses an issue value with the strict grammar CAs use; `Err` says what is malformed.
fn parse_issue(v: &str) -> Result<IssueValue, String> {
    let mut parts = v.split(';');
    let domain = parts
        .next()
        .unwrap_or("")
        .trim_matches([' ', '\t'])
        .to_string();
    if domain.contains(['"', '\'', ' ']) {
        return Err(format!("issuer \"{domain}\" has quotes or spaces in it"));
    }
    if !domain.is_empty()
        && !domain
            .split('.')
            .all(|l| !l.is_empty() && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
    {
        return Err(format!("issuer \"{domain}\" is not a domain name"));
    }
    let rest: Vec<&str> = parts.collect();
    let mut params = Vec::new();
    // RFC 8659 §4.2: `issuer [; parameters]`, where `;` alone may end the domain but not
    // follow a parameter; a parameter is `tag *WSP "=" *WSP value`, and the value may be
    // empty. Boulder parses the same way.
    if let [only] = rest.as_slice() {
        if only.trim_matches([' ', '\t']).is_empty() {
            return Ok(IssueValue { domain, params });
        }
    }
    for p in &rest {
        let (k, val) = p.split_once('=').ok_or_else(|| {
            if p.trim_matches([' ', '\t']).is_empty() {
                "an empty parameter (a ';' after the last parameter)".to_string()
            } else {
                format!(
                    "parameter \"{}\" is not tag=value",
                    p.trim_matches([' ', '\t'])
                )
            }
        })?;
        let (k, val) = (k.trim_matches([' ', '\t']), val.trim_matches([' ', '\t']));
        if k.is_empty() || !k.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(format!("parameter tag \"{k}\" is not alphanumeric"));
        }
        if !val.bytes().all(|b| (0x21..=0x7E).contains(&b)) {
            return Err(format!("parameter {k} has a bad value \"{val}\""));
        }
        params.push((k.to_ascii_lowercase(), val.to_string()));
    }
    Ok(IssueValue { domain, params })
}

/// Critical records a CA must refuse for: an unknown tag, or a registered one not every CA
/// implements.
fn critical_flags(set: &CaaSet, out: &mut Vec<Check>) {
    for r in &set.records {
        // Registered tags not every CA implements: Let's Encrypt's boulder knows neither,
        // so a critical one stops its issuance as an unknown tag would.
        if (r.flags & 0x81) != 0 && matches!(r.tag.as_str(), "contactemail" | "contactphone") {
            out.push(Check::warning(
                "caa_critical_contact",
                format!(
                    "CAA at {} marks its {} record critical (flags {}): CAs that do not implement the tag (Let's Encrypt) must refuse to issue. Clear the critical flag",
                    set.at, r.tag, r.flags
                ),
            ));
        }
        if (r.flags & 0x81) != 0 && !KNOWN_TAGS.contains(&r.tag.as_str()) {
            out.push(Check::error(
                "caa_critical_unknown",
                format!(
                    "CAA at {} has a critical record with the unknown tag \"{}\" (flags {}): every CA must refuse to issue. Remove it or clear the critical flag",
                    set.at, r.tag, r.flags
                ),
            ));
        }
    }
}

/// Why no record of the relevant set (`tag`, naming `allowed_text`) lets `ca` issue: a
/// record for it leaving out `method` (`excluded`, its validationmethods), one for another
/// ACME account (`mismatch`), or none naming it.
fn refused(
    set: &CaaSet,
    tag: &str,
    allowed_text: &str,
    method: Method,
    ca: &CaIdentity,
    (method_excluded, account_mismatch): (Option<String>, Option<String>),
    out: &mut Vec<Check>,
) {
    if let Some(m) = method_excluded {
        out.push(Check::error(
            "caa_method_excluded",
            format!(
                "CAA at {} allows your CA only with validationmethods={m}, which leaves out {method}; use one of those methods or add {method} to the record",
                set.at
            ),
        ));
    } else if let Some(a) = account_mismatch {
        out.push(Check::error(
            "caa_account_uri",
            format!(
                "CAA at {} allows your CA only for account {a}, not {}; fix the record or use that account",
                set.at,
                ca.account_uri.as_deref().unwrap_or("")
            ),
        ));
    } else {
        out.push(Check::error(
            "caa_forbids_ca",
            format!(
                "CAA at {} allows {tag} by {allowed_text}, not by {}; add the record {} {tag} \"{}\" at {} before the CA validates",
                set.at,
                ca.domains.join(" or "),
                0,
                ca.domains.first().map(String::as_str).unwrap_or(""),
                set.at
            ),
        ));
    }
}

/// What one issue (or issuewild) record naming the CA says of an order validated with
/// `method`.
enum RecordSays {
    /// The CA may issue; limited to this ACME account when the CA's account is not known.
    Allows { account_unknown: Option<String> },
    /// Only with these validationmethods, which leave `method` out.
    MethodExcluded(String),
    /// Only for this other ACME account.
    AccountMismatch(String),
    /// A parameter repeated: CAs ignore the record (told in `out`).
    Ignored,
}

/// Reads record `v`, which names one of `ca`'s domains (letter case aside), for an order
/// validated with `method`; warnings (a domain's letter case, a repeated parameter) go to
/// `out`.
fn record_says(
    set: &CaaSet,
    v: &IssueValue,
    method: Method,
    ca: &CaIdentity,
    out: &mut Vec<Check>,
) -> RecordSays {
    if !ca.domains.contains(&v.domain) {
        // RFC 8659 leaves the comparison to the CA; Let's Encrypt's boulder compares the
        // issuer domain exactly, so "LetsEncrypt.org" authorizes nobody there.
        out.push(Check::warning(
            "caa_issuer_case",
            format!(
                "CAA at {} names \"{}\", which differs from {} only in letter case: some CAs (Let's Encrypt) compare it exactly and refuse; write it in lower case",
                set.at,
                v.domain,
                ca.domains.join(" or ")
            ),
        ));
    }
    let param = |name: &str| -> Vec<&str> {
        v.params
            .iter()
            .filter(|p| p.0 == name)
            .map(|p| p.1.as_str())
            .collect()
    };
    let accounts = param("accounturi");
    let methods = param("validationmethods");
    if accounts.len() > 1 || methods.len() > 1 {
        out.push(Check::warning(
            "caa_malformed",
            format!("CAA at {} record for {} repeats accounturi or validationmethods; CAs ignore such a record", set.at, v.domain),
        ));
        return RecordSays::Ignored;
    }
    if let Some(m) = methods.first() {
        let labels: Vec<&str> = m.split(',').collect();
        let valid = labels
            .iter()
            .all(|l| !l.is_empty() && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'));
        if !valid || !labels.contains(&method.as_str()) {
            return RecordSays::MethodExcluded(m.to_string());
        }
    }
    match (accounts.first(), &ca.account_uri) {
        (Some(a), Some(mine)) if mine != a => RecordSays::AccountMismatch(a.to_string()),
        (Some(a), None) => RecordSays::Allows {
            account_unknown: Some(a.to_string()),
        },
        _ => RecordSays::Allows {
            account_unknown: None,
        },
    }
}

/// The tag whose records decide (`issuewild` for a wildcard where there are any, else
/// `issue`) and those records read; a malformed one is told in `out` and left out, as CAs
/// ignore it. `None` when the set has no record of the tag: any CA may issue (a wildcard
/// where other records stand is warned of).
fn relevant_records(
    set: &CaaSet,
    wildcard: bool,
    out: &mut Vec<Check>,
) -> Option<(&'static str, Vec<IssueValue>)> {
    let tag = if wildcard && set.records.iter().any(|r| r.tag == "issuewild") {
        "issuewild"
    } else {
        "issue"
    };
    let relevant: Vec<&Caa> = set.records.iter().filter(|r| r.tag == tag).collect();
    if relevant.is_empty() {
        if wildcard && !set.records.is_empty() {
            // RFC 8659 lets any CA issue here, but boulder checks a wildcard against the
            // (empty) issue list and refuses.
            out.push(Check::warning(
                "caa_wildcard_unlisted",
                format!(
                    "CAA at {} has records but no issue or issuewild one: any CA may issue by RFC 8659, but Let's Encrypt refuses wildcard certificates there. Add an issuewild (or issue) record naming your CA",
                    set.at
                ),
            ));
        }
        return None;
    }
    let mut parsed = Vec::new();
    for r in &relevant {
        match parse_issue(&r.value) {
            Ok(v) => parsed.push(v),
            Err(why) => out.push(Check::warning(
                "caa_malformed",
                format!("CAA at {} record {r} is malformed ({why}); CAs ignore it, so it authorizes nobody", set.at),
            )),
        }
    }
    Some((tag, parsed))
}

/// Judges the relevant set for a certificate of `wildcard`-ness validated with `method`.
pub fn evaluate(
    set: &CaaSet,
    wildcard: bool,
    method: Method,
    ca: &CaIdentity,
    out: &mut Vec<Check>,
) {
    critical_flags(set, out);
    let Some((tag, parsed)) = relevant_records(set, wildcard, out) else {
        return;
    };
    let allowed: Vec<&str> = parsed
        .iter()
        .filter(|v| !v.domain.is_empty())
        .map(|v| v.domain.as_str())
        .collect();
    let allowed_text = if allowed.is_empty() {
        "no CA at all".to_string()
    } else {
        allowed.join(", ")
    };
    if ca.domains.is_empty() {
        out.push(Check::info(
            "caa_not_judged",
            format!(
                "CAA at {} allows {tag} by {allowed_text}; pass --ca-domain to judge it for your CA",
                set.at
            ),
        ));
        return;
    }
    let mut method_excluded = None;
    let mut account_mismatch = None;
    for v in &parsed {
        if !ca.domains.iter().any(|d| d.eq_ignore_ascii_case(&v.domain)) {
            continue;
        }
        match record_says(set, v, method, ca, out) {
            RecordSays::Allows { account_unknown } => {
                if let Some(a) = account_unknown {
                    out.push(Check::warning(
                        "caa_account_uri",
                        format!(
                            "CAA at {} lets {} issue only to ACME account {a}; make sure the platform's account is that one (--account-uri to check)",
                            set.at, v.domain
                        ),
                    ));
                }
                return;
            }
            RecordSays::MethodExcluded(m) => method_excluded = Some(m),
            RecordSays::AccountMismatch(a) => account_mismatch = Some(a),
            RecordSays::Ignored => {}
        }
    }
    refused(
        set,
        tag,
        &allowed_text,
        method,
        ca,
        (method_excluded, account_mismatch),
        out,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(recs: &[(u8, &str, &str)]) -> CaaSet {
        CaaSet {
            at: "example.com".into(),
            records: recs
                .iter()
                .map(|(f, t, v)| Caa {
                    flags: *f,
                    tag: t.to_string(),
                    value: v.to_string(),
                })
                .collect(),
        }
    }

    fn ids(
        s: &CaaSet,
        wildcard: bool,
        method: Method,
        ca: &str,
        account: Option<&str>,
    ) -> Vec<&'static str> {
        let mut out = Vec::new();
        let ca = CaIdentity {
            domains: vec![ca.to_string()],
            account_uri: account.map(str::to_string),
        };
        evaluate(s, wildcard, method, &ca, &mut out);
        out.iter().map(|c| c.id).collect()
    }

    #[test]
    fn issue_and_issuewild() {
        let s = set(&[(0, "issue", "letsencrypt.org"), (0, "issuewild", ";")]);
        assert!(ids(&s, false, Method::Http01, "letsencrypt.org", None).is_empty());
        assert_eq!(
            ids(&s, true, Method::Dns01, "letsencrypt.org", None),
            ["caa_forbids_ca"]
        );
        assert_eq!(
            ids(&s, false, Method::Http01, "emsign.com", None),
            ["caa_forbids_ca"]
        );
        let only_issue = set(&[(0, "issue", "emsign.com")]);
        assert!(ids(&only_issue, true, Method::Dns01, "emsign.com", None).is_empty());
    }

    #[test]
    fn a_wildcard_under_records_naming_no_issuer_is_warned_of() {
        let s = set(&[(0, "iodef", "mailto:pki@example.com")]);
        assert!(ids(&s, false, Method::Dns01, "letsencrypt.org", None).is_empty());
        assert_eq!(
            ids(&s, true, Method::Dns01, "letsencrypt.org", None),
            ["caa_wildcard_unlisted"]
        );
    }

    #[test]
    fn an_issuer_domain_in_other_letter_case_is_warned_of() {
        let s = set(&[(0, "issue", "LetsEncrypt.org")]);
        assert_eq!(
            ids(&s, false, Method::Http01, "letsencrypt.org", None),
            ["caa_issuer_case"]
        );
    }

    #[test]
    fn a_critical_contact_record_is_warned_of() {
        let s = set(&[
            (128, "contactemail", "pki@example.com"),
            (0, "issue", "emsign.com"),
        ]);
        assert_eq!(
            ids(&s, false, Method::Dns01, "emsign.com", None),
            ["caa_critical_contact"]
        );
        let s = set(&[
            (0, "contactemail", "pki@example.com"),
            (0, "issue", "emsign.com"),
        ]);
        assert!(ids(&s, false, Method::Dns01, "emsign.com", None).is_empty());
    }

    #[test]
    fn critical_unknown_and_malformed() {
        let s = set(&[(128, "tbs", "x"), (0, "issue", "letsencrypt.org")]);
        assert_eq!(
            ids(&s, false, Method::Http01, "letsencrypt.org", None),
            ["caa_critical_unknown"]
        );
        let s = set(&[(1, "future", "x"), (0, "issue", "letsencrypt.org")]);
        assert_eq!(
            ids(&s, false, Method::Http01, "letsencrypt.org", None),
            ["caa_critical_unknown"]
        );
        let s = set(&[(0, "issue", "'letsencrypt.org'")]);
        assert_eq!(
            ids(&s, false, Method::Http01, "letsencrypt.org", None),
            ["caa_malformed", "caa_forbids_ca"]
        );
    }

    #[test]
    fn parameters_follow_the_rfc_grammar() {
        let ok = |v: &str| parse_issue(v).map(|p| p.params);
        assert_eq!(ok("letsencrypt.org;").map(|p| p.len()), Ok(0));
        assert_eq!(ok(" letsencrypt.org ; ").map(|p| p.len()), Ok(0));
        // Whitespace around '=' is allowed, and so is an empty value.
        assert_eq!(
            ok("letsencrypt.org; validationmethods = dns-01"),
            Ok(vec![("validationmethods".into(), "dns-01".into())])
        );
        assert_eq!(
            ok("letsencrypt.org; policy="),
            Ok(vec![("policy".into(), String::new())])
        );
        // A ';' after a parameter leaves an empty one, which the grammar has no room for.
        assert!(ok("letsencrypt.org; validationmethods=dns-01;").is_err());
        assert!(ok("letsencrypt.org;;").is_err());
        assert!(ok("letsencrypt.org; a b=c").is_err());
        assert!(ok("letsencrypt.org; a=b c").is_err());
        let s = set(&[(0, "issue", "letsencrypt.org; validationmethods = http-01")]);
        assert!(ids(&s, false, Method::Http01, "letsencrypt.org", None).is_empty());
        let s = set(&[(0, "issue", "letsencrypt.org; validationmethods=http-01;")]);
        assert_eq!(
            ids(&s, false, Method::Http01, "letsencrypt.org", None),
            ["caa_malformed", "caa_forbids_ca"]
        );
    }

    #[test]
    fn rfc8657_parameters() {
        let s = set(&[(0, "issue", "letsencrypt.org; validationmethods=dns-01")]);
        assert!(ids(&s, false, Method::Dns01, "letsencrypt.org", None).is_empty());
        assert_eq!(
            ids(&s, false, Method::Http01, "letsencrypt.org", None),
            ["caa_method_excluded"]
        );
        let s = set(&[(
            0,
            "issue",
            "letsencrypt.org; accounturi=https://acme/acct/1",
        )]);
        assert_eq!(
            ids(&s, false, Method::Http01, "letsencrypt.org", None),
            ["caa_account_uri"]
        );
        assert!(ids(
            &s,
            false,
            Method::Http01,
            "letsencrypt.org",
            Some("https://acme/acct/1")
        )
        .is_empty());
        assert_eq!(
            ids(
                &s,
                false,
                Method::Http01,
                "letsencrypt.org",
                Some("https://acme/acct/2")
            ),
            ["caa_account_uri"]
        );
    }

    #[test]
    fn a_record_repeating_a_parameter_is_ignored_and_the_next_one_read() {
        let repeated = (
            0,
            "issue",
            "letsencrypt.org; accounturi=https://acme/acct/1; accounturi=https://acme/acct/2",
        );
        let s = set(&[repeated]);
        let acct = Some("https://acme/acct/1");
        assert_eq!(
            ids(&s, false, Method::Http01, "letsencrypt.org", acct),
            ["caa_malformed", "caa_forbids_ca"]
        );
        let s = set(&[repeated, (0, "issue", "letsencrypt.org")]);
        assert_eq!(
            ids(&s, false, Method::Http01, "letsencrypt.org", acct),
            ["caa_malformed"]
        );
    }

    /// Whether Let's Encrypt's boulder (the rules in `shared/notes/dcv-rules.md` §2.4)
    /// refuses to issue under `set`, written apart from the evaluation: for a `wildcard`
    /// name, validated with `method`, by the ACME `account` (when known). Where certsweep
    /// deliberately only warns (a critical contact tag, an issuer in other letter case, a
    /// record naming an account when the account is not known), the warning's side is taken.
    fn boulder_refuses(
        set: &[(u8, &str, &str)],
        wildcard: bool,
        method: &str,
        account: Option<&str>,
    ) -> bool {
        // Boulder's tags; the registered contact tags, which boulder does not know, are
        // only warned of when critical (other CAs implement them).
        const BOULDER: [&str; 5] = ["issue", "issuewild", "iodef", "issuemail", "issuevmc"];
        let known = |t: &str| BOULDER.contains(&t) || matches!(t, "contactemail" | "contactphone");
        if set
            .iter()
            .any(|(f, t, _)| f & 0x81 != 0 && !known(&t.to_ascii_lowercase()))
        {
            return true;
        }
        let tag = match wildcard
            && set
                .iter()
                .any(|(_, t, _)| t.eq_ignore_ascii_case("issuewild"))
        {
            true => "issuewild",
            false => "issue",
        };
        let relevant: Vec<&str> = set
            .iter()
            .filter(|(_, t, _)| t.eq_ignore_ascii_case(tag))
            .map(|(_, _, v)| *v)
            .collect();
        if relevant.is_empty() {
            return false;
        }
        let authorizes = |value: &str| -> bool {
            let mut parts = value.split(';');
            let domain = parts.next().unwrap_or("").trim_matches([' ', '\t']);
            if !domain.eq_ignore_ascii_case("letsencrypt.org") {
                return false;
            }
            let rest: Vec<&str> = parts.collect();
            let mut params: Vec<(String, String)> = Vec::new();
            if !(rest.len() == 1 && rest[0].trim_matches([' ', '\t']).is_empty()) {
                for p in rest {
                    let Some((k, v)) = p.split_once('=') else {
                        return false;
                    };
                    let (k, v) = (k.trim_matches([' ', '\t']), v.trim_matches([' ', '\t']));
                    if k.is_empty()
                        || !k.bytes().all(|b| b.is_ascii_alphanumeric())
                        || !v.bytes().all(|b| (0x21..=0x7E).contains(&b))
                    {
                        return false;
                    }
                    params.push((k.to_ascii_lowercase(), v.to_string()));
                }
            }
            let of = |name: &str| -> Vec<&str> {
                params
                    .iter()
                    .filter(|(k, _)| k == name)
                    .map(|(_, v)| v.as_str())
                    .collect()
            };
            let (accounts, methods) = (of("accounturi"), of("validationmethods"));
            if accounts.len() > 1 || methods.len() > 1 {
                return false;
            }
            if let Some(m) = methods.first() {
                let labels: Vec<&str> = m.split(',').collect();
                let good = labels.iter().all(|l| {
                    !l.is_empty() && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                });
                if !good || !labels.contains(&method) {
                    return false;
                }
            }
            match (accounts.first(), account) {
                (Some(a), Some(mine)) => *a == mine,
                _ => true,
            }
        };
        !relevant.iter().any(|v| authorizes(v))
    }

    #[test]
    fn generated_caa_sets_are_judged_as_the_ca_judges_them() {
        // Random relevant sets from the records CAs meet: issuers right and wrong (and in
        // other letter case), empty issuers, parameters well and badly formed, repeated,
        // critical flags on known and unknown tags, issuewild beside issue or alone.
        const RECORDS: [(u8, &str, &str); 22] = [
            (0, "issue", "letsencrypt.org"),
            (0, "issue", "digicert.com"),
            (0, "issue", ";"),
            (0, "issue", "LetsEncrypt.org"),
            (0, "issue", "letsencrypt.org; validationmethods=dns-01"),
            (
                0,
                "issue",
                "letsencrypt.org; validationmethods=http-01,dns-01",
            ),
            (0, "issue", "letsencrypt.org; validationmethods=http_01"),
            (
                0,
                "issue",
                "letsencrypt.org; accounturi=https://acme/acct/1",
            ),
            (
                0,
                "issue",
                "letsencrypt.org; accounturi=https://acme/acct/2",
            ),
            (
                0,
                "issue",
                "letsencrypt.org; accounturi=https://acme/acct/1; accounturi=https://acme/acct/1",
            ),
            (0, "issue", "letsencrypt.org;"),
            (0, "issue", "letsencrypt.org; =x"),
            (0, "issue", "\"letsencrypt.org\""),
            (0, "issuewild", "letsencrypt.org"),
            (0, "issuewild", ";"),
            (0, "issuewild", "digicert.com"),
            (0, "iodef", "mailto:pki@example.com"),
            (128, "iodef", "mailto:pki@example.com"),
            (128, "tbs", "unknown"),
            (1, "future", "x"),
            (0, "future", "x"),
            (128, "issue", "letsencrypt.org"),
        ];
        let mut rng = crate::testrng::XorShift::new(0xcaa0_5eed_0000_0001);
        for round in 0..20_000 {
            let n = rng.below(5) as usize;
            let records: Vec<(u8, &str, &str)> = (0..n)
                .map(|_| RECORDS[rng.below(RECORDS.len() as u64) as usize])
                .collect();
            let wildcard = rng.below(2) == 0;
            let (method, name) = match rng.below(2) {
                0 => (Method::Http01, "http-01"),
                _ => (Method::Dns01, "dns-01"),
            };
            let account = match rng.below(2) {
                0 => Some("https://acme/acct/1"),
                _ => None,
            };
            let s = set(&records);
            let mut out = Vec::new();
            let ca = CaIdentity {
                domains: vec!["letsencrypt.org".into()],
                account_uri: account.map(str::to_string),
            };
            evaluate(&s, wildcard, method, &ca, &mut out);
            let refused = out.iter().any(|c| {
                matches!(
                    c.severity,
                    super::super::Severity::Error | super::super::Severity::Fatal
                )
            });
            assert_eq!(
                refused,
                boulder_refuses(&records, wildcard, name, account),
                "round {round}: {records:?}, wildcard {wildcard}, {name}, account {account:?}: {:?}",
                out.iter().map(|c| c.id).collect::<Vec<_>>()
            );
        }
    }
}
