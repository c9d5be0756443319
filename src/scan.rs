//! `certsweep scan`: wires options to the engine, the sinks and the summary.

use crate::cli::ScanArgs;
use crate::engine::exclude::Exclusions;
use crate::engine::handshake::{TlsClient, TlsSettings};
use crate::engine::resolve::{Dns, Family};
use crate::engine::sweep::{Cancel, Engine, Event, SweepConfig};
use crate::engine::targets::{TargetError, TargetReader};
use crate::failon::{failing_verdict, who, FailOn, Failing, DEFAULT_FAIL_ON};
use crate::files::{create, csv_out, distinct_files, one_stdin, one_stdout, write_err, Output};
use crate::model::Observation;
use crate::report::csv::{CsvOut, ScanRow, SCAN_COLUMNS};
use crate::report::jsonl::JsonlOut;
use crate::report::junit::{JunitCase, JunitFailure, JunitOut};
use crate::report::metrics::{EndpointSample, MetricsOut};
use crate::report::progress::Progress;
use crate::report::summary::Summary;
use crate::timefmt::now_unix;
use crate::trust::TrustJudge;
use crate::verdict::{
    each_identity_row, judge_one, Grouping, Identities, Policy, RenewalLook, Rollout, Serving,
    Status, Verdict,
};
use crate::Error;
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, Read, Write};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Bad target lines printed one by one before only counting them.
const MAX_PRINTED_BAD_LINES: u64 = 50;

/// Reading options from the command line: the `--inventory-map`, if any.
pub fn read_options(map: Option<&Path>) -> Result<crate::inventory::load::ReadOptions, Error> {
    let map = match map {
        Some(p) => Some(Arc::new(
            crate::inventory::map::load(p).map_err(Error::Input)?,
        )),
        None => None,
    };
    Ok(crate::inventory::load::ReadOptions {
        slash: None,
        map,
        pkcs12_password: pkcs12_password(),
    })
}

/// The password of PKCS#12 stores given as inputs, from the environment.
pub fn pkcs12_password() -> Option<crate::stores::Password> {
    std::env::var(crate::stores::PKCS12_PASSWORD_ENV)
        .ok()
        .map(crate::stores::Password)
}

/// Parses `--resolver` ([`crate::engine::dnsq::parse_server`]).
pub fn parse_resolver(s: &str) -> Result<SocketAddr, Error> {
    crate::engine::dnsq::parse_server(s).map_err(|e| Error::Usage(format!("--resolver: {e}")))
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

/// Reads the `--exclude` lists; every bad line is named and none is skipped, as a skipped
/// line of a do-not-scan list could let the sweep touch what it protects.
pub(crate) fn exclusions(paths: &[std::path::PathBuf]) -> Result<Option<Arc<Exclusions>>, Error> {
    if paths.is_empty() {
        return Ok(None);
    }
    let read = Exclusions::read(paths);
    if let Ok(x) = &read {
        for w in x.warnings() {
            crate::say!("certsweep: --exclude {w}");
        }
    }
    match read {
        Ok(x) if x.is_empty() => Ok(None),
        Ok(x) => Ok(Some(Arc::new(x))),
        Err(bad) => Err(bad_lines(
            format!("{} bad --exclude line(s), nothing scanned:", bad.len()),
            &bad,
        )),
    }
}

/// The input error that refuses a run for its bad lines: `head`, then the lines, the first
/// [`MAX_PRINTED_BAD_LINES`] of them and how many more.
fn bad_lines(head: String, bad: &[crate::model::LineError]) -> Error {
    let mut msg = head;
    for e in bad.iter().take(MAX_PRINTED_BAD_LINES as usize) {
        msg.push_str(&format!("\n  {e}"));
    }
    if bad.len() > MAX_PRINTED_BAD_LINES as usize {
        let more = bad.len() - MAX_PRINTED_BAD_LINES as usize;
        msg.push_str(&format!("\n  ... and {more} more"));
    }
    Error::Input(msg)
}

/// Builds the engine from the options (shared by `scan` and `demo`).
pub fn build_engine(args: &ScanArgs) -> Result<(Arc<Engine>, Option<String>), Error> {
    engine_looking(args, None, &crate::crl::CrlCache::default())
}

/// Builds the engine from the options, with the second look a comparison with records asks
/// for (see [`crate::model::SecondLook`]) and, for `--crl`, the lists earlier sweeps of a
/// `--wait` downloaded.
pub fn engine_looking(
    args: &ScanArgs,
    second_look: Option<Arc<dyn crate::model::SecondLook>>,
    crl_cache: &crate::crl::CrlCache,
) -> Result<(Arc<Engine>, Option<String>), Error> {
    if args.concurrency == 0 {
        return Err(Error::Usage("--concurrency must be at least 1".into()));
    }
    if let Some(r) = args.rate {
        // At least one connection in 1,000 s: the interval between turns must be a
        // duration the clock can hold.
        if !(r.is_finite() && r >= 0.001) {
            return Err(Error::Usage(
                "--rate must be a number of connections per second, at least 0.001".into(),
            ));
        }
    }
    let exclude = exclusions(&args.exclude)?;
    let (concurrency, note) = fit_concurrency(args.concurrency);
    let password = pkcs12_password();
    let trust = TrustJudge::new(
        &args.ca_file,
        args.system_roots,
        args.no_public_roots,
        password.as_ref().map(|p| p.0.as_str()),
    )
    .map_err(|e| Error::Input(format!("--ca-file {e}")))?;
    let tls = TlsClient::new(&TlsSettings::default())
        .map_err(|e| Error::Runtime(format!("TLS client: {e}")))?;
    let family = match (args.ipv4_only, args.ipv6_only) {
        (true, _) => Family::V4,
        (_, true) => Family::V6,
        _ => Family::Both,
    };
    let server = args.resolver.as_deref().map(parse_resolver).transpose()?;
    // Shared with --crl's downloads and --ocsp's requests: a list's or a responder's host
    // is resolved as the endpoints' names are (--resolver, the hosts file, the family).
    let dns = Arc::new(Dns::new(server, family).map_err(Error::Runtime)?);
    // Any endpoint may have a dialogue before TLS: a target list's column can ask for one
    // whatever --starttls says.
    let per_try = args.connect_timeout + args.starttls_timeout + args.handshake_timeout;
    let backoff: Duration = (1..=args.retries)
        .map(|t| Duration::from_millis(200u64 << t.min(5)))
        .sum();
    // Both timeouts and the retries are bounded on the command line, so this cannot
    // overflow; saturating all the same, as a deadline only needs to be late enough.
    // One more try's worth for the legacy second connection, made once after a server
    // refuses every version and suite (a refusal is not retried).
    // And one for each sample past the first, and with --dane a DNS question's.
    let dane = if args.dane {
        Dns::question_bound()
    } else {
        Duration::ZERO
    };
    let deadline = args.deadline.unwrap_or(
        per_try
            .saturating_mul(args.retries.saturating_add(1).saturating_add(args.samples))
            .saturating_add(backoff)
            .saturating_add(dane)
            .saturating_add(Duration::from_secs(1)),
    );
    let cfg = SweepConfig {
        concurrency,
        connect_timeout: args.connect_timeout,
        handshake_timeout: args.handshake_timeout,
        starttls_timeout: args.starttls_timeout,
        deadline,
        retries: args.retries,
        rate: args.rate,
        pem: args.pem,
        first_ip: args.first_ip,
        per_address: args.per_address.max(1),
        starttls: args.starttls,
        second_look: second_look.or_else(|| {
            args.both_key_types
                .then(|| Arc::new(crate::model::EveryKeyType) as Arc<dyn crate::model::SecondLook>)
        }),
        crl: args.crl.then(|| {
            Arc::new(crate::crl::CrlCheck::new(
                args.crl_timeout,
                exclude.clone(),
                dns.clone(),
                crl_cache.clone(),
            ))
        }),
        ocsp: args.ocsp.then(|| {
            Arc::new(crate::ocsp::OcspCheck::new(
                args.ocsp_timeout,
                usize::from(args.ocsp_concurrency),
                exclude.clone(),
                dns.clone(),
            ))
        }),
        samples: args.samples,
        dane: args.dane,
        exclude,
    };
    Ok((Engine::new(tls, Arc::new(trust), dns, cfg), note))
}

/// The first 8 KiB of the file at `path`: enough to tell what kind of file it is.
fn head_of(path: impl AsRef<Path>) -> std::io::Result<Vec<u8>> {
    let mut head = Vec::new();
    File::open(path)?.take(8192).read_to_end(&mut head)?;
    Ok(head)
}

/// Whether the file at `path` starts as a target list: its first targets (up to 20, within
/// its first 8 KiB of whole lines) all read, a CSV of them as a CSV.
fn reads_as_targets(path: &std::path::PathBuf) -> bool {
    let Ok(mut head) = head_of(path) else {
        return false;
    };
    if head.len() == 8192 {
        let whole = head.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
        head.truncate(whole);
    }
    let name = path.display().to_string();
    let mut targets = TargetReader::from_reader(&name, Box::new(std::io::Cursor::new(head)), 443)
        .take(20)
        .peekable();
    targets.peek().is_some() && targets.all(|t| t.is_ok())
}

/// What to do with a certificate inventory given as the target list.
const INVENTORY_NOT_TARGETS: &str = "a certificate inventory is given with --inventory (--targets takes host names, addresses, URLs or a CSV of them)";

/// Opens the target list; with `--strict`, checks every line before any connection and
/// refuses the list if one is bad. Standard input can be read only once, so under
/// `--strict` it is first copied to an unnamed temporary file (memory stays flat however
/// long the list), checked from there and then read from there; before, the check consumed
/// it and the sweep found nothing to scan. Returns the reader and the line count for the
/// progress total when known.
fn open_targets(
    path: &str,
    ports: &[u16],
    strict: bool,
) -> Result<(TargetReader, Option<u64>), Error> {
    let port = ports.first().copied().unwrap_or(443);
    let input_err = |e: std::io::Error| Error::Input(format!("--targets {path}: {e}"));
    // A pipe (`<(...)`, a FIFO, /dev/stdin) can be read once: neither checked first nor
    // counted, or the sweep finds it empty.
    let regular = path != "-" && std::fs::metadata(path).is_ok_and(|m| m.is_file());
    if regular {
        // A certificate or an export given as the target list: refused as a whole, not
        // line by line (a PEM's base64 lines can pass for host names and be looked up).
        let head = head_of(path).map_err(input_err)?;
        if let Some(why) = crate::inventory::load::not_a_target_list(&head) {
            return Err(Error::Input(format!(
                "--targets {path}: {why}: {INVENTORY_NOT_TARGETS}"
            )));
        }
    }
    let spooled = if strict && !regular {
        let mut f = tempfile::tempfile().map_err(input_err)?;
        if path == "-" {
            std::io::copy(&mut crate::wait::stdin().map_err(input_err)?, &mut f)
                .map_err(input_err)?;
        } else {
            std::io::copy(&mut File::open(path).map_err(input_err)?, &mut f).map_err(input_err)?;
        }
        Some(f)
    } else {
        None
    };
    let open = || -> Result<TargetReader, Error> {
        match &spooled {
            Some(f) => {
                use std::io::{Seek, SeekFrom};
                let mut f = f.try_clone().map_err(input_err)?;
                f.seek(SeekFrom::Start(0)).map_err(input_err)?;
                Ok(TargetReader::from_reader(path, Box::new(f), port).with_ports(ports))
            }
            None => TargetReader::open(path, port)
                .map(|r| r.with_ports(ports))
                .map_err(input_err),
        }
    };
    if strict {
        let bad: Vec<TargetError> = open()?.filter_map(Result::err).collect();
        if !bad.is_empty() {
            return Err(bad_lines(
                format!(
                    "{} bad target line(s), nothing scanned (--strict):",
                    bad.len()
                ),
                &bad,
            ));
        }
    }
    // With several ports, a line is as many targets (one when it names its port: then the
    // total is too high, as it is for a header or a comment line).
    let per_line = crate::engine::targets::distinct_ports(ports).count().max(1) as u64;
    let total = if regular { count_lines(path) } else { None };
    Ok((open()?, total.map(|n| n.saturating_mul(per_line))))
}

/// Says, after the sweep, how many lines of the target list were read as Windows-1252.
fn tell_not_utf8(path: &str, count: &crate::engine::targets::NotUtf8) {
    let n = count.load(Ordering::Relaxed);
    if n > 0 {
        crate::say!(
            "certsweep: {}",
            crate::csvlines::not_utf8_note(path, n, "line")
        );
    }
}

/// Counts the lines of a regular file, for the progress total (a pipe stays unknown).
fn count_lines(path: &str) -> Option<u64> {
    use std::io::Read;
    let f = File::open(path).ok()?;
    let mut r = std::io::BufReader::with_capacity(64 * 1024, f);
    // A workbook's lines are its sheet's rows, known only once it is read.
    if crate::sheet::is_workbook(r.fill_buf().ok()?) {
        return None;
    }
    // Counted as the reader counts them: a lone CR ends a line too.
    let mut r = crate::csvlines::LoneCr::new(r);
    let mut buf = vec![0u8; 64 * 1024];
    let mut n = 0u64;
    loop {
        match r.read(&mut buf) {
            Ok(0) => break,
            Ok(k) => n += memchr::memchr_iter(b'\n', &buf[..k]).count() as u64,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return None,
        }
    }
    Some(n)
}

/// What a sweep produced, for the caller to judge.
pub struct SweepOutcome {
    /// The summary counts.
    pub summary: Summary,
    /// Every observation, when the caller asked to keep them (verdicts need all of them).
    pub kept: Vec<Box<Observation>>,
    /// The first target lines that could not be used ([`MAX_KEPT_BAD_LINES`]; the
    /// summary counts them all), for the reports that list them (`--junit`).
    pub bad_lines: Vec<TargetError>,
}

/// Bad target lines kept for the reports: a list of garbage is counted, not held.
pub const MAX_KEPT_BAD_LINES: usize = 1000;

/// Takes each observation as it comes (the verdicts of `--inventory`).
pub trait ObservationSink: Send {
    /// One finished endpoint.
    fn take(&mut self, o: Box<Observation>) -> Result<(), Error>;
}

/// Where the observations go while the sweep runs.
pub struct Sinks<'a> {
    /// Flat scan CSV.
    pub csv: Option<(std::path::PathBuf, CsvOut<Output>)>,
    /// JSON lines.
    pub jsonl: Option<(std::path::PathBuf, JsonlOut<Output>)>,
    /// Keep every observation in memory.
    pub keep: bool,
    /// Hand every observation over instead of keeping it.
    pub then: Option<&'a mut dyn ObservationSink>,
    /// An earlier sweep each observation is compared with before it goes anywhere
    /// (`--previous`).
    pub previous: Option<&'a crate::previous::Previous>,
}

