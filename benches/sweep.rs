//! Sweep benchmark: an in-process fleet of N endpoints (default 2,000; set
//! CERTSWEEP_BENCH_N) served by a few SNI-routing TLS listeners on loopback, swept by the
//! real engine. Prints wall time, endpoints per second and how many serials were right.
//! The servers share the process, so the rate is a floor for the client alone; the
//! client-only CPU comparison is ../shared/bench/peers.sh (see BENCHMARKS.md).
//!
//!     cargo bench --bench sweep
//!     CERTSWEEP_BENCH_STAPLE=1 cargo bench --bench sweep   # every server staples OCSP
//!     CERTSWEEP_BENCH_CRL=1 cargo bench --bench sweep   # every leaf names a CRL, --crl on

use certsweep::cli::{Cli, Command};
use certsweep::engine::targets::TargetReader;
use certsweep::fleet::{self, LeafSpec, Pki};
use certsweep::scan::{build_engine, sweep, Sinks};
use clap::Parser;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Instant;

fn main() {
    let n: usize = std::env::var("CERTSWEEP_BENCH_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000);
    let listeners = 8;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async move {
        let pki = Pki::new("Bench").expect("pki");
        // CERTSWEEP_BENCH_STAPLE=1: every server staples a good OCSP response of its own.
        let staple = std::env::var("CERTSWEEP_BENCH_STAPLE").is_ok_and(|v| v == "1");
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        // CERTSWEEP_BENCH_CRL=1: every leaf names one list (1,000 other serials revoked),
        // served on loopback, and the sweep runs with --crl.
        let crl = std::env::var("CERTSWEEP_BENCH_CRL").is_ok_and(|v| v == "1");
        let list_server = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let crl_url = format!("http://{}/int.crl", list_server.local_addr().expect("addr"));
        if crl {
            // CERTSWEEP_BENCH_CRL_ENTRIES: a larger list (its memory and parse).
            let entries: u64 = std::env::var("CERTSWEEP_BENCH_CRL_ENTRIES")
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(1000);
            // Other serials than the leaves' (10,000 onwards), which stay good.
            let serials: Vec<Vec<u8>> = (0..entries)
                .map(|i| fleet::serial_bytes(1 << 40 | i))
                .collect();
            let revoked: Vec<(&[u8], rcgen::RevocationReason)> = serials
                .iter()
                .map(|s| (s.as_slice(), rcgen::RevocationReason::Superseded))
                .collect();
            let der = pki
                .crl(&revoked, now - 60, now + 86_400, false)
                .expect("crl");
            fleet::serve_files(list_server, HashMap::from([("/int.crl".to_string(), der)]));
        }
        let leaves: Vec<_> = (0..n)
            .map(|i| {
                let name = format!("h{i}.bench.test");
                let mut spec = LeafSpec::new(&[&name], 10_000 + i as u64, 10, 80);
                if crl {
                    spec = spec.with_crl(&crl_url);
                }
                let mut leaf = pki.issue(&spec).expect("leaf");
                if staple {
                    leaf.ocsp = Some(
                        pki.staple(&leaf, fleet::StapleSays::Good, now - 60, now + 86_400)
                            .expect("staple"),
                    );
                }
                leaf
            })
            .collect();
        let mut servers = Vec::new();
        let mut targets = String::new();
        let mut truth = HashMap::new();
        for l in 0..listeners {
            let names: Vec<(String, usize)> = (l..n)
                .step_by(listeners)
                .map(|i| (format!("h{i}.bench.test"), i))
                .collect();
            let map: Vec<(&str, &fleet::Leaf)> =
                names.iter().map(|(s, i)| (s.as_str(), &leaves[*i])).collect();
            let s = fleet::serve_tls(
                SocketAddr::from(([127, 0, 0, 1], 0)),
                &leaves[l],
                &map,
                None,
            )
            .await
            .expect("server");
            for (name, i) in &names {
                targets.push_str(&format!("{name}@{}\n", s.addr));
                truth.insert(name.clone(), leaves[*i].serial_hex.clone());
            }
            servers.push(s);
        }
        let dir = tempfile::tempdir().expect("tmp");
        let ca = dir.path().join("root.pem");
        std::fs::write(&ca, pki.root_pem()).expect("write");
        // Extra scan options for experiments, e.g. CERTSWEEP_BENCH_ARGS="--per-address 64".
        let extra = std::env::var("CERTSWEEP_BENCH_ARGS").unwrap_or_default();
        let mut argv = vec![
            "certsweep".to_string(),
            "scan".into(),
            "--ca-file".into(),
            ca.to_str().expect("utf8").into(),
            "--no-public-roots".into(),
            "--concurrency".into(),
            "500".into(),
        ];
        argv.extend(extra.split_whitespace().map(str::to_string));
        if crl {
            argv.push("--crl".into());
        }
        let args = match Cli::parse_from(argv)
        .command
        {
            Command::Scan(a) => *a,
            _ => unreachable!(),
        };
        let peak = || {
            std::fs::read_to_string("/proc/self/status")
                .ok()
                .and_then(|s| {
                    s.lines()
                        .find(|l| l.starts_with("VmHWM"))
                        .map(|l| l.split_whitespace().nth(1).unwrap_or("?").to_string())
                })
                .unwrap_or_default()
        };
        let before = peak();
        for round in 0..3 {
            let (engine, _) = build_engine(&args).expect("engine");
            let reader = TargetReader::from_reader(
                "bench",
                Box::new(std::io::Cursor::new(targets.clone())),
                443,
            );
            let t0 = Instant::now();
            let out = sweep(
                engine,
                reader,
                None,
                Sinks {
                    csv: None,
                    jsonl: None,
                    keep: true,
                    then: None,
                    previous: None,
                },
                true,
            )
            .await
            .expect("sweep");
            let secs = t0.elapsed().as_secs_f64();
            let right = out
                .kept
                .iter()
                .filter(|o| o.cert.as_ref().map(|c| &c.serial) == truth.get(&o.host))
                .filter(|o| !crl || o.crl.as_deref().is_some_and(|c| c.status == "good"))
                .count();
            // The slowest connect and handshake show stalls (a SYN retried after 1 s).
            let worst = |f: fn(&certsweep::model::Timings) -> Option<f64>| {
                out.kept
                    .iter()
                    .filter_map(|o| f(&o.timings))
                    .fold(0.0f64, f64::max)
            };
            println!(
                "sweep/{n} round {round}: {secs:.3}s wall, {:.0} endpoints/s, {right}/{n} serials right, slowest connect {:.0} ms, slowest handshake {:.0} ms",
                n as f64 / secs,
                worst(|t| t.connect_ms),
                worst(|t| t.handshake_ms)
            );
        }
        // With CERTSWEEP_BENCH_CRL, the growth is the list's: served (the server's copy of
        // its bytes per download) and read (the client's).
        println!("peak RSS {before} kB after the fleet was made, {} kB after the sweeps", peak());
        drop(servers);
    });
}
