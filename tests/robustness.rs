//! Seeded mutation runs over the input parsers and the verdicts: no input may panic, and the
//! verdicts keep their invariants. A deterministic slice of what longer fuzzing runs found
//! (a duration that overflowed the clock, an order number split inside a character, a
//! renewal judged `current`), kept so that those classes of bug stay fixed.

use certsweep::inventory::load::{load_bytes, Loaded, ReadOptions};
use certsweep::inventory::record::Record;
use certsweep::model::Observation;
use certsweep::verdict::{judge_one, Identities, Policy, Rollout, Serving, Status};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use std::panic::{catch_unwind, AssertUnwindSafe};

const TOKENS: &[&str] = &[
    ",",
    "\"",
    "\n",
    "\r\n",
    "@",
    "[",
    "]",
    ":",
    "/",
    "%",
    "0x",
    "-",
    "99999999999999999999",
    "é",
    "ß",
    "日本",
    "\u{feff}",
    "\u{200b}",
    "🙂",
    "e\u{301}",
    "xn--",
    "*",
    ".",
    "2026-13-45",
    "Certificate Revoked",
    "\t",
    " ",
    "::",
    "[::1]",
    "0",
    "65536",
    "/33",
    "/0",
    "{",
    "}",
    "\"content\":",
    "null",
    "1e99",
    "-1",
    ";",
    "#",
    "31/12/2026",
    "host",
    "serial",
    "R001",
    "9999999999999999999d",
    "0s",
];

fn seeds() -> Vec<Vec<u8>> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/targets");
    let mut out: Vec<Vec<u8>> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| std::fs::read(e.unwrap().path()).unwrap())
        .collect();
    out.sort();
    out
}

fn mutate(rng: &mut StdRng, seeds: &[Vec<u8>]) -> Vec<u8> {
    let mut v = seeds[rng.random_range(0..seeds.len())].clone();
    for _ in 0..rng.random_range(1..8) {
        let len = v.len();
        match rng.random_range(0..6) {
            0 if len > 0 => {
                let i = rng.random_range(0..len);
                v[i] ^= 1 << rng.random_range(0..8);
            }
            1 => {
                let t = TOKENS[rng.random_range(0..TOKENS.len())].as_bytes();
                let i = rng.random_range(0..=len);
                v.splice(i..i, t.iter().copied());
            }
            2 if len > 0 => {
                let i = rng.random_range(0..len);
                let j = (i + rng.random_range(0..32)).min(len);
                v.drain(i..j);
            }
            3 if len > 0 => {
                let i = rng.random_range(0..len);
                let j = (i + rng.random_range(0..64)).min(len);
                let chunk = v[i..j].to_vec();
                let k = rng.random_range(0..=len);
                v.splice(k..k, chunk);
            }
            4 if len > 0 => v.truncate(rng.random_range(0..len)),
            _ => {}
        }
    }
    v
}

/// Runs `f` on `input`; a panic fails the test with the input that caused it.
fn no_panic(what: &str, input: &[u8], f: impl FnOnce()) {
    if catch_unwind(AssertUnwindSafe(f)).is_err() {
        panic!(
            "{what} panicked on input:\n{}",
            String::from_utf8_lossy(input)
        );
    }
}

