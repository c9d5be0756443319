use super::identities::{has_certificate, reissue_base, UnionFind};
use super::records::PLACES_IN_A_CELL;
use super::*;
use crate::inventory::load::{load_bytes, Loaded, ReadOptions};

fn ids(csv: &str) -> Identities {
    let mut out = Loaded::default();
    load_bytes("inv.csv", csv.as_bytes(), &ReadOptions::default(), &mut out);
    assert!(out.errors.is_empty(), "{:?}", out.errors);
    Identities::build(out.records)
}

/// The name-set rule as first written: every pair of records that share a name, the
/// later (the earlier-read at a tie) united with the other when its names cover them.
fn pairwise_name_sets(records: &[Record]) -> UnionFind {
    let mut uf = UnionFind((0..records.len()).collect());
    let named: Vec<usize> = (0..records.len())
        .filter(|&i| has_certificate(&records[i]))
        .collect();
    for (x, &a) in named.iter().enumerate() {
        for &b in &named[x + 1..] {
            let (na, nb) = (records[a].names(), records[b].names());
            if !na.iter().any(|n| nb.contains(n)) {
                continue;
            }
            let (newer, older, nn, on) = if records[a].issued_key() >= records[b].issued_key() {
                (a, b, &na, &nb)
            } else {
                (b, a, &nb, &na)
            };
            if on.iter().all(|o| nn.contains(o)) {
                uf.union(newer, older);
            }
        }
    }
    // A record without a certificate joins the latest one whose names cover its own.
    for i in (0..records.len()).filter(|&i| !has_certificate(&records[i])) {
        let names = records[i].names();
        if names.is_empty() {
            continue;
        }
        let latest = named
            .iter()
            .copied()
            .filter(|&j| {
                let theirs = records[j].names();
                names.iter().all(|n| theirs.contains(n))
            })
            .max_by_key(|&j| (records[j].issued_key(), std::cmp::Reverse(j)));
        if let Some(j) = latest {
            uf.union(i, j);
        }
    }
    uf
}

#[test]
fn name_set_grouping_is_the_pairwise_rule() {
    // Random exports over a few names and dates (many ties, equal and nested name
    // sets, records without a certificate), no links or reissue numbers: the grouping
    // by name-set groups and rarest names must unite exactly what the pairwise rule
    // does.
    let mut rng = 0x2545_f491_4f6c_dd1du64;
    let mut next = |n: u64| {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng % n
    };
    const NAMES: [&str; 6] = ["a.x", "b.x", "c.x", "*.x", "d.x", "e.x"];
    for round in 0..300 {
        let mut csv = String::from("Certificate ID,SANs,Common Name,Serial,Valid From,Valid To\n");
        for i in 0..(5 + next(40)) {
            let sans: Vec<&str> = (0..next(4)).map(|_| NAMES[next(6) as usize]).collect();
            let cn = if next(3) == 0 {
                NAMES[next(6) as usize]
            } else {
                ""
            };
            let serial = if next(8) == 0 {
                String::new()
            } else {
                format!("{:X}", i + 1)
            };
            let from = ["", "2026-01-01", "2026-02-01"][next(3) as usize];
            let to = ["", "2027-01-01", "2027-02-01"][next(3) as usize];
            csv.push_str(&format!(
                "R{i},{},{cn},{serial},{from},{to}\n",
                sans.join(";")
            ));
        }
        let mut out = Loaded::default();
        load_bytes("r.csv", csv.as_bytes(), &ReadOptions::default(), &mut out);
        assert!(out.errors.is_empty(), "{:?}", out.errors);
        let got = Identities::build(out.records.clone());
        let mut want = pairwise_name_sets(&out.records);
        for a in 0..out.records.len() {
            for b in 0..out.records.len() {
                assert_eq!(
                    got.identity_of[a] == got.identity_of[b],
                    want.find(a) == want.find(b),
                    "round {round}: records {a} and {b}\n{csv}"
                );
            }
        }
    }
}

#[test]
fn reissue_lineage_reads_any_order_number_without_panicking() {
    // Found by fuzzing: a non-ASCII character four bytes from the end panicked the whole
    // run while the records were grouped (a byte split inside the character).
    assert_eq!(reissue_base("ORD123R001"), Some("ORD123"));
    assert_eq!(reissue_base("Äußerer-1R002"), Some("Äußerer-1"));
    assert_eq!(reissue_base("ORD-0é901"), None);
    assert_eq!(reissue_base("ORD-1\u{200b}101"), None);
    assert_eq!(reissue_base("R001"), None);
    assert_eq!(reissue_base("é"), None);
    let i = ids("Order Number,Common Name,Serial Number,Expiry Date\n\
                 ORD-0é901,a.example,0A,2027-01-01\n");
    assert_eq!(i.records.len(), 1);
}

fn same(i: &Identities, a: &str, b: &str) -> bool {
    let pos = |id: &str| i.records.iter().position(|r| &*r.record_id == id).unwrap();
    i.identity_of[pos(a)] == i.identity_of[pos(b)]
}

fn newest_id(i: &Identities, of: &str) -> String {
    let pos = i.records.iter().position(|r| &*r.record_id == of).unwrap();
    let n = i.newest(i.identity_of[pos], None, 2_000_000_000).unwrap();
    i.records[n].record_id.to_string()
}

const H: &str =
    "Certificate ID,Order ID,SANs,Serial,Valid From,Valid To,Issuer,Renewal Of,Status\n";

#[test]
fn the_platforms_identity_id_joins_versions_whatever_their_names() {
    // B renews A (same certificate object) but dropped old.x.com; C is another object
    // whose names the name-set rule alone would not join to either.
    let i = ids(
        "Managed Certificate ID,Certificate ID,SANs,Serial,Valid From,Valid To,Status\n\
         M1,A,a.x.com;old.x.com,01,2025-06-01,2026-06-20,Issued\n\
         m1 ,B,a.x.com,02,2026-04-01,2027-04-01,Issued\n\
         M2,C,c.x.com,03,2026-04-01,2027-04-01,Issued\n",
    );
    assert!(same(&i, "A", "B"));
    assert!(!same(&i, "A", "C"));
    assert_eq!(newest_id(&i, "A"), "B");
    let v = judge_one(serving_a(), &i, &policy()).0;
    assert_eq!(v.status, Status::RenewedNotDeployed, "{}", v.detail);
    assert_eq!(v.expected.map(|e| e.record_id).as_deref(), Some("B"));
    let rows = rows_serving(&i, &[&judge_one(serving_a(), &i, &policy()).0], &policy());
    let row = rows.iter().find(|r| r.newest_record_id == "B").unwrap();
    assert_eq!(row.identity_id, "m1");
    assert_eq!(row.versions, 2);
    // Without the ids, the renewal that dropped a name is another identity.
    let apart = ids("Certificate ID,SANs,Serial,Valid From,Valid To,Status\n\
         A,a.x.com;old.x.com,01,2025-06-01,2026-06-20,Issued\n\
         B,a.x.com,02,2026-04-01,2027-04-01,Issued\n");
    assert!(!same(&apart, "A", "B"));
}

#[test]
fn separate_groups_keep_business_units_apart_by_names() {
    // Two groups each buy a certificate for one name; O3 is group G1's latest.
    let csv = "orderNumber,domainName,certificateSerialNumber,certificateExpiryDate,orderDate,certificateStatus,groupNumber\n\
               O1,shop.x.com,1,2026-09-01 00:00:00,2025-09-01 00:00:00,Certificate Downloaded,G1\n\
               O2,shop.x.com,2,2027-05-01 00:00:00,2026-05-01 00:00:00,Certificate Downloaded,G2\n\
               O3,shop.x.com,3,2027-04-01 00:00:00,2026-04-01 00:00:00,Certificate Downloaded,G1\n\
               O4,shop.x.com,4,2027-04-02 00:00:00,2026-04-02 00:00:00,Certificate Downloaded,\n";
    let mut out = Loaded::default();
    load_bytes(
        "orders.csv",
        csv.as_bytes(),
        &ReadOptions::default(),
        &mut out,
    );
    assert!(out.errors.is_empty(), "{:?}", out.errors);
    let joined = Identities::build(out.records.clone());
    assert!(same(&joined, "O1", "O2") && same(&joined, "O3", "O4"));
    let apart = Identities::build_with(
        out.records,
        Grouping {
            separate_groups: true,
        },
    );
    assert!(same(&apart, "O1", "O3"));
    assert!(!same(&apart, "O1", "O2"));
    // A record without a group is a group of its own.
    assert!(!same(&apart, "O3", "O4") && !same(&apart, "O2", "O4"));
    let serving_o3 = || presenting("shop.x.com", "10.0.0.1", "3", 1_775_001_600, 1_806_537_600);
    // Joined, G2's later purchase makes G1's endpoint look undeployed.
    let v = judge_one(serving_o3(), &joined, &policy()).0;
    assert_eq!(v.status, Status::RenewedNotDeployed, "{}", v.detail);
    let v = judge_one(serving_o3(), &apart, &policy()).0;
    assert_eq!(v.status, Status::Current, "{}", v.detail);
    // Nor is G2's later certificate offered to take over from G1's expiring one.
    let csv = "orderNumber,domainName,certificateSerialNumber,certificateExpiryDate,orderDate,certificateStatus,groupNumber\n\
               P1,shop.x.com,11,2026-06-10 00:00:00,2025-06-10 00:00:00,Certificate Downloaded,G1\n\
               P2,shop.x.com,12,2027-05-01 00:00:00,2026-05-01 00:00:00,Certificate Downloaded,G2\n";
    let mut out = Loaded::default();
    load_bytes("o.csv", csv.as_bytes(), &ReadOptions::default(), &mut out);
    let apart = Identities::build_with(
        out.records,
        Grouping {
            separate_groups: true,
        },
    );
    let o = presenting(
        "shop.x.com",
        "10.0.0.1",
        "B",
        1_781_049_600 - 31_536_000,
        1_781_049_600,
    );
    let v = judge_one(o, &apart, &policy()).0;
    assert_eq!(v.status, Status::ExpiringSoon, "{}", v.detail);
    assert!(
        !v.findings.iter().any(|f| f == "replacement_in_records"),
        "{v:#?}"
    );
    // Expired, it is not told to put G2's in place either (only a certificate of its own
    // group would do).
    let mut later = policy();
    later.now = 1_781_049_600 + 86_400 * 3;
    let o = presenting(
        "shop.x.com",
        "10.0.0.1",
        "B",
        1_781_049_600 - 31_536_000,
        1_781_049_600,
    );
    let v = judge_one(o, &apart, &later).0;
    assert_eq!(v.status, Status::Expired, "{}", v.detail);
    assert!(!v.next_step.contains("P2"), "{}", v.next_step);
}

#[test]
fn renewal_by_name_set_even_across_issuer_and_key_change() {
    let i = ids(&format!(
        "{H}A,,www.x.com;x.com,0A,2025-01-01,2026-01-01,Old RSA CA,,Issued\n\
         B,,x.com;www.x.com,0B,2025-12-01,2026-12-01,New ECC CA,,Issued\n"
    ));
    assert!(same(&i, "A", "B"));
    assert_eq!(newest_id(&i, "A"), "B");
}

#[test]
fn san_superset_renews_but_subset_does_not() {
    let i = ids(&format!(
        "{H}A,,www.x.com,0A,2025-01-01,2026-01-01,CA,,Issued\n\
         B,,www.x.com;api.x.com,0B,2025-12-01,2026-12-01,CA,,Issued\n\
         C,,shop.x.com;cart.x.com,0C,2025-01-01,2026-01-01,CA,,Issued\n\
         D,,shop.x.com,0D,2025-12-01,2026-12-01,CA,,Issued\n"
    ));
    assert!(same(&i, "A", "B"));
    assert!(
        !same(&i, "C", "D"),
        "a newer certificate with fewer names is another identity"
    );
}

#[test]
fn reissue_lineage_and_explicit_links() {
    let i = ids(&format!(
        "{H}X1,ORD7,a.x.com,01,2025-01-01,2026-01-01,CA,,Issued\n\
         X2,ORD7R001,b.x.com,02,2025-06-01,2026-06-01,CA,,Issued\n\
         Y1,,c.x.com,03,2025-01-01,2026-01-01,CA,,Issued\n\
         Y2,,renamed.x.com,04,2025-06-01,2026-06-01,CA,Y1,Issued\n"
    ));
    assert!(same(&i, "X1", "X2"));
    assert!(same(&i, "Y1", "Y2"));
    assert!(!same(&i, "X1", "Y1"));
    assert_eq!(newest_id(&i, "Y1"), "Y2");
}

#[test]
fn wildcards_are_their_own_names_and_revoked_is_never_newest() {
    let i = ids(&format!(
        "{H}W1,,*.x.com,01,2025-01-01,2026-01-01,CA,,Issued\n\
         W2,,*.x.com,02,2025-06-01,2026-06-01,CA,,Revoked\n\
         P1,,www.x.com,03,2025-06-01,2026-06-01,CA,,Issued\n"
    ));
    assert!(same(&i, "W1", "W2"));
    assert!(!same(&i, "W1", "P1"));
    assert_eq!(newest_id(&i, "W2"), "W1");
    let covering = i.identities_for_host("api.x.com");
    assert_eq!(covering.len(), 1);
}

#[test]
fn ambiguous_serial_matches_only_with_agreeing_expiry() {
    let i = ids(&format!(
        "{H}A,,a.x.com,1234,2025-01-01,2026-01-01T00:00:00Z,CA,,Issued\n"
    ));
    let mut c = crate::model::CertInfo {
        serial: "4D2".into(),
        serial_dec: "1234".into(),
        subject_cn: None,
        subject: String::new(),
        sans: vec!["a.x.com".into()],
        issuer: String::new(),
        issuer_cn: None,
        not_before: String::new(),
        not_after: String::new(),
        not_before_unix: 0,
        not_after_unix: 1_767_225_600,
        sha256: "00".into(),
        sha1: "00".into(),
        spki_sha256: "00".into(),
        key_type: "EC".into(),
        key_bits: 256,
        key_curve: None,
        signature_algorithm: String::new(),
        must_staple: false,
        embedded_scts: None,
        key_usage: None,
        extended_key_usage: None,
    };
    assert_eq!(i.match_cert(&c, "a.x.com"), Some((0, true)));
    c.not_after_unix += 10 * 86_400;
    assert_eq!(i.match_cert(&c, "a.x.com"), None);
}

/// The verdict tests' policy: now is 2026-05-28, a day's grace, a 30-day renewal window.
fn policy() -> Policy {
    Policy {
        now: 1_780_000_000,
        grace_secs: 86_400,
        renewal_window: RenewalWindow::fixed(30 * 86_400),
    }
}

/// The records report after a sweep whose endpoints gave `served`.
fn rows_serving(i: &Identities, served: &[&Verdict], p: &Policy) -> Vec<IdentityRow> {
    let mut serving = Serving::default();
    for v in served {
        serving.note(v, i);
    }
    identity_rows(i, &serving, p)
}

/// What a name's endpoints say together, from their verdicts and whether each serves its
/// expected certificate.
/// The OCSP response a server staples for a certificate its CA revoked for key compromise.
fn stapled_revoked() -> Box<crate::model::OcspInfo> {
    Box::new(crate::model::OcspInfo {
        status: "revoked".into(),
        verified: true,
        this_update: None,
        next_update: None,
        revoked_at: Some("2026-05-27T10:00:00Z".into()),
        reason: Some("keyCompromise".into()),
        problem: None,
    })
}

/// What the CA's list says of a certificate it revoked for key compromise.
fn revoked_in_crl() -> Box<crate::model::RevocationInfo> {
    Box::new(crate::model::RevocationInfo {
        url: Some("http://crl.x.com/int.crl".into()),
        status: "revoked".into(),
        this_update: None,
        next_update: None,
        revoked_at: Some("2026-05-27T10:00:00Z".into()),
        reason: Some("keyCompromise".into()),
        problem: None,
        delta_url: None,
        delta_this_update: None,
    })
}

fn rollout_of(nodes: &[(Verdict, bool)]) -> Rollout {
    let mut rollout = Rollout::default();
    for (v, serves) in nodes {
        rollout.note(v, *serves);
    }
    rollout
}

/// An endpoint of `host` at `ip` that gave no certificate: `class`, `message`.
fn failing(host: &str, ip: &str, class: ErrorClass, message: &str) -> Box<Observation> {
    let mut o = presenting(host, ip, "0", 0, 0);
    o.cert = None;
    o.error = Some(crate::model::ErrorInfo {
        class,
        message: message.into(),
    });
    o
}

/// An endpoint of `host` at `ip` presenting a leaf with `serial` for `host`.
fn presenting(
    host: &str,
    ip: &str,
    serial: &str,
    not_before: i64,
    not_after: i64,
) -> Box<Observation> {
    let ip = ip.parse().expect("an address");
    crate::fleet::presenting(host, ip, serial, not_before, not_after)
}

/// Records of a.x.com with a key type each: the ECDSA certificate E, and the RSA
/// certificate A renewed as B.
const RSA_RENEWED_BESIDE_EC: &str =
    "Certificate ID,SANs,Serial,Valid From,Valid To,Issuer,Renewal Of,Status,Key Type\n\
     E,a.x.com,0E,2026-05-01,2027-05-01,CA,,Issued,EC\n\
     A,a.x.com,0A,2025-06-01,2026-12-20,CA,,Issued,RSA\n\
     B,a.x.com,0B,2026-05-02,2027-05-02,CA,A,Issued,RSA\n";

/// What a second look offering only RSA got at `o`'s endpoint: an RSA certificate with
/// `serial`, valid `not_before` to `not_after`, and `findings`.
fn rsa_look(
    o: &Observation,
    serial: &str,
    (nb, na): (i64, i64),
    findings: Vec<Finding>,
) -> Box<OtherKey> {
    let ip = o.ip.map(|ip| ip.to_string()).unwrap_or_default();
    let mut cert = presenting(&o.host, &ip, serial, nb, na).cert.take();
    if let Some(c) = cert.as_mut() {
        c.key_type = "RSA".into();
        c.key_bits = 2048;
    }
    Box::new(OtherKey::new(KeyFamily::Rsa, cert, findings))
}

#[test]
fn later_versions_that_cannot_be_deployed_are_named_with_what_to_do() {
    let p = policy();
    let served = || presenting("a.x.com", "10.0.0.1", "1", 1_748_736_000, 1_781_913_600);
    let judged = |later: &str| {
        let i = ids(&format!(
            "{H}A,,a.x.com,01,2025-06-01,2026-06-20,CA,,Issued\n{later}"
        ));
        judge_one(served(), &i, &p).0
    };
    // Before: "expires in 22 days and no renewal exists in the records".
    let v = judged("B,,a.x.com,02,2026-04-01,2027-04-01,CA,,Revoked\n");
    assert_eq!(v.status, Status::ExpiringSoon);
    assert!(
        v.detail
            .ends_with("expires in 22 days. Its renewal serial 2 (record B) was revoked."),
        "{}",
        v.detail
    );
    assert!(
        v.next_step.starts_with("Order a replacement"),
        "{}",
        v.next_step
    );
    // A renewal valid only after the served certificate expires leaves a gap.
    let v = judged("B,,a.x.com,02,2026-07-01,2027-07-01,CA,,Issued\n");
    assert_eq!(v.status, Status::ExpiringSoon);
    assert!(
        v.detail
            .contains("is valid only from 2026-07-01T00:00:00Z, after this certificate expires"),
        "{}",
        v.detail
    );
    assert!(
        v.next_step.starts_with("Reissue the renewal"),
        "{}",
        v.next_step
    );
    // ... one valid before then is to be deployed when it is.
    let v = judged("B,,a.x.com,02,2026-06-10,2027-06-10,CA,,Issued\n");
    assert!(
        v.detail
            .ends_with("Its renewal serial 2 (record B) is valid from 2026-06-10T00:00:00Z."),
        "{}",
        v.detail
    );
    assert!(
        v.next_step
            .starts_with("Deploy the renewal once it is valid (2026-06-10T00:00:00Z)"),
        "{}",
        v.next_step
    );
    // Nothing later: as before.
    let v = judged("");
    assert!(
        v.detail.ends_with("no renewal exists in the records."),
        "{}",
        v.detail
    );
}

#[test]
fn a_short_lived_certificate_is_expiring_soon_once_its_renewal_is_late() {
    const DAY: i64 = 86_400;
    let w = RenewalWindow::DEFAULT;
    // 30 days, or a third of a shorter lifetime.
    assert_eq!(w.of(Some(0), 6 * DAY), 2 * DAY);
    assert_eq!(w.of(Some(0), 47 * DAY), 47 * DAY / 3);
    assert_eq!(w.of(Some(0), 90 * DAY), 30 * DAY);
    assert_eq!(w.of(Some(0), 398 * DAY), 30 * DAY);
    // A record that gives no start date, and a window given on the command line, hold.
    assert_eq!(w.of(None, 6 * DAY), 30 * DAY);
    assert_eq!(
        RenewalWindow::fixed(14 * DAY).of(Some(0), 6 * DAY),
        14 * DAY
    );
    // A 47-day certificate in the records, served with 20 days left: current by default
    // (its client renews with ~16 left), expiring soon with 10 left, and with 20 under a
    // 30-day window given.
    let mut p = policy();
    p.renewal_window = w;
    let judged = |p: &Policy, left: i64| {
        let (nb, na) = (p.now + left * DAY - 47 * DAY, p.now + left * DAY);
        let i = ids(&format!(
            "{H}A,,a.x.com,01,{},{},CA,,Issued\n",
            crate::timefmt::rfc3339_unix(nb),
            crate::timefmt::rfc3339_unix(na)
        ));
        let o = presenting("a.x.com", "10.0.0.1", "1", nb, na);
        (
            judge_one(o.clone(), &i, p).0.status,
            record_free_statuses(&o, p.now, p.renewal_window),
        )
    };
    assert_eq!(judged(&p, 20), (Status::Current, vec![]));
    assert_eq!(
        judged(&p, 10),
        (Status::ExpiringSoon, vec![Status::ExpiringSoon])
    );
    p.renewal_window = RenewalWindow::fixed(30 * DAY);
    assert_eq!(
        judged(&p, 20),
        (Status::ExpiringSoon, vec![Status::ExpiringSoon])
    );
}

#[test]
fn a_renewal_that_dropped_the_name_is_told_before_the_name_breaks() {
    let p = policy();
    let judged = |not_after: &str, expires: i64| {
        let i = ids(&format!(
            "{H}A,,a.x.com;b.x.com,01,2025-06-01,{not_after},CA,,Issued\n\
             B,,b.x.com,02,2026-04-01,2027-04-01,CA,A,Issued\n"
        ));
        let o = presenting("a.x.com", "10.0.0.1", "1", 1_748_736_000, expires);
        judge_one(o, &i, &p).0
    };
    // Within the renewal window: before, "no renewal exists in the records".
    let v = judged("2026-06-20", 1_781_913_600);
    assert_eq!(v.status, Status::ExpiringSoon);
    assert!(v.findings.contains(&"renewal_drops_name".to_string()));
    assert!(
        v.detail
            .ends_with("Its renewal serial 2 (record B) does not cover a.x.com (names: b.x.com)."),
        "{}",
        v.detail
    );
    assert!(
        v.next_step.starts_with("Reissue the renewal with a.x.com"),
        "{}",
        v.next_step
    );
    // Months before: current, and the step to take before it expires.
    let v = judged("2026-12-20", 1_797_724_800);
    assert_eq!(v.status, Status::Current);
    assert!(v.findings.contains(&"renewal_drops_name".to_string()));
    assert!(
        v.next_step.starts_with(
            "Nothing to do yet. Before this certificate expires (2026-12-20T00:00:00Z): Reissue"
        ),
        "{}",
        v.next_step
    );
    // A name A never had (a wrongly bound certificate) and a bare address: nothing
    // was dropped.
    let i = ids(&format!(
        "{H}A,,a.x.com;b.x.com,01,2025-06-01,2026-12-20,CA,,Issued\n\
         B,,b.x.com,02,2026-04-01,2027-04-01,CA,A,Issued\n"
    ));
    let mut o = presenting("c.x.com", "10.0.0.1", "1", 1_748_736_000, 1_797_724_800);
    o.findings.push(Finding::HostnameMismatch);
    let v = judge_one(o, &i, &p).0;
    assert_eq!(v.status, Status::HostnameMismatch);
    assert!(!v.findings.contains(&"renewal_drops_name".to_string()));
    let mut o = presenting("10.0.0.1", "10.0.0.1", "1", 1_748_736_000, 1_797_724_800);
    o.sni = None;
    let v = judge_one(o, &i, &p).0;
    assert!(
        !v.findings.contains(&"renewal_drops_name".to_string()),
        "{:?}",
        v.findings
    );
}

#[test]
fn a_replaced_record_without_its_successor_is_renewed_not_deployed() {
    let i = ids(&format!(
        "{H}A,,a.x.com,01,2025-06-01,2026-12-20,CA,,Superseded\n"
    ));
    let o = presenting("a.x.com", "10.0.0.1", "1", 1_748_736_000, 1_797_724_800);
    let v = judge_one(o, &i, &policy()).0;
    // Before: current, "Nothing to do".
    assert_eq!(v.status, Status::RenewedNotDeployed, "{}", v.detail);
    assert!(v.findings.contains(&"successor_not_in_records".to_string()));
    assert_eq!(v.matched.map(|r| r.record_id).as_deref(), Some("A"));
    assert!(v.expected.is_none());
    assert!(
        v.next_step.starts_with("Find its replacement in the CLM"),
        "{}",
        v.next_step
    );
}

#[test]
fn expired_and_revoked_certificates_get_steps_that_fix_them() {
    let p = policy();
    // An expired certificate in no record: not "import it into the CLM".
    let i = ids(&format!(
        "{H}A,,b.x.com,01,2025-06-01,2026-09-20,CA,,Issued\n"
    ));
    let v = judge_one(
        presenting("a.x.com", "10.0.0.1", "FF", 1_700_000_000, 1_750_000_000),
        &i,
        &p,
    )
    .0;
    assert_eq!(v.status, Status::Expired);
    assert!(
        v.next_step.starts_with(
            "Replace it now: it expired 347 days ago. Order a certificate for a.x.com"
        ),
        "{}",
        v.next_step
    );
    let i = ids(&format!(
        "{H}A,,a.x.com,01,2025-06-01,2026-09-20,CA,,Issued\n"
    ));
    let v = judge_one(
        presenting("a.x.com", "10.0.0.1", "FF", 1_700_000_000, 1_750_000_000),
        &i,
        &p,
    )
    .0;
    assert!(
        v.next_step.starts_with(
            "Replace it now: it expired 347 days ago. Deploy the managed certificate (record A"
        ),
        "{}",
        v.next_step
    );
    // A revoked certificate with a renewal: renewed_not_deployed, and the detail says
    // it is revoked.
    let i = ids(&format!(
        "{H}A,,a.x.com,01,2025-06-01,2026-09-20,CA,,Revoked\n\
         B,,a.x.com,02,2026-04-01,2027-04-01,CA,,Issued\n"
    ));
    let v = judge_one(
        presenting("a.x.com", "10.0.0.1", "1", 1_748_736_000, 1_789_862_400),
        &i,
        &p,
    )
    .0;
    assert_eq!(v.status, Status::RenewedNotDeployed);
    assert!(
        v.detail.ends_with(
            "It is revoked according to record A: clients that check revocation refuse it already."
        ),
        "{}",
        v.detail
    );
}

#[test]
fn a_private_cas_serial_given_to_another_certificate_is_no_match() {
    let p = policy();
    let i = ids(&format!(
        "{H}D,,www.corp.example,02,2025-06-01,2027-01-01,Corp Dev CA,,Issued\n"
    ));
    // Another CA's certificate with the same small serial and name, another date.
    let mut o = presenting(
        "www.corp.example",
        "10.0.0.1",
        "2",
        1_748_736_000,
        1_785_542_400,
    );
    if let Some(c) = o.cert.as_mut() {
        c.issuer = "CN=Corp Prod CA".into();
        c.issuer_cn = Some("Corp Prod CA".into());
    }
    let v = judge_one(o, &i, &p).0;
    assert!(v.matched.is_none(), "{}", v.detail);
    assert_eq!(v.status, Status::Unmanaged);
    // Without an issuer column: the names differ, so still no match ...
    let i = ids(&format!(
        "{H}D,,www.corp.example,02,2025-06-01,2027-01-01,,,Issued\n"
    ));
    let o = presenting(
        "api.corp.example",
        "10.0.0.1",
        "2",
        1_748_736_000,
        1_785_542_400,
    );
    assert!(judge_one(o, &i, &p).0.matched.is_none());
    // ... but the same names with a date the export got wrong: the same certificate.
    let o = presenting(
        "www.corp.example",
        "10.0.0.1",
        "2",
        1_748_736_000,
        1_785_542_400,
    );
    let v = judge_one(o, &i, &p).0;
    assert_eq!(v.matched.map(|r| r.record_id).as_deref(), Some("D"));
    // A long random serial is the same certificate whatever the export's date says.
    let long = "5A0C3E1F00112233445566778899AABB";
    let i = ids(&format!(
        "{H}L,,www.corp.example,{long},2025-06-01,2027-01-01,Corp Dev CA,,Issued\n"
    ));
    let o = presenting(
        "api.corp.example",
        "10.0.0.1",
        long,
        1_748_736_000,
        1_785_542_400,
    );
    assert_eq!(
        judge_one(o, &i, &p)
            .0
            .matched
            .map(|r| r.record_id)
            .as_deref(),
        Some("L")
    );
}

