//! The identifier itself: what a CA's policy check refuses before it looks at DNS.

use super::{Check, Method};
use std::net::IpAddr;

/// A name that passed the identifier checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ident {
    /// The name in A-labels, lower case, without the wildcard label.
    pub base: String,
    /// Whether it was `*.<base>`.
    pub wildcard: bool,
}

/// Checks the identifier for `method`; returns it when DNS checks can go on, else pushes the
/// fatal finding. `allow_private` skips the public-suffix rule (a private CA validating
/// internal names).
pub fn check(
    domain: &str,
    method: Method,
    allow_private: bool,
    out: &mut Vec<Check>,
) -> Option<Ident> {
    let raw = domain.trim();
    let bare = raw.trim_start_matches('[').trim_end_matches(']');
    if bare.parse::<IpAddr>().is_ok() {
        out.push(Check::fatal(
            "ident_is_ip",
            format!(
                "{raw} is an IP address: DNS-based validation does not apply to IP identifiers; \
                 order a certificate for a name, or validate the address with the CA's IP method"
            ),
        ));
        return None;
    }
    let (wildcard, rest) = match raw.strip_prefix("*.") {
        Some(r) => (true, r),
        None => (false, raw),
    };
    if let Err(why) = syntax(rest) {
        out.push(Check::fatal(
            "ident_syntax",
            format!("{raw} is not a valid domain name: {why}"),
        ));
        return None;
    }
    let base = match idna::domain_to_ascii_strict(rest) {
        Ok(a) => a,
        Err(_) => {
            out.push(Check::fatal(
                "ident_syntax",
                format!("{raw} is not a valid internationalised domain name (IDNA rules)"),
            ));
            return None;
        }
    };
    if let Err(why) = ascii_rules(&base) {
        out.push(Check::fatal(
            "ident_syntax",
            format!("{raw} is not a valid domain name: {why}"),
        ));
        return None;
    }
    if !allow_private {
        if let Some(why) = public_suffix_problem(&base) {
            out.push(Check::fatal(
                "ident_not_public",
                format!("{raw} {why}; a public CA will not issue for it (use --allow-private for a private CA)"),
            ));
            return None;
        }
    }
    if wildcard && !matches!(method, Method::Dns01 | Method::DnsPersist01) {
        out.push(Check::fatal(
            "wildcard_needs_dns01",
            format!("{raw} is a wildcard: only dns-01 (or dns-persist-01) can validate it, not {method}"),
        ));
        return None;
    }
    Some(Ident { base, wildcard })
}

/// Rules that apply before IDNA mapping.
fn syntax(s: &str) -> Result<(), String> {
    if s.is_empty() {
        return Err("empty".into());
    }
    if s.ends_with('.') {
        return Err("trailing dot (write the name without it)".into());
    }
    if s.contains('*') {
        return Err("a wildcard is allowed only as the whole first label (*.example.com)".into());
    }
    if s.contains("..") {
        return Err("empty label".into());
    }
    if s.chars()
        .any(|c| c.is_whitespace() || c == '/' || c == ':' || c == '@')
    {
        return Err("contains a space, '/', ':' or '@' (a URL or address, not a name)".into());
    }
    Ok(())
}

/// The LDH rules on the A-label form.
fn ascii_rules(a: &str) -> Result<(), String> {
    if a.len() > 253 {
        return Err(format!("{} bytes long (at most 253)", a.len()));
    }
    let labels: Vec<&str> = a.split('.').collect();
    if labels.len() < 2 {
        return Err("a single label (a CA needs a name under a registered domain)".into());
    }
    if labels.len() > 10 {
        return Err(format!("{} labels (CAs accept at most 10)", labels.len()));
    }
    for l in &labels {
        if l.is_empty() {
            return Err("empty label".into());
        }
        if l.len() > 63 {
            return Err(format!("label \"{l}\" is {} bytes (at most 63)", l.len()));
        }
        if !l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
            return Err(format!(
                "label \"{l}\" has characters other than letters, digits and '-'"
            ));
        }
        if l.starts_with('-') || l.ends_with('-') {
            return Err(format!("label \"{l}\" starts or ends with '-'"));
        }
        if l.len() >= 4 && &l[2..4] == "--" && !l.starts_with("xn--") {
            return Err(format!(
                "label \"{l}\" has '--' in positions 3-4 but is not punycode (xn--)"
            ));
        }
        if let Some(puny) = l.strip_prefix("xn--") {
            let (_, result) = idna::domain_to_unicode(l);
            if result.is_err() || puny.is_empty() {
                return Err(format!("label \"{l}\" is not valid punycode"));
            }
        }
    }
    Ok(())
}

/// Why the name is not a name a public CA issues for, if it is not.
fn public_suffix_problem(a: &str) -> Option<String> {
    let suffix = psl::suffix(a.as_bytes())?;
    if !suffix.is_known() {
        let tld = a.rsplit('.').next().unwrap_or(a);
        return Some(format!(
            "is not under a public suffix (\".{tld}\" is not a public top-level domain)"
        ));
    }
    if psl::domain(a.as_bytes()).is_none() {
        return Some("is itself a public suffix, not a registrable domain".to_string());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(domain: &str, method: Method) -> Vec<&'static str> {
        let mut out = Vec::new();
        check(domain, method, false, &mut out);
        out.iter().map(|c| c.id).collect()
    }

    #[test]
    fn identifiers() {
        assert!(ids("www.example.com", Method::Http01).is_empty());
        assert!(ids("*.example.com", Method::Dns01).is_empty());
        assert_eq!(
            ids("*.example.com", Method::Http01),
            ["wildcard_needs_dns01"]
        );
        assert_eq!(ids("192.0.2.1", Method::Http01), ["ident_is_ip"]);
        assert_eq!(ids("2001:db8::1", Method::Http01), ["ident_is_ip"]);
        assert_eq!(ids("a..example.com", Method::Http01), ["ident_syntax"]);
        assert_eq!(ids("example.com.", Method::Http01), ["ident_syntax"]);
        assert_eq!(ids("a*b.example.com", Method::Http01), ["ident_syntax"]);
        assert_eq!(ids("ab--cd.example.com", Method::Http01), ["ident_syntax"]);
        assert_eq!(ids("localhost", Method::Http01), ["ident_syntax"]);
        assert_eq!(
            ids(&format!("{}.example.com", "a".repeat(64)), Method::Http01),
            ["ident_syntax"]
        );
        assert_eq!(
            ids("host.corp.internal", Method::Http01),
            ["ident_not_public"]
        );
        assert_eq!(ids("co.uk", Method::Http01), ["ident_not_public"]);
        let mut out = Vec::new();
        let i = check("bücher.example.com", Method::Http01, false, &mut out);
        assert_eq!(
            i.map(|i| i.base),
            Some("xn--bcher-kva.example.com".to_string())
        );
        let mut out = Vec::new();
        assert!(check("host.corp.internal", Method::Http01, true, &mut out).is_some());
    }
}
