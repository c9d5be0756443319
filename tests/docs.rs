//! The README is where users look up a report column or a finding: every word of the stable
//! vocabularies must be there, so that adding one without documenting it fails here.

use certsweep::model::{ErrorClass, Finding, Starttls};
use certsweep::verdict::{Status, VERDICT_FINDINGS};
use std::collections::BTreeSet;

fn readme() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap()
}

/// The words of `text`, where a column, an id or a protocol name (`xmpp-server`) is one.
fn words(text: &str) -> BTreeSet<&str> {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
        .filter(|w| !w.is_empty())
        .collect()
}

fn missing<'a>(doc: &BTreeSet<&str>, wanted: impl IntoIterator<Item = &'a str>) -> Vec<&'a str> {
    wanted.into_iter().filter(|w| !doc.contains(w)).collect()
}

#[test]
fn every_report_column_is_documented() {
    use certsweep::report::compliance::{COMPLIANCE_COLUMNS, RECORDS_COLUMNS};
    use certsweep::report::csv::SCAN_COLUMNS;
    use certsweep::report::dcv::DCV_COLUMNS;
    let text = readme();
    let doc = words(&text);
    for (report, columns) in [
        ("scan", SCAN_COLUMNS),
        ("compliance", COMPLIANCE_COLUMNS),
        ("records", RECORDS_COLUMNS),
        ("dcv", DCV_COLUMNS),
    ] {
        let gone = missing(&doc, columns.iter().copied());
        assert!(
            gone.is_empty(),
            "{report} report columns not in README: {gone:?}"
        );
    }
}

#[test]
fn every_class_status_and_finding_is_documented() {
    let text = readme();
    let doc = words(&text);
    let gone = missing(&doc, ErrorClass::ALL.iter().map(|c| c.as_str()));
    assert!(gone.is_empty(), "error classes not in README: {gone:?}");
    let gone = missing(&doc, Finding::ALL.iter().map(|f| f.as_str()));
    assert!(gone.is_empty(), "findings not in README: {gone:?}");
    let gone = missing(&doc, Status::ALL.iter().map(|s| s.as_str()));
    assert!(gone.is_empty(), "statuses not in README: {gone:?}");
    let gone = missing(&doc, VERDICT_FINDINGS.iter().copied());
    assert!(gone.is_empty(), "verdict findings not in README: {gone:?}");
    let gone = missing(&doc, Starttls::ALL.iter().map(|s| s.as_str()));
    assert!(
        gone.is_empty(),
        "STARTTLS dialogues not in README: {gone:?}"
    );
}

/// The DCV check ids are given where each check is made (`Check::fatal("caa_forbids_ca",
/// ...)`), so they are read from the source.
#[test]
fn every_dcv_check_id_is_documented() {
    let text = readme();
    let doc = words(&text);
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/src/dcv");
    let mut ids = BTreeSet::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let src = std::fs::read_to_string(&path).unwrap();
        // The unit tests make checks of their own with throwaway ids.
        let src = src.split("#[cfg(test)]").next().unwrap_or_default();
        for kind in ["fatal", "error", "warning", "info", "unknown"] {
            let call = format!("Check::{kind}(");
            for (at, _) in src.match_indices(&call) {
                let rest = src[at + call.len()..].trim_start();
                if let Some(id) = rest.strip_prefix('"').and_then(|r| r.split('"').next()) {
                    ids.insert(id.to_string());
                }
            }
        }
    }
    // Guards the reading itself: a refactor that moves the ids elsewhere must update it.
    assert!(ids.len() > 30 && ids.contains("caa_forbids_ca"), "{ids:?}");
    let gone = missing(&doc, ids.iter().map(String::as_str));
    assert!(gone.is_empty(), "dcv check ids not in README: {gone:?}");
}
