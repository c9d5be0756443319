//! certsweep: sweep TLS endpoints at fleet scale, capture what each presents, and compare it
//! with the records of a certificate lifecycle management platform.
//!
//! Data flows one way: `engine` (targets → endpoints → handshakes → observations), then
//! `verdict` (observations + `inventory` records → one status per endpoint), then `report`
//! (CSV, JSON lines, progress, summary). The types between them live in `model`.
#![warn(missing_docs)]

pub mod cert;
pub mod cli;
pub mod dcv;
pub mod dcv_command;
pub mod demo;
pub mod duration;
pub mod engine;
pub mod fleet;
pub mod interrupt;
pub mod inventory;
pub mod model;
pub mod report;
pub mod scan;
pub mod timefmt;
pub mod trust;
pub mod verdict;

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
/// domain is not ready for DCV).
pub async fn run(cli: cli::Cli) -> Result<u8, Error> {
    match cli.command {
        cli::Command::Scan(args) => scan::run_scan(*args).await,
        cli::Command::Demo(args) => demo::run_demo(args).await,
        cli::Command::Dcv(args) => dcv_command::run_dcv(*args).await,
    }
}
