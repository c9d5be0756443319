//! Sweeping target lists with the library or the binary, for the integration tests.

use certsweep::cli::{Cli, Command};
use certsweep::engine::targets::TargetReader;
use certsweep::fleet::{Leaf, LeafSpec, Pki};
use certsweep::model::Observation;
use certsweep::scan::{build_engine, sweep, Sinks};
use clap::Parser;
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};

pub fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

pub fn scan_args(extra: &[&str]) -> certsweep::cli::ScanArgs {
    let mut argv = vec!["certsweep", "scan"];
    argv.extend_from_slice(extra);
    match Cli::parse_from(argv).command {
        Command::Scan(a) => *a,
        _ => unreachable!(),
    }
}

/// An engine built from scan options and a reader over `targets`.
pub fn engine_and_targets(
    targets: String,
    args: &[&str],
) -> (
    std::sync::Arc<certsweep::engine::sweep::Engine>,
    TargetReader,
) {
    let (engine, _) = build_engine(&scan_args(args)).unwrap();
    let reader =
        TargetReader::from_reader("targets.txt", Box::new(std::io::Cursor::new(targets)), 443);
    (engine, reader)
}

/// Sweeps `targets` and returns every observation and the engine's counters.
pub async fn sweep_counted(
    targets: String,
    args: &[&str],
) -> (
    Vec<Observation>,
    std::sync::Arc<certsweep::engine::sweep::Counters>,
) {
    let (engine, reader) = engine_and_targets(targets, args);
    let counters = engine.counters();
    let sinks = Sinks {
        csv: None,
        jsonl: None,
        keep: true,
        then: None,
        previous: None,
    };
    let kept = sweep(engine, reader, None, sinks, true)
        .await
        .unwrap()
        .kept
        .into_iter()
        .map(|o| *o)
        .collect();
    (kept, counters)
}

pub async fn run_sweep(targets: String, args: &[&str]) -> Vec<Observation> {
    sweep_counted(targets, args).await.0
}

/// Writes `pki`'s root into `dir` for `--ca-file`; its path.
pub fn root_file(pki: &Pki, dir: &tempfile::TempDir) -> String {
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, pki.root_pem()).unwrap();
    ca.to_str().unwrap().to_string()
}

/// Writes `pki`'s root and intermediate into `dir` for `--ca-file`, as for a server that
/// leaves its intermediate out; its path.
pub fn root_and_intermediate_file(pki: &Pki, dir: &tempfile::TempDir) -> String {
    let both = dir.path().join("both.pem");
    let intermediate = pem::Pem::new("CERTIFICATE", pki.intermediate.cert.to_vec());
    std::fs::write(
        &both,
        format!("{}{}", pki.root_pem(), pem::encode(&intermediate)),
    )
    .unwrap();
    both.to_str().unwrap().to_string()
}

/// Sweeps the one endpoint `target` trusting only the CA file `ca`, with `more` arguments.
pub async fn sweep_one(target: String, ca: &str, more: &[&str]) -> Observation {
    let mut args = vec!["--ca-file", ca, "--no-public-roots"];
    args.extend_from_slice(more);
    let mut obs = run_sweep(target + "\n", &args).await;
    assert_eq!(obs.len(), 1, "one endpoint");
    obs.remove(0)
}

/// Sweeps `targets` trusting only `pki`'s root.
pub async fn run_sweep_trusting(pki: &Pki, targets: String) -> Vec<Observation> {
    let dir = tempfile::tempdir().unwrap();
    let ca = root_file(pki, &dir);
    run_sweep(targets, &["--ca-file", &ca, "--no-public-roots"]).await
}

/// A DNS server answering `prefix0.test.` .. `prefix{n-1}.test.` with 127.0.0.1.
pub async fn names_on_loopback(prefix: &str, n: usize) -> super::Dns {
    let names: Vec<String> = (0..n).map(|i| format!("{prefix}{i}.test.")).collect();
    let records: Vec<(&str, IpAddr)> = names
        .iter()
        .map(|n| (n.as_str(), ip("127.0.0.1")))
        .collect();
    super::dns_server("test.", &records, &[]).await
}

pub fn by_key(obs: &[Observation]) -> HashMap<String, &Observation> {
    obs.iter()
        .map(|o| {
            let key = format!(
                "{}@{}",
                o.host,
                o.ip.map(|i| i.to_string()).unwrap_or_default()
            );
            (key, o)
        })
        .collect()
}

/// A sweep of `targets` with `--dane` and `more`, the names asked of `dns`, trusting `ca`
/// alone.
pub async fn dane_sweep(targets: String, dns: &str, ca: &str, more: &[&str]) -> Vec<Observation> {
    let mut args = vec![
        "--resolver",
        dns,
        "--ca-file",
        ca,
        "--no-public-roots",
        "--dane",
    ];
    args.extend_from_slice(more);
    run_sweep(targets, &args).await
}