#[test]
fn parsers_never_panic_on_mutated_input() {
    let seeds = seeds();
    let map_text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/targets/inventory-map.toml"
    ))
    .unwrap();
    let map = std::sync::Arc::new(certsweep::inventory::map::parse("m", &map_text).unwrap());
    let mut rng = StdRng::seed_from_u64(0x5eed_2026);
    for _ in 0..10_000 {
        let input = mutate(&mut rng, &seeds);
        no_panic("the target reader", &input, || {
            let r = certsweep::engine::targets::TargetReader::from_reader(
                "t",
                Box::new(std::io::Cursor::new(input.clone())),
                443,
            );
            for item in r {
                if let Err(e) = item {
                    assert!(e.to_string().starts_with("t:"), "{e}");
                }
            }
        });
        no_panic("the inventory loader", &input, || {
            let mut out = Loaded::default();
            load_bytes("f", &input, &ReadOptions::default(), &mut out);
            let opts = ReadOptions {
                map: Some(map.clone()),
                ..ReadOptions::default()
            };
            load_bytes("f", &input, &opts, &mut out);
            // Lines as the CSV reader and editors count them: a CR alone ends one too (the
            // line ending of classic Mac exports).
            let breaks = input
                .iter()
                .enumerate()
                .filter(|&(i, b)| *b == b'\n' || (*b == b'\r' && input.get(i + 1) != Some(&b'\n')))
                .count() as u64;
            for e in &out.errors {
                assert!(e.line <= 1 + breaks, "{e}");
            }
        });
        no_panic("the CA file reader", &input, || {
            let _ = certsweep::stores::certificates_in(&input, None);
        });
        no_panic("the DCV input reader", &input, || {
            let mut out = certsweep::dcv::input::Requests::default();
            certsweep::dcv::input::read_domains(
                "d",
                &input,
                &[certsweep::dcv::Method::Http01],
                &mut out,
            );
        });
        no_panic("the --previous reader", &input, || {
            if let Ok(p) = certsweep::previous::Previous::read("p", &input[..]) {
                let lines = 1 + input.iter().filter(|b| **b == b'\n').count() as u64;
                assert!(p.errors.iter().all(|e| e.file == "p" && e.line <= lines));
            }
        });
        no_panic("the exclusion list reader", &input, || {
            let list = [("x".to_string(), &input[..])];
            if let Err(errors) = certsweep::engine::exclude::Exclusions::from_readers(list) {
                assert!(errors.iter().all(|e| e.to_string().starts_with("x:")));
            }
        });
        let text = String::from_utf8_lossy(&input);
        no_panic("the line parsers", &input, || {
            let _ = certsweep::inventory::map::parse("m", &text);
            for line in text.lines().take(40) {
                let _ = certsweep::duration::parse(line);
                let _ = certsweep::engine::targets::parse_line(line, 443);
                let _ = certsweep::inventory::serial::parse_serial(line, Default::default());
            }
        });
    }
}

/// The certificate record `r` describes (its serial, names and issuer), presented for
/// `host`, with a notAfter that may disagree with the record's (an export's date error).
fn presented(host: &str, r: &Record, serial: &str, not_after: i64) -> Box<Observation> {
    let ip = std::net::IpAddr::from([127, 0, 0, 1]);
    let mut o = certsweep::fleet::presenting(host, ip, serial, not_after - 90 * 86_400, not_after);
    if let Some(c) = o.cert.as_mut() {
        c.sans = r.names();
        if let Some(i) = r.issuer.as_deref() {
            c.issuer = format!("CN={i}");
            c.issuer_cn = Some(i.to_string());
        }
    }
    o
}

