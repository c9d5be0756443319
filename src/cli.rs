//! Command-line interface: what each subcommand accepts.

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;
use std::time::Duration;

fn duration(s: &str) -> Result<Duration, String> {
    crate::duration::parse(s)
}

/// certsweep: what do the servers really present, and does it match the CLM records?
#[derive(Debug, Parser)]
#[command(name = "certsweep", version, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Sweep endpoints and capture the certificate each presents; with --inventory, say for
    /// each whether it serves the newest certificate of the CLM records.
    Scan(Box<ScanArgs>),
    /// Start a built-in fleet on loopback with a CERTInext-style inventory and sweep it.
    Demo(DemoArgs),
}

/// Options of `certsweep scan`.
#[derive(Debug, Args, Clone)]
pub struct ScanArgs {
    /// Target list: plain lines or CSV with a `host` column; `-` for stdin. Without it, the
    /// endpoints named by --inventory are scanned.
    #[arg(long, short = 't', value_name = "FILE")]
    pub targets: Option<String>,
    /// Default port for targets without one.
    #[arg(long, default_value_t = 443)]
    pub port: u16,
    /// DNS server to use instead of the system configuration.
    #[arg(long, value_name = "IP[:PORT]")]
    pub resolver: Option<String>,
    /// Scan only the first address of each name (default: every A and AAAA answer).
    #[arg(long)]
    pub first_ip: bool,
    /// Only IPv4 addresses.
    #[arg(long, conflicts_with = "ipv6_only")]
    pub ipv4_only: bool,
    /// Only IPv6 addresses.
    #[arg(long)]
    pub ipv6_only: bool,
    /// Endpoints in flight at most (capped by the open-file limit).
    #[arg(long, short = 'c', default_value_t = 1000)]
    pub concurrency: usize,
    /// TCP connect timeout (e.g. 3s, 500ms).
    #[arg(long, default_value = "5s", value_parser = duration)]
    pub connect_timeout: Duration,
    /// TLS handshake timeout.
    #[arg(long, default_value = "5s", value_parser = duration)]
    pub handshake_timeout: Duration,
    /// Hard limit per endpoint, retries included (default: enough for every attempt).
    #[arg(long, value_parser = duration)]
    pub deadline: Option<Duration>,
    /// Extra attempts after a timeout or reset, with backoff.
    #[arg(long, default_value_t = 0)]
    pub retries: u32,
    /// New connections per second, globally (polite sweeps).
    #[arg(long, value_name = "N")]
    pub rate: Option<f64>,
    /// PEM file of extra trusted CAs (private CAs such as AD CS or emCA); repeatable.
    #[arg(long, value_name = "PEM")]
    pub ca_file: Vec<PathBuf>,
    /// Also trust the operating system's roots.
    #[arg(long)]
    pub system_roots: bool,
    /// Do not trust the built-in public (Mozilla) roots.
    #[arg(long)]
    pub no_public_roots: bool,
    /// Write one JSON object per endpoint (full detail) to FILE.
    #[arg(long, value_name = "FILE")]
    pub jsonl: Option<PathBuf>,
    /// Add the presented chain as PEM to the JSON lines.
    #[arg(long)]
    pub pem: bool,
    /// Write the CSV report (scan report; the compliance report with --inventory).
    #[arg(long, value_name = "FILE.csv")]
    pub report: Option<PathBuf>,
    /// Refuse to start when any target line is bad.
    #[arg(long)]
    pub strict: bool,
    /// No summary on stderr (progress is shown only on a terminal anyway).
    #[arg(long, short = 'q')]
    pub quiet: bool,
    /// CLM inventory export (CERTInext orders report JSON/CSV, or a generic CSV); repeatable.
    #[arg(long, value_name = "FILE")]
    pub inventory: Vec<PathBuf>,
    /// Write one row per certificate identity of the inventory.
    #[arg(long, value_name = "FILE.csv")]
    pub records_report: Option<PathBuf>,
    /// A renewal younger than this is `deployment_pending`, not `renewed_not_deployed`.
    #[arg(long, default_value = "24h", value_parser = duration)]
    pub grace: Duration,
    /// Certificates expiring within this with no renewal are `expiring_soon`.
    #[arg(long, default_value = "30d", value_parser = duration)]
    pub renewal_window: Duration,
    /// Statuses that make the exit code 1 (comma-separated).
    #[arg(
        long,
        value_name = "STATUS,...",
        default_value = "renewed_not_deployed,expired,revoked"
    )]
    pub fail_on: String,
}

/// Options of `certsweep demo`.
#[derive(Debug, Args, Clone)]
pub struct DemoArgs {
    /// Directory for report.csv and records.csv.
    #[arg(long, default_value = ".")]
    pub out: PathBuf,
    /// No summary on stderr.
    #[arg(long, short = 'q')]
    pub quiet: bool,
}
