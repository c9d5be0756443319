//! `certsweep dcv`: read the domains, run the pre-checks, stream the report, summarise.

use crate::cli::DcvArgs;
use crate::dcv::caa::CaIdentity;
use crate::dcv::dns::Recursive;
use crate::dcv::http01::HttpSettings;
use crate::dcv::input::{self, Requests};
use crate::dcv::run::{self, Checker, DcvSummary, Settings};
use crate::dcv::{Method, Outcome};
use crate::files::{create, Output};
use crate::report::dcv::{DcvRow, DCV_COLUMNS};
use crate::report::jsonl::JsonlOut;
use crate::report::progress::Progress;
use crate::Error;
use std::io::{Read, Write};
use std::sync::Arc;
use std::time::Instant;

/// Bad input lines printed one by one before only counting them.
const MAX_PRINTED_BAD_LINES: usize = 50;

/// Reads the domains and records into requests.
pub fn read_requests(args: &DcvArgs) -> Result<Requests, Error> {
    let default = Method::parse_list(&args.method).ok_or_else(|| {
        Error::Usage(format!(
            "--method: \"{}\" is not http-01, dns-01, tls-alpn-01, dns-persist-01 or all",
            args.method
        ))
    })?;
    crate::files::one_stdin(
        args.domains
            .as_deref()
            .map(|d| ("--domains", std::path::Path::new(d)))
            .into_iter()
            .chain(args.inventory.iter().map(|p| ("--inventory", p.as_path()))),
    )?;
    let mut out = Requests::default();
    if let Some(path) = &args.domains {
        let mut bytes = Vec::new();
        if path == "-" {
            crate::wait::stdin()
                .and_then(|mut input| input.read_to_end(&mut bytes))
                .map_err(|e| Error::Input(format!("--domains -: {e}")))?;
        } else {
            bytes =
                std::fs::read(path).map_err(|e| Error::Input(format!("--domains {path}: {e}")))?;
        }
        input::read_domains(path, &bytes, &default, &mut out);
    }
    if !args.inventory.is_empty() {
        let loaded = crate::inventory::load::load_files(
            &args.inventory,
            &crate::scan::read_options(args.inventory_map.as_deref())?,
        );
        if let Some(why) = loaded.not_read_whole() {
            return Err(Error::Input(why));
        }
        out.errors.extend(loaded.errors.iter().cloned());
        out.warnings
            .extend(loaded.warnings.iter().map(|w| format!("inventory: {w}")));
        input::from_records(&loaded.records, &default, &mut out);
    }
    if args.domains.is_none() && args.inventory.is_empty() {
        return Err(Error::Usage(
            "--domains FILE or --inventory FILE is required".into(),
        ));
    }
    Ok(out)
}

/// Builds the checker from the options.
pub fn build_checker(args: &DcvArgs) -> Result<Arc<Checker>, Error> {
    let resolver = args
        .resolver
        .as_deref()
        .map(crate::scan::parse_resolver)
        .transpose()?;
    let dns =
        Recursive::new(resolver, args.dns_timeout, args.per_address).map_err(Error::Runtime)?;
    let settings = Settings {
        http: HttpSettings {
            http_port: args.http_port,
            tls_port: args.tls_port,
            connect_timeout: args.timeout,
            read_timeout: args.timeout,
            allow_private: args.allow_private,
            exclude: crate::scan::exclusions(&args.exclude)?,
        },
        tls_port: args.tls_port,
        ns_port: args.ns_port,
        ca: CaIdentity {
            domains: args
                .ca_domain
                .iter()
                .map(|d| d.trim().to_ascii_lowercase())
                .collect(),
            account_uri: args.account_uri.clone(),
        },
        allow_private: args.allow_private,
        deadline: args.deadline,
        per_address: args.per_address,
    };
    Checker::new(settings, dns)
        .map(Arc::new)
        .map_err(Error::Runtime)
}