impl Sinks<'_> {
    /// `o` in the report files; one that cannot be written is given up, its error in `lost`.
    fn write(&mut self, o: &Observation, now: i64, lost: &mut Vec<Error>) {
        crate::report::write_files(
            (&mut self.csv, || ScanRow::from_observation(o, now)),
            (&mut self.jsonl, o),
            lost,
        );
    }

    fn flush(&mut self, lost: &mut Vec<Error>) {
        crate::report::flush_files(&mut self.csv, &mut self.jsonl, lost);
    }

    fn finish(self, lost: &mut Vec<Error>) {
        crate::report::finish_files(self.csv, self.jsonl, lost);
    }
}

/// Runs a sweep of `targets` into `sinks`, with progress and Ctrl-C handling.
pub async fn sweep<I>(
    engine: Arc<Engine>,
    targets: I,
    total: Option<u64>,
    mut sinks: Sinks<'_>,
    quiet: bool,
) -> Result<SweepOutcome, Error>
where
    I: Iterator<Item = Result<crate::engine::targets::Target, TargetError>> + Send + 'static,
{
    let start = Instant::now();
    let cancel = Cancel::default();
    let stopped_by = Arc::new(std::sync::OnceLock::new());
    let hard_stop = Arc::new(tokio::sync::Notify::new());
    // Listens for a stop request for this sweep only (stopped when the sweep returns, however
    // it does): `--wait` sweeps again, and a request between sweeps is its to answer.
    // Watched before any connection is made, so that no request goes unheard.
    let stops = crate::interrupt::Requests::listen().ok();
    let _listener = crate::wait::AbortOnDrop({
        let cancel = cancel.clone();
        let stopped_by = stopped_by.clone();
        let hard_stop = hard_stop.clone();
        tokio::spawn(async move {
            let Some(mut stops) = stops else { return };
            if let Some(what) = stops.next().await {
                let _ = stopped_by.set(what);
                cancel.cancel();
                crate::say!("\ncertsweep: {what}: stopping: no new connections; endpoints in flight finish (again to stop now)");
                if stops.next().await.is_some() {
                    hard_stop.notify_one();
                }
            }
        })
    });
    let sinks_previous = sinks.previous;
    let progress = Progress::new(quiet, total);
    let counters = engine.counters();
    let mut rx = engine.start(targets, cancel.clone());
    let now = now_unix();
    let mut summary = Summary::counting_expiry_from(now);
    let mut kept = Vec::new();
    let mut bad_lines = Vec::new();
    let mut clock = crate::report::FlushClock::default();
    let mut lost = Vec::new();
    loop {
        let ev = tokio::select! {
            ev = rx.recv() => ev,
            _ = hard_stop.notified() => break,
            () = clock.due() => {
                sinks.flush(&mut lost);
                crate::report::tell_given_up(&mut lost, &progress, &mut summary.outputs_lost);
                clock.flushed();
                progress.update(
                    counters.targets_done.load(Ordering::Relaxed),
                    format!("{} endpoints · {} errors", summary.endpoints, summary.error_total()),
                );
                continue;
            }
        };
        let Some(ev) = ev else { break };
        clock.wrote();
        match ev {
            Event::Observed(mut o) => {
                if let Some(p) = sinks.previous {
                    summary.note_change(p.annotate(&mut o));
                }
                summary.add(&o);
                sinks.write(&o, now, &mut lost);
                if !lost.is_empty() {
                    crate::report::tell_given_up(&mut lost, &progress, &mut summary.outputs_lost);
                }
                if let Some(t) = &mut sinks.then {
                    t.take(o)?;
                } else if sinks.keep {
                    kept.push(o);
                }
            }
            Event::BadTarget(e) => {
                summary.bad_targets += 1;
                if bad_lines.len() < MAX_KEPT_BAD_LINES {
                    bad_lines.push(e.clone());
                }
                if summary.bad_targets <= MAX_PRINTED_BAD_LINES {
                    progress.println(&format!("certsweep: skipped {e}"));
                } else if summary.bad_targets == MAX_PRINTED_BAD_LINES + 1 {
                    progress.println("certsweep: more bad target lines; only counting them now");
                }
            }
        }
    }
    sinks.finish(&mut lost);
    crate::report::tell_given_up(&mut lost, &progress, &mut summary.outputs_lost);
    progress.finish();
    summary.duplicates = counters.duplicates.load(Ordering::Relaxed);
    summary.duplicate_endpoints = counters.duplicate_endpoints.load(Ordering::Relaxed);
    summary.excluded_names = counters.excluded_names.load(Ordering::Relaxed);
    summary.excluded_addresses = counters.excluded_addresses.load(Ordering::Relaxed);
    summary.dns_half_answered = engine.dns_half_answered();
    summary.dns_unheard = engine.dns_unheard();
    summary.crl_lists = engine.crl_lists();
    (summary.ocsp_responders, summary.ocsp_without_responder) = engine.ocsp_responders();
    summary.duration = start.elapsed();
    summary.interrupted = stopped_by.get().copied();
    if let (Some(p), Some(c)) = (sinks_previous, summary.changes.as_mut()) {
        c.file = p.path.clone();
        c.read = p.len();
        c.bad_lines = p.errors.len();
    }
    Ok(SweepOutcome {
        summary,
        kept,
        bad_lines,
    })
}