#[test]
fn the_expected_certificate_of_a_name_in_several_identities_is_the_latest_issued() {
    // Q (an old SAN certificate, read first), P (dedicated) and W (a wildcard, issued
    // last) all cover www.x.com.
    let i = ids(&format!(
        "{H}Q,,a.x.com;www.x.com,01,2024-06-01,2026-09-01,CA,,Issued\n\
         P,,www.x.com,02,2025-06-01,2026-09-01,CA,,Issued\n\
         W,,*.x.com,03,2026-02-01,2027-02-01,CA,,Issued\n"
    ));
    let p = policy();
    let o = failing(
        "www.x.com",
        "10.0.0.1",
        ErrorClass::ConnectRefused,
        "refused",
    );
    let v = judge_one(o, &i, &p).0;
    // Before: Q, the first read.
    assert_eq!(v.expected.map(|r| r.record_id).as_deref(), Some("W"));
    // An unmanaged certificate for the name: the same.
    let o = presenting("www.x.com", "10.0.0.1", "FF", 1_748_736_000, 1_797_724_800);
    let v = judge_one(o, &i, &p).0;
    assert_eq!(v.status, Status::Unmanaged);
    assert_eq!(v.expected.map(|r| r.record_id).as_deref(), Some("W"));
}

#[test]
fn a_certificate_not_valid_yet_or_with_a_weak_key_is_untrusted_with_its_own_fix() {
    let i = ids(&format!(
        "{H}A,,a.x.com,01,2025-06-01,2026-09-01,CA,,Issued\n\
         B,,a.x.com,02,2026-06-01,2027-06-01,CA,,Issued\n"
    ));
    let p = policy();
    // B deployed before its notBefore (2026-06-01; now is 2026-05-28): before, current.
    let mut o = presenting("a.x.com", "10.0.0.1", "2", 1_780_272_000, 1_811_808_000);
    o.findings.push(Finding::NotYetValid);
    let v = judge_one(o, &i, &p).0;
    assert_eq!(v.status, Status::Untrusted, "{}", v.detail);
    assert!(
        v.detail
            .ends_with("clients will not trust it: it is valid only from 2026-06-01T00:00:00Z."),
        "{}",
        v.detail
    );
    assert!(v.next_step.starts_with("It is valid only from 2026-06-01T00:00:00Z: if it was deployed early, put the previous certificate back"), "{}", v.next_step);
    // A fault of the certificate itself, each with its own reissue; one issued under a root
    // Chrome has since distrusted is to come from another CA, whatever else.
    let distrusted = "Order its replacement from a CA that Chrome trusts";
    for (findings, detail, next) in [
        (&[Finding::WeakKey][..], "the certificate has an RSA key of 1024 bits", "Reissue it with a key clients accept"),
        // The leaf's key is sound (P-256): the small key is its CA's.
        (&[Finding::WeakKey][..], "the CA certificate \"CN=Old CA\" the server sends has an RSA key of 1024 bits, which current clients refuse (they need 2048 or more): its signatures cannot be checked", "Renew the CA named in the detail with a key clients accept"),
        (&[Finding::ChainInvalid][..], "the CA certificate \"CN=BP CA\" the server sends has an EC key on the brainpoolP256r1 curve, which browsers, Go and Java clients do not support (OpenSSL and Windows do): its signatures cannot be checked", "Renew the CA named in the detail with a key clients accept"),
        (&[Finding::ChainInvalid][..], "a signature in the chain does not verify", "Install the chain the CA issued with this certificate"),
        (&[Finding::ChainInvalid][..], "the CA certificate \"CN=X\" has a Key Usage without keyCertSign, so browsers, OpenSSL and Java clients refuse the certificates it signed (Go accepts them)", "Reissue the CA certificate named in the detail with keyCertSign"),
        (&[Finding::CtMissing], "the certificate, from a public CA, embeds Signed Certificate Timestamps from 0 Certificate Transparency log(s)", "Reissue it with Certificate Transparency logging on"),
        (&[Finding::KeyUsageIncompatible], "the certificate's Key Usage (keyEncipherment) lacks digitalSignature", "Reissue it with the key usage digitalSignature"),
        (&[Finding::ValidityTooLong], "the certificate, from a public CA, is valid for 730 days", "Order its replacement, valid for 398 days or fewer"),
        (&[Finding::CaDistrusted], "the certificate chains to HiPKI Root CA - G1 (Chunghwa Telecom), which Chrome no longer trusts", distrusted),
        (&[Finding::CaDistrusted, Finding::CtMissing], "", distrusted),
        (&[Finding::CaDistrusted, Finding::WeakKey], "", distrusted),
        (&[Finding::CaDistrusted, Finding::KeyUsageIncompatible], "", distrusted),
    ] {
        let mut o = presenting("a.x.com", "10.0.0.1", "1", 1_748_736_000, 1_788_220_800);
        o.findings.extend_from_slice(findings);
        o.trust_detail = Some(detail.into());
        if let Some(c) = o.cert.as_mut().filter(|_| detail.starts_with("the certificate has an RSA")) {
            (c.key_type, c.key_bits) = ("RSA".into(), 1024);
        }
        let v = judge_one(o, &i, &p).0;
        assert_eq!(v.status, Status::Untrusted, "{}", v.detail);
        assert!(v.next_step.starts_with(next), "{findings:?}: {}", v.next_step);
    }
}

#[test]
fn a_node_left_with_a_certificate_outside_the_records_is_a_partial_rollout() {
    // The pipeline case: the records are the PEM just deployed (N); one node of the
    // name still serves the old certificate, which is in no record.
    let i = ids(&format!(
        "{H}N,,a.x.com,0B,2026-05-01,2027-05-01,CA,,Issued\n"
    ));
    let p = policy();
    let mut rollout = Rollout::default();
    let mut vs = Vec::new();
    for (ip, serial, nb) in [
        ("10.0.0.1", "B", 1_777_593_600),
        ("10.0.0.2", "A", 1_751_328_000),
    ] {
        let (v, ok) = judge_one(
            presenting("a.x.com", ip, serial, nb, nb + 31_536_000),
            &i,
            &p,
        );
        rollout.note(&v, ok);
        vs.push(v);
    }
    for v in &mut vs {
        rollout.annotate(v, &i);
    }
    assert_eq!(vs[0].status, Status::Current);
    assert_eq!(vs[1].status, Status::Unmanaged);
    assert!(
        vs[1].findings.contains(&"partial_rollout".to_string()),
        "{:?}",
        vs[1].findings
    );
    assert!(
        vs[1].detail.ends_with(
            "Partial rollout: 1 of 2 endpoints of a.x.com:443 serve the new certificate (serial B)."
        ),
        "{}",
        vs[1].detail
    );
}

#[test]
fn an_expired_certificate_gets_no_grace_for_its_young_renewal() {
    let hour_ago = crate::timefmt::rfc3339_unix(policy().now - 3_600);
    let i = ids(&format!(
        "{H}A,,a.x.com,01,2025-05-01,2026-05-01,CA,,Issued\n\
         B,,a.x.com,02,{hour_ago},2027-05-01,CA,A,Issued\n"
    ));
    let o = presenting("a.x.com", "10.0.0.1", "1", 1_746_057_600, 1_777_593_600);
    let v = judge_one(o, &i, &policy()).0;
    // Before: deployment_pending, "verify again after the grace period", during an outage.
    assert_eq!(v.status, Status::RenewedNotDeployed, "{}", v.detail);
    assert!(v.findings.contains(&"expired".to_string()));
    assert!(
        v.next_step.starts_with(
            "The served certificate has expired, so clients fail now: deploy the renewal at once."
        ),
        "{}",
        v.next_step
    );
}

#[test]
fn a_certificate_clients_refuse_gets_no_grace_for_its_young_renewal() {
    // A is valid but served without its intermediate (or another name's, or an unknown
    // CA's): clients fail now, as with an expired one.
    let hour_ago = crate::timefmt::rfc3339_unix(policy().now - 3_600);
    let i = ids(&format!(
        "{H}A,,a.x.com,01,2025-05-01,2026-12-01,CA,,Issued\n\
         B,,a.x.com,02,{hour_ago},2027-05-01,CA,A,Issued\n"
    ));
    for f in [
        Finding::IncompleteChain,
        Finding::UnknownIssuer,
        Finding::WeakKey,
    ] {
        let mut o = presenting("a.x.com", "10.0.0.1", "1", 1_746_057_600, 1_796_083_200);
        o.findings.push(f);
        let v = judge_one(o, &i, &policy()).0;
        // Before: deployment_pending, "verify again after the grace period".
        assert_eq!(v.status, Status::RenewedNotDeployed, "{f:?}: {}", v.detail);
        assert!(v.next_step.starts_with(REFUSED_FIRST), "{}", v.next_step);
        // The records report neither: "verify again after" the grace period.
        let rows = rows_serving(&i, &[&v], &policy());
        assert!(
            !rows[0].findings.contains("deployment_pending"),
            "{rows:#?}"
        );
        assert!(
            rows[0].findings.contains("older_versions_served"),
            "{rows:#?}"
        );
    }
    // Trusted: the grace period holds, in the records report too.
    let o = presenting("a.x.com", "10.0.0.1", "1", 1_746_057_600, 1_796_083_200);
    let v = judge_one(o, &i, &policy()).0;
    let rows = rows_serving(&i, &[&v], &policy());
    assert!(rows[0].findings.contains("deployment_pending"), "{rows:#?}");
    // Trusted: the grace period holds.
    let o = presenting("a.x.com", "10.0.0.1", "1", 1_746_057_600, 1_796_083_200);
    assert_eq!(
        judge_one(o, &i, &policy()).0.status,
        Status::DeploymentPending
    );
}

/// Identities of `a.x.com`: A (served by [`serving_a`]) and its renewal B, issued
/// `issued` ago, by bot-7, whose deployment the records give as `deploy`.
fn renewed_with_deployment(issued: i64, deploy: &str) -> Identities {
    let when = crate::timefmt::rfc3339_unix(policy().now - issued);
    ids(&format!(
        "Certificate ID,SANs,Serial,Valid From,Valid To,Status,Renewal Of,Provisioning Bot,Deployment Status\n\
         A,a.x.com,01,2025-06-01,2026-06-20,Issued,,bot-7,Deployed\n\
         B,a.x.com,02,{when},2027-05-27,Issued,A,bot-7,{deploy}\n"
    ))
}

fn serving_a() -> Box<Observation> {
    presenting("a.x.com", "10.0.0.1", "1", 1_748_736_000, 1_781_913_600)
}

#[test]
fn what_the_records_say_of_the_renewals_deployment_shapes_the_verdict() {
    let (hour, days) = (3_600, 10 * 86_400);
    let judge = |age: i64, deploy: &str| {
        judge_one(
            serving_a(),
            &renewed_with_deployment(age, deploy),
            &policy(),
        )
        .0
    };
    // A failed, rolled back or finished deployment will not come by waiting: no grace.
    for (age, deploy, finding, step) in [
        (hour, "Deployment Failed", "deployment_failed", "The records show the renewal's deployment failed (\"Deployment Failed\"): read the provisioning bot's (bot-7) log"),
        (days, "Rolled Back", "deployment_rolled_back", "The records show the renewal's deployment was rolled back"),
        (hour, "Deployed", "records_say_deployed", "The records show the renewal as deployed (\"Deployed\"), but it is not what is served: the service was not reloaded"),
        (days, "Configuration Pending", "deployment_stuck", "The records still show the renewal's deployment waiting for configuration"),
        (days, "In Progress", "deployment_stuck", "The records still show the renewal's deployment as pending (\"In Progress\") past the grace period"),
        (days, "Not Deployed", "not_deployed_per_records", "The records show no deployment of the renewal"),
    ] {
        let v = judge(age, deploy);
        assert_eq!(v.status, Status::RenewedNotDeployed, "{deploy}: {}", v.detail);
        assert!(v.findings.iter().any(|f| f == finding), "{deploy}: {:?}", v.findings);
        assert!(v.next_step.starts_with(step), "{deploy}: {}", v.next_step);
        assert!(v.detail.ends_with(&format!(" The records show its deployment as \"{deploy}\".")), "{}", v.detail);
    }
    // Still running within the grace period: pending, the configuration named.
    let v = judge(hour, "Configuration Pending");
    assert_eq!(v.status, Status::DeploymentPending, "{}", v.detail);
    assert!(
        v.next_step
            .starts_with("The renewal's deployment waits for its configuration"),
        "{}",
        v.next_step
    );
    let v = judge(hour, "Pending");
    assert_eq!(v.status, Status::DeploymentPending, "{}", v.detail);
    assert!(
        v.next_step.starts_with("Provisioning may still be running"),
        "{}",
        v.next_step
    );
    // Words the tool does not know, or none: the usual advice, the words in the detail.
    for deploy in ["Gamma", ""] {
        let v = judge(days, deploy);
        assert_eq!(v.status, Status::RenewedNotDeployed);
        assert!(
            v.next_step
                .starts_with("Check the renewal order's linked provisioning bot (bot-7)"),
            "{}",
            v.next_step
        );
        assert_eq!(
            v.detail.contains("\"Gamma\""),
            !deploy.is_empty(),
            "{}",
            v.detail
        );
    }
}

/// TLS Protect Cloud: one renewal (02 of 01), deployed to a.x.com:443, failed on
/// b.x.com:8443.
fn deployed_here_failed_there() -> Identities {
    ids(r#"[
        {"certificateId": "A", "serialNumber": "01", "managedCertificateId": "M",
         "validityStart": "2025-06-01", "validityEnd": "2026-06-20",
         "subjectAlternativeNamesByType": {"dNSName": ["a.x.com", "b.x.com"]}},
        {"certificateId": "B", "serialNumber": "02", "managedCertificateId": "M",
         "validityStart": "2026-04-01", "validityEnd": "2027-04-01",
         "subjectAlternativeNamesByType": {"dNSName": ["a.x.com", "b.x.com"]},
         "instances": [
           {"hostname": "a.x.com", "port": 443, "deploymentStatus": "DEPLOYED"},
           {"hostname": "b.x.com", "port": 8443, "deploymentStatus": "FAILED"}]}
    ]"#)
}

#[test]
fn an_export_with_a_status_per_endpoint_tells_each_endpoint_its_own() {
    let i = deployed_here_failed_there();
    let p = policy();
    let old = |host: &str, port: u16| {
        let mut o = presenting(host, "10.0.0.1", "1", 1_748_736_000, 1_781_913_600);
        o.port = port;
        judge_one(o, &i, &p).0
    };
    let a = old("a.x.com", 443);
    assert_eq!(a.status, Status::RenewedNotDeployed, "{}", a.detail);
    assert!(
        a.findings.iter().any(|f| f == "records_say_deployed"),
        "{:?}",
        a.findings
    );
    assert!(a.detail.ends_with("as \"DEPLOYED\"."), "{}", a.detail);
    let b = old("b.x.com", 8443);
    assert!(
        b.findings.iter().any(|f| f == "deployment_failed"),
        "{:?}",
        b.findings
    );
    assert!(b.detail.ends_with("as \"FAILED\"."), "{}", b.detail);
    // An endpoint the export names no status for gets the record's (any failure).
    let c = old("b.x.com", 443);
    assert!(
        c.findings.iter().any(|f| f == "deployment_failed"),
        "{:?}",
        c.findings
    );
    assert!(
        c.detail.ends_with("as \"DEPLOYED;FAILED\"."),
        "{}",
        c.detail
    );
}

#[test]
fn the_records_report_tells_a_missing_renewal_by_the_status_of_the_endpoint_left_behind() {
    // The renewal failed on b.x.com:8443 and was deployed to a.x.com:443, where the old
    // version is still served: the records report speaks of a.x.com's deployment (said
    // done, yet the old one is served), not of b.x.com's failure.
    let i = deployed_here_failed_there();
    let p = policy();
    let mut serving = Serving::default();
    let o = presenting("a.x.com", "10.0.0.1", "1", 1_748_736_000, 1_781_913_600);
    serving.note(&judge_one(o, &i, &p).0, &i);
    let rows = identity_rows(&i, &serving, &p);
    assert!(
        rows[0].findings.contains("records_say_deployed"),
        "{:?}",
        rows[0]
    );
    assert!(
        !rows[0].findings.contains("deployment_failed"),
        "{:?}",
        rows[0]
    );
}

#[test]
fn a_status_per_endpoint_is_outdated_only_where_the_failed_endpoint_was_scanned() {
    let i = ids(r#"[
        {"certificateId": "B", "serialNumber": "02",
         "validityStart": "2026-04-01", "validityEnd": "2027-04-01",
         "subjectAlternativeNamesByType": {"dNSName": ["a.x.com", "b.x.com"]},
         "instances": [
           {"hostname": "a.x.com", "port": 443, "deploymentStatus": "DEPLOYED"},
           {"hostname": "b.x.com", "port": 8443, "deploymentStatus": "FAILED"}]}
    ]"#);
    let p = policy();
    let serving_at = |hosts: &[(&str, u16)]| {
        let mut serving = Serving::default();
        for (host, port) in hosts {
            let mut o = presenting(host, "10.0.0.1", "2", 1_775_001_600, 1_806_537_600);
            o.port = *port;
            serving.note(&judge_one(o, &i, &p).0, &i);
        }
        identity_rows(&i, &serving, &p)
    };
    // Only the deployed endpoint was scanned: the failed one says nothing yet.
    assert_eq!(serving_at(&[("a.x.com", 443)])[0].findings, "");
    // The failed endpoint serves it too: the records are wrong.
    let rows = serving_at(&[("a.x.com", 443), ("b.x.com", 8443)]);
    assert_eq!(rows[0].findings, "deploy_status_outdated");
}

#[test]
fn the_records_report_names_what_the_records_say_of_a_deployment() {
    let p = policy();
    let row = |i: &Identities, o: Box<Observation>| {
        let mut serving = Serving::default();
        serving.note(&judge_one(o, i, &p).0, i);
        identity_rows(i, &serving, &p)
            .into_iter()
            .find(|r| r.names == "a.x.com")
            .unwrap()
    };
    let failed = renewed_with_deployment(3_600, "Deployment Failed");
    let r = row(&failed, serving_a());
    assert_eq!(
        r.findings,
        "renewed_seen_nowhere;older_versions_served;deployment_failed"
    );
    assert!(
        r.next_step
            .starts_with("The records show the renewal's deployment failed"),
        "{}",
        r.next_step
    );
    // Served where scanned while the records say it failed: the records are wrong.
    let served = presenting("a.x.com", "10.0.0.1", "2", p.now - 3_600, 1_811_376_000);
    let r = row(&failed, served);
    assert_eq!(r.findings, "deploy_status_outdated");
    assert!(
        r.next_step
            .contains("correct the deployment status in the CLM"),
        "{}",
        r.next_step
    );
    // A deployment still running within the grace period is only pending.
    let r = row(&renewed_with_deployment(3_600, "Pending"), serving_a());
    assert_eq!(
        r.findings,
        "renewed_seen_nowhere;older_versions_served;deployment_pending"
    );
}

#[test]
fn a_current_endpoint_with_a_stapling_fault_is_told_what_to_fix() {
    let i = ids(&format!(
        "{H}A,,a.x.com,01,2025-06-01,2026-12-20,CA,,Issued\n"
    ));
    let p = policy();
    let with = |finding: Finding, info: Option<crate::model::OcspInfo>| {
        let mut o = presenting("a.x.com", "10.0.0.1", "1", 1_748_736_000, 1_797_724_800);
        o.findings.push(finding);
        o.ocsp = info.map(Box::new);
        judge_one(o, &i, &p).0
    };
    let v = with(Finding::MustStapleMissing, None);
    assert_eq!(v.status, Status::Current);
    assert!(
        v.next_step
            .starts_with("Nothing to do for the certificate; turn OCSP stapling on"),
        "{}",
        v.next_step
    );
    let stale = crate::model::OcspInfo {
        status: "good".into(),
        verified: true,
        this_update: None,
        next_update: Some("2026-05-01T00:00:00Z".into()),
        revoked_at: None,
        reason: None,
        problem: None,
    };
    let v = with(Finding::OcspStale, Some(stale.clone()));
    assert!(
        v.detail
            .ends_with("The OCSP response the server staples expired at 2026-05-01T00:00:00Z (its nextUpdate): clients ignore it."),
        "{}",
        v.detail
    );
    // One whose nextUpdate is further than Firefox looks, outdated by its age.
    let long = crate::model::OcspInfo {
        this_update: Some("2026-04-20T00:00:00Z".into()),
        next_update: Some("2026-05-04T00:00:00Z".into()),
        ..stale.clone()
    };
    let w = with(Finding::OcspStale, Some(long));
    assert!(
        w.detail
            .ends_with("The OCSP response the server staples was made at 2026-04-20T00:00:00Z with a nextUpdate (2026-05-04T00:00:00Z) more than 10 days later, and Firefox takes a response for 10 days at most: clients ignore it."),
        "{}",
        w.detail
    );
    // One without nextUpdate, outdated by its age.
    let undated = crate::model::OcspInfo {
        this_update: Some("2026-04-20T00:00:00Z".into()),
        next_update: None,
        ..stale
    };
    let w = with(Finding::OcspStale, Some(undated));
    assert!(
        w.detail
            .ends_with("The OCSP response the server staples was made at 2026-04-20T00:00:00Z without a nextUpdate (Firefox takes such a response for a day after it is made): clients ignore it."),
        "{}",
        w.detail
    );
    assert!(
        v.next_step.contains("reaches the CA's OCSP responder"),
        "{}",
        v.next_step
    );
}

