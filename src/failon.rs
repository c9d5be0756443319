//! `--fail-on`: the statuses and findings that make a run exit 1, read from the command
//! line with a hint for a word mistyped, and the endpoints that failed them as the log
//! tells them.

use crate::model::{Finding, Observation};
use crate::verdict::{Status, Verdict};
use crate::Error;

/// What `--fail-on` word the user may have meant by `x`: an error class is the status
/// `unreachable`; a slip of one or two letters is the word it is closest to.
fn fail_on_hint(x: &str) -> String {
    if crate::model::ErrorClass::ALL
        .iter()
        .any(|c| c.as_str() == x)
    {
        return ": an error class; `unreachable` fails on every endpoint that gave no certificate, whatever the class".into();
    }
    let words = Status::ALL
        .map(|s| s.as_str())
        .into_iter()
        .chain(Finding::ALL.map(|f| f.as_str()))
        .chain(crate::verdict::VERDICT_FINDINGS);
    words
        .map(|w| (edit_distance(x, w), w))
        .filter(|(d, _)| *d <= 2)
        .min()
        .map(|(_, w)| format!(": did you mean {w}?"))
        .unwrap_or_default()
}

/// Levenshtein distance, for the few short words of a hint.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diag = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let next = (diag + usize::from(ca != *cb))
                .min(row[j] + 1)
                .min(row[j + 1] + 1);
            diag = row[j + 1];
            row[j + 1] = next;
        }
    }
    row[b.len()]
}

/// The endpoints that failed `--fail-on`: how many, and the first few in the reports' order
/// (name, port, address) in words, so that the log of a pipeline that stops on them says
/// which and why without opening a report, the same endpoints from one run to the next.
#[derive(Debug, Default)]
pub struct Failing(
    pub(crate) crate::report::Firsts<(String, u16, Option<std::net::IpAddr>), String>,
);

impl Failing {
    /// Counts `o`'s endpoint; keeps `text` of it when it is among the first by place.
    pub(crate) fn add(&mut self, o: &Observation, text: impl FnOnce() -> String) {
        self.0
            .offer((o.asked_name().to_string(), o.port, o.ip), text);
    }

    /// How many endpoints failed.
    pub fn total(&self) -> usize {
        self.0.total
    }

    /// What stderr says of them: nothing when none failed.
    pub fn text(&self) -> String {
        if self.0.total == 0 {
            return String::new();
        }
        let mut text = format!(
            "certsweep: {} fail --fail-on:\n",
            crate::report::summary::n(self.0.total as u64, "endpoint", "endpoints")
        );
        for s in self.0.sorted() {
            text.push_str(&format!("  {s}\n"));
        }
        if self.0.more() > 0 {
            text.push_str(&format!(
                "  ... and {} more (every one is in --report and --jsonl)\n",
                self.0.more()
            ));
        }
        text
    }
}

/// `--fail-on` with `--inventory` when not given.
pub const DEFAULT_FAIL_ON: &str = "renewed_not_deployed,expired,revoked";

/// What makes a run exit 1: statuses (primary, or holding beside it) and findings.
#[derive(Debug, Clone, Default)]
pub struct FailOn {
    statuses: Vec<Status>,
    findings: Vec<String>,
}

impl FailOn {
    /// Parses `--fail-on` for a comparison against records: statuses, the observation's
    /// findings and the verdict's ([`crate::verdict::VERDICT_FINDINGS`]).
    pub fn parse(s: &str) -> Result<Self, Error> {
        let mut out = FailOn::default();
        for x in s.split(',').map(str::trim).filter(|x| !x.is_empty()) {
            if let Some(st) = Status::parse(x) {
                out.statuses.push(st);
            } else if Finding::ALL.iter().any(|f| f.as_str() == x)
                || crate::verdict::VERDICT_FINDINGS.contains(&x)
            {
                out.findings.push(x.to_string());
            } else {
                // A verdict's finding the sweep can make too (`client_auth_dropped`) is
                // named once.
                let verdicts: Vec<&str> = crate::verdict::VERDICT_FINDINGS
                    .into_iter()
                    .filter(|v| !Finding::ALL.iter().any(|f| f.as_str() == *v))
                    .collect();
                return Err(Error::Usage(format!(
                    "--fail-on: unknown status or finding \"{x}\"{} (statuses: {}; findings: {}, {})",
                    fail_on_hint(x),
                    Status::ALL.map(|s| s.as_str()).join(", "),
                    Finding::ALL.map(|f| f.as_str()).join(", "),
                    verdicts.join(", ")
                )));
            }
        }
        Ok(out)
    }