/// Runs the checks and writes each outcome as it is decided; returns the summary and, when
/// `keep`, the outcomes.
pub async fn check_all(args: &DcvArgs, keep: bool) -> Result<(DcvSummary, Vec<Outcome>), Error> {
    let start = Instant::now();
    check_output_paths(args)?;
    let requests = read_requests(args)?;
    let checker = build_checker(args)?;
    let mut summary = DcvSummary {
        bad_lines: requests.errors.len() as u64,
        duplicates: requests.duplicates,
        ..Default::default()
    };
    let progress = Progress::new(args.quiet, Some(requests.requests.len() as u64));
    tell_input_problems(&progress, &requests);
    // As with `scan`: an empty input is a broken upstream export, not "all ready".
    if requests.requests.is_empty() {
        let bad = requests.errors.len();
        return Err(Error::Input(if bad > 0 {
            format!("no domain to check: {bad} bad input line(s) and nothing else")
        } else {
            "no domain to check: the input names none".into()
        }));
    }
    let mut out = Outputs::open(args)?;
    let started = crate::timefmt::rfc3339(time::OffsetDateTime::now_utc());
    let stop = Arc::new(tokio::sync::Notify::new());
    let interrupted = Arc::new(std::sync::OnceLock::new());
    // Watched before any domain is started, so that no request goes unheard.
    let _listener = listen_for_stop(stop.clone(), interrupted.clone());
    let mut rx = run::start(checker.clone(), requests.requests, args.concurrency, stop);
    let mut kept = Vec::new();
    let mut clock = crate::report::FlushClock::default();
    let mut lost = Vec::new();
    let mut done = 0u64;
    loop {
        let o = tokio::select! {
            o = rx.recv() => o,
            () = clock.due() => {
                out.flush(&mut lost);
                crate::report::tell_given_up(&mut lost, &progress, &mut summary.outputs_lost);
                clock.flushed();
                progress.update(
                    done,
                    format!(
                        "{} ready · {} not_ready · {} unknown",
                        summary.ready, summary.not_ready, summary.unknown
                    ),
                );
                continue;
            }
        };
        let Some(o) = o else { break };
        clock.wrote();
        done += 1;
        summary.add(&o);
        out.write(&o, &mut lost);
        if !lost.is_empty() {
            crate::report::tell_given_up(&mut lost, &progress, &mut summary.outputs_lost);
        }
        if keep {
            kept.push(o);
        }
    }
    progress.finish();
    summary.duration = start.elapsed();
    summary.resolver_unheard = checker.resolver_unheard();
    summary.interrupted = interrupted.get().copied();
    let suite = crate::scan::input_name(args.domains.as_deref(), &args.inventory);
    out.finish(&suite, &started, &summary, &mut lost);
    crate::report::tell_given_up(&mut lost, &progress, &mut summary.outputs_lost);
    Ok((summary, kept))
}

/// The output files are distinct from each other and from the inputs, and at most one is
/// standard output.
fn check_output_paths(args: &DcvArgs) -> Result<(), Error> {
    let outputs = [
        ("--report", args.report.as_deref()),
        ("--jsonl", args.jsonl.as_deref()),
        ("--junit", args.junit.as_deref()),
    ];
    crate::files::one_stdout(outputs)?;
    crate::files::distinct_files(
        outputs,
        args.domains
            .as_deref()
            .map(|d| ("--domains", std::path::Path::new(d)))
            .into_iter()
            .chain(args.inventory.iter().map(|p| ("--inventory", p.as_path())))
            .chain(
                args.inventory_map
                    .iter()
                    .map(|p| ("--inventory-map", p.as_path())),
            ),
    )
}

/// The input's warnings and its bad lines (the first [`MAX_PRINTED_BAD_LINES`]; the rest
/// are counted in the summary).
fn tell_input_problems(progress: &Progress, requests: &Requests) {
    for w in &requests.warnings {
        progress.println(&format!("certsweep: {w}"));
    }
    for (i, e) in requests.errors.iter().enumerate() {
        if i < MAX_PRINTED_BAD_LINES {
            progress.println(&format!("certsweep: skipped {e}"));
        } else if i == MAX_PRINTED_BAD_LINES {
            progress.println("certsweep: more bad input lines; only counting them now");
        }
    }
}

/// Watches for a stop request (Ctrl-C, SIGTERM, SIGHUP) until dropped: the first one is
/// kept in `interrupted` and wakes `stop`, so that no new domain is started.
fn listen_for_stop(
    stop: Arc<tokio::sync::Notify>,
    interrupted: Arc<std::sync::OnceLock<crate::interrupt::Stop>>,
) -> crate::wait::AbortOnDrop {
    let stops = crate::interrupt::Requests::listen().ok();
    crate::wait::AbortOnDrop(tokio::spawn(async move {
        let Some(mut stops) = stops else { return };
        if let Some(what) = stops.next().await {
            let _ = interrupted.set(what);
            crate::say!("\ncertsweep: {what}: stopping: no new domains; those in progress finish");
            stop.notify_one();
        }
    }))
}

/// The files `dcv` writes each outcome to as it is decided, each with its path for errors.
struct Outputs {
    csv: crate::report::CsvFile,
    jsonl: crate::report::JsonlFile,
    junit: Option<(std::path::PathBuf, crate::report::junit::JunitOut<Output>)>,
}

impl Outputs {
    fn open(args: &DcvArgs) -> Result<Self, Error> {
        let csv = match &args.report {
            Some(p) => Some((p.clone(), crate::files::csv_out(p, DCV_COLUMNS, args.bom)?)),
            None => None,
        };
        let jsonl = match &args.jsonl {
            Some(p) => Some((p.clone(), JsonlOut::new(create(p)?))),
            None => None,
        };
        let junit = crate::scan::junit_at(args.junit.as_deref())?;
        Ok(Outputs { csv, jsonl, junit })
    }

    /// One outcome, in every file; a file that cannot be written is given up, its error in
    /// `lost`.
    fn write(&mut self, o: &Outcome, lost: &mut Vec<Error>) {
        crate::report::write_files(
            (&mut self.csv, || DcvRow::from_outcome(o)),
            (&mut self.jsonl, o),
            lost,
        );
        crate::report::or_give_up(&mut self.junit, lost, |j| j.case(&junit_case(o)));
    }