/// `certsweep scan`.
pub async fn run_scan(args: ScanArgs) -> Result<u8, Error> {
    one_stdout([
        ("--report", args.report.as_deref()),
        ("--jsonl", args.jsonl.as_deref()),
        ("--records-report", args.records_report.as_deref()),
        ("--junit", args.junit.as_deref()),
        ("--metrics", args.metrics.as_deref()),
    ])?;
    one_stdin(
        args.targets
            .as_deref()
            .map(|t| ("--targets", Path::new(t)))
            .into_iter()
            .chain(args.inventory.iter().map(|p| ("--inventory", p.as_path()))),
    )?;
    distinct_files(
        [
            ("--report", args.report.as_deref()),
            ("--jsonl", args.jsonl.as_deref()),
            ("--records-report", args.records_report.as_deref()),
            ("--junit", args.junit.as_deref()),
            ("--metrics", args.metrics.as_deref()),
        ],
        args.targets
            .as_deref()
            .map(|t| ("--targets", Path::new(t)))
            .into_iter()
            .chain(args.inventory.iter().map(|p| ("--inventory", p.as_path())))
            .chain(args.exclude.iter().map(|p| ("--exclude", p.as_path())))
            .chain(args.ca_file.iter().map(|p| ("--ca-file", p.as_path())))
            .chain(args.previous.iter().map(|p| ("--previous", p.as_path())))
            .chain(
                args.inventory_map
                    .iter()
                    .map(|p| ("--inventory-map", p.as_path())),
            ),
    )?;
    let lists = crate::crl::CrlCache::default();
    let Some(wait) = args.wait else {
        return scan_once(&args, &lists).await.map(|(code, _)| code);
    };
    let _stdin_kept = crate::wait::prepare(
        [
            args.report.as_deref(),
            args.jsonl.as_deref(),
            args.records_report.as_deref(),
            args.junit.as_deref(),
            args.metrics.as_deref(),
        ],
        args.targets
            .iter()
            .map(Path::new)
            .chain(args.inventory.iter().map(std::path::PathBuf::as_path)),
    )?;
    crate::wait::again(wait, "--fail-on matched", || scan_once(&args, &lists)).await
}

/// One sweep of `args`: its exit code, and whether it was stopped (Ctrl-C, SIGTERM, SIGHUP). The
/// CRLs of `lists` still current are not downloaded again.
async fn scan_once(args: &ScanArgs, lists: &crate::crl::CrlCache) -> Result<(u8, bool), Error> {
    if !args.inventory.is_empty() {
        let outcome = compare_reusing(args, false, lists).await?;
        if !args.quiet {
            crate::say_part!("{}{}", outcome.summary_text(), outcome.failing.text());
        }
        if let Some(e) = nothing_scanned(&outcome.summary, args.targets.as_deref()) {
            return Err(e);
        }
        let lost = lost_output_exit(&outcome.summary, args.quiet);
        let code = internal_error_exit(&outcome.summary)
            .or(lost)
            .unwrap_or(outcome.exit_code);
        let code = unread_exit(code, &outcome.summary);
        return Ok(crate::interrupt::ended(code, outcome.summary.interrupted));
    }
    let Some(targets_path) = args.targets.clone() else {
        return Err(Error::Usage(
            "--targets FILE is required (or --inventory FILE to scan what the records name)".into(),
        ));
    };
    let start_unix = now_unix();
    let previous = load_previous(args)?;
    let junit = junit_out(args)?;
    let metrics = metrics_out(args, false)?;
    let mut record_free = match (&args.fail_on, junit, metrics) {
        (None, None, None) => None,
        (words, junit, metrics) => Some(RecordFree {
            fail_on: match words {
                Some(s) => FailOn::parse_record_free(s)?,
                // Without --fail-on nothing fails, as the exit code says.
                None => FailOn::default(),
            },
            window: renewal_window(args),
            now: now_unix(),
            failing: Failing::default(),
            junit,
            metrics,
            lost: Vec::new(),
        }),
    };
    let (reader, total) = open_targets(&targets_path, &args.port, args.strict)?;
    let (engine, note) = engine_looking(args, None, lists)?;
    if let Some(n) = note {
        crate::say!("certsweep: {n}");
    }
    let sinks = Sinks {
        csv: match &args.report {
            Some(p) => Some((p.clone(), csv_out(p, SCAN_COLUMNS, args.bom)?)),
            None => None,
        },
        jsonl: match &args.jsonl {
            Some(p) => Some((p.clone(), JsonlOut::new(create(p)?))),
            None => None,
        },
        keep: false,
        then: record_free.as_mut().map(|f| f as &mut dyn ObservationSink),
        previous: previous.as_ref(),
    };
    let not_utf8 = reader.not_utf8();
    let unread = reader.unread();
    let mut outcome = sweep(engine, reader, total, sinks, args.quiet).await?;
    outcome.summary.targets_unread = unread.get().cloned();
    tell_not_utf8(&targets_path, &not_utf8);
    let (failing, junit, metrics, mut lost) = record_free
        .map(|f| (f.failing, f.junit, f.metrics, f.lost))
        .unwrap_or_default();
    let suite = input_name(Some(&targets_path), &args.inventory);
    end_reports(metrics, junit, &outcome, &suite, start_unix, &mut lost);
    let lost = lost.iter().map(Error::to_string);
    outcome.summary.outputs_lost.extend(lost);
    if !args.quiet {
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "{}{}", outcome.summary, failing.text());
    }
    if let Some(e) = nothing_scanned(&outcome.summary, Some(&targets_path)) {
        return Err(e);
    }
    let failed = failing.total() > 0;
    let lost = lost_output_exit(&outcome.summary, args.quiet);
    let code = internal_error_exit(&outcome.summary)
        .or(lost)
        .unwrap_or(u8::from(failed));
    let code = unread_exit(code, &outcome.summary);
    Ok(crate::interrupt::ended(code, outcome.summary.interrupted))
}