#[test]
fn verdicts_keep_their_invariants_on_mutated_inventories() {
    let seeds: Vec<Vec<u8>> = seeds()
        .into_iter()
        .filter(|s| {
            let t = String::from_utf8_lossy(s);
            t.contains("Serial") || t.contains("certificateSerialNumber")
        })
        .collect();
    let mut rng = StdRng::seed_from_u64(0x0b5e_55ed);
    let mut judged = 0;
    for round in 0..10_000 {
        let input = if round % 3 == 0 {
            seeds[rng.random_range(0..seeds.len())].clone()
        } else {
            mutate(&mut rng, &seeds)
        };
        let mut loaded = Loaded::default();
        load_bytes("f", &input, &ReadOptions::default(), &mut loaded);
        if loaded.records.is_empty() {
            continue;
        }
        // Shapes that exports take and mutation rarely reaches: order numbers in any
        // script and with reissue suffixes, versions without dates, renewal links.
        if round % 2 == 1 {
            let n = loaded.records.len();
            let ids: Vec<Box<str>> = loaded.records.iter().map(|r| r.record_id.clone()).collect();
            for r in &mut loaded.records {
                if rng.random_range(0..2) == 0 {
                    const ORDERS: &[&str] = &[
                        "ORD-0é901",
                        "ORD7R001",
                        "ÄußerR002",
                        "X\u{200b}101",
                        "R001",
                        "é",
                    ];
                    r.order_id = Some(ORDERS[rng.random_range(0..ORDERS.len())].into());
                }
                if rng.random_range(0..3) == 0 {
                    r.not_before = None;
                    r.not_after = None;
                    r.order_date = None;
                }
                if n > 1 && rng.random_range(0..3) == 0 {
                    r.renewal_of = Some(ids[rng.random_range(0..n)].clone());
                }
            }
        }
        let mut ids_seen: Vec<&Box<str>> = loaded.records.iter().map(|r| &r.record_id).collect();
        ids_seen.sort();
        let n = ids_seen.len();
        ids_seen.dedup();
        let unique_ids = ids_seen.len() == n;
        let records = loaded.records.clone();
        no_panic("the verdicts", &input, || {
            let ids = Identities::build(records.clone());
            let p = Policy {
                now: 1_790_000_000 + rng.random_range(0..60_000_000),
                grace_secs: rng.random_range(0..1_000_000),
                renewal_window: certsweep::verdict::RenewalWindow {
                    secs: rng.random_range(0..10_000_000),
                    by_lifetime: rng.random(),
                },
            };
            let mut rollout = Rollout::default();
            let mut serving = Serving::default();
            let mut verdicts = Vec::new();
            for _ in 0..4 {
                let r = &records[rng.random_range(0..records.len())];
                let names = r.names();
                let (Some(serial), Some(host)) = (&r.serial, names.first()) else {
                    continue;
                };
                let not_after =
                    [1_700_000_000, 1_800_000_000, 1_900_000_000][rng.random_range(0..3)];
                let (v, serves_expected) =
                    judge_one(presented(host, r, &serial.canonical, not_after), &ids, &p);
                let m = v.matched.as_ref().map(|x| (&x.record_id, &x.serial));
                let e = v.expected.as_ref().map(|x| (&x.record_id, &x.serial));
                // Only where the input can be trusted to mean one thing: distinct record ids,
                // names without wildcards, an unambiguous serial.
                if unique_ids && serial.alternative.is_none() && !host.contains('*') {
                    let broken = match v.status {
                        Status::Unreachable | Status::Unmanaged => true,
                        Status::Current => m.is_none() || (e.is_some() && e != m),
                        // The records may say the served version was replaced without
                        // holding its successor: nothing to name as expected then.
                        Status::RenewedNotDeployed | Status::DeploymentPending => {
                            m.is_none()
                                || (e.is_none()
                                    && !v.findings.iter().any(|f| f == "successor_not_in_records"))
                                || e == m
                        }
                        Status::Expired => not_after > p.now,
                        _ => false,
                    };
                    assert!(
                        !broken,
                        "{:?}: matched {m:?}, expected {e:?}: {}",
                        v.status, v.detail
                    );
                    judged += 1;
                }
                rollout.note(&v, serves_expected);
                serving.note(&v, &ids);
                verdicts.push(v);
            }
            for v in &mut verdicts {
                rollout.annotate(v, &ids);
            }
            let _ = certsweep::verdict::identity_rows(&ids, &serving, &p);
        });
    }
    // The invariants were checked, not skipped.
    assert!(judged > 3_000, "only {judged} verdicts checked");
}