    /// What is written so far, on disk (the JUnit file is whole only at the end).
    fn flush(&mut self, lost: &mut Vec<Error>) {
        crate::report::flush_files(&mut self.csv, &mut self.jsonl, lost);
    }

    /// Every file finished: the JUnit suite named `suite`, started at `started`, with the
    /// summary as its output.
    fn finish(self, suite: &str, started: &str, summary: &DcvSummary, lost: &mut Vec<Error>) {
        crate::report::finish_files(self.csv, self.jsonl, lost);
        crate::report::finish_or_give_up(self.junit, lost, |j| {
            j.finish(suite, started, summary.duration, &summary.to_string())
        });
    }
}

/// A domain and method's JUnit case: failed when not ready (the blocking findings), skipped
/// when unknown (a check that could not be carried out), every finding as its output.
fn junit_case(o: &Outcome) -> crate::report::junit::JunitCase {
    use crate::dcv::Verdict;
    let reasons = o.reasons().join("\n");
    let failure = (o.verdict == Verdict::NotReady).then(|| crate::report::junit::JunitFailure {
        message: o.failed_ids().join(", "),
        kind: o.verdict.as_str().to_string(),
        text: reasons.clone(),
    });
    let skipped = (o.verdict == Verdict::Unknown).then(|| {
        let why: Vec<&str> = o
            .checks
            .iter()
            .filter(|c| c.inconclusive)
            .map(|c| c.message.as_str())
            .collect();
        why.join("; ")
    });
    let out: Vec<String> = o
        .checks
        .iter()
        .map(|c| format!("{}: {}", c.id, c.message))
        .collect();
    crate::report::junit::JunitCase {
        classname: o.domain.clone(),
        name: format!("{} {}", o.domain, o.method.as_str()),
        time: std::time::Duration::from_millis(o.elapsed_ms),
        failure,
        skipped,
        out: format!("{}\n{}", o.verdict.as_str(), out.join("\n")),
    }
}

/// `certsweep dcv`: exit 1 when any domain is `not_ready`, 3 when certsweep failed on one.
pub async fn run_dcv(args: DcvArgs) -> Result<u8, Error> {
    if args.concurrency == 0 {
        return Err(Error::Usage("--concurrency must be at least 1".into()));
    }
    let Some(wait) = args.wait else {
        return check_once(&args).await.map(|(code, _)| code);
    };
    let _stdin_kept = crate::wait::prepare(
        [
            args.report.as_deref(),
            args.jsonl.as_deref(),
            args.junit.as_deref(),
        ],
        args.domains
            .iter()
            .map(std::path::Path::new)
            .chain(args.inventory.iter().map(std::path::PathBuf::as_path)),
    )?;
    crate::wait::again(wait, "not ready", || check_once(&args)).await
}

/// One run over every domain: its exit code, and whether it was stopped.
async fn check_once(args: &DcvArgs) -> Result<(u8, bool), Error> {
    let (summary, _) = check_all(args, false).await?;
    if !args.quiet {
        let _ = write!(std::io::stderr().lock(), "{summary}");
    }
    let internal = summary.internal_errors();
    if internal > 0 {
        crate::say!(
            "certsweep: {internal} domain check(s) failed with an internal error (internal_error in the reports); please report it"
        );
    }
    // The summary says it otherwise.
    if args.quiet {
        for e in &summary.outputs_lost {
            crate::say!("certsweep: {e}: the file holds only the rows written before");
        }
    }
    Ok(crate::interrupt::ended(
        exit_code(&summary),
        summary.interrupted,
    ))
}

/// 3 when certsweep failed on a domain or a report had to be given up, else 1 when any is `not_ready`, else 0. As with
/// `scan`: a domain certsweep failed on was not checked, and a pipeline must not read the
/// run as a pass (so that would order the certificate).
fn exit_code(summary: &crate::dcv::run::DcvSummary) -> u8 {
    if summary.internal_errors() > 0 || !summary.outputs_lost.is_empty() {
        3
    } else if summary.not_ready > 0 {
        1
    } else {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_internal_error_is_exit_3_even_when_nothing_else_is_wrong() {
        let mut s = crate::dcv::run::DcvSummary {
            ready: 4,
            ..Default::default()
        };
        assert_eq!(exit_code(&s), 0);
        s.not_ready = 1;
        assert_eq!(exit_code(&s), 1);
        s.not_ready = 0;
        s.failed.insert("internal_error", 1);
        assert_eq!(exit_code(&s), 3);
        s.not_ready = 2;
        assert_eq!(exit_code(&s), 3);
        // A report given up: what was asked for was not all produced.
        s.failed.clear();
        s.not_ready = 0;
        s.outputs_lost
            .push("writing /dev/full: No space left on device".into());
        assert_eq!(exit_code(&s), 3);
    }
}