#[test]
fn a_chain_ending_below_its_root_is_told_to_install_the_ca_or_give_the_root() {
    let i = ids(&format!(
        "{H}A,,a.x.com,01,2025-06-01,2026-12-20,CA,,Issued\n"
    ));
    let p = policy();
    let with = |detail: String| {
        let mut o = presenting("a.x.com", "10.0.0.1", "1", 1_748_736_000, 1_797_724_800);
        o.findings.push(Finding::UnknownIssuer);
        o.trust_detail = Some(detail);
        judge_one(o, &i, &p).0
    };
    // The policy CA of a three-level hierarchy left out of one node's chain file.
    let below = crate::fleet::Pki::three_level("Verdict", 3650).unwrap();
    let leaf = below
        .issue(&crate::fleet::LeafSpec::new(&["a.x.com"], 1, 10, 80))
        .unwrap();
    let info = crate::cert::cert_info(&leaf.chain[0]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root.pem");
    std::fs::write(&root, below.root_pem()).unwrap();
    let judge = crate::trust::TrustJudge::new(&[root], false, true, None).unwrap();
    let r = judge.judge(
        &leaf.chain[..2],
        &info,
        Some("a.x.com"),
        p.now.max(info.not_before_unix),
    );
    let v = with(r.detail.unwrap_or_default());
    assert_eq!(v.status, Status::Untrusted);
    assert!(
        v.next_step.starts_with("If the issuer named in the detail is an intermediate CA (a policy CA of a three-level hierarchy), install it in the server's chain"),
        "{}",
        v.next_step
    );
    // A private root past its date: renew the root, not the chain.
    let old = crate::fleet::Pki::with_root_days_left("Verdict Old", -5).unwrap();
    let leaf = old
        .issue(&crate::fleet::LeafSpec::new(&["a.x.com"], 1, 10, 80))
        .unwrap();
    let info = crate::cert::cert_info(&leaf.chain[0]).unwrap();
    let root = dir.path().join("old.pem");
    std::fs::write(&root, old.root_pem()).unwrap();
    let judge = crate::trust::TrustJudge::new(&[root], false, true, None).unwrap();
    let now = ::time::OffsetDateTime::now_utc().unix_timestamp();
    let r = judge.judge(&leaf.chain, &info, Some("a.x.com"), now);
    let mut o = presenting("a.x.com", "10.0.0.1", "1", 1_748_736_000, 1_797_724_800);
    o.findings = r.findings;
    o.trust_detail = r.detail;
    let v = judge_one(o, &i, &p).0;
    assert_eq!(v.status, Status::Untrusted);
    assert!(
        v.next_step
            .starts_with("Renew the private root named in the detail"),
        "{}",
        v.next_step
    );
    // A root nobody trusts is another matter.
    let v = with("the chain ends at the root \"CN=Lab Root\", which is not trusted".into());
    assert!(
        v.next_step
            .starts_with("Use a certificate from a CA the clients trust"),
        "{}",
        v.next_step
    );
}

#[test]
fn a_current_endpoint_whose_chain_dates_need_attention_is_told_what_to_fix() {
    let i = ids(&format!(
        "{H}A,,a.x.com,01,2025-06-01,2026-12-20,CA,,Issued\n"
    ));
    let p = policy();
    let expiring = "the CA certificate \"CN=Policy CA\" the server sends expires on 2026-07-01T00:00:00Z, before the certificate (2026-12-20T00:00:00Z): from then clients that do not fetch a current copy of it (most clients other than browsers) refuse the chain";
    let expired = "the server also sends \"CN=R2\" issued by \"CN=R1\", which expired on 2026-01-01T00:00:00Z: clients that trust the root build their path around it, older ones that follow the chain as sent (OpenSSL before 1.1.0) refuse it";
    let with = |findings: &[Finding], detail: &str| {
        let mut o = presenting("a.x.com", "10.0.0.1", "1", 1_748_736_000, 1_797_724_800);
        o.findings.extend_from_slice(findings);
        o.trust_detail = Some(detail.to_string());
        judge_one(o, &i, &p).0
    };
    let v = with(&[Finding::ChainExpiresFirst], expiring);
    assert_eq!(v.status, Status::Current);
    assert!(
        v.detail.ends_with(" The CA certificate \"CN=Policy CA\" the server sends expires on 2026-07-01T00:00:00Z, before the certificate (2026-12-20T00:00:00Z): from then clients that do not fetch a current copy of it (most clients other than browsers) refuse the chain."),
        "{}",
        v.detail
    );
    assert!(
        v.next_step.starts_with("Nothing to do for the certificate; before the CA certificate named in the detail expires, replace it: an intermediate in the server's chain with the CA's current one"),
        "{}",
        v.next_step
    );
    assert!(v.findings.contains(&"chain_expires_first".to_string()));
    // With the date the judgement carries, the step says when and which.
    let mut o = presenting("a.x.com", "10.0.0.1", "1", 1_748_736_000, 1_797_724_800);
    o.findings.push(Finding::ChainExpiresFirst);
    o.trust_detail = Some(expiring.to_string());
    o.chain_expires = Some(Box::new(crate::model::ChainExpiry {
        subject: "CN=Policy CA".into(),
        root: false,
        not_after: "2026-07-01T00:00:00Z".into(),
        not_after_unix: 1_782_864_000,
    }));
    let v = judge_one(o, &i, &p).0;
    assert!(
        v.next_step.starts_with("Nothing to do for the certificate; before 2026-07-01T00:00:00Z, replace \"CN=Policy CA\" in the server's chain with the CA's current copy"),
        "{}",
        v.next_step
    );
    let both = format!("{expiring}; {expired}");
    let v = with(
        &[Finding::ChainExpiresFirst, Finding::ExpiredInChain],
        &both,
    );
    assert!(
        v.detail.ends_with("(OpenSSL before 1.1.0) refuse it."),
        "{}",
        v.detail
    );
    assert!(
        v.next_step.ends_with("; remove the expired certificate from the server's chain file (keep the leaf and the intermediates issued with it) and reload, then verify again."),
        "{}",
        v.next_step
    );
    // A chain sent out of order: current, with the order to write in the detail and the
    // step to write it so.
    let disorder = "the server sends its chain out of order: the certificate is to be followed by \"CN=Issuing CA\", then \"CN=Policy CA\", each right after the one it issued, as TLS 1.2 requires; browsers and current TLS libraries sort a chain themselves, older and embedded clients that take it as sent refuse it";
    let v = with(&[Finding::ChainOrder], disorder);
    assert_eq!(v.status, Status::Current);
    assert!(v.findings.contains(&"chain_order".to_string()));
    assert!(
        v.detail.ends_with(" The server sends its chain out of order: the certificate is to be followed by \"CN=Issuing CA\", then \"CN=Policy CA\", each right after the one it issued, as TLS 1.2 requires; browsers and current TLS libraries sort a chain themselves, older and embedded clients that take it as sent refuse it."),
        "{}",
        v.detail
    );
    assert_eq!(
        v.next_step,
        "Nothing to do for the certificate; put the server's chain file in order (the certificate, then the CA that issued it, then that CA's issuer, as the detail lists them; the root may be left out) and reload, then verify again."
    );
    // The verdict on the endpoint on `port` with TLSA facts `dane` and `finding`.
    let with_dane = |port: u16, finding: Finding, dane: crate::model::DaneInfo| {
        let mut o = presenting("a.x.com", "10.0.0.1", "1", 1_748_736_000, 1_797_724_800);
        o.port = port;
        o.findings.push(finding);
        o.dane = Some(Box::new(dane));
        judge_one(o, &i, &p).0
    };
    // TLSA records that still name the old key: current, with the record to publish.
    let v = with_dane(
        443,
        Finding::DaneMismatch,
        tlsa_facts("3 1 1 8a1f0000…0000c2e0"),
    );
    assert_eq!(v.status, Status::Current);
    assert!(v.findings.contains(&"dane_mismatch".to_string()));
    assert!(
        v.detail.ends_with(" Its TLSA records (_443._tcp.a.x.com) name none of the certificates it serves: no match among 1 record(s): 3 1 1 8a1f0000…0000c2e0 (DNSSEC-validated); clients that validate DANE, such as mail servers sending to it, refuse it."),
        "{}",
        v.detail
    );
    assert_eq!(
        v.next_step,
        format!("Nothing to do for the certificate; publish the TLSA record for the key served (_443._tcp.a.x.com 3 1 1 {}) beside the current ones, and remove those that name no certificate served once their TTL has passed, then verify again.", "00".repeat(32))
    );
    // Records that pin a CA (the one before an intermediate rotation): the served CA's
    // record first, keeping to that scheme.
    let v = with_dane(
        443,
        Finding::DaneMismatch,
        crate::model::DaneInfo {
            ca_pins: vec!["c0".repeat(32)],
            issuer_key: Some("b1".repeat(32)),
            ..tlsa_facts("2 1 1 c0c0c0c0…c0c0c0c0")
        },
    );
    assert_eq!(
        v.next_step,
        format!("Nothing to do for the certificate; publish the TLSA record for the CA that issued the certificate served (_443._tcp.a.x.com 2 1 1 {}), as the current records pin CAs, or for the key served (_443._tcp.a.x.com 3 1 1 {}), beside the current ones, and remove those that name no certificate served once their TTL has passed; or, if the records pin a CA the server does not send (its root), add that CA's certificate to the server's chain, then verify again.", "b1".repeat(32), "00".repeat(32))
    );
    assert!(
        v.detail.ends_with("refuse it; a record pinning a CA (2 1 1) names it only when the server sends it (RFC 7671, section 5.2.2), so one pinning the root, or an intermediate the server leaves out, matches nothing."),
        "{}",
        v.detail
    );
    // Records of an unsigned zone, told by a validating resolver: DANE is off.
    let v = with_dane(
        443,
        Finding::DaneUnusable,
        crate::model::DaneInfo {
            validated: false,
            insecure: true,
            stale_if_signed: false,
            unusable: vec!["3 1 1 8a1f0000…0000c2e0: not DNSSEC-signed".into()],
            ..tlsa_facts("3 1 1 8a1f0000…0000c2e0")
        },
    );
    assert!(v.findings.contains(&"dane_unusable".to_string()));
    assert!(
        v.detail.ends_with(" Its TLSA records (_443._tcp.a.x.com) are not DNSSEC-signed (the resolver validates DNSSEC and did not vouch for them): DANE clients ignore them, so the DANE they were published for is off (mail servers send over unauthenticated TLS)."),
        "{}",
        v.detail
    );
    assert_eq!(
        v.next_step,
        "Nothing to do for the certificate; sign the zone holding _443._tcp.a.x.com with DNSSEC (its DS published at the parent), or remove the records, then verify again."
    );
    // The same naming another key: signing the zone as it is would stop mail.
    let v = with_dane(
        443,
        Finding::DaneUnusable,
        crate::model::DaneInfo {
            insecure: true,
            stale_if_signed: true,
            unusable: vec!["3 1 1 8a1f0000…0000c2e0: not DNSSEC-signed".into()],
            ..tlsa_facts("3 1 1 8a1f0000…0000c2e0")
        },
    );
    assert!(
        v.detail.ends_with("(mail servers send over unauthenticated TLS); and they name none of the certificates it serves (3 1 1 8a1f0000…0000c2e0), so signing the zone as they are would stop mail from senders that validate DANE."),
        "{}",
        v.detail
    );
    assert_eq!(
        v.next_step,
        format!("Nothing to do for the certificate; sign the zone holding _443._tcp.a.x.com with DNSSEC (its DS published at the parent), after publishing the TLSA record for the key served (_443._tcp.a.x.com 3 1 1 {}) in place of the current ones, or remove the records, then verify again.", "00".repeat(32))
    );
    // Records that fail DNSSEC validation at a mail server: mail is deferred.
    let v = with_dane(
        25,
        Finding::DaneBogus,
        crate::model::DaneInfo::failed(
            "the TLSA question for _25._tcp.a.x.com was answered Server Failure (6 DNSSEC Bogus)"
                .into(),
        ),
    );
    assert_eq!(v.status, Status::Current);
    assert!(v.findings.contains(&"dane_bogus".to_string()));
    assert!(
        v.detail.ends_with(" Its TLSA records (_25._tcp.a.x.com) fail DNSSEC validation: the TLSA question for _25._tcp.a.x.com was answered Server Failure (6 DNSSEC Bogus); senders that validate DANE cannot tell whether records exist, and defer mail to it until they can."),
        "{}",
        v.detail
    );
    assert_eq!(
        v.next_step,
        "Nothing to do for the certificate; have the zone holding _25._tcp.a.x.com signed again so that its records validate (signatures expired, or its DNSKEY and its parent's DS no longer agree), then verify again."
    );
    // Records no DANE client uses (a digest cut short): DANE is off, told with the record
    // to publish in their place.
    let v = with_dane(
        443,
        Finding::DaneUnusable,
        crate::model::DaneInfo {
            unusable: vec!["3 1 1 8a1f0000…000000c2: a SHA-256 digest of 31 bytes, not 32".into()],
            ..tlsa_facts("3 1 1 8a1f0000…000000c2")
        },
    );
    assert_eq!(v.status, Status::Current);
    assert!(v.findings.contains(&"dane_unusable".to_string()));
    assert!(
        v.detail.ends_with(" Its TLSA records (_443._tcp.a.x.com) are none of them usable by a DANE client: none of 1 record(s) usable: 3 1 1 8a1f0000…000000c2: a SHA-256 digest of 31 bytes, not 32 (DNSSEC-validated); clients that validate DANE treat it as publishing none and authenticate nothing (mail servers send over unauthenticated TLS)."),
        "{}",
        v.detail
    );
    assert_eq!(
        v.next_step,
        format!("Nothing to do for the certificate; publish the TLSA record for the key served (_443._tcp.a.x.com 3 1 1 {}) in place of the unusable ones, then verify again.", "00".repeat(32))
    );
    // The same records found at the target of the name's alias: that is where to publish.
    let v = with_dane(
        443,
        Finding::DaneMismatch,
        crate::model::DaneInfo {
            validated: false,
            at_alias: Some("_443._tcp.edge.provider.example".into()),
            ..tlsa_facts("3 1 1 8a1f0000…0000c2e0")
        },
    );
    assert!(
        v.detail.contains(" Its TLSA records (_443._tcp.edge.provider.example) name none of the certificates it serves: no match among 1 record(s): 3 1 1 8a1f0000…0000c2e0, published at _443._tcp.edge.provider.example (the name's alias target) (the resolver did not say they are DNSSEC-authentic);"),
        "{}",
        v.detail
    );
    assert!(
        v.next_step.contains(
            "publish the TLSA record for the key served (_443._tcp.edge.provider.example 3 1 1 "
        ),
        "{}",
        v.next_step
    );
    // Untrusted for another reason: the words are the detail's already, once.
    let mut o = presenting("a.x.com", "10.0.0.1", "1", 1_748_736_000, 1_797_724_800);
    o.findings = vec![Finding::WeakKey, Finding::ExpiredInChain];
    if let Some(c) = &mut o.cert {
        (c.key_type, c.key_bits) = ("RSA".into(), 1024);
    }
    o.trust_detail = Some(format!("the certificate has an RSA key of 1024 bits, which current clients refuse (they need 2048 or more); {expired}"));
    let v = judge_one(o, &i, &p).0;
    assert_eq!(v.status, Status::Untrusted);
    assert_eq!(
        v.detail.matches("OpenSSL before 1.1.0").count(),
        1,
        "{}",
        v.detail
    );
    assert!(
        v.next_step
            .starts_with("Reissue it with a key clients accept"),
        "{}",
        v.next_step
    );
}

#[test]
fn an_endpoint_back_on_an_older_certificate_than_at_the_previous_sweep_says_so() {
    // A renewed as B; at the previous sweep the endpoint served B, now A again.
    let i = ids(&format!(
        "{H}A,,a.x.com,01,2025-06-01,2026-12-20,CA,,Issued\nB,,a.x.com,02,2026-05-01,2027-05-01,CA,A,Issued\n"
    ));
    let p = policy();
    let back = |ip: Option<[u8; 4]>| {
        let mut o = presenting("a.x.com", "10.0.0.1", "1", 1_748_736_000, 1_797_724_800);
        o.findings.push(Finding::RolledBack);
        o.previous = Some(Box::new(crate::model::PreviousCert {
            serial: "2".into(),
            not_before: "2026-05-01T00:00:00Z".into(),
            not_before_unix: 1_777_593_600,
            scan_time: "2026-05-27T02:00:00Z".into(),
            ip: ip.map(Into::into),
            client_auth: None,
        }));
        judge_one(o, &i, &p).0
    };
    // An address of the name not swept then (its addresses rotate): the detail says where.
    let v = back(Some([10, 0, 0, 7]));
    assert!(
        v.detail.contains(
            "At the previous sweep (2026-05-27T02:00:00Z) the name served serial 2, issued 2026-05-01T00:00:00Z, later than this one at 10.0.0.7 (this address was not swept then; every address of the name served a later certificate than this one): the deployment went back"
        ),
        "{}",
        v.detail
    );
    let v = back(None);
    assert_eq!(v.status, Status::RenewedNotDeployed, "{}", v.detail);
    assert!(v.findings.contains(&"rolled_back".to_string()));
    assert!(
        v.detail.contains(
            "At the previous sweep (2026-05-27T02:00:00Z) it served serial 2, issued 2026-05-01T00:00:00Z, later than this one: the deployment went back"
        ),
        "{}",
        v.detail
    );
    assert!(
        v.next_step.ends_with(
            "Find what put the older certificate back (the provisioning bot's rollback, a restore) first, or the next deployment is undone too."
        ),
        "{}",
        v.next_step
    );
}

#[test]
fn a_certificate_the_ca_says_is_revoked_is_revoked_whatever_the_records_say() {
    let i = ids(&format!(
        "{H}A,,a.x.com,01,2025-06-01,2026-12-20,CA,,Issued\n"
    ));
    let p = policy();
    let served = || presenting("a.x.com", "10.0.0.1", "1", 1_748_736_000, 1_797_724_800);
    // The CA's word in the OCSP response the server staples, and in its list (--crl).
    let mut stapled = served();
    stapled.findings.push(Finding::OcspRevoked);
    stapled.ocsp = Some(stapled_revoked());
    let mut listed = served();
    listed.findings.push(Finding::CrlRevoked);
    listed.crl = Some(revoked_in_crl());
    // And its responder, asked (--ocsp).
    let mut answered = served();
    answered.findings.push(Finding::OcspResponderRevoked);
    let mut answer = revoked_in_crl();
    answer.url = Some("http://ocsp.x.com".into());
    answered.ocsp_responder = Some(answer);
    for (o, said, source) in [
        (
            stapled,
            "The CA's OCSP response, stapled by the server,",
            "the OCSP response its servers staple",
        ),
        (
            answered,
            "The CA's OCSP responder",
            "the CA's OCSP responder",
        ),
        (
            listed,
            "The CA's revocation list (CRL)",
            "the CA's revocation list",
        ),
    ] {
        assert_eq!(
            record_free_statuses(&o, p.now, p.renewal_window),
            [Status::Revoked]
        );
        // An older version valid today is not what to serve in its place (the key may be
        // the same), nor the revoked one itself: nothing is expected but a new certificate.
        let older = ids(&format!(
            "{H}A,,a.x.com,01,2025-06-01,2026-12-20,CA,,Issued\n\
             Z,,a.x.com,00,2025-03-01,2027-03-01,CA,,Issued\n"
        ));
        let v = judge_one(o.clone(), &older, &p).0;
        assert_eq!(
            (v.status, v.expected),
            (Status::Revoked, None),
            "{}",
            v.detail
        );
        let v = judge_one(o, &i, &p).0;
        assert_eq!(v.status, Status::Revoked, "{}", v.detail);
        assert!(v.expected.is_none(), "{:?}", v.expected);
        assert!(
            v.detail.ends_with(&format!(
                "{said} says it was revoked on 2026-05-27T10:00:00Z (keyCompromise)."
            )),
            "{}",
            v.detail
        );
        assert!(
            v.next_step.starts_with("Deploy a valid certificate"),
            "{}",
            v.next_step
        );
        // The records report names the identity whose newest certificate the CA revoked.
        let rows = rows_serving(&i, &[&v], &p);
        assert_eq!(rows[0].findings, "revoked_by_ca");
        assert!(
            rows[0].next_step.starts_with(&format!(
                "The CA revoked the newest certificate (on 2026-05-27T10:00:00Z, says {source}), while the records show it as \"Issued\""
            )),
            "{}",
            rows[0].next_step
        );
    }
    // A list that could not say changes nothing.
    let mut o = served();
    o.findings.push(Finding::CrlUnavailable);
    assert_eq!(judge_one(o, &i, &p).0.status, Status::Current);
}

#[test]
fn a_backdated_renewal_ordered_today_is_still_pending() {
    // The CA set notBefore to the start of yesterday; the order was placed this
    // morning: within the day's grace (now is 2026-05-28T20:26:40Z).
    let i = ids(
        "Certificate ID,SANs,Serial,Valid From,Valid To,Order Date,Status\n\
         A,a.x.com,01,2025-06-01,2026-06-20,2025-05-30,Issued\n\
         B,a.x.com,02,2026-05-27,2027-05-27,2026-05-28T10:00:00Z,Issued\n",
    );
    let o = presenting("a.x.com", "10.0.0.1", "1", 1_748_736_000, 1_781_913_600);
    let v = judge_one(o, &i, &policy()).0;
    assert_eq!(v.status, Status::DeploymentPending, "{}", v.detail);
}

#[test]
fn the_records_report_names_a_renewal_that_cannot_be_deployed_too() {
    let i = ids(&format!(
        "{H}A,,a.x.com,01,2025-06-01,2026-06-20,CA,,Issued\n\
         B,,a.x.com,02,2026-04-01,2027-04-01,CA,,Revoked\n"
    ));
    let p = policy();
    let mut serving = Serving::default();
    let o = presenting("a.x.com", "10.0.0.1", "1", 1_748_736_000, 1_781_913_600);
    serving.note(&judge_one(o, &i, &p).0, &i);
    let rows = identity_rows(&i, &serving, &p);
    let a = rows.iter().find(|r| r.names == "a.x.com").unwrap();
    // Before: expiring_no_renewal, "Expiring with no renewal in the records".
    assert_eq!(a.findings, "renewal_revoked");
    assert_eq!(
        a.next_step,
        "Expiring. Its renewal serial 2 (record B) was revoked. Order a replacement for the revoked renewal (and find out why it was revoked), deploy it and reload the service, then verify again."
    );
}

#[test]
fn an_expired_renewal_is_nothing_to_deploy() {
    let i = ids(&format!(
        "{H}A,,a.x.com,01,2024-01-01,2025-01-01,CA,,Issued\n\
         B,,a.x.com,02,2025-01-01,2026-01-01,CA,,Issued\n"
    ));
    let o = presenting("a.x.com", "10.0.0.1", "1", 1_704_067_200, 1_735_689_600);
    let v = judge_one(o, &i, &policy()).0;
    // Before: renewed_not_deployed, "re-run provisioning" (of a certificate that expired).
    assert_eq!(v.status, Status::Expired, "{}", v.detail);
    assert!(v.findings.contains(&"renewal_expired".to_string()));
    assert!(!v.findings.contains(&"renewed_not_deployed".to_string()));
    assert_eq!(v.expected.map(|r| r.record_id).as_deref(), Some("B"));
    assert!(v.detail.ends_with("Its latest version in the records, serial 2 (record B), expired too, on 2026-01-01T00:00:00Z."), "{}", v.detail);
    assert!(
        v.next_step.starts_with("Renew the certificate now"),
        "{}",
        v.next_step
    );
    // A later, short-lived version that expired while the served one is valid: what is
    // served is what is valid (before: renewed_not_deployed, deploy the expired one).
    let i = ids(&format!(
        "{H}A,,a.x.com,01,2025-06-01,2027-06-01,CA,,Issued\n\
         B,,a.x.com,02,2025-09-01,2025-12-01,CA,,Issued\n"
    ));
    let o = presenting("a.x.com", "10.0.0.1", "1", 1_748_736_000, 1_811_808_000);
    let v = judge_one(o, &i, &policy()).0;
    assert_eq!(v.status, Status::Current, "{}", v.detail);
    assert_eq!(v.expected.map(|r| r.record_id).as_deref(), Some("A"));
}

#[test]
fn every_finding_a_verdict_adds_is_in_the_vocabulary() {
    // `--fail-on` refuses names outside it, so a finding added here and not there could
    // never fail a run.
    let src = [include_str!("mod.rs"), include_str!("rollout.rs")].concat();
    let mut named = std::collections::BTreeSet::new();
    // Findings are pushed with `findings.push(..)`, the later versions' come as string
    // literals starting renewal_, and the unreachable one in a `vec!`.
    for (open, close) in [
        ("findings.push(\"", "\".into())"),
        ("\"renewal_", "\""),
        ("findings: vec![\"", "\".into()]"),
    ] {
        for (at, _) in src.match_indices(open) {
            let rest = &src[at + open.len()..];
            let Some(end) = rest.find(close) else {
                continue;
            };
            let name = if open.contains("renewal_") {
                format!("renewal_{}", &rest[..end])
            } else {
                rest[..end].to_string()
            };
            if !name.ends_with('_') && name.chars().all(|c| c.is_ascii_lowercase() || c == '_') {
                named.insert(name);
            }
        }
    }
    for n in &named {
        assert!(
            VERDICT_FINDINGS.contains(&n.as_str()),
            "{n} is not in VERDICT_FINDINGS"
        );
    }
    assert!(named.len() >= 10, "{named:?}");
}

#[test]
fn a_certificate_later_than_the_records_is_not_to_be_replaced() {
    let i = ids(&format!(
        "{H}A,,a.x.com,01,2025-06-01,2026-06-01,CA,,Issued\n"
    ));
    let p = policy();
    // Issued after A, not in the records: the export predates it.
    let v = judge_one(
        presenting("a.x.com", "10.0.0.1", "FF", 1_772_323_200, 1_788_220_800),
        &i,
        &p,
    )
    .0;
    assert_eq!(v.status, Status::Unmanaged, "{}", v.detail);
    assert!(v.findings.contains(&"newer_than_records".to_string()));
    assert!(v.findings.contains(&"names_managed_elsewhere".to_string()));
    assert!(v.expected.is_none());
    assert!(v.detail.contains("issued 2026-03-01T00:00:00Z (notBefore), after the newest version in the records: record A (serial 1, issued 2025-06-01T00:00:00Z)"), "{}", v.detail);
    assert!(
        v.next_step.starts_with("Do not replace it"),
        "{}",
        v.next_step
    );
    // Issued before A: a stray old certificate, to be replaced.
    let v = judge_one(
        presenting("a.x.com", "10.0.0.1", "FE", 1_717_200_000, 1_782_864_000),
        &i,
        &p,
    )
    .0;
    assert_eq!(v.status, Status::Unmanaged);
    assert!(!v.findings.contains(&"newer_than_records".to_string()));
    assert!(v.next_step.starts_with("Replace it"), "{}", v.next_step);
    // Issued on A's day when the records give only dates: not provably later.
    let v = judge_one(
        presenting(
            "a.x.com",
            "10.0.0.1",
            "FD",
            1_748_736_000 + 3_600,
            1_782_864_000,
        ),
        &i,
        &p,
    )
    .0;
    assert!(!v.findings.contains(&"newer_than_records".to_string()));
}

#[test]
fn an_ipv6_endpoint_this_host_has_no_route_to_is_not_blamed() {
    let i = ids(&format!("{H}B,,www.x.com,0B,,,CA,,Issued\n"));
    let o = failing(
        "www.x.com",
        "2001:db8::1",
        ErrorClass::ConnectError,
        &format!("connect to [2001:db8::1]:443: {}", crate::model::NO_ROUTE),
    );
    let v = judge_one(o, &i, &policy()).0;
    assert_eq!(v.status, Status::Unreachable);
    assert!(
        v.next_step.starts_with("This host has no route to www.x.com:443 (2001:db8::1)'s network, so the endpoint was not tried: scan from a host with IPv6"),
        "{}",
        v.next_step
    );
}

#[test]
fn without_records_the_second_certificate_counts_too() {
    let p = policy();
    let mut o = presenting("a.x.com", "10.0.0.1", "1", 1_748_736_000, 1_811_808_000);
    assert!(record_free_statuses(&o, p.now, p.renewal_window).is_empty());
    // The RSA certificate beside it expired: a run failing on `expired` fails.
    let rsa = presenting("a.x.com", "10.0.0.1", "2", 1_717_200_000, 1_748_736_000)
        .cert
        .clone();
    o.other_key = Some(Box::new(crate::model::OtherKey::new(
        KeyFamily::Rsa,
        rsa,
        vec![Finding::Expired],
    )));
    assert_eq!(
        record_free_statuses(&o, p.now, p.renewal_window),
        vec![Status::Expired]
    );
}

#[test]
fn a_revoked_certificate_served_to_the_other_key_type_is_the_rows_subject() {
    // The ECDSA certificate is the newest; the RSA one beside it, which RSA clients get,
    // is on the CA's list.
    let i = ids(&format!(
        "{H}A,,a.x.com,01,2025-06-01,2027-05-30,CA,,Issued\nB,,a.x.com,02,2025-06-01,2027-05-30,CA,,Issued\n"
    ));
    let p = policy();
    let dates = (1_748_736_000, 1_811_808_000);
    let mut o = presenting("a.x.com", "10.0.0.1", "1", dates.0, dates.1);
    let mut rsa = rsa_look(&o, "2", dates, vec![Finding::CrlRevoked]);
    rsa.crl = Some(revoked_in_crl());
    o.other_key = Some(rsa);
    let v = judge_one(o, &i, &p).0;
    assert_eq!(v.status, Status::Revoked, "{}", v.detail);
    assert_eq!(
        v.observation.cert.as_ref().map(|c| c.serial.as_str()),
        Some("2")
    );
    assert!(
        v.detail.contains(
            "The CA's revocation list (CRL) says it was revoked on 2026-05-27T10:00:00Z (keyCompromise)."
        ),
        "{}",
        v.detail
    );
}

#[test]
fn a_rollback_of_the_other_key_types_certificate_is_told_by_its_verdict() {
    // RSA A was renewed as B, which the previous sweep's second look got; tonight's got A
    // again, beside the ECDSA certificate E, unchanged.
    let i = ids(RSA_RENEWED_BESIDE_EC);
    let p = policy();
    let mut o = presenting("a.x.com", "10.0.0.1", "E", 1_777_593_600, 1_809_129_600);
    let dates = (1_748_736_000, 1_797_724_800);
    let mut rsa = rsa_look(&o, "A", dates, vec![Finding::RolledBack]);
    rsa.previous = Some(Box::new(crate::model::PreviousCert {
        serial: "B".into(),
        not_before: "2026-05-01T00:00:00Z".into(),
        not_before_unix: 1_777_593_600,
        scan_time: "2026-05-27T02:00:00Z".into(),
        ip: None,
        client_auth: None,
    }));
    o.other_key = Some(rsa);
    let v = judge_one(o, &i, &p).0;
    assert_eq!(v.status, Status::RenewedNotDeployed, "{}", v.detail);
    assert_eq!(
        v.observation.cert.as_ref().map(|c| c.serial.as_str()),
        Some("A")
    );
    assert!(
        v.findings.contains(&"rolled_back".to_string()),
        "{:?}",
        v.findings
    );
    assert!(
        v.detail
            .contains("At the previous sweep (2026-05-27T02:00:00Z) it served serial B"),
        "{}",
        v.detail
    );
    // The ECDSA certificate's own view keeps its own (no) previous one.
    let other = v.observation.other_key.as_deref().expect("the other key");
    assert!(other.previous.is_none() && other.findings.is_empty());
}

#[test]
fn what_only_the_other_key_types_certificate_has_is_the_endpoints_too() {
    // Both certificates current; the TLSA records pin only the ECDSA key, so DANE clients
    // that get the RSA certificate refuse it.
    let i = ids(
        "Certificate ID,SANs,Serial,Valid From,Valid To,Issuer,Status,Key Type\n\
         E,a.x.com,0E,2026-05-01,2027-05-01,CA,Issued,EC\n\
         R,a.x.com,0F,2026-05-02,2027-05-02,CA,Issued,RSA\n",
    );
    let mut o = presenting("a.x.com", "10.0.0.1", "E", 1_777_593_600, 1_809_129_600);
    let dates = (1_777_680_000, 1_809_216_000);
    let mut rsa = rsa_look(&o, "F", dates, vec![Finding::DaneMismatch]);
    rsa.dane = Some(Box::new(crate::model::DaneInfo {
        records: vec!["3 1 1 8a1f0000…0000c2e0".into()],
        matched: None,
        validated: true,
        key_pins: Vec::new(),
        only_key_pins: false,
        issuer_pinned: false,
        ca_above: false,
        issuer_key: None,
        insecure: false,
        stale_if_signed: false,
        ca_pins: Vec::new(),
        unusable: Vec::new(),
        error: None,
        at_alias: None,
    }));
    o.other_key = Some(rsa);
    let v = judge_one(o, &i, &policy()).0;
    assert_eq!(v.status, Status::Current, "{}", v.detail);
    assert_eq!(v.findings, ["dane_mismatch", "dual_certificates"]);
    assert!(
        v.detail.contains(" RSA clients get serial F: current. Serves the newest certificate of its identity: serial F ")
            && v.detail.ends_with(" Its TLSA records (_443._tcp.a.x.com) name none of the certificates it serves to RSA clients: no match among 1 record(s): 3 1 1 8a1f0000…0000c2e0 (DNSSEC-validated); clients that validate DANE, such as mail servers sending to it, refuse it."),
        "{}",
        v.detail
    );
    assert!(
        v.next_step.starts_with("For RSA clients: Nothing to do for the certificate; publish the TLSA record for the key served"),
        "{}",
        v.next_step
    );
    // What --fail-on reads.
    let fail = crate::failon::FailOn::parse("dane_mismatch").expect("a finding");
    assert!(fail.verdict(&v));
}

#[test]
fn the_other_certificates_stale_staple_is_told_with_its_own_dates() {
    // RSA A renewed as B (not deployed), its staple stale since 2026-05-20; one node behind
    // the address staples a stale response for the ECDSA certificate E, since 2026-05-10.
    let i = ids(RSA_RENEWED_BESIDE_EC);
    let stale = |next: &str| crate::model::OcspInfo {
        status: "good".into(),
        verified: true,
        this_update: None,
        next_update: Some(next.into()),
        revoked_at: None,
        reason: None,
        problem: None,
    };
    let mut o = presenting("a.x.com", "10.0.0.1", "E", 1_777_593_600, 1_809_129_600);
    o.findings.push(Finding::OcspStale);
    o.samples = Some(Box::new(Samples {
        connections: 2,
        same: 2,
        failed: 0,
        error: None,
        others: Vec::new(),
        staples: vec![crate::model::StapledApart {
            seen: 1,
            ocsp: Some(Box::new(stale("2026-05-10T00:00:00Z"))),
            findings: vec![Finding::OcspStale],
        }],
        staples_fine: 0,
        chains_fine: 0,
    }));
    let mut rsa = rsa_look(
        &o,
        "A",
        (1_748_736_000, 1_797_724_800),
        vec![Finding::OcspStale],
    );
    rsa.ocsp = Some(Box::new(stale("2026-05-20T00:00:00Z")));
    o.other_key = Some(rsa);
    let v = judge_one(o, &i, &policy()).0;
    assert_eq!(v.status, Status::RenewedNotDeployed, "{}", v.detail);
    assert_eq!(
        v.observation.cert.as_ref().map(|c| c.serial.as_str()),
        Some("A")
    );
    assert!(
        v.detail.contains("The OCSP response the server staples expired at 2026-05-20T00:00:00Z (its nextUpdate): clients ignore it."),
        "{}",
        v.detail
    );
    assert!(!v.detail.contains("2026-05-10"), "{}", v.detail);
}

#[test]
fn a_handshake_timeout_is_not_called_a_failed_handshake() {
    let i = ids(&format!("{H}B,,www.x.com,0B,,,CA,,Issued\n"));
    let o = failing(
        "www.x.com",
        "10.0.0.1",
        ErrorClass::TlsTimeout,
        "no TLS handshake within 10s",
    );
    let v = judge_one(o, &i, &policy()).0;
    assert_eq!(v.status, Status::Unreachable);
    assert!(
        v.next_step
            .starts_with("www.x.com:443 (10.0.0.1) accepted the connection but completed no TLS handshake in time"),
        "{}",
        v.next_step
    );
}

#[test]
fn a_mail_server_refusing_starttls_is_told_to_enable_it() {
    let i = ids(&format!("{H}B,,mail.x.com,0B,,,CA,,Issued\n"));
    let p = policy();
    let mut o = presenting("mail.x.com", "10.0.0.1", "B", 1_767_225_600, 1_798_761_600);
    o.cert = None;
    o.port = 25;
    o.starttls = Some(crate::model::Starttls::Smtp);
    o.error = Some(crate::model::ErrorInfo {
        class: ErrorClass::StarttlsError,
        message: "SMTP STARTTLS: the server does not offer STARTTLS".into(),
    });
    let v = judge_one(o, &i, &p).0;
    assert_eq!(v.status, Status::Unreachable);
    assert_eq!(
        v.detail,
        "No certificate from mail.x.com:25 (10.0.0.1): SMTP STARTTLS: the server does not offer STARTTLS."
    );
    assert!(
        v.next_step.starts_with(
            "mail.x.com:25 (10.0.0.1) did not agree to start TLS over SMTP: enable TLS (STARTTLS) on the service"
        ),
        "{}",
        v.next_step
    );
}

#[test]
fn a_server_without_a_certificate_for_the_name_is_told_to_bind_one() {
    // As `openssl s_server -servername_fatal` and SNI-strict proxies answer.
    let i = ids(&format!("{H}B,,shop.x.com,0B,,,CA,,Issued\n"));
    let p = policy();
    let o = failing(
        "shop.x.com",
        "10.0.0.1",
        ErrorClass::TlsAlert,
        "server sent alert UnrecognisedName",
    );
    let v = judge_one(o, &i, &p).0;
    assert_eq!(v.status, Status::Unreachable);
    assert!(
        v.next_step.starts_with(
            "shop.x.com:443 (10.0.0.1) serves no certificate for the name shop.x.com: bind one"
        ),
        "{}",
        v.next_step
    );
}

#[test]
fn a_renewal_beside_the_old_certificate_is_judged_on_its_own_chain() {
    // The RSA renewal is deployed beside the old ECDSA certificate, but without its
    // intermediate: the endpoint is not "renewed_not_deployed", and not current either.
    let i = ids(&format!(
        "{H}A,,www.x.com,0A,2026-01-01,,CA,,Issued\nB,,www.x.com,0B,2026-02-01,,CA,,Issued\n"
    ));
    let p = policy();
    let (nb, na) = (1_767_225_600, 1_798_761_600);
    let mut o = presenting("www.x.com", "10.0.0.1", "A", nb, na);
    let mut renewal = presenting("www.x.com", "10.0.0.1", "B", nb, na).cert.take();
    if let Some(c) = &mut renewal {
        c.key_type = "RSA".into();
    }
    o.other_key = Some(Box::new(crate::model::OtherKey {
        trust_detail: Some("the server did not send the intermediate".into()),
        ..crate::model::OtherKey::new(KeyFamily::Rsa, renewal, vec![Finding::IncompleteChain])
    }));
    let (v, serves_expected) = judge_one(o, &i, &p);
    assert_eq!(v.status, Status::Untrusted, "{}", v.detail);
    assert!(serves_expected);
    assert_eq!(
        v.observation.cert.as_ref().map(|c| c.serial.as_str()),
        Some("B")
    );
    assert!(v.findings.contains(&"dual_certificates".to_string()));
    assert!(v.findings.contains(&"incomplete_chain".to_string()));
    assert!(v.detail.starts_with("To RSA clients: "), "{}", v.detail);
    assert!(
        v.detail.ends_with("ECDSA clients get serial A: current."),
        "{}",
        v.detail
    );
    assert!(
        v.next_step.starts_with("Install the full chain"),
        "{}",
        v.next_step
    );
    // Without the second look it is the old certificate, renewed.
    let o = presenting("www.x.com", "10.0.0.1", "A", nb, na);
    assert_eq!(judge_one(o, &i, &p).0.status, Status::RenewedNotDeployed);
}

#[test]
fn a_certificate_bound_to_a_name_it_does_not_cover_is_a_binding_fault_not_a_missed_renewal() {
    // A proxy's default certificate answering for a name it has none for: its own
    // renewal is not what this name needs. A renewal that added the name is.
    let i = ids(&format!(
        "{H}A,,www.x.com,0A,2026-01-01,,CA,,Issued\n\
         B,,www.x.com;new.x.com,0B,2026-02-01,,CA,,Issued\n"
    ));
    let p = policy();
    let (nb, na) = (1_767_225_600, 1_798_761_600);
    let mut o = presenting("other.x.com", "10.0.0.1", "A", nb, na);
    o.findings.push(Finding::HostnameMismatch);
    let v = judge_one(o, &i, &p).0;
    assert_eq!(v.status, Status::HostnameMismatch, "{}", v.detail);
    assert!(!v.findings.contains(&"renewed_not_deployed".to_string()));
    assert!(
        v.detail
            .contains("Its own identity has a later version: serial B"),
        "{}",
        v.detail
    );
    assert!(v
        .next_step
        .starts_with("Check the SNI / virtual-host binding"));
    let mut o = presenting("new.x.com", "10.0.0.1", "A", nb, na);
    o.findings.push(Finding::HostnameMismatch);
    let v = judge_one(o, &i, &p).0;
    assert_eq!(v.status, Status::RenewedNotDeployed, "{}", v.detail);
    assert_eq!(
        v.expected.as_ref().and_then(|e| e.serial.as_deref()),
        Some("B")
    );
}

/// `presenting` with the key type `key_type` and, when given, a second look's
/// certificate `other` of the other key type.
fn presenting_key(
    host: &str,
    serial: &str,
    key_type: &str,
    other: Option<&str>,
) -> Box<Observation> {
    let (nb, na) = (1_767_225_600, 1_798_761_600);
    let mut o = presenting(host, "10.0.0.1", serial, nb, na);
    if let Some(c) = &mut o.cert {
        c.key_type = key_type.into();
    }
    let family = KeyFamily::of_key_type(key_type).map(KeyFamily::other);
    o.other_key = other.zip(family).map(|(serial, offered)| {
        let mut cert = presenting(host, "10.0.0.1", serial, nb, na).cert.take();
        if let Some(c) = &mut cert {
            c.key_type = if offered == KeyFamily::Rsa {
                "RSA"
            } else {
                "EC"
            }
            .into();
        }
        Box::new(crate::model::OtherKey::new(offered, cert, Vec::new()))
    });
    o
}

#[test]
fn key_types_in_the_records_choose_the_second_look_and_the_stale_version() {
    let i = std::sync::Arc::new(ids(
        "Certificate ID,SANs,Serial,Valid From,Status,Key Type\n\
         A,www.x.com,0A,2026-01-01,Issued,ECDSA P-256\n\
         B,www.x.com,0B,2026-02-01,Issued,RSA 2048\n\
         C,api.x.com,0C,2026-01-01,Issued,EC\n\
         D,api.x.com,0D,2026-02-01,Issued,prime256v1\n\
         E,old.x.com,0E,2026-01-01,Issued,\n\
         F,old.x.com,0F,2026-02-01,Issued,\n\
         G,dual.x.com,1A,2026-01-01,Issued,EC\n\
         H,dual.x.com,1B,2026-02-01,Issued,RSA\n\
         J,dual.x.com,1C,2026-03-01,Issued,RSA\n\
         K,mig.x.com,2A,2026-01-01,Issued,RSA\n\
         L,mig.x.com,2B,2026-02-01,Issued,EC\n",
    ));
    let p = policy();
    let look = RenewalLook::new(i.clone(), p.now, false);
    let wanted = |host: &str, serial: &str| look.wanted(&presenting_key(host, serial, "EC", None));
    // The records know an RSA version of the name: asked even while serving the newest.
    assert_eq!(wanted("www.x.com", "A"), Some(KeyFamily::Rsa));
    // The renewal is ECDSA too: no RSA offer can reach it.
    assert_eq!(wanted("api.x.com", "C"), None);
    assert_eq!(wanted("api.x.com", "D"), None);
    // Key types unknown: the renewal may be the other one.
    assert_eq!(wanted("old.x.com", "E"), Some(KeyFamily::Rsa));
    assert_eq!(wanted("old.x.com", "F"), None);
    // G (ECDSA) beside J, the newest (RSA): H, the later version between them, is RSA,
    // so G is still the newest of its kind (without key types it was stale).
    let (v, serves) = judge_one(presenting_key("dual.x.com", "1A", "EC", Some("1C")), &i, &p);
    assert_eq!(v.status, Status::Current, "{}", v.detail);
    assert!(serves);
    assert!(v.findings.contains(&"dual_certificates".to_string()));
    // ... and H beside the ECDSA one is stale: J renewed it.
    let (v, _) = judge_one(presenting_key("dual.x.com", "1A", "EC", Some("1B")), &i, &p);
    assert_eq!(v.status, Status::RenewedNotDeployed, "{}", v.detail);
    assert_eq!(
        v.observation.cert.as_ref().map(|c| c.serial.as_str()),
        Some("1B")
    );
    assert_eq!(
        v.expected.as_ref().and_then(|e| e.serial.as_deref()),
        Some("1C")
    );
    assert!(
        v.detail.ends_with("ECDSA clients get serial 1A: current."),
        "{}",
        v.detail
    );
    // A migration to ECDSA not deployed: the server has only the old RSA certificate and
    // refuses the ECDSA offer, so the newest (of the other key type) is what it lacks.
    let mut o = presenting_key("mig.x.com", "2A", "RSA", None);
    o.other_key = Some(Box::new(crate::model::OtherKey {
        error: Some(crate::model::ErrorInfo {
            class: ErrorClass::TlsProtocol,
            message: "server sent alert HandshakeFailure".into(),
        }),
        ..crate::model::OtherKey::new(KeyFamily::Ecdsa, None, Vec::new())
    }));
    let v = judge_one(o, &i, &p).0;
    assert_eq!(v.status, Status::RenewedNotDeployed, "{}", v.detail);
    assert_eq!(
        v.expected.as_ref().and_then(|e| e.serial.as_deref()),
        Some("2B")
    );
}

#[test]
fn a_bare_address_refused_is_told_to_be_listed_with_its_name() {
    let i = ids(&format!("{H}B,,www.x.com,0B,,,CA,,Issued\n"));
    let refused = |host: &str| {
        failing(
            host,
            "10.0.0.9",
            ErrorClass::TlsAlert,
            "server sent alert AccessDenied",
        )
    };
    let mut o = refused("10.0.0.9");
    o.sni = None;
    let v = judge_one(o, &i, &policy()).0;
    assert_eq!(v.status, Status::Unreachable, "{}", v.detail);
    assert!(v.next_step.contains("(NAME@ADDRESS)"), "{}", v.next_step);
    // Asked for a name, the refusal is the listener's.
    let v = judge_one(refused("www.x.com"), &i, &policy()).0;
    assert!(!v.next_step.contains("NAME@ADDRESS"), "{}", v.next_step);
    // An Envoy gateway closes the connection instead of sending an alert.
    let closed = |host: &str| {
        failing(
            host,
            "10.0.0.9",
            ErrorClass::TlsError,
            crate::model::CLOSED_IN_HANDSHAKE,
        )
    };
    let mut o = closed("10.0.0.9");
    o.sni = None;
    let v = judge_one(o, &i, &policy()).0;
    assert!(v.next_step.contains("(NAME@ADDRESS)"), "{}", v.next_step);
    let v = judge_one(closed("www.x.com"), &i, &policy()).0;
    assert!(!v.next_step.contains("NAME@ADDRESS"), "{}", v.next_step);
    // Another handshake failure of a bare address is not for want of a name.
    let mut o = failing(
        "10.0.0.9",
        "10.0.0.9",
        ErrorClass::TlsError,
        "TLS handshake failed: invalid peer certificate: BadEncoding",
    );
    o.sni = None;
    let v = judge_one(o, &i, &policy()).0;
    assert!(!v.next_step.contains("NAME@ADDRESS"), "{}", v.next_step);
}

#[test]
fn a_legacy_server_with_the_newest_certificate_is_told_to_upgrade_its_tls() {
    let i = ids(&format!("{H}B,,www.x.com,0B,,,CA,,Issued\n"));
    let p = policy();
    let mut o = presenting("www.x.com", "10.0.0.1", "B", 1_767_225_600, 1_798_761_600);
    o.findings.push(Finding::LegacyTls);
    o.tls = Some(crate::model::TlsInfo {
        version: "TLSv1.0".into(),
        cipher_suite: "TLS_RSA_WITH_AES_128_CBC_SHA".into(),
        alpn: None,
        kx_group: None,
    });
    let v = judge_one(o, &i, &p).0;
    // The certificate is right, so the status stays `current`; the next step is not
    // "nothing to do".
    assert_eq!(v.status, Status::Current, "{}", v.detail);
    assert!(v.findings.contains(&"legacy_tls".to_string()));
    assert!(
        v.detail.contains("TLSv1.0, TLS_RSA_WITH_AES_128_CBC_SHA"),
        "{}",
        v.detail
    );
    assert!(
        v.next_step
            .contains("upgrade the server's TLS configuration"),
        "{}",
        v.next_step
    );
}

#[test]
fn a_server_with_a_bundle_as_its_chain_is_told_to_serve_only_its_chain() {
    let i = ids(&format!("{H}B,,www.x.com,0B,,,CA,,Issued\n"));
    let mut o = presenting("www.x.com", "10.0.0.1", "B", 1_767_225_600, 1_798_761_600);
    o.findings.push(Finding::OversizedChain);
    let v = judge_one(o, &i, &policy()).0;
    assert_eq!(v.status, Status::Current, "{}", v.detail);
    assert!(v.findings.contains(&"oversized_chain".to_string()));
    assert!(v.detail.contains("chain over 64 KiB"), "{}", v.detail);
    assert!(v.next_step.contains("not a CA bundle"), "{}", v.next_step);
}

#[test]
fn the_records_report_names_ties_and_ignores_a_second_record_of_one_certificate() {
    // P and Q tie (no dates, no link); S and S2 are two records of one certificate.
    let i = ids(&format!(
        "{H}P,,api.x.com,0C,,,CA,,Issued\n\
         Q,,api.x.com,0D,,,CA,,Issued\n\
         S,,www.x.com,0E,,,CA,,Issued\n\
         S2,,www.x.com,0E,,,CA,,Issued\n"
    ));
    let p = policy();
    let (nb, na) = (1_767_225_600, 1_798_761_600);
    let mut serving = Serving::default();
    for (host, ip, serial) in [
        ("api.x.com", "10.0.0.1", "C"),
        ("api.x.com", "10.0.0.2", "D"),
        ("www.x.com", "10.0.0.3", "E"),
    ] {
        serving.note(
            &judge_one(presenting(host, ip, serial, nb, na), &i, &p).0,
            &i,
        );
    }
    let rows = identity_rows(&i, &serving, &p);
    let api = rows.iter().find(|r| r.names == "api.x.com").unwrap();
    assert_eq!(api.findings, "newest_ambiguous");
    assert_eq!(api.stale_at, "");
    assert_eq!(api.deployed_at.split(';').count(), 2, "{}", api.deployed_at);
    assert!(
        api.next_step.starts_with("Versions tie on dates"),
        "{}",
        api.next_step
    );
    let www = rows.iter().find(|r| r.names == "www.x.com").unwrap();
    assert_eq!((www.findings.as_str(), www.stale_at.as_str()), ("", ""));
    assert_eq!(www.next_step, "Nothing to do.");
}

#[test]
fn the_records_report_tells_unscanned_from_served_nowhere_and_waits_for_a_young_renewal() {
    // Y renews X an hour before "now" (policy: a day's grace); Z is served nowhere, its
    // name's endpoint presents another certificate; W's names were not scanned; V is a
    // wildcard whose name's endpoint was unreachable.
    let p = policy();
    let hour_ago = crate::timefmt::rfc3339_unix(p.now - 3_600);
    let i = ids(&format!(
        "{H}X,,a.x.com,0A,2025-06-01,2026-12-01,CA,,Issued\n\
         Y,,a.x.com,0B,{hour_ago},2027-06-01,CA,X,Issued\n\
         Z,,b.x.com,0C,2025-06-01,2026-12-01,CA,,Issued\n\
         W,,c.x.com,0D,2025-06-01,2026-12-01,CA,,Issued\n\
         V,,*.w.x.com,0E,2025-06-01,2026-12-01,CA,,Issued\n\
         Q,,d.x.com,0F,2024-05-01,2025-05-01,CA,,Issued\n\
         R,,d.x.com,10,{hour_ago},2027-06-01,CA,Q,Issued\n"
    ));
    let (nb, na) = (1_748_736_000, 1_796_083_200);
    let mut serving = Serving::default();
    serving.note(
        &judge_one(presenting("a.x.com", "10.0.0.1", "A", nb, na), &i, &p).0,
        &i,
    );
    serving.note(
        &judge_one(presenting("b.x.com", "10.0.0.2", "FF", nb, na), &i, &p).0,
        &i,
    );
    // Q has expired: its young renewal gets no grace here either.
    let q = presenting("d.x.com", "10.0.0.4", "F", 1_714_521_600, 1_746_057_600);
    serving.note(&judge_one(q, &i, &p).0, &i);
    let down = failing(
        "m.w.x.com",
        "10.0.0.3",
        ErrorClass::ConnectRefused,
        "refused",
    );
    serving.note(&judge_one(down, &i, &p).0, &i);
    let rows = identity_rows(&i, &serving, &p);
    let row = |n: &str| rows.iter().find(|r| r.names == n).unwrap();
    let a = row("a.x.com");
    assert_eq!(
        a.findings,
        "renewed_seen_nowhere;older_versions_served;deployment_pending"
    );
    assert!(
        a.next_step
            .starts_with("Renewed less than the grace period ago"),
        "{}",
        a.next_step
    );
    let d = row("d.x.com");
    assert_eq!(d.findings, "renewed_seen_nowhere;older_versions_served");
    let b = row("b.x.com");
    assert_eq!(b.findings, "served_nowhere");
    assert!(
        b.next_step
            .starts_with("Served at none of the 1 scanned endpoint(s) of its names"),
        "{}",
        b.next_step
    );
    let c = row("c.x.com");
    assert_eq!(c.findings, "not_scanned");
    assert!(
        c.next_step.starts_with("None of its names was scanned"),
        "{}",
        c.next_step
    );
    let w = row("*.w.x.com");
    assert_eq!(w.findings, "served_nowhere");
    assert!(
        w.next_step
            .starts_with("Served at none of the 1 scanned endpoint(s) of its names"),
        "{}",
        w.next_step
    );
}

#[test]
fn a_certificate_on_thousands_of_endpoints_fits_a_spreadsheet_cell() {
    let i = ids(&format!(
        "{H}W,,*.x.com,0E,2025-06-01,2026-12-01,CA,,Issued\n"
    ));
    let p = policy();
    let mut serving = Serving::default();
    for n in 0..250 {
        let host = format!("h{n}.x.com");
        let v = judge_one(
            presenting(&host, "10.0.0.1", "E", 1_748_736_000, 1_796_083_200),
            &i,
            &p,
        )
        .0;
        serving.note(&v, &i);
    }
    let rows = identity_rows(&i, &serving, &p);
    let cell = &rows[0].deployed_at;
    assert_eq!(cell.split(';').count(), PLACES_IN_A_CELL + 1);
    assert!(
        cell.ends_with(";... (50 more)"),
        "{}",
        &cell[cell.len() - 40..]
    );
    assert!(cell.len() < 32_767);
}

#[test]
fn versions_without_dates_are_ordered_by_their_renewal_links() {
    // An export without dates, where only "Renewal Of" says that B renews A: serving A
    // used to be `current` (the dates tie) with B named as expected; it is
    // renewed_not_deployed. Two unlinked versions that tie cannot be ordered: serving
    // either is `current`, and the expected certificate is the one served.
    let i = ids(&format!(
        "{H}A,,www.x.com,0A,,,CA,,Issued\n\
         B,,www.x.com,0B,,,CA,A,Issued\n\
         P,,api.x.com,0C,,,CA,,Issued\n\
         Q,,api.x.com,0D,,,CA,,Issued\n"
    ));
    assert!(same(&i, "A", "B") && same(&i, "P", "Q"));
    let p = policy();
    let (nb, na) = (1_767_225_600, 1_798_761_600);
    let judged = |host: &str, serial: &str| {
        judge_one(presenting(host, "10.0.0.1", serial, nb, na), &i, &p).0
    };
    let stale = judged("www.x.com", "A");
    assert_eq!(stale.status, Status::RenewedNotDeployed, "{}", stale.detail);
    assert_eq!(stale.expected.map(|r| r.record_id).as_deref(), Some("B"));
    let fresh = judged("www.x.com", "B");
    assert_eq!(fresh.status, Status::Current);
    assert_eq!(fresh.expected.map(|r| r.record_id).as_deref(), Some("B"));
    assert!(!fresh.findings.contains(&"newest_ambiguous".to_string()));
    for (serial, id, other) in [("C", "P", "Q"), ("D", "Q", "P")] {
        let v = judged("api.x.com", serial);
        assert_eq!(v.status, Status::Current, "{}", v.detail);
        assert_eq!(v.matched.map(|r| r.record_id).as_deref(), Some(id));
        assert_eq!(v.expected.map(|r| r.record_id).as_deref(), Some(id));
        // ... but the row says that it could not be told, and which record ties.
        assert!(v.findings.contains(&"newest_ambiguous".to_string()));
        assert!(
            v.detail.contains(&format!("record {other} ")),
            "{}",
            v.detail
        );
        assert!(
            v.next_step.starts_with("Confirm in the CLM"),
            "{}",
            v.next_step
        );
    }
}

#[test]
fn a_partial_rollout_is_told_on_every_endpoint_of_the_name_and_survives_the_spill() {
    // www.x.com renewed from 0A to 0B; two of its three balancer members serve 0B.
    let i = ids(&format!(
        "{H}A,,www.x.com,0A,2025-01-01,2026-12-01,CA,,Issued\n\
         B,,www.x.com,0B,2026-03-01,2027-03-01,CA,A,Issued\n\
         C,,api.x.com,0C,2026-01-01,2027-01-01,CA,,Issued\n"
    ));
    let p = policy();
    let (old_nb, old_na) = (1_735_689_600, 1_796_083_200);
    let (new_nb, new_na) = (1_772_323_200, 1_803_859_200);
    let seen = [
        presenting("www.x.com", "10.0.0.1", "B", new_nb, new_na),
        presenting("www.x.com", "10.0.0.2", "B", new_nb, new_na),
        presenting("www.x.com", "10.0.0.3", "A", old_nb, old_na),
        presenting("api.x.com", "10.0.0.9", "C", 1_767_225_600, 1_798_761_600),
    ];
    let mut rollout = Rollout::default();
    let mut verdicts = Vec::new();
    for o in seen {
        let (v, serves_expected) = judge_one(o, &i, &p);
        rollout.note(&v, serves_expected);
        // As `scan --inventory` keeps them until the end: a JSON line, read back.
        let line = serde_json::to_vec(&v).unwrap();
        verdicts.push(serde_json::from_slice::<Verdict>(&line).unwrap());
    }
    for v in &mut verdicts {
        rollout.annotate(v, &i);
    }
    let at = |ip: &str| {
        verdicts
            .iter()
            .find(|v| v.observation.ip.map(|i| i.to_string()).as_deref() == Some(ip))
            .unwrap()
    };
    let stale = at("10.0.0.3");
    assert_eq!(stale.status, Status::RenewedNotDeployed);
    assert!(
        stale.findings.iter().any(|f| f == "partial_rollout"),
        "{:?}",
        stale.findings
    );
    assert_eq!(stale.name_endpoints_current.as_deref(), Some("2/3"));
    assert!(
        stale.detail.contains("2 of 3 endpoints of www.x.com:443"),
        "{}",
        stale.detail
    );
    assert!(
        stale
            .next_step
            .starts_with("This node (10.0.0.3) missed a rollout the other endpoints"),
        "{}",
        stale.next_step
    );
    let fresh = at("10.0.0.1");
    assert_eq!(fresh.status, Status::Current);
    assert_eq!(fresh.name_endpoints_current.as_deref(), Some("2/3"));
    assert!(!fresh.findings.iter().any(|f| f == "partial_rollout"));
    // A name with one endpoint says nothing of the others.
    assert_eq!(at("10.0.0.9").name_endpoints_current, None);
}

#[test]
fn identity_without_valid_version_still_reported() {
    let i = ids(&format!(
        "{H}R1,O1,api.example.com,0A,2026-01-01,2027-01-01,CA,,Revoked\n\
         R2,O2,www.example.com,0B,2026-01-01,2027-01-01,CA,,Issued\n"
    ));
    let p = policy();
    let rows = identity_rows(&i, &Serving::default(), &p);
    assert_eq!(rows.len(), 2);
    let api = rows.iter().find(|r| r.names == "api.example.com").unwrap();
    assert_eq!(api.findings, "no_valid_certificate");
    assert!(api.next_step.contains("R1 revoked"), "{}", api.next_step);
}

#[test]
fn a_renewal_valid_today_is_named_though_a_later_version_lapsed_first() {
    // R3, issued after R2 with a short validity, has expired; R2 is valid until July.
    // The endpoint's outage is fixed by deploying R2, not by ordering a certificate.
    let i = ids(&format!(
        "{H}R0,,h.x.com,A0,2025-05-08,2026-03-09,CA,,Issued\n\
         R2,,h.x.com,A2,2025-08-08,2026-07-19,CA,,Issued\n\
         R3,,h.x.com,A3,2025-09-18,2026-03-23,CA,,Issued\n"
    ));
    let p = policy();
    let (v, _) = judge_one(
        presenting("h.x.com", "10.0.0.1", "A0", 1_746_662_400, 1_773_014_400),
        &i,
        &p,
    );
    assert_eq!(v.status, Status::RenewedNotDeployed, "{v:#?}");
    let expected = v.expected.as_ref().and_then(|e| e.serial.as_deref());
    assert_eq!(expected, Some("A2"));
    assert!(v.next_step.starts_with(OUTAGE_FIRST), "{}", v.next_step);
    // The records report shows R2 as the identity's certificate, R0's endpoint as stale.
    let rows = rows_serving(&i, &[&v], &p);
    assert_eq!(rows[0].newest_serial, "A2");
    assert_eq!(rows[0].stale_at, "h.x.com:443@10.0.0.1 (serial A0)");
}

#[test]
fn an_outage_is_told_of_a_valid_certificate_the_records_hold() {
    // Served R2 has expired; its renewal R3 was revoked; R1, older, is valid a few more
    // days: deploy it now, then order the replacement.
    let i = ids(&format!(
        "{H}R1,,h.x.com,A1,2025-05-15,2026-06-03,CA,,Issued\n\
         R2,,h.x.com,A2,2025-11-26,2026-03-15,CA,,Issued\n\
         R3,,h.x.com,A3,2025-12-24,2026-08-06,CA,,Revoked\n"
    ));
    let p = policy();
    let (v, _) = judge_one(
        presenting("h.x.com", "10.0.0.1", "A2", 1_764_115_200, 1_773_532_800),
        &i,
        &p,
    );
    assert_eq!(v.status, Status::Expired, "{v:#?}");
    assert!(v.findings.iter().any(|f| f == "renewal_revoked"));
    assert!(
        v.next_step.starts_with(
            "Deploy the certificate of record R1 (serial A1) now and reload the service: it is valid until 2026-06-03T00:00:00Z. Then: Order a replacement for the revoked renewal"
        ),
        "{}",
        v.next_step
    );
    assert!(
        v.detail.contains("Record R1 (serial A1, valid until"),
        "{}",
        v.detail
    );
    // A revoked certificate is not to be replaced by an older one (a renewal often keeps
    // its key, and a key compromise revokes them all): R1 is not named for a revoked R2.
    let i = ids(&format!(
        "{H}R1,,h.x.com,A1,2025-05-15,2026-06-03,CA,,Issued\n\
         R2,,h.x.com,A2,2025-11-26,2026-12-15,CA,,Revoked\n"
    ));
    let (v, _) = judge_one(
        presenting("h.x.com", "10.0.0.1", "A2", 1_764_115_200, 1_797_292_800),
        &i,
        &p,
    );
    assert_eq!(v.status, Status::Revoked, "{v:#?}");
    assert!(!v.next_step.contains("R1"), "{}", v.next_step);
    // Nothing valid to fall back on: the step is the identity's alone.
    let i = ids(&format!(
        "{H}R2,,h.x.com,A2,2025-11-26,2026-03-15,CA,,Issued\n\
         R3,,h.x.com,A3,2025-12-24,2026-08-06,CA,,Revoked\n"
    ));
    let (v, _) = judge_one(
        presenting("h.x.com", "10.0.0.1", "A2", 1_764_115_200, 1_773_532_800),
        &i,
        &p,
    );
    assert!(
        v.next_step.starts_with("Order a replacement"),
        "{}",
        v.next_step
    );
}

/// An endpoint of `host` serving another site's certificate (`d.x.com`): a proxy's
/// default certificate, a wrong SNI binding.
fn serving_another_site(host: &str, serial: &str, nb: i64, na: i64) -> Box<Observation> {
    let mut o = presenting(host, "10.0.0.1", serial, nb, na);
    if let Some(c) = o.cert.as_mut() {
        c.sans = vec!["d.x.com".into()];
        c.subject_cn = Some("d.x.com".into());
    }
    o.findings.push(Finding::HostnameMismatch);
    o
}

#[test]
fn a_certificate_naming_the_host_only_in_its_cn_is_told_to_get_a_san() {
    let i = ids(&format!(
        "{H}R0,,h.x.com,A0,2026-01-01,2027-01-01,CA,,Issued\n"
    ));
    let mut o = presenting("h.x.com", "10.0.0.1", "A0", 1_767_225_600, 1_798_761_600);
    if let Some(c) = o.cert.as_mut() {
        c.sans.clear();
    }
    o.findings.push(Finding::HostnameMismatch);
    let (v, _) = judge_one(o, &i, &policy());
    assert_eq!(v.status, Status::HostnameMismatch);
    assert!(v.detail.contains("only in its subject CN"), "{}", v.detail);
    assert!(
        v.next_step
            .starts_with("Reissue it with h.x.com as a subjectAltName"),
        "{}",
        v.next_step
    );
}

#[test]
fn the_records_report_names_a_newest_certificate_served_with_a_broken_chain() {
    let i = ids(&format!(
        "{H}R0,,h.x.com,A0,2026-01-01,2027-01-01,CA,,Issued\n"
    ));
    let p = policy();
    // A missing intermediate at one node; or, at both, too few CT timestamps or a CA
    // Chrome distrusts, which only a reissue mends (from another CA for the second, told
    // first).
    let distrusted = "Served at 2 endpoint(s) where Chrome refuses it: it was issued under a root Chrome has distrusted";
    for (faults, on_both, words) in [
        (&[Finding::IncompleteChain][..], false, "Served at 1 endpoint(s) where clients refuse it (usually a missing intermediate"),
        (&[Finding::CtMissing], true, "Served at 2 endpoint(s) where browsers refuse it: it embeds fewer Certificate Transparency timestamps than they require (see the endpoint report), which no chain fixes: reissue it with CT logging on"),
        (&[Finding::CaDistrusted], true, distrusted),
        (&[Finding::CtMissing, Finding::CaDistrusted], true, distrusted),
        (&[Finding::CtMissing, Finding::KeyUsageIncompatible], true, "Served at 2 endpoint(s) where Chrome, Edge and Java clients refuse it: its Key Usage lacks what the handshake needs"),
        (&[Finding::KeyUsageIncompatible, Finding::CaDistrusted], true, distrusted),
        (&[Finding::KeyUsageIncompatible, Finding::ValidityTooLong], true, "Served at 2 endpoint(s) where Chrome and Apple refuse it: it is valid for longer than they accept"),
        (&[Finding::WeakKey, Finding::CtMissing], true, "Served at 2 endpoint(s) where clients refuse it: its key, or the key of a CA of its chain, is too small for them (see the endpoint report), which no chain fixes: reissue it with a key of 2048 bits or more"),
        (&[Finding::WeakKey, Finding::CaDistrusted], true, distrusted),
    ] {
        let mut serving = Serving::default();
        for (ip, broken) in [("10.0.0.1", true), ("10.0.0.2", on_both)] {
            let mut o = presenting("h.x.com", ip, "A0", 1_767_225_600, 1_798_761_600);
            if broken {
                o.findings.extend_from_slice(faults);
            }
            serving.note(&judge_one(o, &i, &p).0, &i);
        }
        let rows = identity_rows(&i, &serving, &p);
        assert_eq!(rows[0].findings, "served_untrusted");
        assert!(rows[0].next_step.starts_with(words), "{}", rows[0].next_step);
    }
}

#[test]
fn a_date_only_expiry_lasts_to_the_end_of_its_day() {
    // Now is 2026-05-28T20:26:40Z. R1's export says only that it expires on 2026-05-28:
    // it may still be valid, and is not yet "expired" (nor is its renewal nothing to deploy).
    let p = policy();
    let i = ids(&format!(
        "{H}R0,,h.x.com,A0,2025-05-01,2026-05-01,CA,,Issued\n\
         R1,,h.x.com,A1,2025-05-20,2026-05-28,CA,,Issued\n"
    ));
    let rows = identity_rows(&i, &Serving::default(), &p);
    assert!(
        !rows[0].findings.contains("newest_expired"),
        "{:?}",
        rows[0]
    );
    assert!(
        rows[0].findings.contains("expiring_no_renewal"),
        "{:?}",
        rows[0]
    );
    // An endpoint still on R0 (expired) is told to deploy R1 at once, not to renew.
    let (v, _) = judge_one(
        presenting("h.x.com", "10.0.0.1", "A0", 1_746_057_600, 1_777_593_600),
        &i,
        &p,
    );
    assert_eq!(v.status, Status::RenewedNotDeployed, "{v:#?}");
    assert!(v.next_step.starts_with(OUTAGE_FIRST), "{}", v.next_step);
    // The day after, it has expired.
    let later = Policy {
        now: p.now + 86_400,
        ..p
    };
    let rows = identity_rows(&i, &Serving::default(), &later);
    assert!(rows[0].findings.contains("newest_expired"), "{:?}", rows[0]);
}

#[test]
fn the_records_report_says_who_owns_and_deploys_each_certificate() {
    // The owner is on the old row only, the bot on the renewal's: each is found.
    let i = ids(
        "Certificate ID,SANs,Serial,Valid From,Valid To,Status,Owner,Provisioning Bot\n\
         R0,h.x.com,A0,2025-06-01,2026-06-01,Issued,web-team,\n\
         R1,h.x.com,A1,2026-04-01,2027-04-01,Issued,,bot-eu-1\n",
    );
    let rows = identity_rows(&i, &Serving::default(), &policy());
    assert_eq!(
        (rows[0].owner.as_str(), rows[0].provisioning_bot.as_str()),
        ("web-team", "bot-eu-1")
    );
}

#[test]
fn another_sites_certificate_marked_replaced_is_a_binding_fault() {
    // D1 is d.x.com's, replaced by a successor the export lacks; served for h.x.com it
    // is bound wrongly, and h.x.com's own certificate is what to bind.
    let i = ids(&format!(
        "{H}R0,,h.x.com,A0,2026-01-01,2027-01-01,CA,,Issued\n\
         D1,,d.x.com,D1,2026-03-01,2027-03-01,CA,,Superseded\n"
    ));
    let o = serving_another_site("h.x.com", "D1", 1_772_323_200, 1_803_859_200);
    let (v, _) = judge_one(o, &i, &policy());
    assert_eq!(v.status, Status::HostnameMismatch, "{v:#?}");
    assert!(!v.findings.iter().any(|f| f == "successor_not_in_records"));
    assert!(
        v.next_step
            .starts_with("Bind the certificate of record R0 (serial A0)"),
        "{}",
        v.next_step
    );
}

#[test]
fn a_valid_wildcard_is_named_before_a_lapsed_dedicated_certificate() {
    // h.x.com's dedicated certificate R3 expired in February; the wildcard W0, issued
    // before it, is valid until August: that is what the name should get.
    let i = ids(&format!(
        "{H}R3,,h.x.com,A3,2025-12-06,2026-02-12,CA,,Issued\n\
         W0,,*.x.com,B0,2025-09-24,2026-08-24,CA,,Issued\n\
         D0,,d.x.com,D0,2026-01-01,2027-01-01,CA,,Issued\n"
    ));
    let p = policy();
    let o = serving_another_site("h.x.com", "D0", 1_767_225_600, 1_798_761_600);
    let (v, _) = judge_one(o, &i, &p);
    assert_eq!(v.status, Status::HostnameMismatch, "{v:#?}");
    assert!(
        v.next_step
            .starts_with("Bind the certificate of record W0 (serial B0)"),
        "{}",
        v.next_step
    );
    let down = failing("h.x.com", "10.0.0.2", ErrorClass::ConnectRefused, "refused");
    let (v, _) = judge_one(down, &i, &p);
    let expected = v.expected.as_ref().map(|e| e.record_id.as_str());
    assert_eq!(expected, Some("W0"));
}

/// A small deterministic generator (xorshift64*): the scenarios below must be the same
/// on every run, so that a failure can be read and replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn pick<'a>(&mut self, of: &[&'a str]) -> &'a str {
        of[self.below(of.len() as u64) as usize]
    }
}