/// A sweep whose target list could not be read to its end swept only part of it: an input
/// error (2) where nothing else failed, as a pipeline must not read it as a pass.
/// The `expiring_soon` window of the run: `--renewal-window` as given, else the default.
fn renewal_window(args: &ScanArgs) -> crate::verdict::RenewalWindow {
    match args.renewal_window {
        Some(d) => {
            crate::verdict::RenewalWindow::fixed(i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        }
        None => crate::verdict::RenewalWindow::DEFAULT,
    }
}

fn unread_exit(code: u8, summary: &Summary) -> u8 {
    match &summary.targets_unread {
        Some(_) if code == 0 => 2,
        _ => code,
    }
}

/// Every usable target yields at least one row, so a finished sweep without any means an
/// empty list or only bad lines: in a pipeline that is a broken upstream export, not a clean
/// sweep (exit 2). `targets` is the list, `None` when the inventory named the endpoints.
fn nothing_scanned(summary: &Summary, targets: Option<&str>) -> Option<Error> {
    if summary.endpoints > 0 || summary.interrupted.is_some() {
        return None;
    }
    let source = match targets {
        Some("-") => "standard input",
        Some(path) => path,
        None => {
            return Some(Error::Input(
                "the inventory names no endpoint to scan".into(),
            ))
        }
    };
    let bad = summary.bad_targets;
    Some(Error::Input(if bad > 0 {
        // An inventory export given as the target list: every line is bad, and the fix is
        // one flag away.
        let export = targets
            .filter(|p| *p != "-")
            .and_then(|p| crate::inventory::load::looks_like_records(&head_of(p).ok()?))
            .map(|why| format!("; {why}: {INVENTORY_NOT_TARGETS}"))
            .unwrap_or_default();
        format!("no usable target in {source}: {bad} bad line(s) and nothing else{export}")
    } else if summary.excluded_names + summary.excluded_addresses > 0 {
        // Every target read was on the do-not-scan list: saying the list was empty sent
        // people looking for a broken export.
        format!(
            "every target in {source} is on the --exclude list ({} by name, {} by address): nothing scanned",
            summary.excluded_names, summary.excluded_addresses
        )
    } else {
        format!("no target in {source}: nothing to scan")
    }))
}

/// Exit code 3, said on stderr even with `--quiet`, when certsweep failed on some endpoints:
/// their rows are in the reports (`internal_error`) but they were not checked.
fn internal_error_exit(summary: &Summary) -> Option<u8> {
    let n = summary.internal_errors();
    if n == 0 {
        return None;
    }
    crate::say!(
        "certsweep: {n} endpoint(s) could not be checked because of an internal error (error_class internal_error in the reports); please report it"
    );
    Some(3)
}

/// Exit code 3 when a report file had to be given up: the run did not produce what it was
/// asked for. Said on stderr under `--quiet` (the summary says it otherwise).
fn lost_output_exit(summary: &Summary, quiet: bool) -> Option<u8> {
    if summary.outputs_lost.is_empty() {
        return None;
    }
    if quiet {
        for e in &summary.outputs_lost {
            crate::say!("certsweep: {e}: the file holds only the rows written before");
        }
    }
    Some(3)
}

/// What a comparison against records produced.
pub struct CompareOutcome {
    /// The sweep's summary.
    pub summary: Summary,
    /// Endpoints per status.
    pub counts: BTreeMap<Status, usize>,
    /// One verdict per endpoint, sorted by host, port and address, when asked for.
    pub verdicts: Vec<Verdict>,
    /// Identities the records form (one row each in `--records-report`).
    pub identities: usize,
    /// Records read.
    pub records: usize,
    /// Inventory rows skipped as unusable.
    pub inventory_errors: usize,
    /// 1 when a `--fail-on` status was found, else 0.
    pub exit_code: u8,
    /// The endpoints that met `--fail-on`.
    pub failing: Failing,
    /// Endpoints per finding a verdict adds (`partial_rollout`, `deployment_failed`, ...).
    pub verdict_findings: BTreeMap<&'static str, usize>,
    /// `renewed_not_deployed` endpoints per provisioning bot of their renewal (`None`: the
    /// records name none): one bot behind most of them is the bot to look at first.
    pub undeployed_by_bot: BTreeMap<Option<String>, usize>,
}

impl CompareOutcome {
    /// Counts per status, in precedence order.
    pub fn status_counts(&self) -> Vec<(crate::verdict::Status, usize)> {
        crate::verdict::Status::ALL
            .into_iter()
            .map(|s| (s, self.counts.get(&s).copied().unwrap_or(0)))
            .filter(|(_, n)| *n > 0)
            .collect()
    }

    /// The summary printed on stderr.
    pub fn summary_text(&self) -> String {
        let counts: Vec<String> = self
            .status_counts()
            .iter()
            .map(|(s, n)| format!("{s} {n}"))
            .collect();
        use crate::report::summary::n;
        let mut text = format!(
            "{}  records: {} read, {} skipped, {}\n  status: {}\n",
            self.summary,
            self.records,
            n(self.inventory_errors as u64, "row", "rows"),
            n(self.identities as u64, "identity", "identities"),
            counts.join(", ")
        );
        if !self.verdict_findings.is_empty() {
            let found: Vec<String> = self
                .verdict_findings
                .iter()
                .map(|(f, n)| format!("{f} {n}"))
                .collect();
            text.push_str(&format!("  verdict findings: {}\n", found.join(", ")));
        }
        // Only when the records name bots: a line of "none named" says nothing.
        if self.undeployed_by_bot.keys().any(Option::is_some) {
            let mut bots: Vec<(&Option<String>, &usize)> = self.undeployed_by_bot.iter().collect();
            bots.sort_by(|a, b| b.1.cmp(a.1).then_with(|| a.0.cmp(b.0)));
            let shown: Vec<String> = bots
                .iter()
                .take(10)
                .map(|(bot, n)| format!("{} {n}", bot.as_deref().unwrap_or("(none named)")))
                .collect();
            let more = bots.len().saturating_sub(10);
            text.push_str(&format!(
                "  renewed_not_deployed by provisioning bot: {}{}\n",
                shown.join(", "),
                if more > 0 {
                    format!(" and {more} more")
                } else {
                    String::new()
                }
            ));
        }
        text
    }
}

/// What the records name to sweep ([`record_targets`]).
struct RecordTargets {
    targets: Vec<Result<crate::engine::targets::Target, TargetError>>,
    /// Records without a deployment endpoint whose names are no host names (`John Doe`,
    /// `alice@example.com`: a client certificate's subject), so nothing to sweep.
    no_host: usize,
}

/// Targets named by the records: their deployment endpoints, else their non-wildcard names
/// that are host names.
fn record_targets(records: &[crate::inventory::record::Record], ports: &[u16]) -> RecordTargets {
    use crate::engine::targets::{normalize_host, on_ports, parse_line, Target, NO_PORT};
    let mut out = Vec::new();
    let mut no_host = 0;
    for r in records {
        if r.serial.is_none() && r.sha1.is_none() && r.sha256.is_none() {
            continue;
        }
        // A cloud resource or a key store is where the certificate was put, not an endpoint:
        // its names are what it serves there.
        let mut specs: Vec<String> = r
            .targets
            .iter()
            .filter(|t| !is_location(t))
            .cloned()
            .collect();
        if specs.is_empty() {
            specs = r
                .names()
                .into_iter()
                .filter(|n| !n.starts_with("*."))
                .collect();
            if let Some(cn) = &r.cn {
                if !cn.starts_with("*.") && !specs.iter().any(|s| **s == **cn) {
                    specs.push(cn.to_string());
                }
            }
            let named = !specs.is_empty();
            specs.retain(|n| crate::inventory::record::names_a_host(n));
            no_host += usize::from(named && specs.is_empty());
        }
        // An endpoint the records give by address is asked for the certificate's name: a
        // server holding several certificates answers a handshake without SNI with its
        // default one, which would be judged instead of what was deployed there.
        let name =
            r.cn.as_deref()
                .into_iter()
                .chain(r.sans.iter().map(String::as_str))
                .find(|n| !n.starts_with("*.") && n.parse::<std::net::IpAddr>().is_err())
                .map(String::from);
        for spec in specs {
            let (spec, asked_for) = split_sni(&spec, |n| r.covers(n));
            let target = parse_line(spec, NO_PORT).and_then(|mut t| {
                let by_address = !matches!(t, Target::Name { .. });
                let (Target::Name { sni, .. }
                | Target::Addr { sni, .. }
                | Target::Cidr { sni, .. }) = &mut t;
                if let Some(n) = asked_for {
                    *sni = Some(normalize_host(n)?);
                } else if by_address && sni.is_none() {
                    // A block of them is a pool serving the certificate: the same holds for
                    // each address.
                    sni.clone_from(&name);
                }
                Ok(t)
            });
            match target {
                Ok(t) => {
                    let mut each = Vec::new();
                    on_ports(t, ports, &mut each);
                    out.extend(each.into_iter().map(Ok));
                }
                Err(reason) => out.push(Err(TargetError {
                    file: r.file.to_string(),
                    line: r.line,
                    field: Some("deployment endpoint".into()),
                    reason,
                })),
            }
        }
    }
    RecordTargets {
        targets: out,
        no_host,
    }
}

/// Whether a record's deployment target names a place no handshake reaches: a cloud
/// resource (an AWS ARN, as ACM's `InUseBy` lists them), a key store (`store:machine:path`,
/// PowerShell's `Cert:\`, an IIS binding), a Kubernetes secret, a file path.
pub fn is_location(spec: &str) -> bool {
    const PLACES: [&str; 10] = [
        "arn:",
        "store:",
        "cert:",
        "iis:",
        "k8s:",
        "kubernetes:",
        "secret:",
        "file:",
        "keyvault:",
        "vault:",
    ];
    let spec = spec.trim();
    PLACES.iter().any(|p| {
        spec.get(..p.len())
            .is_some_and(|head| head.eq_ignore_ascii_case(p))
    }) || spec.contains('\\')
        || spec.starts_with('/')
}

/// `host:port/sni`, as CLM exports write an endpoint asked for another name than its host:
/// the endpoint and the name, when the certificate `covers` the name; anything else (a CIDR
/// block's `/24`, a URL, `host:port/login.html`, a path) as it is.
fn split_sni(spec: &str, covers: impl Fn(&str) -> bool) -> (&str, Option<&str>) {
    if spec.contains("://") {
        return (spec, None);
    }
    match spec.rsplit_once('/') {
        Some((at, name)) if covers(&name.to_ascii_lowercase()) => (at, Some(name)),
        _ => (spec, None),
    }
}

/// What a sweep without records does with each endpoint after the scan report and JSON
/// lines: fails it on the `--fail-on` statuses and findings, and writes its `--junit` case
/// and `--metrics` samples.
struct RecordFree {
    fail_on: FailOn,
    window: crate::verdict::RenewalWindow,
    now: i64,
    failing: Failing,
    /// `--junit`: every endpoint's case.
    junit: Option<(std::path::PathBuf, JunitOut<Output>)>,
    /// `--metrics`: every endpoint's samples.
    metrics: Option<(std::path::PathBuf, MetricsOut)>,
    /// Those of the two given up (a write failed), with why.
    lost: Vec<Error>,
}

impl ObservationSink for RecordFree {
    fn take(&mut self, o: Box<Observation>) -> Result<(), Error> {
        let words = self.fail_on.observation_words(&o, self.now, self.window);
        if self.junit.is_some() {
            let said = observed(&o);
            let failure = (!words.is_empty()).then(|| JunitFailure {
                message: words.join(", "),
                kind: words.first().copied().unwrap_or_default().to_string(),
                text: said.clone(),
            });
            let case = junit_case(&o, failure, said);
            crate::report::or_give_up(&mut self.junit, &mut self.lost, |j| j.case(&case));
        }
        if self.metrics.is_some() {
            let findings: Vec<&str> = o
                .findings_with_others()
                .iter()
                .map(|f| f.as_str())
                .collect();
            let others = sampled_certs(&o);
            let one = sample(&o, None, &findings, &others);
            crate::report::or_give_up(&mut self.metrics, &mut self.lost, |m| m.endpoint(&one));
        }
        if !words.is_empty() {
            self.failing.add(&o, || {
                let what = match (&o.cert, &o.error) {
                    (Some(c), _) => format!("serial {} (expires {})", c.serial, c.not_after),
                    (None, Some(e)) => e.message.clone(),
                    (None, None) => "no certificate".into(),
                };
                let nodes = o
                    .samples
                    .as_deref()
                    .filter(|s| !s.others.is_empty())
                    .map(|s| {
                        let others: Vec<String> = s
                            .others
                            .iter()
                            .map(|x| {
                                format!(
                                    "serial {} (expires {}) on {} of {}",
                                    x.cert.serial, x.cert.not_after, x.seen, s.connections
                                )
                            })
                            .collect();
                        format!("; other connections got {}", others.join(", "))
                    })
                    .unwrap_or_default();
                format!("{} {}: {what}{nodes}", who(&o), words.join(", "))
            });
        }
        Ok(())
    }
}

/// `--junit`'s report, created now so that a path that cannot be written fails before the
/// sweep.
fn junit_out(args: &ScanArgs) -> Result<Option<(std::path::PathBuf, JunitOut<Output>)>, Error> {
    junit_at(args.junit.as_deref())
}

/// A JUnit report to be written to `path`, when given, created now.
pub(crate) fn junit_at(
    path: Option<&Path>,
) -> Result<Option<(std::path::PathBuf, JunitOut<Output>)>, Error> {
    let Some(p) = path else {
        return Ok(None);
    };
    let j = JunitOut::new(create(p)?).map_err(|e| write_err(p, e))?;
    Ok(Some((p.to_path_buf(), j)))
}

/// `--previous`: the earlier sweep's JSON lines, its unreadable lines told (as a target
/// list's are) and counted in the summary.
fn load_previous(args: &ScanArgs) -> Result<Option<crate::previous::Previous>, Error> {
    let Some(path) = &args.previous else {
        return Ok(None);
    };
    // The first night of a job that keeps each night's file for the next has none yet:
    // said, and nothing compared, rather than no sweep at all.
    if !path.exists() && path.as_os_str() != "-" {
        crate::say!(
            "certsweep: --previous {}: no such file, so nothing is compared with an earlier sweep",
            path.display()
        );
        return Ok(None);
    }
    let p = crate::previous::Previous::load(&path.display().to_string())?;
    for (i, e) in p.errors.iter().enumerate() {
        if i < MAX_PRINTED_BAD_LINES as usize {
            crate::say!("certsweep: --previous: skipped {e}");
        } else {
            crate::say!(
                "certsweep: --previous: {} more lines skipped, not shown",
                p.errors.len() - i
            );
            break;
        }
    }
    Ok(Some(p))
}

/// Writes the reports made whole at the end of a sweep (`--metrics`, `--junit`), a
/// stopped one too: `suite` names what was read, `start_unix` when the sweep began.
/// The metrics and the JUnit file finished; the errors of those that fail go to `lost`
/// (each file apart: one that cannot be written does not cost the other).
fn end_reports(
    metrics: Option<(std::path::PathBuf, MetricsOut)>,
    junit: Option<(std::path::PathBuf, JunitOut<Output>)>,
    outcome: &SweepOutcome,
    suite: &str,
    start_unix: i64,
    lost: &mut Vec<Error>,
) {
    let s = &outcome.summary;
    crate::report::finish_or_give_up(metrics, lost, |m| {
        m.finish(start_unix, s.duration, s.interrupted.is_some())
    });
    let mut junit = junit;
    for e in &outcome.bad_lines {
        crate::report::or_give_up(&mut junit, lost, |j| j.bad_input(e));
    }
    let started = crate::timefmt::rfc3339_unix(start_unix);
    crate::report::finish_or_give_up(junit, lost, |j| {
        j.finish(suite, &started, s.duration, &s.to_string())
    });
}

/// What a run read, as a report's title names it: the list (targets, domains), else the
/// inventories.
pub(crate) fn input_name(list: Option<&str>, inventory: &[std::path::PathBuf]) -> String {
    match list {
        Some(l) => l.to_string(),
        None => inventory
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", "),
    }
}

