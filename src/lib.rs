//! certsweep: sweep TLS endpoints at fleet scale, capture what each presents, and compare it
//! with the records of a certificate lifecycle management platform.
//!
//! Data flows one way: `engine` (targets → endpoints → handshakes → observations), then
//! `verdict` (observations + `inventory` records → one status per endpoint), then `report`
//! (CSV, JSON lines, progress, summary). The types between them live in `model`.
#![warn(missing_docs)]

/// `eprintln!` that never panics. Once the terminal a run was started from is gone (SIGHUP,
/// a dropped SSH session), writing to it fails; `eprintln!` would then panic, and a sweep
/// stopping to write its reports would die of a message no one can read.
#[macro_export]
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

/// `eprint!` that never panics (see [`say!`]).
#[macro_export]
macro_rules! say_part {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = write!(std::io::stderr(), $($arg)*);
    }};
}

pub mod cert;
pub mod cli;
pub mod crl;
pub mod csvlines;
pub mod dane;
pub mod dcv;
pub mod dcv_command;
pub mod demo;
pub mod duration;
pub mod engine;
pub mod failon;
mod fetch;
pub mod files;
pub mod fleet;
pub mod interrupt;
pub mod inventory;
pub mod model;
pub mod ocsp;
pub mod previous;
pub mod report;
pub mod revocation;
pub mod scan;
pub mod sheet;
pub mod stores;
pub mod tabled;
#[cfg(test)]
mod testrng;
pub mod timefmt;
pub mod trust;
pub mod utf16;
pub mod verdict;
pub mod wait;

/// A failure that ends the run, with its exit code.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad command-line use (exit 2).
    #[error("{0}")]
    Usage(String),
    /// Bad input files (exit 2).
    #[error("{0}")]
    Input(String),
    /// Anything else that stopped the run (exit 3).
    #[error("{0}")]
    Runtime(String),
}

impl Error {
    /// The process exit code for this error.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Usage(_) | Error::Input(_) => 2,
            Error::Runtime(_) => 3,
        }
    }
}

/// Runs a parsed command line; returns the exit code (0 ran, 1 `--fail-on` matched or a
/// domain is not ready for DCV, 3 an endpoint or domain failed with an internal error, 130,
/// 143 or 129 stopped before its end with nothing failing: [`interrupt::exit_code`]).
pub async fn run(cli: cli::Cli) -> Result<u8, Error> {
    match cli.command {
        cli::Command::Scan(args) => scan::run_scan(*args).await,
        cli::Command::Demo(args) => demo::run_demo(args).await,
        cli::Command::Dcv(args) => dcv_command::run_dcv(*args).await,
    }
}

/// Awaits `fut`; a panic in it comes back as its message instead of unwinding, so one bad
/// endpoint or domain becomes one marked row rather than a row silently missing.
///
/// A plain function returning the combinator, not an `async fn`: an `async fn` would keep
/// its argument and the future made from it side by side in its state, doubling the size
/// of every endpoint task (+3.5 MiB of peak memory at 1,000 in flight).
pub fn catch_panic<F: std::future::Future>(
    fut: F,
) -> impl std::future::Future<Output = Result<F::Output, String>> {
    use futures_util::FutureExt;
    std::panic::AssertUnwindSafe(fut).catch_unwind().map(|r| {
        r.map_err(|payload| {
            payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a panic without a message".into())
        })
    })
}

/// The value of a joined task; a task that panicked panics here too, so that
/// [`catch_panic`] around the caller sees it (a result must not be judged on the tasks that
/// happened to survive).
pub fn joined<T>(r: Result<T, tokio::task::JoinError>) -> T {
    match r {
        Ok(v) => v,
        Err(e) => match e.try_into_panic() {
            Ok(payload) => std::panic::resume_unwind(payload),
            Err(e) => panic!("a task was cancelled: {e}"),
        },
    }
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn a_panic_in_a_joined_task_reaches_catch_panic_with_its_message() {
        let got = super::catch_panic(async {
            let mut set = tokio::task::JoinSet::new();
            set.spawn(async { 1 });
            set.spawn(async {
                tokio::task::yield_now().await;
                if std::hint::black_box(true) {
                    panic!("probe of 192.0.2.7 failed");
                }
                2
            });
            let mut sum = 0;
            while let Some(r) = set.join_next().await {
                sum += super::joined(r);
            }
            sum
        })
        .await;
        let message = got.expect_err("the panic was lost");
        assert!(message.contains("probe of 192.0.2.7 failed"), "{message}");
        assert_eq!(super::catch_panic(async { 7 }).await, Ok(7));
    }
}