/// One generated version of `h.x.com`'s certificate, as the test reads it back.
#[derive(Clone)]
struct Version {
    /// The record's id (`R0`, `W1`, `R1T` for a twin of `R1`).
    id: String,
    serial: String,
    not_before: i64,
    not_after: i64,
    status: &'static str,
    deploy: &'static str,
    /// The later of notBefore and the order date.
    issued: i64,
    /// What the records order versions by: the notBefore written, else the order date.
    key: i64,
    /// The validity the records give: the certificate's own, or whole days in an export
    /// that writes dates only (from the start of notBefore's day to the end of notAfter's).
    valid_from: i64,
    valid_until: i64,
}

#[test]
fn generated_histories_never_get_a_verdict_that_contradicts_the_records() {
    // Thousands of histories of one name: versions with distinct issue dates, some
    // revoked, cancelled, still pending, marked replaced, expired or valid only later,
    // with every deployment status; the endpoint serves one of them or a certificate
    // in no record. Whatever the verdict, it must not contradict what the records and the
    // served certificate plainly say. Each assertion names the scenario's seed.
    const DAY: i64 = 86_400;
    let p = policy();
    let statuses = [
        "Issued",
        "Issued",
        "Issued",
        "Issued",
        "Revoked",
        "Cancelled",
        "Pending",
        "Superseded",
        "Expired",
    ];
    let deploys = [
        "",
        "",
        "Deployed",
        "Deployment Failed",
        "Pending",
        "Rolled back",
    ];
    // Which statuses and findings the scenarios reached: the generator must reach what
    // it claims to test.
    let mut reached = std::collections::BTreeMap::<String, usize>::new();
    for seed in 1..=3000u64 {
        let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
        let mut csv = String::from(
            "Certificate ID,SANs,Serial,Valid From,Valid To,Issuer,Status,Deployment Status,Renewal Of,Order Date,Deployment Endpoints\n",
        );
        // The name's own certificates (R0, R1, ...) and, in a third of the scenarios, a
        // wildcard's (W0, ...) that covers it too: two identities of one name.
        let mut lineages: Vec<(&str, Vec<Version>)> = vec![("R", Vec::new())];
        if rng.below(3) == 0 {
            lineages.push(("W", Vec::new()));
        }
        // And in a quarter, another site's certificate (D0, ...), which a proxy may
        // serve for this name by mistake.
        if rng.below(4) == 0 {
            lineages.push(("D", Vec::new()));
        }
        // And in a fifth, the SAN certificate of h and w (R) was split: after its last
        // version, h got certificates of its own (S0, ...), which no name set or link makes
        // a renewal of R.
        let split = rng.below(5) == 0;
        if split {
            lineages.push(("S", Vec::new()));
        }
        // Where R's versions start, the last one: S's start after it.
        let mut r_last = i64::MIN;
        // A quarter of the exports write dates without a time (DigiCert's valid_till,
        // spreadsheets), and then no order dates: versions start on distinct days.
        let dated = rng.below(4) == 0;
        let day_of = |t: i64| t - t.rem_euclid(DAY);
        for (l, (prefix, versions)) in lineages.iter_mut().enumerate() {
            let n = 1 + rng.below(if *prefix == "R" { 4 } else { 2 }) as usize;
            // Issue dates at least a day apart, so that dates alone order every pair;
            // links, where given, agree with them. A renewal may add a name, never drop
            // one.
            // S mostly valid by now, so that it can take over from an R about to expire.
            let mut start = match *prefix {
                "S" => r_last.max(p.now - DAY * (10 + rng.below(60) as i64)),
                _ => p.now - DAY * (30 + rng.below(700) as i64),
            };
            let mut names = match *prefix {
                "R" if split => "h.x.com;w.x.com",
                "R" | "S" => "h.x.com",
                "W" => "*.x.com",
                _ => "d.x.com",
            };
            for k in 0..n {
                start += DAY * (1 + rng.below(if *prefix == "S" { 20 } else { 200 }) as i64);
                // Now and then a renewal issued in the last two days: around the
                // grace period.
                let recent = p.now - rng.below(2 * DAY as u64) as i64;
                if k > 0 && rng.below(3) == 0 && recent > start {
                    start = recent;
                }
                let not_before = match dated {
                    true => start,
                    false => start + rng.below(DAY as u64 / 2) as i64,
                };
                let mut not_after = not_before + DAY * (7 + rng.below(400) as i64);
                // The split SAN certificate's last version mostly ends about now: where
                // an S would take over.
                if split && *prefix == "R" && k == n - 1 && rng.below(3) > 0 {
                    not_after = not_after.max(p.now + DAY * (rng.below(40) as i64 - 5));
                }
                let status = rng.pick(&statuses);
                let serial = format!("{:X}", 0xA000 + seed * 16 + (l * 8 + k) as u64);
                if *prefix == "R" && rng.below(5) == 0 {
                    names = "h.x.com;w.x.com";
                }
                let link = match k {
                    0 => String::new(),
                    _ if rng.below(2) == 0 => format!("{prefix}{}", k - 1),
                    _ => String::new(),
                };
                let deploy = rng.pick(&deploys);
                // A third of the records have a status per deployment endpoint (as TLS
                // Protect Cloud's instances): this endpoint's first, another port's after it,
                // which must not count here.
                let (deploy_cell, targets) = match (*prefix, rng.below(3)) {
                    ("R", 0) if !deploy.is_empty() => {
                        let other = rng.pick(&deploys[2..]);
                        (format!("{deploy};{other}"), "h.x.com:443;h.x.com:8443")
                    }
                    _ => (deploy.to_string(), ""),
                };
                // Half the records have an order date, up to two days after the notBefore
                // (CAs backdate it): the grace period counts from the later of the two. A
                // third of those valid already write no notBefore at all, as CERTInext's
                // orders report (expiry and order date only), ordered within half a day
                // before issuance, so that order dates still order the versions.
                let ordered = (!dated && rng.below(2) == 0)
                    .then(|| not_before + rng.below(2 * DAY as u64) as i64);
                let no_from = !dated && not_before <= p.now && rng.below(3) == 0;
                let written = |t: i64| match dated {
                    true => rfc3339_unix(t)[..10].to_string(),
                    false => rfc3339_unix(t),
                };
                let ordered = match no_from {
                    true => Some(not_before - rng.below(DAY as u64 / 2) as i64),
                    false => ordered,
                };
                let dates = (
                    if no_from {
                        String::new()
                    } else {
                        written(not_before)
                    },
                    written(not_after),
                    ordered.map(rfc3339_unix).unwrap_or_default(),
                );
                csv.push_str(&format!(
                    "{prefix}{k},{names},{serial},{},{},CA,{status},{deploy_cell},{link},{},{targets}\n",
                    dates.0, dates.1, dates.2,
                ));
                // Now and then the last version has a twin: issued with the same dates and
                // links (a duplicate order, a reissue the export dates alike), which no
                // record orders against it.
                let twin = (*prefix == "R" && k == n - 1 && rng.below(8) == 0).then(|| {
                    let serial = format!("{:X}", 0xA000 + seed * 16 + 15);
                    csv.push_str(&format!(
                        "{prefix}{k}T,{names},{serial},{},{},CA,Issued,,{link},{},\n",
                        dates.0, dates.1, dates.2,
                    ));
                    serial
                });
                if *prefix == "R" {
                    r_last = start;
                }
                versions.push(Version {
                    id: format!("{prefix}{k}"),
                    serial,
                    not_before,
                    not_after,
                    status,
                    deploy,
                    issued: match (dated, no_from, ordered) {
                        (true, ..) => day_of(not_before),
                        (_, true, Some(o)) => o,
                        (_, _, o) => o.map_or(not_before, |o| o.max(not_before)),
                    },
                    key: match (dated, no_from, ordered) {
                        (true, ..) => day_of(not_before),
                        (_, true, Some(o)) => o,
                        _ => not_before,
                    },
                    valid_from: if dated {
                        day_of(not_before)
                    } else {
                        not_before
                    },
                    valid_until: if dated {
                        day_of(not_after) + DAY - 1
                    } else {
                        not_after
                    },
                });
                if let Some(serial) = twin {
                    let last = versions.last().cloned();
                    if let Some(mut t) = last {
                        t.id = format!("{prefix}{k}T");
                        t.serial = serial;
                        t.status = "Issued";
                        t.deploy = "";
                        versions.push(t);
                    }
                }
            }
        }
        let i = ids(&csv);
        let identities = i.members.iter().filter(|m| !m.is_empty()).count();
        assert_eq!(identities, lineages.len(), "seed {seed}\n{csv}");
        // Served: a version of either lineage, or a certificate in no record.
        let count: usize = lineages.iter().map(|(_, v)| v.len()).sum();
        let pick = |rng: &mut Rng| {
            let mut pick = rng.below(count as u64 + 1) as usize;
            for (l, (_, versions)) in lineages.iter().enumerate() {
                if let Some(v) = versions.get(pick) {
                    return (v.serial.clone(), v.not_before, v.not_after, Some((l, pick)));
                }
                pick -= versions.len();
            }
            let nb = p.now - DAY * rng.below(500) as i64;
            let na = nb + DAY * (1 + rng.below(500) as i64);
            (format!("FFFF{:02X}", rng.below(3)), nb, na, None)
        };
        // As the trust judge would find them.
        let observe = |ip: &str, serial: &str, nb: i64, na: i64| {
            let mut o = presenting("h.x.com", ip, serial, nb, na);
            let other_site = lineages
                .iter()
                .any(|(x, v)| *x == "D" && v.iter().any(|w| w.serial == serial));
            if let (true, Some(c)) = (other_site, o.cert.as_mut()) {
                c.sans = vec!["d.x.com".into()];
                c.subject_cn = Some("d.x.com".into());
                o.findings.push(Finding::HostnameMismatch);
            }
            if na < p.now {
                o.findings.push(Finding::Expired);
            }
            if nb > p.now {
                o.findings.push(Finding::NotYetValid);
            }
            o
        };
        let (serial, nb, na, served) = pick(&mut rng);
        // Now and then the CA says the served certificate is revoked, whatever the records
        // say: in the OCSP response the server staples, or in its list (`--crl`).
        let ocsp_revoked = rng.below(10) == 0;
        let ca_word = match rng.below(3) {
            0 => Finding::OcspRevoked,
            1 => Finding::OcspResponderRevoked,
            _ => Finding::CrlRevoked,
        };
        // And now and then it sends only the leaf (no intermediate): clients refuse it.
        let broken_chain = rng.below(10) == 0;
        let mut first = observe("10.0.0.1", &serial, nb, na);
        if ocsp_revoked {
            first.findings.push(ca_word);
        }
        if broken_chain {
            first.findings.push(Finding::IncompleteChain);
        }
        // A certificate in no record is self-signed in a third of the scenarios (a test
        // certificate left in place, an appliance's own).
        let self_signed = served.is_none() && rng.below(3) == 0;
        if self_signed {
            first.findings.push(Finding::SelfSigned);
        }
        let (v, serves) = judge_one(first, &i, &p);
        // Other members of the name's load balancer serve what they serve; a partial
        // rollout is told where, and only where, another member serves this one's
        // expected certificate as its own expected one.
        let mut nodes = vec![(v.clone(), serves)];
        // Which version each node serves (lineage, index), for the records report.
        let mut node_versions = vec![served];
        for ip in ["10.0.0.2", "10.0.0.3"]
            .into_iter()
            .take(rng.below(3) as usize)
        {
            let (s, nb, na, at) = pick(&mut rng);
            nodes.push(judge_one(observe(ip, &s, nb, na), &i, &p));
            node_versions.push(at);
        }
        let rollout = rollout_of(&nodes);
        let serial_of = |n: &Verdict| n.observation.cert.as_ref().map(|c| c.serial.clone());
        let current = nodes.iter().filter(|(_, s)| *s).count();
        for k in 0..nodes.len() {
            let mut n = nodes[k].0.clone();
            rollout.annotate(&mut n, &i);
            let why = format!("seed {seed}: node {k}\n{csv}-> {nodes:#?}\n-> {n:#?}");
            if nodes.len() > 1 {
                let said = format!("{current}/{}", nodes.len());
                assert_eq!(n.name_endpoints_current, Some(said), "{why}");
            }
            let expected = n.expected.as_ref().and_then(|e| e.serial.clone());
            let elsewhere = nodes.iter().enumerate().any(|(j, (o, serves))| {
                j != k && *serves && expected.is_some() && serial_of(o) == expected
            });
            let partial = n.findings.iter().any(|f| f == "partial_rollout");
            if partial {
                *reached.entry("partial_rollout".into()).or_default() += 1;
            }
            assert!(!partial || elsewhere, "partial rollout told; {why}");
            if matches!(
                n.status,
                Status::RenewedNotDeployed | Status::DeploymentPending
            ) && elsewhere
            {
                assert!(partial, "partial rollout not told; {why}");
            }
        }
        let why = format!("seed {seed}: served {serial}\n{csv}-> {v:#?}");
        if broken_chain {
            // Clients refuse the chain: whatever else holds, never "current" or merely
            // "expiring", and said.
            assert!(
                !matches!(v.status, Status::Current | Status::ExpiringSoon),
                "{why}"
            );
            assert!(v.findings.iter().any(|f| f == "incomplete_chain"), "{why}");
            if v.status == Status::Untrusted {
                assert!(v.next_step.contains("full chain"), "{why}");
            }
        }
        for f in v.findings.iter().chain([&v.status.as_str().to_string()]) {
            *reached.entry(f.clone()).or_default() += 1;
        }
        assert!(!v.detail.is_empty() && !v.next_step.is_empty(), "{why}");
        let expired = p.now > na;
        let has = |f: &str| v.findings.iter().any(|x| x == f);
        for f in &v.findings {
            assert!(
                Status::parse(f).is_some()
                    || Finding::ALL.iter().any(|x| x.as_str() == f)
                    || VERDICT_FINDINGS.contains(&f.as_str()),
                "{f} is in no vocabulary; {why}"
            );
        }
        // What the records offer in place of the served one: an issued version valid
        // now by its dates (an export's "Expired" may be stale; its dates decide).
        let usable = |w: &Version| {
            matches!(w.status, "Issued" | "Expired")
                && w.valid_from <= p.now
                && p.now <= w.valid_until
        };
        // An outage with a valid certificate in the records: the verdict names one (only a
        // later one in place of a revoked certificate, whose key the earlier may share).
        let revoked_served = served
            .map(|(l, k)| &lineages[l].1[k])
            .filter(|w| w.status == "Revoked" || ocsp_revoked);
        let valid: Vec<String> = lineages
            .iter()
            .filter(|(prefix, _)| *prefix != "D")
            .flat_map(|(_, versions)| {
                versions
                    .iter()
                    .filter(|w| usable(w) && w.serial != serial)
                    .filter(|w| revoked_served.is_none_or(|r| w.key > r.key))
                    .map(|w| w.id.clone())
            })
            .collect();
        if expired && !valid.is_empty() {
            assert!(
                valid
                    .iter()
                    .any(|id| v.next_step.contains(id.as_str()) || v.detail.contains(id.as_str())),
                "{valid:?} valid; {why}"
            );
        }
        let Some((l, served)) = served else {
            assert_eq!(v.matched, None, "{why}");
            assert!(
                matches!(v.status, Status::Unmanaged | Status::Expired)
                    || (v.status == Status::Revoked && ocsp_revoked),
                "{why}"
            );
            if ocsp_revoked {
                assert!(v.next_step.contains("revoked"), "{why}");
            }
            // One clients refuse is neither kept for its date nor imported as it is.
            if self_signed {
                *reached.entry("unmanaged self-signed".into()).or_default() += 1;
                assert!(!has("newer_than_records"), "{why}");
                assert!(!v.next_step.contains("Do not replace"), "{why}");
                assert!(!v.next_step.starts_with("Import"), "{why}");
            }
            continue;
        };
        let (prefix, versions) = &lineages[l];
        let m = &versions[served];
        if *prefix == "D" {
            // Another site's certificate: the binding is wrong, whatever its own
            // lineage says; the step names a certificate for this name the records
            // hold, valid today, when there is one.
            assert!(
                matches!(
                    v.status,
                    Status::Revoked | Status::Expired | Status::HostnameMismatch
                ),
                "{why}"
            );
            if v.status == Status::HostnameMismatch && !valid.is_empty() {
                assert!(
                    valid
                        .iter()
                        .any(|id| v.next_step.contains(&format!("record {id} "))),
                    "{valid:?} valid; {why}"
                );
            }
            continue;
        }
        assert_eq!(
            v.matched.as_ref().and_then(|r| r.serial.as_deref()),
            Some(m.serial.as_str()),
            "{why}"
        );
        // Later by what the records order versions by: a twin with the same dates and
        // links is no renewal (the two tie).
        let later_usable = versions
            .iter()
            .any(|w| usable(w) && w.key > versions[served].key);
        if later_usable {
            assert!(
                matches!(
                    v.status,
                    Status::RenewedNotDeployed | Status::DeploymentPending
                ),
                "a usable later version exists; {why}"
            );
        }
        match v.status {
            Status::RenewedNotDeployed | Status::DeploymentPending => {
                let ei = v.expected.as_ref().and_then(|e| {
                    versions
                        .iter()
                        .position(|w| Some(w.serial.as_str()) == e.serial.as_deref())
                });
                // A replaced record without its successor in the export names none.
                if has("successor_not_in_records") {
                    assert_eq!(m.status, "Superseded", "{why}");
                } else {
                    let Some(ei) = ei else {
                        panic!("no renewal of its own identity named; {why}")
                    };
                    assert!(
                        versions[ei].key > versions[served].key && usable(&versions[ei]),
                        "{why}"
                    );
                    // The newest usable one, not any later one.
                    assert!(
                        !versions
                            .iter()
                            .any(|w| usable(w) && w.key > versions[ei].key),
                        "{why}"
                    );
                }
                // Within the grace period the deployment may still be running, unless the
                // served certificate has expired or is revoked (clients fail now) or the
                // records say it ended.
                let renewal = ei.filter(|_| !has("successor_not_in_records"));
                if let Some(e) = renewal.and_then(|ei| versions.get(ei)) {
                    let young = p.now - e.issued < p.grace_secs;
                    let ended =
                        matches!(e.deploy, "Deployed" | "Deployment Failed" | "Rolled back");
                    assert_eq!(
                        v.status == Status::DeploymentPending,
                        young
                            && !expired
                            && m.status != "Revoked"
                            && !ocsp_revoked
                            && !ended
                            && !broken_chain
                            && nb <= p.now,
                        "{why}"
                    );
                }
            }
            Status::Current => {
                assert!(!expired && m.status != "Revoked", "{why}");
                assert!(na - p.now > p.renewal_window.secs, "{why}");
                // A twin no date or link orders against it: which is the newest is asked.
                let twin = versions
                    .iter()
                    .any(|w| usable(w) && w.key == m.key && w.serial != m.serial);
                assert_eq!(has("newest_ambiguous"), twin, "{why}");
                match twin {
                    true => assert!(v.next_step.starts_with("Confirm in the CLM"), "{why}"),
                    false => assert!(v.next_step.starts_with("Nothing to do"), "{why}"),
                }
            }
            Status::ExpiringSoon => {
                assert!(!expired && na - p.now <= p.renewal_window.secs, "{why}");
                // Another identity's certificate for the name, issued after the served one
                // and outlasting it, is named as the way to keep the name served.
                let by: Vec<&str> = lineages
                    .iter()
                    .enumerate()
                    .filter(|(l2, (x, other))| {
                        *l2 != l
                            && *x != "D"
                            && other.iter().any(|w| {
                                usable(w) && w.key > m.key && w.valid_until > m.valid_until
                            })
                    })
                    .map(|(_, (x, _))| *x)
                    .collect();
                let takes_over = !by.is_empty();
                *reached.entry(format!("takes_over {by:?}")).or_default() += 1;
                assert_eq!(has("replacement_in_records"), takes_over, "{why}");
                assert_eq!(
                    v.detail.contains("no renewal exists"),
                    !takes_over
                        && !has("renewal_revoked")
                        && !has("renewal_cancelled")
                        && !has("renewal_pending")
                        && !has("renewal_not_yet_valid")
                        && !has("renewal_drops_name"),
                    "{why}"
                );
            }
            Status::Revoked => assert!(m.status == "Revoked" || ocsp_revoked, "{why}"),
            Status::Expired => assert!(expired, "{why}"),
            // Deployed before its notBefore, or without its intermediate.
            Status::Untrusted => assert!(nb > p.now || broken_chain, "{why}"),
            other => panic!("{other} for a served certificate of the records; {why}"),
        }
        if expired {
            assert!(
                matches!(
                    v.status,
                    Status::RenewedNotDeployed | Status::Revoked | Status::Expired
                ),
                "{why}"
            );
        }
        if m.status == "Revoked" || ocsp_revoked {
            assert!(has("revoked"), "{why}");
            assert!(
                matches!(v.status, Status::RenewedNotDeployed | Status::Revoked),
                "{why}"
            );
        }
        // The records report shows each identity's version valid today, and the endpoints
        // where it stands: serving it, or serving an older one (every node counts).
        let mut serving = Serving::default();
        for (n, _) in &nodes {
            serving.note(n, &i);
        }
        let rows = identity_rows(&i, &serving, &p);
        assert_eq!(rows.len(), lineages.len(), "{why}");
        for (l, (prefix, versions)) in lineages.iter().enumerate() {
            let Some(k) = versions.iter().rposition(usable) else {
                continue;
            };
            let row = rows
                .iter()
                .find(|r| r.newest_record_id.starts_with(prefix))
                .unwrap_or_else(|| panic!("no row for {prefix}; {why}\n{rows:#?}"));
            let key_k = versions[k].key;
            // The newest, or its twin: versions that tie are shown either.
            assert!(
                versions
                    .iter()
                    .any(|w| usable(w) && w.key == key_k && w.serial == row.newest_serial),
                "{why}\n{row:#?}"
            );
            // The versions of this lineage the nodes serve.
            let held: Vec<&Version> = node_versions
                .iter()
                .flatten()
                .filter(|(nl, _)| *nl == l)
                .map(|&(_, nk)| &versions[nk])
                .collect();
            // Versions to be replaced by the newest usable one where they are served: the
            // older ones, and later ones the records allow but that lapsed first.
            let barred =
                |w: &Version| !matches!(w.status, "Issued" | "Expired") || w.valid_from > p.now;
            let replaceable = held.iter().any(|w| {
                w.key < key_k || (w.key > key_k && !barred(w)) || (w.key == key_k && barred(w))
            });
            if replaceable {
                assert!(!row.stale_at.is_empty(), "{why}\n{row:#?}");
                // Something is left to do there.
                assert!(row.next_step != "Nothing to do.", "{why}\n{row:#?}");
            } else {
                assert!(
                    !row.findings.contains("older_versions_served"),
                    "{why}\n{row:#?}"
                );
            }
            // A node of this identity with something to fix (not current, not merely
            // expiring, not another site's binding) leaves its row something to do.
            let troubled = nodes.iter().zip(&node_versions).any(|((n, _), at)| {
                matches!(at, Some((nl, _)) if *nl == l)
                    && !matches!(
                        n.status,
                        Status::Current | Status::ExpiringSoon | Status::HostnameMismatch
                    )
            });
            if troubled && *prefix != "D" {
                *reached.entry("troubled row".into()).or_default() += 1;
                let statuses: Vec<_> = nodes
                    .iter()
                    .zip(&node_versions)
                    .map(|((n, _), at)| (n.status, *at, n.detail.clone()))
                    .collect();
                assert!(
                    row.next_step != "Nothing to do.",
                    "{why}\n{row:#?}\n{statuses:#?}"
                );
            }
            // Where every node left with an older version waits within the renewal's grace
            // period, the row waits too (not "re-run provisioning").
            let left: Vec<Status> = nodes
                .iter()
                .zip(&node_versions)
                // Older versions, and one as new that cannot be served (a revoked twin):
                // what the row calls stale.
                .filter(|(_, at)| {
                    matches!(at, Some((nl, nk)) if *nl == l
                        && (versions[*nk].key < key_k
                            || (versions[*nk].key == key_k && !usable(&versions[*nk]))))
                })
                .map(|((n, _), _)| n.status)
                .collect();
            if !left.is_empty() && left.iter().all(|s| *s == Status::DeploymentPending) {
                *reached.entry("row waits".into()).or_default() += 1;
                assert!(
                    row.findings.contains("deployment_pending"),
                    "{why}\n{row:#?}"
                );
            }
            // Deployed where the newest or its usable twin is served.
            let deployed = held.iter().any(|w| w.key == key_k && usable(w));
            assert_eq!(!row.deployed_at.is_empty(), deployed, "{why}\n{row:#?}");
            // A later version the records do not allow (pending, revoked, cancelled,
            // replaced, valid only later) is no older one to replace with the newest.
            for &(_, nk) in node_versions.iter().flatten().filter(|(nl, _)| *nl == l) {
                let w = &versions[nk];
                if w.key > key_k && barred(w) {
                    *reached.entry("later version served".into()).or_default() += 1;
                    let said = format!("(serial {})", w.serial);
                    assert!(!row.stale_at.contains(&said), "{why}\n{row:#?}");
                    assert!(
                        row.findings.contains("later_version_served"),
                        "{why}\n{row:#?}"
                    );
                }
            }
        }
    }
    for want in [
        "current",
        "renewed_not_deployed",
        "deployment_pending",
        "revoked",
        "expired",
        "unmanaged",
        "untrusted",
        "expiring_soon",
        "partial_rollout",
        "renewal_expired",
        "renewal_revoked",
        "successor_not_in_records",
        "deployment_failed",
        "records_say_deployed",
        "replacement_in_records",
        "takes_over []",
        "takes_over [\"W\"]",
        "takes_over [\"S\"]",
        "unmanaged self-signed",
        "newer_than_records",
        "later version served",
        "row waits",
        "troubled row",
        "newest_ambiguous",
    ] {
        assert!(
            reached.contains_key(want),
            "{want} never reached: {reached:?}"
        );
    }
}