/// `--metrics`' file, checked now (its directory must take the file renamed into place at
/// the end); `verdicts` with `--inventory`.
fn metrics_out(
    args: &ScanArgs,
    verdicts: bool,
) -> Result<Option<(std::path::PathBuf, MetricsOut)>, Error> {
    let Some(p) = &args.metrics else {
        return Ok(None);
    };
    if p.as_os_str() != "-" {
        let dir = match p.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        tempfile::NamedTempFile::new_in(dir)
            .map_err(|e| Error::Runtime(format!("cannot write {}: {e}", p.display())))?;
    }
    let m = MetricsOut::new(p, verdicts).map_err(|e| write_err(p, e))?;
    Ok(Some((p.clone(), m)))
}

/// The serials and notAfters of the other certificates `o`'s other connections got
/// (`--samples`).
fn sampled_certs(o: &Observation) -> Vec<(&str, i64)> {
    // A node sending the first connection's certificate with another chain has no
    // certificate of its own to expire.
    o.samples
        .iter()
        .flat_map(|s| &s.others)
        .filter(|x| !x.chain_apart)
        .map(|x| (x.cert.serial.as_str(), x.cert.not_after_unix))
        .collect()
}

/// An endpoint's metrics sample: what it presented (`others`: what its other connections
/// got), its verdict when judged (status and the serial it should serve), and its findings.
fn sample<'a>(
    o: &'a Observation,
    verdict: Option<(&'a str, Option<&'a str>)>,
    findings: &'a [&'a str],
    others: &'a [(&'a str, i64)],
) -> EndpointSample<'a> {
    EndpointSample {
        others,
        name: o.asked_name(),
        address: o.ip,
        port: o.port,
        certificate: o
            .cert
            .as_ref()
            .map(|c| (c.serial.as_str(), c.not_after_unix)),
        verdict,
        error_class: o
            .error
            .as_ref()
            .filter(|_| o.cert.is_none())
            .map(|e| e.class.as_str()),
        findings,
    }
}

/// What an endpoint presented, in words, for its JUnit case: the certificate and its
/// findings, or why there was none.
fn observed(o: &Observation) -> String {
    let mut s = match (&o.cert, &o.error) {
        (Some(c), _) => format!(
            "serial {} (expires {}), issuer {}",
            c.serial, c.not_after, c.issuer
        ),
        (None, Some(e)) => format!("{}: {}", e.class, e.message),
        (None, None) => "no certificate".into(),
    };
    if !o.findings.is_empty() {
        let f: Vec<&str> = o.findings.iter().map(|f| f.as_str()).collect();
        s.push_str(&format!("; findings: {}", f.join(", ")));
    }
    if let Some(d) = &o.trust_detail {
        s.push_str(&format!("; {d}"));
    }
    s
}

/// An endpoint's JUnit case, grouped by the name asked for.
fn junit_case(o: &Observation, failure: Option<JunitFailure>, out: String) -> JunitCase {
    let ms = o.timings.dns_ms.unwrap_or(0.0)
        + o.timings.connect_ms.unwrap_or(0.0)
        + o.timings.starttls_ms.unwrap_or(0.0)
        + o.timings.handshake_ms.unwrap_or(0.0);
    let mut name = who(o);
    if let Some(l) = &o.label {
        name.push_str(&format!(" ({l})"));
    }
    JunitCase {
        classname: o.asked_name().to_string(),
        name,
        time: std::time::Duration::from_secs_f64(ms.max(0.0) / 1000.0),
        failure,
        skipped: None,
        out,
    }
}

