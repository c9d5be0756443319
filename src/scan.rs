//! `certsweep scan`: wires options to the engine, the sinks and the summary.

use crate::cli::ScanArgs;
use crate::engine::handshake::{TlsClient, TlsSettings};
use crate::engine::resolve::{Dns, Family};
use crate::engine::sweep::{Cancel, Engine, Event, SweepConfig};
use crate::engine::targets::{TargetError, TargetReader};
use crate::model::Observation;
use crate::report::csv::{CsvOut, ScanRow, SCAN_COLUMNS};
use crate::report::jsonl::JsonlOut;
use crate::report::progress::Progress;
use crate::report::summary::Summary;
use crate::timefmt::now_unix;
use crate::trust::TrustJudge;
use crate::Error;
use std::fs::File;
use std::io::{BufRead, BufWriter, Write};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Bad target lines printed one by one before only counting them.
const MAX_PRINTED_BAD_LINES: u64 = 50;

/// Parses `IP` or `IP:PORT` / `[IPv6]:PORT` for `--resolver`.
pub fn parse_resolver(s: &str) -> Result<SocketAddr, Error> {
    if let Ok(a) = s.parse::<SocketAddr>() {
        return Ok(a);
    }
    s.trim_matches(|c| c == '[' || c == ']')
        .parse::<std::net::IpAddr>()
        .map(|ip| SocketAddr::new(ip, 53))
        .map_err(|_| Error::Usage(format!("--resolver: \"{s}\" is not IP or IP:PORT")))
}

/// Raises the open-file limit to the hard limit and caps `wanted` so that every endpoint
/// in flight has a descriptor, with room for DNS, output files and the runtime.
pub fn fit_concurrency(wanted: usize) -> (usize, Option<String>) {
    const RESERVED: u64 = 64;
    let limit = rlimit::increase_nofile_limit(u64::MAX).unwrap_or(1024);
    let fit = limit.saturating_sub(RESERVED).max(1) as usize;
    if wanted > fit {
        (
            fit,
            Some(format!(
                "open-file limit is {limit}: concurrency lowered from {wanted} to {fit} (raise `ulimit -Hn` for more)"
            )),
        )
    } else {
        (wanted, None)
    }
}

/// Builds the engine from the options (shared by `scan` and `demo`).
pub fn build_engine(args: &ScanArgs) -> Result<(Arc<Engine>, Option<String>), Error> {
    if args.concurrency == 0 {
        return Err(Error::Usage("--concurrency must be at least 1".into()));
    }
    if let Some(r) = args.rate {
        if !(r > 0.0 && r.is_finite()) {
            return Err(Error::Usage("--rate must be a positive number".into()));
        }
    }
    let (concurrency, note) = fit_concurrency(args.concurrency);
    let trust = TrustJudge::new(&args.ca_file, args.system_roots, args.no_public_roots)
        .map_err(|e| Error::Input(format!("--ca-file {e}")))?;
    let tls = TlsClient::new(&TlsSettings::default())
        .map_err(|e| Error::Runtime(format!("TLS client: {e}")))?;
    let family = match (args.ipv4_only, args.ipv6_only) {
        (true, _) => Family::V4,
        (_, true) => Family::V6,
        _ => Family::Both,
    };
    let server = args.resolver.as_deref().map(parse_resolver).transpose()?;
    let dns = Dns::new(server, family).map_err(Error::Runtime)?;
    let per_try = args.connect_timeout + args.handshake_timeout;
    let backoff: Duration = (1..=args.retries)
        .map(|t| Duration::from_millis(200u64 << t.min(5)))
        .sum();
    let deadline = args
        .deadline
        .unwrap_or(per_try * (args.retries + 1) + backoff + Duration::from_secs(1));
    let cfg = SweepConfig {
        concurrency,
        connect_timeout: args.connect_timeout,
        handshake_timeout: args.handshake_timeout,
        deadline,
        retries: args.retries,
        rate: args.rate,
        pem: args.pem,
        first_ip: args.first_ip,
    };
    Ok((Engine::new(tls, Arc::new(trust), dns, cfg), note))
}

fn create(path: &Path) -> Result<BufWriter<File>, Error> {
    File::create(path)
        .map(|f| BufWriter::with_capacity(64 * 1024, f))
        .map_err(|e| Error::Runtime(format!("cannot create {}: {e}", path.display())))
}

fn write_err(path: &Path, e: std::io::Error) -> Error {
    Error::Runtime(format!("writing {}: {e}", path.display()))
}

/// Checks every target line before any connection (`--strict`); returns the bad ones.
fn prevalidate(path: &str, port: u16) -> Result<Vec<TargetError>, Error> {
    let reader = TargetReader::open(path, port)
        .map_err(|e| Error::Input(format!("--targets {path}: {e}")))?;
    Ok(reader.filter_map(Result::err).collect())
}

/// Counts the lines of a regular file, for the progress total (stdin stays unknown).
fn count_lines(path: &str) -> Option<u64> {
    if path == "-" {
        return None;
    }
    let f = File::open(path).ok()?;
    let mut r = std::io::BufReader::with_capacity(64 * 1024, f);
    let mut n = 0u64;
    loop {
        let buf = r.fill_buf().ok()?;
        if buf.is_empty() {
            break;
        }
        n += buf.iter().filter(|b| **b == b'\n').count() as u64;
        let len = buf.len();
        r.consume(len);
    }
    Some(n)
}

/// What a sweep produced, for the caller to judge.
pub struct SweepOutcome {
    /// The summary counts.
    pub summary: Summary,
    /// Every observation, when the caller asked to keep them (verdicts need all of them).
    pub kept: Vec<Observation>,
}