#[test]
fn a_revoked_certificate_gets_no_grace_and_outweighs_a_pending_renewal_beside_it() {
    // Now is 2026-05-28T20:26:40Z; R2 renews R0 and was issued today.
    let p = policy();
    let csv = "Certificate ID,SANs,Serial,Valid From,Valid To,Issuer,Status,Key Type\n\
               R0,h.x.com,C0,2025-12-20,2026-12-14,CA,Issued,RSA\n\
               R1,h.x.com,C1,2026-03-18,2026-10-22,CA,Revoked,EC\n\
               R2,h.x.com,C2,2026-05-28T20:00:00Z,2027-07-02,CA,Issued,RSA\n";
    // Serving R0 revoked instead: clients that check revocation fail now, so the renewal
    // is owed at once, not after the grace period.
    let revoked_old = csv.replace(
        "R0,h.x.com,C0,2025-12-20,2026-12-14,CA,Issued",
        "R0,h.x.com,C0,2025-12-20,2026-12-14,CA,Revoked",
    );
    assert_ne!(revoked_old, csv);
    let i = ids(&revoked_old);
    let o = presenting("h.x.com", "10.0.0.1", "C0", 1_766_188_800, 1_797_206_400);
    let (v, _) = judge_one(o.clone(), &i, &p);
    assert_eq!(v.status, Status::RenewedNotDeployed, "{v:#?}");
    assert!(v.next_step.starts_with(REVOKED_FIRST), "{}", v.next_step);
    // The records report agrees: no waiting for the grace period where a revoked version
    // is served (as where an expired one or one clients refuse is).
    let rows = rows_serving(&i, &[&v], &p);
    let row = rows
        .iter()
        .find(|r| r.newest_serial == "C2")
        .expect("R2's row");
    assert!(!row.findings.contains("deployment_pending"), "{row:#?}");
    assert!(row.next_step.contains("provisioning"), "{row:#?}");
    // RSA clients get R0 (its renewal R2 pending), ECDSA clients the revoked R1: the
    // endpoint is revoked, not "wait for provisioning".
    let i = ids(csv);
    let mut o = o;
    let mut c1 = presenting("h.x.com", "10.0.0.1", "C1", 1_773_792_000, 1_792_627_200)
        .cert
        .expect("a certificate");
    c1.key_type = "EC".into();
    if let Some(c) = o.cert.as_mut() {
        c.key_type = "RSA".into();
    }
    o.other_key = Some(Box::new(OtherKey::new(
        KeyFamily::Ecdsa,
        Some(c1),
        Vec::new(),
    )));
    let (v, _) = judge_one(o, &i, &p);
    assert_eq!(v.status, Status::Revoked, "{v:#?}");
    assert!(v.detail.ends_with(": deployment_pending."), "{}", v.detail);
}