/// A legacy server's flight: a TLS 1.0 ServerHello, then a Certificate message with `certs`,
/// split over two handshake records.
fn legacy_flight(certs: &[&[u8]]) -> Vec<u8> {
    let mut hs = vec![2, 0, 0, 38, 3, 1];
    hs.extend_from_slice(&[9; 32]);
    hs.extend_from_slice(&[0, 0x00, 0x2f, 0]);
    let mut list = Vec::new();
    for c in certs {
        list.extend_from_slice(&(c.len() as u32).to_be_bytes()[1..]);
        list.extend_from_slice(c);
    }
    hs.push(11);
    hs.extend_from_slice(&(list.len() as u32 + 3).to_be_bytes()[1..]);
    hs.extend_from_slice(&(list.len() as u32).to_be_bytes()[1..]);
    hs.extend_from_slice(&list);
    let (first, second) = hs.split_at(hs.len() / 3);
    let mut wire = Vec::new();
    for part in [first, second] {
        wire.extend_from_slice(&[22, 3, 1]);
        wire.extend_from_slice(&(part.len() as u16).to_be_bytes());
        wire.extend_from_slice(part);
    }
    wire
}

/// A flight whose Certificate message is too large to read whole (a CA bundle as the chain:
/// 80 certificates of 1,000 bytes), in records of 16 KiB.
fn bundle_flight() -> Vec<u8> {
    let certs = vec![[0x30u8; 1000]; 80];
    let two = legacy_flight(&certs.iter().map(|c| c.as_slice()).collect::<Vec<_>>());
    // Taken apart again: the handshake bytes of its two records, then records of 16 KiB.
    let first = usize::from(u16::from_be_bytes([two[3], two[4]]));
    let mut hs = two[5..5 + first].to_vec();
    hs.extend_from_slice(&two[5 + first + 5..]);
    let mut wire = Vec::new();
    for part in hs.chunks(16 * 1024) {
        wire.extend_from_slice(&[22, 3, 3]);
        wire.extend_from_slice(&(part.len() as u16).to_be_bytes());
        wire.extend_from_slice(part);
    }
    wire
}

#[test]
fn the_legacy_flight_reader_never_panics_on_mutated_flights() {
    use certsweep::engine::legacy::Flight;
    let seeds = vec![
        legacy_flight(&[b"leaf".as_slice(), b"intermediate".as_slice()]),
        legacy_flight(&[&[0x30; 600]]),
        legacy_flight(&[]),
        bundle_flight(),
    ];
    let mut rng = StdRng::seed_from_u64(0x1e6a_c7c7);
    for _ in 0..20_000 {
        let input = mutate(&mut rng, &seeds);
        no_panic("the legacy flight reader", &input, || {
            let mut f = Flight::default();
            let mut rest = input.as_slice();
            // Small pieces, and larger ones for a large flight.
            let piece = if input.len() > 16 * 1024 { 4096 } else { 64 };
            while !rest.is_empty() {
                let n = rng.random_range(1..=rest.len().min(piece));
                let (chunk, tail) = rest.split_at(n);
                rest = tail;
                match f.feed(chunk) {
                    Ok(None) => {}
                    Ok(Some(_)) | Err(_) => break,
                }
            }
        });
    }
    // The unmutated flights: the first two are captures, the empty list is one too (the
    // engine then keeps the refusal), all only once the last byte is in; the bundle's first
    // 48 KiB give its first certificates.
    for seed in &seeds {
        let mut f = Flight::default();
        let got = f.feed(seed).expect("a well-formed flight");
        assert!(got.is_some());
    }
    let mut f = Flight::default();
    let got = f.feed(&seeds[3]).unwrap().unwrap();
    assert_eq!(got.certificate_len, 80 * 1003 + 3);
    assert!((45..80).contains(&got.chain.len()), "{}", got.chain.len());
}

#[test]
fn the_java_keystore_reader_never_panics_on_mutated_stores() {
    // Lengths and counts that point past the end, or wrap, in keytool's stores.
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/jks");
    let seeds: Vec<Vec<u8>> = ["www.jks", "www.jceks", "secret.jceks", "mixed.jceks"]
        .iter()
        .map(|f| std::fs::read(format!("{dir}/{f}")).unwrap())
        .collect();
    let mut rng = StdRng::seed_from_u64(0x0000_feed_feed);
    let mut read = 0;
    for _ in 0..20_000 {
        let mut input = mutate(&mut rng, &seeds);
        // Kept a keystore, so that the reader is what runs.
        if input.len() >= 4 {
            input[..4].copy_from_slice(&seeds[rng.random_range(0..2)][..4]);
        }
        no_panic("the Java KeyStore reader", &input, || {
            if let Ok(certs) = certsweep::stores::java_keystore_certificates(&input) {
                read += 1;
                assert!(certs.iter().map(Vec::len).sum::<usize>() <= input.len());
            }
        });
    }
    // Some mutations leave a readable store (a flipped bit inside a certificate).
    assert!(read > 0);
}

