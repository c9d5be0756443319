//! The sweep engine against real servers on loopback: exact serials and error classes.

mod support;

use support::openssl::{openssl_server, openssl_server_chain, openssl_server_keys};
use support::sweeping::*;

use certsweep::cli::Cli;
use certsweep::fleet::{self, ChainKind, LeafSpec, Pki};
use certsweep::model::{ErrorClass, ErrorInfo, Finding, Observation};
use clap::Parser;
use std::collections::HashMap;
use std::net::SocketAddr;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sweep_captures_exact_serials_and_classifies_every_failure() {
    let pki = Pki::new("Sweep").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("root.pem");
    std::fs::write(&ca, pki.root_pem()).unwrap();
    let lo = ip("127.0.0.1");
    let any = SocketAddr::new(lo, 0);

    let good = valid_leaf(&pki, "good.test", 1001);
    let expired = pki
        .issue(&LeafSpec::new(&["expired.test"], 1002, 400, -5))
        .unwrap();
    let wrong = valid_leaf(&pki, "other.test", 1003);
    let selfsigned = pki
        .issue(&LeafSpec::new(&["self.test"], 1004, 10, 80).with_chain(ChainKind::SelfSigned))
        .unwrap();
    let leafonly = pki
        .issue(&LeafSpec::new(&["bare.test"], 1005, 10, 80).with_chain(ChainKind::LeafOnly))
        .unwrap();
    let mtls = valid_leaf(&pki, "mtls.test", 1006);
    let lb_new = pki
        .issue(&LeafSpec::new(&["lb.test"], 2001, 1, 90))
        .unwrap();
    let lb_old = pki
        .issue(&LeafSpec::new(&["lb.test"], 2002, 300, 20))
        .unwrap();

    let s_good = fleet::serve_tls(any, &good, &[], None).await.unwrap();
    let s_exp = fleet::serve_tls(any, &expired, &[], None).await.unwrap();
    let s_wrong = fleet::serve_tls(any, &wrong, &[], None).await.unwrap();
    let s_self = fleet::serve_tls(any, &selfsigned, &[], None).await.unwrap();
    let s_bare = fleet::serve_tls(any, &leafonly, &[], None).await.unwrap();
    let s_mtls = fleet::serve_tls(any, &mtls, &[], Some(&pki.root.cert))
        .await
        .unwrap();
    let lb2 = fleet::serve_tls(SocketAddr::new(ip("127.0.0.2"), 0), &lb_new, &[], None)
        .await
        .unwrap();
    let lb_port = lb2.addr.port();
    let lb3 = fleet::serve_tls(
        SocketAddr::new(ip("127.0.0.3"), lb_port),
        &lb_new,
        &[],
        None,
    )
    .await
    .unwrap();
    let lb4 = fleet::serve_tls(
        SocketAddr::new(ip("127.0.0.4"), lb_port),
        &lb_old,
        &[],
        None,
    )
    .await
    .unwrap();
    let tarpit = fleet::serve_tarpit(any).await.unwrap();
    let hole = fleet::blackhole(lo).await.unwrap();
    let dns = support::dns_server(
        "test.",
        &[
            ("lb.test.", ip("127.0.0.2")),
            ("lb.test.", ip("127.0.0.3")),
            ("lb.test.", ip("127.0.0.4")),
        ],
        &["noaddr.test."],
    )
    .await;
    let refused = fleet::refused_addr(lo).await.unwrap();

    let targets = format!(
        "# every case\n\
         good.test@{}\nexpired.test@{}\nwrong.test@{}\nself.test@{}\nbare.test@{}\nmtls.test@{}\n\
         lb.test:{lb_port}\nnx.test:{lb_port}\nnoaddr.test:{lb_port}\n\
         {}\ntarpit.test@{}\nhole.test@{}\nbad.test:99999\ngood.test@{}\n",
        s_good.addr,
        s_exp.addr,
        s_wrong.addr,
        s_self.addr,
        s_bare.addr,
        s_mtls.addr,
        refused.addr,
        tarpit.addr,
        hole.addr,
        s_good.addr,
    );
    let resolver = dns.addr.to_string();
    let ca_s = ca.to_string_lossy().to_string();
    let obs = run_sweep(
        targets,
        &[
            "--resolver",
            &resolver,
            "--ca-file",
            &ca_s,
            "--no-public-roots",
            "--connect-timeout",
            "400ms",
            "--handshake-timeout",
            "600ms",
        ],
    )
    .await;
    let m = by_key(&obs);
    // 14 lines: one bad, one duplicate, lb fans out to three.
    assert_eq!(obs.len(), 14, "{:#?}", m.keys().collect::<Vec<_>>());

    let serial = |k: &str| {
        m[k].cert
            .as_ref()
            .map(|c| c.serial.clone())
            .unwrap_or_default()
    };
    let g = m["good.test@127.0.0.1"];
    assert_eq!(serial("good.test@127.0.0.1"), good.serial_hex);
    assert_eq!(g.cert.as_ref().unwrap().serial_dec, good.serial_dec);
    assert!(
        g.findings.is_empty(),
        "{:?} {:?}",
        g.findings,
        g.trust_detail
    );
    assert!(g.error.is_none());
    assert_eq!(g.chain.len(), 2);
    assert_eq!(g.sni.as_deref(), Some("good.test"));
    assert!(g.tls.is_some());

    assert_eq!(serial("expired.test@127.0.0.1"), expired.serial_hex);
    assert_eq!(m["expired.test@127.0.0.1"].findings, vec![Finding::Expired]);
    assert_eq!(serial("wrong.test@127.0.0.1"), wrong.serial_hex);
    assert_eq!(
        m["wrong.test@127.0.0.1"].findings,
        vec![Finding::HostnameMismatch]
    );
    assert_eq!(serial("self.test@127.0.0.1"), selfsigned.serial_hex);
    assert!(m["self.test@127.0.0.1"]
        .findings
        .contains(&Finding::SelfSigned));
    assert_eq!(serial("bare.test@127.0.0.1"), leafonly.serial_hex);
    assert_eq!(
        m["bare.test@127.0.0.1"].findings,
        vec![Finding::IncompleteChain]
    );
    assert_eq!(serial("mtls.test@127.0.0.1"), mtls.serial_hex);

    assert_eq!(serial("lb.test@127.0.0.2"), lb_new.serial_hex);
    assert_eq!(serial("lb.test@127.0.0.3"), lb_new.serial_hex);
    assert_eq!(serial("lb.test@127.0.0.4"), lb_old.serial_hex);
    assert_eq!(m["lb.test@127.0.0.4"].sni.as_deref(), Some("lb.test"));

    let class = |k: &str| m[k].error_class();
    assert_eq!(class("nx.test@"), Some(ErrorClass::DnsNxdomain));
    assert_eq!(class("noaddr.test@"), Some(ErrorClass::DnsNoAddress));
    assert_eq!(
        class("127.0.0.1@127.0.0.1"),
        Some(ErrorClass::ConnectRefused)
    );
    assert_eq!(class("tarpit.test@127.0.0.1"), Some(ErrorClass::TlsTimeout));
    assert_eq!(
        class("hole.test@127.0.0.1"),
        Some(ErrorClass::ConnectTimeout)
    );
    assert!(m["127.0.0.1@127.0.0.1"].sni.is_none());
    drop((lb3, lb4));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ipv6_loopback_endpoint() {
    if !support::have_ipv6_loopback() {
        eprintln!("skipped: no [::1] on this machine");
        return;
    }
    let pki = Pki::new("Six").unwrap();
    let leaf = pki
        .issue(&LeafSpec::new(&["six.test"], 6006, 1, 30))
        .unwrap();
    let s = fleet::serve_tls(SocketAddr::new(ip("::1"), 0), &leaf, &[], None)
        .await
        .unwrap();
    let obs = run_sweep(
        format!(
            "[::1]:{}\nsix.test@[::1]:{}\n",
            s.addr.port(),
            s.addr.port()
        ),
        &[],
    )
    .await;
    assert_eq!(obs.len(), 2);
    for o in &obs {
        assert_eq!(o.cert.as_ref().unwrap().serial, leaf.serial_hex);
        assert_eq!(o.ip, Some(ip("::1")));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scan_command_writes_csv_and_jsonl() {
    let pki = Pki::new("Cmd").unwrap();
    let leaf = pki.issue(&LeafSpec::new(&["cmd.test"], 77, 1, 30)).unwrap();
    let s = fleet::serve_tls(SocketAddr::new(ip("127.0.0.1"), 0), &leaf, &[], None)
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let t = dir.path().join("t.txt");
    std::fs::write(&t, format!("cmd.test@{}\nnot a target!\n", s.addr)).unwrap();
    let report = dir.path().join("r.csv");
    let jsonl = dir.path().join("r.jsonl");
    let cli = Cli::parse_from([
        "certsweep",
        "scan",
        "--targets",
        t.to_str().unwrap(),
        "--report",
        report.to_str().unwrap(),
        "--jsonl",
        jsonl.to_str().unwrap(),
        "--pem",
        "--quiet",
    ]);
    assert_eq!(certsweep::run(cli).await.unwrap(), 0);
    let mut rdr = csv::Reader::from_path(&report).unwrap();
    let headers = rdr.headers().unwrap().clone();
    for col in [
        "host",
        "ip",
        "port",
        "sni",
        "serial",
        "not_after",
        "error_class",
    ] {
        assert!(headers.iter().any(|h| h == col), "missing column {col}");
    }
    let rows: Vec<csv::StringRecord> = rdr.records().map(|r| r.unwrap()).collect();
    assert_eq!(rows.len(), 1);
    let col = |name: &str| headers.iter().position(|h| h == name).unwrap();
    assert_eq!(&rows[0][col("serial")], leaf.serial_hex);
    assert_eq!(&rows[0][col("host")], "cmd.test");
    assert!(
        rows[0][col("findings")].contains("unknown_issuer")
            || rows[0][col("findings")].contains("incomplete_chain")
    );
    let line = std::fs::read_to_string(&jsonl).unwrap();
    let v: serde_json::Value = serde_json::from_str(line.lines().next().unwrap()).unwrap();
    assert_eq!(v["cert"]["serial"], leaf.serial_hex.as_str());
    assert!(v["pem"][0].as_str().unwrap().contains("BEGIN CERTIFICATE"));
    // The key's hash: SHA-256 of the leaf's SubjectPublicKeyInfo, in both outputs.
    let spki: String = key_pin(&leaf).iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(&rows[0][col("spki_sha256")], spki);
    assert_eq!(v["cert"]["spki_sha256"], spki.as_str());

    // `--report -` streams the CSV to standard output for a pipeline; the summary stays on
    // stderr.
    let tpath = t.clone();
    let out = tokio::task::spawn_blocking(move || {
        run_certsweep(&[&"scan", &"--targets", &tpath, &"--report", &"-"], None)
    })
    .await
    .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.starts_with("scan_time,host,"), "{stdout}");
    assert!(stdout.contains(&leaf.serial_hex));
    assert!(String::from_utf8_lossy(&out.stderr).contains("1 endpoint, 1 certificate captured"));

    // --strict refuses the same list before connecting.
    let cli = Cli::parse_from([
        "certsweep",
        "scan",
        "--targets",
        t.to_str().unwrap(),
        "--strict",
        "-q",
    ]);
    let err = certsweep::run(cli).await.unwrap_err();
    assert_eq!(err.exit_code(), 2);
    assert!(err.to_string().contains(":2:"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_per_address_are_bounded() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use tokio::io::AsyncReadExt;
    // A server on one address that counts the connections it holds at once: it reads the
    // ClientHello and closes, so every client attempt ends in a TLS error.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let now = Arc::new(AtomicUsize::new(0));
    let max = Arc::new(AtomicUsize::new(0));
    let (n2, m2) = (now.clone(), max.clone());
    let server = tokio::spawn(async move {
        loop {
            let Ok((mut tcp, _)) = listener.accept().await else {
                continue;
            };
            let cur = n2.fetch_add(1, Ordering::SeqCst) + 1;
            m2.fetch_max(cur, Ordering::SeqCst);
            let n3 = n2.clone();
            tokio::spawn(async move {
                let mut buf = [0u8; 512];
                let _ = tcp.read(&mut buf).await;
                n3.fetch_sub(1, Ordering::SeqCst);
            });
        }
    });
    let targets: String = (0..60).map(|i| format!("n{i}.test@{addr}\n")).collect();
    let obs = run_sweep(targets, &["--per-address", "3", "--concurrency", "60"]).await;
    assert_eq!(obs.len(), 60);
    assert!(obs.iter().all(|o| o.error_class().is_some()));
    let seen = max.load(Ordering::SeqCst);
    assert!(
        (1..=3).contains(&seen),
        "{seen} connections at once to one address"
    );
    server.abort();
}

/// A server limited to TLS 1.2, optionally demanding a client certificate.
fn tls12_only(leaf: &fleet::Leaf, client_auth: Option<&Pki>) -> rustls::ServerConfig {
    use std::sync::Arc;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&[&rustls::version::TLS12])
        .unwrap();
    let builder = match client_auth {
        Some(pki) => {
            let mut roots = rustls::RootCertStore::empty();
            roots.add(pki.root.cert.clone()).unwrap();
            let v = rustls::server::WebPkiClientVerifier::builder_with_provider(
                Arc::new(roots),
                provider,
            )
            .build()
            .unwrap();
            builder.with_client_cert_verifier(v)
        }
        None => builder.with_no_client_auth(),
    };
    builder
        .with_single_cert(leaf.chain.clone(), leaf.key.clone_key())
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls12_servers_complete_or_fail_with_the_chain_captured() {
    // In TLS 1.2 the client's Finished comes before the server's, so the handshake driver
    // must send it; a server that wants a client certificate refuses only after that flight.
    let pki = Pki::new("Twelve").unwrap();
    let plain = valid_leaf(&pki, "old.test", 3001);
    let mtls = valid_leaf(&pki, "oldmtls.test", 3002);
    let any = SocketAddr::new(ip("127.0.0.1"), 0);
    let s_plain =
        fleet::serve_config(fleet::listen(any).unwrap(), tls12_only(&plain, None)).unwrap();
    let s_mtls =
        fleet::serve_config(fleet::listen(any).unwrap(), tls12_only(&mtls, Some(&pki))).unwrap();
    let obs = run_sweep_trusting(
        &pki,
        format!("old.test@{}\noldmtls.test@{}\n", s_plain.addr, s_mtls.addr),
    )
    .await;
    let m = by_key(&obs);
    let old = m["old.test@127.0.0.1"];
    assert!(old.error.is_none(), "{:?}", old.error);
    assert_eq!(old.cert.as_ref().unwrap().serial, plain.serial_hex);
    assert_eq!(old.tls.as_ref().unwrap().version, "TLSv1.2");
    assert!(old.findings.is_empty(), "{:?}", old.findings);
    let refused = m["oldmtls.test@127.0.0.1"];
    assert_eq!(refused.cert.as_ref().unwrap().serial, mtls.serial_hex);
    assert_eq!(refused.error_class(), Some(ErrorClass::TlsAlert));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn legacy_servers_yield_their_certificate_with_the_legacy_finding() {
    use openssl::ssl::SslVersion;
    let pki = Pki::new("Legacy").unwrap();
    let tls10 = valid_leaf(&pki, "tls10.test", 4001);
    let cbc = valid_leaf(&pki, "cbc.test", 4002);
    let psk = valid_leaf(&pki, "psk.test", 4003);
    let a10 = openssl_server(&tls10, SslVersion::TLS1, "ECDHE-ECDSA-AES128-SHA", None);
    // TLS 1.2, but only a CBC suite, which rustls does not implement.
    let acbc = openssl_server(&cbc, SslVersion::TLS1_2, "ECDHE-ECDSA-AES128-SHA256", None);
    // Nothing either offer has: the refusal stands.
    let apsk = openssl_server(&psk, SslVersion::TLS1_2, "PSK-AES128-CBC-SHA", None);
    let obs = run_sweep_trusting(
        &pki,
        format!("tls10.test@{a10}\ncbc.test@{acbc}\npsk.test@{apsk}\n"),
    )
    .await;
    let m = by_key(&obs);
    for (key, leaf, version, suite) in [
        (
            "tls10.test@127.0.0.1",
            &tls10,
            "TLSv1.0",
            "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA",
        ),
        (
            "cbc.test@127.0.0.1",
            &cbc,
            "TLSv1.2",
            "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256",
        ),
    ] {
        let o = m[key];
        assert!(o.error.is_none(), "{key}: {:?}", o.error);
        assert_eq!(o.cert.as_ref().unwrap().serial, leaf.serial_hex, "{key}");
        assert_eq!(o.chain.len(), 2, "{key}: the intermediate is captured too");
        let tls = o.tls.as_ref().unwrap();
        assert_eq!(
            (tls.version.as_str(), tls.cipher_suite.as_str()),
            (version, suite)
        );
        // Trusted, valid and for its name: the only finding is the protocol.
        assert_eq!(o.findings, vec![Finding::LegacyTls], "{key}");
    }
    let refused = m["psk.test@127.0.0.1"];
    assert!(refused.cert.is_none());
    assert_eq!(refused.error_class(), Some(ErrorClass::TlsProtocol));
    let message = &refused.error.as_ref().unwrap().message;
    assert!(
        message.contains("offered TLS 1.0-1.2 with legacy cipher suites: server sent alert"),
        "{message}"
    );
}

/// What a [`front`] does with a connection.
#[derive(Clone, Copy)]
enum Front {
    /// Resets it once its ClientHello is in (what Windows Schannel does when no cipher
    /// suite is in common).
    Reset,
    /// Accepts it and never answers.
    Silent,
    /// Passes it to the backend.
    Forward,
}

/// A front before `backend` that does `plan(n)` with its `n`th connection (from 0).
fn front(backend: SocketAddr, plan: fn(usize) -> Front) -> SocketAddr {
    use std::io::Read;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let mut silent = Vec::new();
        for (n, client) in listener.incoming().flatten().enumerate() {
            match plan(n) {
                Front::Reset => {
                    let mut hello = [0u8; 512];
                    let _ = (&client).read(&mut hello);
                    socket2::SockRef::from(&client)
                        .set_linger(Some(std::time::Duration::ZERO))
                        .unwrap();
                    continue;
                }
                Front::Silent => {
                    silent.push(client);
                    continue;
                }
                Front::Forward => {}
            }
            let Ok(server) = std::net::TcpStream::connect(backend) else {
                continue;
            };
            let (mut c2, mut s2) = (client.try_clone().unwrap(), server.try_clone().unwrap());
            std::thread::spawn(move || drop(std::io::copy(&mut c2, &mut s2)));
            std::thread::spawn(move || {
                let (mut c, mut s) = (client, server);
                drop(std::io::copy(&mut s, &mut c))
            });
        }
    });
    addr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_hangs_up_on_the_modern_hello_is_read_with_a_legacy_one() {
    use openssl::ssl::SslVersion;
    let pki = Pki::new("Hang up").unwrap();
    let old = valid_leaf(&pki, "schannel.test", 4101);
    let modern = valid_leaf(&pki, "busy.test", 4102);
    let a_old = front(
        openssl_server(&old, SslVersion::TLS1, "ECDHE-ECDSA-AES128-SHA", None),
        |n| if n == 0 { Front::Reset } else { Front::Forward },
    );
    // A modern server that resets once, as an overloaded one may: the legacy hello gets its
    // certificate, but it chooses what the first hello offered, so no legacy_tls claim.
    let (a_busy, _, server) = resetting_server(&modern, 1);
    let obs =
        run_sweep_trusting(&pki, format!("schannel.test@{a_old}\nbusy.test@{a_busy}\n")).await;
    let m = by_key(&obs);
    let o = m["schannel.test@127.0.0.1"];
    assert!(o.error.is_none(), "{:?}", o.error);
    assert_eq!(o.cert.as_ref().unwrap().serial, old.serial_hex);
    assert_eq!(o.tls.as_ref().unwrap().version, "TLSv1.0");
    assert_eq!(o.findings, vec![Finding::LegacyTls]);
    let b = m["busy.test@127.0.0.1"];
    assert_eq!(b.cert.as_ref().unwrap().serial, modern.serial_hex);
    assert!(b.findings.is_empty(), "{:?}", b.findings);
    assert!(b.tls.is_none());
    let e = b.error.as_ref().unwrap();
    assert_eq!(e.class, ErrorClass::TlsError);
    assert!(
        e.message.contains("reset") && e.message.contains("which the first hello offered too"),
        "{}",
        e.message
    );
    server.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_legacy_try_that_times_out_is_tried_again_within_the_retries() {
    use openssl::ssl::SslVersion;
    let pki = Pki::new("Legacy retry").unwrap();
    let old = valid_leaf(&pki, "flaky.test", 4201);
    // The modern hello is refused by the TLS 1.0 server itself; the first legacy try meets
    // a silent connection (a dropped packet, a stalled balancer member); the second gets
    // through.
    let flaky = || {
        front(
            openssl_server(&old, SslVersion::TLS1, "ECDHE-ECDSA-AES128-SHA", None),
            |n| {
                if n == 1 {
                    Front::Silent
                } else {
                    Front::Forward
                }
            },
        )
    };
    let a_old = flaky();
    let dir = tempfile::tempdir().unwrap();
    let ca = root_file(&pki, &dir);
    let args = |retries: &'static str| {
        [
            "--ca-file",
            ca.as_str(),
            "--no-public-roots",
            "--handshake-timeout",
            "300ms",
            "--retries",
            retries,
        ]
    };
    let (obs, counters) = sweep_counted(format!("flaky.test@{a_old}\n"), &args("1")).await;
    let o = &obs[0];
    assert!(o.error.is_none(), "{:?}", o.error);
    assert_eq!(o.cert.as_ref().unwrap().serial, old.serial_hex);
    assert_eq!(o.findings, vec![Finding::LegacyTls]);
    assert_eq!(
        counters.retries.load(std::sync::atomic::Ordering::Relaxed),
        1
    );
    // Without retries the refusal stands, with the legacy try's timeout in its message.
    let a_old = flaky();
    let obs = run_sweep(format!("flaky.test@{a_old}\n"), &args("0")).await;
    let o = &obs[0];
    assert!(o.cert.is_none());
    assert_eq!(o.error_class(), Some(ErrorClass::TlsProtocol));
    let message = &o.error.as_ref().unwrap().message;
    assert!(
        message.ends_with(
            "offered TLS 1.0-1.2 with legacy cipher suites: no certificate within 300ms"
        ),
        "{message}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_end_with_a_reset_so_no_local_port_waits_in_time_wait() {
    use tokio::io::AsyncReadExt;
    // A server that never answers: the client gives up after its handshake timeout and
    // closes. A FIN would show here as end of stream; the reset shows as an error.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        let (mut tcp, _) = listener.accept().await.unwrap();
        let mut buf = [0u8; 4096];
        loop {
            match tcp.read(&mut buf).await {
                Ok(0) => return "fin",
                Ok(_) => continue,
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return "reset",
                Err(_) => return "other",
            }
        }
    });
    let obs = run_sweep(
        format!("quiet.test@{addr}\n"),
        &["--handshake-timeout", "200ms"],
    )
    .await;
    assert_eq!(obs[0].error_class(), Some(ErrorClass::TlsTimeout));
    assert_eq!(server.await.unwrap(), "reset");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retried_hellos_and_chains_spanning_many_reads_are_captured() {
    use std::sync::Arc;
    // A TLS 1.3 server that only takes P-256 key shares answers the client's X25519 share
    // with a HelloRetryRequest; another presents a leaf with 1,200 names (~18 KB), which
    // needs more than one TLS record. The handshake loop must carry both through.
    let pki = Pki::new("Loop").unwrap();
    let hrr = valid_leaf(&pki, "hrr.test", 4001);
    let many: Vec<String> = (0..1200).map(|i| format!("n{i}.big.test")).collect();
    let mut names: Vec<&str> = vec!["big.test"];
    names.extend(many.iter().map(String::as_str));
    let big = pki.issue(&LeafSpec::new(&names, 4002, 10, 80)).unwrap();
    assert!(big.chain[0].len() > 16_384, "{}", big.chain[0].len());

    let mut p256_only = rustls::crypto::ring::default_provider();
    p256_only.kx_groups = vec![rustls::crypto::ring::kx_group::SECP256R1];
    let hrr_config = rustls::ServerConfig::builder_with_provider(Arc::new(p256_only))
        .with_protocol_versions(&[&rustls::version::TLS13])
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(hrr.chain.clone(), hrr.key.clone_key())
        .unwrap();
    let any = SocketAddr::new(ip("127.0.0.1"), 0);
    let s_hrr = fleet::serve_config(fleet::listen(any).unwrap(), hrr_config).unwrap();
    let s_big = fleet::serve_tls(any, &big, &[], None).await.unwrap();
    let obs = run_sweep_trusting(
        &pki,
        format!("hrr.test@{}\nbig.test@{}\n", s_hrr.addr, s_big.addr),
    )
    .await;
    let m = by_key(&obs);
    let h = m["hrr.test@127.0.0.1"];
    assert!(h.error.is_none(), "{:?}", h.error);
    assert_eq!(h.cert.as_ref().unwrap().serial, hrr.serial_hex);
    assert_eq!(
        h.tls.as_ref().unwrap().kx_group.as_deref(),
        Some("secp256r1")
    );
    let b = m["big.test@127.0.0.1"];
    assert!(b.error.is_none(), "{:?}", b.error);
    assert_eq!(b.cert.as_ref().unwrap().serial, big.serial_hex);
    assert_eq!(b.cert.as_ref().unwrap().sans.len(), 1201);
    assert!(b.findings.is_empty(), "{:?}", b.findings);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn names_waiting_for_a_connection_slot_stay_bounded_by_the_concurrency() {
    // Answers come at once, handshakes never finish (a tarpit, 100 ms handshake timeout):
    // without a bound every name would be resolved long before it can connect.
    let tarpit = fleet::serve_tarpit(SocketAddr::new(ip("127.0.0.1"), 0))
        .await
        .unwrap();
    let dns = names_on_loopback("w", 24).await;
    let targets: String = (0..24)
        .map(|i| format!("w{i}.test:{}\n", tarpit.addr.port()))
        .collect();
    let resolver = dns.addr.to_string();
    let (obs, counters) = sweep_counted(
        targets,
        &[
            "--resolver",
            &resolver,
            "--concurrency",
            "2",
            "--handshake-timeout",
            "100ms",
        ],
    )
    .await;
    assert_eq!(obs.len(), 24);
    assert!(obs
        .iter()
        .all(|o| o.error_class() == Some(ErrorClass::TlsTimeout)));
    let peak = counters
        .names_waiting_peak
        .load(std::sync::atomic::Ordering::Relaxed);
    assert!((1..=2).contains(&peak), "{peak} names waited at once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stop_starts_no_connection_for_names_already_resolved() {
    use certsweep::engine::sweep::Cancel;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use tokio::io::AsyncReadExt;
    // --concurrency 3 against a server that counts connections and never answers (300 ms
    // handshake timeout). Once it holds three, the sweep is stopped: the names resolved in
    // the meantime wait for a slot that frees only when those three time out, long after
    // the stop, and must not connect then.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let connects = Arc::new(AtomicUsize::new(0));
    let (three_tx, mut three) = tokio::sync::watch::channel(false);
    let seen = connects.clone();
    let server = tokio::spawn(async move {
        loop {
            let Ok((mut tcp, _)) = listener.accept().await else {
                continue;
            };
            if seen.fetch_add(1, Ordering::SeqCst) + 1 == 3 {
                let _ = three_tx.send(true);
            }
            tokio::spawn(async move {
                let mut buf = [0u8; 1024];
                while let Ok(n) = tcp.read(&mut buf).await {
                    if n == 0 {
                        break;
                    }
                }
            });
        }
    });
    let dns = names_on_loopback("s", 12).await;
    let targets: String = (0..12).map(|i| format!("s{i}.test:{port}\n")).collect();
    let resolver = dns.addr.to_string();
    let (engine, reader) = engine_and_targets(
        targets,
        &[
            "--resolver",
            &resolver,
            "--concurrency",
            "3",
            "--handshake-timeout",
            "300ms",
        ],
    );
    let cancel = Cancel::default();
    let mut events = engine.start(reader, cancel.clone());
    three.wait_for(|t| *t).await.unwrap();
    cancel.cancel();
    let mut results = 0;
    while events.recv().await.is_some() {
        results += 1;
    }
    let n = connects.load(Ordering::SeqCst);
    assert_eq!(n, 3, "{n} connections, {results} results");
    assert_eq!(results, 3, "every endpoint started is reported");
    server.abort();
}

/// Serves one certificate but signs the handshake with another certificate's key.
#[derive(Debug)]
struct WrongKey(std::sync::Arc<rustls::sign::CertifiedKey>);

impl rustls::server::ResolvesServerCert for WrongKey {
    fn resolve(
        &self,
        _hello: rustls::server::ClientHello<'_>,
    ) -> Option<std::sync::Arc<rustls::sign::CertifiedKey>> {
        Some(self.0.clone())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_handshake_signature_fails_with_the_chain_captured() {
    use std::sync::Arc;
    // The chain arrives before the CertificateVerify that cannot be checked against it: the
    // chain is kept, the endpoint fails as tls_error, and no TLS details are claimed.
    let pki = Pki::new("Forged").unwrap();
    let shown = valid_leaf(&pki, "forged.test", 5001);
    let other = valid_leaf(&pki, "other.test", 5002);
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let key = provider
        .key_provider
        .load_private_key(other.key.clone_key())
        .unwrap();
    let forged = Arc::new(rustls::sign::CertifiedKey::new(shown.chain.clone(), key));
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(WrongKey(forged)));
    let any = SocketAddr::new(ip("127.0.0.1"), 0);
    let server = fleet::serve_config(fleet::listen(any).unwrap(), config).unwrap();
    let obs = run_sweep(format!("forged.test@{}\n", server.addr), &[]).await;
    let o = &obs[0];
    assert_eq!(o.cert.as_ref().unwrap().serial, shown.serial_hex);
    assert_eq!(o.chain.len(), 2);
    assert_eq!(o.error_class(), Some(ErrorClass::TlsError), "{:?}", o.error);
    assert!(o.tls.is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_handshake_signature_is_refused_under_a_key_with_a_table() {
    use std::sync::Arc;
    // A key checked often gets a table (src/tabled.rs); a certificate written beside the
    // old key on one node must still fail there, and the nodes holding the key still pass.
    let pki = Pki::new("Tabled").unwrap();
    let shown = valid_leaf(&pki, "pool.test", 5101);
    let old = valid_leaf(&pki, "pool.test", 5102);
    let any = SocketAddr::new(ip("127.0.0.1"), 0);
    let serve = |key: Arc<rustls::sign::CertifiedKey>| {
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(WrongKey(key)));
        fleet::serve_config(fleet::listen(any).unwrap(), config).unwrap()
    };
    let good = serve(shown.certified_key().unwrap());
    let (_, parsed) = x509_parser::parse_x509_certificate(&shown.chain[0]).unwrap();
    let key = parsed.public_key().subject_public_key.data.to_vec();
    // The pool's nodes, as many names pinned to the one server.
    let nodes = certsweep::tabled::HOT as usize + 6;
    let targets: String = (0..nodes)
        .map(|i| format!("node{i}.pool.test@{}\n", good.addr))
        .collect();
    let obs = run_sweep(targets, &[]).await;
    assert_eq!(obs.len(), nodes);
    assert!(obs.iter().all(|o| o.error.is_none()
        && o.cert
            .as_ref()
            .is_some_and(|c| c.serial == shown.serial_hex)));
    assert!(certsweep::tabled::has_table(&key));
    let old_key = old.certified_key().unwrap().key.clone();
    let forged = serve(Arc::new(rustls::sign::CertifiedKey::new(
        shown.chain.clone(),
        old_key,
    )));
    let targets = format!("pool.test@{}\npool.test@{}\n", forged.addr, good.addr);
    let obs = run_sweep(targets, &[]).await;
    let by_port = |port: u16| {
        obs.iter()
            .find(|o| o.port == port)
            .expect("a row for each server")
    };
    let o = by_port(forged.addr.port());
    assert_eq!(o.cert.as_ref().unwrap().serial, shown.serial_hex);
    assert_eq!(o.error_class(), Some(ErrorClass::TlsError), "{:?}", o.error);
    let o = by_port(good.addr.port());
    assert!(o.error.is_none(), "{:?}", o.error);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn several_ports_scan_each_target_without_one_on_every_port() {
    // A subnet's TLS services found on whichever of the usual ports they listen: a target
    // with its own port keeps it.
    let pki = Pki::new("Ports").unwrap();
    let a = valid_leaf(&pki, "a.test", 7001);
    let b = valid_leaf(&pki, "b.test", 7002);
    let here = SocketAddr::new(ip("127.0.0.7"), 0);
    let sa = fleet::serve_tls(here, &a, &[], None).await.unwrap();
    let sb = fleet::serve_tls(here, &b, &[], None).await.unwrap();
    let closed = fleet::listen(here).unwrap().local_addr().unwrap().port();
    let dir = tempfile::tempdir().unwrap();
    let t = dir.path().join("t.txt");
    std::fs::write(
        &t,
        format!("127.0.0.7\nb.test@127.0.0.7:{}\n", sb.addr.port()),
    )
    .unwrap();
    let report = dir.path().join("r.jsonl");
    let ports = format!("{},{},{closed}", sa.addr.port(), sb.addr.port());
    let cli = Cli::parse_from([
        "certsweep",
        "scan",
        "--targets",
        t.to_str().unwrap(),
        "--port",
        &ports,
        "--jsonl",
        report.to_str().unwrap(),
        "--quiet",
    ]);
    certsweep::run(cli).await.unwrap();
    let mut rows: Vec<(String, u16, String)> = std::fs::read_to_string(&report)
        .unwrap()
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            let serial = v["cert"]["serial"]
                .as_str()
                .or(v["error"]["class"].as_str())
                .unwrap_or("?")
                .to_string();
            (
                v["host"].as_str().unwrap().to_string(),
                v["port"].as_u64().unwrap() as u16,
                serial,
            )
        })
        .collect();
    rows.sort();
    let mut want = vec![
        (
            "127.0.0.7".to_string(),
            sa.addr.port(),
            a.serial_hex.clone(),
        ),
        (
            "127.0.0.7".to_string(),
            sb.addr.port(),
            b.serial_hex.clone(),
        ),
        (
            "127.0.0.7".to_string(),
            closed,
            "connect_refused".to_string(),
        ),
        ("b.test".to_string(), sb.addr.port(), b.serial_hex.clone()),
    ];
    want.sort();
    assert_eq!(rows, want);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bare_address_is_matched_against_a_certificate_that_names_addresses() {
    // Appliances (a BMC, a storage array) are reached by address and carry certificates
    // naming it; one copied to the neighbour's address fails every client there. A
    // certificate naming no address was made for names and is not judged by address.
    let pki = Pki::new("Addresses").unwrap();
    let here = SocketAddr::new(ip("127.0.0.6"), 0);
    let copied = valid_leaf(&pki, "127.0.0.5", 6001);
    let own = pki
        .issue(&LeafSpec::new(&["bmc6.test", "127.0.0.6"], 6002, 10, 80))
        .unwrap();
    let named = valid_leaf(&pki, "www.test", 6003);
    let mut servers = Vec::new();
    for leaf in [&copied, &own, &named] {
        servers.push(fleet::serve_tls(here, leaf, &[], None).await.unwrap());
    }
    let targets: String = servers.iter().map(|s| format!("{}\n", s.addr)).collect();
    let obs = run_sweep_trusting(&pki, targets).await;
    let at = |s: &fleet::Server| {
        obs.iter()
            .find(|o| o.port == s.addr.port())
            .unwrap_or_else(|| panic!("no row for {}: {obs:#?}", s.addr))
    };
    let o = at(&servers[0]);
    assert_eq!(o.sni, None);
    assert_eq!(o.findings, vec![Finding::HostnameMismatch], "{o:#?}");
    assert_eq!(
        o.trust_detail.as_deref(),
        Some("the certificate names the address 127.0.0.5 but not 127.0.0.6, where it is served: a client connecting to 127.0.0.6 refuses it")
    );
    for s in &servers[1..] {
        let o = at(s);
        assert!(o.findings.is_empty(), "{o:#?}");
    }
}

/// A server that resets the first `resets` connections it accepts and serves `leaf` on the
/// rest, telling each accept on `accepted`.
fn resetting_server(
    leaf: &fleet::Leaf,
    resets: usize,
) -> (
    SocketAddr,
    tokio::sync::watch::Receiver<usize>,
    tokio::task::JoinHandle<()>,
) {
    let acceptor =
        tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(leaf.server_config().unwrap()));
    let listener = fleet::listen(SocketAddr::new(ip("127.0.0.1"), 0)).unwrap();
    let addr = listener.local_addr().unwrap();
    let (accepted_tx, accepted) = tokio::sync::watch::channel(0usize);
    let task = tokio::spawn(async move {
        let mut n = 0;
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                continue;
            };
            n += 1;
            let _ = accepted_tx.send(n);
            if n <= resets {
                // Linger 0: the close is a reset, as from an overloaded balancer.
                socket2::SockRef::from(&tcp)
                    .set_linger(Some(std::time::Duration::ZERO))
                    .unwrap();
                drop(tcp);
                continue;
            }
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let _ = acceptor.accept(tcp).await;
            });
        }
    });
    (addr, accepted, task)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resets_are_retried_and_answers_are_not() {
    let pki = Pki::new("Retry").unwrap();
    let leaf = valid_leaf(&pki, "flaky.test", 5001);
    let (recovers, recovers_accepts, s1) = resetting_server(&leaf, 2);
    let (never, never_accepts, s2) = resetting_server(&leaf, usize::MAX);
    let refused = fleet::refused_addr(ip("127.0.0.1")).await.unwrap();
    let refused = refused.addr;
    let obs = run_sweep(
        format!("flaky.test@{recovers}\nflaky.test@{never}\nflaky.test@{refused}\n"),
        &["--retries", "2"],
    )
    .await;
    let port = |p: u16| obs.iter().find(|o| o.port == p).unwrap();

    let r = port(recovers.port());
    assert!(r.error.is_none(), "{:?}", r.error);
    assert_eq!(r.cert.as_ref().unwrap().serial, leaf.serial_hex);
    assert_eq!(r.attempts, 3);
    assert_eq!(*recovers_accepts.borrow(), 3);

    let n = port(never.port());
    let e = n.error.as_ref().unwrap();
    assert_eq!(e.class, ErrorClass::TlsError);
    assert!(
        e.message.contains("reset") && e.message.ends_with("(3 attempts)"),
        "{}",
        e.message
    );
    assert_eq!(n.attempts, 3);
    // Three tries, then one legacy handshake (reset as well).
    assert_eq!(*never_accepts.borrow(), 4);

    // A refusal is an answer: asked once.
    let f = port(refused.port());
    assert_eq!(f.error_class(), Some(ErrorClass::ConnectRefused));
    assert_eq!(f.attempts, 1);
    s1.abort();
    s2.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stop_during_the_retry_backoff_tries_no_more() {
    use certsweep::engine::sweep::Cancel;
    let pki = Pki::new("Retry stop").unwrap();
    let leaf = valid_leaf(&pki, "flaky.test", 5002);
    let (addr, accepts, server) = resetting_server(&leaf, usize::MAX);
    let (engine, reader) = engine_and_targets(format!("flaky.test@{addr}\n"), &["--retries", "5"]);
    let counters = engine.counters();
    let cancel = Cancel::default();
    let mut events = engine.start(reader, cancel.clone());
    // Stopped once the client has taken the reset and begun its backoff (the engine counts
    // the retry as the wait starts): it must not connect again.
    tokio::time::timeout(std::time::Duration::from_secs(10), async {
        while counters.retries.load(std::sync::atomic::Ordering::SeqCst) == 0 {
            tokio::task::yield_now().await;
        }
    })
    .await
    .expect("the reset was not retried");
    cancel.cancel();
    let mut kept = Vec::new();
    while let Some(e) = events.recv().await {
        if let certsweep::engine::sweep::Event::Observed(o) = e {
            kept.push(o);
        }
    }
    assert_eq!(kept.len(), 1);
    assert_eq!(kept[0].attempts, 1);
    assert_eq!(kept[0].error_class(), Some(ErrorClass::TlsError));
    assert_eq!(*accepts.borrow(), 1);
    assert_eq!(
        counters.retries.load(std::sync::atomic::Ordering::SeqCst),
        1
    );
    server.abort();
}

/// The binary as a CI job or a nightly run starts it: `--inventory` (reports written at the
/// end), one connection at a time, against a server that never answers; sent `signal` (under
/// `nohup` if asked) while the first endpoint waits for its handshake. Its output, its
/// report and how many connections the server took.
async fn signalled_sweep(signal: &str, nohup: bool) -> (std::process::Output, String, usize) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use tokio::io::AsyncReadExt;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let accepts = Arc::new(AtomicUsize::new(0));
    let (first_tx, mut first) = tokio::sync::watch::channel(false);
    let seen = accepts.clone();
    let server = tokio::spawn(async move {
        loop {
            let Ok((mut tcp, _)) = listener.accept().await else {
                continue;
            };
            seen.fetch_add(1, Ordering::SeqCst);
            let _ = first_tx.send(true);
            tokio::spawn(async move {
                let mut buf = [0u8; 1024];
                while let Ok(n) = tcp.read(&mut buf).await {
                    if n == 0 {
                        break;
                    }
                }
            });
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let targets = dir.path().join("targets.txt");
    std::fs::write(&targets, format!("a.test@{addr}\nb.test@{addr}\n")).unwrap();
    let inventory = dir.path().join("inventory.csv");
    std::fs::write(
        &inventory,
        "Certificate ID,Common Name,Serial Number,Valid From,Valid To,Status\n\
         C-1,a.test,0A01,2026-01-01T00:00:00Z,2027-01-01T00:00:00Z,Active\n\
         C-2,b.test,0A02,2026-01-01T00:00:00Z,2027-01-01T00:00:00Z,Active\n",
    )
    .unwrap();
    let report = dir.path().join("report.csv");
    let bin = env!("CARGO_BIN_EXE_certsweep");
    let mut command = match nohup {
        true => {
            let mut c = tokio::process::Command::new("nohup");
            c.arg(bin);
            c
        }
        false => tokio::process::Command::new(bin),
    };
    let child = command
        .args([
            "scan",
            "--concurrency",
            "1",
            "--handshake-timeout",
            "1s",
            "--targets",
        ])
        .arg(&targets)
        .arg("--inventory")
        .arg(&inventory)
        .arg("--report")
        .arg(&report)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    first.wait_for(|f| *f).await.unwrap();
    let out = support::stop_and_wait(child, signal).await;
    let text = std::fs::read_to_string(&report).unwrap();
    server.abort();
    (out, text, accepts.load(Ordering::SeqCst))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_stops_new_connections_and_the_reports_are_still_written() {
    // SIGTERM (a CI job's timeout) arrives while the first endpoint waits: the second must
    // not start, and the first must still be judged and written.
    let (out, text, accepts) = signalled_sweep("TERM", false).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    // Nothing judged failed, but the sweep did not finish: no pass (it exited 0).
    assert_eq!(out.status.code(), Some(143), "{stderr}");
    assert!(stderr.contains("SIGTERM: stopping"), "{stderr}");
    assert!(stderr.contains("interrupted"), "{stderr}");
    let rows: Vec<&str> = text.lines().skip(1).collect();
    assert_eq!(rows.len(), 1, "{text}");
    assert!(
        rows[0].contains("a.test") && rows[0].contains("unreachable"),
        "{text}"
    );
    assert_eq!(accepts, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_stops_as_sigterm_does_unless_nohup_ignores_it() {
    // The SSH session of a long sweep drops: SIGHUP. By its default action every verdict
    // was lost (the report stayed empty); it now stops the sweep as SIGTERM does.
    let (out, text, accepts) = signalled_sweep("HUP", false).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(129), "{stderr}");
    assert!(stderr.contains("SIGHUP: stopping"), "{stderr}");
    let rows: Vec<&str> = text.lines().skip(1).collect();
    assert_eq!(rows.len(), 1, "{text}");
    assert!(rows[0].contains("a.test"), "{text}");
    assert_eq!(accepts, 1);
    // Started under nohup, the run was asked to outlive its terminal: it goes on to the end.
    let (out, text, accepts) = signalled_sweep("HUP", true).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("stopping"), "{stderr}");
    assert_eq!(text.lines().skip(1).count(), 2, "{text}");
    assert_eq!(accepts, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_per_endpoint_deadline_cuts_a_hang_and_a_retry_that_would_pass_it() {
    use std::sync::atomic::Ordering;
    // A silent server with a long handshake timeout: the hard deadline ends the endpoint.
    let tarpit = fleet::serve_tarpit(SocketAddr::new(ip("127.0.0.1"), 0))
        .await
        .unwrap();
    let obs = run_sweep(
        format!("slow.test@{}\n", tarpit.addr),
        &["--handshake-timeout", "30s", "--deadline", "300ms"],
    )
    .await;
    let e = obs[0].error.as_ref().unwrap();
    assert_eq!(e.class, ErrorClass::TlsTimeout);
    assert!(
        e.message.contains("per-endpoint deadline of 300ms"),
        "{}",
        e.message
    );

    // Resets retried under a 2 s deadline: after the first (0.4 s) and second (0.8 s)
    // backoffs a third try is made; the third backoff (1.6 s) would pass the deadline, so the
    // third reset is the result, not a deadline message, and no fourth try is made.
    let pki = Pki::new("Deadline").unwrap();
    let leaf = valid_leaf(&pki, "flaky.test", 5003);
    let (addr, accepts, server) = resetting_server(&leaf, usize::MAX);
    let (obs, counters) = sweep_counted(
        format!("flaky.test@{addr}\n"),
        &["--retries", "5", "--deadline", "2s"],
    )
    .await;
    let e = obs[0].error.as_ref().unwrap();
    assert_eq!(e.class, ErrorClass::TlsError);
    assert!(
        e.message.contains("reset") && e.message.ends_with("(3 attempts)"),
        "{}",
        e.message
    );
    assert_eq!(obs[0].attempts, 3);
    assert_eq!(counters.retries.load(Ordering::SeqCst), 2);
    // And the legacy handshake, made within the deadline.
    assert_eq!(*accepts.borrow(), 4);
    server.abort();
}

#[test]
fn a_list_with_no_usable_target_is_an_input_error() {
    // In a pipeline an empty list is a broken upstream export, not a clean sweep: it used
    // to exit 0 with "0 endpoints"; a directory passed as the list used to be "a bad line".
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.txt");
    std::fs::write(&empty, "# nothing deployed yet\n\n").unwrap();
    let bad = dir.path().join("bad.txt");
    std::fs::write(&bad, "host.example:0\n300.1.2.3\n").unwrap();
    for (list, says) in [
        (empty.as_path(), "nothing to scan"),
        (bad.as_path(), "2 bad line(s) and nothing else"),
        (dir.path(), "is a directory"),
    ] {
        let out = run_certsweep(&[&"scan", &"--quiet", &"--targets", &list], None);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{}: {stderr}", list.display());
        assert!(stderr.contains(says), "{}: {stderr}", list.display());
    }
    // Every target on the do-not-scan list: the list was not empty, and is not said to be.
    let listed = dir.path().join("listed.txt");
    std::fs::write(&listed, "www.example.com\n192.0.2.1\n").unwrap();
    let exclude = dir.path().join("exclude.txt");
    std::fs::write(&exclude, "*.example.com\n192.0.2.0/24\n").unwrap();
    let out = run_certsweep(
        &[
            &"scan",
            &"--quiet",
            &"--targets",
            &listed,
            &"--exclude",
            &exclude,
        ],
        None,
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("is on the --exclude list (1 by name, 1 by address): nothing scanned"),
        "{stderr}"
    );
    // The same when the sweep is judged against records.
    let inventory = concat!(env!("CARGO_MANIFEST_DIR"), "/targets/inventory-generic.csv");
    let out = run_certsweep(
        &[
            &"scan",
            &"--quiet",
            &"--inventory",
            &inventory,
            &"--targets",
            &empty,
        ],
        None,
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("nothing to scan"), "{stderr}");
}

#[test]
fn a_report_over_an_input_is_refused_before_it_is_written() {
    // A report named as the target list: creating it emptied the list before it was read.
    let dir = tempfile::tempdir().unwrap();
    let list = dir.path().join("hosts.txt");
    std::fs::write(&list, "127.0.0.1:1\n").unwrap();
    let out = run_certsweep(
        &[&"scan", &"--quiet", &"--targets", &list, &"--report", &list],
        None,
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("is the --targets file"), "{stderr}");
    assert_eq!(std::fs::read_to_string(&list).unwrap(), "127.0.0.1:1\n");
}

#[test]
fn a_report_that_cannot_be_written_is_given_up_and_the_sweep_goes_on() {
    // /dev/full takes the file's opening and refuses every write (ENOSPC): a disk filling
    // during a nightly sweep. The other report, the summary and every endpoint remain.
    if !std::path::Path::new("/dev/full").exists() {
        eprintln!("skipped: no /dev/full");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let list = dir.path().join("hosts.txt");
    let (a, b) = (refused_addr(), refused_addr());
    std::fs::write(&list, format!("a.test@{a}\nb.test@{b}\n")).unwrap();
    // Each run: its exit code (3: not everything asked for was written) and its stderr.
    let run = |more: &[&dyn AsRef<std::ffi::OsStr>]| {
        let mut argv: Vec<&dyn AsRef<std::ffi::OsStr>> = vec![&"scan", &"--targets", &list];
        argv.extend_from_slice(more);
        let out = run_certsweep(&argv, None);
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(out.status.code(), Some(3), "{stderr}");
        stderr
    };
    let lines = |p: &std::path::Path| std::fs::read_to_string(p).unwrap().lines().count();
    let jsonl = dir.path().join("out.jsonl");
    let stderr = run(&[&"--report", &"/dev/full", &"--jsonl", &jsonl]);
    assert!(
        stderr.contains("writing /dev/full: No space left on device")
            && stderr.contains("given up")
            && stderr.contains("2 endpoints, 0 certificates"),
        "{stderr}"
    );
    assert_eq!(lines(&jsonl), 2);
    // Under --quiet too the exit code and the line saying so.
    let stderr = run(&[&"--quiet", &"--jsonl", &"/dev/full"]);
    assert!(stderr.contains("writing /dev/full"), "{stderr}");
    // The JUnit file alike, the scan report whole.
    let report = dir.path().join("scan.csv");
    let stderr = run(&[&"--junit", &"/dev/full", &"--report", &report]);
    assert!(
        stderr.contains("outputs: writing /dev/full") && stderr.contains("2 endpoints"),
        "{stderr}"
    );
    assert_eq!(lines(&report), 3);
    // Against records, whose reports are written once every endpoint is judged: the
    // compliance report given up, the verdicts' JSON lines and the records report whole.
    let inventory = format!("{}/targets/fullchain.pem", env!("CARGO_MANIFEST_DIR"));
    let records = dir.path().join("records.csv");
    let stderr = run(&[
        &"--inventory",
        &inventory,
        &"--report",
        &"/dev/full",
        &"--jsonl",
        &jsonl,
        &"--records-report",
        &records,
    ]);
    assert!(
        stderr.contains("outputs: writing /dev/full") && stderr.contains("status: unreachable 2"),
        "{stderr}"
    );
    assert_eq!(lines(&jsonl), 2);
    assert!(lines(&records) > 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_private_cas_openssl_database_is_the_record_the_nodes_are_judged_against() {
    // `openssl ca` (EasyRSA) keeps no other record than its index.txt: a node still serving
    // the certificate the CA renewed, one serving what it revoked, one serving the newest.
    let pki = Pki::new("EasyRSA").unwrap();
    let leaf = |name: &str, serial: u64, days_left: i64| {
        pki.issue(&LeafSpec::new(&[name], serial, 10, days_left))
            .unwrap()
    };
    let (a_old, a_new) = (leaf("a.test", 0x7001, 30), leaf("a.test", 0x7002, 400));
    let b = leaf("b.test", 0x7003, 200);
    let c = leaf("c.test", 0x7004, 300);
    let server = fleet::serve_tls(
        SocketAddr::new(ip("127.0.0.1"), 0),
        &c,
        &[("a.test", &a_old), ("b.test", &b)],
        None,
    )
    .await
    .unwrap();
    let asn1 = |t: time::OffsetDateTime| {
        t.format(time::macros::format_description!(
            "[year repr:last_two][month][day][hour][minute][second]Z"
        ))
        .unwrap()
    };
    let line = |status: &str, leaf: &fleet::Leaf, revoked: &str, name: &str| {
        format!(
            "{status}\t{}\t{revoked}\t{}\tunknown\t/C=US/O=Test/CN={name}\n",
            asn1(leaf.not_after),
            leaf.serial_hex
        )
    };
    let dir = tempfile::tempdir().unwrap();
    let index = dir.path().join("index.txt");
    let database = [
        line("V", &a_old, "", "a.test"),
        line("R", &b, "260101000000Z,keyCompromise", "b.test"),
        // Not a database line: named, counted, and the rest still read.
        "V\tsoon\t\t01\tunknown\t/CN=x.test\n".to_string(),
        line("V", &c, "", "c.test"),
        line("V", &a_new, "", "a.test"),
    ]
    .concat();
    std::fs::write(&index, database).unwrap();
    let targets = dir.path().join("targets.txt");
    let at = server.addr;
    std::fs::write(&targets, format!("a.test@{at}\nb.test@{at}\nc.test@{at}\n")).unwrap();
    let report = dir.path().join("report.csv");
    let ca = root_file(&pki, &dir);
    let out = run_certsweep_owned(
        [
            "scan",
            "--quiet",
            "--no-public-roots",
            "--ca-file",
            &ca,
            "--targets",
            targets.to_str().unwrap(),
            "--inventory",
            index.to_str().unwrap(),
            "--report",
            report.to_str().unwrap(),
        ]
        .map(String::from)
        .to_vec(),
    )
    .await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("index.txt:3: field expiration date: date \"soon\""),
        "{stderr}"
    );
    let mut rows = csv::Reader::from_path(&report).unwrap();
    let rows: HashMap<String, HashMap<String, String>> = rows
        .deserialize::<HashMap<String, String>>()
        .map(|r| {
            let r = r.unwrap();
            (r["host"].clone(), r)
        })
        .collect();
    let row = |host: &str| {
        let r = &rows[host];
        (
            r["status"].as_str(),
            r["serial"].as_str(),
            r["expected_serial"].as_str(),
        )
    };
    assert_eq!(
        row("a.test"),
        (
            "renewed_not_deployed",
            a_old.serial_hex.as_str(),
            a_new.serial_hex.as_str()
        )
    );
    assert_eq!(row("b.test").0, "revoked");
    assert!(
        rows["b.test"]["detail"].contains("revoked 2026-01-01T00:00:00Z (keyCompromise)"),
        "{:?}",
        rows["b.test"]
    );
    assert_eq!(
        row("c.test"),
        ("current", c.serial_hex.as_str(), c.serial_hex.as_str())
    );
    assert_eq!(
        rows["c.test"]["record_id"],
        format!("{}:4", index.display())
    );
}

#[test]
fn several_inventories_ca_files_and_lists_follow_one_flag_as_a_shell_glob_gives_them() {
    // `--inventory pages/*.json` was refused for its second file ("unexpected argument").
    let sample = |f: &str| format!("{}/targets/{f}", env!("CARGO_MANIFEST_DIR"));
    let (generic, pem) = (sample("inventory-generic.csv"), sample("fullchain.pem"));
    let (p12, exclude_txt, exclude_csv) = (
        sample("fullchain.p12"),
        sample("exclude.txt"),
        sample("exclude.csv"),
    );
    let dir = tempfile::tempdir().unwrap();
    let targets = dir.path().join("t.txt");
    // A refused port on loopback: nothing else is asked.
    std::fs::write(&targets, "127.0.0.1:1\n").unwrap();
    for command in ["scan", "dcv"] {
        let listing: &[&dyn AsRef<std::ffi::OsStr>] = match command {
            // So do CA files and do-not-scan lists.
            "scan" => &[
                &"--targets",
                &targets,
                &"--ca-file",
                &pem,
                &p12,
                &"--exclude",
                &exclude_txt,
                &exclude_csv,
            ],
            _ => &[&"--resolver", &"127.0.0.1:9", &"--dns-timeout", &"100ms"],
        };
        let mut args: Vec<&dyn AsRef<std::ffi::OsStr>> =
            vec![&command, &"--inventory", &generic, &pem];
        args.extend_from_slice(listing);
        let out = run_certsweep(&args, None);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            !stderr.contains("unexpected argument"),
            "{command}: {stderr}"
        );
        if command == "scan" {
            assert!(stderr.contains("records: 3 read"), "{stderr}");
        }
    }
    // A directory is named with the way to give its files.
    let out = run_certsweep(&[&"scan", &"--inventory", &dir.path()], None);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("it is a directory: give the exports in it (`--inventory "),
        "{stderr}"
    );
}

#[test]
fn an_inventory_given_as_the_target_list_or_the_reverse_is_told_which_flag_takes_it() {
    // The export or the certificate passed with --targets: each line was a bad target (a
    // PEM's base64 lines could even pass for host names and be looked up), and the fix, one
    // flag away, was not said.
    let sample = |f: &str| format!("{}/targets/{f}", env!("CARGO_MANIFEST_DIR"));
    for (file, says, lines_read) in [
        ("fullchain.pem", "it holds PEM certificates", false),
        ("fullchain.p12", "it is a PKCS#12 store", false),
        ("certinext-orders.json", "it is JSON", false),
        (
            "openssl-index.txt",
            "it is an OpenSSL CA database (index.txt)",
            false,
        ),
        (
            "inventory-generic.csv",
            "its header names a serial number column",
            true,
        ),
    ] {
        let list = sample(file);
        let out = run_certsweep(&[&"scan", &"--quiet", &"--targets", &list], None);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{file}: {stderr}");
        assert!(stderr.contains(says), "{file}: {stderr}");
        assert!(
            stderr.contains("a certificate inventory is given with --inventory"),
            "{file}: {stderr}"
        );
        // Refused before any line was taken for a target, or after all were refused.
        assert_eq!(stderr.contains("skipped"), lines_read, "{file}: {stderr}");
    }
    // And the other way round: a target list given as the inventory.
    for file in ["sample.txt", "sample.csv"] {
        let list = sample(file);
        let out = run_certsweep(&[&"scan", &"--quiet", &"--inventory", &list], None);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{file}: {stderr}");
        assert!(
            stderr.contains(&format!(
                "{list} reads as a target list: a target list is given with --targets"
            )),
            "{file}: {stderr}"
        );
    }
    let exclusions = sample("exclude.txt");
    let out = run_certsweep(&[&"scan", &"--quiet", &"--inventory", &exclusions], None);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(!stderr.contains("--targets"), "{stderr}");
    let dir = tempfile::tempdir().unwrap();
    // A list opening with a bracketed IPv6 address is a list.
    let v6 = dir.path().join("v6.txt");
    std::fs::write(&v6, "[::1]:1\n").unwrap();
    let out = run_certsweep(&[&"scan", &"--quiet", &"--targets", &v6], None);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A server's certificate that can be replaced while it runs, as a deployment does.
#[derive(Debug)]
struct Replaceable(std::sync::RwLock<std::sync::Arc<rustls::sign::CertifiedKey>>);

impl rustls::server::ResolvesServerCert for Replaceable {
    fn resolve(
        &self,
        _: rustls::server::ClientHello<'_>,
    ) -> Option<std::sync::Arc<rustls::sign::CertifiedKey>> {
        self.0.read().ok().map(|k| k.clone())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wait_sweeps_again_until_the_deployed_certificate_is_served() {
    // A pipeline checks the node against the certificate it just deployed, while the node
    // still serves the old one (not reloaded yet): exit 1 would fail the job. With --wait
    // the check sweeps again; once the node serves the new certificate it passes.
    let pki = Pki::new("Wait").unwrap();
    let old = valid_leaf(&pki, "w.test", 0x71);
    let new = valid_leaf(&pki, "w.test", 0x72);
    let served = std::sync::Arc::new(Replaceable(std::sync::RwLock::new(
        old.certified_key().unwrap(),
    )));
    let config = rustls::ServerConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_cert_resolver(served.clone());
    let server = fleet::serve_config(
        fleet::listen(SocketAddr::new(ip("127.0.0.1"), 0)).unwrap(),
        config,
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("root.pem");
    std::fs::write(&ca, pki.root_pem()).unwrap();
    let deployed = dir.path().join("deployed.pem");
    std::fs::write(
        &deployed,
        pem::encode(&pem::Pem::new("CERTIFICATE", new.chain[0].to_vec())),
    )
    .unwrap();
    let report = dir.path().join("report.csv");
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_certsweep"))
        .args([
            "scan",
            "--quiet",
            "--targets",
            "-",
            "--fail-on",
            "unmanaged",
        ])
        .args(["--wait", "12s", "--ca-file"])
        .arg(&ca)
        .arg("--inventory")
        .arg(&deployed)
        .arg("--report")
        .arg(&report)
        .stdin(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    {
        use tokio::io::AsyncWriteExt;
        let mut stdin = child.stdin.take().unwrap();
        let line = format!("w.test@{}\n", server.addr);
        stdin.write_all(line.as_bytes()).await.unwrap();
    }
    // The first sweep finds the old certificate and says it will sweep again: the
    // deployment reaches the node then.
    let stderr = child.stderr.take().unwrap();
    let mut lines = tokio::io::AsyncBufReadExt::lines(tokio::io::BufReader::new(stderr));
    let said = loop {
        let line = lines
            .next_line()
            .await
            .unwrap()
            .expect("stderr ended first");
        if line.contains("running again") {
            break line;
        }
    };
    assert!(said.contains("--wait: "), "{said}");
    *served.0.write().unwrap() = new.certified_key().unwrap();
    let status = tokio::time::timeout(std::time::Duration::from_secs(60), child.wait())
        .await
        .expect("the sweeps did not end")
        .unwrap();
    assert_eq!(status.code(), Some(0));
    let text = std::fs::read_to_string(&report).unwrap();
    assert!(text.contains(&new.serial_hex), "{text}");
    assert!(!text.contains(&old.serial_hex), "{text}");
    // Reports to standard output would repeat with each sweep.
    let out = run_certsweep(
        &[
            &"scan",
            &"--targets",
            &"-",
            &"--wait",
            &"5s",
            &"--report",
            &"-",
        ],
        Some("x.test\n"),
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--wait runs more than once"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_inventory_sweep_leaves_the_verdicts_it_had_decided() {
    // SIGKILL (an out-of-memory kill, a CI runner torn down) cannot be caught: the reports of
    // --inventory, written at the end, never come. The verdicts decided so far must still be
    // on disk next to the report; before, they were in an unnamed file and died with it.
    let refused = refused_addr();
    let tarpit = fleet::serve_tarpit(SocketAddr::new(ip("127.0.0.1"), 0))
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let targets = dir.path().join("targets.txt");
    std::fs::write(
        &targets,
        format!("a.test@{refused}\nb.test@{}\n", tarpit.addr),
    )
    .unwrap();
    let inventory = dir.path().join("inventory.csv");
    std::fs::write(
        &inventory,
        "Certificate ID,Common Name,Serial Number,Valid From,Valid To,Status\n\
         C-1,a.test,0A01,2026-01-01T00:00:00Z,2027-01-01T00:00:00Z,Active\n",
    )
    .unwrap();
    let report = dir.path().join("report.csv");
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_certsweep"))
        .args(["scan", "--quiet", "--concurrency", "1"])
        .args(["--handshake-timeout", "60s", "--targets"])
        .arg(&targets)
        .arg("--inventory")
        .arg(&inventory)
        .arg("--report")
        .arg(&report)
        .spawn()
        .unwrap();
    let partial = || {
        std::fs::read_dir(dir.path())
            .unwrap()
            .filter_map(|e| e.ok().map(|e| e.path()))
            .find(|p| p.to_string_lossy().ends_with(".partial.jsonl"))
    };
    // a.test is judged at once (refused); b.test then hangs on the silent server. Wait for
    // a.test's verdict in the file (a condition, with a bound), then kill.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let text = loop {
        let text = partial()
            .and_then(|p| std::fs::read_to_string(p).ok())
            .unwrap_or_default();
        if text.contains("\"a.test\"") {
            break text;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no verdict in the spill file"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    child.start_kill().unwrap();
    let status = child.wait().await.unwrap();
    assert!(!status.success());
    // The report's rows come only at the end: at most its header is there.
    let rows = std::fs::read_to_string(&report).unwrap_or_default();
    assert!(rows.lines().count() <= 1, "{rows}");
    let kept = partial().expect("the spill file went with the process");
    assert!(kept
        .file_name()
        .unwrap()
        .to_string_lossy()
        .starts_with("report.csv."));
    let v: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    assert_eq!(v["observation"]["host"], "a.test");
    assert_eq!(v["status"], "unreachable");
    assert_eq!(v["expected"]["record_id"], "C-1");
    // A sweep that ends normally leaves no such file behind.
    let out = run_certsweep(
        &[
            &"scan",
            &"--quiet",
            &"--targets",
            &targets,
            &"--handshake-timeout",
            &"200ms",
            &"--inventory",
            &inventory,
            &"--report",
            &dir.path().join("second.csv"),
        ],
        None,
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("second.csv.") && n.ends_with(".partial.jsonl"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

/// SERVFAIL to every AAAA question, as some corporate resolvers and firewalls do.
fn aaaa_fails(request: &hickory_server::server::Request) -> support::dcvfix::Act {
    use hickory_server::proto::rr::RecordType;
    let aaaa = request
        .request_info()
        .is_ok_and(|i| i.query.query_type() == RecordType::AAAA);
    if aaaa {
        support::dcvfix::Act::Servfail(None)
    } else {
        support::dcvfix::Act::Answer
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_name_whose_aaaa_question_fails_is_counted_in_the_summary() {
    use hickory_server::proto::rr::rdata::{A, AAAA};
    use hickory_server::proto::rr::{LowerName, Name, RData, Record};
    use hickory_server::store::in_memory::InMemoryZoneHandler;
    use hickory_server::zone_handler::{AxfrPolicy, Catalog, ZoneType};
    use std::str::FromStr;
    // The A address is scanned; the AAAA address cannot become a row, so the summary says
    // so (before, nothing did).
    let origin = Name::from_str("half.test.").unwrap();
    let zone = InMemoryZoneHandler::<hickory_server::net::runtime::TokioRuntimeProvider>::empty(
        origin.clone(),
        ZoneType::Primary,
        AxfrPolicy::Deny,
    );
    let dual = Name::from_str("dual.half.test.").unwrap();
    for data in [
        RData::A(A("127.0.0.1".parse().unwrap())),
        RData::AAAA(AAAA("::1".parse().unwrap())),
    ] {
        zone.upsert(Record::from_rdata(dual.clone(), 60, data), 1)
            .await;
    }
    let mut catalog = Catalog::new();
    catalog.upsert(LowerName::new(&origin), vec![std::sync::Arc::new(zone)]);
    let (resolver, _server) = support::dcvfix::filtered_here(catalog, Box::new(aaaa_fails));
    let refused = refused_addr().port();
    let dir = tempfile::tempdir().unwrap();
    let targets = dir.path().join("targets.txt");
    std::fs::write(&targets, format!("dual.half.test:{refused}\n")).unwrap();
    let out = tokio::task::spawn_blocking(move || {
        let resolver = resolver.to_string();
        run_certsweep(
            &[
                &"scan",
                &"--resolver",
                &resolver,
                &"--targets",
                &targets,
                &"--jsonl",
                &"-",
            ],
            None,
        )
    })
    .await
    .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let rows: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 1, "{stdout}");
    assert_eq!(rows[0]["ip"], "127.0.0.1");
    assert!(
        stderr.contains("dns: 1 name answered for one address family only"),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_name_failing_dnssec_says_so_in_its_dns_error() {
    use support::dcvfix::{a, validating_here, Zone};
    // A validating resolver answers SERVFAIL with Extended DNS Error 7: the row says why,
    // so the zone's DNSSEC is looked at, not the resolver.
    let zones = [Zone {
        origin: "example.net.",
        serial: 1,
        records: vec![a("bad.example.net.", [127, 0, 0, 1])],
    }];
    let (resolver, _server) = validating_here(&zones, &["bad.example.net."], &[]).await;
    let out = tokio::task::spawn_blocking(move || {
        let resolver = resolver.to_string();
        run_certsweep(
            &[
                &"scan",
                &"--resolver",
                &resolver,
                &"--jsonl",
                &"-",
                &"--targets",
                &"-",
            ],
            Some("bad.example.net\n"),
        )
    })
    .await
    .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let row: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&out.stdout).trim()).unwrap();
    assert_eq!(row["error"]["class"], "dns_error");
    assert_eq!(
        row["error"]["message"],
        "lookup of bad.example.net failed: the resolver answered Server Failure (Extended DNS Error 7 Signature Expired (RRSIG expired 2026-01-01))"
    );
}

#[test]
fn strict_reads_a_list_from_standard_input_once_and_scans_it() {
    // --strict checked the lines by reading standard input, and the sweep then found it
    // empty: `cat list | certsweep scan --targets - --strict` scanned nothing and exited 0.
    let refused = refused_addr();
    let run = |input: String| {
        run_certsweep(
            &[&"scan", &"--strict", &"--targets", &"-", &"--jsonl", &"-"],
            Some(&input),
        )
    };
    let out = run(format!("# from a pipe\n{refused}\n"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let rows: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 1, "{stderr}");
    assert_eq!(rows[0]["error"]["class"], "connect_refused");
    // A bad line still refuses the whole list, naming the line.
    let out = run(format!("{refused}\n127.0.0.1:0\n"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("-:2: bad port \"0\""), "{stderr}");
}

#[test]
fn a_status_word_nobody_uses_is_told_with_how_to_map_it() {
    // "Zombie" on a record with a certificate: read as pending (not a renewal), and said
    // so; a word the map names is not.
    let (dir, targets) = refused_target();
    let inventory = dir.path().join("inv.csv");
    std::fs::write(
        &inventory,
        "Certificate ID,Common Name,Serial Number,Valid To,Status\n\
         C-1,a.test,0A01,2027-01-01,Zombie\n\
         C-2,a.test,0A02,2027-02-01,Zombie\n\
         C-3,a.test,0A03,2027-03-01,Live\n\
         C-4,a.test,,,Nobody Knows\n",
    )
    .unwrap();
    let map = dir.path().join("map.toml");
    std::fs::write(&map, "[status]\n\"Live\" = \"issued\"\n").unwrap();
    let args: [&dyn AsRef<std::ffi::OsStr>; 7] = [
        &"scan",
        &"--targets",
        &targets,
        &"--inventory",
        &inventory,
        &"--inventory-map",
        &map,
    ];
    let out = run_certsweep(&args, None);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains(
            "status \"Zombie\" (2 record(s) with a certificate) is no word certsweep knows"
        ),
        "{stderr}"
    );
    assert!(!stderr.contains("\"Live\""), "{stderr}");
    // A row without a certificate is pending whatever its word: nothing to tell.
    assert!(!stderr.contains("Nobody Knows"), "{stderr}");
}

#[test]
fn bad_inventory_rows_past_those_shown_are_counted_aloud() {
    // 60 bad rows and one good: the first 50 are named, the other 10 said to exist.
    let (_dir, targets) = refused_target();
    let mut inventory = String::from("Certificate ID,Common Name,Serial Number,Valid To\n");
    for i in 0..60 {
        inventory.push_str(&format!("C-{i},a.test,XYZ{i},2027-01-01\n"));
    }
    inventory.push_str("C-60,a.test,0A01,2027-01-01\n");
    let out = run_certsweep(
        &[&"scan", &"--inventory", &"-", &"--targets", &targets],
        Some(&inventory),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_eq!(stderr.matches("inventory: skipped").count(), 50, "{stderr}");
    assert!(
        stderr.contains("inventory: 10 more rows skipped, not shown"),
        "{stderr}"
    );
    assert!(stderr.contains("1 read, 60 rows skipped"), "{stderr}");
}

#[test]
fn an_inventory_can_be_piped_on_standard_input() {
    // `curl <platform API> | certsweep scan --inventory - ...`: before, `-` was looked up as
    // a file named "-" ("cannot read").
    let (dir, targets) = refused_target();
    let report = dir.path().join("report.csv");
    let inventory = "Certificate ID,Common Name,Serial Number,Valid From,Valid To,Status\n\
                     C-1,a.test,0A01,2026-01-01T00:00:00Z,2027-01-01T00:00:00Z,Active\n";
    let out = run_certsweep(
        &[
            &"scan",
            &"--inventory",
            &"-",
            &"--targets",
            &targets,
            &"--report",
            &report,
        ],
        Some(inventory),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("records: 1 read"), "{stderr}");
    let text = std::fs::read_to_string(&report).unwrap();
    assert!(text.contains("a.test") && text.contains("C-1"), "{text}");
    // Standard input cannot feed two inputs.
    let out = run_certsweep(
        &[&"scan", &"--inventory", &"-", &"--targets", &"-"],
        Some(inventory),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("--targets - and --inventory - would all read standard input"),
        "{stderr}"
    );
}

/// An issuer for [`openssl_cert`]: its certificate and key.
type OpensslIssuer<'a> = Option<(
    &'a openssl::x509::X509,
    &'a openssl::pkey::PKey<openssl::pkey::Private>,
)>;

/// A certificate made with OpenSSL, for keys rcgen does not make: `key`'s, for `name` (a
/// CA when `name` is None), signed by `issuer` (self-signed when None) with `digest`.
fn openssl_cert(
    name: Option<&str>,
    serial_hex: &str,
    key: &openssl::pkey::PKey<openssl::pkey::Private>,
    issuer: OpensslIssuer<'_>,
    digest: openssl::hash::MessageDigest,
) -> openssl::x509::X509 {
    let cn = name.unwrap_or("certsweep OpenSSL test CA");
    openssl_cert_named(cn, name.is_some(), serial_hex, key, issuer, digest, &[])
}

/// A certificate extension for [`openssl_cert_named`]: its OID, whether it is critical,
/// and its value's DER.
type ExtraExtension<'a> = (&'a str, bool, &'a [u8]);

/// [`openssl_cert`] with the subject's CN given: a leaf for `cn` when `leaf`, else a CA
/// of that name.
fn openssl_cert_named(
    cn: &str,
    leaf: bool,
    serial_hex: &str,
    key: &openssl::pkey::PKey<openssl::pkey::Private>,
    issuer: OpensslIssuer<'_>,
    digest: openssl::hash::MessageDigest,
    extra: &[ExtraExtension<'_>],
) -> openssl::x509::X509 {
    use openssl::{asn1, bn, x509};
    let mut subject = x509::X509NameBuilder::new().unwrap();
    subject.append_entry_by_text("CN", cn).unwrap();
    let subject = subject.build();
    let mut b = x509::X509Builder::new().unwrap();
    b.set_version(2).unwrap();
    let serial = bn::BigNum::from_hex_str(serial_hex).unwrap();
    b.set_serial_number(&serial.to_asn1_integer().unwrap())
        .unwrap();
    b.set_subject_name(&subject).unwrap();
    b.set_issuer_name(issuer.map_or(&*subject, |(c, _)| c.subject_name()))
        .unwrap();
    b.set_pubkey(key).unwrap();
    b.set_not_before(&asn1::Asn1Time::days_from_now(0).unwrap())
        .unwrap();
    b.set_not_after(&asn1::Asn1Time::days_from_now(30).unwrap())
        .unwrap();
    match leaf.then_some(cn) {
        Some(name) => {
            let san = x509::extension::SubjectAlternativeName::new()
                .dns(name)
                .build(&b.x509v3_context(issuer.map(|(c, _)| &**c), None))
                .unwrap();
            b.append_extension(san).unwrap();
            // As a CA's server template sets it (Apple's platforms refuse a server
            // certificate without it).
            let eku = x509::extension::ExtendedKeyUsage::new()
                .server_auth()
                .build()
                .unwrap();
            b.append_extension(eku).unwrap();
        }
        None => {
            let ca = x509::extension::BasicConstraints::new()
                .critical()
                .ca()
                .build()
                .unwrap();
            b.append_extension(ca).unwrap();
            // Unless the test gives its own.
            if !extra.iter().any(|(oid, ..)| *oid == "2.5.29.15") {
                let usage = x509::extension::KeyUsage::new()
                    .critical()
                    .key_cert_sign()
                    .build()
                    .unwrap();
                b.append_extension(usage).unwrap();
            }
        }
    }
    for (oid, critical, der) in extra {
        let oid = asn1::Asn1Object::from_str(oid).unwrap();
        let value = asn1::Asn1OctetString::new_from_bytes(der).unwrap();
        b.append_extension(x509::X509Extension::new_from_der(&oid, *critical, &value).unwrap())
            .unwrap();
    }
    b.sign(issuer.map_or(key, |(_, k)| k), digest).unwrap();
    b.build()
}

/// A self-signed certificate for `name` with a PSS-only RSA key (id-RSASSA-PSS), as
/// `openssl req -newkey rsa-pss` makes; its serial in canonical hex.
fn pss_self_signed(
    name: &str,
) -> (
    openssl::x509::X509,
    openssl::pkey::PKey<openssl::pkey::Private>,
    String,
) {
    use openssl::{hash, pkey, pkey_ctx};
    let mut ctx = pkey_ctx::PkeyCtx::new_id(pkey::Id::RSA_PSS).unwrap();
    ctx.keygen_init().unwrap();
    ctx.set_rsa_keygen_bits(2048).unwrap();
    let key = ctx.keygen().unwrap();
    let cert = openssl_cert(
        Some(name),
        "5A5A0001",
        &key,
        None,
        hash::MessageDigest::sha256(),
    );
    (cert, key, "5A5A0001".to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pss_only_rsa_key_is_captured_with_its_handshake_signature_checked() {
    // Such a server signs only with rsa_pss_pss_*, which webpki does not check: without
    // offering them the handshake failed and the certificate was never seen.
    let (cert, key, serial) = pss_self_signed("pss.test");
    let v13 = openssl::ssl::SslVersion::TLS1_3;
    let addr = openssl_server_chain(&[cert], &key, (v13, v13), None);
    let obs = run_sweep(format!("pss.test@127.0.0.1:{}\n", addr.port()), &[]).await;
    let o = &obs[0];
    assert!(o.error.is_none(), "{:?}", o.error);
    let c = o.cert.as_ref().unwrap();
    assert_eq!(c.serial, serial);
    assert_eq!((c.key_type.as_str(), c.key_bits), ("RSA-PSS", 2048));
    assert_eq!(o.tls.as_ref().unwrap().version, "TLSv1.3");
    // IANA's name, which compliance policies list (rustls calls it TLS13_AES_128_GCM_SHA256).
    assert_eq!(
        o.tls.as_ref().unwrap().cipher_suite,
        "TLS_AES_128_GCM_SHA256"
    );
    // Spoken, and told as a key Chrome cannot use.
    assert_eq!(
        o.findings,
        [
            certsweep::model::Finding::SelfSigned,
            certsweep::model::Finding::KeyTypeUnsupported
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stapled_ocsp_responses_are_read_matched_checked_and_judged() {
    use certsweep::fleet::StapleSays;
    let pki = Pki::new("Staple").unwrap();
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let day = 86_400;
    let leaf =
        |serial: u64, name: &str| pki.issue(&LeafSpec::new(&[name], serial, 10, 80)).unwrap();
    let mut good = leaf(0x51, "good.test");
    good.ocsp = Some(
        pki.staple(&good, StapleSays::Good, now - 3600, now + 3 * day)
            .unwrap(),
    );
    let mut revoked = leaf(0x52, "revoked.test");
    revoked.ocsp = Some(
        pki.staple(
            &revoked,
            StapleSays::Revoked(now - 7200),
            now - 3600,
            now + day,
        )
        .unwrap(),
    );
    let mut stale = leaf(0x53, "stale.test");
    stale.ocsp = Some(
        pki.staple(&stale, StapleSays::Good, now - 10 * day, now - day)
            .unwrap(),
    );
    // The staple of a certificate the server no longer serves.
    let mut other = leaf(0x54, "other.test");
    other.ocsp = good.ocsp.clone();
    // A response whose signature was altered on the way.
    let mut forged = leaf(0x55, "forged.test");
    let mut bytes = pki
        .staple(&forged, StapleSays::Good, now - 3600, now + day)
        .unwrap();
    if let Some(last) = bytes.last_mut() {
        *last ^= 1;
    }
    forged.ocsp = Some(bytes);
    let must = pki
        .issue(&LeafSpec::new(&["must.test"], 0x56, 10, 80).with_must_staple())
        .unwrap();
    // Signed by a responder certificate the issuer made for OCSP, and by one it made for
    // something else.
    let mut delegated = leaf(0x57, "delegated.test");
    delegated.ocsp = Some(
        pki.staple_by_responder(
            &delegated,
            StapleSays::Revoked(now - 60),
            now - 30,
            now + day,
            true,
        )
        .unwrap(),
    );
    let mut stray = leaf(0x58, "stray.test");
    stray.ocsp = Some(
        pki.staple_by_responder(&stray, StapleSays::Good, now - 30, now + day, false)
            .unwrap(),
    );
    let server = fleet::serve_tls(
        SocketAddr::new("127.0.0.1".parse().unwrap(), 0),
        &good,
        &[
            ("revoked.test", &revoked),
            ("stale.test", &stale),
            ("other.test", &other),
            ("forged.test", &forged),
            ("must.test", &must),
            ("delegated.test", &delegated),
            ("stray.test", &stray),
        ],
        None,
    )
    .await
    .unwrap();
    let names = [
        "good",
        "revoked",
        "stale",
        "other",
        "forged",
        "must",
        "delegated",
        "stray",
    ];
    let targets: String = names
        .iter()
        .map(|n| format!("{n}.test@127.0.0.1:{}\n", server.addr.port()))
        .collect();
    let obs = run_sweep_trusting(&pki, targets).await;
    let at = |name: &str| {
        obs.iter()
            .find(|o| o.host == format!("{name}.test"))
            .unwrap()
    };
    let good = at("good");
    let info = good.ocsp.as_deref().unwrap();
    assert_eq!(
        (info.status.as_str(), info.verified),
        ("good", true),
        "{info:?}"
    );
    assert!(good.findings.is_empty(), "{:?}", good.findings);
    let revoked = at("revoked");
    assert_eq!(revoked.findings, [Finding::OcspRevoked]);
    let info = revoked.ocsp.as_deref().unwrap();
    assert_eq!(info.reason.as_deref(), Some("keyCompromise"));
    assert_eq!(
        info.revoked_at.as_deref(),
        Some(certsweep::timefmt::rfc3339_unix(now - 7200).as_str())
    );
    assert_eq!(at("stale").findings, [Finding::OcspStale]);
    let other = at("other");
    assert_eq!(other.findings, [Finding::OcspInvalid]);
    let info = other.ocsp.as_deref().unwrap();
    assert_eq!(info.status, "unusable");
    assert!(
        info.problem
            .as_deref()
            .unwrap_or_default()
            .contains("about another certificate"),
        "{info:?}"
    );
    let forged = at("forged");
    assert_eq!(forged.findings, [Finding::OcspInvalid]);
    assert!(!forged.ocsp.as_deref().unwrap().verified);
    let must = at("must");
    assert_eq!(must.findings, [Finding::MustStapleMissing]);
    assert!(must.ocsp.is_none());
    let delegated = at("delegated");
    assert_eq!(delegated.findings, [Finding::OcspRevoked]);
    assert!(delegated.ocsp.as_deref().unwrap().verified);
    let stray = at("stray");
    assert_eq!(stray.findings, [Finding::OcspInvalid]);
    assert!(!stray.ocsp.as_deref().unwrap().verified);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ocsp_asks_each_certificates_responder_once_and_says_revoked_good_or_why_it_cannot() {
    use certsweep::fleet::StapleSays;
    let pki = Pki::new("Ocsp").unwrap();
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    // The responder's address is needed in the certificates before its answers exist.
    let listener = tokio::net::TcpListener::bind("127.0.0.2:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    // A port nothing listens on (bound, never listening, held to the test's end: one
    // bound and freed could be given to a listener bound after it).
    let closed = fleet::refused_addr("127.0.0.2".parse().unwrap())
        .await
        .unwrap();
    let down = format!("http://{}/ocsp", closed.addr);
    let leaf = |serial: u64, names: &[&str], url: Option<&str>, chain: ChainKind| {
        let mut spec = LeafSpec::new(names, serial, 10, 80).with_chain(chain);
        if let Some(u) = url {
            spec = spec.with_ocsp(u);
        }
        pki.issue(&spec).unwrap()
    };
    let ocsp = format!("{base}/ocsp");
    let at_base = Some(ocsp.as_str());
    let good = leaf(
        0x71,
        &["good.test", "good2.test", "good3.test"],
        at_base,
        ChainKind::Full,
    );
    let revoked = leaf(0x72, &["revoked.test"], at_base, ChainKind::Full);
    let unknown = leaf(0x73, &["unknown.test"], at_base, ChainKind::Full);
    let stale = leaf(0x74, &["stale.test"], at_base, ChainKind::Full);
    let ahead = leaf(0x7d, &["ahead.test"], at_base, ChainKind::Full);
    let forged = leaf(0x75, &["forged.test"], at_base, ChainKind::Full);
    let delegated = leaf(0x76, &["delegated.test"], at_base, ChainKind::Full);
    let stray = leaf(0x77, &["stray.test"], at_base, ChainKind::Full);
    let unserved = leaf(0x78, &["unserved.test"], at_base, ChainKind::Full);
    let none = leaf(0x79, &["none.test"], None, ChainKind::Full);
    let gone = leaf(0x7a, &["gone.test"], Some(down.as_str()), ChainKind::Full);
    let bare = leaf(0x7b, &["bare.test"], at_base, ChainKind::LeafOnly);
    // A responder URL so long that the request's GET form would pass 255 bytes: POSTed.
    let long_url = format!("{base}/{}", "ocsp-".repeat(40));
    let long = leaf(
        0x7c,
        &["long.test"],
        Some(long_url.as_str()),
        ChainKind::Full,
    );
    let hour = 3600;
    let mut answers = HashMap::new();
    let mut answer = |l: &fleet::Leaf, der: Vec<u8>| {
        let serial = certsweep::cert::cert_info(&l.chain[0]).unwrap().serial;
        answers.insert(serial, der);
    };
    answer(
        &good,
        pki.staple(&good, StapleSays::Good, now - 60, now + hour)
            .unwrap(),
    );
    answer(
        &revoked,
        pki.staple(
            &revoked,
            StapleSays::Revoked(now - 2 * hour),
            now - 60,
            now + hour,
        )
        .unwrap(),
    );
    answer(
        &unknown,
        pki.staple(&unknown, StapleSays::Unknown, now - 60, now + hour)
            .unwrap(),
    );
    answer(
        &stale,
        pki.staple(&stale, StapleSays::Good, now - 3 * hour, now - hour)
            .unwrap(),
    );
    // Made two days ahead: a responder whose clock is wrong.
    answer(
        &ahead,
        pki.staple(&ahead, StapleSays::Good, now + 48 * hour, now + 72 * hour)
            .unwrap(),
    );
    let mut altered = pki
        .staple(&forged, StapleSays::Good, now - 60, now + hour)
        .unwrap();
    if let Some(b) = altered.last_mut() {
        *b ^= 1;
    }
    answer(&forged, altered);
    answer(
        &delegated,
        pki.staple_by_responder(&delegated, StapleSays::Good, now - 60, now + hour, true)
            .unwrap(),
    );
    answer(
        &stray,
        pki.staple_by_responder(
            &stray,
            StapleSays::Revoked(now),
            now - 60,
            now + hour,
            false,
        )
        .unwrap(),
    );
    answer(
        &long,
        pki.staple(&long, StapleSays::Good, now - 60, now + hour)
            .unwrap(),
    );
    answer(
        &bare,
        pki.staple(&bare, StapleSays::Good, now - 60, now + hour)
            .unwrap(),
    );
    let served = fleet::serve_ocsp(listener, pki.intermediate_sha1s().unwrap(), answers);
    let hits = served.hits.clone();
    let server = fleet::serve_tls(
        SocketAddr::new("127.0.0.1".parse().unwrap(), 0),
        &good,
        &[
            ("revoked.test", &revoked),
            ("unknown.test", &unknown),
            ("stale.test", &stale),
            ("ahead.test", &ahead),
            ("forged.test", &forged),
            ("delegated.test", &delegated),
            ("stray.test", &stray),
            ("unserved.test", &unserved),
            ("none.test", &none),
            ("gone.test", &gone),
            ("bare.test", &bare),
            ("long.test", &long),
        ],
        None,
    )
    .await
    .unwrap();
    let names = [
        "good",
        "good2",
        "good3",
        "revoked",
        "unknown",
        "stale",
        "ahead",
        "forged",
        "delegated",
        "stray",
        "unserved",
        "none",
        "gone",
        "bare",
        "long",
    ];
    let targets: String = names
        .iter()
        .map(|n| format!("{n}.test@127.0.0.1:{}\n", server.addr.port()))
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let ca = root_file(&pki, &dir);
    // One request at a time, as a private CA's single responder may need.
    let obs = run_sweep(
        targets,
        &[
            "--ca-file",
            &ca,
            "--no-public-roots",
            "--ocsp",
            "--ocsp-concurrency",
            "1",
        ],
    )
    .await;
    assert_eq!(obs.len(), names.len());
    assert_eq!(served.peak.load(std::sync::atomic::Ordering::SeqCst), 1);
    let at = |name: &str| {
        let o = obs
            .iter()
            .find(|o| o.host == format!("{name}.test"))
            .unwrap();
        assert!(o.crl.is_none(), "{name}: --crl was not asked for");
        (
            o.findings.clone(),
            o.ocsp_responder.as_deref().unwrap().clone(),
        )
    };
    for name in ["good", "good2", "good3", "delegated", "long"] {
        let (f, info) = at(name);
        assert!(f.is_empty(), "{name}: {f:?}");
        assert_eq!(info.status, "good", "{name}");
        let url = if name == "long" { &long_url } else { &ocsp };
        assert_eq!(info.url.as_deref(), Some(url.as_str()), "{name}");
        assert_eq!(
            info.next_update.as_deref(),
            Some(certsweep::timefmt::rfc3339_unix(now + hour).as_str()),
            "{name}"
        );
    }
    let (f, info) = at("revoked");
    assert_eq!(f, [Finding::OcspResponderRevoked]);
    assert_eq!(info.status, "revoked");
    assert_eq!(info.reason.as_deref(), Some("keyCompromise"));
    assert_eq!(
        info.revoked_at.as_deref(),
        Some(certsweep::timefmt::rfc3339_unix(now - 2 * hour).as_str())
    );
    let revoked_obs = obs.iter().find(|o| o.host == "revoked.test").unwrap();
    let revoked_row = certsweep::report::csv::ScanRow::from_observation(revoked_obs, now);
    assert_eq!(
        revoked_row.ocsp_responder_status,
        format!(
            "revoked {} (keyCompromise)",
            certsweep::timefmt::rfc3339_unix(now - 2 * hour)
        )
    );
    let unavailable = |name: &str, why: &str| {
        let (f, info) = at(name);
        assert_eq!(f, [Finding::OcspResponderUnavailable], "{name}");
        assert_eq!(info.status, "unavailable", "{name}");
        let problem = info.problem.unwrap_or_default();
        assert!(problem.contains(why), "{name}: {problem}");
    };
    unavailable("unknown", "answers \"unknown\"");
    unavailable("stale", "an outdated \"good\" proves nothing");
    unavailable("ahead", "over a day ahead of this scan's clock");
    unavailable("forged", "signature verifies neither");
    // A responder certificate not issued for OCSP signing cannot say revoked either.
    unavailable("stray", "signature verifies neither");
    unavailable("unserved", "is an error (Unauthorized)");
    unavailable("none", "names no OCSP responder");
    unavailable("gone", "cannot connect");
    let (f, info) = at("bare");
    assert_eq!(
        f,
        [Finding::IncompleteChain, Finding::OcspResponderUnavailable]
    );
    assert!(info
        .problem
        .unwrap_or_default()
        .contains("neither in the served chain nor trusted"));
    // One request per certificate for the whole sweep, however many endpoints present it;
    // none for a certificate no request can name.
    let counted = hits.lock().unwrap().clone();
    let serial = |l: &fleet::Leaf| certsweep::cert::cert_info(&l.chain[0]).unwrap().serial;
    assert_eq!(counted.get(&serial(&good)), Some(&1), "{counted:?}");
    assert_eq!(counted.get(&serial(&revoked)), Some(&1), "{counted:?}");
    assert_eq!(counted.get(&serial(&bare)), None, "{counted:?}");
    assert_eq!(
        counted.get(&format!("POST {}", serial(&long))),
        Some(&1),
        "{counted:?}"
    );
    assert_eq!(counted.get(&serial(&long)), None, "not by GET: {counted:?}");
    // The issuer the server leaves out, given in --ca-file, names the certificate and
    // checks the answer.
    let both = root_and_intermediate_file(&pki, &dir);
    let target = format!("bare.test@127.0.0.1:{}", server.addr.port());
    let bare = sweep_one(target, &both, &["--ocsp"]).await;
    let said = bare.ocsp_responder.as_deref().unwrap();
    assert_eq!(said.status, "good", "{said:?}");
    // A responder's host on the --exclude list is not connected to.
    let exclude = dir.path().join("exclude.txt");
    std::fs::write(&exclude, "127.0.0.2\n").unwrap();
    let target = format!("revoked.test@127.0.0.1:{}", server.addr.port());
    let excluding = ["--ocsp", "--exclude", exclude.to_str().unwrap()];
    let kept_out = sweep_one(target, &ca, &excluding).await;
    let info = kept_out.ocsp_responder.as_deref().unwrap();
    assert_eq!(info.status, "unavailable");
    assert!(info
        .problem
        .as_deref()
        .unwrap_or_default()
        .contains("on the --exclude list"));
    assert_eq!(hits.lock().unwrap().get(&serial(&revoked)), Some(&1));
}

/// A responder that takes no GET (HTTP 405, or OCSP's malformedRequest) is asked again by
/// POST.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ocsp_asks_by_post_a_responder_that_refuses_get() {
    use certsweep::fleet::{GetRefusal, StapleSays};
    let pki = Pki::new("Ocsp post").unwrap();
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let mut leaves = Vec::new();
    let mut responders = Vec::new();
    for (serial, refusal, says) in [
        (
            0x81,
            GetRefusal::MethodNotAllowed,
            StapleSays::Revoked(now - 60),
        ),
        (0x82, GetRefusal::Malformed, StapleSays::Good),
    ] {
        let listener = tokio::net::TcpListener::bind("127.0.0.2:0").await.unwrap();
        let url = format!("http://{}/ocsp", listener.local_addr().unwrap());
        let name = format!("r{serial:x}.test");
        let spec = LeafSpec::new(&[name.as_str()], serial, 10, 80).with_ocsp(&url);
        let leaf = pki.issue(&spec).unwrap();
        let answer = pki.staple(&leaf, says, now - 60, now + 3600).unwrap();
        let serial = certsweep::cert::cert_info(&leaf.chain[0]).unwrap().serial;
        let answers = HashMap::from([(serial.clone(), answer)]);
        let hashes = pki.intermediate_sha1s().unwrap();
        let served = fleet::serve_ocsp_refusing(listener, hashes, answers, Some(refusal));
        responders.push((name.clone(), serial, served));
        leaves.push((name, leaf));
    }
    let named: Vec<(&str, &fleet::Leaf)> = leaves.iter().map(|(n, l)| (n.as_str(), l)).collect();
    let server = fleet::serve_tls(
        SocketAddr::new(ip("127.0.0.1"), 0),
        named[0].1,
        &named,
        None,
    )
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ca = root_file(&pki, &dir);
    for ((name, serial, served), expected) in responders.iter().zip(["revoked", "good"]) {
        let target = format!("{name}@127.0.0.1:{}", server.addr.port());
        let o = sweep_one(target, &ca, &["--ocsp"]).await;
        let said = o.ocsp_responder.as_deref().expect("asked");
        assert_eq!(said.status, expected, "{name}: {said:?}");
        let hits = served.hits.lock().unwrap().clone();
        assert_eq!(hits.get("GET"), Some(&1), "{name}: {hits:?}");
        assert_eq!(
            hits.get(&format!("POST {serial}")),
            Some(&1),
            "{name}: {hits:?}"
        );
    }
}

/// A `--crl` sweep of `NAME.test` for each of `names` at the loopback server on `port`,
/// trusting `pki`.
async fn swept_with_crl(pki: &Pki, names: &[&str], port: u16) -> Vec<Observation> {
    let targets: String = names
        .iter()
        .map(|n| format!("{n}.test@127.0.0.1:{port}\n"))
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let ca = root_file(pki, &dir);
    run_sweep(targets, &["--ca-file", &ca, "--no-public-roots", "--crl"]).await
}

/// What `NAME.test`'s observation found, and what the CA's list said of it.
fn crl_at(obs: &[Observation], name: &str) -> (Vec<Finding>, certsweep::model::RevocationInfo) {
    let o = obs
        .iter()
        .find(|o| o.host == format!("{name}.test"))
        .unwrap();
    (o.findings.clone(), o.crl.as_deref().unwrap().clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crl_fetches_each_list_once_and_says_revoked_good_or_why_it_cannot() {
    use rcgen::RevocationReason;
    let pki = Pki::new("Crl").unwrap();
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let day = 86_400;
    // The list server's port is needed in the certificates before the lists exist.
    // On an address of its own, so that --exclude can name it apart from the servers.
    let listener = tokio::net::TcpListener::bind("127.0.0.2:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let leaf = |serial: u64, name: &str, path: Option<&str>, chain: ChainKind| {
        let mut spec = LeafSpec::new(&[name], serial, 10, 80).with_chain(chain);
        if let Some(p) = path {
            spec = spec.with_crl(&format!("{base}{p}"));
        }
        pki.issue(&spec).unwrap()
    };
    let revoked = leaf(0x61, "revoked.test", Some("/int.crl"), ChainKind::Full);
    let good = leaf(0x62, "good.test", Some("/int.crl"), ChainKind::Full);
    let none = leaf(0x63, "none.test", None, ChainKind::Full);
    let missing = leaf(0x64, "missing.test", Some("/gone.crl"), ChainKind::Full);
    let forged = leaf(0x65, "forged.test", Some("/forged.crl"), ChainKind::Full);
    let bare = leaf(0x66, "bare.test", Some("/int.crl"), ChainKind::LeafOnly);
    let old = leaf(0x67, "old.test", Some("/old.crl"), ChainKind::Full);
    let old_revoked = leaf(0x68, "oldrevoked.test", Some("/old.crl"), ChainKind::Full);
    let ca_only = leaf(0x69, "caonly.test", Some("/ca.crl"), ChainKind::Full);
    let shard = leaf(0x6a, "shard.test", Some("/7.crl"), ChainKind::Full);
    let misfiled = leaf(0x6b, "misfiled.test", Some("/8.crl"), ChainKind::Full);
    let listed: &[(&[u8], RevocationReason)] = &[
        (&fleet::serial_bytes(0x61), RevocationReason::KeyCompromise),
        (&fleet::serial_bytes(0x68), RevocationReason::Superseded),
    ];
    let mut files = HashMap::new();
    files.insert(
        "/int.crl".to_string(),
        pki.crl(listed, now - 3600, now + 7 * day, false).unwrap(),
    );
    files.insert(
        "/forged.crl".to_string(),
        pki.crl(&[], now - 3600, now + 7 * day, true).unwrap(),
    );
    // Past its nextUpdate: it still proves a revocation, but not the absence of one.
    files.insert(
        "/old.crl".to_string(),
        pki.crl(listed, now - 9 * day, now - 2 * day, false)
            .unwrap(),
    );
    // Scoped lists (RFC 5280 §5.2.5): one for CA certificates only, which cannot clear a
    // server's; partitions (Let's Encrypt shards its lists), each valid for its own URL only.
    let scoped = |url: &str, scope| {
        pki.crl_with(
            listed,
            now - 3600,
            now + 7 * day,
            false,
            Some(rcgen::CrlIssuingDistributionPoint {
                distribution_point: rcgen::CrlDistributionPoint {
                    uris: vec![format!("{base}{url}")],
                },
                scope,
            }),
        )
        .unwrap()
    };
    files.insert(
        "/ca.crl".to_string(),
        scoped("/ca.crl", Some(rcgen::CrlScope::CaCertsOnly)),
    );
    files.insert(
        "/7.crl".to_string(),
        scoped("/7.crl", Some(rcgen::CrlScope::UserCertsOnly)),
    );
    // A server that hands out shard 7 for shard 8's URL.
    files.insert("/8.crl".to_string(), scoped("/7.crl", None));
    let hits = fleet::serve_files(listener, files);
    let server = fleet::serve_tls(
        SocketAddr::new("127.0.0.1".parse().unwrap(), 0),
        &good,
        &[
            ("revoked.test", &revoked),
            ("none.test", &none),
            ("missing.test", &missing),
            ("forged.test", &forged),
            ("bare.test", &bare),
            ("old.test", &old),
            ("oldrevoked.test", &old_revoked),
            ("caonly.test", &ca_only),
            ("shard.test", &shard),
            ("misfiled.test", &misfiled),
        ],
        None,
    )
    .await
    .unwrap();
    let names = [
        "revoked",
        "good",
        "none",
        "missing",
        "forged",
        "bare",
        "old",
        "oldrevoked",
        "caonly",
        "shard",
        "misfiled",
    ];
    let obs = swept_with_crl(&pki, &names, server.addr.port()).await;
    let at = |name: &str| crl_at(&obs, name);
    let dir = tempfile::tempdir().unwrap();
    let ca = root_file(&pki, &dir);
    let (f, info) = at("revoked");
    assert_eq!(f, [Finding::CrlRevoked]);
    assert_eq!(info.status, "revoked");
    assert_eq!(info.reason.as_deref(), Some("keyCompromise"));
    assert_eq!(
        info.revoked_at.as_deref(),
        Some(certsweep::timefmt::rfc3339_unix(now - 3600 - 3600).as_str())
    );
    assert_eq!(
        info.url.as_deref(),
        Some(format!("{base}/int.crl").as_str())
    );
    let (f, info) = at("good");
    assert!(f.is_empty(), "{f:?}");
    assert_eq!(info.status, "good");
    assert_eq!(
        info.next_update.as_deref(),
        Some(certsweep::timefmt::rfc3339_unix(now + 7 * day).as_str())
    );
    let unavailable = |name: &str, why: &str| {
        let (f, info) = at(name);
        assert_eq!(f, [Finding::CrlUnavailable], "{name}");
        assert_eq!(info.status, "unavailable", "{name}");
        let problem = info.problem.unwrap_or_default();
        assert!(problem.contains(why), "{name}: {problem}");
    };
    unavailable("none", "names no CRL distribution point");
    unavailable("missing", "answered HTTP 404");
    unavailable("forged", "signature does not verify");
    let (f, _) = at("bare");
    assert!(f.contains(&Finding::CrlUnavailable) && f.contains(&Finding::IncompleteChain));
    assert!(at("bare")
        .1
        .problem
        .unwrap_or_default()
        .contains("neither in the served chain nor trusted"));
    unavailable("old", "its silence proves nothing");
    let (f, info) = at("oldrevoked");
    assert_eq!(f, [Finding::CrlRevoked]);
    assert_eq!(info.reason.as_deref(), Some("superseded"));
    unavailable("caonly", "covers only CA certificates");
    let (f, info) = at("shard");
    assert!(f.is_empty(), "{f:?}");
    assert_eq!(info.status, "good");
    unavailable("misfiled", "the one of another distribution point");
    // One download per list for the whole sweep, whichever endpoint asked first.
    let counted = hits.lock().unwrap().clone();
    for path in ["/int.crl", "/forged.crl", "/old.crl", "/gone.crl"] {
        assert_eq!(counted.get(path), Some(&1), "{path}: {counted:?}");
    }
    // The issuer the server leaves out, given in --ca-file, checks the list.
    let both = root_and_intermediate_file(&pki, &dir);
    let target = format!("bare.test@127.0.0.1:{}", server.addr.port());
    let bare = sweep_one(target, &both, &["--crl"]).await;
    let said = bare.crl.as_deref().unwrap();
    assert_eq!(said.status, "good", "{said:?}");
    // A list's host on the --exclude list is not connected to either.
    let exclude = dir.path().join("exclude.txt");
    std::fs::write(&exclude, "127.0.0.2\n").unwrap();
    let target = format!("revoked.test@127.0.0.1:{}", server.addr.port());
    let excluding = ["--crl", "--exclude", exclude.to_str().unwrap()];
    let kept_out = sweep_one(target, &ca, &excluding).await;
    let info = kept_out.crl.as_deref().unwrap();
    assert_eq!(info.status, "unavailable");
    assert!(
        info.problem
            .as_deref()
            .unwrap_or_default()
            .contains("127.0.0.2 is on the --exclude list"),
        "{info:?}"
    );
    // The summary names each list once, with what it holds or why it was not read.
    let targets = dir.path().join("targets.txt");
    std::fs::write(
        &targets,
        format!(
            "revoked.test@127.0.0.1:{0}\nmissing.test@127.0.0.1:{0}\n",
            server.addr.port()
        ),
    )
    .unwrap();
    let args: Vec<String> = ["scan", "--targets", targets.to_str().unwrap()]
        .iter()
        .map(|a| a.to_string())
        .chain(["--ca-file", &ca, "--no-public-roots", "--crl"].map(String::from))
        .collect();
    let out = run_certsweep_owned(args).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "  crl: 1 list read (2 revoked in all); not read: {base}/gone.crl (answered HTTP 404 Not Found)\n"
        )),
        "{stderr}"
    );
    // Under --wait, a sweep takes the lists the sweep before it read (still current), and
    // asks again for the one it could not read and the one past its nextUpdate.
    let waited = dir.path().join("waited.txt");
    std::fs::write(
        &waited,
        format!(
            "revoked.test@127.0.0.1:{0}\nmissing.test@127.0.0.1:{0}\noldrevoked.test@127.0.0.1:{0}\n",
            server.addr.port()
        ),
    )
    .unwrap();
    let before = hits.lock().unwrap().clone();
    let args: Vec<String> = ["scan", "--targets", waited.to_str().unwrap()]
        .iter()
        .map(|a| a.to_string())
        .chain(
            [
                "--ca-file",
                &ca,
                "--no-public-roots",
                "--crl",
                "--fail-on",
                "revoked",
                "--wait",
                "1s",
            ]
            .map(String::from),
        )
        .collect();
    let out = run_certsweep_owned(args).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    let sweeps = 1 + stderr.matches("running again in").count();
    assert!(sweeps >= 2, "{stderr}");
    let after = hits.lock().unwrap().clone();
    let more =
        |path: &str| after.get(path).copied().unwrap_or(0) - before.get(path).copied().unwrap_or(0);
    assert_eq!(more("/int.crl"), 1, "{stderr}");
    assert_eq!(more("/gone.crl"), sweeps, "{stderr}");
    assert_eq!(more("/old.crl"), sweeps, "{stderr}");
    // Without --crl nothing is fetched and nothing is said.
    let plain = run_sweep(
        format!("revoked.test@127.0.0.1:{}\n", server.addr.port()),
        &["--ca-file", &ca, "--no-public-roots"],
    )
    .await;
    assert!(plain[0].crl.is_none() && plain[0].findings.is_empty());
}

/// A CA that publishes delta lists (AD CS does by default: a weekly base list, a daily
/// delta): a certificate revoked since the base list is found in the delta the base list
/// (or the certificate) points to; a delta that cannot be had leaves the base list's word
/// with what it cannot see.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crl_reads_the_delta_list_for_revocations_since_the_base_list() {
    use certsweep::fleet::CrlSpec;
    let pki = Pki::new("CrlDelta").unwrap();
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let day = 86_400;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let leaf = |serial: u64, name: &str, list: &str, delta: Option<&str>| {
        let mut spec = LeafSpec::new(&[name], serial, 10, 80).with_crl(&format!("{base}{list}"));
        if let Some(d) = delta {
            spec = spec.with_delta_crl(d);
        }
        pki.issue(&spec).unwrap()
    };
    // Revoked since the base list: the base list points to its delta.
    let fresh = leaf(0x71, "fresh.test", "/ca.crl", None);
    let good = leaf(0x72, "good.test", "/ca.crl", None);
    // The certificate points to the delta (Freshest CRL) of a base list that does not.
    let own = leaf(
        0x73,
        "own.test",
        "/plain.crl",
        Some(&format!("{base}/ca+.crl")),
    );
    // A delta only at an LDAP location, and one the server does not have.
    let ldap = leaf(0x74, "ldap.test", "/ldap.crl", None);
    let gone = leaf(0x75, "gone.test", "/gone.crl", None);
    let base_list = |freshest: Vec<String>| {
        pki.crl_built(&CrlSpec {
            this_update: now - 2 * day,
            next_update: now + 5 * day,
            crl_number: Some(20),
            freshest,
            ..CrlSpec::default()
        })
        .unwrap()
    };
    let listed = [
        (&fleet::serial_bytes(0x71)[..], 1u8),
        (&fleet::serial_bytes(0x73)[..], 4u8),
    ];
    let mut files = HashMap::new();
    files.insert(
        "/ca.crl".to_string(),
        base_list(vec![format!("{base}/ca+.crl")]),
    );
    files.insert("/plain.crl".to_string(), base_list(Vec::new()));
    files.insert(
        "/ldap.crl".to_string(),
        base_list(vec!["ldap:///CN=CrlDelta,CN=CDP?deltaRevocationList".into()]),
    );
    files.insert(
        "/gone.crl".to_string(),
        base_list(vec![format!("{base}/gone+.crl")]),
    );
    files.insert(
        "/ca+.crl".to_string(),
        pki.crl_built(&CrlSpec {
            revoked: &listed,
            this_update: now - 3600,
            next_update: now + day,
            crl_number: Some(21),
            delta_of: Some(20),
            ..CrlSpec::default()
        })
        .unwrap(),
    );
    let hits = fleet::serve_files(listener, files);
    let server = fleet::serve_tls(
        SocketAddr::new("127.0.0.1".parse().unwrap(), 0),
        &good,
        &[
            ("fresh.test", &fresh),
            ("own.test", &own),
            ("ldap.test", &ldap),
            ("gone.test", &gone),
        ],
        None,
    )
    .await
    .unwrap();
    let names = ["fresh", "good", "own", "ldap", "gone"];
    let obs = swept_with_crl(&pki, &names, server.addr.port()).await;
    let at = |name: &str| crl_at(&obs, name);
    let delta_url = format!("{base}/ca+.crl");
    let (f, info) = at("fresh");
    assert_eq!(f, [Finding::CrlRevoked]);
    assert_eq!(info.reason.as_deref(), Some("keyCompromise"));
    assert_eq!(info.url.as_deref(), Some(format!("{base}/ca.crl").as_str()));
    assert_eq!(info.delta_url.as_deref(), Some(delta_url.as_str()));
    assert_eq!(
        info.delta_this_update.as_deref(),
        Some(certsweep::timefmt::rfc3339_unix(now - 3600).as_str())
    );
    let (f, info) = at("good");
    assert!(f.is_empty(), "{f:?}");
    assert_eq!((info.status.as_str(), info.problem), ("good", None));
    assert_eq!(info.delta_url.as_deref(), Some(delta_url.as_str()));
    let (f, info) = at("own");
    assert_eq!(f, [Finding::CrlRevoked]);
    assert_eq!(info.reason.as_deref(), Some("superseded"));
    // An LDAP delta certsweep cannot read: the base list's word, with what it cannot see;
    // an HTTP delta that cannot be had leaves clients that check revocation without an
    // answer, as it leaves certsweep.
    for (name, why, status, findings) in [
        (
            "ldap",
            "only where certsweep does not fetch (ldap:///",
            "good",
            vec![],
        ),
        (
            "gone",
            "which could not be used (",
            "unavailable",
            vec![Finding::CrlUnavailable],
        ),
    ] {
        let (f, info) = at(name);
        assert_eq!(f, findings, "{name}");
        assert_eq!(info.status, status, "{name}");
        let problem = info.problem.unwrap_or_default();
        assert!(
            problem.starts_with(&format!("the list names a delta list, {why}"))
                && problem.ends_with("is not seen"),
            "{name}: {problem}"
        );
        // The report's cell says it beside the word.
        let o = obs
            .iter()
            .find(|o| o.host == format!("{name}.test"))
            .unwrap();
        let row = certsweep::report::csv::ScanRow::from_observation(o, now);
        let said = match status {
            "good" => "good (the list names a delta list",
            _ => "unavailable: the list names a delta list",
        };
        assert!(row.crl_status.starts_with(said), "{}", row.crl_status);
    }
    // The delta, like the base lists, is downloaded once for the sweep.
    let counted = hits.lock().unwrap().clone();
    assert_eq!(counted.get("/ca+.crl"), Some(&1), "{counted:?}");
    assert_eq!(counted.get("/ca.crl"), Some(&1), "{counted:?}");
}

/// A CA that moved its lists redirects the old URLs, as clients fetching a list follow:
/// so does `--crl`, to other http:// URLs and a few times at most.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crl_follows_a_lists_redirects_as_clients_do() {
    use rcgen::RevocationReason;
    let pki = Pki::new("CrlMoved").unwrap();
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let leaf = |serial: u64, name: &str, list: &str| {
        let spec = LeafSpec::new(&[name], serial, 10, 80).with_crl(&format!("{base}{list}"));
        pki.issue(&spec).unwrap()
    };
    let moved = leaf(0x81, "moved.test", "/old/ca.crl");
    let twice = leaf(0x82, "twice.test", "/older/ca.crl");
    let tls = leaf(0x83, "tls.test", "/tls/ca.crl");
    let looping = leaf(0x84, "loop.test", "/loop.crl");
    let listed = [(
        &fleet::serial_bytes(0x81)[..],
        RevocationReason::KeyCompromise,
    )];
    let mut files = HashMap::new();
    files.insert(
        "/lists/ca.crl".to_string(),
        pki.crl(&listed, now - 3600, now + 86_400, false).unwrap(),
    );
    let redirects = HashMap::from([
        // A relative Location, and an absolute one to the same server.
        (
            "/old/ca.crl".to_string(),
            (301, "/lists/ca.crl".to_string()),
        ),
        (
            "/older/ca.crl".to_string(),
            (302, format!("{base}/old/ca.crl")),
        ),
        (
            "/tls/ca.crl".to_string(),
            (308, "https://crl.test/ca.crl".to_string()),
        ),
        ("/loop.crl".to_string(), (307, "/loop.crl".to_string())),
    ]);
    let hits = fleet::serve_files_moved(listener, files, redirects);
    let server = fleet::serve_tls(
        SocketAddr::new("127.0.0.1".parse().unwrap(), 0),
        &moved,
        &[
            ("twice.test", &twice),
            ("tls.test", &tls),
            ("loop.test", &looping),
        ],
        None,
    )
    .await
    .unwrap();
    let names = ["moved", "twice", "tls", "loop"];
    let obs = swept_with_crl(&pki, &names, server.addr.port()).await;
    let (f, info) = crl_at(&obs, "moved");
    assert_eq!(f, [Finding::CrlRevoked]);
    assert_eq!(info.reason.as_deref(), Some("keyCompromise"));
    // The list is named by the certificate's URL.
    assert_eq!(
        info.url.as_deref(),
        Some(format!("{base}/old/ca.crl").as_str())
    );
    let (f, info) = crl_at(&obs, "twice");
    assert!(f.is_empty(), "{f:?}");
    assert_eq!(info.status, "good");
    for (name, why) in [
        (
            "tls",
            "redirected to https://crl.test/ca.crl, which is not http://",
        ),
        ("loop", "redirected more than 5 times"),
    ] {
        let (f, info) = crl_at(&obs, name);
        assert_eq!(f, [Finding::CrlUnavailable], "{name}");
        let problem = info.problem.unwrap_or_default();
        assert!(problem.contains(why), "{name}: {problem}");
    }
    let counted = hits.lock().unwrap().clone();
    assert_eq!(counted.get("/loop.crl"), Some(&6), "{counted:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crl_asks_for_the_second_looks_certificate_too() {
    // A server holding an ECDSA and an RSA certificate: the RSA one, which only RSA
    // clients get, was revoked.
    use rcgen::RevocationReason;
    let pki = Pki::new("CrlTwo").unwrap();
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let listener = tokio::net::TcpListener::bind("127.0.0.2:0").await.unwrap();
    // The list's host is a name only --resolver's server knows, as a private CA's often is.
    let dns = support::dns_server(
        "pki.test.",
        &[("crl.pki.test.", "127.0.0.2".parse().unwrap())],
        &[],
    )
    .await;
    let url = format!(
        "http://crl.pki.test:{}/int.crl",
        listener.local_addr().unwrap().port()
    );
    let ec = pki
        .issue(&LeafSpec::new(&["two.test"], 0x71, 10, 80).with_crl(&url))
        .unwrap();
    let rsa = pki
        .issue(
            &LeafSpec::new(&["two.test"], 0x72, 10, 80)
                .with_rsa()
                .with_crl(&url),
        )
        .unwrap();
    let listed: &[(&[u8], RevocationReason)] =
        &[(&fleet::serial_bytes(0x72), RevocationReason::KeyCompromise)];
    let crl = pki.crl(listed, now - 60, now + 86_400, false).unwrap();
    let _hits = fleet::serve_files(listener, HashMap::from([("/int.crl".to_string(), crl)]));
    let server = fleet::serve_tls_key_types(
        SocketAddr::new("127.0.0.1".parse().unwrap(), 0),
        &[&ec, &rsa],
    )
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ca = root_file(&pki, &dir);
    let obs = run_sweep(
        format!("two.test@127.0.0.1:{}\n", server.addr.port()),
        &[
            "--ca-file",
            &ca,
            "--no-public-roots",
            "--crl",
            "--both-key-types",
            "--resolver",
            &dns.addr.to_string(),
        ],
    )
    .await;
    let o = &obs[0];
    assert_eq!(o.cert.as_ref().unwrap().serial, ec.serial_hex);
    assert_eq!(o.crl.as_deref().unwrap().status, "good");
    assert!(o.findings.is_empty(), "{:?}", o.findings);
    let other = o.other_key.as_deref().unwrap();
    assert_eq!(other.cert.as_ref().unwrap().serial, rsa.serial_hex);
    assert_eq!(other.findings, [Finding::CrlRevoked]);
    let info = other.crl.as_deref().unwrap();
    assert_eq!(
        (info.status.as_str(), info.reason.as_deref()),
        ("revoked", Some("keyCompromise"))
    );
    // Without records, what the endpoint earns: revoked, for its RSA clients.
    let statuses = certsweep::verdict::record_free_statuses(
        o,
        now,
        certsweep::verdict::RenewalWindow::DEFAULT,
    );
    assert!(
        statuses.contains(&certsweep::verdict::Status::Revoked),
        "{statuses:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sha1_signed_certificate_is_a_weak_signature_in_words() {
    // Legacy private CAs (an AD CS left at SHA-1) still sign with it. It was chain_invalid
    // with a debug dump of every algorithm webpki supports as the detail.
    use openssl::{ec, hash, nid, pkey, ssl};
    let key = || {
        let group = ec::EcGroup::from_curve_name(nid::Nid::X9_62_PRIME256V1).unwrap();
        pkey::PKey::from_ec_key(ec::EcKey::generate(&group).unwrap()).unwrap()
    };
    let (ca_key, leaf_key) = (key(), key());
    let ca = openssl_cert(None, "5A1", &ca_key, None, hash::MessageDigest::sha256());
    let leaf = openssl_cert(
        Some("sha1.test"),
        "5A2",
        &leaf_key,
        Some((&ca, &ca_key)),
        hash::MessageDigest::sha1(),
    );
    let v13 = ssl::SslVersion::TLS1_3;
    let level0: fn(&mut ssl::SslContextBuilder) = |b| b.set_security_level(0);
    let addr = openssl_server_chain(&[leaf, ca.clone()], &leaf_key, (v13, v13), Some(level0));
    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, ca.to_pem().unwrap()).unwrap();
    let obs = run_sweep(
        format!("sha1.test@127.0.0.1:{}\n", addr.port()),
        &["--ca-file", ca_file.to_str().unwrap(), "--no-public-roots"],
    )
    .await;
    let o = &obs[0];
    assert_eq!(o.cert.as_ref().unwrap().serial, "5A2");
    assert_eq!(o.findings, [certsweep::model::Finding::WeakSignature]);
    assert_eq!(
        o.trust_detail.as_deref(),
        Some("the certificate is signed with ecdsa-with-SHA1, which current clients refuse")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn p521_keys_and_groups_are_spoken_and_a_refused_modern_hello_is_not_legacy_tls() {
    // ring has no P-521: a P-521 server was reached only by the legacy hello and called
    // legacy_tls, its private CA's leaves could not be checked, and a server whose only
    // group is P-521 (or a TLS 1.2 server with a P-521 certificate, whose curve must be
    // among the client's groups) refused the first hello.
    use openssl::ssl::{SslContextBuilder, SslVersion};
    use openssl::{ec, hash, nid, pkey};
    let p521 = || {
        let group = ec::EcGroup::from_curve_name(nid::Nid::SECP521R1).unwrap();
        pkey::PKey::from_ec_key(ec::EcKey::generate(&group).unwrap()).unwrap()
    };
    let p256 = || {
        let group = ec::EcGroup::from_curve_name(nid::Nid::X9_62_PRIME256V1).unwrap();
        pkey::PKey::from_ec_key(ec::EcKey::generate(&group).unwrap()).unwrap()
    };
    let (ca_key, leaf_key, leaf256_key) = (p521(), p521(), p256());
    let ca = openssl_cert(None, "5210", &ca_key, None, hash::MessageDigest::sha512());
    let leaf = |name: &str, serial: &str, key: &pkey::PKey<pkey::Private>| {
        openssl_cert(
            Some(name),
            serial,
            key,
            Some((&ca, &ca_key)),
            hash::MessageDigest::sha512(),
        )
    };
    let chain521 = [leaf("p521.test", "5211", &leaf_key), ca.clone()];
    let chain256 = [leaf("p256.test", "5212", &leaf256_key), ca.clone()];
    let (v12, v13) = (SslVersion::TLS1_2, SslVersion::TLS1_3);
    let only_p521: fn(&mut SslContextBuilder) = |b| b.set_groups_list("P-521").unwrap();
    let only_ccm: fn(&mut SslContextBuilder) =
        |b| b.set_ciphersuites("TLS_AES_128_CCM_SHA256").unwrap();
    let servers = [
        (
            "p521.test",
            openssl_server_chain(&chain521, &leaf_key, (v13, v13), None),
        ),
        (
            "p521.test",
            openssl_server_chain(&chain521, &leaf_key, (v12, v12), None),
        ),
        (
            "p256.test",
            openssl_server_chain(&chain256, &leaf256_key, (v13, v13), Some(only_p521)),
        ),
        // TLS 1.3 only with AES-CCM, which current clients do not offer, and TLS 1.2: the
        // server refuses the first hello instead of choosing TLS 1.2.
        (
            "p256.test",
            openssl_server_chain(&chain256, &leaf256_key, (v12, v13), Some(only_ccm)),
        ),
    ];
    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, ca.to_pem().unwrap()).unwrap();
    let targets: String = servers
        .iter()
        .map(|(name, a)| format!("{name}@127.0.0.1:{}\n", a.port()))
        .collect();
    let obs = run_sweep(
        targets,
        &["--ca-file", ca_file.to_str().unwrap(), "--no-public-roots"],
    )
    .await;
    let at = |i: usize| obs.iter().find(|o| o.port == servers[i].1.port()).unwrap();
    // A P-521 key is spoken, and told as one Chrome cannot use.
    let p521 = || vec![certsweep::model::Finding::KeyTypeUnsupported];
    let want = [
        ("5211", 521, "TLSv1.3", "X25519", p521()),
        ("5211", 521, "TLSv1.2", "X25519", p521()),
        ("5212", 256, "TLSv1.3", "secp521r1", vec![]),
        (
            "5212",
            256,
            "TLSv1.2",
            "",
            vec![certsweep::model::Finding::UncommonTls],
        ),
    ];
    for (i, (serial, bits, version, group, findings)) in want.into_iter().enumerate() {
        let o = at(i);
        assert!(o.error.is_none(), "{i}: {:?}", o.error);
        let c = o.cert.as_ref().unwrap();
        assert_eq!((c.serial.as_str(), c.key_bits), (serial, bits), "{i}");
        let tls = o.tls.as_ref().unwrap();
        assert_eq!(tls.version, version, "{i}");
        assert_eq!(tls.kx_group.as_deref().unwrap_or(""), group, "{i}");
        assert_eq!(o.findings, findings, "{i}");
    }
}

/// A private CA (ECDSA P-256) issuing leaves straight under it, with ECDSA or RSA keys: the
/// certificates of servers that hold one per key type.
struct KeyTypesCa {
    cert: openssl::x509::X509,
    key: openssl::pkey::PKey<openssl::pkey::Private>,
    rsa: openssl::pkey::PKey<openssl::pkey::Private>,
}

/// A leaf and its key.
type KeyedLeaf = (
    openssl::x509::X509,
    openssl::pkey::PKey<openssl::pkey::Private>,
);

impl KeyTypesCa {
    fn new() -> Self {
        let key = Self::ec_key();
        let sha256 = openssl::hash::MessageDigest::sha256();
        KeyTypesCa {
            cert: openssl_cert(None, "CA01", &key, None, sha256),
            key,
            rsa: openssl::pkey::PKey::from_rsa(openssl::rsa::Rsa::generate(2048).unwrap()).unwrap(),
        }
    }

    fn ec_key() -> openssl::pkey::PKey<openssl::pkey::Private> {
        use openssl::{ec, nid, pkey};
        let group = ec::EcGroup::from_curve_name(nid::Nid::X9_62_PRIME256V1).unwrap();
        pkey::PKey::from_ec_key(ec::EcKey::generate(&group).unwrap()).unwrap()
    }

    fn leaf(
        &self,
        name: &str,
        serial: &str,
        key: openssl::pkey::PKey<openssl::pkey::Private>,
    ) -> KeyedLeaf {
        let issuer = Some((&self.cert, &self.key));
        let sha256 = openssl::hash::MessageDigest::sha256();
        (openssl_cert(Some(name), serial, &key, issuer, sha256), key)
    }

    fn ecdsa(&self, name: &str, serial: &str) -> KeyedLeaf {
        self.leaf(name, serial, Self::ec_key())
    }

    fn rsa(&self, name: &str, serial: &str) -> KeyedLeaf {
        self.leaf(name, serial, self.rsa.clone())
    }

    /// Compares `targets` with the CSV export `inventory`, trusting this CA only, with
    /// `extra` options; the records report goes to `dir/records.csv`.
    async fn compare(
        &self,
        dir: &std::path::Path,
        targets: &str,
        inventory: &str,
        extra: &[&str],
    ) -> certsweep::scan::CompareOutcome {
        let file = |name: &str, text: &[u8]| {
            let p = dir.join(name);
            std::fs::write(&p, text).unwrap();
            p.to_str().unwrap().to_string()
        };
        let ca = file("ca.pem", &self.cert.to_pem().unwrap());
        let inventory = file("export.csv", inventory.as_bytes());
        let targets = file("targets.txt", targets.as_bytes());
        let records = dir.join("records.csv");
        let mut argv = vec![
            "--targets",
            &targets,
            "--inventory",
            &inventory,
            "--ca-file",
            &ca,
            "--no-public-roots",
            "--records-report",
            records.to_str().unwrap(),
            // The leaves are valid for 30 days: not "expiring soon" here.
            "--renewal-window",
            "1d",
            "--quiet",
        ];
        argv.extend_from_slice(extra);
        certsweep::scan::compare(&scan_args(&argv), true)
            .await
            .unwrap()
    }
}

/// The verdict of `host` among `out`'s.
fn verdict_of<'a>(
    out: &'a certsweep::scan::CompareOutcome,
    host: &str,
) -> &'a certsweep::verdict::Verdict {
    out.verdicts
        .iter()
        .find(|v| v.observation.host == host)
        .unwrap_or_else(|| panic!("no verdict for {host}"))
}

/// The serial the second look got.
fn other_serial(o: &certsweep::model::Observation) -> &str {
    let other = o.other_key.as_ref().expect("a second look");
    other.cert.as_ref().map_or("", |c| c.serial.as_str())
}

/// The records report's rows in `dir`, by names.
fn records_rows(dir: &std::path::Path) -> HashMap<String, HashMap<String, String>> {
    let mut rdr = csv::Reader::from_path(dir.join("records.csv")).unwrap();
    rdr.deserialize::<HashMap<String, String>>()
        .map(|r| r.unwrap())
        .map(|r| (r["names"].clone(), r))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_renewal_served_to_the_other_key_type_is_deployed_not_missing() {
    // nginx, Apache and HAProxy can hold an RSA and an ECDSA certificate for one name and
    // present the one the client's signature algorithms allow. When the RSA one is the later
    // version, a single handshake (which offers ECDSA first) sees the older ECDSA one: the
    // endpoint was renewed_not_deployed every night though both are deployed.
    use certsweep::verdict::Status;
    use openssl::ssl::SslVersion;
    let ca = KeyTypesCa::new();
    let (v12, v13) = (SslVersion::TLS1_2, SslVersion::TLS1_3);
    // Both deployed, the RSA one the renewal; TLS 1.2 picks by cipher suite as well.
    let dual = openssl_server_keys(
        &[ca.ecdsa("dual.test", "DA11"), ca.rsa("dual.test", "DB22")],
        (v12, v13),
    );
    let dual12 = openssl_server_keys(
        &[
            ca.ecdsa("dual12.test", "DA12"),
            ca.rsa("dual12.test", "DB12"),
        ],
        (v12, v12),
    );
    // The RSA renewal never deployed: the server has only the old ECDSA certificate.
    let single = openssl_server_keys(&[ca.ecdsa("single.test", "DC33")], (v12, v13));
    // Served beside the newest RSA version, the ECDSA one is itself outdated by a later
    // ECDSA version (DF66) that was never deployed.
    let triple = openssl_server_keys(
        &[
            ca.ecdsa("triple.test", "DE55"),
            ca.rsa("triple.test", "DA77"),
        ],
        (v12, v13),
    );
    let dir = tempfile::tempdir().unwrap();
    let inventory = "Serial Number,Common Name,Valid From,Valid To,Status\n\
         DA11,dual.test,2026-01-01,2030-01-01,Issued\n\
         DB22,dual.test,2026-02-01,2030-02-01,Issued\n\
         DA12,dual12.test,2026-01-01,2030-01-01,Issued\n\
         DB12,dual12.test,2026-02-01,2030-02-01,Issued\n\
         DC33,single.test,2026-01-01,2030-01-01,Issued\n\
         DD44,single.test,2026-02-01,2030-02-01,Issued\n\
         DE55,triple.test,2026-01-01,2030-01-01,Issued\n\
         DF66,triple.test,2026-02-01,2030-02-01,Issued\n\
         DA77,triple.test,2026-03-01,2030-03-01,Issued\n";
    let targets = format!(
        "dual.test@127.0.0.1:{}\ndual12.test@127.0.0.1:{}\nsingle.test@127.0.0.1:{}\ntriple.test@127.0.0.1:{}\n",
        dual.port(),
        dual12.port(),
        single.port(),
        triple.port()
    );
    let out = ca.compare(dir.path(), &targets, inventory, &[]).await;
    for host in ["dual.test", "dual12.test"] {
        let v = verdict_of(&out, host);
        assert_eq!(v.status, Status::Current, "{host}: {}", v.detail);
        assert!(v.findings.contains(&"dual_certificates".to_string()));
        let other = v.observation.other_key.as_ref().unwrap();
        assert_eq!(other.offered, certsweep::model::KeyFamily::Rsa);
        assert_eq!(other.cert.as_ref().unwrap().key_type, "RSA");
        assert!(other.findings.is_empty(), "{:?}", other.findings);
        assert_eq!(v.observation.cert.as_ref().unwrap().key_type, "EC");
    }
    let v = verdict_of(&out, "dual.test");
    assert_eq!(v.observation.cert.as_ref().unwrap().serial, "DA11");
    assert_eq!(other_serial(&v.observation), "DB22");
    assert!(v.detail.contains("DB22"), "{}", v.detail);

    let v = verdict_of(&out, "single.test");
    assert_eq!(v.status, Status::RenewedNotDeployed, "{}", v.detail);
    let other = v.observation.other_key.as_ref().unwrap();
    assert!(other.cert.is_none() && other.error.is_some(), "{other:?}");
    assert!(
        v.detail
            .contains("A handshake offering only RSA keys got no certificate"),
        "{}",
        v.detail
    );
    assert_eq!(v.expected.as_ref().unwrap().serial.as_deref(), Some("DD44"));

    let v = verdict_of(&out, "triple.test");
    assert_eq!(v.status, Status::RenewedNotDeployed, "{}", v.detail);
    assert!(v.findings.contains(&"dual_certificates".to_string()));
    assert_eq!(other_serial(&v.observation), "DA77");
    // What its own key type's clients should get is the later ECDSA version, not the RSA one
    // served beside it.
    assert_eq!(v.expected.as_ref().unwrap().serial.as_deref(), Some("DF66"));
    // The summary counts the verdicts' findings: dual.test, dual12.test and triple.test.
    assert_eq!(out.verdict_findings.get("dual_certificates"), Some(&3));
    assert!(
        out.summary_text()
            .contains("  verdict findings: dual_certificates 3"),
        "{}",
        out.summary_text()
    );
    assert!(
        v.detail.contains("RSA clients get serial DA77: current"),
        "{}",
        v.detail
    );

    // The records report counts the dual endpoint as serving the newest, nothing stale.
    let rows = records_rows(dir.path());
    let d = &rows["dual.test"];
    assert_eq!(d["newest_serial"], "DB22");
    assert!(d["deployed_at"].contains("dual.test:"), "{d:?}");
    assert_eq!(d["stale_at"], "");
    assert!(!d["findings"].contains("older_versions_served"), "{d:?}");
    assert!(rows["single.test"]["findings"].contains("renewed_seen_nowhere"));
    assert!(rows["triple.test"]["stale_at"].contains("DE55"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_key_types_finds_a_stale_certificate_beside_a_current_one() {
    // The provisioning bot replaced the ECDSA file and not the RSA one: clients offering
    // ECDSA get the newest certificate, RSA-only clients an old one whose renewal exists.
    // One handshake cannot see it; --both-key-types asks every endpoint for both.
    use certsweep::verdict::Status;
    use openssl::ssl::SslVersion;
    let ca = KeyTypesCa::new();
    let versions = (SslVersion::TLS1_2, SslVersion::TLS1_3);
    let stale = openssl_server_keys(
        &[ca.ecdsa("stale.test", "5E03"), ca.rsa("stale.test", "5B01")],
        versions,
    );
    let plain = openssl_server_keys(&[ca.ecdsa("plain.test", "7E01")], versions);
    let dir = tempfile::tempdir().unwrap();
    let inventory = "Serial Number,Common Name,Valid From,Valid To,Status\n\
         5B01,stale.test,2026-01-01,2030-01-01,Issued\n\
         5B02,stale.test,2026-02-01,2030-02-01,Issued\n\
         5E03,stale.test,2026-03-01,2030-03-01,Issued\n\
         7E01,plain.test,2026-01-01,2030-01-01,Issued\n";
    let targets = format!(
        "stale.test@127.0.0.1:{}\nplain.test@127.0.0.1:{}\n",
        stale.port(),
        plain.port()
    );
    // Without it the endpoint serves the newest and no second look is taken.
    let out = ca.compare(dir.path(), &targets, inventory, &[]).await;
    let v = verdict_of(&out, "stale.test");
    assert_eq!(v.status, Status::Current, "{}", v.detail);
    assert!(v.observation.other_key.is_none());

    let out = ca
        .compare(dir.path(), &targets, inventory, &["--both-key-types"])
        .await;
    let v = verdict_of(&out, "stale.test");
    assert_eq!(v.status, Status::RenewedNotDeployed, "{}", v.detail);
    // The row is about the certificate the status is about; the other is beside it.
    let c = v.observation.cert.as_ref().unwrap();
    assert_eq!((c.serial.as_str(), c.key_type.as_str()), ("5B01", "RSA"));
    assert_eq!(other_serial(&v.observation), "5E03");
    assert_eq!(v.expected.as_ref().unwrap().serial.as_deref(), Some("5B02"));
    assert!(v.findings.contains(&"dual_certificates".to_string()));
    assert!(v.detail.starts_with("To RSA clients: "), "{}", v.detail);
    assert!(
        v.detail.contains("ECDSA clients get serial 5E03: current"),
        "{}",
        v.detail
    );
    assert_eq!(out.summary.second_looks, 2);
    assert_eq!(out.summary.second_certificates, 1);

    // A server with one key type: asked, refused, judged on its one certificate.
    let v = verdict_of(&out, "plain.test");
    assert_eq!(v.status, Status::Current, "{}", v.detail);
    let other = v.observation.other_key.as_ref().unwrap();
    assert!(other.cert.is_none() && other.error.is_some(), "{other:?}");
    assert!(!v.findings.contains(&"dual_certificates".to_string()));
    let rows = records_rows(dir.path());
    assert!(rows["stale.test"]["stale_at"].contains("5B01"));

    // With key types in the export, the records say stale.test has an RSA certificate:
    // it is looked for without the option, and plain.test (ECDSA only) is not asked.
    let typed = "Serial Number,Common Name,Valid From,Valid To,Status,Key Algorithm\n\
         5B01,stale.test,2026-01-01,2030-01-01,Issued,RSA\n\
         5B02,stale.test,2026-02-01,2030-02-01,Issued,RSA\n\
         5E03,stale.test,2026-03-01,2030-03-01,Issued,EC\n\
         7E01,plain.test,2026-01-01,2030-01-01,Issued,EC\n";
    let out = ca.compare(dir.path(), &targets, typed, &[]).await;
    let v = verdict_of(&out, "stale.test");
    assert_eq!(v.status, Status::RenewedNotDeployed, "{}", v.detail);
    assert_eq!(v.observation.cert.as_ref().unwrap().serial, "5B01");
    assert!(verdict_of(&out, "plain.test")
        .observation
        .other_key
        .is_none());
    assert_eq!(out.summary.second_looks, 1);

    // A plain sweep with it reports the second certificate in the scan report's columns.
    let report = dir.path().join("scan.csv");
    let targets_file = dir.path().join("targets.txt");
    let args = scan_args(&[
        "--targets",
        targets_file.to_str().unwrap(),
        "--ca-file",
        dir.path().join("ca.pem").to_str().unwrap(),
        "--no-public-roots",
        "--both-key-types",
        "--report",
        report.to_str().unwrap(),
        "--quiet",
    ]);
    assert_eq!(certsweep::scan::run_scan(args).await.unwrap(), 0);
    let mut rdr = csv::Reader::from_path(&report).unwrap();
    let rows: HashMap<String, HashMap<String, String>> = rdr
        .deserialize::<HashMap<String, String>>()
        .map(|r| r.unwrap())
        .map(|r| (r["host"].clone(), r))
        .collect();
    let r = &rows["stale.test"];
    assert_eq!(
        (r["serial"].as_str(), r["other_key_offered"].as_str()),
        ("5E03", "rsa")
    );
    assert_eq!(
        (r["other_key_serial"].as_str(), r["other_key_type"].as_str()),
        ("5B01", "RSA")
    );
    assert_eq!(r["other_key_error_class"], "");
    let r = &rows["plain.test"];
    assert_eq!(r["other_key_serial"], "");
    assert_eq!(r["other_key_error_class"], "tls_protocol");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_small_rsa_key_is_weak_and_unchecked_not_a_bad_signature() {
    // Old appliances still serve 1024-bit RSA keys. No maintained provider checks RSA-PSS
    // by such a key; the row said "invalid peer certificate: BadSignature", as for a forged
    // handshake.
    use openssl::ssl::{SslContextBuilder, SslVersion};
    use openssl::{hash, pkey, rsa};
    let key = pkey::PKey::from_rsa(rsa::Rsa::generate(1024).unwrap()).unwrap();
    let cert = openssl_cert(
        Some("rsa1024.test"),
        "1024",
        &key,
        None,
        hash::MessageDigest::sha256(),
    );
    let level0: fn(&mut SslContextBuilder) = |b| b.set_security_level(0);
    let ports: Vec<u16> = [SslVersion::TLS1_3, SslVersion::TLS1_2]
        .into_iter()
        .map(|v| {
            openssl_server_chain(std::slice::from_ref(&cert), &key, (v, v), Some(level0)).port()
        })
        .collect();
    let targets: String = ports
        .iter()
        .map(|p| format!("rsa1024.test@127.0.0.1:{p}\n"))
        .collect();
    let obs = run_sweep(targets, &[]).await;
    assert_eq!(obs.len(), 2);
    for o in &obs {
        let c = o.cert.as_ref().unwrap();
        assert_eq!((c.serial.as_str(), c.key_bits), ("1024", 1024));
        assert!(
            o.findings.contains(&certsweep::model::Finding::WeakKey),
            "{:?}",
            o.findings
        );
        let e = o.error.as_ref().unwrap();
        assert!(
            e.message.starts_with("the server's RSA key has 1024 bits"),
            "{}",
            e.message
        );
        // Said in words, not left for a verdict to guess at.
        assert!(
            o.trust_detail.as_deref().is_some_and(|d| d.contains(
                "the certificate has an RSA key of 1024 bits, which current clients refuse (they need 2048 or more)"
            )),
            "{:?}",
            o.trust_detail
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ca_key_the_checks_refuse_is_named_in_words_not_an_altered_signature() {
    // Old private hierarchies (an AD CS installed with 1024-bit keys) still sign with them.
    // webpki checks no RSA signature by such a key, and the detail said a certificate had
    // been altered.
    use certsweep::model::Finding;
    use openssl::ssl::{SslContextBuilder, SslVersion};
    use openssl::{hash, pkey, rsa};
    let rsa = |bits| pkey::PKey::from_rsa(rsa::Rsa::generate(bits).unwrap()).unwrap();
    let sha256 = hash::MessageDigest::sha256();
    type Ca = (openssl::x509::X509, pkey::PKey<pkey::Private>);
    let ca = |cn, serial, key: pkey::PKey<pkey::Private>, issuer: Option<&Ca>| -> Ca {
        let issuer = issuer.map(|(c, k)| (c, k));
        (
            openssl_cert_named(cn, false, serial, &key, issuer, sha256, &[]),
            key,
        )
    };
    let sound_root = ca("Sound Root", "A1", rsa(2048), None);
    let small_root = ca("Small Root", "A2", rsa(1024), None);
    // A 1024-bit intermediate under a sound root; a sound one under a 1024-bit root.
    let small_int = ca("Small Intermediate", "B1", rsa(1024), Some(&sound_root));
    let sound_int = ca("Sound Intermediate", "B2", rsa(2048), Some(&small_root));
    // A copy of the small intermediate's name with another small key, which signed
    // nothing: a signature that does not verify, whatever the key's size.
    let impostor = ca("Small Intermediate", "B3", rsa(1024), Some(&sound_root));
    // A CA on a curve the checks do not know (a German PKI's brainpool).
    let bp_int = ca(
        "Brainpool Intermediate",
        "B4",
        brainpool_key(),
        Some(&sound_root),
    );
    let leaf_key = KeyTypesCa::ec_key();
    let level0: fn(&mut SslContextBuilder) = |b| b.set_security_level(0);
    let v = (SslVersion::TLS1_3, SslVersion::TLS1_3);
    // A server for `name` whose leaf `signer` issued, sending `sent` after it.
    let serve = |name, serial, signer: &Ca, sent: &openssl::x509::X509| {
        let leaf = openssl_cert(
            Some(name),
            serial,
            &leaf_key,
            Some((&signer.0, &signer.1)),
            sha256,
        );
        let chain = [leaf, sent.clone()];
        (
            name,
            openssl_server_chain(&chain, &leaf_key, v, Some(level0)).port(),
        )
    };
    let servers = [
        serve("smallint.test", "C1", &small_int, &small_int.0),
        serve("smallroot.test", "C2", &sound_int, &sound_int.0),
        serve("brainpool.test", "C4", &bp_int, &bp_int.0),
        serve("altered.test", "C3", &small_int, &impostor.0),
    ];
    let targets: String = servers
        .iter()
        .map(|(n, p)| format!("{n}@127.0.0.1:{p}\n"))
        .collect();
    let obs = sweep_trusting_only(targets, &[&sound_root.0, &small_root.0]).await;
    let judged = |host| trust_of(&obs, host);
    let (findings, detail) = judged("smallint.test");
    assert_eq!(findings, [Finding::WeakKey], "{detail}");
    assert_eq!(detail, "the CA certificate \"CN=Small Intermediate\" the server sends has an RSA key of 1024 bits, which current clients refuse (they need 2048 or more): its signatures cannot be checked");
    let (findings, detail) = judged("smallroot.test");
    assert_eq!(findings, [Finding::WeakKey], "{detail}");
    assert!(detail.starts_with("the CA certificate \"CN=Small Root\" trusted here (a root, or a --ca-file certificate) has an RSA key of 1024 bits"), "{detail}");
    let (findings, detail) = judged("brainpool.test");
    assert_eq!(findings, [Finding::ChainInvalid], "{detail}");
    assert_eq!(detail, "the CA certificate \"CN=Brainpool Intermediate\" the server sends has an EC key on the brainpoolP256r1 curve, which browsers, Go and Java clients do not support (OpenSSL and Windows do): its signatures cannot be checked");
    let (findings, detail) = judged("altered.test");
    assert_eq!(findings, [Finding::ChainInvalid], "{detail}");
    assert!(
        detail.starts_with("a signature in the chain does not verify"),
        "{detail}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ca_with_critical_policy_extensions_is_checked_not_refused() {
    // RFC 5280 has inhibitAnyPolicy and policyConstraints always critical, and PKIs built
    // to it (governments', banks') mark certificatePolicies critical too. Browsers, OpenSSL,
    // Go and Java process them; webpki refuses them, and such chains were chain_invalid.
    use certsweep::model::Finding;
    use openssl::ssl::SslVersion;
    use openssl::{hash, pkey, x509::X509};
    let sha256 = hash::MessageDigest::sha256();
    // certificatePolicies: anyPolicy; inhibitAnyPolicy: 0.
    let any_policy: &[u8] = &[0x30, 0x08, 0x30, 0x06, 0x06, 0x04, 0x55, 0x1d, 0x20, 0x00];
    let policies = [
        ("2.5.29.32", true, any_policy),
        ("2.5.29.54", true, &[0x02, 0x01, 0x00][..]),
    ];
    type Ca = (X509, pkey::PKey<pkey::Private>);
    let ca = |cn, serial, issuer: Option<&Ca>, extra| -> Ca {
        let key = KeyTypesCa::ec_key();
        let issuer = issuer.map(|(c, k)| (c, k));
        (
            openssl_cert_named(cn, false, serial, &key, issuer, sha256, extra),
            key,
        )
    };
    let root = ca("Policy Root", "E1", None, &[]);
    let other_root = ca("Untrusted Root", "E2", None, &[]);
    let policy_ca = ca("Policy CA", "E3", Some(&root), &policies);
    let stray_ca = ca("Stray Policy CA", "E4", Some(&other_root), &policies);
    // A root's name with another key, and a policy CA it signed: its signature by the
    // trusted root's key does not verify.
    let fake_root = ca("Policy Root", "E5", None, &[]);
    let forged_ca = ca("Forged Policy CA", "E6", Some(&fake_root), &policies);
    // A root confined to corp.test, which the check above the policy CA would not apply:
    // the refusal stands, in words.
    let corp_only: &[u8] = &[
        0x30, 0x0f, 0xa0, 0x0d, 0x30, 0x0b, 0x82, 0x09, b'c', b'o', b'r', b'p', b'.', b't', b'e',
        b's', b't',
    ];
    let confined = [("2.5.29.30", true, corp_only)];
    let corp_root = ca("Corp Root", "E7", None, &confined);
    let corp_ca = ca("Corp Policy CA", "E8", Some(&corp_root), &policies);
    let leaf_key = KeyTypesCa::ec_key();
    // A server for `name` whose leaf `signer` issued, sent with `signer`'s certificate.
    let serve = |name, serial, signer: &Ca, extra| {
        let issuer = Some((&signer.0, &signer.1));
        let leaf = openssl_cert_named(name, true, serial, &leaf_key, issuer, sha256, extra);
        let v = (SslVersion::TLS1_3, SslVersion::TLS1_3);
        let chain = [leaf, signer.0.clone()];
        (
            name,
            openssl_server_chain(&chain, &leaf_key, v, None).port(),
        )
    };
    let servers = [
        serve("policy.test", "F1", &policy_ca, &[][..]),
        serve("stray.test", "F2", &stray_ca, &[]),
        serve("forged.test", "F4", &forged_ca, &[]),
        serve("outside.test", "F5", &corp_ca, &[]),
        // The leaf's own critical certificatePolicies: not checked, and said so.
        serve("leafpolicy.test", "F3", &policy_ca, &policies[..1]),
    ];
    let targets: String = servers
        .iter()
        .map(|(n, p)| format!("{n}@127.0.0.1:{p}\n"))
        .collect();
    let obs = sweep_trusting_only(targets, &[&root.0, &corp_root.0]).await;
    let judged = |host| trust_of(&obs, host);
    assert_eq!(judged("policy.test"), (vec![], String::new()));
    let (findings, detail) = judged("stray.test");
    assert_eq!(findings, [Finding::UnknownIssuer], "{detail}");
    assert!(detail.starts_with("the chain ends at \"CN=Stray Policy CA\", whose issuer \"CN=Untrusted Root\" is neither sent nor trusted"), "{detail}");
    let (findings, detail) = judged("forged.test");
    assert_eq!(findings, [Finding::UnknownIssuer], "{detail}");
    assert!(
        detail.contains("(or its signature does not verify)"),
        "{detail}"
    );
    let (findings, detail) = judged("outside.test");
    assert_eq!(findings, [Finding::ChainInvalid], "{detail}");
    assert!(detail.starts_with("the CA certificate \"CN=Corp Policy CA\" has the critical extension certificatePolicies (2.5.29.32)"), "{detail}");
    let (findings, detail) = judged("leafpolicy.test");
    assert_eq!(findings, [Finding::ChainInvalid], "{detail}");
    assert_eq!(detail, "the certificate has the critical extension certificatePolicies (2.5.29.32), which browsers, OpenSSL, Go and Java process and certsweep's path validator (webpki) does not: the chain was not checked");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ca_whose_key_usage_leaves_out_certificate_signing_is_refused() {
    // A private CA made from a server template (keyUsage digitalSignature, cRLSign): browsers,
    // OpenSSL and Java refuse what it signed; webpki does not check it, and the chain was
    // trusted.
    use certsweep::model::Finding;
    use openssl::hash::MessageDigest;
    use openssl::ssl::SslVersion;
    let sha256 = MessageDigest::sha256();
    let (root_key, ca_key, leaf_key) = (
        KeyTypesCa::ec_key(),
        KeyTypesCa::ec_key(),
        KeyTypesCa::ec_key(),
    );
    let root = openssl_cert_named("Usage Root", false, "D1", &root_key, None, sha256, &[]);
    // Key Usage: digitalSignature and cRLSign, critical.
    let usage = [("2.5.29.15", true, &[0x03, 0x02, 0x01, 0x82][..])];
    let ca = openssl_cert_named(
        "Signing-Less CA",
        false,
        "D2",
        &ca_key,
        Some((&root, &root_key)),
        sha256,
        &usage,
    );
    let leaf = openssl_cert(
        Some("usage.test"),
        "D3",
        &leaf_key,
        Some((&ca, &ca_key)),
        sha256,
    );
    let v = (SslVersion::TLS1_3, SslVersion::TLS1_3);
    let port = openssl_server_chain(&[leaf, ca], &leaf_key, v, None).port();
    let obs = sweep_trusting_only(format!("usage.test@127.0.0.1:{port}\n"), &[&root]).await;
    assert_eq!(
        obs[0].findings,
        [Finding::ChainInvalid],
        "{:?}",
        obs[0].trust_detail
    );
    assert_eq!(
        obs[0].trust_detail.as_deref(),
        Some("the CA certificate \"CN=Signing-Less CA\" has a Key Usage without keyCertSign, so browsers, OpenSSL and Java clients refuse the certificates it signed (Go accepts them)")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leaf_naming_its_issuer_in_another_string_type_is_trusted_with_a_note() {
    // A CA whose software writes its name into the leaves it signs as PrintableString,
    // while its own certificate's subject is a UTF8String. RFC 5280 compares the names, as
    // browsers and OpenSSL do; webpki compares bytes, and the chain was incomplete_chain.
    use openssl::ssl::SslVersion;
    use openssl::{asn1, bn, hash, nid::Nid, x509};
    let sha256 = hash::MessageDigest::sha256();
    let (root_key, ca_key, leaf_key) = (
        KeyTypesCa::ec_key(),
        KeyTypesCa::ec_key(),
        KeyTypesCa::ec_key(),
    );
    let root = openssl_cert_named("Spelling Root", false, "C1", &root_key, None, sha256, &[]);
    let ca = openssl_cert_named(
        "Spelling CA",
        false,
        "C2",
        &ca_key,
        Some((&root, &root_key)),
        sha256,
        &[],
    );
    let mut issuer = x509::X509NameBuilder::new().unwrap();
    issuer
        .append_entry_by_nid_with_type(
            Nid::COMMONNAME,
            "Spelling CA",
            asn1::Asn1Type::PRINTABLESTRING,
        )
        .unwrap();
    let issuer = issuer.build();
    let mut subject = x509::X509NameBuilder::new().unwrap();
    subject.append_entry_by_text("CN", "spelling.test").unwrap();
    let subject = subject.build();
    let mut b = x509::X509Builder::new().unwrap();
    b.set_version(2).unwrap();
    b.set_serial_number(
        &bn::BigNum::from_u32(0xC3)
            .unwrap()
            .to_asn1_integer()
            .unwrap(),
    )
    .unwrap();
    b.set_subject_name(&subject).unwrap();
    b.set_issuer_name(&issuer).unwrap();
    b.set_pubkey(&leaf_key).unwrap();
    b.set_not_before(&asn1::Asn1Time::days_from_now(0).unwrap())
        .unwrap();
    b.set_not_after(&asn1::Asn1Time::days_from_now(30).unwrap())
        .unwrap();
    let san = x509::extension::SubjectAlternativeName::new()
        .dns("spelling.test")
        .build(&b.x509v3_context(Some(&ca), None))
        .unwrap();
    b.append_extension(san).unwrap();
    b.append_extension(
        x509::extension::ExtendedKeyUsage::new()
            .server_auth()
            .build()
            .unwrap(),
    )
    .unwrap();
    b.sign(&ca_key, sha256).unwrap();
    let leaf = b.build();
    let v = (SslVersion::TLS1_3, SslVersion::TLS1_3);
    // The same key in a CA certificate of another name: not the leaf's issuer, whatever
    // the key.
    let renamed = openssl_cert_named(
        "Renamed CA",
        false,
        "C4",
        &ca_key,
        Some((&root, &root_key)),
        sha256,
        &[],
    );
    let other = openssl_server_chain(&[leaf.clone(), renamed], &leaf_key, v, None).port();
    let port = openssl_server_chain(&[leaf, ca], &leaf_key, v, None).port();
    let targets = format!("spelling.test@127.0.0.1:{port}\nspelling.test@127.0.0.1:{other}\n");
    let mut obs = sweep_trusting_only(targets, &[&root]).await;
    obs.sort_by_key(|o| o.port != port);
    assert_eq!(
        obs[1].findings,
        [certsweep::model::Finding::IncompleteChain],
        "{:?}",
        obs[1].trust_detail
    );
    assert_eq!(obs[0].findings, [], "{:?}", obs[0].trust_detail);
    assert!(
        obs[0].trust_detail.as_deref().is_some_and(|d| d.starts_with(
            "the certificate names its issuer \"CN=Spelling CA\" written otherwise than that CA certificate's subject"
        )),
        "{:?}",
        obs[0].trust_detail
    );
}

/// The trust findings and detail of the observation of `host` in `obs`.
fn trust_of(obs: &[Observation], host: &str) -> (Vec<Finding>, String) {
    let o = obs.iter().find(|o| o.host == host).unwrap();
    (
        o.findings.clone(),
        o.trust_detail.clone().unwrap_or_default(),
    )
}

/// Sweeps `targets` trusting only `roots` (through `--ca-file`, without the public roots).
async fn sweep_trusting_only(targets: String, roots: &[&openssl::x509::X509]) -> Vec<Observation> {
    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("roots.pem");
    let pem: Vec<u8> = roots.iter().flat_map(|r| r.to_pem().unwrap()).collect();
    std::fs::write(&ca_file, pem).unwrap();
    let args = ["--ca-file", ca_file.to_str().unwrap(), "--no-public-roots"];
    run_sweep(targets, &args).await
}

/// A key on brainpoolP256r1, which German PKIs use and browsers do not know.
fn brainpool_key() -> openssl::pkey::PKey<openssl::pkey::Private> {
    use openssl::{ec, nid, pkey};
    let group = ec::EcGroup::from_curve_name(nid::Nid::BRAINPOOL_P256R1).unwrap();
    pkey::PKey::from_ec_key(ec::EcKey::generate(&group).unwrap()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_brainpool_certificate_is_read_and_told_unsupported_by_browsers() {
    // A TLS 1.2 server with an ECDSA certificate on a brainpool curve picks a suite only for
    // a client that lists the curve; no browser does, nor rustls. It was `tls_protocol`,
    // with no certificate to compare with the records.
    use certsweep::model::Finding;
    use openssl::ssl::SslVersion;
    let ca = KeyTypesCa::new();
    let key = brainpool_key();
    let sha256 = openssl::hash::MessageDigest::sha256();
    let leaf = openssl_cert(
        Some("bp.test"),
        "B9",
        &key,
        Some((&ca.cert, &ca.key)),
        sha256,
    );
    let versions = (SslVersion::TLS1_2, SslVersion::TLS1_3);
    let port = openssl_server_chain(&[leaf], &key, versions, None).port();
    let targets = format!("bp.test@127.0.0.1:{port}\n");
    let obs = sweep_trusting_only(targets, &[&ca.cert]).await;
    let c = obs[0].cert.as_ref().expect("the certificate is read");
    assert_eq!((c.serial.as_str(), c.key_type.as_str()), ("B9", "EC"));
    assert_eq!(c.key_curve.as_deref(), Some("brainpoolP256r1"));
    assert_eq!(
        obs[0].findings,
        [Finding::KeyTypeUnsupported, Finding::UncommonTls]
    );
    assert_eq!(
        obs[0].trust_detail.as_deref(),
        Some("the certificate has an ECDSA key on the curve brainpoolP256r1, which browsers, Go and Java clients do not support (OpenSSL and Windows do): their handshakes with the server fail")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pipeline_checks_its_nodes_against_the_certificate_it_deployed() {
    // After deploying a certificate, a pipeline hands certsweep the PEM it deployed: a node
    // still serving the old one fails the step.
    use certsweep::verdict::Status;
    use openssl::ssl::SslVersion;
    let ca = KeyTypesCa::new();
    let versions = (SslVersion::TLS1_2, SslVersion::TLS1_3);
    let old = openssl_server_keys(&[ca.ecdsa("deploy.test", "0D01")], versions);
    let (new_cert, new_key) = ca.ecdsa("deploy.test", "0D02");
    let pem = format!(
        "{}{}",
        String::from_utf8(new_cert.to_pem().unwrap()).unwrap(),
        String::from_utf8(ca.cert.to_pem().unwrap()).unwrap()
    );
    let new = openssl_server_keys(&[(new_cert, new_key)], versions);
    let dir = tempfile::tempdir().unwrap();
    let targets = format!(
        "deploy.test@127.0.0.1:{}\ndeploy.test@127.0.0.1:{}\n",
        old.port(),
        new.port()
    );
    let out = ca
        .compare(dir.path(), &targets, &pem, &["--fail-on", "unmanaged"])
        .await;
    assert_eq!(
        out.records, 1,
        "the CA certificate in the file is no record"
    );
    let port = |v: &certsweep::verdict::Verdict| v.observation.port;
    let stale = out.verdicts.iter().find(|v| port(v) == old.port()).unwrap();
    assert_eq!(stale.status, Status::Unmanaged, "{}", stale.detail);
    assert!(stale
        .findings
        .contains(&"names_managed_elsewhere".to_string()));
    assert_eq!(
        stale.expected.as_ref().and_then(|e| e.serial.as_deref()),
        Some("D02")
    );
    let fresh = out.verdicts.iter().find(|v| port(v) == new.port()).unwrap();
    assert_eq!(fresh.status, Status::Current, "{}", fresh.detail);
    assert_eq!(out.exit_code, 1);
    // The same as a JUnit report: the node serving the old certificate fails, with its
    // verdict's status, detail and next step.
    let junit = dir.path().join("junit.xml");
    let junit_arg = junit.to_str().unwrap();
    ca.compare(
        dir.path(),
        &targets,
        &pem,
        &["--fail-on", "unmanaged", "--junit", junit_arg],
    )
    .await;
    let (cases, counts) = junit_cases(&std::fs::read_to_string(&junit).unwrap());
    assert_eq!(counts, ("2".to_string(), "1".to_string()));
    let on = |p: u16| {
        cases
            .iter()
            .find(|c| c.1 == format!("deploy.test 127.0.0.1:{p}"))
            .unwrap()
    };
    assert_eq!(on(old.port()).2.as_deref(), Some("unmanaged"));
    assert!(
        on(old.port()).3.contains("\nNext step: "),
        "{:?}",
        on(old.port())
    );
    assert_eq!(on(new.port()).2, None);
    assert!(
        on(new.port()).3.starts_with("current: "),
        "{:?}",
        on(new.port())
    );
    // And as metrics: each node's verdict, with the serial it serves and the one it should.
    let prom = dir.path().join("certsweep.prom");
    ca.compare(
        dir.path(),
        &targets,
        &pem,
        &[
            "--fail-on",
            "unmanaged",
            "--metrics",
            prom.to_str().unwrap(),
        ],
    )
    .await;
    let text = std::fs::read_to_string(&prom).unwrap();
    for line in [
        "certsweep_endpoints_by_status{status=\"current\"} 1".to_string(),
        "certsweep_endpoints_by_status{status=\"unmanaged\"} 1".to_string(),
        format!(
            "certsweep_endpoint_status{{name=\"deploy.test\",address=\"127.0.0.1\",port=\"{}\",status=\"unmanaged\",serial=\"D01\",expected_serial=\"D02\"}} 1",
            old.port()
        ),
    ] {
        assert!(text.lines().any(|l| l == line), "{line}\n{text}");
    }
    // Findings fail a run as statuses do.
    for (fail_on, code) in [("names_managed_elsewhere", 1), ("newer_than_records", 0)] {
        let out = ca
            .compare(dir.path(), &targets, &pem, &["--fail-on", fail_on])
            .await;
        assert_eq!(out.exit_code, code, "--fail-on {fail_on}");
    }
}

/// A JUnit test case: classname, name, the failure's type if failed, the failure's or
/// the standard output's text.
type JunitSeen = (String, String, Option<String>, String);

/// The test cases of a JUnit report, and the suite's tests and failures counts.
fn junit_cases(xml: &str) -> (Vec<JunitSeen>, (String, String)) {
    use quick_xml::events::Event;
    use quick_xml::XmlVersion::Implicit1_0;
    let attr = |e: &quick_xml::events::BytesStart<'_>, name: &str| {
        e.attributes()
            .flatten()
            .find(|a| AsRef::<str>::as_ref(&a.key) == name)
            .map(|a| a.normalized_value(Implicit1_0).unwrap().to_string())
            .unwrap_or_default()
    };
    let mut r = quick_xml::Reader::from_str(xml);
    let mut cases = Vec::new();
    let mut counts = (String::new(), String::new());
    let mut text = String::new();
    loop {
        match r.read_event().expect("well-formed XML") {
            Event::Start(e) => match AsRef::<str>::as_ref(&e.name()) {
                "testsuite" => counts = (attr(&e, "tests"), attr(&e, "failures")),
                "testcase" => {
                    cases.push((attr(&e, "classname"), attr(&e, "name"), None, String::new()))
                }
                "failure" => {
                    if let Some(c) = cases.last_mut() {
                        c.2 = Some(attr(&e, "type"));
                    }
                    text.clear();
                }
                _ => text.clear(),
            },
            Event::Text(t) => text.push_str(&t.xml_content(Implicit1_0)),
            Event::GeneralRef(g) => text.push_str(
                quick_xml::escape::resolve_predefined_entity(&g.xml_content(Implicit1_0))
                    .unwrap_or("?"),
            ),
            Event::End(e)
                if matches!(AsRef::<str>::as_ref(&e.name()), "failure" | "system-out") =>
            {
                if let Some(c) = cases.last_mut() {
                    if c.3.is_empty() {
                        c.3 = std::mem::take(&mut text);
                    }
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    (cases, counts)
}

/// A valid certificate for good.test (`serial`) and an expired one for expired.test (the
/// next serial), each served on a loopback port of its own, the root in `ca`.
struct GoodAndExpired {
    pki: Pki,
    dir: tempfile::TempDir,
    ca: String,
    good: fleet::Leaf,
    expired: fleet::Leaf,
    s_good: fleet::Server,
    s_exp: fleet::Server,
}

async fn good_and_expired(label: &str, serial: u64) -> GoodAndExpired {
    let pki = Pki::new(label).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ca = root_file(&pki, &dir);
    let any = SocketAddr::new(ip("127.0.0.1"), 0);
    let good = valid_leaf(&pki, "good.test", serial);
    let expired = pki
        .issue(&LeafSpec::new(&["expired.test"], serial + 1, 400, -5))
        .unwrap();
    let s_good = fleet::serve_tls(any, &good, &[], None).await.unwrap();
    let s_exp = fleet::serve_tls(any, &expired, &[], None).await.unwrap();
    GoodAndExpired {
        pki,
        dir,
        ca,
        good,
        expired,
        s_good,
        s_exp,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn junit_has_a_case_per_endpoint_failed_as_fail_on_says() {
    let GoodAndExpired {
        dir,
        ca,
        good,
        expired,
        s_good,
        s_exp,
        ..
    } = good_and_expired("Junit", 3101).await;
    let targets = dir.path().join("targets.txt");
    let refused = refused_addr();
    std::fs::write(
        &targets,
        format!(
            "good.test@{}\nexpired.test@{}\ngood.test@{refused}\nbad.test:99999\n",
            s_good.addr, s_exp.addr,
        ),
    )
    .unwrap();
    let junit = dir.path().join("junit.xml");
    let run = |extra: &[&str]| {
        let mut argv = vec![
            "--targets",
            targets.to_str().unwrap(),
            "--ca-file",
            &ca,
            "--no-public-roots",
            "--quiet",
            "--junit",
            junit.to_str().unwrap(),
        ];
        argv.extend_from_slice(extra);
        certsweep::scan::run_scan(scan_args(&argv))
    };
    assert_eq!(run(&["--fail-on", "expired,unreachable"]).await.unwrap(), 1);
    let xml = std::fs::read_to_string(&junit).unwrap();
    let (cases, counts) = junit_cases(&xml);
    assert_eq!(counts, ("4".to_string(), "2".to_string()), "{xml}");
    assert_eq!(cases.len(), 4, "{xml}");
    // The bad line is a case too, in error: nothing was checked for it.
    assert!(
        xml.contains("errors=\"1\"")
            && xml.contains(&format!("name=\"{}:4\"", targets.display()))
            && xml.contains("bad port &quot;99999&quot; (1-65535)\" type=\"bad_input\"/>"),
        "{xml}"
    );
    let case = |name: String| cases.iter().find(|c| c.1 == name).expect("a case");
    let expired_case = case(format!("expired.test {}", s_exp.addr));
    let good_case = case(format!("good.test {}", s_good.addr));
    let refused_case = case(format!("good.test {refused}"));
    assert_eq!(expired_case.0, "expired.test");
    assert_eq!(expired_case.2.as_deref(), Some("expired"));
    assert!(
        expired_case.3.contains(&format!(
            "serial {}",
            certsweep::cert::cert_info(&expired.chain[0])
                .unwrap()
                .serial
        )) && expired_case.3.contains("findings: expired"),
        "{}",
        expired_case.3
    );
    assert_eq!(good_case.2, None);
    assert!(good_case.3.starts_with("serial "), "{}", good_case.3);
    assert_eq!(refused_case.2.as_deref(), Some("unreachable"));
    assert!(
        refused_case.3.starts_with("connect_refused: "),
        "{}",
        refused_case.3
    );
    // Without --fail-on nothing fails, as the exit code says; every endpoint is a case.
    // (And the CSV report asked to start with a byte order mark for Excel does.)
    let report = dir.path().join("report.csv");
    let bom = ["--report", report.to_str().unwrap(), "--bom"];
    assert_eq!(run(&bom).await.unwrap(), 0);
    let csv = std::fs::read(&report).unwrap();
    assert!(csv.starts_with(b"\xEF\xBB\xBFscan_time,host,"), "{csv:?}");
    // Prometheus metrics: each endpoint's expiry, and the counts.
    let prom = dir.path().join("certsweep.prom");
    assert_eq!(
        run(&["--metrics", prom.to_str().unwrap()]).await.unwrap(),
        0
    );
    let text = std::fs::read_to_string(&prom).unwrap();
    let good_info = certsweep::cert::cert_info(&good.chain[0]).unwrap();
    for line in [
        "certsweep_endpoints 3".to_string(),
        "certsweep_sweep_interrupted 0".to_string(),
        "certsweep_endpoints_without_certificate{class=\"connect_refused\"} 1".to_string(),
        "certsweep_endpoints_with_finding{finding=\"expired\"} 1".to_string(),
        format!(
            "certsweep_certificate_expiry_timestamp_seconds{{name=\"good.test\",address=\"127.0.0.1\",port=\"{}\",serial=\"{}\"}} {}",
            s_good.addr.port(),
            good_info.serial,
            good_info.not_after_unix
        ),
    ] {
        assert!(text.lines().any(|l| l == line), "{line}\n{text}");
    }
    assert!(!text.contains("certsweep_endpoint_status"), "{text}");
    let (cases, counts) = junit_cases(&std::fs::read_to_string(&junit).unwrap());
    assert_eq!(counts, ("4".to_string(), "0".to_string()));
    assert!(cases.iter().all(|c| c.2.is_none()));
}

/// `--fail-on` without records: exit 1 on what an endpoint earns alone (it was silently
/// ignored, so a pipeline's `--fail-on expired` passed with an expired certificate), and a
/// usage error for a verdict that needs records.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fail_on_without_records_fails_on_what_an_endpoint_earns_alone() {
    let GoodAndExpired {
        pki,
        dir,
        ca,
        s_good,
        s_exp,
        ..
    } = good_and_expired("FailOn", 3001).await;
    let any = SocketAddr::new(ip("127.0.0.1"), 0);
    let targets = dir.path().join("targets.txt");
    let run = |lines: String, extra: &'static [&'static str]| {
        std::fs::write(&targets, lines).unwrap();
        let mut argv = vec![
            "--targets",
            targets.to_str().unwrap(),
            "--ca-file",
            &ca,
            "--no-public-roots",
            "--quiet",
        ];
        argv.extend_from_slice(extra);
        certsweep::scan::run_scan(scan_args(&argv))
    };
    let good_line = format!("good.test@{}\n", s_good.addr);
    let both = format!("{good_line}expired.test@{}\n", s_exp.addr);
    let fail_all: &[&str] = &[
        "--fail-on",
        "expired,untrusted,hostname_mismatch,unreachable",
    ];
    assert_eq!(run(good_line.clone(), fail_all).await.unwrap(), 0);
    assert_eq!(run(both.clone(), fail_all).await.unwrap(), 1);
    // Without --fail-on a sweep without records exits 0 whatever it found.
    assert_eq!(run(both, &[]).await.unwrap(), 0);
    // 80 days left: inside a 100-day renewal window, not the default 30.
    let soon: &[&str] = &["--fail-on", "expiring_soon", "--renewal-window", "100d"];
    assert_eq!(run(good_line.clone(), soon).await.unwrap(), 1);
    assert_eq!(
        run(good_line.clone(), &["--fail-on", "expiring_soon"])
            .await
            .unwrap(),
        0
    );
    // A short-lived certificate (issued 8 days ago, 16 left of its 24) is renewed by its
    // ACME client with 8 days left, a third of its life: not expiring soon before that by
    // default, though within 30 days; a window given is the user's policy and holds.
    let short = pki
        .issue(&LeafSpec::new(&["short.test"], 3004, 8, 16))
        .unwrap();
    let s_short = fleet::serve_tls(any, &short, &[], None).await.unwrap();
    let short_line = format!("short.test@{}\n", s_short.addr);
    let by_default: &[&str] = &["--fail-on", "expiring_soon"];
    assert_eq!(run(short_line.clone(), by_default).await.unwrap(), 0);
    let given: &[&str] = &["--fail-on", "expiring_soon", "--renewal-window", "30d"];
    assert_eq!(run(short_line, given).await.unwrap(), 1);
    // With 7 days left of its 24 it is late.
    let late = pki
        .issue(&LeafSpec::new(&["late.test"], 3005, 17, 7))
        .unwrap();
    let s_late = fleet::serve_tls(any, &late, &[], None).await.unwrap();
    let late_line = format!("late.test@{}\n", s_late.addr);
    assert_eq!(run(late_line, by_default).await.unwrap(), 1);
    let refused = format!("good.test@{}\n", refused_addr());
    assert_eq!(
        run(refused, &["--fail-on", "unreachable"]).await.unwrap(),
        1
    );
    // The observation's findings too: a server that sends no intermediate.
    let bare = pki
        .issue(&LeafSpec::new(&["bare.test"], 3003, 10, 80).with_chain(ChainKind::LeafOnly))
        .unwrap();
    let s_bare = fleet::serve_tls(any, &bare, &[], None).await.unwrap();
    let bare_line = format!("bare.test@{}\n", s_bare.addr);
    let chain: &[&str] = &["--fail-on", "incomplete_chain"];
    assert_eq!(run(bare_line, chain).await.unwrap(), 1);
    assert_eq!(run(good_line.clone(), chain).await.unwrap(), 0);
    let needs_records: [&'static [&'static str]; 2] = [
        &["--fail-on", "renewed_not_deployed"],
        &["--fail-on", "partial_rollout"],
    ];
    for argv in needs_records {
        let err = run(good_line.clone(), argv).await.unwrap_err();
        assert!(
            matches!(&err, certsweep::Error::Usage(m) if m.contains("needs --inventory")),
            "{err}"
        );
    }
    let err = run(good_line, &["--fail-on", "expird"]).await.unwrap_err();
    assert!(
        matches!(&err, certsweep::Error::Usage(m) if m.contains("unknown status or finding \"expird\"")),
        "{err}"
    );
}

/// A target list that can be read once (`--targets <(...)`, a FIFO): it was counted for the
/// progress bar first, which emptied it, and the sweep said "nothing to scan" (exit 2).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_target_list_from_a_pipe_is_read_once() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("targets.fifo");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status();
    if !made.is_ok_and(|s| s.success()) {
        eprintln!("skipped: no mkfifo here");
        return;
    }
    let report = dir.path().join("scan.csv");
    for strict in [false, true] {
        let writer = {
            let fifo = fifo.clone();
            // Port 1 on two loopback addresses: nothing listens, two distinct endpoints.
            let lines = "127.0.0.1:1\n127.0.0.2:1\n".to_string();
            std::thread::spawn(move || std::fs::write(fifo, lines).unwrap())
        };
        let mut argv = vec![
            "--targets",
            fifo.to_str().unwrap(),
            "--report",
            report.to_str().unwrap(),
            "--quiet",
        ];
        if strict {
            argv.push("--strict");
        }
        assert_eq!(
            certsweep::scan::run_scan(scan_args(&argv)).await.unwrap(),
            0,
            "strict: {strict}"
        );
        writer.join().unwrap();
        let rows = csv::Reader::from_path(&report).unwrap().records().count();
        assert_eq!(rows, 2, "strict: {strict}");
    }
}

/// A records report that cannot be written fails the run before any connection (it was
/// found out after the whole sweep, when the report was written).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unwritable_records_report_fails_before_the_sweep() {
    let dir = tempfile::tempdir().unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let targets = dir.path().join("targets.txt");
    std::fs::write(&targets, format!("{}\n", listener.local_addr().unwrap())).unwrap();
    let inventory = dir.path().join("inv.csv");
    std::fs::write(&inventory, "Serial Number,Common Name\n0A,a.test\n").unwrap();
    let unwritable = dir.path().join("no-such-dir").join("records.csv");
    let args = scan_args(&[
        "--targets",
        targets.to_str().unwrap(),
        "--inventory",
        inventory.to_str().unwrap(),
        "--records-report",
        unwritable.to_str().unwrap(),
        "--quiet",
    ]);
    let err = certsweep::scan::run_scan(args).await.unwrap_err();
    assert!(err.to_string().contains("records.csv"), "{err}");
    assert_eq!(
        listener.accept().map(|_| ()).unwrap_err().kind(),
        std::io::ErrorKind::WouldBlock,
        "an endpoint was connected to"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn excluded_names_and_addresses_are_never_connected_to_and_are_counted() {
    // Servers on four loopback addresses that take each connection and drop it: every
    // endpoint connected to becomes a row (a TLS error), whatever it is.
    let (port, servers) = dropping_listeners(&[2, 3, 4, 5]).await;
    let dns = support::dns_server(
        "test.",
        &[
            ("a.test.", ip("127.0.0.2")),
            ("a.test.", ip("127.0.0.3")),
            ("b.test.", ip("127.0.0.2")),
            ("ex.plc.test.", ip("127.0.0.2")),
        ],
        &[],
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let list = dir.path().join("do-not-scan.txt");
    std::fs::write(
        &list,
        "# the plant\n127.0.0.3\n*.plc.test\nb.test  # fragile\n127.0.0.5\n",
    )
    .unwrap();
    let targets = "a.test\nb.test\nex.plc.test\n127.0.0.4/31\nc.test@127.0.0.3\n".to_string();
    let resolver = dns.addr.to_string();
    let port = port.to_string();
    let list = list.to_str().unwrap();
    let args = ["--resolver", &resolver, "--port", &port, "--exclude", list];
    let (obs, counters) = sweep_counted(targets.clone(), &args).await;
    let mut rows: Vec<String> = by_key(&obs).into_keys().collect();
    rows.sort();
    assert_eq!(rows, ["127.0.0.4@127.0.0.4", "a.test@127.0.0.2"]);
    use std::sync::atomic::Ordering::Relaxed;
    assert_eq!(
        counters.excluded_names.load(Relaxed),
        2,
        "b.test, ex.plc.test"
    );
    assert_eq!(
        counters.excluded_addresses.load(Relaxed),
        3,
        "a.test at .3, 127.0.0.5 of the block, c.test pinned to .3"
    );
    // Without the list, all seven endpoints.
    let args = ["--resolver", &resolver, "--port", &port];
    assert_eq!(sweep_counted(targets, &args).await.0.len(), 7);
    // A bad line stops the run before anything is scanned, naming file and line.
    let bad = dir.path().join("bad.txt");
    std::fs::write(&bad, "127.0.0.3\n127.0.0.300\n").unwrap();
    let err = certsweep::scan::build_engine(&scan_args(&["--exclude", bad.to_str().unwrap()]))
        .err()
        .expect("refused");
    assert!(err.to_string().contains("bad.txt:2"), "{err}");
    assert_eq!(err.exit_code(), 2);
    for s in servers {
        s.abort();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_name_behind_a_cname_is_scanned_at_every_address_of_its_target() {
    use hickory_server::proto::rr::{rdata::CNAME, RData};
    use support::dcvfix::{a, name, rec, Zone};
    // www.test is a CNAME of a load balancer's name with two addresses, each node with its
    // own certificate for www.test; gone.test points at a name that does not exist.
    let (pki, port, nodes) = two_nodes("Cname", "www.test", 3001).await;
    let (dns_addr, _dns) = support::dcvfix::dns_here(&[Zone {
        origin: "test.",
        serial: 1,
        records: vec![
            rec("www.test.", RData::CNAME(CNAME(name("lb.test.")))),
            a("lb.test.", [127, 0, 0, 2]),
            a("lb.test.", [127, 0, 0, 3]),
            rec("gone.test.", RData::CNAME(CNAME(name("nowhere.test.")))),
        ],
    }])
    .await;
    let dir = tempfile::tempdir().unwrap();
    let ca = root_file(&pki, &dir);
    let resolver = dns_addr.to_string();
    let targets = format!("www.test:{port}\ngone.test:{port}\n");
    let obs = run_sweep(
        targets,
        &[
            "--resolver",
            &resolver,
            "--ca-file",
            &ca,
            "--no-public-roots",
        ],
    )
    .await;
    let by = by_key(&obs);
    assert_eq!(by.len(), 3, "{:?}", by.keys());
    // Each node under the name asked for, with it as SNI: the alias's target is no
    // endpoint of its own.
    for (node, serial) in [
        ("127.0.0.2", "8A0000000000000BB9"),
        ("127.0.0.3", "8A0000000000000BBA"),
    ] {
        let o = by[&format!("www.test@{node}")];
        assert_eq!(o.sni.as_deref(), Some("www.test"));
        assert_eq!(o.cert.as_ref().map(|c| c.serial.as_str()), Some(serial));
        assert!(o.findings.is_empty(), "{:?}", o.findings);
    }
    // This authoritative server answers the dangling alias with NOERROR and the CNAME alone
    // (a recursive resolver says NXDOMAIN; see resolve's tests): named with its target.
    let gone = by["gone.test@"];
    assert_eq!(
        gone.error_class(),
        Some(ErrorClass::DnsNoAddress),
        "{gone:?}"
    );
    assert_eq!(
        gone.error.as_ref().map(|e| e.message.as_str()),
        Some("gone.test is an alias (CNAME) of nowhere.test, which has no address records")
    );
    drop(nodes);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endpoint_named_by_two_targets_is_scanned_once() {
    // Servers that take each connection and drop it: every endpoint connected to is a row.
    let (port, servers) = dropping_listeners(&[2, 4, 5]).await;
    let dns = support::dns_server("test.", &[("a.test.", ip("127.0.0.2"))], &[]).await;
    // a.test resolves to the address it is also pinned to (one endpoint); 127.0.0.4 is
    // written two ways (one target), and is in the blocks after it; the /30 overlaps the
    // /31 before it, 127.0.0.6 alone is in it, and so is the /31 after. A block asked for a
    // name (SNI) is other endpoints.
    let targets = format!(
        "a.test:{port}\na.test@127.0.0.2:{port}\n127.0.0.4:{port}\n[127.0.0.4]:{port}\n\
         127.0.0.4/31:{port}\n127.0.0.4/30:{port}\n127.0.0.6:{port}\n127.0.0.6/31:{port}\n\
         x.test@127.0.0.4/31:{port}\n"
    );
    let resolver = dns.addr.to_string();
    let port = port.to_string();
    let args = ["--resolver", &resolver, "--port", &port];
    let (obs, counters) = sweep_counted(targets, &args).await;
    let mut rows: Vec<String> = obs
        .iter()
        .map(|o| format!("{}@{:?} {:?}", o.host, o.ip, o.sni))
        .collect();
    rows.sort();
    // Before: a.test twice, 127.0.0.4 three times, 127.0.0.5 twice, 127.0.0.6 three times.
    assert_eq!(
        rows,
        [
            "127.0.0.4@Some(127.0.0.4) None",
            "127.0.0.4@Some(127.0.0.4) Some(\"x.test\")",
            "127.0.0.5@Some(127.0.0.5) None",
            "127.0.0.5@Some(127.0.0.5) Some(\"x.test\")",
            "127.0.0.6@Some(127.0.0.6) None",
            "127.0.0.7@Some(127.0.0.7) None",
            "a.test@Some(127.0.0.2) Some(\"a.test\")"
        ]
    );
    use std::sync::atomic::Ordering::Relaxed;
    assert_eq!(counters.duplicate_endpoints.load(Relaxed), 7);
    assert_eq!(counters.duplicates.load(Relaxed), 1, "127.0.0.4 twice");
    for s in servers {
        s.abort();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pools_subnet_is_asked_for_the_pools_name_at_every_address() {
    // Two nodes of a pool on 127.0.0.2-3, one still with the old certificate for
    // www.test; `www.test@127.0.0.2/31` asks each for the name, as clients do.
    let (pki, port, nodes) = two_nodes("Pool", "www.test", 4001).await;
    let dir = tempfile::tempdir().unwrap();
    let ca = root_file(&pki, &dir);
    let obs = run_sweep(
        format!("www.test@127.0.0.2/31:{port}\n"),
        &["--ca-file", &ca, "--no-public-roots"],
    )
    .await;
    let by = by_key(&obs);
    assert_eq!(by.len(), 2, "{:?}", by.keys());
    for (node, serial) in [
        ("127.0.0.2", "8A0000000000000FA1"),
        ("127.0.0.3", "8A0000000000000FA2"),
    ] {
        let o = by[&format!("{node}@{node}")];
        assert_eq!(o.sni.as_deref(), Some("www.test"));
        assert_eq!(o.cert.as_ref().map(|c| c.serial.as_str()), Some(serial));
        // Judged against the name asked for: it covers it.
        assert!(o.findings.is_empty(), "{:?}", o.findings);
    }
    drop(nodes);
}

/// Questions asked of one resolver, one name after another (`h{i}.example.net`, A).
async fn ask_in_turn(
    q: &certsweep::engine::dnsq::Questions,
    names: std::ops::Range<usize>,
) -> Vec<Result<certsweep::engine::dnsq::Answer, certsweep::engine::dnsq::Failure>> {
    let mut out = Vec::new();
    for i in names {
        let n = support::dcvfix::name(&format!("h{i}.example.net."));
        out.push(
            q.ask_servers(
                &n,
                hickory_resolver::proto::rr::RecordType::A,
                2,
                std::time::Duration::from_millis(200),
                true,
            )
            .await,
        );
    }
    out
}

fn resolver_zone() -> [support::dcvfix::Zone; 1] {
    [support::dcvfix::Zone {
        origin: "example.net.",
        serial: 1,
        records: (0..40)
            .map(|i| support::dcvfix::a(&format!("h{i}.example.net."), [127, 0, 0, 1]))
            .collect(),
    }]
}

#[tokio::test]
async fn questions_asked_together_go_out_in_batches_each_answered_as_its_own() {
    use certsweep::engine::dnsq::{Failure, Questions};
    use hickory_resolver::proto::rr::{RData, RecordType};
    // 300 names asked at once on one thread: every question waits in the outbox until the
    // first to run again sends them, 32 a system call, yielding between calls so that this
    // thread's resolver reads them. Each answer must reach its own question (its name's
    // address), and one that cannot be sent (to port 0, which the kernel refuses before
    // anything leaves) fails with the socket's error at once, without holding up the
    // questions batched with it.
    let ip = |i: usize| [127, 1, (i / 250) as u8, (i % 250) as u8 + 1];
    let zone = [support::dcvfix::Zone {
        origin: "batch.test.",
        serial: 1,
        records: (0..300)
            .map(|i| support::dcvfix::a(&format!("h{i}.batch.test."), ip(i)))
            .collect(),
    }];
    let (resolver, _server) = support::dcvfix::dns_here(&zone).await;
    let q = Questions::new(vec![resolver]);
    let timeout = std::time::Duration::from_secs(5);
    let ask = |i: usize| {
        let q = &q;
        async move {
            let n = support::dcvfix::name(&format!("h{i}.batch.test."));
            let to = if i == 100 {
                SocketAddr::from(([127, 0, 0, 1], 0))
            } else {
                resolver
            };
            q.ask(to, &n, RecordType::A, true, timeout).await
        }
    };
    let started = std::time::Instant::now();
    let answers = futures_util::future::join_all((0..300).map(ask)).await;
    for (i, r) in answers.into_iter().enumerate() {
        if i == 100 {
            match r {
                Err(Failure::Network(m)) => assert!(
                    m.starts_with("UDP to 127.0.0.1:0: ") && m.contains("os error 22"),
                    "{m}"
                ),
                other => panic!("the question to port 0: {other:?}"),
            }
            continue;
        }
        let got: Vec<RData> = r
            .unwrap_or_else(|e| panic!("h{i}: {e}"))
            .answers
            .into_iter()
            .map(|r| r.data)
            .collect();
        assert_eq!(
            got,
            [RData::A(std::net::Ipv4Addr::from(ip(i)).into())],
            "h{i}"
        );
    }
    // Not one timed out and was asked again.
    assert!(started.elapsed() < timeout, "{:?}", started.elapsed());
}

/// Questions a held socket was sent and never answered.
fn questions_waiting(s: &std::net::UdpSocket) -> usize {
    s.set_nonblocking(true).unwrap();
    let mut buf = [0u8; 1500];
    let mut n = 0;
    while s.recv_from(&mut buf).is_ok() {
        n += 1;
    }
    n
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_first_resolver_is_passed_by_after_three_timeouts() {
    use certsweep::engine::dnsq::Questions;
    // The system's configuration names a resolver that is gone, then one that works:
    // without passing it by, every question waits out its timeout there first.
    let silent = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let (good, _server) = support::dcvfix::dns_here(&resolver_zone()).await;
    let q = Questions::new(vec![silent.local_addr().unwrap(), good]);
    for (i, r) in ask_in_turn(&q, 0..20).await.into_iter().enumerate() {
        assert_eq!(r.map(|a| a.answers.len()), Ok(1), "h{i}");
    }
    // Three names' questions, then a liveness check of two that fails: the names after it
    // go to the second server (another check of two each time 200 ms have passed, should
    // this machine be that slow); asked each time, 20 (40 with both rounds).
    let sent = questions_waiting(&silent);
    assert!((5..=9).contains(&sent), "{sent}");
    assert_eq!(q.unheard(), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resolver_that_answers_nothing_is_found_out_and_not_asked_each_name() {
    use certsweep::engine::dnsq::{Failure, Questions};
    let held = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = held.local_addr().unwrap();
    let q = Questions::new(vec![addr]);
    let not_answering = |r: &Result<_, Failure>| {
        matches!(r, Err(Failure::Network(m)) if *m == format!(
            "not asked: the resolver {addr} is not answering (its last questions and a liveness check timed out)"
        ))
    };
    // The first name waits out both rounds; the second times out once more, and then the
    // liveness check (the root's NS without recursion) goes unanswered too.
    let first = ask_in_turn(&q, 0..2).await;
    assert_eq!(first[0].as_ref().err(), Some(&Failure::Timeout));
    assert!(not_answering(&first[1]), "{:?}", first[1]);
    assert_eq!(q.unheard(), Some(addr.to_string()));
    // Names asked now are not sent: each would wait out 2 x 200 ms to say the same.
    let together = futures_util::future::join_all((2..30).map(|i| ask_in_turn(&q, i..i + 1))).await;
    for r in together.iter().flatten() {
        assert!(not_answering(r), "{r:?}");
    }
    // Four name questions and two liveness ones, and at most one more liveness check (two
    // questions) had the window after the first passed; asked each, 60.
    let sent = questions_waiting(&held);
    assert!((5..=8).contains(&sent), "{sent}");
}

/// A resolver at a free loopback address answering [`resolver_zone`] but never the names
/// under `slow.example.` ([`slow_zone_dropped`]).
async fn slow_zone_resolver() -> (
    SocketAddr,
    hickory_server::Server<support::dcvfix::Filtered>,
) {
    resolver_acting(Box::new(slow_zone_dropped)).await
}

/// A resolver at a free loopback address answering [`resolver_zone`] as `act` says.
async fn resolver_acting(
    act: support::dcvfix::Decide,
) -> (
    SocketAddr,
    hickory_server::Server<support::dcvfix::Filtered>,
) {
    let (addr, server) =
        support::dcvfix::filtered_here(support::dcvfix::catalog(&resolver_zone()).await, act);
    (addr, server)
}

/// `s{i}.slow.example`'s A question, one round.
async fn ask_slow(
    q: &certsweep::engine::dnsq::Questions,
    i: usize,
) -> Vec<Result<certsweep::engine::dnsq::Answer, certsweep::engine::dnsq::Failure>> {
    let n = support::dcvfix::name(&format!("s{i}.slow.example."));
    let r = q
        .ask_servers(
            &n,
            hickory_resolver::proto::rr::RecordType::A,
            1,
            std::time::Duration::from_millis(200),
            true,
        )
        .await;
    vec![r]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_first_resolver_is_not_passed_by_for_its_slow_names() {
    use certsweep::engine::dnsq::Questions;
    // The first resolver is alive but some names time out at it (their zone is down); the
    // second refuses everything (a fallback that serves another network). Passed by for
    // timeouts alone, the first would leave every later name to the second's REFUSED.
    let (first, _server) = slow_zone_resolver().await;
    let (refusing, _refusing) = support::dcvfix::dns_here(&[]).await;
    let q = Questions::new(vec![first, refusing]);
    for i in 0..6 {
        // Refused by the second: an answer, as before.
        for r in ask_slow(&q, i).await {
            assert_eq!(
                r.map(|a| a.rcode),
                Ok(hickory_resolver::proto::op::ResponseCode::Refused)
            );
        }
    }
    let together = futures_util::future::join_all((0..20).map(|i| ask_in_turn(&q, i..i + 1))).await;
    for (i, r) in together.into_iter().flatten().enumerate() {
        assert_eq!(r.map(|a| a.answers.len()), Ok(1), "h{i}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_resolver_whose_slow_names_time_out_is_still_asked() {
    use certsweep::engine::dnsq::{Failure, Questions};
    // Names of a dead zone time out together (three and more in a row), and names asked
    // right after them are good: the resolver is alive, so they must be answered, whatever
    // the slow names do (a probe made of a name question would have been one of them).
    let (resolver, _server) = slow_zone_resolver().await;
    let q = Questions::new(vec![resolver]);
    for r in futures_util::future::join_all((0..6).map(|i| ask_slow(&q, i)))
        .await
        .iter()
        .flatten()
    {
        assert_eq!(r.as_ref().err(), Some(&Failure::Timeout));
    }
    // A slow name first (join_all polls in order), then good ones, waiting behind the
    // liveness check it starts.
    let slow_first = std::iter::once(futures_util::future::Either::Left(ask_slow(&q, 6)));
    let good = (0..20).map(|i| futures_util::future::Either::Right(ask_in_turn(&q, i..i + 1)));
    let together = futures_util::future::join_all(slow_first.chain(good)).await;
    assert_eq!(together[0][0].as_ref().err(), Some(&Failure::Timeout));
    for (i, r) in together[1..].iter().flatten().enumerate() {
        assert_eq!(r.as_ref().map(|a| a.answers.len()), Ok(1), "h{i}");
    }
    assert_eq!(q.unheard(), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resolver_that_answered_is_asked_even_when_it_drops_the_liveness_question() {
    use certsweep::engine::dnsq::Questions;
    // dnsmasq whose upstream is gone: it answers the names it holds itself, and forwards the
    // rest, the root's NS included, into silence. Having answered in this run, it is alive:
    // its names must still be asked after the slow ones, not failed as "not answering".
    let (addr, _server) = resolver_acting(Box::new(|r: &hickory_server::server::Request| {
        let root = r
            .queries
            .queries()
            .first()
            .is_some_and(|q| q.name().is_root());
        if root {
            support::dcvfix::Act::Drop
        } else {
            slow_zone_dropped(r)
        }
    }))
    .await;
    let q = Questions::new(vec![addr]);
    for r in ask_in_turn(&q, 0..1).await {
        assert_eq!(r.map(|a| a.answers.len()), Ok(1));
    }
    for i in 0..4 {
        for r in ask_slow(&q, i).await {
            assert_eq!(r.err(), Some(certsweep::engine::dnsq::Failure::Timeout));
        }
    }
    for (i, r) in ask_in_turn(&q, 1..6).await.into_iter().enumerate() {
        assert_eq!(r.map(|a| a.answers.len()), Ok(1), "h{}", i + 1);
    }
    assert_eq!(q.unheard(), None);
}

/// No answer to the names under `slow.example.` (a zone whose nameservers are down, as a
/// resolver shows it before giving up on them).
fn slow_zone_dropped(request: &hickory_server::server::Request) -> support::dcvfix::Act {
    let slow = request.queries.queries().first().is_some_and(|q| {
        q.name()
            .to_string()
            .to_ascii_lowercase()
            .ends_with(".slow.example.")
    });
    if slow {
        support::dcvfix::Act::Drop
    } else {
        support::dcvfix::Act::Answer
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chain_too_large_for_clients_still_tells_which_certificate_is_served() {
    // A whole CA bundle configured as the chain: a Certificate message over 64 KiB, which
    // rustls (as Go's and Java's TLS) refuses. Over TLS 1.2 the message comes in the clear,
    // so its first certificates are read from a second handshake; a server speaking only
    // TLS 1.3 says why there is none.
    use rustls::version::{TLS12, TLS13};
    use std::sync::Arc;
    let pki = Pki::new("Bundle").unwrap();
    let leaf = pki
        .issue(&LeafSpec::new(&["big.test"], 0x91, 10, 90))
        .unwrap();
    let mut bundle = leaf.chain.clone();
    while bundle.iter().map(|c| c.len() + 3).sum::<usize>() <= 80 * 1024 {
        bundle.push(leaf.chain[1].clone());
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let serve = |versions: &[&'static rustls::SupportedProtocolVersion]| {
        let config = rustls::ServerConfig::builder_with_provider(provider.clone())
            .with_protocol_versions(versions)
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(bundle.clone(), leaf.key.clone_key())
            .unwrap();
        fleet::serve_config(
            fleet::listen("127.0.0.1:0".parse().unwrap()).unwrap(),
            config,
        )
        .unwrap()
    };
    let servers = [serve(&[&TLS13, &TLS12]), serve(&[&TLS13])];
    let targets: String = servers
        .iter()
        .map(|s| format!("big.test@{}\n", s.addr))
        .collect();
    let obs = run_sweep_trusting(&pki, targets).await;
    let at = |i: usize| {
        obs.iter()
            .find(|o| o.port == servers[i].addr.port())
            .unwrap()
    };

    let o = at(0);
    assert!(o.error.is_none(), "{:?}", o.error);
    assert_eq!(o.cert.as_ref().unwrap().serial, leaf.serial_hex);
    assert_eq!(o.findings, vec![Finding::OversizedChain]);
    assert_eq!(o.tls.as_ref().unwrap().version, "TLSv1.2");
    // The first 48 KiB of the bundle, the intermediate among them.
    assert!(
        o.chain.len() > 2 && o.chain.len() < bundle.len(),
        "{}",
        o.chain.len()
    );
    let message: usize = 3 + bundle.iter().map(|c| c.len() + 3).sum::<usize>();
    assert_eq!(
        o.trust_detail.as_deref(),
        Some(
            format!(
                "the server's Certificate message is {message} bytes; its first {} certificates were read",
                o.chain.len()
            )
            .as_str()
        )
    );

    let o = at(1);
    assert!(o.cert.is_none());
    let e = o.error.as_ref().unwrap();
    assert_eq!(e.class, ErrorClass::TlsError);
    assert!(e.message.contains("handshake message over 64 KiB"), "{e:?}");
}

/// Sweeps the server at `port` as a bare address and as `name@` it: the named handshake
/// gets `leaf`; the bare one's error is returned, its row having no certificate.
async fn bare_and_named(pki: &Pki, name: &str, leaf: &fleet::Leaf, port: u16) -> ErrorInfo {
    let obs = run_sweep_trusting(pki, format!("127.0.0.1:{port}\n{name}@127.0.0.1:{port}\n")).await;
    let named = obs.iter().find(|o| o.sni.is_some()).unwrap();
    assert_eq!(named.cert.as_ref().unwrap().serial, leaf.serial_hex);
    assert!(named.error.is_none(), "{:?}", named.error);
    let bare = obs.iter().find(|o| o.sni.is_none()).unwrap();
    assert!(bare.cert.is_none());
    assert!(certsweep::model::refused_without_a_name(bare));
    bare.error.clone().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bare_address_refused_for_want_of_a_name_is_told_to_give_one() {
    // A CDN edge holds certificates for names only: a handshake without SNI (a CIDR sweep's
    // addresses) is refused with an alert (rustls's access_denied here, handshake_failure at
    // some CDNs, as from a server speaking no common protocol). The row says the name may be
    // what is missing.
    let pki = Pki::new("Edge").unwrap();
    let leaf = pki
        .issue(&LeafSpec::new(&["edge.test"], 0x92, 10, 90))
        .unwrap();
    let server =
        fleet::serve_tls_names_only("127.0.0.1:0".parse().unwrap(), &[("edge.test", &leaf)])
            .await
            .unwrap();
    let e = bare_and_named(&pki, "edge.test", &leaf, server.addr.port()).await;
    assert_eq!(e.class, ErrorClass::TlsAlert, "{e:?}");
    assert!(e.message.contains("; no name (SNI) was sent"), "{e:?}");

    // An Envoy gateway (Istio, most Kubernetes ingresses) closes a connection whose hello
    // matches no filter chain, without an alert: a CIDR sweep over a cluster's addresses
    // meets it at every node. The name may be what is missing there too.
    let leaf = pki
        .issue(&LeafSpec::new(&["gw.test"], 0x93, 10, 90))
        .unwrap();
    let server =
        fleet::serve_tls_names_only_closing("127.0.0.1:0".parse().unwrap(), &[("gw.test", &leaf)])
            .await
            .unwrap();
    let e = bare_and_named(&pki, "gw.test", &leaf, server.addr.port()).await;
    assert_eq!(e.class, ErrorClass::TlsError, "{e:?}");
    assert!(
        e.message.starts_with(certsweep::model::CLOSED_IN_HANDSHAKE),
        "{e:?}"
    );
    assert!(e.message.contains("; no name (SNI) was sent"), "{e:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_whose_chain_lacks_the_ca_above_the_intermediate_is_untrusted_whatever_came_first() {
    // A three-level hierarchy (root, policy CA, issuing CA) behind a load balancer: one
    // node's chain file lacks the policy CA. Its verdict depended on the order of the
    // sweep: after a node that sent the whole chain, the intermediate counted as proven and
    // the short node as trusted. One at a time, whole chain first, so the old order shows.
    let pki = Pki::three_level("Nodes", 3650).unwrap();
    let leaf = pki
        .issue(&fleet::LeafSpec::new(&["lb3.test"], 0x3A, 10, 80))
        .unwrap();
    let other = pki
        .issue(&fleet::LeafSpec::new(&["other3.test"], 0x3B, 10, 80))
        .unwrap();
    let any = SocketAddr::new(ip("127.0.0.1"), 0);
    // The chain as served: the whole one, or without the policy CA.
    let config = |l: &fleet::Leaf, certs: usize| {
        rustls::ServerConfig::builder_with_provider(std::sync::Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(l.chain[..certs].to_vec(), l.key.clone_key())
        .unwrap()
    };
    let servers: Vec<_> = [config(&leaf, 3), config(&leaf, 2), config(&other, 2)]
        .into_iter()
        .map(|c| fleet::serve_config(fleet::listen(any).unwrap(), c).unwrap())
        .collect();
    let targets: String = ["lb3.test", "lb3.test", "other3.test"]
        .iter()
        .zip(&servers)
        .map(|(name, s)| format!("{name}@{}\n", s.addr))
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let ca = root_file(&pki, &dir);
    let obs = run_sweep(
        targets,
        &["--ca-file", &ca, "--no-public-roots", "--concurrency", "1"],
    )
    .await;
    let by_port: HashMap<u16, &certsweep::model::Observation> =
        obs.iter().map(|o| (o.port, o)).collect();
    let whole = by_port[&servers[0].addr.port()];
    assert_eq!(whole.chain.len(), 3);
    assert!(whole.findings.is_empty(), "{:?}", whole.findings);
    for s in &servers[1..] {
        let o = by_port[&s.addr.port()];
        assert_eq!(o.chain.len(), 2);
        assert_eq!(
            o.findings,
            [certsweep::model::Finding::UnknownIssuer],
            "{}: {:?}",
            o.host,
            o.trust_detail
        );
        assert_eq!(
            o.trust_detail.as_deref(),
            Some("the chain ends at \"O=certsweep test PKI, CN=Nodes Issuing CA 1\", issued by \"O=certsweep test PKI, CN=Nodes Policy CA\", which is neither a trusted root nor sent by the server: a private CA's root (give it with --ca-file), or a CA certificate missing from the chain")
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chains_that_validate_with_dates_that_need_attention_are_told() {
    // A policy CA ending in 20 days above a leaf valid 80 more; and an expired CA
    // certificate sent beside a chain that validates without it (an old copy of the root:
    // its name, another key).
    let ending = Pki::three_level("Ending", 20).unwrap();
    let plain = Pki::new("Plain").unwrap();
    let old_root = Pki::with_root_days_left("Plain", -5).unwrap().root.cert;
    let a = ending
        .issue(&fleet::LeafSpec::new(&["ending.test"], 0x4A, 10, 80))
        .unwrap();
    let mut b = plain
        .issue(&fleet::LeafSpec::new(&["beside.test"], 0x4B, 10, 80))
        .unwrap();
    b.chain.push(old_root);
    // And a chain file written in reverse: the policy CA before the issuing one.
    let order = Pki::three_level("Order", 3650).unwrap();
    let mut c = order
        .issue(&fleet::LeafSpec::new(&["order.test"], 0x4C, 10, 80))
        .unwrap();
    c.chain.swap(1, 2);
    let any = SocketAddr::new(ip("127.0.0.1"), 0);
    let servers: Vec<_> = [&a, &b, &c]
        .into_iter()
        .map(|l| {
            fleet::serve_config(fleet::listen(any).unwrap(), l.server_config().unwrap()).unwrap()
        })
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("roots.pem");
    std::fs::write(
        &ca,
        ending.root_pem() + &plain.root_pem() + &order.root_pem(),
    )
    .unwrap();
    let targets = format!(
        "ending.test@{}\nbeside.test@{}\norder.test@{}\n",
        servers[0].addr, servers[1].addr, servers[2].addr
    );
    let obs = run_sweep(
        targets,
        &["--ca-file", ca.to_str().unwrap(), "--no-public-roots"],
    )
    .await;
    let by_host: HashMap<&str, &certsweep::model::Observation> =
        obs.iter().map(|o| (o.host.as_str(), o)).collect();
    let o = by_host["ending.test"];
    assert_eq!(o.findings, [certsweep::model::Finding::ChainExpiresFirst]);
    let d = o.trust_detail.as_deref().unwrap_or_default();
    assert!(
        d.starts_with("the CA certificate \"O=certsweep test PKI, CN=Ending Policy CA\" the server sends expires on "),
        "{d}"
    );
    let o = by_host["beside.test"];
    assert_eq!(o.findings, [certsweep::model::Finding::ExpiredInChain]);
    assert_eq!(o.chain.len(), 3);
    let d = o.trust_detail.as_deref().unwrap_or_default();
    assert!(
        d.starts_with("the server also sends \"O=certsweep test PKI, CN=Plain Root CA\" issued by \"O=certsweep test PKI, CN=Plain Root CA\", which expired on "),
        "{d}"
    );
    let o = by_host["order.test"];
    assert_eq!(o.findings, [certsweep::model::Finding::ChainOrder]);
    let d = o.trust_detail.as_deref().unwrap_or_default();
    assert!(
        d.starts_with("the server sends its chain out of order: the certificate is to be followed by \"O=certsweep test PKI, CN=Order Issuing CA 1\", then \"O=certsweep test PKI, CN=Order Policy CA\""),
        "{d}"
    );
}

/// A TLS-inspecting proxy answers every name with a certificate it mints for it, all with
/// one key under its own CA: the key's hash shows it, and the summary says so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn certificates_a_proxy_mints_with_one_key_are_told_in_the_summary() {
    let proxy = Pki::new("Inspection").unwrap();
    let a = proxy
        .issue(&fleet::LeafSpec::new(&["a.test"], 0x61, 1, 30))
        .unwrap();
    let b = proxy
        .issue(&fleet::LeafSpec::new(&["b.test"], 0x62, 1, 30).with_key_of(&a))
        .unwrap();
    let c = proxy
        .issue(&fleet::LeafSpec::new(&["c.test"], 0x63, 1, 30).with_key_of(&a))
        .unwrap();
    let own = proxy
        .issue(&fleet::LeafSpec::new(&["d.test"], 0x64, 1, 30))
        .unwrap();
    let server = fleet::serve_tls(
        SocketAddr::new(ip("127.0.0.1"), 0),
        &a,
        &[("b.test", &b), ("c.test", &c), ("d.test", &own)],
        None,
    )
    .await
    .unwrap();
    let targets: String = ["a.test", "b.test", "c.test", "d.test"]
        .iter()
        .map(|h| format!("{h}@{}\n", server.addr))
        .collect();
    let obs = run_sweep(targets, &[]).await;
    let key = |h: &str| {
        let o = obs.iter().find(|o| o.host == h).unwrap();
        o.cert.as_ref().unwrap().spki_sha256.clone()
    };
    assert_eq!(key("a.test").len(), 64);
    assert_eq!(key("a.test"), key("b.test"));
    assert_eq!(key("a.test"), key("c.test"));
    assert_ne!(key("a.test"), key("d.test"));
    let mut summary = certsweep::report::summary::Summary::default();
    for o in &obs {
        summary.add(o);
    }
    let text = summary.to_string();
    assert!(
        text.contains("  keys: 2 endpoints presented certificates of \"O=certsweep test PKI, CN=Inspection Issuing CA 1\" for other names with the key "),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_intermediate_in_the_system_store_does_not_hide_a_server_that_leaves_it_out() {
    // Administrators add intermediates to the machine's store beside the roots; with
    // --system-roots it made a server that sends only its leaf look trusted.
    let pki = Pki::new("Store").unwrap();
    let leaf = pki
        .issue(
            &fleet::LeafSpec::new(&["store.test"], 0x5A, 10, 80)
                .with_chain(fleet::ChainKind::LeafOnly),
        )
        .unwrap();
    let server = fleet::serve_tls(SocketAddr::new(ip("127.0.0.1"), 0), &leaf, &[], None)
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store.pem");
    let pem = |c: &rustls::pki_types::CertificateDer<'_>| {
        pem::encode(&pem::Pem::new("CERTIFICATE", c.to_vec()))
    };
    std::fs::write(&store, pki.root_pem() + &pem(&pki.intermediate.cert)).unwrap();
    let report = dir.path().join("r.csv");
    let args = [
        "scan".to_string(),
        "--targets".into(),
        "-".into(),
        "--system-roots".into(),
        "--no-public-roots".into(),
        "--report".into(),
        report.to_str().unwrap().into(),
        "--quiet".into(),
    ];
    let target = format!("store.test@{}\n", server.addr);
    let out = tokio::task::spawn_blocking(move || {
        use std::io::Write;
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_certsweep"))
            .args(&args)
            .env("SSL_CERT_FILE", &store)
            .env_remove("SSL_CERT_DIR")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        if let Some(mut pipe) = child.stdin.take() {
            pipe.write_all(target.as_bytes()).unwrap();
        }
        child.wait_with_output().unwrap()
    })
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows: Vec<HashMap<String, String>> = csv::Reader::from_path(&report)
        .unwrap()
        .deserialize()
        .map(Result::unwrap)
        .collect();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["serial"], leaf.serial_hex);
    assert_eq!(rows[0]["findings"], "incomplete_chain", "{:?}", rows[0]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resolver_that_drops_what_exceeds_its_rate_costs_time_not_names() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use support::dcvfix::{a, Act, Zone};
    // A cloud's resolver takes 1,024 packets a second from a host and drops the rest; so do
    // resolvers with rate limits. A sweep asks far faster: names lost twice came out as
    // dns_error, some 10 % of them here. Every name must resolve, its questions paced.
    let (n, qps) = (1500, 500.0);
    let zone = [Zone {
        origin: "rl.test.",
        serial: 1,
        records: (0..n)
            .map(|i| a(&format!("n{i}.rl.test."), [127, 0, 0, 1]))
            .collect(),
    }];
    // A token bucket refilled with the clock: what exceeds it is dropped.
    let bucket = std::sync::Mutex::new((qps, std::time::Instant::now()));
    let dropped = std::sync::Arc::new(AtomicUsize::new(0));
    let counted = dropped.clone();
    let act: support::dcvfix::Decide = Box::new(move |_| {
        let mut b = bucket.lock().unwrap();
        let now = std::time::Instant::now();
        b.0 = (b.0 + now.duration_since(b.1).as_secs_f64() * qps).min(qps);
        b.1 = now;
        if b.0 >= 1.0 {
            b.0 -= 1.0;
            Act::Answer
        } else {
            counted.fetch_add(1, Ordering::Relaxed);
            Act::Drop
        }
    });
    let (addr, _server) =
        support::dcvfix::filtered_here(support::dcvfix::catalog(&zone).await, act);
    let refused = refused_addr().port();
    let targets: String = (0..n)
        .map(|i| format!("n{i}.rl.test:{refused}\n"))
        .collect();
    let obs = run_sweep(targets, &["--resolver", &addr.to_string()]).await;
    assert_eq!(obs.len(), n);
    let unresolved: Vec<_> = obs
        .iter()
        .filter(|o| o.error_class() != Some(ErrorClass::ConnectRefused))
        .map(|o| (&o.host, &o.error))
        .collect();
    assert!(
        unresolved.is_empty(),
        "{} of {n}: {:?}",
        unresolved.len(),
        unresolved.first()
    );
    // The limit was met: questions were dropped.
    assert!(dropped.load(Ordering::Relaxed) > 0);
}

/// A load balancer passing TLS through to three nodes in turn, of which one kept the old
/// certificate: one connection sees one node, `--samples` sees them all.
#[tokio::test]
async fn samples_see_a_node_behind_one_address_that_kept_an_old_certificate() {
    let pki = Pki::new("Nodes").unwrap();
    let old = valid_leaf(&pki, "www.test", 5001);
    let new = valid_leaf(&pki, "www.test", 5002);
    let dir = tempfile::tempdir().unwrap();
    let ca = root_file(&pki, &dir);
    let serial = |o: &Observation| o.cert.as_ref().map(|c| c.serial.clone());
    let (old_serial, new_serial) = ("8A0000000000001389", "8A000000000000138A");
    // Connections 1 and 4 reach the old node, 2 and 3 the renewed ones.
    let server = round_robin(&[Some(&old), Some(&new), Some(&new)]).await;
    let target = format!("www.test@127.0.0.1:{}\n", server.addr.port());
    let args = ["--ca-file", &ca, "--no-public-roots", "--samples", "4"];
    let obs = run_sweep(target.clone(), &args).await;
    assert_eq!(obs.len(), 1);
    let o = &obs[0];
    assert_eq!(serial(o).as_deref(), Some(old_serial));
    assert_eq!(o.findings, [Finding::BackendsDiffer]);
    let s = o.samples.as_deref().expect("samples");
    assert_eq!((s.connections, s.same, s.failed), (4, 2, 0));
    assert_eq!(s.others.len(), 1);
    assert_eq!(s.others[0].cert.serial, new_serial);
    assert_eq!(s.others[0].seen, 2);
    assert!(
        s.others[0].findings.is_empty(),
        "{:?}",
        s.others[0].findings
    );
    assert_eq!(s.others_shown(), format!("{new_serial} (2 of 4)"));
    drop(server);
    // One connection, as without the option, sees only the node it reaches.
    let server = round_robin(&[Some(&old), Some(&new), Some(&new)]).await;
    let target = format!("www.test@127.0.0.1:{}\n", server.addr.port());
    let obs = run_sweep(target, &["--ca-file", &ca, "--no-public-roots"]).await;
    assert_eq!(serial(&obs[0]).as_deref(), Some(old_serial));
    assert!(obs[0].findings.is_empty(), "{:?}", obs[0].findings);
    assert!(obs[0].samples.is_none());
    drop(server);
    // A node that refuses every handshake: counted with its error, no other certificate.
    let obs = [sweep_behind(&[Some(&new), None, Some(&new)], &args).await];
    let s = obs[0].samples.as_deref().expect("samples");
    assert_eq!(
        (s.connections, s.same, s.failed, s.others.len()),
        (4, 3, 1, 0)
    );
    assert_eq!(
        s.error.as_ref().map(|e| e.class),
        Some(ErrorClass::TlsAlert),
        "{s:?}"
    );
    assert_eq!(s.others_shown(), "no certificate (1 of 4)");
    assert_eq!(obs[0].findings, [Finding::BackendsFailing]);
    // The first connection reaches the failing node: the next ones are made until one
    // presents a certificate, which the observation is about; the rest are samples.
    let obs = [sweep_behind(&[None, Some(&new), Some(&new)], &args).await];
    assert_eq!(serial(&obs[0]).as_deref(), Some(new_serial));
    assert!(obs[0].error.is_none(), "{:?}", obs[0].error);
    let s = obs[0].samples.as_deref().expect("samples");
    assert_eq!(
        (s.connections, s.same, s.failed, s.others.len()),
        (4, 2, 2, 0)
    );
    assert_eq!(
        s.error.as_ref().map(|e| e.class),
        Some(ErrorClass::TlsAlert)
    );
    assert_eq!(obs[0].findings, [Finding::BackendsFailing]);
    // Every node failing: the first connection's error, and the samples saying it was
    // every one.
    let obs = [sweep_behind(&[None], &args).await];
    assert!(obs[0].cert.is_none());
    assert_eq!(
        obs[0].error.as_ref().map(|e| e.class),
        Some(ErrorClass::TlsAlert)
    );
    let s = obs[0].samples.as_deref().expect("samples");
    assert_eq!((s.connections, s.same, s.failed), (4, 0, 4));
    assert!(obs[0].findings.is_empty(), "{:?}", obs[0].findings);
    // A refused first connection is sampled past too (a node down behind a balancer that
    // forwards connections refuses them); an address where nothing listens refuses them
    // all, and says so.
    let refused = refused_addr();
    let obs = run_sweep(format!("www.test@{refused}\n"), &args).await;
    assert_eq!(
        obs[0].error.as_ref().map(|e| e.class),
        Some(ErrorClass::ConnectRefused)
    );
    let s = obs[0].samples.as_deref().expect("samples");
    assert_eq!((s.connections, s.same, s.failed), (4, 0, 4));
    // Also at a bare address: a refused connection is no answer to a missing name.
    let obs = run_sweep(format!("{refused}\n"), &args).await;
    let s = obs[0].samples.as_deref().expect("samples");
    assert_eq!((s.connections, s.failed), (4, 4));
    // A node that hangs (its handshakes time out) is sampled past once: the others
    // serve. A second hang in a row ends the sampling: the address hangs, as a tarpit
    // does, and is not held four timeouts long.
    let node = fleet::serve_tls(SocketAddr::new(ip("127.0.0.1"), 0), &new, &[], None)
        .await
        .unwrap();
    let balancer = fleet::serve_balancer(
        SocketAddr::new(ip("127.0.0.1"), 0),
        vec![None, Some(node.addr), Some(node.addr)],
    )
    .await
    .unwrap();
    let hanging = [&args[..], &["--handshake-timeout", "300ms"]].concat();
    let obs = run_sweep(format!("www.test@{}\n", balancer.addr), &hanging).await;
    assert_eq!(serial(&obs[0]).as_deref(), Some(new_serial), "{:?}", obs[0]);
    let s = obs[0].samples.as_deref().expect("samples");
    // Hung, served (the observation), served, hung.
    assert_eq!(
        (s.connections, s.same, s.failed, s.others.len()),
        (4, 2, 2, 0)
    );
    assert_eq!(
        s.error.as_ref().map(|e| e.class),
        Some(ErrorClass::TlsTimeout)
    );
    assert_eq!(obs[0].findings, [Finding::BackendsFailing]);
    let tarpit = fleet::serve_tarpit(SocketAddr::new(ip("127.0.0.1"), 0))
        .await
        .unwrap();
    let obs = run_sweep(format!("www.test@{}\n", tarpit.addr), &hanging).await;
    assert_eq!(
        obs[0].error.as_ref().map(|e| e.class),
        Some(ErrorClass::TlsTimeout)
    );
    let s = obs[0].samples.as_deref().expect("samples");
    assert_eq!((s.connections, s.same, s.failed), (2, 0, 2));
    // A node put back on the old certificate, which the CA has revoked since, staples the
    // CA's word: that node's certificate carries it, with the response read.
    let mut revoked_old = valid_leaf(&pki, "www.test", 5001);
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    revoked_old.ocsp = Some(
        pki.staple(
            &revoked_old,
            certsweep::fleet::StapleSays::Revoked(now - 600),
            now - 60,
            now + 3600,
        )
        .unwrap(),
    );
    let obs = [sweep_behind(&[Some(&new), Some(&revoked_old)], &args).await];
    assert_eq!(serial(&obs[0]).as_deref(), Some(new_serial));
    let s = obs[0].samples.as_deref().expect("samples");
    let [node] = s.others.as_slice() else {
        panic!("one other certificate: {s:?}");
    };
    assert_eq!(node.cert.serial, old_serial);
    assert_eq!(node.findings, [Finding::OcspRevoked]);
    let staple = node.ocsp.as_deref().expect("its staple read");
    assert_eq!((staple.status.as_str(), staple.verified), ("revoked", true));
    // One certificate on every node, but one node's staple went stale (it no longer
    // reaches the CA's responder): that node's staple is judged apart, its finding the
    // endpoint's, and no certificate differs.
    let good = pki
        .staple(
            &new,
            certsweep::fleet::StapleSays::Good,
            now - 60,
            now + 3600,
        )
        .unwrap();
    let stale = pki
        .staple(
            &new,
            certsweep::fleet::StapleSays::Good,
            now - 3 * 3600,
            now - 3600,
        )
        .unwrap();
    let (fresh, stuck) = (new.stapling(Some(good)), new.stapling(Some(stale)));
    let obs = [sweep_behind(&[Some(&fresh), Some(&stuck)], &args).await];
    assert_eq!(
        obs[0].ocsp.as_deref().map(|o| o.status.as_str()),
        Some("good")
    );
    assert_eq!(obs[0].findings, [Finding::OcspStale]);
    let s = obs[0].samples.as_deref().expect("samples");
    assert_eq!((s.connections, s.same, s.others.len()), (4, 4, 0));
    let [apart] = s.staples.as_slice() else {
        panic!("one stapling apart: {s:?}");
    };
    assert_eq!(
        (apart.seen, apart.findings.as_slice()),
        (2, &[Finding::OcspStale][..])
    );
    assert_eq!(
        apart.ocsp.as_deref().and_then(|o| o.next_update.clone()),
        Some(certsweep::timefmt::rfc3339_unix(now - 3600))
    );
    // The first connection meeting the stuck node: its staple is the endpoint's finding,
    // and the connections whose staple is free of it are counted.
    let obs = [sweep_behind(&[Some(&stuck), Some(&fresh)], &args).await];
    assert_eq!(obs[0].findings, [Finding::OcspStale]);
    let s = obs[0].samples.as_deref().expect("samples");
    assert!(s.staples.is_empty(), "{s:?}");
    assert_eq!((s.same, s.staples_fine), (4, 2));
    // A node sending the certificate without its intermediate (its chain file holds only
    // the certificate): apart, with the trust findings of its chain.
    let bare = new.without_intermediates();
    let obs = [sweep_behind(&[Some(&new), Some(&bare)], &args).await];
    assert_eq!(obs[0].findings, [Finding::BackendsDiffer]);
    let s = obs[0].samples.as_deref().expect("samples");
    let [node] = s.others.as_slice() else {
        panic!("one node apart: {s:?}");
    };
    assert_eq!((s.same, node.seen, node.chain_apart), (2, 2, true));
    assert_eq!(node.cert.serial, new_serial);
    assert!(
        node.findings.contains(&Finding::IncompleteChain),
        "{node:?}"
    );
    assert_eq!(
        s.others_shown(),
        format!("{new_serial} with another chain (2 of 4)")
    );
    // Met first, it is the endpoint's chain; the connections that got the full chain are
    // counted, and the nodes differ.
    let obs = [sweep_behind(&[Some(&bare), Some(&new)], &args).await];
    assert_eq!(
        obs[0].findings,
        [Finding::IncompleteChain, Finding::BackendsDiffer]
    );
    let s = obs[0].samples.as_deref().expect("samples");
    assert_eq!((s.same, s.others.len(), s.chains_fine), (4, 0, 2));
    // A node stapling nothing beside one stapling a fresh response: nothing to say (a
    // server fetches its staple after its first connections).
    let obs = [sweep_behind(&[Some(&new), Some(&fresh)], &args).await];
    let s = obs[0].samples.as_deref().expect("samples");
    assert!(
        obs[0].findings.is_empty() && s.staples.is_empty(),
        "{:?} {s:?}",
        obs[0].findings
    );
    // Nodes that agree: counted, nothing found.
    let obs = [sweep_behind(&[Some(&new)], &args).await];
    let s = obs[0].samples.as_deref().expect("samples");
    assert_eq!(
        (s.connections, s.same, s.failed, s.others.len()),
        (4, 4, 0, 0)
    );
    assert!(obs[0].findings.is_empty(), "{:?}", obs[0].findings);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endpoint_back_on_an_older_certificate_than_last_night_is_rolled_back() {
    let pki = Pki::new("Previous").unwrap();
    // The renewal issued a day ago, the certificate it replaced 60 days ago.
    let old = pki
        .issue(&LeafSpec::new(&["www.test"], 7001, 60, 30))
        .unwrap();
    let new = pki
        .issue(&LeafSpec::new(&["www.test"], 7002, 1, 89))
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ca = root_file(&pki, &dir);
    // Last night's sweep met the renewal, tonight's the old certificate again (a rollback).
    let server = round_robin(&[Some(&new), Some(&old)]).await;
    let targets = dir.path().join("targets.txt");
    std::fs::write(&targets, format!("www.test@{}\n", server.addr)).unwrap();
    let last = dir.path().join("last.jsonl");
    let report = dir.path().join("report.csv");
    let sweep = |more: &[&str]| sweep_trusting(&targets, &ca, more);
    // The first night: no earlier file yet, nothing compared, the sweep runs.
    let none = dir.path().join("none.jsonl");
    let first = [
        "--jsonl",
        last.to_str().unwrap(),
        "--previous",
        none.to_str().unwrap(),
    ];
    assert_eq!(sweep(&first).await, 0);
    std::fs::write(
        &last,
        std::fs::read_to_string(&last).unwrap() + "a line that is no JSON\n",
    )
    .unwrap();
    let tonight = [
        "--previous",
        last.to_str().unwrap(),
        "--report",
        report.to_str().unwrap(),
        "--fail-on",
        "rolled_back",
    ];
    assert_eq!(sweep(&tonight).await, 1);
    let row = first_row(&std::fs::read_to_string(&report).unwrap());
    let serial =
        |l: &certsweep::fleet::Leaf| certsweep::cert::cert_info(&l.chain[0]).unwrap().serial;
    assert_eq!(row["serial"], serial(&old));
    assert_eq!(row["findings"], "rolled_back");
    assert_eq!(row["previous_serial"], serial(&new));
    // A balancer with a node left behind, swept with --samples: whichever node the first
    // connection meets, the renewal is still served by the other; no rollback (the
    // nodes differ, and `backends_differ` says so).
    let pair = round_robin(&[Some(&new), Some(&old)]).await;
    std::fs::write(&targets, format!("www.test@{}\n", pair.addr)).unwrap();
    let sampled = ["--samples", "2"];
    let first_night = [&sampled[..], &["--jsonl", last.to_str().unwrap()]].concat();
    assert_eq!(sweep(&first_night).await, 0);
    // One connection in between, so that the next night's first one meets the old node.
    assert_eq!(sweep(&[]).await, 0);
    let prom = dir.path().join("certsweep.prom");
    let metrics = ["--metrics", prom.to_str().unwrap()];
    let second_night = [&sampled[..], &tonight[..], &metrics[..]].concat();
    assert_eq!(sweep(&second_night).await, 0);
    // Its metrics carry both nodes' certificates: the one left behind expires first.
    let text = std::fs::read_to_string(&prom).unwrap();
    for leaf in [&old, &new] {
        let info = certsweep::cert::cert_info(&leaf.chain[0]).unwrap();
        let line = format!(
            "certsweep_certificate_expiry_timestamp_seconds{{name=\"www.test\",address=\"127.0.0.1\",port=\"{}\",serial=\"{}\"}} {}",
            pair.addr.port(),
            info.serial,
            info.not_after_unix
        );
        assert!(text.lines().any(|l| l == line), "{line}\n{text}");
    }
    let row = first_row(&std::fs::read_to_string(&report).unwrap());
    assert_eq!(row["serial"], serial(&old), "{row:?}");
    assert_eq!(row["findings"], "backends_differ", "{row:?}");
    assert_eq!(row["previous_serial"], "", "{row:?}");
    // A node that served the renewal both nights: nothing changed, nothing said.
    let steady = round_robin(&[Some(&new)]).await;
    std::fs::write(&targets, format!("www.test@{}\n", steady.addr)).unwrap();
    assert_eq!(sweep(&["--jsonl", last.to_str().unwrap()]).await, 0);
    assert_eq!(sweep(&tonight).await, 0);
    let row = first_row(&std::fs::read_to_string(&report).unwrap());
    assert_eq!(row["serial"], serial(&new));
    assert_eq!(
        (row["findings"].as_str(), row["previous_serial"].as_str()),
        ("", "")
    );
    // The name's address changed since (a cloud balancer's do) and the new one serves the
    // old certificate: compared with what the name served at its address then.
    let moved = certsweep::fleet::serve_tls_round_robin(
        SocketAddr::new(ip("127.0.0.2"), steady.addr.port()),
        &[Some(&old)],
    )
    .await
    .unwrap();
    std::fs::write(&targets, format!("www.test@{}\n", moved.addr)).unwrap();
    let json = dir.path().join("tonight.jsonl");
    let moved_night = [&tonight[..], &["--jsonl", json.to_str().unwrap()]].concat();
    assert_eq!(sweep(&moved_night).await, 1);
    let row = first_row(&std::fs::read_to_string(&report).unwrap());
    assert_eq!(
        (row["findings"].as_str(), row["previous_serial"].as_str()),
        ("rolled_back", serial(&new).as_str())
    );
    let line: serde_json::Value =
        serde_json::from_str(std::fs::read_to_string(&json).unwrap().trim()).unwrap();
    assert_eq!(line["previous"]["ip"], "127.0.0.1", "{line}");
}

/// A server holding an ECDSA and an RSA certificate whose RSA files were put back to the
/// old ones: the first connection meets the same ECDSA certificate both nights, the second
/// look (`--both-key-types`) the rollback.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rollback_of_the_other_key_types_certificate_is_seen_by_the_second_look() {
    let pki = Pki::new("Previous two").unwrap();
    let ec = pki
        .issue(&LeafSpec::new(&["two.test"], 0x91, 10, 80))
        .unwrap();
    let rsa_old = pki
        .issue(&LeafSpec::new(&["two.test"], 0x92, 60, 30).with_rsa())
        .unwrap();
    let rsa_new = pki
        .issue(&LeafSpec::new(&["two.test"], 0x93, 1, 89).with_rsa())
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ca = root_file(&pki, &dir);
    let last = dir.path().join("last.jsonl");
    let tonight = dir.path().join("tonight.jsonl");
    let sweep = |addr: SocketAddr, more: &[&str]| {
        let mut argv = vec![
            "--ca-file".to_string(),
            ca.clone(),
            "--no-public-roots".into(),
            "--both-key-types".into(),
            "--quiet".into(),
        ];
        argv.extend(more.iter().map(|s| s.to_string()));
        let targets = dir.path().join("targets.txt");
        std::fs::write(&targets, format!("two.test@{addr}\n")).unwrap();
        argv.extend(["--targets".into(), targets.to_str().unwrap().to_string()]);
        let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
        certsweep::scan::run_scan(scan_args(&argv))
    };
    let first = fleet::serve_tls_key_types(SocketAddr::new(ip("127.0.0.1"), 0), &[&ec, &rsa_new])
        .await
        .unwrap();
    assert_eq!(
        sweep(first.addr, &["--jsonl", last.to_str().unwrap()])
            .await
            .unwrap(),
        0
    );
    // The next night the name answers at another address (the same port), its RSA files
    // the old ones again.
    let second = fleet::serve_tls_key_types(
        SocketAddr::new(ip("127.0.0.2"), first.addr.port()),
        &[&ec, &rsa_old],
    )
    .await
    .unwrap();
    let nightly = [
        "--previous",
        last.to_str().unwrap(),
        "--jsonl",
        tonight.to_str().unwrap(),
        "--fail-on",
        "rolled_back",
    ];
    assert_eq!(sweep(second.addr, &nightly).await.unwrap(), 1);
    let o: certsweep::model::Observation =
        serde_json::from_str(std::fs::read_to_string(&tonight).unwrap().trim()).unwrap();
    assert_eq!(
        o.cert.as_ref().map(|c| c.serial.as_str()),
        Some(ec.serial_hex.as_str())
    );
    assert!(o.findings.is_empty() && o.previous.is_none(), "{o:?}");
    let other = o.other_key.as_deref().expect("second look");
    assert_eq!(other.findings, [Finding::RolledBack]);
    let then = other.previous.as_deref().expect("its certificate then");
    assert_eq!(then.serial, rsa_new.serial_hex);
    assert_eq!(then.ip, Some(ip("127.0.0.1")));
}

/// What a sweep with `args` records of www.test behind a load balancer handing
/// connections to `nodes` in turn (the balancer is gone once it returns).
async fn sweep_behind(nodes: &[Option<&certsweep::fleet::Leaf>], args: &[&str]) -> Observation {
    let server = round_robin(nodes).await;
    let target = format!("www.test@127.0.0.1:{}\n", server.addr.port());
    let mut obs = run_sweep(target, args).await;
    assert_eq!(obs.len(), 1);
    obs.remove(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_renewal_that_lost_the_client_auth_of_last_nights_certificate_is_told() {
    use rcgen::ExtendedKeyUsagePurpose::{ClientAuth, ServerAuth};
    // Last night's certificate could authenticate a TLS client; tonight's renewal, from a
    // CA that issues server certificates for serverAuth alone, cannot. No records: the
    // sweep alone tells it.
    let pki = Pki::new("Client auth").unwrap();
    let mut then = LeafSpec::new(&["www.test"], 7101, 60, 30);
    then.extended_key_usages = vec![ServerAuth, ClientAuth];
    let then = pki.issue(&then).unwrap();
    let now = pki
        .issue(&LeafSpec::new(&["www.test"], 7102, 1, 89))
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ca = root_file(&pki, &dir);
    let server = round_robin(&[Some(&then), Some(&now)]).await;
    let targets = dir.path().join("targets.txt");
    std::fs::write(&targets, format!("www.test@{}\n", server.addr)).unwrap();
    let last = dir.path().join("last.jsonl");
    let tonight = dir.path().join("tonight.jsonl");
    let report = dir.path().join("report.csv");
    let sweep = |more: &[&str]| sweep_trusting(&targets, &ca, more);
    assert_eq!(sweep(&["--jsonl", last.to_str().unwrap()]).await, 0);
    let argv = [
        "--previous",
        last.to_str().unwrap(),
        "--jsonl",
        tonight.to_str().unwrap(),
        "--report",
        report.to_str().unwrap(),
        "--fail-on",
        "client_auth_dropped",
    ];
    assert_eq!(sweep(&argv).await, 1);
    let row = first_row(&std::fs::read_to_string(&report).unwrap());
    let serial =
        |l: &certsweep::fleet::Leaf| certsweep::cert::cert_info(&l.chain[0]).unwrap().serial;
    assert_eq!(row["serial"], serial(&now));
    assert_eq!(row["findings"], "client_auth_dropped");
    assert_eq!(row["previous_serial"], serial(&then));
    // The JSON line says what the certificate served then could do.
    let line: serde_json::Value =
        serde_json::from_str(std::fs::read_to_string(&tonight).unwrap().trim()).unwrap();
    assert_eq!(line["previous"]["client_auth"], serde_json::json!(true));
    assert_eq!(
        line["cert"]["extended_key_usage"],
        serde_json::json!(["serverAuth"])
    );
}

/// One sweep of `targets` trusting the test PKI's root `ca` alone, with `more` options:
/// its exit code. The options are read before it runs, so the future borrows none of them.
fn sweep_trusting(
    targets: &std::path::Path,
    ca: &str,
    more: &[&str],
) -> impl std::future::Future<Output = u8> + use<> {
    let mut argv = vec![
        "--targets",
        targets.to_str().unwrap(),
        "--ca-file",
        ca,
        "--no-public-roots",
        "--quiet",
    ];
    argv.extend_from_slice(more);
    let args = scan_args(&argv);
    async move { certsweep::scan::run_scan(args).await.unwrap() }
}

/// A load balancer on 127.0.0.1 handing connections to `nodes` in turn.
async fn round_robin(nodes: &[Option<&certsweep::fleet::Leaf>]) -> certsweep::fleet::Server {
    certsweep::fleet::serve_tls_round_robin(SocketAddr::new(ip("127.0.0.1"), 0), nodes)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_that_kept_the_old_certificate_decides_the_verdict_with_samples() {
    let pki = Pki::new("Verdict nodes").unwrap();
    let old = valid_leaf(&pki, "www.test", 6001);
    let new = valid_leaf(&pki, "www.test", 6002);
    let dir = tempfile::tempdir().unwrap();
    let ca = root_file(&pki, &dir);
    let inventory = dir.path().join("inventory.csv");
    // The records' dates are the certificates' own.
    let dates = |l: &certsweep::fleet::Leaf| {
        let c = certsweep::cert::cert_info(&l.chain[0]).unwrap();
        format!("{},{}", c.not_before, c.not_after)
    };
    std::fs::write(
        &inventory,
        format!(
            "Certificate ID,Common Name,Serial Number,Valid From,Valid To,Status,Renewal Of\n\
             C-1,www.test,8A0000000000001771,{},Active,\n\
             C-2,www.test,8A0000000000001772,{},Active,C-1\n",
            dates(&old),
            dates(&new)
        ),
    )
    .unwrap();
    // Renewed nodes first: the first connection gets the renewal, and alone it would be
    // `current`.
    for (samples, status) in [("1", "current"), ("3", "renewed_not_deployed")] {
        let nodes = [Some(&new), Some(&new), Some(&old)];
        let (addr, text) = compared_nodes(&dir, &ca, &inventory, &nodes, samples).await;
        let row = first_row(&text);
        assert_eq!(row["status"], status, "{text}");
        if samples == "1" {
            assert_eq!(row["serial"], "8A0000000000001772");
            assert!(!row["findings"].contains("backends_differ"), "{text}");
            continue;
        }
        // The row is about the old node's certificate, and says who got what.
        assert_eq!(row["serial"], "8A0000000000001771");
        assert_eq!(row["record_id"], "C-1");
        assert!(row["findings"].contains("backends_differ"), "{text}");
        let said = format!(
            "Connections to {addr} got different certificates, so the nodes behind it differ: serial 8A0000000000001772 on 2 of 3 (current), serial 8A0000000000001771 on 1 of 3 (renewed_not_deployed).",
        );
        assert!(row["detail"].ends_with(&said), "{}", row["detail"]);
        assert!(
            row["next_step"].ends_with(&format!(
                "The nodes behind {addr} differ: reach each one directly (not through the load balancer) to find the ones serving serial 8A0000000000001771.",
            )),
            "{}",
            row["next_step"]
        );
    }
    // The old node staples the CA's word that its certificate is revoked: that node's
    // verdict, read from its own staple, speaks for the endpoint (its renewal exists, so
    // `renewed_not_deployed`, with `revoked` beside it and the deployment made urgent).
    let mut revoked_old = valid_leaf(&pki, "www.test", 6001);
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    revoked_old.ocsp = Some(
        pki.staple(
            &revoked_old,
            certsweep::fleet::StapleSays::Revoked(now - 600),
            now - 60,
            now + 3600,
        )
        .unwrap(),
    );
    let nodes = [Some(&new), Some(&new), Some(&revoked_old)];
    let (_, text) = compared_nodes(&dir, &ca, &inventory, &nodes, "3").await;
    let row = first_row(&text);
    assert_eq!(row["status"], "renewed_not_deployed", "{text}");
    assert_eq!(row["serial"], "8A0000000000001771");
    let findings: Vec<&str> = row["findings"].split(';').collect();
    assert!(
        findings.contains(&"revoked") && findings.contains(&"ocsp_revoked"),
        "{text}"
    );
    assert_eq!(row["ocsp_status"], "revoked");
    assert!(
        row["next_step"].starts_with("The served certificate is revoked"),
        "{}",
        row["next_step"]
    );
    assert!(
        row["detail"].contains(&format!(
            "The CA's OCSP response, stapled by the server, says it was revoked on {}",
            certsweep::timefmt::rfc3339_unix(now - 600)
        )),
        "{}",
        row["detail"]
    );
    // One node's staple of the current certificate went stale: the certificate is right,
    // that node's stapling is what to fix, and the words say it is one node's.
    let stapled = |from: i64, to: i64| {
        let staple = pki.staple(&new, certsweep::fleet::StapleSays::Good, from, to);
        new.stapling(Some(staple.unwrap()))
    };
    let (fresh, stuck) = (
        stapled(now - 60, now + 3600),
        stapled(now - 7200, now - 3600),
    );
    let nodes = [Some(&fresh), Some(&stuck), Some(&fresh)];
    let (_, text) = compared_nodes(&dir, &ca, &inventory, &nodes, "3").await;
    let row = first_row(&text);
    assert_eq!(
        (row["status"].as_str(), row["findings"].as_str()),
        ("current", "ocsp_stale"),
        "{text}"
    );
    assert!(
        row["detail"].contains(&format!(
            "The OCSP response the server staples expired at {} (its nextUpdate): clients ignore it (on 1 of 3 connections: the nodes behind the address serve the certificate alike but staple it differently).",
            certsweep::timefmt::rfc3339_unix(now - 3600)
        )),
        "{}",
        row["detail"]
    );
    assert!(
        row["next_step"].starts_with("Nothing to do for the certificate; reach each node directly"),
        "{}",
        row["next_step"]
    );
    // The first connection meeting the stuck node: the same words, its share counted from
    // the connections whose staple was fine.
    let nodes = [Some(&stuck), Some(&fresh), Some(&fresh)];
    let (_, text) = compared_nodes(&dir, &ca, &inventory, &nodes, "3").await;
    let row = first_row(&text);
    assert!(
        row["detail"].contains("clients ignore it (on 1 of 3 connections: the nodes behind"),
        "{}",
        row["detail"]
    );
    // A node sending the current certificate without its intermediate: untrusted by the
    // clients it gets, and the words say it is the chain, not the certificate.
    let bare = new.without_intermediates();
    let nodes = [Some(&new), Some(&new), Some(&bare)];
    let (addr, text) = compared_nodes(&dir, &ca, &inventory, &nodes, "3").await;
    let row = first_row(&text);
    assert_eq!(row["status"], "untrusted", "{text}");
    assert!(
        row["detail"].contains(&format!("Connections to {addr} got the same certificate with different chains, so the nodes behind it differ: serial 8A0000000000001772 on 2 of 3 (current), serial 8A0000000000001772 with another chain on 1 of 3 (untrusted).")),
        "{}",
        row["detail"]
    );
    assert!(
        row["next_step"].ends_with(&format!("The nodes behind {addr} differ: reach each one directly (not through the load balancer) to find the ones sending serial 8A0000000000001772 with a chain the others do not send, and give them the full chain file.")),
        "{}",
        row["next_step"]
    );
    // A node sending its chain out of order (the root before the intermediate): as
    // current as the others for browsers, but its finding is the endpoint's.
    let mut disordered = new.stapling(None);
    {
        use rustls::pki_types::pem::PemObject;
        let root = rustls::pki_types::CertificateDer::from_pem_slice(pki.root_pem().as_bytes());
        disordered.chain.insert(1, root.unwrap());
    }
    let nodes = [Some(&new), Some(&disordered), Some(&new)];
    let (_, text) = compared_nodes(&dir, &ca, &inventory, &nodes, "3").await;
    let row = first_row(&text);
    assert_eq!(row["status"], "current", "{text}");
    assert_eq!(row["findings"], "backends_differ;chain_order", "{text}");
    assert!(
        row["detail"].contains("serial 8A0000000000001772 with another chain on 1 of 3 (current)"),
        "{}",
        row["detail"]
    );
    // The first connection meeting that node: the same status, and the words say the
    // others sent the full chain.
    let nodes = [Some(&bare), Some(&new), Some(&new)];
    let (addr, text) = compared_nodes(&dir, &ca, &inventory, &nodes, "3").await;
    let row = first_row(&text);
    assert_eq!(row["status"], "untrusted", "{text}");
    assert!(
        row["detail"].contains(&format!("Only 1 of 3 connections to {addr} got serial 8A0000000000001772 with this chain; 2 got it with a chain free of that fault, so the nodes behind it differ.")),
        "{}",
        row["detail"]
    );
    assert!(
        row["next_step"].ends_with("and give them the full chain file."),
        "{}",
        row["next_step"]
    );
    // A node that fails its handshakes: said, the status still the certificates'.
    let nodes = [Some(&new), None, Some(&new)];
    let (addr, text) = compared_nodes(&dir, &ca, &inventory, &nodes, "3").await;
    assert!(text.contains(",current,"), "{text}");
    assert!(text.contains("backends_failing"), "{text}");
    assert!(
        text.contains(&format!(
            "1 of 3 connections to {addr} got no certificate (first: tls_alert: "
        )),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fail_on_without_records_counts_every_node_the_samples_saw() {
    // The first connection reaches a node with a valid certificate, the second one that
    // still serves an expired one: clients reaching it fail, so `--fail-on expired` must.
    let pki = Pki::new("Expired node").unwrap();
    let valid = valid_leaf(&pki, "www.test", 7001);
    let expired = pki
        .issue(&LeafSpec::new(&["www.test"], 7002, 100, -10))
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ca = root_file(&pki, &dir);
    for (samples, code) in [("1", 0), ("2", 1)] {
        let nodes = [Some(&valid), Some(&expired)];
        let extra = ["--samples", samples, "--fail-on", "expired"];
        let (out, stderr) = sweep_nodes(&dir, &ca, &nodes, &extra).await;
        assert_eq!(
            out.status.code(),
            Some(code),
            "--samples {samples}: {stderr}"
        );
        if code == 1 {
            // The endpoint is counted as expired, and the line names the node's certificate.
            assert!(
                stderr.contains("findings: expired 1, backends_differ 1"),
                "{stderr}"
            );
            assert!(
                stderr.contains("expired: serial 8A0000000000001B59 (expires ")
                    && stderr
                        .contains("; other connections got serial 8A0000000000001B5A (expires "),
                "{stderr}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pipeline_check_with_samples_fails_on_a_node_left_with_the_old_file() {
    // The README's step after deploying fullchain.pem to the nodes behind one address: the
    // deployed certificate is the only record, so the old one is unmanaged.
    let pki = Pki::new("Pipeline nodes").unwrap();
    let old = valid_leaf(&pki, "www.test", 8001);
    let new = valid_leaf(&pki, "www.test", 8002);
    let dir = tempfile::tempdir().unwrap();
    let ca = root_file(&pki, &dir);
    let deployed = dir.path().join("fullchain.pem");
    std::fs::write(
        &deployed,
        pem::encode(&pem::Pem::new("CERTIFICATE", new.chain[0].to_vec())),
    )
    .unwrap();
    for (samples, code) in [("1", 0), ("4", 1)] {
        let nodes = [Some(&new), Some(&new), Some(&old)];
        let extra = [
            "--inventory",
            deployed.to_str().unwrap(),
            "--samples",
            samples,
            "--fail-on",
            "unmanaged,expired,untrusted,hostname_mismatch,unreachable",
        ];
        let (out, stderr) = sweep_nodes(&dir, &ca, &nodes, &extra).await;
        assert_eq!(
            out.status.code(),
            Some(code),
            "--samples {samples}: {stderr}"
        );
        if code == 1 {
            assert!(
                stderr.contains("unmanaged") && stderr.contains("8A0000000000001F41"),
                "{stderr}"
            );
        }
    }
}

/// The binary sweeping `www.test` at a round-robin balancer before `nodes`, trusting `ca`,
/// with `extra` options: its output and its stderr.
async fn sweep_nodes(
    dir: &tempfile::TempDir,
    ca: &str,
    nodes: &[Option<&certsweep::fleet::Leaf>],
    extra: &[&str],
) -> (std::process::Output, String) {
    let server = round_robin(nodes).await;
    let targets = dir.path().join("nodes.txt");
    std::fs::write(&targets, format!("www.test@{}\n", server.addr)).unwrap();
    let mut args: Vec<String> = ["scan", "--targets", targets.to_str().unwrap()]
        .map(String::from)
        .to_vec();
    args.extend(
        [
            "--ca-file",
            ca,
            "--no-public-roots",
            "--report",
            "/dev/null",
        ]
        .map(String::from),
    );
    args.extend(extra.iter().map(|a| a.to_string()));
    let out = run_certsweep_owned(args).await;
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    (out, stderr)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crl_asks_about_the_certificate_another_node_serves() {
    // A rollback put the old certificate back on one node, and it was revoked since: with
    // --crl and --samples, the CA's list is asked about it too.
    use rcgen::RevocationReason;
    let pki = Pki::new("CrlNodes").unwrap();
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let listener = tokio::net::TcpListener::bind("127.0.0.2:0").await.unwrap();
    let url = format!(
        "http://127.0.0.2:{}/int.crl",
        listener.local_addr().unwrap().port()
    );
    let issue = |serial: u64| {
        pki.issue(&LeafSpec::new(&["nodes.test"], serial, 10, 80).with_crl(&url))
            .unwrap()
    };
    let (new, old) = (issue(0x81), issue(0x80));
    let listed: &[(&[u8], RevocationReason)] =
        &[(&fleet::serial_bytes(0x80), RevocationReason::Superseded)];
    let crl = pki.crl(listed, now - 60, now + 86_400, false).unwrap();
    let _hits = fleet::serve_files(listener, HashMap::from([("/int.crl".to_string(), crl)]));
    let server = round_robin(&[Some(&new), Some(&old)]).await;
    let dir = tempfile::tempdir().unwrap();
    let ca = root_file(&pki, &dir);
    let obs = run_sweep(
        format!("nodes.test@{}\n", server.addr),
        &[
            "--ca-file",
            &ca,
            "--no-public-roots",
            "--crl",
            "--samples",
            "2",
        ],
    )
    .await;
    let o = &obs[0];
    assert_eq!(o.cert.as_ref().unwrap().serial, new.serial_hex);
    assert_eq!(o.crl.as_deref().unwrap().status, "good");
    let node = &o.samples.as_deref().unwrap().others[0];
    assert_eq!(node.cert.serial, old.serial_hex);
    assert_eq!(node.findings, [Finding::CrlRevoked]);
    assert_eq!(node.crl.as_deref().unwrap().status, "revoked");
    // Without records, what the endpoint earns: revoked, for the clients of that node.
    let revoked = certsweep::verdict::sampled(o).iter().any(|n| {
        certsweep::verdict::record_free_statuses(n, now, certsweep::verdict::RenewalWindow::DEFAULT)
            .contains(&certsweep::verdict::Status::Revoked)
    });
    assert!(revoked, "{o:#?}");
}

/// The first row of a CSV report, by column name.
fn first_row(text: &str) -> HashMap<String, String> {
    csv::Reader::from_reader(text.as_bytes())
        .deserialize()
        .next()
        .expect("a row")
        .expect("a readable row")
}

/// `www.test` at a round-robin balancer before `nodes`, swept in process against
/// `inventory` with `--samples samples`, trusting `ca`: the balancer's address and the
/// compliance report.
async fn compared_nodes(
    dir: &tempfile::TempDir,
    ca: &str,
    inventory: &std::path::Path,
    nodes: &[Option<&certsweep::fleet::Leaf>],
    samples: &str,
) -> (SocketAddr, String) {
    let server = round_robin(nodes).await;
    let targets = dir.path().join("targets.txt");
    std::fs::write(&targets, format!("www.test@{}\n", server.addr)).unwrap();
    let report = dir.path().join("report.csv");
    let cli = <Cli as Parser>::parse_from([
        "certsweep",
        "scan",
        "--targets",
        targets.to_str().unwrap(),
        "--inventory",
        inventory.to_str().unwrap(),
        "--ca-file",
        ca,
        "--no-public-roots",
        "--samples",
        samples,
        "--report",
        report.to_str().unwrap(),
        "-q",
    ]);
    certsweep::run(cli).await.unwrap();
    (server.addr, std::fs::read_to_string(&report).unwrap())
}

/// A mail host renewed with a new key: its PKI, the old leaf (issued 300 days ago for 60
/// more, serial `serial`) and the new one (`serial + 1`), for `names`, and a TLS server on
/// loopback presenting the new one.
async fn renewed_mail_host(
    label: &str,
    names: &[&str],
    serial: u64,
) -> (Pki, fleet::Leaf, fleet::Leaf, fleet::Server) {
    let pki = Pki::new(label).unwrap();
    let old = pki.issue(&LeafSpec::new(names, serial, 300, 60)).unwrap();
    let new = pki
        .issue(&LeafSpec::new(names, serial + 1, 1, 360))
        .unwrap();
    let server = fleet::serve_tls(SocketAddr::new(ip("127.0.0.1"), 0), &new, &[], None)
        .await
        .unwrap();
    (pki, old, new, server)
}

/// A `3 1 1` TLSA record for `port` at `host` pinning `leaf`'s key.
fn tlsa_for(port: u16, host: &str, leaf: &fleet::Leaf) -> hickory_server::proto::rr::Record {
    support::dcvfix::tlsa_pin(&format!("_{port}._tcp.{host}."), key_pin(leaf))
}

/// A mail server renewed with a new key while its TLSA record (DANE) still names the old
/// one: `--dane` asks for `_PORT._tcp.NAME` and finds the record names nothing served.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dane_finds_a_tlsa_record_that_still_names_the_old_key() {
    use support::dcvfix::{a, dns_here, Zone};
    let (pki, old, new, server) = renewed_mail_host(
        "Dane",
        &["mx.test", "ok.test", "none.test", "ca.test"],
        0x71,
    )
    .await;
    let port = server.addr.port();
    let tlsa = |host: &str, leaf: &fleet::Leaf| tlsa_for(port, host, leaf);
    let int_pin = cert_key_pin(&pki.intermediate.cert);
    let zone = Zone {
        origin: "test.",
        serial: 1,
        records: vec![
            a("mx.test.", [127, 0, 0, 1]),
            a("ok.test.", [127, 0, 0, 1]),
            a("none.test.", [127, 0, 0, 1]),
            tlsa("mx.test", &old),
            tlsa("ok.test", &old),
            tlsa("ok.test", &new),
            a("ca.test.", [127, 0, 0, 1]),
            tlsa("ca.test", &old),
            support::dcvfix::tlsa(&format!("_{port}._tcp.ca.test."), 2, 1, 1, int_pin),
        ],
    };
    let (dns, _dns_server) = dns_here(&[zone]).await;
    let dir = tempfile::tempdir().unwrap();
    let ca = root_file(&pki, &dir);
    let dns = dns.to_string();
    let targets: String = ["mx.test", "ok.test", "none.test", "ca.test"]
        .iter()
        .map(|h| format!("{h}:{port}\n"))
        .collect();
    let args = ["--resolver", &dns, "--ca-file", &ca, "--no-public-roots"];
    let obs = run_sweep(targets.clone(), &[&args[..], &["--dane"]].concat()).await;
    let by_host: HashMap<&str, &Observation> = obs.iter().map(|o| (o.host.as_str(), o)).collect();
    let mx = by_host["mx.test"];
    assert_eq!(mx.findings, [Finding::DaneMismatch]);
    let d = mx.dane.as_deref().unwrap();
    assert_eq!(d.records.len(), 1);
    assert!(d.records[0].starts_with("3 1 1 "), "{d:?}");
    assert_eq!(d.matched, None);
    // The test's DNS server validates nothing, so it says nothing is authentic.
    assert!(!d.validated);
    assert!(
        d.shown().starts_with("no match among 1 record(s): 3 1 1 ")
            && d.shown()
                .ends_with(" (the resolver did not say they are DNSSEC-authentic)"),
        "{}",
        d.shown()
    );
    // The reports' cell says it in the same words.
    let row = certsweep::report::csv::ScanRow::from_observation(mx, 0);
    assert_eq!(row.dane, d.shown());
    // The renewal's key published beside the old one: matched.
    let ok = by_host["ok.test"];
    assert!(ok.findings.is_empty(), "{:?}", ok.findings);
    let d = ok.dane.as_deref().unwrap();
    assert_eq!(d.records.len(), 2);
    assert!(d.matched.is_some(), "{d:?}");
    assert!(!d.issuer_pinned && d.only_key_pins);
    // Matched through the intermediate's pin, the old key's pin beside it: a renewal from
    // another CA would match neither, which the verdict looks at.
    let ca = by_host["ca.test"];
    assert!(ca.findings.is_empty(), "{:?}", ca.findings);
    let d = ca.dane.as_deref().unwrap();
    assert!(d
        .matched
        .as_deref()
        .is_some_and(|m| m.starts_with("2 1 1 ")));
    assert!(d.issuer_pinned && !d.only_key_pins, "{d:?}");
    let int_key = certsweep::cert::hex_lower(&cert_key_pin(&pki.intermediate.cert));
    assert_eq!(d.ca_pins, std::slice::from_ref(&int_key));
    assert_eq!(d.issuer_key, Some(int_key));
    // No TLSA published, or the option not given: nothing said.
    assert!(by_host["none.test"].dane.is_none());
    let obs = run_sweep(targets, &args).await;
    assert!(obs
        .iter()
        .all(|o| o.dane.is_none() && o.findings.is_empty()));
}

/// TLSA records a validating resolver does not vouch for are an unsigned zone's, which DANE
/// clients ignore: no match and no mismatch, but `dane_unusable` (the DANE they were
/// published for is off). A resolver that vouches for nothing, not even the root zone,
/// tells nothing of the kind, and the records are judged as they are.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tlsa_records_a_validating_resolver_does_not_vouch_for_are_no_dane() {
    use support::dcvfix::{a, catalog, filtered_here, Act, Decide, Zone};
    let pki = Pki::new("DaneSigned").unwrap();
    let leaf = pki
        .issue(&LeafSpec::new(
            &["signed.test", "unsigned.test"],
            0x7c,
            1,
            60,
        ))
        .unwrap();
    let server = fleet::serve_tls(SocketAddr::new(ip("127.0.0.1"), 0), &leaf, &[], None)
        .await
        .unwrap();
    let port = server.addr.port();
    let zones = || {
        [
            Zone {
                origin: ".",
                serial: 1,
                records: vec![],
            },
            Zone {
                origin: "test.",
                serial: 1,
                records: vec![
                    a("signed.test.", [127, 0, 0, 1]),
                    a("unsigned.test.", [127, 0, 0, 1]),
                    tlsa_for(port, "signed.test", &leaf),
                    tlsa_for(port, "unsigned.test", &leaf),
                ],
            },
        ]
    };
    let dir = tempfile::tempdir().unwrap();
    let ca = root_file(&pki, &dir);
    let targets = format!("signed.test:{port}\nunsigned.test:{port}\n");
    // `validating`: the root zone and signed.test's records vouched for, as a validating
    // resolver does; else nothing is.
    let mut servers = Vec::new();
    let mut swept = Vec::new();
    for validating in [true, false] {
        let act: Decide = Box::new(move |request| {
            let q = support::dcvfix::asked_name(request);
            let signed = q == "." || (q.starts_with('_') && q.ends_with("._tcp.signed.test."));
            match validating && signed {
                true => Act::AnswerAuthentic,
                false => Act::Answer,
            }
        });
        let (addr, dns) = filtered_here(catalog(&zones()).await, act);
        servers.push(dns);
        swept.push(dane_sweep(targets.clone(), &addr.to_string(), &ca, &[]).await);
    }
    let by_host = |obs: &[Observation]| -> HashMap<String, Observation> {
        obs.iter().map(|o| (o.host.clone(), o.clone())).collect()
    };
    let (told, untold) = (by_host(&swept[0]), by_host(&swept[1]));
    let signed = told["signed.test"].dane.as_deref().unwrap();
    assert!(told["signed.test"].findings.is_empty());
    assert!(signed.validated && !signed.insecure && signed.matched.is_some());
    let unsigned = told["unsigned.test"].dane.as_deref().unwrap();
    assert_eq!(told["unsigned.test"].findings, [Finding::DaneUnusable]);
    assert!(
        unsigned.insecure && unsigned.matched.is_none(),
        "{unsigned:?}"
    );
    // Its record names the key served: signing the zone would turn DANE on, matched.
    assert!(!unsigned.stale_if_signed);
    assert!(
        unsigned.unusable[0].contains("not DNSSEC-signed"),
        "{unsigned:?}"
    );
    for host in ["signed.test", "unsigned.test"] {
        let d = untold[host].dane.as_deref().unwrap();
        assert!(untold[host].findings.is_empty(), "{host}");
        assert!(!d.validated && !d.insecure && d.matched.is_some(), "{d:?}");
    }
}

/// A mail server still serving the old certificate, its TLSA records pinning the
/// intermediate that issued it (`2 1 1`), while the CLM's renewal (its PEM with its CA in
/// the export) comes from another intermediate, as Let's Encrypt's renewals move among
/// theirs: deployed, clients that validate DANE would refuse it. The verdict names the
/// record for the new CA's key; where it is published already, nothing is said.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_renewal_from_a_ca_the_tlsa_records_do_not_pin_is_told_before_it_is_deployed() {
    use support::dcvfix::{a, dns_here, tlsa, Zone};
    let pki = Pki::new("DaneR10").unwrap();
    let next = Pki::new("DaneR11").unwrap();
    let old = pki
        .issue(&LeafSpec::new(&["mx.test", "ahead.test"], 0x7a, 60, 30))
        .unwrap();
    let renewal = next
        .issue(&LeafSpec::new(&["mx.test", "ahead.test"], 0x7b, 1, 90))
        .unwrap();
    let server = fleet::serve_tls(SocketAddr::new(ip("127.0.0.1"), 0), &old, &[], None)
        .await
        .unwrap();
    let port = server.addr.port();
    let (r10, r11) = (
        cert_key_pin(&pki.intermediate.cert),
        cert_key_pin(&next.intermediate.cert),
    );
    let zone = Zone {
        origin: "test.",
        serial: 1,
        records: vec![
            a("mx.test.", [127, 0, 0, 1]),
            a("ahead.test.", [127, 0, 0, 1]),
            tlsa(&format!("_{port}._tcp.mx.test."), 2, 1, 1, r10.clone()),
            tlsa(&format!("_{port}._tcp.ahead.test."), 2, 1, 1, r10),
            tlsa(&format!("_{port}._tcp.ahead.test."), 2, 1, 1, r11.clone()),
        ],
    };
    let (dns, _dns_server) = dns_here(&[zone]).await;
    let dir = tempfile::tempdir().unwrap();
    let ca = root_file(&pki, &dir);
    let chain: String = renewal
        .chain
        .iter()
        .map(|c| pem::encode(&pem::Pem::new("CERTIFICATE", c.to_vec())))
        .collect();
    let inventory = dir.path().join("inventory.csv");
    let mut w = csv::Writer::from_path(&inventory).unwrap();
    w.write_record([
        "Certificate ID",
        "SANs",
        "Serial",
        "Renewal Of",
        "Status",
        "Chain",
    ])
    .unwrap();
    w.write_record([
        "OLD",
        "mx.test;ahead.test",
        &old.serial_hex,
        "",
        "Issued",
        "",
    ])
    .unwrap();
    w.write_record(["NEW", "", "", "OLD", "Issued", &chain])
        .unwrap();
    w.flush().unwrap();
    let targets = dir.path().join("targets.txt");
    std::fs::write(&targets, format!("mx.test:{port}\nahead.test:{port}\n")).unwrap();
    let report = dir.path().join("report.csv");
    let args: Vec<String> = [
        "scan",
        "--targets",
        targets.to_str().unwrap(),
        "--resolver",
        &dns.to_string(),
        "--ca-file",
        &ca,
        "--no-public-roots",
        "--dane",
        "--inventory",
        inventory.to_str().unwrap(),
        "--report",
        report.to_str().unwrap(),
    ]
    .map(String::from)
    .to_vec();
    let out = run_certsweep_owned(args).await;
    // Renewed and not deployed fails the run by default.
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut rows: HashMap<String, HashMap<String, String>> = HashMap::new();
    for r in csv::Reader::from_path(&report)
        .unwrap()
        .deserialize::<HashMap<String, String>>()
    {
        let r = r.unwrap();
        rows.insert(r["host"].clone(), r);
    }
    let mx = &rows["mx.test"];
    assert_eq!(mx["status"], "renewed_not_deployed", "{mx:?}");
    assert!(
        mx["findings"].contains("dane_renewal_unpublished"),
        "{mx:?}"
    );
    assert!(
        mx["next_step"].contains(&format!(
            "publish the TLSA record for its CA's key, DaneR11 Issuing CA 1's (_{port}._tcp.mx.test 2 1 1 {})",
            certsweep::cert::hex_lower(&r11)
        )),
        "{mx:?}"
    );
    let ahead = &rows["ahead.test"];
    assert_eq!(ahead["status"], "renewed_not_deployed", "{ahead:?}");
    assert!(
        !ahead["findings"].contains("dane_renewal_unpublished"),
        "{ahead:?}"
    );
    assert!(!ahead["next_step"].contains("TLSA"), "{ahead:?}");
}

/// Stale names whose zone no longer answers hold their lookups for seconds each; once slow
/// they give their places among the lookups in flight to the names after them, so a live
/// name listed behind hundreds of them is scanned long before their lookups fail; and at
/// most `SLOW_LOOKUPS` of them are slow at once, whatever the concurrency.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn names_whose_zone_is_silent_do_not_hold_back_the_names_after_them() {
    use support::dcvfix::{a, dns_here, silent_for, Zone};
    let pki = Pki::new("Stale names").unwrap();
    let leaf = pki
        .issue(&LeafSpec::new(&["live.test"], 0x51, 1, 90))
        .unwrap();
    let server = fleet::serve_tls(SocketAddr::new(ip("127.0.0.1"), 0), &leaf, &[], None)
        .await
        .unwrap();
    let port = server.addr.port();
    let zone = Zone {
        origin: "test.",
        serial: 1,
        records: vec![a("live.test.", [127, 0, 0, 1])],
    };
    let (dns, _dns_server) = dns_here(&[zone]).await;
    let resolver = silent_for(dns, "stale").await.to_string();
    // More stale names than lookups may be in flight at once (256) and than may be slow
    // (1,024), then the live one.
    let stale = certsweep::engine::sweep::SLOW_LOOKUPS + 76;
    let mut targets: String = (0..stale)
        .map(|i| format!("stale{i}.test:{port}\n"))
        .collect();
    targets.push_str(&format!("live.test:{port}\n"));
    let dir = tempfile::tempdir().unwrap();
    let ca = root_file(&pki, &dir);
    let (obs, counters) = sweep_counted(
        targets,
        &[
            "--resolver",
            &resolver,
            "--ca-file",
            &ca,
            "--no-public-roots",
            "--concurrency",
            "2000",
        ],
    )
    .await;
    assert_eq!(obs.len(), stale + 1);
    let peak = counters
        .slow_lookups_peak
        .load(std::sync::atomic::Ordering::Relaxed);
    assert_eq!(peak, certsweep::engine::sweep::SLOW_LOOKUPS as u64);
    // In the order they were finished: the live name first, the stale ones when their
    // questions had timed out.
    assert_eq!(obs[0].host, "live.test", "{:?}", obs[0]);
    assert_eq!(obs[0].cert.as_ref().unwrap().serial, "8A0000000000000051");
    assert!(obs[1..]
        .iter()
        .all(|o| o.error_class() == Some(ErrorClass::DnsError)));
}

/// A mail host that is an alias (CNAME) of its provider's: DANE clients look for TLSA at
/// the alias target first (RFC 7671, section 7), then at the name, and so does `--dane`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dane_looks_at_the_alias_target_first_then_at_the_name() {
    use support::dcvfix::{a, cname, dns_here, Zone};
    let names = ["mx.test", "relay.test", "own.test"];
    let (pki, old, new, server) = renewed_mail_host("Dane alias", &names, 0x81).await;
    let port = server.addr.port();
    let tlsa = |host: &str, leaf: &fleet::Leaf| tlsa_for(port, host, leaf);
    let zone = Zone {
        origin: "test.",
        serial: 1,
        records: vec![
            a("host.provider.test.", [127, 0, 0, 1]),
            a("bare.provider.test.", [127, 0, 0, 1]),
            a("old.provider.test.", [127, 0, 0, 1]),
            // mx.test: records only at the target, naming the served key.
            cname("mx.test.", "host.provider.test."),
            tlsa("host.provider.test", &new),
            // relay.test: at both; the target's (the old key) are the ones used.
            cname("relay.test.", "old.provider.test."),
            tlsa("old.provider.test", &old),
            tlsa("relay.test", &new),
            // own.test: none at its target, its own (the old key) used.
            cname("own.test.", "bare.provider.test."),
            tlsa("own.test", &old),
        ],
    };
    let (dns, _dns_server) = dns_here(&[zone]).await;
    let dir = tempfile::tempdir().unwrap();
    let ca = root_file(&pki, &dir);
    let dns = dns.to_string();
    let targets: String = ["mx.test", "relay.test", "own.test"]
        .iter()
        .map(|h| format!("{h}@127.0.0.1:{port}\n"))
        .collect();
    let obs = dane_sweep(targets, &dns, &ca, &[]).await;
    let by_host: HashMap<&str, &Observation> = obs.iter().map(|o| (o.host.as_str(), o)).collect();
    let owner = format!("_{port}._tcp.host.provider.test");
    let mx = by_host["mx.test"].dane.as_deref().unwrap();
    assert!(mx.matched.is_some(), "{mx:?}");
    assert_eq!(mx.at_alias.as_deref(), Some(owner.as_str()));
    assert!(
        mx.shown()
            .contains(&format!(", published at {owner} (the name's alias target)")),
        "{}",
        mx.shown()
    );
    assert!(by_host["mx.test"].findings.is_empty());
    // The target's records are judged, not the name's own, which name the served key.
    let relay = by_host["relay.test"];
    assert_eq!(relay.findings, [Finding::DaneMismatch]);
    let d = relay.dane.as_deref().unwrap();
    assert_eq!(d.at_alias, Some(format!("_{port}._tcp.old.provider.test")));
    let own = by_host["own.test"];
    assert_eq!(own.findings, [Finding::DaneMismatch]);
    assert_eq!(own.dane.as_deref().unwrap().at_alias, None);
}

/// A name looked up for its addresses is an alias: `--dane` reads the alias target from
/// that answer rather than asking the name's A question again, and judges the target's
/// records as when it asks.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dane_reads_the_alias_from_the_address_lookup() {
    use hickory_server::proto::rr::RecordType;
    use support::dcvfix::{a, catalog, cname, filtered_here, Act, Decide, Zone};
    let (pki, _old, new, server) = renewed_mail_host("Dane looked up", &["mx.test"], 0x91).await;
    let port = server.addr.port();
    let zone = Zone {
        origin: "test.",
        serial: 1,
        records: vec![
            cname("mx.test.", "host.provider.test."),
            a("host.provider.test.", [127, 0, 0, 1]),
            tlsa_for(port, "host.provider.test", &new),
        ],
    };
    // Every question the sweep asks, by name and type.
    let asked = std::sync::Arc::new(std::sync::Mutex::new(Vec::<(String, RecordType)>::new()));
    let log = asked.clone();
    let act: Decide = Box::new(move |request| {
        if let Some(q) = request.queries.queries().first() {
            let name = q.name().to_ascii();
            log.lock().unwrap().push((name, q.query_type()));
        }
        Act::Answer
    });
    let (dns, dns_server) = filtered_here(catalog(&[zone]).await, act);
    let dir = tempfile::tempdir().unwrap();
    let ca = root_file(&pki, &dir);
    let dns = dns.to_string();
    let obs = dane_sweep(format!("mx.test:{port}\n"), &dns, &ca, &["--ipv4-only"]).await;
    assert_eq!(obs.len(), 1, "{obs:?}");
    let d = obs[0].dane.as_deref().unwrap();
    assert!(d.matched.is_some(), "{d:?}");
    let owner = format!("_{port}._tcp.host.provider.test");
    assert_eq!(d.at_alias.as_deref(), Some(owner.as_str()));
    assert!(obs[0].findings.is_empty(), "{:?}", obs[0].findings);
    let asked = asked.lock().unwrap().clone();
    let a_questions = asked
        .iter()
        .filter(|(n, t)| n == "mx.test." && *t == RecordType::A)
        .count();
    assert_eq!(a_questions, 1, "{asked:?}");
    drop(dns_server);
}

/// An ECDSA certificate for `name` with `serial` and an RSA one with the next serial, both
/// valid since 10 days for 80 more.
fn both_key_types(pki: &Pki, name: &str, serial: u64) -> (fleet::Leaf, fleet::Leaf) {
    let ec = LeafSpec::new(&[name], serial, 10, 80);
    let rsa = LeafSpec::new(&[name], serial + 1, 10, 80).with_rsa();
    (pki.issue(&ec).unwrap(), pki.issue(&rsa).unwrap())
}

/// A server stapling a fresh response with its ECDSA certificate and a stale one with its
/// RSA certificate: the second look reads the RSA one's staple as the first connection
/// reads its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_second_looks_staple_is_read_with_its_certificate() {
    use certsweep::fleet::StapleSays;
    let pki = Pki::new("Staple two").unwrap();
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let (ec, rsa) = both_key_types(&pki, "two.test", 0xa1);
    let fresh = pki.staple(&ec, StapleSays::Good, now - 60, now + 3600);
    let stale = pki.staple(&rsa, StapleSays::Good, now - 7200, now - 3600);
    let (ec, rsa) = (
        ec.stapling(Some(fresh.unwrap())),
        rsa.stapling(Some(stale.unwrap())),
    );
    let server = fleet::serve_tls_key_types(SocketAddr::new(ip("127.0.0.1"), 0), &[&ec, &rsa])
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ca = root_file(&pki, &dir);
    let target = format!("two.test@127.0.0.1:{}", server.addr.port());
    let o = sweep_one(target, &ca, &["--both-key-types"]).await;
    assert!(o.findings.is_empty(), "{:?}", o.findings);
    assert_eq!(o.ocsp.as_deref().map(|i| i.status.as_str()), Some("good"));
    let other = o.other_key.as_deref().expect("second look");
    assert_eq!(
        other.cert.as_ref().map(|c| c.serial.as_str()),
        Some(rsa.serial_hex.as_str())
    );
    assert_eq!(other.findings, [Finding::OcspStale]);
    assert_eq!(
        other.ocsp.as_deref().and_then(|i| i.next_update.clone()),
        Some(certsweep::timefmt::rfc3339_unix(now - 3600))
    );
}

/// A mail server holding an ECDSA and an RSA certificate whose TLSA record pins only the
/// ECDSA key: DANE clients that get the RSA certificate fail, which the second look
/// (`--both-key-types`) shows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dane_judges_the_second_looks_certificate_too() {
    use support::dcvfix::{dns_here, tlsa_pin, Zone};
    let pki = Pki::new("Dane two").unwrap();
    let (ec, rsa) = both_key_types(&pki, "mx.test", 0x91);
    let server = fleet::serve_tls_key_types(SocketAddr::new(ip("127.0.0.1"), 0), &[&ec, &rsa])
        .await
        .unwrap();
    let port = server.addr.port();
    let owner = format!("_{port}._tcp.mx.test.");
    let zone = |pins: &[&fleet::Leaf]| Zone {
        origin: "test.",
        serial: 1,
        records: pins.iter().map(|l| tlsa_pin(&owner, key_pin(l))).collect(),
    };
    let dir = tempfile::tempdir().unwrap();
    let ca = root_file(&pki, &dir);
    let target = format!("mx.test@127.0.0.1:{port}\n");
    for (pins, rsa_pinned) in [(&[&ec][..], false), (&[&ec, &rsa][..], true)] {
        let (dns, _dns_server) = dns_here(&[zone(pins)]).await;
        let dns = dns.to_string();
        let obs = dane_sweep(target.clone(), &dns, &ca, &["--both-key-types"]).await;
        let o = &obs[0];
        assert_eq!(
            o.cert.as_ref().map(|c| c.serial.as_str()),
            Some(ec.serial_hex.as_str())
        );
        assert!(o.findings.is_empty(), "{:?}", o.findings);
        let other = o.other_key.as_deref().expect("second look");
        assert_eq!(
            other.cert.as_ref().map(|c| c.serial.as_str()),
            Some(rsa.serial_hex.as_str())
        );
        let d = other.dane.as_deref().expect("judged against the records");
        assert_eq!(d.matched.is_some(), rsa_pinned, "{d:?}");
        let mismatch: &[Finding] = if rsa_pinned {
            &[]
        } else {
            &[Finding::DaneMismatch]
        };
        assert_eq!(other.findings, mismatch);
    }
}

/// Behind one address, the node that got the renewal serves a key the TLSA records do not
/// pin yet: `--samples` meets it, and `--dane` judges it against the same records.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dane_judges_every_node_the_samples_meet() {
    use support::dcvfix::{dns_here, tlsa_pin, Zone};
    let pki = Pki::new("Dane Nodes").unwrap();
    let old = valid_leaf(&pki, "mx.test", 0x81);
    let new = valid_leaf(&pki, "mx.test", 0x82);
    // Connections reach the old node first, then the renewed one.
    let server = round_robin(&[Some(&old), Some(&new)]).await;
    let port = server.addr.port();
    let zone = Zone {
        origin: "test.",
        serial: 1,
        records: vec![tlsa_pin(&format!("_{port}._tcp.mx.test."), key_pin(&old))],
    };
    let (dns, _dns_server) = dns_here(&[zone]).await;
    let dir = tempfile::tempdir().unwrap();
    let ca = root_file(&pki, &dir);
    let dns = dns.to_string();
    let target = format!("mx.test@127.0.0.1:{port}\n");
    let obs = dane_sweep(target, &dns, &ca, &["--samples", "2"]).await;
    let o = &obs[0];
    // The first node serves the pinned key; the second does not.
    assert_eq!(o.cert.as_ref().unwrap().serial, old.serial_hex);
    assert_eq!(o.findings, [Finding::BackendsDiffer]);
    assert!(o.dane.as_deref().unwrap().matched.is_some());
    let node = &o.samples.as_deref().unwrap().others[0];
    assert_eq!(node.cert.serial, new.serial_hex);
    assert_eq!(node.findings, [Finding::DaneMismatch]);
    assert_eq!(node.dane.as_deref().unwrap().matched, None);
    // Its verdict without records is what the node earns: it fails --fail-on.
    let nodes = certsweep::verdict::sampled(o);
    assert!(nodes[0].findings.contains(&Finding::DaneMismatch));
    assert_eq!(nodes[0].dane.as_deref().unwrap().matched, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_several_port_sweep_against_records_tells_a_port_the_name_does_not_use_from_a_down_name()
{
    // `--port P,R`: a.test serves on P and nothing listens on R; b.test listens on neither.
    let pki = Pki::new("Ports").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ca = root_file(&pki, &dir);
    let leaf = valid_leaf(&pki, "a.test", 0x3A01);
    let server = fleet::serve_tls(SocketAddr::new(ip("127.0.0.1"), 0), &leaf, &[], None)
        .await
        .unwrap();
    let served = server.addr.port();
    let unused = refused_addr().port();
    let targets = dir.path().join("targets.txt");
    std::fs::write(&targets, "a.test@127.0.0.1\nb.test@127.0.0.3\n").unwrap();
    let inventory = dir.path().join("inventory.csv");
    std::fs::write(
        &inventory,
        "Certificate ID,Common Name,Serial Number,Valid From,Valid To,Status\n\
         C-1,a.test,8A0000000000003A01,2026-01-01T00:00:00Z,2030-01-01T00:00:00Z,Active\n\
         C-2,b.test,3A02,2026-01-01T00:00:00Z,2030-01-01T00:00:00Z,Active\n",
    )
    .unwrap();
    let report = dir.path().join("report.csv");
    let path = |p: &std::path::Path| p.to_string_lossy().into_owned();
    let args = [
        "scan",
        "--targets",
        &path(&targets),
        "--port",
        &format!("{served},{unused}"),
        "--ca-file",
        &ca,
        "--inventory",
        &path(&inventory),
        "--report",
        &path(&report),
        "--fail-on",
        "unreachable",
    ]
    .map(String::from)
    .to_vec();
    let out = run_certsweep_owned(args.clone()).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    // b.test is down: the run fails on it, not on a.test's unused port.
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let text = std::fs::read_to_string(&report).unwrap();
    let mut rows = csv::Reader::from_reader(text.as_bytes());
    let head = rows.headers().unwrap().clone();
    let col = |name: &str| head.iter().position(|h| h == name).unwrap();
    let (host, port, status) = (col("host"), col("port"), col("status"));
    let mut got: Vec<(String, String, String)> = rows
        .records()
        .map(|r| {
            let r = r.unwrap();
            (
                r[host].to_string(),
                r[port].to_string(),
                r[status].to_string(),
            )
        })
        .collect();
    got.sort();
    let want = |h: &str, p: u16, s: &str| (h.to_string(), p.to_string(), s.to_string());
    let mut expected = vec![
        want("a.test", served, "current"),
        want("a.test", unused, "served_on_other_port"),
        want("b.test", served, "unreachable"),
        want("b.test", unused, "unreachable"),
    ];
    expected.sort();
    assert_eq!(got, expected, "{text}");
    assert!(stderr.contains("served_on_other_port 1"), "{stderr}");
    assert!(stderr.contains("unreachable 2"), "{stderr}");

    // A line naming the unused port itself asks for the service there: unreachable.
    std::fs::write(
        &targets,
        format!("a.test@127.0.0.1\na.test@127.0.0.1:{unused}\n"),
    )
    .unwrap();
    let out = run_certsweep_owned(args).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("unreachable 1"), "{stderr}");
    assert!(!stderr.contains("served_on_other_port"), "{stderr}");
    drop(server);
}

/// What a generated endpoint does.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    /// Its certificate and chain, valid, for its name.
    Good,
    /// Its certificate without the intermediate.
    Alone,
    SelfSigned,
    Expired,
    /// A certificate for another name.
    OtherName,
    /// The certificate of the endpoint before it, for the same name, on another port.
    Twin,
    Refused,
    /// Accepts, then says nothing.
    Silent,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generated_fleets_get_each_endpoint_its_own_serial_findings_and_error() {
    // Endpoints of random kinds side by side in one sweep, leaves of a two-level and a
    // three-level CA interleaved (so the trust caches serve some and not others): every
    // observation must carry its own server's serial and say what that server does,
    // whatever its neighbours did.
    const KINDS: [Kind; 8] = [
        Kind::Good,
        Kind::Alone,
        Kind::SelfSigned,
        Kind::Expired,
        Kind::OtherName,
        Kind::Twin,
        Kind::Refused,
        Kind::Silent,
    ];
    let pkis = [
        Pki::new("GenTwo").unwrap(),
        Pki::three_level("GenThree", 3650).unwrap(),
    ];
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("roots.pem");
    std::fs::write(&ca, pkis[0].root_pem() + &pkis[1].root_pem()).unwrap();
    let ca_s = ca.to_string_lossy().to_string();
    let lo = ip("127.0.0.1");
    let any = SocketAddr::new(lo, 0);
    let mut rng = support::XorShift::new(0x5eed_f1ee_7000_0001u64);
    let mut below = |n: u64| rng.below(n);
    let mut servers = Vec::new();
    let mut refused = Vec::new();
    let mut targets = String::new();
    // (name, port) → (kind, serial expected)
    let mut want: HashMap<(String, u16), (Kind, Option<String>)> = HashMap::new();
    // Every certificate served, and the last good one's name and place among them.
    let mut leaves: Vec<fleet::Leaf> = Vec::new();
    let mut previous: Option<(String, usize)> = None;
    for i in 0..72u64 {
        let mut kind = KINDS[below(KINDS.len() as u64) as usize];
        if kind == Kind::Twin && previous.is_none() {
            kind = Kind::Good;
        }
        let pki = &pkis[below(2) as usize];
        let mut name = format!("n{i}.test");
        let spec = |names: &[&str], days_ago, days_left| {
            LeafSpec::new(names, 10_000 + i, days_ago, days_left)
        };
        let issued = match kind {
            Kind::Good | Kind::Alone => Some(pki.issue(&spec(&[&name], 10, 80)).unwrap()),
            Kind::SelfSigned => Some(
                pki.issue(&spec(&[&name], 10, 80).with_chain(ChainKind::SelfSigned))
                    .unwrap(),
            ),
            Kind::Expired => Some(pki.issue(&spec(&[&name], 400, -5)).unwrap()),
            Kind::OtherName => Some(pki.issue(&spec(&["elsewhere.test"], 10, 80)).unwrap()),
            Kind::Twin | Kind::Refused | Kind::Silent => None,
        };
        let at = match (kind, issued) {
            (Kind::Twin, _) => previous.as_ref().map(|(n, k)| {
                name = n.clone();
                *k
            }),
            (_, Some(l)) => {
                leaves.push(l);
                Some(leaves.len() - 1)
            }
            (_, None) => None,
        };
        let leaf = at.map(|k| &leaves[k]);
        let addr = match (kind, leaf) {
            (Kind::Refused, _) => {
                let r = fleet::refused_addr(lo).await.unwrap();
                let a = r.addr;
                refused.push(r);
                a
            }
            (Kind::Silent, _) => {
                let s = fleet::serve_tarpit(any).await.unwrap();
                let a = s.addr;
                servers.push(s);
                a
            }
            (Kind::Alone, Some(l)) => {
                let s = fleet::serve_tls(any, &l.without_intermediates(), &[], None)
                    .await
                    .unwrap();
                let a = s.addr;
                servers.push(s);
                a
            }
            (_, Some(l)) => {
                let s = fleet::serve_tls(any, l, &[], None).await.unwrap();
                let a = s.addr;
                servers.push(s);
                a
            }
            (_, None) => unreachable!("every other kind has a certificate"),
        };
        targets.push_str(&format!("{name}@{addr}\n"));
        want.insert(
            (name.clone(), addr.port()),
            (kind, leaf.map(|l| l.serial_hex.clone())),
        );
        if kind == Kind::Good {
            previous = at.map(|k| (name, k));
        }
    }
    let obs = run_sweep(
        targets.clone(),
        &[
            "--ca-file",
            &ca_s,
            "--no-public-roots",
            "--connect-timeout",
            "400ms",
            "--handshake-timeout",
            "600ms",
        ],
    )
    .await;
    assert_eq!(obs.len(), want.len(), "{targets}");
    for o in &obs {
        let key = (o.asked_name().to_string(), o.port);
        let (kind, serial) = want
            .get(&key)
            .unwrap_or_else(|| panic!("no such endpoint {key:?}"));
        let got_serial = o.cert.as_ref().map(|c| c.serial.clone());
        assert_eq!(&got_serial, serial, "{key:?} {kind:?}: {o:#?}");
        let trust: Vec<Finding> = o
            .findings
            .iter()
            .copied()
            .filter(|f| {
                matches!(
                    f,
                    Finding::Expired
                        | Finding::HostnameMismatch
                        | Finding::SelfSigned
                        | Finding::IncompleteChain
                        | Finding::UnknownIssuer
                        | Finding::ChainInvalid
                )
            })
            .collect();
        let (findings, class): (&[Finding], Option<ErrorClass>) = match kind {
            Kind::Good | Kind::Twin => (&[], None),
            Kind::Alone => (&[Finding::IncompleteChain], None),
            Kind::SelfSigned => (&[Finding::SelfSigned], None),
            Kind::Expired => (&[Finding::Expired], None),
            Kind::OtherName => (&[Finding::HostnameMismatch], None),
            Kind::Refused => (&[], Some(ErrorClass::ConnectRefused)),
            Kind::Silent => (&[], Some(ErrorClass::TlsTimeout)),
        };
        assert_eq!(
            (trust.as_slice(), o.error_class()),
            (findings, class),
            "{key:?} {kind:?}: {:?}",
            o.trust_detail
        );
    }
    drop((servers, refused));
}

/// What a generated endpoint serves, against the records of its name.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Served {
    /// The newest version.
    Newest,
    /// The version before the newest, renewed ten days ago.
    Older,
    /// A certificate the records do not hold, from before the newest.
    Outside,
    /// The only version, expired.
    Lapsed,
    /// Nothing: the port refuses.
    Nothing,
    /// The version before the newest, renewed this very hour.
    JustRenewed,
    /// The only version, ending in ten days.
    Ending,
    /// The only version, revoked in the records.
    Revoked,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generated_fleets_against_their_records_get_the_status_and_the_serial_expected() {
    // Names with one or two versions in three CSV exports, each writing its serials its own
    // way (uppercase hex, colon-separated lowercase, decimal), each name's endpoint serving
    // one of them, a certificate outside the records, or nothing: one sweep against the
    // exports must say of each the status and the expected serial that follow.
    const SERVED: [Served; 8] = [
        Served::Newest,
        Served::Older,
        Served::Outside,
        Served::Lapsed,
        Served::Nothing,
        Served::JustRenewed,
        Served::Ending,
        Served::Revoked,
    ];
    let pki = Pki::new("GenRecords").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let lo = ip("127.0.0.1");
    let any = SocketAddr::new(lo, 0);
    let mut rng = support::XorShift::new(0x5eed_7ec0_4d50_0001u64);
    let mut below = |n: u64| rng.below(n);
    let written = |l: &fleet::Leaf, how: u64| match how {
        0 => l.serial_hex.clone(),
        1 => {
            // Colon-separated bytes, lower case, as OpenSSL and Vault write them.
            let hex = if l.serial_hex.len() % 2 == 1 {
                format!("0{}", l.serial_hex)
            } else {
                l.serial_hex.clone()
            };
            (hex.as_bytes().chunks(2))
                .map(|b| String::from_utf8_lossy(b).to_lowercase())
                .collect::<Vec<_>>()
                .join(":")
        }
        _ => l.serial_dec.clone(),
    };
    let when = |t: time::OffsetDateTime| {
        t.format(&time::format_description::well_known::Rfc3339)
            .unwrap()
    };
    let header =
        "Certificate ID,Common Name,Subject Alternative Names,Serial Number,Valid From,Valid To,Status\n";
    let mut csvs = [header.to_string(), header.to_string(), header.to_string()];
    let mut targets = String::new();
    let mut servers = Vec::new();
    let mut refused = Vec::new();
    // name → (what is served, the status and the serial expected)
    use certsweep::verdict::Status;
    let mut want: HashMap<String, (Served, Status, Option<String>)> = HashMap::new();
    for i in 0..40u64 {
        let served = SERVED[below(SERVED.len() as u64) as usize];
        let name = format!("g{i}.test");
        let serial = |k: u64| 20_000 + 10 * i + k;
        // The export this name's records are in.
        let export = below(3);
        let mut record_as = |id: String, l: &fleet::Leaf, status: &str| {
            csvs[export as usize].push_str(&format!(
                "{id},{name},{name},{},{},{},{status}\n",
                written(l, export),
                when(l.not_before),
                when(l.not_after)
            ));
        };
        let mut record = |id: String, l: &fleet::Leaf| record_as(id, l, "Issued");
        let newest = pki
            .issue(&LeafSpec::new(&[&name], serial(1), 10, 80))
            .unwrap();
        let (serve, status, expected) = match served {
            Served::Newest => {
                record(format!("R{i}"), &newest);
                (Some(newest), Status::Current, None)
            }
            Served::Older => {
                let older = pki
                    .issue(&LeafSpec::new(&[&name], serial(0), 300, 40))
                    .unwrap();
                record(format!("R{i}a"), &older);
                record(format!("R{i}"), &newest);
                (
                    Some(older),
                    Status::RenewedNotDeployed,
                    Some(newest.serial_hex),
                )
            }
            Served::Outside => {
                let outside = pki
                    .issue(&LeafSpec::new(&[&name], serial(2), 20, 70))
                    .unwrap();
                record(format!("R{i}"), &newest);
                (Some(outside), Status::Unmanaged, Some(newest.serial_hex))
            }
            Served::Lapsed => {
                let lapsed = pki
                    .issue(&LeafSpec::new(&[&name], serial(0), 400, -5))
                    .unwrap();
                record(format!("R{i}"), &lapsed);
                let s = lapsed.serial_hex.clone();
                (Some(lapsed), Status::Expired, Some(s))
            }
            Served::Nothing => {
                record(format!("R{i}"), &newest);
                (None, Status::Unreachable, Some(newest.serial_hex))
            }
            Served::JustRenewed => {
                let older = pki
                    .issue(&LeafSpec::new(&[&name], serial(0), 300, 40))
                    .unwrap();
                let fresh = pki
                    .issue(&LeafSpec::new(&[&name], serial(3), 0, 90))
                    .unwrap();
                record(format!("R{i}a"), &older);
                record(format!("R{i}"), &fresh);
                (
                    Some(older),
                    Status::DeploymentPending,
                    Some(fresh.serial_hex),
                )
            }
            Served::Ending => {
                let ending = pki
                    .issue(&LeafSpec::new(&[&name], serial(0), 80, 10))
                    .unwrap();
                record(format!("R{i}"), &ending);
                (Some(ending), Status::ExpiringSoon, None)
            }
            Served::Revoked => {
                let revoked = pki
                    .issue(&LeafSpec::new(&[&name], serial(0), 30, 60))
                    .unwrap();
                record_as(format!("R{i}"), &revoked, "Revoked");
                // Nothing later: a new certificate is needed, none is expected.
                (Some(revoked), Status::Revoked, Some(String::new()))
            }
        };
        let expected = match expected {
            Some(e) if e.is_empty() => None,
            Some(e) => Some(e),
            None => serve.as_ref().map(|l| l.serial_hex.clone()),
        };
        let addr = match &serve {
            Some(l) => {
                let s = fleet::serve_tls(any, l, &[], None).await.unwrap();
                let a = s.addr;
                servers.push(s);
                a
            }
            None => {
                let r = fleet::refused_addr(lo).await.unwrap();
                let a = r.addr;
                refused.push(r);
                a
            }
        };
        targets.push_str(&format!("{name}@{addr}\n"));
        want.insert(name, (served, status, expected));
    }
    let file = |n: &str, text: &str| {
        let p = dir.path().join(n);
        std::fs::write(&p, text).unwrap();
        p.to_str().unwrap().to_string()
    };
    let csv = csvs.concat();
    let (t, ca) = (
        file("targets.txt", &targets),
        file("ca.pem", &pki.root_pem()),
    );
    let exports: Vec<String> = (csvs.iter().enumerate())
        .map(|(k, text)| file(&format!("export{k}.csv"), text))
        .collect();
    let args = scan_args(&[
        "--targets",
        &t,
        "--inventory",
        &exports[0],
        &exports[1],
        &exports[2],
        "--ca-file",
        &ca,
        "--no-public-roots",
        "--connect-timeout",
        "400ms",
        "--records-report",
        &dir.path().join("records.csv").to_string_lossy(),
        "--quiet",
    ]);
    let out = certsweep::scan::compare(&args, true).await.unwrap();
    assert_eq!(out.verdicts.len(), want.len(), "{csv}");
    for v in &out.verdicts {
        let name = v.observation.asked_name();
        let (served, status, expected) = &want[name];
        let got = (v.status, v.expected.as_ref().and_then(|e| e.serial.clone()));
        assert_eq!(
            got,
            (*status, expected.clone()),
            "{name} serving {served:?}: {}\n{csv}",
            v.detail
        );
    }
    // The records report: one row per name, saying where its versions are served and what
    // that means.
    let rows = records_rows(dir.path());
    assert_eq!(rows.len(), want.len());
    for (name, (served, ..)) in &want {
        let row = &rows[name.as_str()];
        let at = |column: &str| !row[column].is_empty();
        let has = |f: &str| row["findings"].split(';').any(|x| x == f);
        let (deployed, stale, finding) = match served {
            Served::Newest => (true, false, None),
            Served::Older => (false, true, Some("older_versions_served")),
            Served::JustRenewed => (false, true, Some("deployment_pending")),
            Served::Outside | Served::Nothing => (false, false, Some("served_nowhere")),
            Served::Lapsed => (true, false, Some("newest_expired")),
            Served::Ending => (true, false, Some("expiring_no_renewal")),
            Served::Revoked => (false, true, Some("no_valid_certificate")),
        };
        assert_eq!(
            (at("deployed_at"), at("stale_at"), finding.is_none_or(has)),
            (deployed, stale, true),
            "{name} serving {served:?}: {row:?}"
        );
    }
    drop((servers, refused));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generated_do_not_scan_lists_keep_the_sweep_off_exactly_what_they_name() {
    // Names with one or two addresses (some under plc.test), given by name, pinned to an
    // address, as bare addresses or two-address blocks, against lists of addresses, ranges,
    // blocks, names and `*.plc.test`: the endpoints swept (each connection to these
    // servers becomes a row) are exactly those neither their name nor their address puts
    // on the list.
    let hosts: Vec<u8> = (2..=9).collect();
    let (port, servers) = dropping_listeners(&hosts).await;
    let mut rng = support::XorShift::new(0xe8c1_0de5_0000_0001u64);
    let mut below = |n: u64| rng.below(n);
    let at = |h: u64| format!("127.0.0.{h}");
    for round in 0..6 {
        // name → its addresses (last octets)
        let mut names: Vec<(String, Vec<u64>)> = Vec::new();
        for k in 0..6 {
            let parent = if below(3) == 0 { "plc.test" } else { "test" };
            let first = 2 + below(8);
            let mut addrs = vec![first];
            if below(2) == 0 {
                addrs.push(2 + (first - 2 + 1 + below(7)) % 8);
            }
            names.push((format!("r{round}n{k}.{parent}"), addrs));
        }
        // The list: what it names, by this test's own reckoning.
        let mut list = String::from("# generated\n");
        let mut out_addrs: Vec<u64> = Vec::new();
        let mut out_names: Vec<String> = Vec::new();
        let mut plc = false;
        for _ in 0..below(5) {
            match below(5) {
                0 => {
                    let h = 2 + below(8);
                    list.push_str(&format!("{}\n", at(h)));
                    out_addrs.push(h);
                }
                1 => {
                    let a = 2 + below(8);
                    let b = (a + below(3)).min(9);
                    list.push_str(&format!("{} - {}\n", at(a), at(b)));
                    out_addrs.extend(a..=b);
                }
                2 => {
                    let base = 2 + 2 * below(4);
                    list.push_str(&format!("{}/31\n", at(base + below(2))));
                    out_addrs.extend([base, base + 1]);
                }
                3 => {
                    let (n, _) = &names[below(names.len() as u64) as usize];
                    list.push_str(&format!("{}\n", n.to_uppercase()));
                    out_names.push(n.clone());
                }
                _ => {
                    list.push_str("*.plc.test\n");
                    plc = true;
                }
            }
        }
        let name_out =
            |n: &str| out_names.iter().any(|x| x == n) || (plc && n.ends_with(".plc.test"));
        let mut targets = String::new();
        let mut want: std::collections::BTreeSet<String> = Default::default();
        for (n, addrs) in &names {
            match below(4) {
                0 => {
                    targets.push_str(&format!("{n}\n"));
                    for h in addrs {
                        if !name_out(n) && !out_addrs.contains(h) {
                            want.insert(format!("{n}@{}", at(*h)));
                        }
                    }
                }
                1 => {
                    let h = addrs[0];
                    targets.push_str(&format!("{n}@{}\n", at(h)));
                    if !name_out(n) && !out_addrs.contains(&h) {
                        want.insert(format!("{n}@{}", at(h)));
                    }
                }
                2 => {
                    let h = addrs[0];
                    targets.push_str(&format!("{}\n", at(h)));
                    if !out_addrs.contains(&h) {
                        want.insert(format!("{}@{}", at(h), at(h)));
                    }
                }
                _ => {
                    let base = 2 + 2 * below(4);
                    targets.push_str(&format!("{}/31\n", at(base)));
                    for h in [base, base + 1] {
                        if !out_addrs.contains(&h) {
                            want.insert(format!("{}@{}", at(h), at(h)));
                        }
                    }
                }
            }
        }
        let records: Vec<(String, std::net::IpAddr)> = (names.iter())
            .flat_map(|(n, addrs)| addrs.iter().map(move |h| (format!("{n}."), ip(&at(*h)))))
            .collect();
        let refs: Vec<(&str, std::net::IpAddr)> =
            records.iter().map(|(n, a)| (n.as_str(), *a)).collect();
        let dns = support::dns_server("test.", &refs, &[]).await;
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("do-not-scan.txt");
        std::fs::write(&file, &list).unwrap();
        let resolver = dns.addr.to_string();
        let port_s = port.to_string();
        let file_s = file.to_str().unwrap();
        let args = [
            "--resolver",
            &resolver,
            "--port",
            &port_s,
            "--exclude",
            file_s,
        ];
        let obs = if want.is_empty() {
            // Nothing left to sweep is refused before the sweep; nothing may be touched.
            Vec::new()
        } else {
            sweep_counted(targets.clone(), &args).await.0
        };
        let got: std::collections::BTreeSet<String> = by_key(&obs).into_keys().collect();
        assert_eq!(
            got, want,
            "round {round}\ntargets:\n{targets}\nlist:\n{list}"
        );
    }
    for s in servers {
        s.abort();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generated_earlier_sweeps_tell_each_endpoint_a_renewal_a_rollback_or_nothing() {
    // Endpoints each serving one certificate tonight, against an earlier sweep's line for
    // it: the same certificate, an older one (a renewal deployed since), a later one (put
    // back since: rolled back), the same serial from another CA issued later (rolled back
    // too), or no line at all. The JSON lines must say `rolled_back` and the certificate
    // served then exactly as that follows.
    let pki = Pki::new("GenPrevious").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ca = root_file(&pki, &dir);
    let lo = ip("127.0.0.1");
    let mut rng = support::XorShift::new(0x9e71_0005_0000_0001u64);
    let mut below = |n: u64| rng.below(n);
    let mut servers = Vec::new();
    let mut targets = String::new();
    let mut then = String::new();
    // (name, port) → (rolled back, serial served then when it differs)
    let mut want: HashMap<(String, u16), (bool, Option<String>)> = HashMap::new();
    for i in 0..30u64 {
        let name = format!("p{i}.test");
        let leaf = pki
            .issue(&LeafSpec::new(&[&name], 30_000 + i, 10, 80))
            .unwrap();
        let nb = leaf.not_before.unix_timestamp();
        let s = fleet::serve_tls(SocketAddr::new(lo, 0), &leaf, &[], None)
            .await
            .unwrap();
        let port = s.addr.port();
        servers.push(s);
        targets.push_str(&format!("{name}@127.0.0.1:{port}\n"));
        let line = |serial: &str, not_before: i64| {
            format!(
                "{{\"scan_time\":\"2026-11-30T02:00:00Z\",\"host\":\"{name}\",\"ip\":\"127.0.0.1\",\"port\":{port},\"sni\":\"{name}\",\"cert\":{{\"serial\":\"{serial}\",\"not_before\":\"t\",\"not_before_unix\":{not_before}}}}}\n"
            )
        };
        let outcome = match below(5) {
            0 => {
                then.push_str(&line(&leaf.serial_hex, nb));
                (false, None)
            }
            1 => {
                then.push_str(&line("0B5E", nb - 100 * 86_400));
                (false, Some("0B5E".to_string()))
            }
            2 => {
                then.push_str(&line("0FA7", nb + 5 * 86_400));
                (true, Some("0FA7".to_string()))
            }
            3 => {
                then.push_str(&line(&leaf.serial_hex, nb + 5 * 86_400));
                (true, Some(leaf.serial_hex.clone()))
            }
            _ => (false, None),
        };
        want.insert((name, port), outcome);
    }
    let file = |n: &str, text: &str| {
        let p = dir.path().join(n);
        std::fs::write(&p, text).unwrap();
        p.to_str().unwrap().to_string()
    };
    let (t, last) = (file("targets.txt", &targets), file("last.jsonl", &then));
    let tonight = dir.path().join("tonight.jsonl");
    let args = scan_args(&[
        "--targets",
        &t,
        "--ca-file",
        &ca,
        "--no-public-roots",
        "--previous",
        &last,
        "--jsonl",
        tonight.to_str().unwrap(),
        "--quiet",
    ]);
    assert_eq!(certsweep::scan::run_scan(args).await.unwrap(), 0);
    let lines = std::fs::read_to_string(&tonight).unwrap();
    let mut seen = 0;
    for l in lines.lines() {
        let v: serde_json::Value = serde_json::from_str(l).unwrap();
        let key = (
            v["host"].as_str().unwrap().to_string(),
            v["port"].as_u64().unwrap() as u16,
        );
        let (rolled, previous) = &want[&key];
        let findings: Vec<&str> = (v["findings"].as_array().into_iter().flatten())
            .filter_map(|f| f.as_str())
            .collect();
        let got = (
            findings.contains(&"rolled_back"),
            v["previous"]["serial"].as_str().map(str::to_string),
        );
        assert_eq!(got, (*rolled, previous.clone()), "{key:?}: {l}");
        seen += 1;
    }
    assert_eq!(seen, want.len());
    drop(servers);
}

/// A leaf whose Key Usage allows only keyEncipherment (a private CA's template) is captured
/// and judged by what the handshake did with the key: rustls signs with it (TLS 1.3), so
/// Chrome, Edge and Java clients would refuse it.
#[tokio::test]
async fn a_key_usage_without_digital_signature_is_found_over_tls_1_3() {
    let pki = Pki::new("Ku").unwrap();
    let good = pki
        .issue(&LeafSpec::new(&["ok.test"], 0x61, 10, 80))
        .unwrap();
    let encipher = pki
        .issue(&LeafSpec {
            key_usages: vec![rcgen::KeyUsagePurpose::KeyEncipherment],
            ..LeafSpec::new(&["ku.test"], 0x62, 10, 80)
        })
        .unwrap();
    let server = fleet::serve_tls(
        SocketAddr::new("127.0.0.1".parse().unwrap(), 0),
        &good,
        &[("ku.test", &encipher)],
        None,
    )
    .await
    .unwrap();
    let port = server.addr.port();
    let obs = run_sweep_trusting(
        &pki,
        format!("ok.test@127.0.0.1:{port}\nku.test@127.0.0.1:{port}\n"),
    )
    .await;
    let at = |name: &str| obs.iter().find(|o| o.host == name).unwrap();
    let ku = at("ku.test");
    assert_eq!(ku.cert.as_ref().unwrap().serial, "8A0000000000000062");
    assert_eq!(ku.cert.as_ref().unwrap().key_usage, Some(0b100));
    assert_eq!(ku.findings, [Finding::KeyUsageIncompatible], "{ku:?}");
    assert!(
        ku.trust_detail
            .as_deref()
            .unwrap_or_default()
            .contains("lacks digitalSignature"),
        "{:?}",
        ku.trust_detail
    );
    let ok = at("ok.test");
    assert_eq!(ok.cert.as_ref().unwrap().key_usage, Some(0b1));
    assert!(ok.findings.is_empty(), "{ok:?}");
}