#[test]
fn a_certificate_in_no_record_that_the_ca_revoked_is_to_be_replaced_not_imported() {
    let i = ids(&format!(
        "{H}R0,,h.x.com,A0,2026-01-01,2027-01-01,CA,,Issued\n"
    ));
    let mut o = presenting("h.x.com", "10.0.0.1", "FF01", 1_767_225_600, 1_798_761_600);
    o.findings.push(Finding::OcspRevoked);
    let (v, _) = judge_one(o, &i, &policy());
    assert_eq!(v.status, Status::Revoked, "{v:#?}");
    assert!(
        v.next_step.starts_with(
            "Replace it now, the CA revoked it: deploy the managed certificate (record R0;"
        ),
        "{}",
        v.next_step
    );
    assert!(!v.next_step.contains("import it"), "{}", v.next_step);
}

#[test]
fn an_rsa_renewal_valid_today_is_owed_to_rsa_clients_though_a_later_one_lapsed() {
    // RSA clients get R0; R1 renewed it and is valid until July; R3, a later RSA
    // reissue, has already expired. The ECDSA side serves the newest, R2.
    let i = ids(
        "Certificate ID,SANs,Serial,Valid From,Valid To,Issuer,Status,Key Type\n\
         R0,h.x.com,C0,2025-08-11,2026-08-07,CA,Issued,RSA\n\
         R1,h.x.com,C1,2025-11-26,2026-07-27,CA,Issued,RSA\n\
         R2,h.x.com,C2,2026-03-06,2026-12-07,CA,Issued,EC\n\
         R3,h.x.com,C3,2026-03-17,2026-04-30,CA,Issued,RSA\n",
    );
    let rsa = |serial: &str, nb: i64, na: i64| {
        let mut c = presenting("h.x.com", "10.0.0.1", serial, nb, na)
            .cert
            .expect("a certificate");
        c.key_type = "RSA".into();
        c
    };
    let mut o = presenting("h.x.com", "10.0.0.1", "C2", 1_772_755_200, 1_796_601_600);
    o.other_key = Some(Box::new(OtherKey::new(
        KeyFamily::Rsa,
        Some(rsa("C0", 1_754_870_400, 1_786_060_800)),
        Vec::new(),
    )));
    let (v, _) = judge_one(o, &i, &policy());
    assert_eq!(v.status, Status::RenewedNotDeployed, "{v:#?}");
    let expected = v.expected.as_ref().and_then(|e| e.serial.as_deref());
    assert_eq!(expected, Some("C1"));
    assert!(v.findings.iter().any(|f| f == "dual_certificates"));
}

#[test]
fn generated_servers_with_one_certificate_per_key_type_are_judged_by_their_kind() {
    // A server may hold one certificate per key type and present each to its clients.
    // The records know each version's key type. Whatever the server holds, the verdict
    // says renewed_not_deployed exactly when a client gets a certificate that has a
    // later usable version it should have got: of its own key type when the server
    // holds both, of any when it holds one (it refuses the other type's clients the
    // newest).
    const DAY: i64 = 86_400;
    let p = policy();
    let mut reached = std::collections::BTreeMap::<String, usize>::new();
    for seed in 1..=10000u64 {
        let mut rng = Rng(seed.wrapping_mul(0xD1B5_4A32_D192_ED03) | 1);
        let mut csv =
            String::from("Certificate ID,SANs,Serial,Valid From,Valid To,Issuer,Status,Key Type\n");
        // (serial, not_before, not_after, status, RSA?)
        let mut versions: Vec<(String, i64, i64, &str, bool)> = Vec::new();
        let mut start = p.now - DAY * (100 + rng.below(600) as i64);
        // In a third of the exports no key type is written: the judge cannot know which
        // later version renews which, and takes any as the served one's possible renewal.
        let typed = rng.below(3) != 0;
        for k in 0..1 + rng.below(5) {
            start += DAY * (2 + rng.below(120) as i64);
            let not_after = start + DAY * (20 + rng.below(400) as i64);
            let status = rng.pick(&["Issued", "Issued", "Issued", "Revoked"]);
            let rsa = rng.below(2) == 0;
            let serial = format!("B{:X}", seed * 8 + k);
            csv.push_str(&format!(
                "R{k},h.x.com,{serial},{},{},CA,{status},{}\n",
                rfc3339_unix(start),
                rfc3339_unix(not_after),
                match (typed, rsa) {
                    (false, _) => "",
                    (true, true) => "RSA 2048",
                    (true, false) => "EC P-256",
                }
            ));
            versions.push((serial, start, not_after, status, rsa));
        }
        // Valid through its notAfter second (RFC 5280), as the judge counts it.
        let usable = |k: usize| {
            let (_, nb, na, status, _) = versions[k];
            status == "Issued" && nb <= p.now && p.now <= na
        };
        // What the server holds: at most one usable version of each key type, valid
        // beyond the renewal window (so that expiry says nothing here).
        // Now and then a server left with anything of its key types: an expired or a
        // revoked certificate too (then only what it must never be called is checked).
        let broken = rng.below(5) == 0;
        let holdable = |rsa: bool| -> Vec<usize> {
            (0..versions.len())
                .filter(|&k| {
                    versions[k].4 == rsa
                        && versions[k].1 <= p.now
                        && (broken || usable(k) && versions[k].2 - p.now > p.renewal_window.secs)
                })
                .collect()
        };
        let hold = |rsa: bool, rng: &mut Rng| {
            let of = holdable(rsa);
            match rng.below(of.len() as u64 + 1) as usize {
                k if k < of.len() => Some(of[k]),
                _ => None,
            }
        };
        let (ec, rsa) = (hold(false, &mut rng), hold(true, &mut rng));
        // An ECDSA-first client gets the EC certificate when there is one.
        let (first, second) = match (ec, rsa) {
            (Some(e), r) => (e, r),
            (None, Some(r)) => (r, None),
            (None, None) => continue,
        };
        let cert_of = |k: usize| {
            let (serial, nb, na, _, is_rsa) = &versions[k];
            let mut o = presenting("h.x.com", "10.0.0.1", serial, *nb, *na);
            let mut c = o.cert.take().expect("a certificate");
            if *is_rsa {
                c.key_type = "RSA".into();
                c.key_bits = 2048;
            }
            c
        };
        // The trust judge's word on an expired certificate.
        let expired_finding = |k: usize| {
            (versions[k].2 < p.now)
                .then_some(Finding::Expired)
                .into_iter()
                .collect::<Vec<_>>()
        };
        let mut o = presenting("h.x.com", "10.0.0.1", "0", 0, 0);
        o.cert = Some(cert_of(first));
        o.findings = expired_finding(first);
        let offered = if versions[first].4 {
            KeyFamily::Ecdsa
        } else {
            KeyFamily::Rsa
        };
        o.other_key = Some(Box::new(OtherKey {
            error: match second {
                Some(_) => None,
                None => Some(crate::model::ErrorInfo {
                    class: ErrorClass::TlsAlert,
                    message: "handshake failure".into(),
                }),
            },
            ..OtherKey::new(
                offered,
                second.map(cert_of),
                second.map(expired_finding).unwrap_or_default(),
            )
        }));
        let i = ids(&csv);
        let (v, _) = judge_one(o, &i, &p);
        *reached.entry(v.status.as_str().to_string()).or_default() += 1;
        let why = format!("seed {seed}: holds {first} and {second:?}\n{csv}-> {v:#?}");
        if broken {
            // A client gets an expired or revoked certificate: never "current".
            let bad = |k: usize| versions[k].2 < p.now || versions[k].3 == "Revoked";
            if bad(first) || second.is_some_and(bad) {
                assert!(
                    matches!(
                        v.status,
                        Status::RenewedNotDeployed | Status::Revoked | Status::Expired
                    ),
                    "{why}"
                );
                // Nor does the records report call the identity done there: an expired or
                // revoked version served beside the newest is stale too.
                let rows = rows_serving(&i, &[&v], &p);
                assert!(
                    rows.iter().all(|r| r.next_step != "Nothing to do."),
                    "{why}\n{rows:#?}"
                );
                let newest = rows.iter().map(|r| r.newest_serial.as_str()).next();
                for h in [Some(first), second].into_iter().flatten() {
                    if bad(h) && Some(versions[h].0.as_str()) != newest {
                        *reached.entry("bad held".into()).or_default() += 1;
                        let said = format!("(serial {})", versions[h].0);
                        // Listed as stale, or, when later than the newest usable one, told
                        // as a later version served.
                        assert!(
                            rows.iter().any(|r| r.stale_at.contains(&said)
                                || (r.findings.contains("later_version_served")
                                    && r.next_step.contains(&said))),
                            "{why}\n{rows:#?}"
                        );
                    }
                }
            }
            continue;
        }
        let later = |k: usize, same_kind: bool| {
            (k + 1..versions.len())
                .any(|j| usable(j) && (!same_kind || versions[j].4 == versions[k].4))
        };
        let stale = match second {
            Some(s) if typed => later(first, true) || later(s, true),
            // Untyped: stale when a usable version other than the two served is later
            // than either of them.
            Some(s) => (0..versions.len())
                .any(|z| z != first && z != s && usable(z) && (z > first || z > s)),
            None => later(first, false),
        };
        let renewed = matches!(
            v.status,
            Status::RenewedNotDeployed | Status::DeploymentPending
        );
        assert_eq!(renewed, stale, "{why}");
        if !stale {
            assert_eq!(v.status, Status::Current, "{why}");
        }
        if second.is_some() {
            assert!(v.findings.iter().any(|f| f == "dual_certificates"), "{why}");
        }
        // The records report agrees: a held version is stale unless it is the newest, or
        // the newest of its key type served beside the newest (without key types in the
        // export: unless no usable version but the newest is later than it).
        {
            let rows = rows_serving(&i, &[&v], &p);
            if let Some(n) = (0..versions.len()).rev().find(|&k| usable(k)) {
                let row = &rows[0];
                assert_eq!(row.newest_serial, versions[n].0, "{why}\n{rows:#?}");
                let held: Vec<usize> = [Some(first), second].into_iter().flatten().collect();
                for &h in &held {
                    if h == n {
                        assert!(!row.deployed_at.is_empty(), "{why}\n{rows:#?}");
                        continue;
                    }
                    let beside = held.contains(&n)
                        && match typed {
                            true => !later(h, true),
                            false => !(h + 1..versions.len()).any(|z| z != n && usable(z)),
                        };
                    *reached.entry(format!("beside {beside}")).or_default() += 1;
                    let said = format!("(serial {})", versions[h].0);
                    assert_eq!(row.stale_at.contains(&said), !beside, "{why}\n{rows:#?}");
                }
            }
        }
    }
    for want in [
        "current",
        "renewed_not_deployed",
        "beside true",
        "beside false",
        "bad held",
    ] {
        assert!(
            reached.contains_key(want),
            "{want} never reached: {reached:?}"
        );
    }
}

#[test]
fn a_certificate_split_into_others_is_not_told_that_no_renewal_exists() {
    // C covered shop and cart; the CLM replaced it with D (shop) and E (cart), which are
    // no renewal by its name set, nor linked. C expires in 9 days.
    let i = ids(&format!(
        "{H}C,,shop.x.com;cart.x.com,0C,2025-06-01,2026-06-07,CA,,Issued\n\
         D,,shop.x.com,0D,2026-05-01,2027-05-01,CA,,Issued\n"
    ));
    let p = policy();
    let mut serving = Serving::default();
    for (host, other) in [("shop.x.com", "D"), ("cart.x.com", "")] {
        let mut o = presenting(host, "10.0.0.1", "C", 1_748_736_000, 1_780_790_400);
        if let Some(c) = o.cert.as_mut() {
            c.sans = vec!["shop.x.com".into(), "cart.x.com".into()];
        }
        let v = judge_one(o, &i, &p).0;
        serving.note(&v, &i);
        assert_eq!(v.status, Status::ExpiringSoon, "{host}: {v:#?}");
        let told = v.findings.iter().any(|f| f == "replacement_in_records");
        if other.is_empty() {
            // Before: the same for shop.x.com, sending its owner to order one more.
            assert!(!told, "{v:#?}");
            assert!(
                v.detail.ends_with("no renewal exists in the records."),
                "{v:#?}"
            );
        } else {
            assert!(told, "{v:#?}");
            assert!(v.detail.contains("Record D (serial D"), "{v:#?}");
            assert!(
                v.next_step
                    .starts_with("Deploy the certificate of record D"),
                "{v:#?}"
            );
        }
    }
    let rows = identity_rows(&i, &serving, &p);
    let c = rows
        .iter()
        .find(|r| r.newest_record_id == "C")
        .expect("C's row");
    // cart.x.com has nothing later: the identity still needs renewing.
    assert!(c.findings.contains("expiring_no_renewal"), "{c:#?}");
    // With E for cart too, every name is taken over: no renewal to order.
    let i = ids(&format!(
        "{H}C,,shop.x.com;cart.x.com,0C,2025-06-01,2026-06-07,CA,,Issued\n\
         D,,shop.x.com,0D,2026-05-01,2027-05-01,CA,,Issued\n\
         E,,cart.x.com,0E,2026-05-01,2027-05-01,CA,,Issued\n"
    ));
    let rows = identity_rows(&i, &serving, &p);
    let c = rows
        .iter()
        .find(|r| r.newest_record_id == "C")
        .expect("C's row");
    assert!(c.findings.contains("replacement_in_records"), "{c:#?}");
    assert!(!c.findings.contains("expiring_no_renewal"), "{c:#?}");
    assert!(
        c.next_step
            .contains("(cart.x.com by record E, shop.x.com by record D)"),
        "{c:#?}"
    );
    // A later certificate that expires first takes nothing over; nor does an earlier one.
    let i = ids(&format!(
        "{H}C,,shop.x.com;cart.x.com,0C,2025-06-01,2026-06-07,CA,,Issued\n\
         D,,shop.x.com,0D,2026-05-01,2026-06-05,CA,,Issued\n\
         F,,shop.x.com,0F,2025-05-01,2027-05-01,CA,,Issued\n"
    ));
    let mut o = presenting("shop.x.com", "10.0.0.1", "C", 1_748_736_000, 1_780_790_400);
    if let Some(c) = o.cert.as_mut() {
        c.sans = vec!["shop.x.com".into(), "cart.x.com".into()];
    }
    let v = judge_one(o, &i, &p).0;
    assert!(
        !v.findings.iter().any(|f| f == "replacement_in_records"),
        "{v:#?}"
    );
}

#[test]
fn internationalised_names_in_the_records_compare_as_the_certificates_write_them() {
    // The export shows the Unicode form (and any letter case, a trailing dot); the
    // certificate and the target hold the A-label. Before: "in no record" (the serial's
    // match was refused, its names differing) and a managing record found by one name only.
    let i = ids(&format!(
        "{H}A,,WWW.X.COM.;bücher.x.com,0A,2025-06-01,2026-12-07,CA,,Issued\n\
         B,,www.x.com;BÜCHER.x.com.,0B,2026-05-01,2027-05-01,CA,,Issued\n"
    ));
    assert_eq!(i.records[0].sans, ["www.x.com", "xn--bcher-kva.x.com"]);
    assert_eq!(i.records[1].sans, ["www.x.com", "xn--bcher-kva.x.com"]);
    let p = policy();
    for host in ["www.x.com", "xn--bcher-kva.x.com"] {
        let mut o = presenting(host, "10.0.0.1", "A", 1_748_736_000, 1_780_790_400);
        if let Some(c) = o.cert.as_mut() {
            c.sans = vec!["www.x.com".into(), "xn--bcher-kva.x.com".into()];
        }
        let v = judge_one(o, &i, &p).0;
        assert_eq!(v.status, Status::RenewedNotDeployed, "{host}: {v:#?}");
        assert_eq!(v.expected.map(|r| r.record_id).as_deref(), Some("B"));
    }
}

#[test]
fn hours_left_or_past_are_told_in_hours() {
    // Before: "expires in 0 days" and "expired 1 days ago".
    let p = policy();
    let i = ids(&format!(
        "{H}A,,a.x.com,0A,2025-06-01,2026-09-20,CA,,Issued\n"
    ));
    let v = judge_one(
        presenting("a.x.com", "10.0.0.1", "A", 1_700_000_000, p.now + 5 * 3_600),
        &i,
        &p,
    )
    .0;
    assert!(v.detail.contains(": expires in 5 hours"), "{}", v.detail);
    let v = judge_one(
        presenting(
            "a.x.com",
            "10.0.0.1",
            "FF",
            1_700_000_000,
            p.now - 3 * 3_600,
        ),
        &i,
        &p,
    )
    .0;
    assert!(
        v.next_step.contains("it expired 3 hours ago."),
        "{}",
        v.next_step
    );
}

#[test]
fn a_certificate_clients_refuse_is_not_kept_for_being_later_than_the_records() {
    // Record A is valid; the server presents a certificate in no record, issued after A.
    let i = ids(&format!(
        "{H}A,,a.x.com,0A,2026-01-01,2026-12-20,CA,,Issued\n"
    ));
    let p = policy();
    let served = |finding: Option<Finding>| {
        let mut o = presenting("a.x.com", "10.0.0.1", "FF", 1_779_000_000, 1_810_000_000);
        o.findings.extend(finding);
        judge_one(o, &i, &p).0
    };
    // Trusted and for the name: ahead of the records, not to be replaced.
    let v = served(None);
    assert!(
        v.findings.iter().any(|f| f == "newer_than_records"),
        "{v:#?}"
    );
    assert!(v.next_step.starts_with("Do not replace it"), "{v:#?}");
    // Before: the same "Do not replace it" for each of these, which clients refuse.
    for f in [
        Finding::SelfSigned,
        Finding::UnknownIssuer,
        Finding::HostnameMismatch,
        Finding::NotYetValid,
    ] {
        let v = served(Some(f));
        assert_eq!(v.status, Status::Unmanaged, "{f:?}");
        assert!(
            !v.findings.iter().any(|f| f == "newer_than_records"),
            "{v:#?}"
        );
        assert!(
            v.next_step
                .starts_with("Replace it with the managed certificate (record A;"),
            "{f:?}: {}",
            v.next_step
        );
        assert!(v.detail.contains("which clients refuse"), "{v:#?}");
    }
    // Only the intermediate missing: still ahead of the records, and the chain to fix.
    let v = served(Some(Finding::IncompleteChain));
    assert!(
        v.findings.iter().any(|f| f == "newer_than_records"),
        "{v:#?}"
    );
    assert!(v.next_step.starts_with("Install its full chain"), "{v:#?}");
    // For a name no record manages: not to be imported as it is.
    let mut o = presenting("b.x.com", "10.0.0.1", "FF", 1_779_000_000, 1_810_000_000);
    o.findings.push(Finding::SelfSigned);
    let v = judge_one(o, &i, &p).0;
    assert!(
        v.next_step
            .starts_with("Clients refuse it: order a certificate for b.x.com"),
        "{}",
        v.next_step
    );
}

#[test]
fn an_identity_whose_names_are_excluded_is_not_told_to_be_added_to_the_targets() {
    let i = ids(&format!(
        "{H}A,,a.x.com,0A,2026-01-01,2026-12-20,CA,,Issued\n\
         W,,*.ot.x.com,0B,2026-01-01,2026-12-20,CA,,Issued\n\
         B,,b.x.com,0C,2026-01-01,2026-12-20,CA,,Issued\n"
    ));
    let list = [("x".to_string(), "a.x.com\n*.ot.x.com\n".as_bytes())];
    let x = crate::engine::exclude::Exclusions::from_readers(list).expect("a good list");
    let mut serving = Serving::default();
    serving.excluded = Some(std::sync::Arc::new(x));
    let rows = identity_rows(&i, &serving, &policy());
    let step = |id: &str| {
        rows.iter()
            .find(|r| r.newest_record_id == id)
            .map(|r| r.next_step.clone())
            .unwrap_or_default()
    };
    for id in ["A", "W"] {
        assert!(step(id).contains("--exclude list"), "{id}: {rows:#?}");
    }
    // Not excluded: add it to the targets, as before.
    assert!(
        step("B").contains("add its endpoints to the targets"),
        "{rows:#?}"
    );
}

#[test]
fn a_status_per_endpoint_given_by_address_is_found_for_the_name_asked_there() {
    // The export lists its deployment endpoints by address; an inventory sweep asks each
    // for the certificate's name. Before: the endpoint's own status ("DEPLOYED") was not
    // found and the record's merged one (any failure) was told.
    let i = ids(
        "Certificate ID,SANs,Serial,Valid From,Valid To,Identity ID,Deployment Endpoints,Deployment Status\n\
         A,a.x.com,01,2025-06-01,2026-06-20,M,,\n\
         B,a.x.com,02,2026-04-01,2027-04-01,M,10.0.0.7:443;10.0.0.8:443,DEPLOYED;FAILED\n",
    );
    let mut o = presenting("a.x.com", "10.0.0.7", "1", 1_748_736_000, 1_781_913_600);
    o.host = "10.0.0.7".into();
    let v = judge_one(o, &i, &policy()).0;
    assert_eq!(v.status, Status::RenewedNotDeployed, "{}", v.detail);
    assert!(
        v.findings.iter().any(|f| f == "records_say_deployed"),
        "{:?}",
        v.findings
    );
    assert!(v.detail.ends_with("as \"DEPLOYED\"."), "{}", v.detail);
}

#[test]
fn a_pools_nodes_given_by_address_with_its_name_are_one_names_endpoints() {
    // Two nodes listed by address, asked for a.x.com (a CSV sni column, an inventory's
    // deployment endpoints by address): one kept the old certificate. Before: each address
    // was a name of its own, and no partial rollout was told.
    let i = ids(&format!(
        "{H}A,,a.x.com,01,2025-06-01,2026-06-20,CA,,Issued\n\
         B,,a.x.com,02,2026-04-01,2027-04-01,CA,A,Issued\n"
    ));
    let p = policy();
    let node = |ip: &str, serial: &str, na: i64| {
        let mut o = presenting("a.x.com", ip, serial, 1_748_736_000, na);
        o.host = ip.into();
        judge_one(o, &i, &p)
    };
    let nodes = [
        node("10.0.0.7", "2", 1_806_537_600),
        node("10.0.0.8", "1", 1_781_913_600),
    ];
    let rollout = rollout_of(&nodes);
    let mut stale = nodes[1].0.clone();
    rollout.annotate(&mut stale, &i);
    assert_eq!(stale.name_endpoints_current.as_deref(), Some("1/2"));
    assert!(
        stale.findings.iter().any(|f| f == "partial_rollout"),
        "{stale:#?}"
    );
    assert!(
        stale.detail.contains("1 of 2 endpoints of a.x.com:443"),
        "{}",
        stale.detail
    );
}

