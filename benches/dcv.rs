//! DCV benchmark: N domains (default 10,000; set CERTSWEEP_BENCH_N), each checked for
//! HTTP-01 and DNS-01 with an expectation, against an in-process zone on two authoritative
//! nameservers (hickory-server) and four hyper HTTP servers on loopback. Prints wall time,
//! rows per second, how many were ready, and the peak RSS of the process (servers included).
//!
//!     cargo bench --bench dcv

use certsweep::cli::DcvArgs;
use hickory_server::proto::rr::rdata::NS;
use hickory_server::proto::rr::RData;
use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

#[path = "../tests/support/dcvfix.rs"]
mod dcvfix;
use dcvfix::*;

const KEY_AUTH: &str = "tok.thumbprint";

fn challenge(path: &str) -> (u16, Vec<(&'static str, String)>, String) {
    if path.ends_with("/.well-known/acme-challenge/tok") {
        (200, vec![], KEY_AUTH.to_string())
    } else {
        (404, vec![], String::new())
    }
}

fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}

fn main() {
    let n: usize = std::env::var("CERTSWEEP_BENCH_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async move {
        let mut records = vec![
            rec("example.com.", RData::NS(NS(name("ns1.example.com.")))),
            rec("example.com.", RData::NS(NS(name("ns2.example.com.")))),
            a("ns1.example.com.", [127, 0, 0, 11]),
            a("ns2.example.com.", [127, 0, 0, 12]),
        ];
        for i in 0..n {
            records.push(a(&format!("d{i}.example.com."), [127, 0, 0, 21 + (i % 4) as u8]));
            records.push(txt(&format!("_acme-challenge.d{i}.example.com."), &format!("value-{i}")));
        }
        let zones = [
            Zone { origin: "com.", serial: 1, records: vec![] },
            Zone { origin: "example.com.", serial: 1, records },
        ];
        let (ns_port, _) = listeners(&[11, 12]).await;
        let at = |h: u8| SocketAddr::new(IpAddr::V4(Ipv4Addr::new(127, 0, 0, h)), ns_port);
        let _ns1 = dns_on(at(11), &zones).await;
        let _ns2 = dns_on(at(12), &zones).await;
        let (http_port, ls) = listeners(&[21, 22, 23, 24]).await;
        let mut tasks = Vec::new();
        for l in ls {
            tasks.push(http_on(l, challenge).await);
        }
        let mut list = tempfile::NamedTempFile::new().expect("tempfile");
        writeln!(list, "domain,method,token,expected").expect("write");
        for i in 0..n {
            writeln!(list, "d{i}.example.com,http-01,tok,{KEY_AUTH}").expect("write");
            writeln!(list, "d{i}.example.com,dns-01,,value-{i}").expect("write");
        }
        let args = DcvArgs {
            domains: Some(list.path().display().to_string()),
            inventory: vec![],
            inventory_map: None,
            method: "http-01".into(),
            ca_domain: vec!["letsencrypt.org".into()],
            account_uri: None,
            resolver: Some(format!("127.0.0.11:{ns_port}")),
            http_port,
            tls_port: http_port,
            ns_port,
            timeout: Duration::from_secs(10),
            dns_timeout: Duration::from_secs(5),
            deadline: Duration::from_secs(60),
            concurrency: 200,
            per_address: 8,
            allow_private: true,
            report: None,
            jsonl: None,
            junit: None,
            bom: false,
            quiet: true,
            wait: None,
            exclude: vec![],
        };
        let t0 = Instant::now();
        let (summary, _) = certsweep::dcv_command::check_all(&args, false)
            .await
            .expect("dcv run");
        let secs = t0.elapsed().as_secs_f64();
        let rows = summary.ready + summary.not_ready + summary.unknown;
        println!(
            "dcv: {n} domains × (http-01, dns-01) = {rows} rows in {secs:.2}s ({:.0} rows/s); {} ready, {} not_ready, {} unknown; peak RSS {:.1} MiB (servers included)",
            rows as f64 / secs,
            summary.ready,
            summary.not_ready,
            summary.unknown,
            peak_rss_mib()
        );
        for (id, c) in &summary.failed {
            println!("  {id}: {c}");
        }
        drop(tasks);
    });
}