/// The verdicts of `scan --inventory` while the sweep runs: each endpoint is judged as it
/// finishes and its verdict written to a temporary file; memory keeps its sort key and place
/// in the file (~100 bytes) instead of the verdict (~3.5 KB), and two counts per name for
/// partial rollouts. The reports are written from the file once the sweep ends, sorted,
/// with what each name's other endpoints said.
///
/// The file sits next to the report (`<report>.<random>.partial.jsonl`) and each verdict is
/// written to it as it is decided, unbuffered: removed once the reports are written, it is
/// left behind only when the process is killed outright (SIGKILL, out of memory), and then
/// holds every verdict decided until then instead of losing the night's sweep.
struct Spill<'a> {
    ids: &'a Identities,
    policy: &'a Policy,
    rollout: Rollout,
    counts: BTreeMap<Status, usize>,
    file: File,
    /// The file's name while it exists (none for an unnamed file); dropping it removes it.
    partial: Option<tempfile::TempPath>,
    written: u64,
    index: Vec<Spilled>,
    /// One verdict's JSON line, its buffer reused from endpoint to endpoint.
    line: Vec<u8>,
}

/// Where one verdict sits in the spill file, and its sort key.
struct Spilled {
    host: String,
    port: u16,
    ip: Option<std::net::IpAddr>,
    at: u64,
    len: usize,
}

/// The spill file: named next to `--report` (else `--jsonl`) when that is a file, so that it
/// outlives a killed process; unnamed otherwise.
fn spill_file(args: &ScanArgs) -> Result<(File, Option<tempfile::TempPath>), Error> {
    let is_file = |p: &&Path| p.as_os_str() != "-";
    let beside = args
        .report
        .as_deref()
        .filter(is_file)
        .or_else(|| args.jsonl.as_deref().filter(is_file));
    let Some(report) = beside else {
        return Ok((tempfile::tempfile().map_err(spill_err)?, None));
    };
    let dir = match report.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let name = report
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "certsweep".into());
    let (file, path) = tempfile::Builder::new()
        .prefix(&format!("{name}."))
        .suffix(".partial.jsonl")
        .tempfile_in(dir)
        .map_err(|e| spill_err(format!("in {}: {e}", dir.display())))?
        .into_parts();
    Ok((file, Some(path)))
}

fn spill_err(e: impl std::fmt::Display) -> Error {
    Error::Runtime(format!("temporary verdict file: {e}"))
}

impl ObservationSink for Spill<'_> {
    fn take(&mut self, o: Box<Observation>) -> Result<(), Error> {
        let (v, serves_expected) = judge_one(o, self.ids, self.policy);
        self.rollout.note(&v, serves_expected);
        *self.counts.entry(v.status).or_default() += 1;
        self.line.clear();
        serde_json::to_writer(&mut self.line, &v).map_err(spill_err)?;
        self.line.push(b'\n');
        self.file.write_all(&self.line).map_err(spill_err)?;
        let o = &v.observation;
        self.index.push(Spilled {
            host: o.host.clone(),
            port: o.port,
            ip: o.ip,
            at: self.written,
            len: self.line.len(),
        });
        self.written += self.line.len() as u64;
        Ok(())
    }
}

impl Spill<'_> {
    /// Hands every spilled verdict to `each`, sorted by host, port and address, with what its
    /// name's other endpoints said added; returns the counts per status and whether a
    /// `--fail-on` status was seen.
    fn read_back(
        self,
        mut each: impl FnMut(Verdict) -> Result<(), Error>,
    ) -> Result<BTreeMap<Status, usize>, Error> {
        use std::io::{Read, Seek, SeekFrom};
        let Spill {
            ids,
            rollout,
            mut counts,
            mut file,
            partial,
            mut index,
            ..
        } = self;
        index.sort_by(|a, b| (&a.host, a.port, a.ip).cmp(&(&b.host, b.port, b.ip)));
        let mut line = Vec::new();
        for e in &index {
            line.resize(e.len, 0);
            file.seek(SeekFrom::Start(e.at)).map_err(spill_err)?;
            file.read_exact(&mut line).map_err(spill_err)?;
            let mut v: Verdict = serde_json::from_slice(&line).map_err(spill_err)?;
            let judged = v.status;
            rollout.annotate(&mut v, ids);
            // Only what the other ports of the name said changes a status once all are in.
            if v.status != judged {
                if let Some(n) = counts.get_mut(&judged) {
                    *n -= 1;
                }
                *counts.entry(v.status).or_default() += 1;
            }
            each(v)?;
        }
        drop(partial);
        Ok(counts)
    }
}

/// Sweeps and judges every endpoint against `--inventory`, writing the reports asked for;
/// `keep` returns the verdicts too (the demo prints them).
pub async fn compare(args: &ScanArgs, keep: bool) -> Result<CompareOutcome, Error> {
    compare_reusing(args, keep, &crate::crl::CrlCache::default()).await
}

/// [`compare`], using the CRLs of `lists` still current (an earlier sweep of a `--wait`).
async fn compare_reusing(
    args: &ScanArgs,
    keep: bool,
    lists: &crate::crl::CrlCache,
) -> Result<CompareOutcome, Error> {
    use crate::report::compliance::{safe_identity_row, RECORDS_COLUMNS};
    let fail_on = FailOn::parse(args.fail_on.as_deref().unwrap_or(DEFAULT_FAIL_ON))?;
    let start_unix = now_unix();
    let loaded = load_inventory(args)?;
    let records_n = loaded.records.len();
    let inventory_errors = loaded.errors.len();
    let policy = Policy {
        now: now_unix(),
        grace_secs: args.grace.as_secs() as i64,
        renewal_window: renewal_window(args),
    };
    let ids = Arc::new(Identities::build_with(
        loaded.records,
        Grouping {
            separate_groups: args.separate_groups,
        },
    ));
    let look = RenewalLook::new(ids.clone(), policy.now, args.both_key_types);
    let (engine, note) = engine_looking(args, Some(Arc::new(look)), lists)?;
    if let Some(n) = note {
        crate::say!("certsweep: {n}");
    }
    let listed = compare_targets(args, &ids)?;
    // Report files are created before the sweep, so a path that cannot be written fails at
    // once rather than after an hour of scanning.
    let mut out = VerdictOut::create(args, &fail_on, policy.now, keep)?;
    let records_out = args
        .records_report
        .as_ref()
        .map(|p| Ok::<_, Error>((p, csv_out(p, RECORDS_COLUMNS, args.bom)?)))
        .transpose()?;
    let previous = load_previous(args)?;
    let (file, partial) = spill_file(args)?;
    let mut spill = Spill {
        ids: &ids,
        policy: &policy,
        rollout: Rollout::on_ports(&args.port),
        counts: BTreeMap::new(),
        file,
        partial,
        written: 0,
        index: Vec::new(),
        line: Vec::new(),
    };
    let sinks = Sinks {
        csv: None,
        jsonl: None,
        keep: false,
        then: Some(&mut spill),
        previous: previous.as_ref(),
    };
    out.serving.excluded = engine.exclusions();
    let mut outcome = sweep(engine, listed.targets, listed.total, sinks, args.quiet).await?;
    outcome.summary.targets_unread = listed.unread.and_then(|u| u.get().cloned());
    if let Some((path, n)) = &listed.not_utf8 {
        tell_not_utf8(path, n);
    }
    if let Some(named) = listed.named {
        let mut named = named.lock().unwrap_or_else(|e| e.into_inner());
        spill.rollout.named_by_list(std::mem::take(&mut *named));
    }
    let counts = spill.read_back(|v| out.take(v, &ids))?;
    let suite = input_name(args.targets.as_deref(), &args.inventory);
    let mut out = out.finish(&outcome, &suite, start_unix);
    if let Some((p, mut w)) = records_out {
        let written = each_identity_row(&ids, &out.serving, &policy, |r| {
            w.write(&safe_identity_row(&r)).map_err(|e| write_err(p, e))
        })
        .and_then(|()| w.finish().map_err(|e| write_err(p, e)));
        if let Err(e) = written {
            out.lost.push(e);
        }
    }
    let mut summary = outcome.summary;
    summary
        .outputs_lost
        .extend(out.lost.iter().map(Error::to_string));
    Ok(CompareOutcome {
        summary,
        counts,
        verdicts: out.verdicts,
        identities: ids.members.len(),
        records: records_n,
        inventory_errors,
        exit_code: u8::from(out.failing.total() > 0),
        failing: out.failing,
        verdict_findings: out.verdict_findings,
        undeployed_by_bot: out.undeployed_by_bot,
    })
}