/// What a server agreeing to TLS sends in each protocol's dialogue, all of it at once.
fn dialogue_seeds() -> Vec<(certsweep::model::Starttls, Vec<u8>)> {
    use certsweep::model::Starttls as P;
    let ldap_ok: &[u8] = &[
        0x30, 0x0c, 0x02, 0x01, 0x01, 0x78, 0x07, 0x0a, 0x01, 0x00, 0x04, 0x00, 0x04, 0x00,
    ];
    let mut mysql = vec![10];
    mysql.extend_from_slice(b"8.0.36\0\x07\0\0\0abcdefgh\0\x0f\xaa\xff\x02\0\xff\xcf\x15");
    mysql.extend_from_slice(&[0; 10]);
    mysql.extend_from_slice(b"ijklmnopqrst\0mysql_native_password\0");
    let mut mysql_packet = (mysql.len() as u32).to_le_bytes()[..3].to_vec();
    mysql_packet.push(0);
    mysql_packet.extend(mysql);
    let rdp: &[u8] = &[
        0x03, 0x00, 0x00, 0x13, 0x0e, 0xd0, 0x00, 0x00, 0x12, 0x34, 0x00, 0x02, 0x00, 0x08, 0x00,
        0x02, 0x00, 0x00, 0x00,
    ];
    vec![
        (
            P::Smtp,
            b"220-mx ESMTP\r\n220 ready\r\n250-mx\r\n250 STARTTLS\r\n220 go\r\n".to_vec(),
        ),
        (P::Lmtp, b"220 lmtp\r\n250 STARTTLS\r\n220 go\r\n".to_vec()),
        (
            P::Imap,
            b"* OK ready\r\n* CAPABILITY IMAP4rev1\r\nC1 OK begin\r\n".to_vec(),
        ),
        (P::Pop3, b"+OK ready\r\n+OK begin\r\n".to_vec()),
        (P::Ftp, b"220-hi\r\n220 ftp\r\n234 AUTH TLS ok\r\n".to_vec()),
        (P::Nntp, b"200 news\r\n382 go\r\n".to_vec()),
        (
            P::Sieve,
            b"\"SIEVE\" \"fileinto\"\r\n\"STARTTLS\"\r\nOK \"ready\"\r\nOK\r\n".to_vec(),
        ),
        (P::Ldap, ldap_ok.to_vec()),
        (
            P::Xmpp,
            b"<?xml version='1.0'?><stream:stream id='1' version='1.0'><stream:features>\
              <starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/></stream:features>\
              <proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"
                .to_vec(),
        ),
        (P::Postgres, b"S".to_vec()),
        (P::Mysql, mysql_packet),
        (P::Rdp, rdp.to_vec()),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn starttls_dialogues_never_panic_or_hang_on_mutated_answers() {
    use certsweep::engine::starttls::upgrade;
    let seeds = dialogue_seeds();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<u8>>(1);
    // Each connection gets the next answer, written at once, then the server's end of the
    // stream (what the client sends is read until it goes): a dialogue that waits for more
    // than the answer has must see the end, not wait.
    tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        while let Some(answer) = rx.recv().await {
            let Ok((mut tcp, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let _ = tcp.write_all(&answer).await;
                let _ = tcp.shutdown().await;
                let mut sink = [0u8; 512];
                while matches!(tcp.read(&mut sink).await, Ok(n) if n > 0) {}
            });
        }
    });
    // The unmutated answers lead to TLS.
    for (proto, answer) in &seeds {
        tx.send(answer.clone()).await.unwrap();
        let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
        let got = upgrade(&tcp, *proto, "x.test", &mut "").await;
        assert!(got.is_ok(), "{proto}: {got:?}");
    }
    let mut rng = StdRng::seed_from_u64(0x57a7_7715);
    let answers: Vec<Vec<u8>> = seeds.iter().map(|(_, a)| a.clone()).collect();
    for round in 0..6_000 {
        let (proto, _) = seeds[round % seeds.len()];
        let input = mutate(
            &mut rng,
            &answers[round % seeds.len()..=round % seeds.len()],
        );
        tx.send(input.clone()).await.unwrap();
        let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
        let run =
            tokio::spawn(async move { upgrade(&tcp, proto, "x.test", &mut "").await.is_ok() });
        match tokio::time::timeout(std::time::Duration::from_secs(10), run).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => panic!(
                "the {proto} dialogue panicked ({e}) on: {:?}",
                String::from_utf8_lossy(&input)
            ),
            Err(_) => panic!(
                "the {proto} dialogue hung on a closed connection after: {:?}",
                String::from_utf8_lossy(&input)
            ),
        }
    }
}