/// The binary run to the end with `args`; `stdin`, when given, is written to its standard
/// input (a process that refuses before reading it closes the pipe, which is fine).
pub fn run_certsweep(
    args: &[&dyn AsRef<std::ffi::OsStr>],
    stdin: Option<&str>,
) -> std::process::Output {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let mut child = Command::new(env!("CARGO_BIN_EXE_certsweep"))
        .args(args.iter().map(|a| a.as_ref()))
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
        let _ = pipe.write_all(text.as_bytes());
    }
    child.wait_with_output().unwrap()
}

/// [`run_certsweep`] of owned arguments, off the runtime's threads (a test's servers run
/// on them while the binary waits for them).
pub async fn run_certsweep_owned(args: Vec<String>) -> std::process::Output {
    tokio::task::spawn_blocking(move || {
        let refs: Vec<&dyn AsRef<std::ffi::OsStr>> = args
            .iter()
            .map(|a| a as &dyn AsRef<std::ffi::OsStr>)
            .collect();
        run_certsweep(&refs, None)
    })
    .await
    .unwrap()
}

/// A temporary directory holding `targets.txt`, which names `a.test` at a refused loopback
/// address: for tests of what the binary says of its inputs, which need an endpoint that
/// answers at once.
pub fn refused_target() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let targets = dir.path().join("targets.txt");
    std::fs::write(&targets, format!("a.test@{}\n", refused_addr())).unwrap();
    (dir, targets)
}

/// An address on loopback where nothing listens: a port bound, never listening, and held
/// for the test process (a port let go could be given to a listener bound after it).
pub fn refused_addr() -> SocketAddr {
    let socket = socket2::Socket::new(
        socket2::Domain::IPV4,
        socket2::Type::STREAM,
        Some(socket2::Protocol::TCP),
    )
    .unwrap();
    socket
        .bind(&SocketAddr::from(([127, 0, 0, 1], 0)).into())
        .unwrap();
    let addr = socket.local_addr().unwrap().as_socket().unwrap();
    // A few ports for the process's life: kept bound so that nothing else gets them.
    std::mem::forget(socket);
    addr
}

/// SHA-256 of `leaf`'s key (its SubjectPublicKeyInfo): what `spki_sha256` and a `3 1 1`
/// TLSA record hold, computed apart from certsweep.
pub fn key_pin(leaf: &Leaf) -> Vec<u8> {
    cert_key_pin(&leaf.chain[0])
}

/// SHA-256 of a certificate's key (DER): what a `3 1 1` or `2 1 1` TLSA record holds.
pub fn cert_key_pin(der: &[u8]) -> Vec<u8> {
    let (_, x) = x509_parser::parse_x509_certificate(der).unwrap();
    ring::digest::digest(&ring::digest::SHA256, x.public_key().raw)
        .as_ref()
        .to_vec()
}

/// A leaf for `name` from `pki`, issued 10 days ago, valid 80 more days, full chain.
pub fn valid_leaf(pki: &Pki, name: &str, serial: u64) -> Leaf {
    pki.issue(&LeafSpec::new(&[name], serial, 10, 80)).unwrap()
}

/// Servers on 127.0.0.<n> for every n, one port for all, that take each connection and
/// drop it: every endpoint a sweep connects to becomes a row (a TLS error). The port, and
/// the server tasks to abort.
pub async fn dropping_listeners(hosts: &[u8]) -> (u16, Vec<tokio::task::JoinHandle<()>>) {
    let (port, listeners) = super::dcvfix::listeners(hosts).await;
    let servers = listeners
        .into_iter()
        .map(|l| {
            tokio::spawn(async move {
                while let Ok((tcp, _)) = l.accept().await {
                    drop(tcp);
                }
            })
        })
        .collect();
    (port, servers)
}

/// Two nodes of one name on 127.0.0.2 and 127.0.0.3, one port for both, each with its own
/// certificate for `name` from a new PKI: serials `serial` and `serial + 1`. The PKI (for
/// `--ca-file`), the port, and the servers (stopped when dropped).
pub async fn two_nodes(
    label: &str,
    name: &str,
    serial: u64,
) -> (Pki, u16, [certsweep::fleet::Server; 2]) {
    let pki = Pki::new(label).unwrap();
    let first = valid_leaf(&pki, name, serial);
    let second = valid_leaf(&pki, name, serial + 1);
    let n2 = certsweep::fleet::serve_tls(SocketAddr::new(ip("127.0.0.2"), 0), &first, &[], None)
        .await
        .unwrap();
    let port = n2.addr.port();
    let n3 =
        certsweep::fleet::serve_tls(SocketAddr::new(ip("127.0.0.3"), port), &second, &[], None)
            .await
            .unwrap();
    (pki, port, [n2, n3])
}