/// Where the observations go while the sweep runs.
pub struct Sinks {
    /// Flat scan CSV.
    pub csv: Option<(std::path::PathBuf, CsvOut<BufWriter<File>>)>,
    /// JSON lines.
    pub jsonl: Option<(std::path::PathBuf, JsonlOut<BufWriter<File>>)>,
    /// Keep every observation in memory.
    pub keep: bool,
}

impl Sinks {
    fn write(&mut self, o: &Observation, now: i64) -> Result<(), Error> {
        if let Some((p, w)) = &mut self.csv {
            w.write(&ScanRow::from_observation(o, now))
                .map_err(|e| write_err(p, e))?;
        }
        if let Some((p, w)) = &mut self.jsonl {
            w.write(o).map_err(|e| write_err(p, e))?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), Error> {
        if let Some((p, w)) = &mut self.csv {
            w.flush().map_err(|e| write_err(p, e))?;
        }
        if let Some((p, w)) = &mut self.jsonl {
            w.flush().map_err(|e| write_err(p, e))?;
        }
        Ok(())
    }

    fn finish(self) -> Result<(), Error> {
        if let Some((p, w)) = self.csv {
            w.finish().map_err(|e| write_err(&p, e))?;
        }
        if let Some((p, mut w)) = self.jsonl {
            w.flush().map_err(|e| write_err(&p, e))?;
        }
        Ok(())
    }
}

/// Runs a sweep of `targets` into `sinks`, with progress and Ctrl-C handling.
pub async fn sweep<I>(
    engine: Arc<Engine>,
    targets: I,
    total: Option<u64>,
    mut sinks: Sinks,
    quiet: bool,
) -> Result<SweepOutcome, Error>
where
    I: Iterator<Item = Result<crate::engine::targets::Target, TargetError>> + Send + 'static,
{
    let start = Instant::now();
    let cancel = Cancel::default();
    let hard_stop = Arc::new(tokio::sync::Notify::new());
    {
        let cancel = cancel.clone();
        let hard_stop = hard_stop.clone();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                cancel.cancel();
                eprintln!("\ncertsweep: stopping: no new connections; endpoints in flight finish (Ctrl-C again to stop now)");
                if tokio::signal::ctrl_c().await.is_ok() {
                    hard_stop.notify_one();
                }
            }
        });
    }
    let progress = Progress::new(quiet, total);
    let counters = engine.counters();
    let mut rx = engine.start(targets, cancel.clone());
    let mut summary = Summary::default();
    let mut kept = Vec::new();
    let mut last_flush = Instant::now();
    let now = now_unix();
    loop {
        let ev = tokio::select! {
            ev = rx.recv() => ev,
            _ = hard_stop.notified() => break,
        };
        let Some(ev) = ev else { break };
        match ev {
            Event::Observed(o) => {
                summary.add(&o);
                sinks.write(&o, now)?;
                if sinks.keep {
                    kept.push(*o);
                }
            }
            Event::BadTarget(e) => {
                summary.bad_targets += 1;
                if summary.bad_targets <= MAX_PRINTED_BAD_LINES {
                    progress.println(&format!("certsweep: skipped {e}"));
                } else if summary.bad_targets == MAX_PRINTED_BAD_LINES + 1 {
                    progress.println("certsweep: more bad target lines; only counting them now");
                }
            }
        }
        // Every finished endpoint is on disk within a second, and at once when idle.
        if rx.is_empty() || last_flush.elapsed() >= Duration::from_millis(500) {
            sinks.flush()?;
            last_flush = Instant::now();
            progress.update(
                counters.targets_done.load(Ordering::Relaxed),
                format!(
                    "{} endpoints · {} errors",
                    summary.endpoints,
                    summary.error_total()
                ),
            );
        }
    }
    progress.finish();
    sinks.finish()?;
    summary.duplicates = counters.duplicates.load(Ordering::Relaxed);
    summary.duration = start.elapsed();
    summary.interrupted = cancel.is_cancelled();
    Ok(SweepOutcome { summary, kept })
}

/// `certsweep scan`.
pub async fn run_scan(args: ScanArgs) -> Result<u8, Error> {
    let Some(targets_path) = args.targets.clone() else {
        return Err(Error::Usage(
            "--targets FILE is required (or --inventory once record comparison is available)"
                .into(),
        ));
    };
    if args.strict {
        let bad = prevalidate(&targets_path, args.port)?;
        if !bad.is_empty() {
            let mut msg = format!(
                "{} bad target line(s), nothing scanned (--strict):",
                bad.len()
            );
            for e in bad.iter().take(MAX_PRINTED_BAD_LINES as usize) {
                msg.push_str(&format!("\n  {e}"));
            }
            return Err(Error::Input(msg));
        }
    }
    let reader = TargetReader::open(&targets_path, args.port)
        .map_err(|e| Error::Input(format!("--targets {targets_path}: {e}")))?;
    let (engine, note) = build_engine(&args)?;
    if let Some(n) = note {
        eprintln!("certsweep: {n}");
    }
    let sinks = Sinks {
        csv: match &args.report {
            Some(p) => Some((p.clone(), CsvOut::new(create(p)?, SCAN_COLUMNS))),
            None => None,
        },
        jsonl: match &args.jsonl {
            Some(p) => Some((p.clone(), JsonlOut::new(create(p)?))),
            None => None,
        },
        keep: false,
    };
    let outcome = sweep(
        engine,
        reader,
        count_lines(&targets_path),
        sinks,
        args.quiet,
    )
    .await?;
    if !args.quiet {
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "{}", outcome.summary);
    }
    Ok(0)
}