    /// Parses `--fail-on` for a sweep without records: only statuses an endpoint earns
    /// without one and the observation's findings; the others are a usage error rather
    /// than silently never failing.
    pub fn parse_record_free(s: &str) -> Result<Self, Error> {
        let out = Self::parse(s)?;
        let needs_records = out
            .statuses
            .iter()
            .map(|s| s.as_str())
            .filter(|s| !crate::verdict::RECORD_FREE.iter().any(|r| r.as_str() == *s))
            .chain(
                out.findings
                    .iter()
                    .map(String::as_str)
                    .filter(|f| !Finding::ALL.iter().any(|a| a.as_str() == *f)),
            )
            .next();
        if let Some(x) = needs_records {
            return Err(Error::Usage(format!(
                "--fail-on: \"{x}\" is a verdict against records and needs --inventory; without records only {} and the findings {} can be told",
                crate::verdict::RECORD_FREE.map(|s| s.as_str()).join(", "),
                Finding::ALL.map(|f| f.as_str()).join(", ")
            )));
        }
        Ok(out)
    }

    /// Whether verdict `v` fails the run: its status, a status holding beside it or a
    /// finding is asked for.
    pub fn verdict(&self, v: &Verdict) -> bool {
        !self.verdict_words(v).is_empty()
    }

    /// The words of `--fail-on` that verdict `v` meets.
    pub(crate) fn verdict_words(&self, v: &Verdict) -> Vec<&str> {
        let mut statuses: Vec<Status> = self
            .statuses
            .iter()
            .copied()
            .filter(|s| v.status == *s || v.findings.iter().any(|f| f == s.as_str()))
            .collect();
        // In precedence order, the verdict's own status first.
        statuses.sort();
        let mut words: Vec<&str> = statuses.into_iter().map(Status::as_str).collect();
        words.extend(
            self.findings
                .iter()
                .filter(|x| v.findings.contains(x))
                .map(String::as_str),
        );
        words
    }

    /// The words of `--fail-on` that observation `o` meets in a run without records.
    pub(crate) fn observation_words(
        &self,
        o: &Observation,
        now: i64,
        window: crate::verdict::RenewalWindow,
    ) -> Vec<&str> {
        // The certificates other nodes behind the address presented (`--samples`) are
        // served as much as the first: one of them expired fails `--fail-on expired`.
        let nodes = crate::verdict::sampled(o);
        let mut holds = crate::verdict::record_free_statuses(o, now, window);
        if !nodes.is_empty() {
            for n in &nodes {
                holds.extend(crate::verdict::record_free_statuses(n, now, window));
            }
            holds.sort();
            holds.dedup();
        }
        let statuses = holds
            .iter()
            .filter(|s| self.statuses.contains(s))
            .map(|s| s.as_str());
        let all = o.findings_with_others();
        let findings = self
            .findings
            .iter()
            .filter(|x| all.iter().any(|f| f.as_str() == x.as_str()))
            .map(String::as_str);
        statuses.chain(findings).collect()
    }
}

/// How a failing verdict is told on stderr: the endpoint, its status (and the other words
/// of `--fail-on` it meets), why, and the next step.
pub(crate) fn failing_verdict(v: &Verdict, words: &[&str]) -> String {
    let o = &v.observation;
    let also: Vec<&str> = words
        .iter()
        .copied()
        .filter(|w| *w != v.status.as_str())
        .collect();
    let also = if also.is_empty() {
        String::new()
    } else {
        format!(" ({})", also.join(", "))
    };
    format!(
        "{} {}{also}: {}\n    next: {}",
        who(o),
        v.status,
        v.detail,
        v.next_step
    )
}

/// An endpoint in a log line: the name asked for and where (`www.example.com
/// 10.0.0.5:443`), or where alone for a bare address.
pub(crate) fn who(o: &Observation) -> String {
    match o.asked_name().parse::<std::net::IpAddr>() {
        Ok(_) => o.place(),
        Err(_) => format!("{} {}", o.asked_name(), o.place()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fail_on_word_unknown_gets_the_word_meant() {
        let why = |s: &str| {
            FailOn::parse(s)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default()
        };
        assert!(
            why("expird").contains("\"expird\": did you mean expired?"),
            "{}",
            why("expird")
        );
        assert!(why("partial-rollout").contains("did you mean partial_rollout?"));
        assert!(why("connect_refused").contains("an error class; `unreachable` fails"));
        assert!(!why("zzz").contains("did you mean"));
        // Every word named once, one the sweep and the verdict both make too.
        assert_eq!(why("zzz").matches("client_auth_dropped").count(), 1);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "ab"), 2);
        assert!(FailOn::parse("expired,unreachable").is_ok());
    }
}