/// Reads `--inventory`, telling the rows skipped and what else the reading noticed; an
/// input error when the files were not read whole or gave no usable record.
fn load_inventory(args: &ScanArgs) -> Result<crate::inventory::load::Loaded, Error> {
    let loaded = crate::inventory::load::load_files(
        &args.inventory,
        &read_options(args.inventory_map.as_deref())?,
    );
    for e in loaded.errors.iter().take(MAX_PRINTED_BAD_LINES as usize) {
        crate::say!("certsweep: inventory: skipped {e}");
    }
    for w in &loaded.warnings {
        crate::say!("certsweep: inventory: {w}");
    }
    for (word, n) in &loaded.unknown_statuses {
        crate::say!(
            "certsweep: inventory: status \"{word}\" ({n} record(s) with a certificate) is no word certsweep knows; read as pending, so none of them is what an endpoint should serve: name it in an --inventory-map's [status] (\"{word}\" = \"issued\", or pending, revoked, expired, cancelled, superseded)"
        );
    }
    let unshown = loaded
        .errors
        .len()
        .saturating_sub(MAX_PRINTED_BAD_LINES as usize);
    if unshown > 0 {
        crate::say!("certsweep: inventory: {unshown} more rows skipped, not shown (fix the ones above and run again to see them)");
    }
    if let Some(why) = loaded.not_read_whole() {
        return Err(Error::Input(why));
    }
    if loaded.records.is_empty() {
        // A target list given as the inventory: the fix is one flag away.
        let lists: Vec<String> = args
            .inventory
            .iter()
            .filter(|p| reads_as_targets(p))
            .map(|p| p.display().to_string())
            .collect();
        let hint = match lists.len() {
            0 => String::new(),
            1 => format!(
                "; {} reads as a target list: a target list is given with --targets",
                lists[0]
            ),
            _ => format!(
                "; {} read as target lists: a target list is given with --targets",
                lists.join(", ")
            ),
        };
        return Err(Error::Input(format!(
            "no usable record in {} ({} errors){hint}",
            args.inventory
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", "),
            loaded.errors.len()
        )));
    }
    Ok(loaded)
}

/// What a comparison sweeps: the target list, or without one the records' deployment
/// endpoints; and what the list's reader has to tell once the sweep is over.
struct ComparedTargets<'a> {
    targets: Box<dyn Iterator<Item = Result<crate::engine::targets::Target, TargetError>> + Send>,
    /// The progress total, when known.
    total: Option<u64>,
    /// The list's path and its count of lines read as Windows-1252.
    not_utf8: Option<(&'a String, crate::engine::targets::NotUtf8)>,
    unread: Option<crate::engine::targets::Unread>,
    named: Option<Arc<std::sync::Mutex<crate::engine::targets::NamedPorts>>>,
}

/// The targets of a comparison ([`ComparedTargets`]).
fn compare_targets<'a>(args: &'a ScanArgs, ids: &Identities) -> Result<ComparedTargets<'a>, Error> {
    if let Some(path) = &args.targets {
        let (reader, total) = open_targets(path, &args.port, args.strict)?;
        return Ok(ComparedTargets {
            total,
            not_utf8: Some((path, reader.not_utf8())),
            unread: Some(reader.unread()),
            named: Some(reader.named_ports()),
            targets: Box::new(reader),
        });
    }
    let elsewhere = ids
        .records
        .iter()
        .filter(|r| !r.targets.is_empty() && r.targets.iter().all(|t| is_location(t)))
        .count();
    if elsewhere > 0 {
        crate::say!(
            "certsweep: inventory: {elsewhere} record(s) deployed only to places no handshake reaches (a cloud resource's ARN, a key store, a path): their certificates' names are scanned instead"
        );
    }
    let RecordTargets { targets, no_host } = record_targets(&ids.records, &args.port);
    if no_host > 0 {
        crate::say!(
            "certsweep: inventory: {no_host} record(s) name no host, only a person or a mailbox (client certificates, as a CA's database lists them): nothing to sweep for them"
        );
    }
    Ok(ComparedTargets {
        total: Some(targets.len() as u64),
        targets: Box::new(targets.into_iter()),
        not_utf8: None,
        unread: None,
        named: None,
    })
}

