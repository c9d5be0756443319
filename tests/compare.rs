//! Record comparison end to end: the demo fleet (real TLS servers on loopback) swept against
//! its CERTInext orders report, every row's status and expected serial asserted.

use certsweep::cli::DemoArgs;
use std::collections::HashMap;

type Want = (
    &'static str,
    &'static str,
    &'static str,
    Option<u64>,
    Option<u64>,
);

fn hex(n: u64) -> String {
    // Fleet serials carry a 0x8A high byte before the 8-byte value.
    format!("8A{n:016X}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_refuses_a_file_for_its_output_directory() {
    // It started the whole fleet and then failed with "File exists (os error 17)", exit 3.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("report.csv");
    std::fs::write(&file, "kept").unwrap();
    let e = certsweep::demo::run_demo(DemoArgs {
        out: file.clone(),
        quiet: true,
    })
    .await
    .unwrap_err();
    assert_eq!(e.exit_code(), 2, "{e}");
    assert!(e.to_string().contains("is a file: name a directory"), "{e}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "kept");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_fleet_gets_every_verdict_right() {
    let dir = tempfile::tempdir().unwrap();
    let code = certsweep::demo::run_demo(DemoArgs {
        out: dir.path().to_path_buf(),
        quiet: true,
    })
    .await
    .unwrap();
    assert_eq!(code, 0);
    let mut rows: HashMap<(String, String), HashMap<String, String>> = HashMap::new();
    let mut rdr = csv::Reader::from_path(dir.path().join("report.csv")).unwrap();
    for r in rdr.deserialize::<HashMap<String, String>>() {
        let r = r.unwrap();
        rows.insert((r["host"].clone(), r["ip"].clone()), r);
    }
    let want: &[Want] = &[
        // host, ip, status, presented serial, expected serial
        (
            "www.acme.example",
            "127.0.0.1",
            "current",
            Some(0x1001),
            Some(0x1001),
        ),
        (
            "api.acme.example",
            "127.0.0.1",
            "renewed_not_deployed",
            Some(0x0901),
            Some(0x1101),
        ),
        (
            "shop.acme.example",
            "127.0.0.1",
            "current",
            Some(0x1102),
            Some(0x1102),
        ),
        (
            "shop.acme.example",
            "127.0.0.2",
            "renewed_not_deployed",
            Some(0x0902),
            Some(0x1102),
        ),
        // Behind one address, one node of three kept the old certificate: the third of
        // three connections (`--samples 3`) sees it.
        (
            "app.acme.example",
            "127.0.0.1",
            "renewed_not_deployed",
            Some(0x0903),
            Some(0x1103),
        ),
        (
            "legacy.acme.example",
            "127.0.0.1",
            "expired",
            Some(0x0501),
            Some(0x0501),
        ),
        (
            "mail.acme.example",
            "127.0.0.1",
            "expiring_soon",
            Some(0x0801),
            Some(0x0801),
        ),
        (
            "vpn.acme.example",
            "127.0.0.1",
            "revoked",
            Some(0x0950),
            None,
        ),
        (
            "sso.acme.example",
            "127.0.0.1",
            "revoked",
            Some(0x1007),
            // Revoked by the CA, with no later version: a new certificate is needed.
            None,
        ),
        (
            "intranet.acme.example",
            "127.0.0.1",
            "unmanaged",
            Some(0x7777),
            None,
        ),
        (
            "pay.acme.example",
            "127.0.0.1",
            "hostname_mismatch",
            Some(0x1004),
            Some(0x1003),
        ),
        (
            "blog.acme.example",
            "127.0.0.1",
            "untrusted",
            Some(0x1005),
            Some(0x1005),
        ),
        (
            "cdn.acme.example",
            "127.0.0.1",
            "current",
            Some(0x0701),
            Some(0x0701),
        ),
        // An ECDSA and an RSA certificate on one server, the RSA one renewed later: both
        // are the newest of their key type.
        (
            "edge.acme.example",
            "127.0.0.1",
            "current",
            Some(0x0601),
            Some(0x0601),
        ),
        (
            "new.acme.example",
            "127.0.0.1",
            "deployment_pending",
            Some(0x0990),
            Some(0x1199),
        ),
        (
            "status.acme.example",
            "127.0.0.1",
            "unreachable",
            None,
            Some(0x1006),
        ),
        // Current, with a policy CA that ends 255 days before the leaf.
        (
            "portal.acme.example",
            "127.0.0.1",
            "current",
            Some(0x1008),
            Some(0x1008),
        ),
    ];
    assert_eq!(
        rows.len(),
        want.len(),
        "{:?}",
        rows.keys().collect::<Vec<_>>()
    );
    for (host, ip, status, serial, expected) in want {
        let r = &rows[&(host.to_string(), ip.to_string())];
        assert_eq!(&r["status"], status, "{host} {ip}: {r:?}");
        assert_eq!(
            r["serial"],
            serial.map(hex).unwrap_or_default(),
            "{host} {ip}"
        );
        assert_eq!(
            r["expected_serial"],
            expected.map(hex).unwrap_or_default(),
            "{host} {ip}"
        );
        assert!(!r["next_step"].is_empty(), "{host}: no next step");
    }
    let portal = &rows[&("portal.acme.example".to_string(), "127.0.0.1".to_string())];
    // When its chain breaks, as a cell a spreadsheet sorts; empty where no chain ends first.
    let date = &portal["chain_expires"];
    assert!(
        date.len() == 20 && portal["next_step"].contains(&format!("before {date}, replace")),
        "{portal:?}"
    );
    assert!(rows
        .values()
        .filter(|r| r["host"] != "portal.acme.example")
        .all(|r| r["chain_expires"].is_empty()));
    // The served certificate's key hash wherever one was served.
    assert!(rows.values().all(|r| {
        let key = &r["spki_sha256"];
        match r["serial"].is_empty() {
            true => key.is_empty(),
            false => key.len() == 64 && key.bytes().all(|b| b.is_ascii_hexdigit()),
        }
    }));
    assert!(
        portal["findings"].contains("chain_expires_first"),
        "{portal:?}"
    );
    assert!(
        portal["next_step"].starts_with("Nothing to do for the certificate; before ")
            && portal["next_step"].contains(", replace \"O=certsweep test PKI, CN=certsweep Demo Group Policy CA\" in the server's chain"),
        "{}",
        portal["next_step"]
    );
    assert!(
        portal["detail"].contains("\"O=certsweep test PKI, CN=certsweep Demo Group Policy CA\" the server sends expires on"),
        "{}",
        portal["detail"]
    );
    let stale = &rows[&("shop.acme.example".to_string(), "127.0.0.2".to_string())];
    assert!(stale["findings"].contains("partial_rollout"));
    assert_eq!(stale["name_endpoints_current"], "1/2");
    assert_eq!(stale["record_id"], "ORD-0902");
    assert_eq!(stale["expected_record_id"], "ORD-1102");
    assert!(stale["next_step"].contains("provisioning bot"));
    // The names the served certificate covers, for checking against the host.
    let pay = &rows[&("pay.acme.example".to_string(), "127.0.0.1".to_string())];
    assert_eq!(pay["status"], "hostname_mismatch");
    // The records hold the certificate for the name: the step names it.
    assert!(
        pay["next_step"].starts_with("Bind the certificate of record ORD-1003"),
        "{}",
        pay["next_step"]
    );
    assert!(
        !pay["sans"].split(';').any(|n| n == "pay.acme.example"),
        "{}",
        pay["sans"]
    );
    assert!(
        stale["sans"].split(';').any(|n| n == "shop.acme.example"),
        "{}",
        stale["sans"]
    );
    assert!(
        rows[&("legacy.acme.example".into(), "127.0.0.1".into())]["findings"].contains("expired")
    );
    // The mail server's certificate came from behind SMTP's STARTTLS.
    assert_eq!(
        rows[&("mail.acme.example".into(), "127.0.0.1".into())]["starttls"],
        "smtp"
    );
    assert_eq!(
        rows[&("www.acme.example".into(), "127.0.0.1".into())]["starttls"],
        ""
    );
    assert_eq!(
        rows[&("status.acme.example".into(), "127.0.0.1".into())]["error_class"],
        "connect_refused"
    );
    // Every sampled connection refused: said once, in sentences.
    let detail = &rows[&("status.acme.example".into(), "127.0.0.1".into())]["detail"];
    assert!(
        detail.contains("(os error 111). All 3 connections to 127.0.0.1:")
            && detail.ends_with(" got no certificate.")
            && !detail.contains("(first:"),
        "{detail}"
    );
    assert!(
        rows[&("blog.acme.example".into(), "127.0.0.1".into())]["findings"]
            .contains("incomplete_chain")
    );

    // Revoked by the CA, not in the records: the stapled OCSP response says so.
    let sso = &rows[&("sso.acme.example".into(), "127.0.0.1".into())];
    assert_eq!(sso["findings"], "ocsp_revoked;revoked");
    assert!(
        sso["detail"]
            .contains("The CA's OCSP response, stapled by the server, says it was revoked on"),
        "{sso:?}"
    );
    let edge = &rows[&("edge.acme.example".into(), "127.0.0.1".into())];
    assert_eq!(edge["findings"], "dual_certificates");
    assert_eq!(edge["other_key_serial"], hex(0x1201));
    assert_eq!(
        rows[&("www.acme.example".into(), "127.0.0.1".into())]["other_key_serial"],
        ""
    );
    assert!(
        edge["detail"].contains(&format!(
            "its renewal serial {} (record ORD-1201) to RSA clients",
            hex(0x1201)
        )),
        "{edge:?}"
    );

    // The node left behind decides the row, which says who got what.
    let app = &rows[&("app.acme.example".into(), "127.0.0.1".into())];
    assert_eq!(app["findings"], "backends_differ;renewed_not_deployed");
    assert!(
        app["detail"].ends_with(&format!(
            "so the nodes behind it differ: serial {} on 2 of 3 (current), serial {} on 1 of 3 (renewed_not_deployed).",
            hex(0x1103),
            hex(0x0903)
        )),
        "{app:?}"
    );
    let mut ids = csv::Reader::from_path(dir.path().join("records.csv")).unwrap();
    let ids: Vec<HashMap<String, String>> = ids.deserialize().map(|r| r.unwrap()).collect();
    let api = ids
        .iter()
        .find(|r| r["names"] == "api.acme.example")
        .unwrap();
    assert_eq!(api["newest_serial"], hex(0x1101));
    assert!(api["findings"].contains("renewed_seen_nowhere"));
    let sso = ids
        .iter()
        .find(|r| r["names"] == "sso.acme.example")
        .unwrap();
    assert_eq!(sso["findings"], "revoked_by_ca");
    let cdn = ids
        .iter()
        .find(|r| r["names"] == "cdn.acme.example")
        .unwrap();
    assert_eq!(cdn["newest_record_id"], "ORD-0700R001");
    assert_eq!(cdn["versions"], "2");
    let edge = ids
        .iter()
        .find(|r| r["names"] == "edge.acme.example")
        .unwrap();
    // Deployed on two nodes of three, and left behind on one: both said of the identity.
    let app = ids
        .iter()
        .find(|r| r["names"] == "app.acme.example")
        .unwrap();
    assert!(!app["deployed_at"].is_empty(), "{app:?}");
    assert_eq!(app["findings"], "older_versions_served", "{app:?}");
    assert!(
        app["stale_at"].ends_with(&format!("(serial {})", hex(0x0903))),
        "{app:?}"
    );
    assert_eq!(edge["newest_record_id"], "ORD-1201");
    assert_eq!(
        (edge["findings"].as_str(), edge["stale_at"].as_str()),
        ("", "")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unusable_inventory_is_an_input_error() {
    let dir = tempfile::tempdir().unwrap();
    let inv = dir.path().join("empty.csv");
    std::fs::write(&inv, "").unwrap();
    let cli = <certsweep::cli::Cli as clap::Parser>::parse_from([
        "certsweep",
        "scan",
        "--inventory",
        inv.to_str().unwrap(),
        "-q",
    ]);
    let err = certsweep::run(cli).await.unwrap_err();
    assert_eq!(err.exit_code(), 2);
    assert!(err.to_string().contains("no usable record"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_inventory_file_that_cannot_be_read_stops_the_run_before_it_sweeps() {
    // Two pages of an export, one path mistyped: its records would be missing from every
    // verdict (a renewal on it would leave the old certificate `current`). It was one
    // skipped error, and the sweep went on to exit 0.
    let missing = "targets/no-such-page.json";
    // Were the run to go on, it would ask only loopback: a refused port, a silent resolver.
    let dir = tempfile::tempdir().unwrap();
    let targets = dir.path().join("targets.txt");
    std::fs::write(&targets, "127.0.0.1:1\n").unwrap();
    let targets = targets.to_str().unwrap();
    for command in [
        vec!["scan", "--targets", targets],
        vec!["dcv", "--dns-timeout", "200ms"],
    ] {
        let mut args = vec!["certsweep"];
        args.extend(&command);
        args.extend([
            "--resolver",
            "127.0.0.1:9",
            "--inventory",
            "targets/inventory-generic.csv",
            "--inventory",
            missing,
            "-q",
        ]);
        let cli = <certsweep::cli::Cli as clap::Parser>::parse_from(args);
        let command = command[0];
        let err = certsweep::run(cli).await.unwrap_err();
        assert_eq!(err.exit_code(), 2, "{command}");
        let said = err.to_string();
        assert!(
            said.starts_with("cannot read the inventory to its end (targets/no-such-page.json: "),
            "{command}: {said}"
        );
    }
}