#[test]
fn a_later_version_still_pending_in_the_records_is_not_an_older_one_to_replace() {
    // B renews A; the CLM still shows B as pending, while the endpoint serves it. Before:
    // the records report listed B as an older version served ("re-run provisioning", which
    // would roll the endpoint back to A), and the endpoint said nothing of the records.
    let i = ids(&format!(
        "{H}A,,a.x.com,0A,2025-06-01,2026-12-20,CA,,Issued\n\
         B,,a.x.com,0B,2026-05-01,2027-05-01,CA,A,Pending\n"
    ));
    let p = policy();
    let v = judge_one(
        presenting("a.x.com", "10.0.0.1", "B", 1_777_593_600, 1_809_129_600),
        &i,
        &p,
    )
    .0;
    assert_eq!(v.status, Status::Current, "{v:#?}");
    assert!(
        v.findings.iter().any(|f| f == "records_say_pending"),
        "{v:#?}"
    );
    assert!(v
        .next_step
        .contains("correct the certificate's status in the CLM"));
    let rows = rows_serving(&i, &[&v], &p);
    let row = &rows[0];
    assert_eq!(row.newest_record_id, "A");
    assert!(row.stale_at.is_empty(), "{row:#?}");
    assert_eq!(row.findings, "later_version_served", "{row:#?}");
    assert!(
        row.next_step.contains("correct its status in the CLM"),
        "{row:#?}"
    );
}

/// The verdict on a mail server (port 25) serving A, issued by CA, with TLSA facts `dane`,
/// while A's renewal B, not deployed, is issued by `b_issuer` (as a CSV cell) with `keys`:
/// the bytes its key's and its CA key's SHA-256 repeat, where its record carries them.
/// Records of a.x.com: A, valid until 2026-12-20, renewed as B, issued by `b_issuer`
/// from 2026-04-01 until `b_until`.
fn a_renewed_as_b(b_issuer: &str, b_until: &str) -> Identities {
    ids(&format!(
        "{H}A,,a.x.com,01,2025-06-01,2026-12-20,CA,,Issued\n\
         B,,a.x.com,02,2026-04-01,{b_until},{b_issuer},A,Issued\n"
    ))
}

fn mail_renewal(
    b_issuer: &str,
    keys: (Option<u8>, Option<u8>),
    dane: crate::model::DaneInfo,
) -> Verdict {
    let mut i = a_renewed_as_b(b_issuer, "2027-04-01");
    let pos = i.records.iter().position(|r| &*r.record_id == "B").unwrap();
    i.records[pos].spki_sha256 = keys.0.map(|k| Box::new([k; 32]));
    i.records[pos].issuer_spki_sha256 = keys.1.map(|k| Box::new([k; 32]));
    let mut o = presenting("a.x.com", "10.0.0.1", "1", 1_748_736_000, 1_797_724_800);
    o.port = 25;
    o.dane = Some(Box::new(dane));
    judge_one(o, &i, &policy()).0
}

#[test]
fn a_renewal_whose_key_the_tlsa_records_do_not_pin_is_told_before_it_is_deployed() {
    // A mail server still serving A; the renewal B (its PEM in the records, so its key is
    // known) has a new key that the TLSA records (3 1 1 pins of A's key) do not name yet.
    let renewal_key = "ab".repeat(32);
    let with_pins = |pins: &[&str], only: bool| {
        let mut records: Vec<String> = pins.iter().map(|k| format!("3 1 1 {k}")).collect();
        if !only {
            records.push("2 0 1 1f2e3d4c…5b6a7988".into());
        }
        mail_renewal(
            "CA",
            (Some(0xab), None),
            crate::model::DaneInfo {
                records,
                matched: Some("3 1 1 cd".into()),
                key_pins: pins.iter().map(|k| k.to_string()).collect(),
                only_key_pins: only,
                ..tlsa_facts("")
            },
        )
    };
    let old_key = "cd".repeat(32);
    let v = with_pins(&[&old_key], true);
    assert_eq!(v.status, Status::RenewedNotDeployed);
    assert!(v.findings.contains(&"dane_renewal_unpublished".to_string()));
    assert!(
        v.next_step.ends_with(&format!(" Before deploying it, publish the TLSA record for its key (_25._tcp.a.x.com 3 1 1 {renewal_key}) beside the current ones and wait for their TTL: clients that validate DANE refuse the renewal until it is published.")),
        "{}",
        v.next_step
    );
    // Published beside the old one: nothing to add. Records of other kinds (a CA's pin),
    // which the renewal may match through its chain: not judged.
    for v in [
        with_pins(&[&old_key, &renewal_key], true),
        with_pins(&[&old_key], false),
    ] {
        assert_eq!(v.status, Status::RenewedNotDeployed);
        assert!(!v.findings.contains(&"dane_renewal_unpublished".to_string()));
        assert!(!v.next_step.contains("TLSA"), "{}", v.next_step);
    }
}

#[test]
fn a_renewal_from_another_ca_than_the_tlsa_records_pin_is_told_before_it_is_deployed() {
    // A mail server serving A, issued by CA, whose TLSA records pin CA's key (`2 1 1`);
    // the renewal B is issued by another intermediate, R11, as Let's Encrypt's renewals
    // move among its intermediates.
    let judged = |b_issuer: &str, b_key: Option<u8>, key_pins: &[&str], issuer_pinned: bool| {
        let mut records = vec!["2 1 1 9f86d081…b0f00a08".to_string()];
        records.extend(key_pins.iter().map(|k| format!("3 1 1 {k}")));
        mail_renewal(
            b_issuer,
            (b_key, None),
            crate::model::DaneInfo {
                records,
                matched: Some("2 1 1 9f86d081…b0f00a08".into()),
                key_pins: key_pins.iter().map(|k| k.to_string()).collect(),
                issuer_pinned,
                ..tlsa_facts("")
            },
        )
    };
    let v = judged("R11", None, &[], true);
    assert_eq!(v.status, Status::RenewedNotDeployed);
    assert!(v.findings.contains(&"dane_renewal_unpublished".to_string()));
    assert!(
        v.next_step.ends_with(" It is issued by R11, while of CAs the TLSA records name only CA, which issued the certificate served: before deploying it, publish a TLSA record for R11 (_25._tcp.a.x.com 2 1 1 with the SHA-256 of its key) beside the current ones and wait for their TTL: clients that validate DANE refuse the renewal until it is published."),
        "{}",
        v.next_step
    );
    // Its key known and pinned by none of the records: either record will do.
    let old_key = "cd".repeat(32);
    let v = judged(
        "\"CN=R11, O=Let's Encrypt, C=US\"",
        Some(0xab),
        &[&old_key],
        true,
    );
    assert!(v.findings.contains(&"dane_renewal_unpublished".to_string()));
    assert!(
        v.next_step.contains(&format!("(_25._tcp.a.x.com 2 1 1 with the SHA-256 of its key, or _25._tcp.a.x.com 3 1 1 {} for the renewal's own key)", "ab".repeat(32))),
        "{}",
        v.next_step
    );
    // Nothing to say: the same CA (by its CN or DN); a key pin that holds the renewal's key
    // (a reused key); key pins beside, the renewal's key unknown; records that may name
    // the new CA (not only the served one's); no issuer in the records.
    for v in [
        judged("CA", Some(0xab), &[], true),
        judged("\"CN=CA, O=Corp\"", None, &[], true),
        judged("R11", Some(0xab), &[&"ab".repeat(32)], true),
        judged("R11", None, &[&old_key], true),
        judged("R11", Some(0xab), &[], false),
        judged("", Some(0xab), &[], true),
    ] {
        assert_eq!(v.status, Status::RenewedNotDeployed);
        assert!(!v.findings.contains(&"dane_renewal_unpublished".to_string()));
        assert!(!v.next_step.contains("TLSA"), "{}", v.next_step);
    }
}

#[test]
fn a_renewal_whose_ca_key_the_tlsa_records_do_not_pin_is_told_with_the_record_to_publish() {
    // Records pinning keys (`3 1 1`) and CA keys (`2 1 1`); the renewal B's record carries
    // its PEM and its CA's certificate, so both its keys are known.
    let (old_key, old_ca) = ("cd".repeat(32), "c0".repeat(32));
    let judged = |key_pins: &[&str], ca_pins: &[&str], b_ca: Option<u8>| {
        let mut records: Vec<String> = key_pins.iter().map(|k| format!("3 1 1 {k}")).collect();
        records.extend(ca_pins.iter().map(|k| format!("2 1 1 {k}")));
        mail_renewal(
            "R11",
            (Some(0xab), b_ca),
            crate::model::DaneInfo {
                records,
                matched: Some("2 1 1 c0c0c0c0…c0c0c0c0".into()),
                key_pins: key_pins.iter().map(|k| k.to_string()).collect(),
                ca_pins: ca_pins.iter().map(|k| k.to_string()).collect(),
                issuer_pinned: true,
                ..tlsa_facts("")
            },
        )
    };
    let (new_key, new_ca) = ("ab".repeat(32), "b1".repeat(32));
    let v = judged(&[], &[&old_ca], Some(0xb1));
    assert!(v.findings.contains(&"dane_renewal_unpublished".to_string()));
    assert!(
        v.next_step.ends_with(&format!(" Before deploying it, publish the TLSA record for its CA's key, R11's (_25._tcp.a.x.com 2 1 1 {new_ca}) beside the current ones and wait for their TTL: clients that validate DANE refuse the renewal until it is published.")),
        "{}",
        v.next_step
    );
    let v = judged(&[&old_key], &[&old_ca], Some(0xb1));
    assert!(
        v.next_step.contains(&format!(" Before deploying it, publish the TLSA record for its key (_25._tcp.a.x.com 3 1 1 {new_key}) and the TLSA record for its CA's key, R11's (_25._tcp.a.x.com 2 1 1 {new_ca}) beside the current ones")),
        "{}",
        v.next_step
    );
    // The CA's key unknown: its name tells it is another CA.
    let v = judged(&[], &[&old_ca], None);
    assert!(
        v.next_step.contains("publish a TLSA record for R11 (_25._tcp.a.x.com 2 1 1 with the SHA-256 of its key, or _25._tcp.a.x.com 3 1 1 abab"),
        "{}",
        v.next_step
    );
    // A record pinning the root, sent in the chain: a renewal under it still matches it.
    let v = mail_renewal(
        "R11",
        (Some(0xab), Some(0xb1)),
        crate::model::DaneInfo {
            records: vec![format!("2 1 1 {old_ca}")],
            ca_pins: vec![old_ca.clone()],
            ca_above: true,
            ..tlsa_facts("")
        },
    );
    assert!(!v.findings.contains(&"dane_renewal_unpublished".to_string()));
    // Nothing to say: its CA's key pinned already (published ahead, or the same CA), or its
    // own key.
    for v in [
        judged(&[], &[&old_ca, &new_ca], Some(0xb1)),
        judged(&[&old_key], &[&old_ca], Some(0xc0)),
        judged(&[&new_key], &[&old_ca], Some(0xb1)),
    ] {
        assert_eq!(v.status, Status::RenewedNotDeployed);
        assert!(!v.findings.contains(&"dane_renewal_unpublished".to_string()));
        assert!(!v.next_step.contains("TLSA"), "{}", v.next_step);
    }
}

#[test]
fn a_port_of_a_several_port_sweep_where_nothing_listens_is_no_fault_when_another_serves_the_name() {
    // `--port 443,8443`: www serves on 443 only, api on 8443 only, down on neither; old.x.com's
    // record places its deployment on 8443 itself.
    let i = ids(
        "Certificate ID,SANs,Serial,Valid From,Valid To,Issuer,Status,Deployment Endpoints\n\
         W,www.x.com,0A,2026-05-01,2027-05-01,CA,Issued,\n\
         P,api.x.com,0B,2026-05-01,2027-05-01,CA,Issued,\n\
         D,down.x.com,0C,2026-05-01,2027-05-01,CA,Issued,\n\
         O,old.x.com,0D,2026-05-01,2027-05-01,CA,Issued,old.x.com:8443\n",
    );
    let p = policy();
    let (nb, na) = (1_777_593_600, 1_809_129_600);
    let at = |mut o: Box<Observation>, port: u16| {
        o.port = port;
        o
    };
    let refused = |host: &str, port: u16| {
        at(
            failing(host, "10.0.0.1", ErrorClass::ConnectRefused, "refused"),
            port,
        )
    };
    let seen = vec![
        at(presenting("www.x.com", "10.0.0.1", "A", nb, na), 443),
        refused("www.x.com", 8443),
        refused("api.x.com", 443),
        at(presenting("api.x.com", "10.0.0.1", "B", nb, na), 8443),
        refused("down.x.com", 443),
        at(
            failing(
                "down.x.com",
                "10.0.0.1",
                ErrorClass::ConnectTimeout,
                "timeout",
            ),
            8443,
        ),
        at(presenting("old.x.com", "10.0.0.1", "D", nb, na), 443),
        refused("old.x.com", 8443),
        // Something speaks TLS on 8443 but has no certificate for the name: a fault there.
        at(
            failing(
                "www.x.com",
                "10.0.0.2",
                ErrorClass::TlsAlert,
                crate::model::SNI_REFUSED,
            ),
            8443,
        ),
    ];
    let judge_all = |rollout: &mut Rollout| {
        let judged: Vec<Verdict> = seen
            .iter()
            .map(|o| {
                let (v, ok) = judge_one(o.clone(), &i, &p);
                rollout.note(&v, ok);
                v
            })
            .collect();
        judged
            .into_iter()
            .map(|mut v| {
                rollout.annotate(&mut v, &i);
                v
            })
            .collect::<Vec<Verdict>>()
    };
    let vs = judge_all(&mut Rollout::on_ports(&[443, 8443]));
    let statuses: Vec<Status> = vs.iter().map(|v| v.status).collect();
    assert_eq!(
        statuses,
        [
            Status::Current,
            Status::ServedOnOtherPort,
            Status::ServedOnOtherPort,
            Status::Current,
            Status::Unreachable,
            Status::Unreachable,
            Status::Current,
            Status::Unreachable,
            Status::Unreachable,
        ]
    );
    assert_eq!(vs[1].findings, ["served_on_other_port"]);
    assert!(
        vs[1]
            .detail
            .contains("www.x.com presents its certificate on port 443"),
        "{}",
        vs[1].detail
    );
    assert!(
        vs[1].detail.starts_with("No certificate from"),
        "{}",
        vs[1].detail
    );
    assert!(
        vs[2]
            .next_step
            .starts_with("Nothing to do if api.x.com's service does not listen on port 443"),
        "{}",
        vs[2].next_step
    );
    assert!(
        vs[7].next_step.starts_with("Nothing listens on"),
        "{}",
        vs[7].next_step
    );
    // One port: nothing to compare with, every refusal is the endpoint's fault.
    let one = judge_all(&mut Rollout::on_ports(&[8443]));
    assert!(one.iter().all(|v| v.status != Status::ServedOnOtherPort));
}

/// One version of a name's certificate in a generated history.
struct Held {
    serial: String,
    not_before: i64,
    not_after: i64,
    revoked: bool,
    /// The order date, when the export gives one (after notBefore: CAs backdate it).
    ordered: Option<i64>,
    /// What the records say of its deployment.
    deploy: &'static str,
    /// For `*.x.com` rather than `h.x.com`: another identity covering the name.
    wildcard: bool,
    /// Ordered and not issued yet: no serial, no dates in the records.
    pending: bool,
}

impl Held {
    /// Ordered by notBefore, then notAfter (no order dates tie in these histories).
    fn key(&self) -> (i64, i64) {
        (self.not_before, self.not_after)
    }
}

/// The newest version to serve of `versions`: issued and valid already, one not expired
/// first.
fn newest_by_the_rules<'v>(
    versions: impl Iterator<Item = &'v Held> + Clone,
    p: &Policy,
) -> Option<&'v Held> {
    let eligible = versions.filter(|v| !v.revoked && !v.pending && v.not_before <= p.now);
    eligible
        .clone()
        .filter(|v| v.not_after >= p.now)
        .max_by_key(|v| v.key())
        .or_else(|| eligible.max_by_key(|v| v.key()))
}

/// What the rules (README, "Status per endpoint") give for one name's history of
/// versions and the version an endpoint serves, written apart from the judging code: the
/// status, whether `revoked` is among the findings, the serial expected, and whether
/// another identity's later certificate is named for one expiring soon
/// (`replacement_in_records`). `by_ca`: the CA says the served one is revoked (its OCSP
/// response), whatever the records say.
fn by_the_rules(
    versions: &[Held],
    served: usize,
    by_ca: bool,
    p: &Policy,
) -> (Status, bool, Option<String>, bool) {
    let s = &versions[served];
    let s_expired = s.not_after < p.now;
    let s_revoked = s.revoked || by_ca;
    // Its own identity's versions: the dedicated certificate's and the wildcard's are two.
    let newest = newest_by_the_rules(versions.iter().filter(|v| v.wildcard == s.wildcard), p);
    // A renewal that has expired itself is nothing to deploy.
    let renewal = newest
        .filter(|n| n.serial != s.serial && n.not_before > s.not_before && n.not_after >= p.now);
    if let Some(n) = renewal {
        // Grace from the later of notBefore and the order date, only while the served
        // certificate still works and nothing says the deployment has ended.
        let since = n.ordered.map_or(n.not_before, |o| o.max(n.not_before));
        let ended = matches!(n.deploy, "Deployment Failed" | "Rolled Back" | "Deployed");
        let young = p.now - since < p.grace_secs && !s_expired && !s_revoked && !ended;
        let status = match young {
            true => Status::DeploymentPending,
            false => Status::RenewedNotDeployed,
        };
        return (status, s_revoked, Some(n.serial.clone()), false);
    }
    // In place of a revoked certificate only a later one is named (a revocation for key
    // compromise covers the versions before it too).
    let expected = newest.filter(|n| !s_revoked || n.not_before > s.not_before);
    // Served expired or revoked with nothing valid to expect: the certificate the step says
    // to deploy now, valid today, of either identity (later than a revoked one), issued
    // last.
    let expected = match expected {
        Some(n) if n.not_after >= p.now => Some(n),
        _ if s_expired || s_revoked => versions
            .iter()
            .filter(|k| {
                k.serial != s.serial
                    && !k.revoked
                    && !k.pending
                    && k.not_before <= p.now
                    && k.not_after >= p.now
                    && (!s_revoked || k.key() > s.key())
            })
            .max_by_key(|k| k.key())
            .or(expected),
        _ => expected,
    }
    .map(|n| n.serial.clone());
    let status = if s_revoked {
        Status::Revoked
    } else if s_expired {
        Status::Expired
    } else if s.not_after - p.now < 30 * 86_400 {
        Status::ExpiringSoon
    } else {
        Status::Current
    };
    // Issued after it, outlasting it, valid today, of the other identity.
    let replacement = status == Status::ExpiringSoon
        && versions.iter().any(|k| {
            k.wildcard != s.wildcard
                && !k.revoked
                && !k.pending
                && k.not_before <= p.now
                && k.not_after >= p.now
                && k.not_before > s.not_before
                && k.not_after > s.not_after
        });
    (status, s_revoked, expected, replacement)
}

/// [`by_the_rules`] for a certificate the records do not hold, valid from `nb` to `na`:
/// the status, whether it was issued after the newest version (`newer_than_records`), and
/// the serial expected instead.
fn unmanaged_by_the_rules(
    versions: &[Held],
    nb: i64,
    na: i64,
    p: &Policy,
) -> (Status, bool, Option<String>) {
    // With no certificate of its own for the name, the newest of every identity covering it.
    let newest = newest_by_the_rules(versions.iter(), p);
    let newer = newest.is_some_and(|n| nb > n.not_before);
    let status = match na < p.now {
        true => Status::Expired,
        false => Status::Unmanaged,
    };
    let expected = newest.filter(|_| !newer);
    // Served expired: the managed certificate the step says to deploy now, valid today,
    // whether or not the served one was issued after the records' newest.
    let valid_today = versions
        .iter()
        .filter(|k| !k.revoked && !k.pending && k.not_before <= p.now && k.not_after >= p.now)
        .max_by_key(|k| k.key());
    let expected = match (expected, status) {
        (Some(n), _) if n.not_after >= p.now => Some(n),
        (e, Status::Expired) => valid_today.or(e),
        (e, _) => e,
    }
    .map(|n| n.serial.clone());
    (status, newer, expected)
}

#[test]
fn generated_histories_get_the_verdict_the_rules_give() {
    // One name's versions (issued or revoked, valid long ago, lately, within the grace
    // period or only from a later date, of four lifetimes, ordered at their notBefore or
    // later, their deployment as the records say it) and an endpoint serving one of them
    // or a certificate the records do not hold: the status, the revocation finding and
    // the serial expected must be the rules'.
    const HOURS_AGO: [i64; 8] = [-48, 12, 30, 72, 960, 2400, 7200, 12000];
    const LIFETIME_DAYS: [i64; 4] = [47, 90, 200, 398];
    const DEPLOY: [&str; 7] = [
        "",
        "",
        "Deployed",
        "Deployment Failed",
        "Rolled Back",
        "In Progress",
        "Configuration Pending",
    ];
    let p = policy();
    let mut rng = crate::testrng::XorShift::new(0x5eed_0f0e_7d1c_7000);
    for round in 0..6_000u64 {
        let k = 1 + rng.below(4) as usize;
        let mut ages: Vec<i64> = Vec::new();
        while ages.len() < k {
            let a = HOURS_AGO[rng.below(HOURS_AGO.len() as u64) as usize];
            if !ages.contains(&a) {
                ages.push(a);
            }
        }
        let versions: Vec<Held> = ages
            .iter()
            .enumerate()
            .map(|(i, hours)| {
                let nb = p.now - hours * 3_600;
                let days = LIFETIME_DAYS[rng.below(LIFETIME_DAYS.len() as u64) as usize];
                let ordered = match rng.below(3) {
                    0 => None,
                    1 => Some(nb),
                    _ => Some(nb + 20 * 3_600),
                };
                Held {
                    // Eight bytes: private CAs' short serials are judged by their names too.
                    serial: format!("{:016X}", 0x4000_0000_0000_0000 + round * 8 + i as u64),
                    not_before: nb,
                    not_after: nb + days * 86_400,
                    revoked: rng.below(6) == 0,
                    pending: rng.below(8) == 0,
                    ordered,
                    deploy: DEPLOY[rng.below(DEPLOY.len() as u64) as usize],
                    wildcard: rng.below(4) == 0,
                }
            })
            .collect();
        let mut csv = String::from(
            "Certificate ID,SANs,Serial,Valid From,Valid To,Order Date,Status,Deployment Status\n",
        );
        for (i, v) in versions.iter().enumerate() {
            let issued = |text: String| if v.pending { String::new() } else { text };
            csv.push_str(&format!(
                "V{i},{},{},{},{},{},{},{}\n",
                if v.wildcard { "*.x.com" } else { "h.x.com" },
                issued(v.serial.clone()),
                issued(crate::timefmt::rfc3339_unix(v.not_before)),
                issued(crate::timefmt::rfc3339_unix(v.not_after)),
                v.ordered
                    .map(crate::timefmt::rfc3339_unix)
                    .unwrap_or_default(),
                match (v.pending, v.revoked) {
                    (true, _) => "Pending",
                    (false, true) => "Revoked",
                    (false, false) => "Issued",
                },
                v.deploy,
            ));
        }
        let records = ids(&csv);
        if rng.below(5) == 0 {
            // A certificate the records do not hold, bought outside the CLM or left from
            // before it, valid already.
            let nb = p.now - HOURS_AGO[1 + rng.below(7) as usize] * 3_600;
            let na = nb + LIFETIME_DAYS[rng.below(4) as usize] * 86_400;
            let mut o = presenting("h.x.com", "10.0.0.1", "7E57AB1E00000001", nb, na);
            if na < p.now {
                o.findings.push(Finding::Expired);
            }
            let (v, _) = judge_one(o, &records, &p);
            let want = unmanaged_by_the_rules(&versions, nb, na, &p);
            let got = (
                v.status,
                v.findings.iter().any(|f| f == "newer_than_records"),
                v.expected.and_then(|e| e.serial),
            );
            assert_eq!(got, want, "round {round}, unmanaged: {}\n{csv}", v.detail);
            continue;
        }
        // The served version is one the server can present: valid already.
        let servable: Vec<usize> = (0..k)
            .filter(|i| versions[*i].not_before <= p.now && !versions[*i].pending)
            .collect();
        if servable.is_empty() {
            continue;
        }
        let served = servable[rng.below(servable.len() as u64) as usize];
        let s = &versions[served];
        let mut o = presenting("h.x.com", "10.0.0.1", &s.serial, s.not_before, s.not_after);
        if let Some(c) = o.cert.as_mut().filter(|_| s.wildcard) {
            c.sans = vec!["*.x.com".into()];
            c.subject_cn = Some("*.x.com".into());
        }
        if s.not_after < p.now {
            o.findings.push(Finding::Expired);
        }
        let by_ca = rng.below(8) == 0;
        if by_ca {
            o.findings.push(Finding::OcspRevoked);
            o.ocsp = Some(stapled_revoked());
        }
        let (v, _) = judge_one(o, &records, &p);
        let want = by_the_rules(&versions, served, by_ca, &p);
        let has = |f: &str| v.findings.iter().any(|x| x == f);
        let got = (
            v.status,
            v.status == Status::Revoked || has("revoked"),
            v.expected.as_ref().and_then(|e| e.serial.clone()),
            has("replacement_in_records"),
        );
        assert_eq!(
            got, want,
            "round {round}, serving V{served} (revoked by the CA: {by_ca}): {}\n{csv}",
            v.detail
        );
        // The records report: the identity's newest version, and the endpoint among those
        // serving it or among those serving another version.
        let family = versions.iter().filter(|h| h.wildcard == s.wildcard);
        let Some(newest) = newest_by_the_rules(family, &p) else {
            continue;
        };
        let names = if s.wildcard { "*.x.com" } else { "h.x.com" };
        let rows = rows_serving(&records, &[&v], &p);
        // A pending order for the name, with no certificate, is a row of its own.
        let row = rows
            .iter()
            .find(|r| r.names == names && !r.newest_serial.is_empty())
            .expect("its row");
        let at = |list: &str| list.split(';').any(|e| e.starts_with("h.x.com"));
        assert_eq!(
            (
                row.newest_serial.as_str(),
                at(&row.deployed_at),
                at(&row.stale_at)
            ),
            (
                newest.serial.as_str(),
                newest.serial == s.serial,
                // Any other version, a later one that lapsed early too: not what to serve;
                // but a later one the records do not allow (revoked) is told apart, as
                // rolling it back to the newest usable one is no fix.
                newest.serial != s.serial && !(s.revoked && s.key() > newest.key())
            ),
            "round {round}, serving V{served}: {row:?}\n{csv}"
        );
    }
}

#[test]
fn generated_pools_tell_each_node_what_the_others_serve() {
    // The nodes behind one name, each serving a version of the name's history (some of
    // them a wildcard's, another identity covering the name) or, now and then, a
    // certificate outside the records: every node's count of the name's nodes that serve
    // what they should, and `partial_rollout` exactly on the stale nodes where another node
    // serves the very certificate this one should.
    const HOURS_AGO: [i64; 5] = [30, 72, 960, 2400, 7200];
    let p = policy();
    let mut rng = crate::testrng::XorShift::new(0x9001_5eed_0000_0001);
    for round in 0..2_000u64 {
        let k = 1 + rng.below(3) as usize;
        let mut csv = String::from("Certificate ID,SANs,Serial,Valid From,Valid To,Status\n");
        let mut versions = Vec::new();
        for i in 0..k {
            let nb = p.now - HOURS_AGO[rng.below(5) as usize] * 3_600 - i as i64;
            let na = nb + [47, 90, 398][rng.below(3) as usize] * 86_400;
            let serial = format!("{:016X}", 0x5000_0000_0000_0000 + round * 4 + i as u64);
            let status = if rng.below(6) == 0 {
                "Revoked"
            } else {
                "Issued"
            };
            // Now and then a wildcard covering the name: another identity beside it.
            let wild = rng.below(4) == 0;
            csv.push_str(&format!(
                "V{i},{},{serial},{},{},{status}\n",
                if wild { "*.x.com" } else { "h.x.com" },
                crate::timefmt::rfc3339_unix(nb),
                crate::timefmt::rfc3339_unix(na)
            ));
            versions.push((serial, nb, na, wild));
        }
        let records = ids(&csv);
        let n = 2 + rng.below(3) as usize;
        let mut nodes: Vec<(Verdict, bool)> = (0..n)
            .map(|node| {
                let ip = format!("10.0.0.{}", node + 1);
                let o = match rng.below(8) {
                    0 => presenting("h.x.com", &ip, "7E57AB1E00000002", p.now - 86_400, p.now),
                    _ => {
                        let (serial, nb, na, wild) = &versions[rng.below(k as u64) as usize];
                        let mut o = presenting("h.x.com", &ip, serial, *nb, *na);
                        if let Some(c) = o.cert.as_mut().filter(|_| *wild) {
                            c.sans = vec!["*.x.com".into()];
                            c.subject_cn = Some("*.x.com".into());
                        }
                        if *na < p.now {
                            o.findings.push(Finding::Expired);
                        }
                        o
                    }
                };
                judge_one(o, &records, &p)
            })
            .collect();
        let rollout = rollout_of(&nodes);
        // Who serves what they should, and the serials so served.
        let serving: Vec<(bool, Option<String>)> = nodes
            .iter()
            .map(|(v, serves)| {
                let expected = v.expected.as_ref().and_then(|e| e.serial.clone());
                (*serves, expected)
            })
            .collect();
        let current = serving.iter().filter(|(s, _)| *s).count();
        for (i, (v, serves)) in nodes.iter_mut().enumerate() {
            let served = v.observation.cert.as_ref().map(|c| c.serial.clone());
            // Serving what it should is serving the expected serial.
            assert_eq!(
                *serves,
                served.is_some() && served == serving[i].1,
                "round {round}, node {i}: {}\n{csv}",
                v.detail
            );
            rollout.annotate(v, &records);
            let stale = matches!(
                v.status,
                Status::RenewedNotDeployed | Status::DeploymentPending
            ) || (v.status == Status::Unmanaged
                && v.findings.iter().any(|f| f == "names_managed_elsewhere")
                && !v.findings.iter().any(|f| f == "newer_than_records"));
            let others_have_it = serving
                .iter()
                .any(|(s, e)| *s && e.is_some() && *e == serving[i].1);
            assert_eq!(
                (
                    v.name_endpoints_current.clone(),
                    v.findings.iter().any(|f| f == "partial_rollout")
                ),
                (Some(format!("{current}/{n}")), stale && others_have_it),
                "round {round}, node {i}: {}\n{csv}",
                v.detail
            );
        }
    }
}