/// Where each verdict of a comparison goes once every endpoint is in and the rollout pass
/// has annotated it: the reports asked for, `--fail-on`, and the summary's counts.
struct VerdictOut<'a> {
    args: &'a ScanArgs,
    fail_on: &'a FailOn,
    now: i64,
    keep: bool,
    csv: Option<(&'a std::path::PathBuf, CsvOut<Output>)>,
    jsonl: Option<(&'a std::path::PathBuf, JsonlOut<Output>)>,
    junit: Option<(std::path::PathBuf, JunitOut<Output>)>,
    metrics: Option<(std::path::PathBuf, MetricsOut)>,
    /// Where each certificate is served, for the records report.
    serving: Serving,
    /// The verdicts themselves, when kept.
    verdicts: Vec<Verdict>,
    failing: Failing,
    verdict_findings: BTreeMap<&'static str, usize>,
    undeployed_by_bot: BTreeMap<Option<String>, usize>,
    /// The report files given up (a write failed), with why.
    lost: Vec<Error>,
}

impl<'a> VerdictOut<'a> {
    /// Creates the report files asked for.
    fn create(
        args: &'a ScanArgs,
        fail_on: &'a FailOn,
        now: i64,
        keep: bool,
    ) -> Result<Self, Error> {
        use crate::report::compliance::COMPLIANCE_COLUMNS;
        Ok(VerdictOut {
            args,
            fail_on,
            now,
            keep,
            csv: (args.report.as_ref())
                .map(|p| Ok::<_, Error>((p, csv_out(p, COMPLIANCE_COLUMNS, args.bom)?)))
                .transpose()?,
            jsonl: (args.jsonl.as_ref())
                .map(|p| Ok::<_, Error>((p, JsonlOut::new(create(p)?))))
                .transpose()?,
            junit: junit_out(args)?,
            metrics: metrics_out(args, true)?,
            serving: Serving::default(),
            verdicts: Vec::new(),
            failing: Failing::default(),
            verdict_findings: BTreeMap::new(),
            undeployed_by_bot: BTreeMap::new(),
            lost: Vec::new(),
        })
    }

    /// Writes and counts `v`, judged against `ids`.
    fn take(&mut self, v: Verdict, ids: &Identities) -> Result<(), Error> {
        if v.status == Status::RenewedNotDeployed {
            let bot = v.expected.as_ref().and_then(|e| e.provisioning_bot.clone());
            *self.undeployed_by_bot.entry(bot).or_default() += 1;
        }
        // After the rollout's annotation, so that `partial_rollout` can fail a run too.
        let words = self.fail_on.verdict_words(&v);
        if !words.is_empty() {
            self.failing
                .add(&v.observation, || failing_verdict(&v, &words));
        }
        if self.junit.is_some() {
            let failure = (!words.is_empty()).then(|| JunitFailure {
                message: words.join(", "),
                kind: v.status.as_str().to_string(),
                text: format!("{}\nNext step: {}", v.detail, v.next_step),
            });
            let out = format!("{}: {}\nNext step: {}", v.status, v.detail, v.next_step);
            let case = junit_case(&v.observation, failure, out);
            crate::report::or_give_up(&mut self.junit, &mut self.lost, |j| j.case(&case));
        }
        if self.metrics.is_some() {
            let findings: Vec<&str> = v.findings.iter().map(String::as_str).collect();
            let expected = v.expected.as_ref().and_then(|e| e.serial.as_deref());
            let verdict = Some((v.status.as_str(), expected));
            let others = sampled_certs(&v.observation);
            let one = sample(&v.observation, verdict, &findings, &others);
            crate::report::or_give_up(&mut self.metrics, &mut self.lost, |m| m.endpoint(&one));
        }
        for f in &v.findings {
            // One the sweep found (`client_auth_dropped` from `--previous`) is counted with
            // the observation's findings already.
            let found = || v.observation.findings.iter().any(|x| x.as_str() == f);
            if let Some(&known) = crate::verdict::VERDICT_FINDINGS
                .iter()
                .find(|k| **k == f.as_str())
                .filter(|_| !found())
            {
                *self.verdict_findings.entry(known).or_default() += 1;
            }
        }
        // Where each certificate is served matters only to the records report: a
        // million-endpoint sweep without it keeps no string per endpoint.
        if self.args.records_report.is_some() {
            self.serving.note(&v, ids);
        }
        let now = self.now;
        crate::report::or_give_up(&mut self.csv, &mut self.lost, |w| {
            w.write(&crate::report::compliance::ComplianceRow::from_verdict(
                &v, now,
            ))
        });
        crate::report::or_give_up(&mut self.jsonl, &mut self.lost, |w| w.write(&v));
        if self.keep {
            self.verdicts.push(v);
        }
        Ok(())
    }

    /// Ends the reports once every verdict was taken.
    fn finish(mut self, outcome: &SweepOutcome, suite: &str, start_unix: i64) -> Self {
        crate::report::finish_or_give_up(self.csv.take(), &mut self.lost, |w| w.finish());
        end_reports(
            self.metrics.take(),
            self.junit.take(),
            outcome,
            suite,
            start_unix,
            &mut self.lost,
        );
        crate::report::or_give_up(&mut self.jsonl, &mut self.lost, JsonlOut::flush);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_target_list_not_read_to_its_end_is_no_pass_and_said_so() {
        let mut summary = Summary::default();
        assert_eq!(unread_exit(0, &summary), 0);
        summary.targets_unread = Some("nodes.txt:812: Input/output error (os error 5)".into());
        // Nothing failed in the part swept: an input error. A failure found stands.
        assert_eq!(unread_exit(0, &summary), 2);
        assert_eq!(unread_exit(1, &summary), 1);
        assert_eq!(unread_exit(3, &summary), 3);
        assert!(summary.to_string().contains(
            "\n  targets: reading stopped at nodes.txt:812: Input/output error (os error 5); the targets after it were not swept\n"
        ));
    }

    #[test]
    fn places_no_handshake_reaches_are_not_targets_and_host_port_sni_asks_for_the_name() {
        use crate::engine::targets::Target;
        let mut loaded = crate::inventory::load::Loaded::default();
        crate::inventory::load::load_bytes(
            "inv.csv",
            b"Serial,Valid To,Common Name,Deployment Endpoints\n\
              01,2027-01-01,a.x.com,arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/web/abc\n\
              02,2027-01-01,b.x.com,store:WEB01:LocalMachine\\My#b;lb.x.com:8443/b.x.com\n\
              03,2027-01-01,c.x.com,10.0.0.7:8443/c.x.com;10.0.1.0/30\n\
              04,2027-01-01,d.x.com,d.x.com:8443/login.html\n",
            &Default::default(),
            &mut loaded,
        );
        assert!(loaded.errors.is_empty(), "{:?}", loaded.errors);
        let got: Vec<String> = record_targets(&loaded.records, &[443])
            .targets
            .into_iter()
            .map(|t| match t {
                Ok(Target::Name {
                    name, port, sni, ..
                }) => format!("{name}:{port} {sni:?}"),
                Ok(Target::Addr { ip, port, sni, .. }) => format!("{ip}:{port} {sni:?}"),
                Ok(Target::Cidr { net, port, sni }) => format!("{net}:{port} {sni:?}"),
                Err(e) => format!("error {}", e.reason),
            })
            .collect();
        assert_eq!(
            got,
            [
                // Only an ARN: the certificate's name is what the load balancer serves.
                "a.x.com:443 None",
                "lb.x.com:8443 Some(\"b.x.com\")",
                "10.0.0.7:8443 Some(\"c.x.com\")",
                "10.0.1.0/30:443 Some(\"c.x.com\")",
                // A path, not a name of the certificate: not read as one.
                "error \"d.x.com:8443/login.html\" is no CIDR block (no address before the \"/\"); a path needs the URL's scheme, https://d.x.com:8443/login.html",
            ]
        );
        assert!(is_location("IIS:\\SslBindings\\0.0.0.0!443"));
        assert!(is_location("\\\\fs01\\certs\\web.pfx"));
        assert!(!is_location("www.x.com:443"));
    }

    #[test]
    fn records_naming_a_person_or_a_mailbox_are_no_endpoints_and_are_counted() {
        // A CA's database lists client certificates beside servers': `John Doe` was split
        // into the hosts `john` and `doe` and swept.
        let loaded = crate::inventory::load::clients_beside_a_server();
        assert!(loaded.errors.is_empty(), "{:?}", loaded.errors);
        assert_eq!(loaded.records[0].cn.as_deref(), Some("john doe"));
        assert!(loaded.records[0].sans.is_empty());
        let RecordTargets { targets, no_host } = record_targets(&loaded.records, &[443]);
        let names: Vec<String> = targets
            .into_iter()
            .map(|t| match t {
                Ok(crate::engine::targets::Target::Name { name, .. }) => name,
                other => format!("{other:?}"),
            })
            .collect();
        assert_eq!((names, no_host), (vec!["vpn.x.com".to_string()], 2));
    }

    /// The targets an inventory CSV's records name, on port 443 where they name none.
    fn targets_of_records(csv: &[u8]) -> Vec<crate::engine::targets::Target> {
        let mut loaded = crate::inventory::load::Loaded::default();
        crate::inventory::load::load_bytes("inv.csv", csv, &Default::default(), &mut loaded);
        assert!(loaded.errors.is_empty(), "{:?}", loaded.errors);
        record_targets(&loaded.records, &[443])
            .targets
            .into_iter()
            .map(|t| t.expect("a target"))
            .collect()
    }

    #[test]
    fn an_ipv6_host_and_port_of_the_records_is_that_address_on_that_port() {
        use crate::engine::targets::Target;
        let targets = targets_of_records(
            b"Serial,Valid To,Common Name,Host,Port\n\
              05,2027-01-01,e.x.com,2001:db8::5,8443\n",
        );
        let [Target::Addr { ip, port, sni, .. }] = &targets[..] else {
            panic!("{targets:?}");
        };
        assert_eq!(
            (ip.to_string(), *port, sni.as_deref()),
            ("2001:db8::5".to_string(), 8443, Some("e.x.com"))
        );
    }

    #[test]
    fn an_endpoint_the_records_give_by_address_is_asked_for_the_certificates_name() {
        use crate::engine::targets::Target;
        let targets = targets_of_records(
            b"Serial,Valid To,Common Name,SANs,Deployment Endpoints\n\
              01,2027-01-01,*.x.com,*.x.com;shop.x.com,10.0.0.5:8443;web.x.com\n\
              02,2027-01-01,,*.y.com,10.0.0.6\n",
        );
        let sni = |t: &Target| match t {
            Target::Addr { sni, port, .. } => format!("{port} {sni:?}"),
            Target::Name { name, port, .. } => format!("{port} name {name}"),
            Target::Cidr { .. } => "block".into(),
        };
        let got: Vec<String> = targets.iter().map(sni).collect();
        // Before: the address without SNI, answered with the server's default certificate.
        assert_eq!(
            got,
            [
                "8443 Some(\"shop.x.com\")",
                "443 name web.x.com",
                // Only a wildcard to ask for: no SNI.
                "443 None",
            ]
        );
    }

    #[test]
    fn the_endpoints_failing_fail_on_are_told_with_why_and_what_next() {
        let ip = std::net::IpAddr::from([0x2001, 0xdb8, 0, 0, 0, 0, 0, 5]);
        let o = crate::fleet::presenting("www.example.com", ip, "0A", 0, 86_400);
        let v = Verdict {
            observation: o,
            status: Status::Expired,
            findings: vec!["expired".into(), "untrusted".into()],
            matched: None,
            expected: None,
            name_endpoints_current: None,
            detail: "Serves serial 0A: expired.".into(),
            next_step: "Renew it.".into(),
        };
        let fail_on = FailOn::parse("untrusted,expired,revoked").unwrap();
        let words = fail_on.verdict_words(&v);
        assert_eq!(words, ["expired", "untrusted"]);
        assert_eq!(
            failing_verdict(&v, &words),
            "www.example.com [2001:db8::5]:443 expired (untrusted): Serves serial 0A: expired.\n    next: Renew it."
        );
        assert!(fail_on.verdict(&v) && !FailOn::parse("revoked").unwrap().verdict(&v));
        // Without records: the words met, the certificate or the error; a bare address
        // once.
        let mut sink = RecordFree {
            fail_on: FailOn::parse_record_free("unreachable,expired").unwrap(),
            window: crate::verdict::RenewalWindow::fixed(0),
            now: 2 * 86_400,
            failing: Failing::default(),
            junit: None,
            metrics: None,
            lost: Vec::new(),
        };
        let mut refused = crate::fleet::presenting("10.0.0.9", [10, 0, 0, 9].into(), "0B", 0, 1);
        refused.cert = None;
        refused.sni = None;
        refused.error = Some(crate::model::ErrorInfo {
            class: crate::model::ErrorClass::ConnectRefused,
            message: "connection refused".into(),
        });
        sink.take(refused).unwrap();
        sink.take(crate::fleet::presenting("a.example", ip, "0C", 0, 86_400))
            .unwrap();
        assert_eq!(
            sink.failing.0.sorted(),
            [
                "10.0.0.9:443 unreachable: connection refused",
                "a.example [2001:db8::5]:443 expired: serial 0C (expires 1970-01-02T00:00:00Z)"
            ]
        );
        // The first few by place whatever order they finish in, then how many more.
        let mut failing = Failing::default();
        for i in (0..crate::report::Firsts::<(), ()>::SHOWN + 3).rev() {
            let o = crate::fleet::presenting(&format!("h{i:02}.example"), ip, "0D", 0, 1);
            failing.add(&o, || format!("endpoint {i}"));
        }
        let text = failing.text();
        assert!(text
            .starts_with("certsweep: 23 endpoints fail --fail-on:\n  endpoint 0\n  endpoint 1\n"));
        assert!(text
            .ends_with("  endpoint 19\n  ... and 3 more (every one is in --report and --jsonl)\n"));
        assert_eq!(Failing::default().text(), "");
    }

    #[test]
    fn the_summary_names_the_bots_behind_undeployed_renewals() {
        let mut out = CompareOutcome {
            summary: Summary::default(),
            counts: BTreeMap::new(),
            verdicts: Vec::new(),
            identities: 0,
            records: 0,
            inventory_errors: 0,
            exit_code: 0,
            failing: Failing::default(),
            verdict_findings: BTreeMap::new(),
            undeployed_by_bot: BTreeMap::from([
                (Some("bot-de-01".to_string()), 12),
                (Some("bot-us-02".to_string()), 3),
                (None, 4),
            ]),
        };
        assert!(
            out.summary_text().contains(
                "renewed_not_deployed by provisioning bot: bot-de-01 12, (none named) 4, bot-us-02 3\n"
            ),
            "{}",
            out.summary_text()
        );
        // Records that name no bot: nothing to say.
        out.undeployed_by_bot = BTreeMap::from([(None, 4)]);
        assert!(!out.summary_text().contains("by provisioning bot"));
    }
}