#[test]
fn presented_chains_and_staples_never_panic_when_mutated() {
    // A server's certificates and its stapled OCSP response are whatever it sends: reading
    // them, judging the chain, the staple and the CRL query must survive any bytes.
    use certsweep::fleet::{LeafSpec, Pki, StapleSays};
    use rustls::pki_types::CertificateDer;
    let pki = Pki::new("Mutated").unwrap();
    let now = certsweep::timefmt::now_unix();
    let leaves = [
        pki.issue(
            &LeafSpec::new(&["a.test", "b.test"], 1, 10, 80)
                .with_must_staple()
                .with_crl("http://crl.test/a.crl")
                .with_delta_crl("http://crl.test/a+.crl"),
        )
        .unwrap(),
        pki.issue(&LeafSpec::new(&["a.test"], 2, 10, 80).with_rsa())
            .unwrap(),
    ];
    let staples: Vec<Vec<u8>> = leaves
        .iter()
        .map(|l| {
            pki.staple(l, StapleSays::Good, now - 100, now + 9_999)
                .unwrap()
        })
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root.pem");
    std::fs::write(&root, pki.root_pem()).unwrap();
    let judge = certsweep::trust::TrustJudge::new(&[&root], false, true, None).unwrap();
    let mut rng = StdRng::seed_from_u64(0xc4a1_2026);
    for round in 0..3_000 {
        let k = rng.random_range(0..leaves.len());
        let mut chain: Vec<Vec<u8>> = leaves[k].chain.iter().map(|c| c.to_vec()).collect();
        let mut staple = staples[k].clone();
        match rng.random_range(0..3) {
            0 => {
                let i = rng.random_range(0..chain.len());
                chain[i] = mutate(&mut rng, &chain[i..=i]);
            }
            1 => staple = mutate(&mut rng, &[staple]),
            _ => {
                chain[0] = mutate(&mut rng, &chain[..1]);
                staple = mutate(&mut rng, &[staple]);
            }
        }
        let judged = catch_unwind(AssertUnwindSafe(|| {
            let ders: Vec<CertificateDer<'_>> = chain
                .iter()
                .map(|c| CertificateDer::from(c.as_slice()))
                .collect();
            for d in &ders {
                let _ = certsweep::cert::chain_entry(d);
                let _ = certsweep::cert::is_self_issued(d);
            }
            let _ = certsweep::revocation::Query::of(&ders, |l| judge.trusted_issuer_key(l));
            if let Ok(info) = certsweep::cert::cert_info(&ders[0]) {
                let _ = judge.judge(&ders, &info, Some("a.test"), now);
                let _ = certsweep::ocsp::judge(&staple, &ders, &info, now);
                let _ = certsweep::trust::weak_key(&info);
            }
        }));
        assert!(
            judged.is_ok(),
            "round {round} panicked: chain {chain:02x?}, staple {staple:02x?}"
        );
    }
}