#[test]
fn a_renewal_order_not_issued_yet_belongs_to_the_certificate_it_renews() {
    // A pending order for the name, no certificate yet: was an identity of its own that the
    // records report called without a valid certificate, beside the one it renews.
    let i = ids(
        "Certificate ID,SANs,Serial,Valid From,Valid To,Order Date,Status\n\
         A,a.x.com,0A01,2025-06-01,2026-06-20,2025-05-31,Issued\n\
         B,a.x.com,,,,2026-05-27,Pending\n\
         C,other.x.com,,,,2026-05-27,Pending\n",
    );
    assert!(same(&i, "A", "B"));
    assert!(!same(&i, "A", "C"));
    let p = policy();
    let served = presenting("a.x.com", "10.0.0.1", "A01", 1_748_736_000, 1_781_913_600);
    let (v, _) = judge_one(served, &i, &p);
    // Expiring, with its renewal on its way rather than none at all.
    assert_eq!(v.status, Status::ExpiringSoon, "{}", v.detail);
    assert!(
        v.findings.iter().any(|f| f == "renewal_pending"),
        "{:?}",
        v.findings
    );
    assert!(
        v.detail
            .ends_with("Its renewal record B is still pending (Pending)."),
        "{}",
        v.detail
    );
    // One row for the name, not a second one without a valid certificate; an order for
    // names no certificate has stays a row of its own.
    let rows = rows_serving(&i, &[&v], &p);
    let names: Vec<(&str, usize, &str)> = rows
        .iter()
        .map(|r| (r.names.as_str(), r.versions, r.findings.as_str()))
        .collect();
    assert_eq!(
        names,
        [
            ("a.x.com", 2, "renewal_pending"),
            ("other.x.com", 1, "no_valid_certificate")
        ]
    );
}

#[test]
fn an_expired_certificate_with_nothing_valid_of_its_own_expects_what_the_step_deploys() {
    // The dedicated certificate lapsed (replaced, by the platform's word, by a successor
    // the export does not hold); a wildcard valid today covers the name.
    let i = ids(&format!(
        "{H}A,,a.x.com,01,2025-01-01,2026-02-01,CA,,Superseded\n\
         W,,*.x.com,02,2026-01-01,2027-01-01,CA,,Issued\n"
    ));
    let o = |serial: &str, nb, na| {
        let mut o = presenting("a.x.com", "10.0.0.1", serial, nb, na);
        if na < policy().now {
            o.findings.push(Finding::Expired);
        }
        o
    };
    let v = judge_one(o("1", 1_735_689_600, 1_769_904_000), &i, &policy()).0;
    assert!(
        v.findings.iter().any(|f| f == "expired"),
        "{:?}",
        v.findings
    );
    assert_eq!(
        v.expected.as_ref().map(|r| r.record_id.as_str()),
        Some("W"),
        "{}",
        v.next_step
    );
    assert!(
        v.next_step
            .starts_with("Deploy the certificate of record W"),
        "{}",
        v.next_step
    );
    // Behind one name, a node left with the lapsed certificate (issued, the identity's
    // newest) beside one serving the wildcard: one of two serves what it should (the
    // lapsed one expected itself, so it counted as serving it: 2/2).
    let i = ids(&format!(
        "{H}A,,a.x.com,01,2025-01-01,2026-02-01,CA,,Issued\n\
         W,,*.x.com,02,2026-01-01,2027-01-01,CA,,Issued\n"
    ));
    let wild = {
        let mut o = presenting("a.x.com", "10.0.0.2", "2", 1_767_225_600, 1_798_761_600);
        if let Some(c) = o.cert.as_mut() {
            c.sans = vec!["*.x.com".into()];
            c.subject_cn = Some("*.x.com".into());
        }
        o
    };
    let mut nodes = vec![
        judge_one(o("1", 1_735_689_600, 1_769_904_000), &i, &policy()),
        judge_one(wild, &i, &policy()),
    ];
    let rollout = rollout_of(&nodes);
    for (v, _) in &mut nodes {
        rollout.annotate(v, &i);
    }
    let counts: Vec<_> = nodes
        .iter()
        .map(|(v, _)| (v.status, v.name_endpoints_current.clone()))
        .collect();
    assert_eq!(
        counts,
        [
            (Status::Expired, Some("1/2".to_string())),
            (Status::Current, Some("1/2".to_string()))
        ],
        "{:?}",
        nodes[0].0.findings
    );
}

/// The facts of one validated TLSA record, `record` as shown, that names nothing served.
fn tlsa_facts(record: &str) -> crate::model::DaneInfo {
    crate::model::DaneInfo {
        records: vec![record.into()],
        matched: None,
        validated: true,
        key_pins: Vec::new(),
        only_key_pins: false,
        issuer_pinned: false,
        ca_above: false,
        issuer_key: None,
        insecure: false,
        stale_if_signed: false,
        ca_pins: Vec::new(),
        unusable: Vec::new(),
        error: None,
        at_alias: None,
    }
}

/// The VPN CA's certificate of serial `serial` (hex), served at vpn.x.com.
fn served_by_vpn_ca(serial: &str) -> Box<Observation> {
    let mut o = presenting(
        "vpn.x.com",
        "10.0.0.9",
        serial,
        1_767_225_600,
        1_790_000_000,
    );
    if let Some(c) = o.cert.as_mut() {
        c.issuer = "CN=Corp VPN CA".into();
        c.issuer_cn = Some("Corp VPN CA".into());
    }
    o
}

/// Each records report row's newest record and where it is deployed, `v` being served.
fn deployed_at(i: &Identities, v: &Verdict, p: &Policy) -> Vec<(String, String)> {
    rows_serving(i, &[v], p)
        .iter()
        .map(|r| (r.newest_record_id.clone(), r.deployed_at.clone()))
        .collect()
}

#[test]
fn the_records_report_does_not_take_another_cas_certificate_with_the_same_serial_for_its_own() {
    // Two private CAs number their serials from 01: the intranet CA's record 03 (wiki.x.com)
    // and, served at vpn.x.com, the VPN CA's certificate 03, which is in no record.
    let i = ids(&format!(
        "{H}W,,wiki.x.com,03,2026-01-01,2027-01-01,Corp Intranet CA,,Issued\n"
    ));
    let p = policy();
    let v = judge_one(served_by_vpn_ca("3"), &i, &p).0;
    assert!(v.matched.is_none(), "{}", v.detail);
    let rows = rows_serving(&i, &[&v], &p);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].deployed_at, "", "{:?}", rows[0]);
    assert_eq!(rows[0].findings, "not_scanned", "{:?}", rows[0]);
    // Both CAs' records in the inventory: the certificate served is the VPN CA's, by its
    // dates and issuer, and only its row says it is deployed.
    let i = ids(&format!(
        "{H}W,,wiki.x.com,03,2026-01-01,2027-01-01,Corp Intranet CA,,Issued\n\
         V,,vpn.x.com,03,2026-01-01,2026-09-21,Corp VPN CA,,Issued\n"
    ));
    let v = judge_one(v.observation, &i, &p).0;
    assert_eq!(
        v.matched.as_ref().map(|r| r.record_id.as_str()),
        Some("V"),
        "{}",
        v.detail
    );
    assert_eq!(
        deployed_at(&i, &v, &p),
        [("V", "vpn.x.com:443@10.0.0.9"), ("W", "")].map(|(a, b)| (a.to_string(), b.to_string()))
    );
    // One certificate listed twice (two exports read together): served, it is deployed
    // whichever of its records the endpoint's verdict names.
    let i = ids(&format!(
        "{H}V1,,vpn.x.com,03,2026-01-01,2026-09-21,Corp VPN CA,,Issued\n\
         V2,,vpn.x.com,03,2026-01-01,2026-09-21,Corp VPN CA,,Issued\n"
    ));
    let v = judge_one(v.observation, &i, &p).0;
    let rows = rows_serving(&i, &[&v], &p);
    assert_eq!(rows.len(), 1, "{rows:#?}");
    assert_eq!(rows[0].deployed_at, "vpn.x.com:443@10.0.0.9", "{rows:#?}");
}

#[test]
fn without_dates_another_cas_record_of_a_short_serial_is_told_apart_by_its_issuer() {
    // The same two private CAs, in an export that gives no dates.
    let i = ids(&format!("{H}W,,wiki.x.com,03,,,Corp Intranet CA,,Issued\n"));
    let p = policy();
    let v = judge_one(served_by_vpn_ca("3"), &i, &p).0;
    assert!(v.matched.is_none(), "{}", v.detail);
    let i = ids(&format!(
        "{H}W,,wiki.x.com,03,,,Corp Intranet CA,,Issued\n\
         V,,vpn.x.com,03,,,CN=Corp VPN CA,,Issued\n"
    ));
    let v = judge_one(v.observation, &i, &p).0;
    assert_eq!(
        v.matched.as_ref().map(|r| r.record_id.as_str()),
        Some("V"),
        "{}",
        v.detail
    );
    assert_eq!(
        deployed_at(&i, &v, &p),
        [("V", "vpn.x.com:443@10.0.0.9"), ("W", "")].map(|(a, b)| (a.to_string(), b.to_string()))
    );
    // A random serial is one certificate's, whatever the issuer is called.
    let long = "4F1A2B3C4D5E6F708192";
    let i = ids(&format!("{H}L,,vpn.x.com,{long},,,Some label,,Issued\n"));
    let v = judge_one(served_by_vpn_ca(long), &i, &p).0;
    assert_eq!(v.matched.as_ref().map(|r| r.record_id.as_str()), Some("L"));
}

#[test]
fn an_appliance_that_made_itself_a_new_certificate_is_told_to_redistribute_it() {
    // Its earlier self-signed certificate is what the clients (and certsweep) trust; the
    // step for a self-signed certificate in general ("use a certificate from a CA") missed
    // that the fix is the trust store.
    let (old, new) = crate::fleet::self_signed_anew("box.x.com").expect("certificates");
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("appliance.pem");
    std::fs::write(&file, old.pem()).expect("write");
    let judge = crate::trust::TrustJudge::new(&[&file], false, true, None).expect("trust store");
    let info = crate::cert::cert_info(new.der()).expect("parse");
    let report = judge.judge(
        std::slice::from_ref(new.der()),
        &info,
        Some("box.x.com"),
        policy().now,
    );
    let i = ids(&format!(
        "{H}A,,box.x.com,{},{},{},Appliance,,Issued\n",
        info.serial,
        crate::timefmt::rfc3339_unix(info.not_before_unix),
        crate::timefmt::rfc3339_unix(info.not_after_unix)
    ));
    let mut o = presenting(
        "box.x.com",
        "10.0.0.1",
        &info.serial,
        info.not_before_unix,
        info.not_after_unix,
    );
    o.findings = report.findings;
    o.trust_detail = report.detail;
    let v = judge_one(o, &i, &policy()).0;
    assert_eq!(v.status, Status::Untrusted, "{}", v.detail);
    assert!(
        v.next_step
            .starts_with("The clients (and certsweep's --ca-file) trust this server's earlier self-signed certificate"),
        "{}",
        v.next_step
    );
}

#[test]
fn a_files_serials_read_both_ways_are_read_as_its_others_are_written() {
    // All digits and 40 or fewer: hex or decimal. An export writes all its serials one
    // way: a file whose serials show decimal (one too long for hex, or an all-digit one of
    // 20 digits or more) has the decimal reading first, so that an expected serial names
    // the certificate's; one that shows hex keeps hex first; one that shows neither, or
    // both, is left as read. The other reading stays for matching.
    let mut out = Loaded::default();
    let header = "Certificate ID,Common Name,Serial Number,Valid To\n";
    let files = [
        ("dec.csv", "D1,a.x.com,2545650682171918143009,2027-01-01\nD2,b.x.com,1234,2027-01-01\n"),
        ("hex.csv", "H1,c.x.com,8A0000000000004E21,2027-01-01\nH2,d.x.com,2545650682171918143009,2027-01-01\n"),
        ("short.csv", "S1,e.x.com,1234,2027-01-01\n"),
        ("both.csv", "B1,f.x.com,0a:01,2027-01-01\nB2,g.x.com,25456506821719181430091,2027-01-01\nB3,h.x.com,1234,2027-01-01\n"),
    ];
    for (name, rows) in files {
        load_bytes(
            name,
            format!("{header}{rows}").as_bytes(),
            &ReadOptions::default(),
            &mut out,
        );
    }
    assert!(out.errors.is_empty(), "{:?}", out.errors);
    let i = Identities::build(out.records);
    let read = |id: &str| {
        let r = i
            .records
            .iter()
            .find(|r| &*r.record_id == id)
            .expect("record");
        let s = r.serial.as_ref().expect("serial");
        (s.canonical.clone(), s.alternative.clone())
    };
    let both = |a: &str, b: &str| (a.to_string(), Some(b.to_string()));
    // 2545650682171918143009 decimal is 8A0000000000004E21; 1234 is 4D2.
    assert_eq!(
        read("D1"),
        both("8A0000000000004E21", "2545650682171918143009")
    );
    assert_eq!(read("D2"), both("4D2", "1234"));
    assert_eq!(
        read("H2"),
        both("2545650682171918143009", "8A0000000000004E21")
    );
    assert_eq!(read("S1"), both("1234", "4D2"));
    assert_eq!(read("B3"), both("1234", "4D2"));
}

#[test]
fn a_current_certificate_apple_refuses_is_told_with_its_fix() {
    let i = ids(&format!(
        "{H}R0,,h.x.com,A0,2026-01-01,2029-01-01,CA,,Issued\n"
    ));
    let mut o = presenting("h.x.com", "10.0.0.1", "A0", 1_767_225_600, 1_861_920_000);
    o.findings.push(Finding::AppleIncompatible);
    o.trust_detail = Some("Safari and every iOS and macOS app refuse the certificate, as Apple does any issued since 2019-07-01 whatever its CA: it is valid for 1096 days (Apple accepts 825 at most)".into());
    let (v, _) = judge_one(o, &i, &policy());
    assert_eq!(v.status, Status::Current);
    assert!(
        v.detail
            .contains(" Safari and every iOS and macOS app refuse the certificate"),
        "{}",
        v.detail
    );
    assert_eq!(v.next_step, "Nothing to do for the certificate; where Apple devices use the service, reissue the certificate with an Extended Key Usage naming serverAuth and a validity of 825 days or fewer (the CA's template sets both) and deploy it, then verify again.");
}

#[test]
fn a_renewal_without_client_auth_is_told_where_the_served_certificate_has_it() {
    use crate::model::eku_names::CLIENT_AUTH;
    const SERVER: u16 = 1;
    // The server serves A; B, its renewal (from the records' PEM, so its purposes are
    // known), is for server authentication only.
    let judged = |served: Option<u16>, renewal: Option<u16>| {
        let mut i = a_renewed_as_b("CA", "2027-04-01");
        let pos = i.records.iter().position(|r| &*r.record_id == "B").unwrap();
        i.records[pos].extended_key_usage = renewal;
        let mut o = presenting("a.x.com", "10.0.0.1", "1", 1_748_736_000, 1_797_724_800);
        if let Some(c) = o.cert.as_mut() {
            c.extended_key_usage = served;
        }
        judge_one(o, &i, &policy()).0
    };
    for served in [None, Some(SERVER | CLIENT_AUTH), Some(SERVER | 1 << 6)] {
        let v = judged(served, Some(SERVER));
        assert_eq!(v.status, Status::RenewedNotDeployed, "{}", v.detail);
        assert!(
            v.findings.iter().any(|f| f == "renewal_drops_client_auth"),
            "{served:?}: {:?}",
            v.findings
        );
        assert!(
            v.detail.contains("The renewal (serial 2) is for server authentication only: it lacks the clientAuth extended key usage the served certificate has"),
            "{}",
            v.detail
        );
        assert!(
            v.next_step.contains(
                "Before deploying it: if this server also presents its certificate as a TLS client"
            ),
            "{}",
            v.next_step
        );
    }
    // The served one has no clientAuth either; the renewal has it; its purposes unknown.
    for (served, renewal) in [
        (Some(SERVER), Some(SERVER)),
        (None, Some(SERVER | CLIENT_AUTH)),
        (None, None),
    ] {
        let v = judged(served, renewal);
        assert_eq!(v.status, Status::RenewedNotDeployed, "{}", v.detail);
        assert!(
            !v.findings.iter().any(|f| f == "renewal_drops_client_auth"),
            "{served:?} {renewal:?}: {:?}",
            v.findings
        );
    }
}

#[test]
fn a_record_giving_the_served_certificate_another_expiry_is_told() {
    // Now is 2026-05-28T20:26:40Z. Record R0 says 2027-06-01 (an order's subscription end
    // copied as the certificate's), the certificate with its serial ends 2026-06-02: the
    // CLM would renew it a year late.
    let p = policy();
    let judged = |record_until: &str, until: i64| {
        let i = ids(&format!(
            "{H}R0,,h.x.com,A0,2026-01-01,{record_until},CA,,Issued\n"
        ));
        let o = presenting("h.x.com", "10.0.0.1", "A0", 1_767_225_600, until);
        judge_one(o, &i, &p).0
    };
    let v = judged("2027-06-01", 1_780_358_400);
    assert_eq!(v.status, Status::ExpiringSoon);
    assert!(
        v.findings.iter().any(|f| f == "records_expiry_differs"),
        "{:?}",
        v.findings
    );
    assert!(
        v.detail.ends_with(" Record R0 gives this certificate an expiry of 2027-06-01, later than its own (2026-06-02T00:00:00Z): a renewal scheduled by the record comes too late."),
        "{}",
        v.detail
    );
    assert_eq!(v.next_step, "Renew it now and deploy the renewal (correct record R0's expiry to 2026-06-02T00:00:00Z (import the certificate again, or fix the inventory)): the CLM's renewal follows its record's date, not the certificate's.");
    // Earlier than its own: current, with the record to correct.
    let v = judged("2026-09-01", 1_798_761_600);
    assert_eq!(v.status, Status::Current);
    assert!(v.detail.contains("an expiry of 2026-09-01, earlier than its own (2027-01-01T00:00:00Z): the CLM reports it expired or renews it early"), "{}", v.detail);
    assert!(
        v.next_step.starts_with(
            "Nothing to do for the certificate; correct record R0's expiry to 2027-01-01T00:00:00Z"
        ),
        "{}",
        v.next_step
    );
    // Within two days (a local date, a local time read as UTC), or the certificate's PEM
    // in the record: nothing.
    let v = judged("2027-01-01", 1_798_761_600 + 3600);
    assert!(
        !v.findings.iter().any(|f| f == "records_expiry_differs"),
        "{:?}",
        v.findings
    );
    let v = judged("2026-12-31", 1_798_761_600 + 23 * 3600);
    assert!(
        !v.findings.iter().any(|f| f == "records_expiry_differs"),
        "{:?}",
        v.findings
    );
    let v = judged("2026-12-30T06:00:00Z", 1_798_761_600 + 3600);
    assert!(
        !v.findings.iter().any(|f| f == "records_expiry_differs"),
        "{:?}",
        v.findings
    );
    // The records report's row says it too.
    let i = ids(&format!(
        "{H}R0,,h.x.com,A0,2026-01-01,2027-06-01,CA,,Issued\n"
    ));
    let o = presenting("h.x.com", "10.0.0.1", "A0", 1_767_225_600, 1_798_761_600);
    let rows = rows_serving(&i, &[&judge_one(o, &i, &p).0], &p);
    assert_eq!(rows[0].findings, "records_expiry_differs");
    assert_eq!(rows[0].next_step, "The certificate served ends 2027-01-01T00:00:00Z, not 2027-06-01T00:00:00Z as record R0 says: correct the record (import the certificate again, or fix the inventory), as the CLM's renewal follows it.");
    let mut i = ids(&format!(
        "{H}R0,,h.x.com,A0,2026-01-01,2027-06-01,CA,,Issued\n"
    ));
    i.records[0].from_pem = true;
    let o = presenting("h.x.com", "10.0.0.1", "A0", 1_767_225_600, 1_798_761_600);
    let v = judge_one(o, &i, &p).0;
    assert!(
        !v.findings.iter().any(|f| f == "records_expiry_differs"),
        "{:?}",
        v.findings
    );
}

#[test]
fn a_valid_certificate_the_records_call_expired_is_told() {
    // Now is 2026-05-28T20:26:40Z; the certificate is valid until 2027-01-01.
    let p = policy();
    let judged = |status: &str, until: &str| {
        let i = ids(&format!(
            "{H}R0,,h.x.com,A0,2026-01-01,{until},CA,,{status}\n"
        ));
        let o = presenting("h.x.com", "10.0.0.1", "A0", 1_767_225_600, 1_798_761_600);
        judge_one(o, &i, &p).0
    };
    let v = judged("Expired", "2027-01-01");
    assert_eq!(v.status, Status::Current);
    assert_eq!(v.findings, ["records_say_expired"]);
    assert!(
        v.detail.ends_with(" The records show it (record R0) as \"Expired\", though it is valid until 2027-01-01T00:00:00Z."),
        "{}",
        v.detail
    );
    assert!(
        v.next_step.starts_with(
            "Nothing to do for the endpoint; correct the certificate's status in the CLM"
        ),
        "{}",
        v.next_step
    );
    // The records report's row says it too.
    let i = ids(&format!(
        "{H}R0,,h.x.com,A0,2026-01-01,2027-01-01,CA,,Expired\n"
    ));
    let o = presenting("h.x.com", "10.0.0.1", "A0", 1_767_225_600, 1_798_761_600);
    let rows = rows_serving(&i, &[&judge_one(o, &i, &p).0], &p);
    assert_eq!(rows[0].findings, "records_say_expired");
    assert!(
        rows[0].next_step.starts_with(
            "Served, and valid until 2027-01-01T00:00:00Z, while record R0 shows it as \"Expired\""
        ),
        "{}",
        rows[0].next_step
    );
    // Its date wrong too: that finding says why; issued: nothing.
    let v = judged("Expired", "2026-03-01");
    assert_eq!(v.findings, ["records_expiry_differs"]);
    let v = judged("Issued", "2027-01-01");
    assert!(v.findings.is_empty(), "{:?}", v.findings);
}

/// `v` is a current endpoint whose certificate lost the clientAuth of `before`: said in
/// its detail, and the step for its outgoing mutual-TLS connections.
fn assert_client_auth_dropped(v: &Verdict, before: &str) {
    assert_eq!(v.status, Status::Current, "{}", v.detail);
    assert_eq!(v.findings, ["client_auth_dropped"]);
    let said = format!(" It is for server authentication only: it lacks the clientAuth extended key usage of {before}, as public CAs no longer issue it in server certificates.");
    assert!(v.detail.ends_with(&said), "{}", v.detail);
    assert!(
        v.next_step.starts_with("Nothing to do for the endpoint's TLS; if this server also presents its certificate as a TLS client"),
        "{}",
        v.next_step
    );
}

#[test]
fn a_deployed_renewal_without_the_client_auth_of_the_version_it_renewed_is_told() {
    use crate::model::eku_names::CLIENT_AUTH;
    const SERVER: u16 = 1;
    // B, served, renewed A; both from the records' PEM.
    let judged = |old: Option<u16>, old_from_pem: bool, served: Option<u16>| {
        let mut i = ids(&format!(
            "{H}A,,a.x.com,01,2025-06-01,2026-06-20,CA,,Issued\n\
             B,,a.x.com,02,2026-04-01,2027-04-01,CA,A,Issued\n"
        ));
        for r in &mut i.records {
            r.from_pem = r.record_id.as_ref() == "B" || old_from_pem;
            r.extended_key_usage = if r.record_id.as_ref() == "A" {
                old
            } else {
                served
            };
        }
        let mut o = presenting("a.x.com", "10.0.0.1", "2", 1_775_001_600, 1_806_537_600);
        if let Some(c) = o.cert.as_mut() {
            c.extended_key_usage = served;
        }
        judge_one(o, &i, &policy()).0
    };
    let v = judged(Some(SERVER | CLIENT_AUTH), true, Some(SERVER));
    assert_client_auth_dropped(&v, "the version it renewed (record A, serial 1)");
    // No extension on the old one (any purpose) counts as clientAuth too.
    assert_eq!(
        judged(None, true, Some(SERVER)).findings,
        ["client_auth_dropped"]
    );
    // The old one was for servers only, its purposes unknown, or the served one has it.
    for (old, from_pem, served) in [
        (Some(SERVER), true, Some(SERVER)),
        (Some(SERVER | CLIENT_AUTH), false, Some(SERVER)),
        (Some(SERVER | CLIENT_AUTH), true, Some(SERVER | CLIENT_AUTH)),
    ] {
        let v = judged(old, from_pem, served);
        assert!(
            v.findings.is_empty(),
            "{old:?} {from_pem} {served:?}: {:?}",
            v.findings
        );
    }
}

#[test]
fn a_renewal_without_the_client_auth_served_at_the_previous_sweep_is_told_without_pems() {
    const SERVER: u16 = 1;
    // The export carries no PEM; last night's sweep saw A, which could authenticate a
    // client, and B is served now (`--previous` found it dropped).
    let i = ids(&format!(
        "{H}A,,a.x.com,01,2025-06-01,2026-06-20,CA,,Issued\n\
         B,,a.x.com,02,2026-04-01,2027-04-01,CA,A,Issued\n"
    ));
    let judged = |then: Option<bool>, found: bool| {
        let mut o = presenting("a.x.com", "10.0.0.1", "2", 1_775_001_600, 1_806_537_600);
        if let Some(c) = o.cert.as_mut() {
            c.extended_key_usage = Some(SERVER);
        }
        if found {
            o.findings.push(Finding::ClientAuthDropped);
        }
        o.previous = Some(Box::new(crate::model::PreviousCert {
            serial: "1".into(),
            not_before: "2025-06-01T00:00:00Z".into(),
            not_before_unix: 1_748_736_000,
            scan_time: "2026-11-30T02:00:00Z".into(),
            ip: None,
            client_auth: then,
        }));
        judge_one(o, &i, &policy()).0
    };
    let v = judged(Some(true), true);
    assert_client_auth_dropped(
        &v,
        "the certificate served at the previous sweep (2026-11-30T02:00:00Z: serial 1)",
    );
    // Without the sweep's finding, nothing is said.
    let v = judged(Some(true), false);
    assert!(v.findings.is_empty(), "{:?}", v.findings);
}

#[test]
fn a_renewal_apple_would_refuse_is_told_before_it_is_deployed() {
    // The server serves A; B renews it for three years (a CA template changed).
    let judged = |until: &str, served_apple: bool, pem_without_eku: bool| {
        let mut i = a_renewed_as_b("CA", until);
        let pos = i.records.iter().position(|r| &*r.record_id == "B").unwrap();
        i.records[pos].from_pem = pem_without_eku;
        let mut o = presenting("a.x.com", "10.0.0.1", "1", 1_748_736_000, 1_797_724_800);
        if served_apple {
            o.findings.push(Finding::AppleIncompatible);
        }
        judge_one(o, &i, &policy()).0
    };
    let has = |v: &Verdict| v.findings.iter().any(|f| f == "renewal_apple_incompatible");
    let v = judged("2029-04-01", false, false);
    assert_eq!(v.status, Status::RenewedNotDeployed);
    assert!(has(&v), "{:?}", v.findings);
    assert!(
        v.detail.contains(" The renewal (serial 2) is valid for 1096 days (Apple accepts 825 at most): Safari and every iOS and macOS app would refuse it, though they accept the one served."),
        "{}",
        v.detail
    );
    assert!(
        v.next_step.ends_with(" Before deploying it, where Apple devices use the service: reissue it with an Extended Key Usage naming serverAuth and for 825 days or fewer (the CA's template)."),
        "{}",
        v.next_step
    );
    // Its PEM without an Extended Key Usage.
    let v = judged("2027-04-01", false, true);
    assert!(
        v.detail
            .contains("(serial 2) has no Extended Key Usage extension"),
        "{}",
        v.detail
    );
    // A year; or the served one is refused already (its own finding says it).
    assert!(!has(&judged("2027-04-01", false, false)));
    assert!(!has(&judged("2029-04-01", true, false)));
}
