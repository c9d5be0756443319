//! Command-line interface: what each subcommand accepts.

use crate::engine::starttls::StarttlsChoice;
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;
use std::time::Duration;

fn starttls(s: &str) -> Result<StarttlsChoice, String> {
    StarttlsChoice::parse(s)
}

fn duration(s: &str) -> Result<Duration, String> {
    crate::duration::parse(s)
}

fn timeout(s: &str) -> Result<Duration, String> {
    crate::duration::parse_positive(s)
}

fn port(s: &str) -> Result<u16, String> {
    crate::engine::targets::parse_port(s)
}

/// A count of things in flight: none would never start anything.
fn at_least_one(s: &str) -> Result<usize, String> {
    match s.trim().parse::<usize>() {
        Ok(0) => Err("must be at least 1".into()),
        Ok(n) => Ok(n),
        Err(e) => Err(e.to_string()),
    }
}

/// The most retries accepted: each waits up to 6.4 s, so more would only hold a sweep.
pub const MAX_RETRIES: u32 = 100;

/// certsweep: what do the servers really present, and does it match the CLM records?
#[derive(Debug, Parser)]
#[command(
    name = "certsweep",
    version,
    about,
    long_about = None,
    after_help = "Exit codes: 0 the run found nothing failing; 1 a --fail-on status or finding (scan) or a domain not ready (dcv); 2 usage or input error; 3 the run failed, or certsweep failed on an endpoint or domain (internal_error); 130, 143 or 129 stopped by Ctrl-C, SIGTERM or SIGHUP before its end with nothing failing."
)]
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
    /// Pre-check domain control validation: would HTTP-01, DNS-01 or TLS-ALPN-01 pass for
    /// each domain, the way a CA's validation authority sees it, and if not, why.
    Dcv(Box<DcvArgs>),
}

/// Options of `certsweep scan`.
#[derive(Debug, Args, Clone)]
pub struct ScanArgs {
    /// Target list: plain lines, CSV with a `host` column, or a workbook (.xlsx, .xls, .ods)
    /// with one; `-` for stdin. Without it, the endpoints named by --inventory are scanned.
    #[arg(help_heading = "Targets", long, short = 't', value_name = "FILE")]
    pub targets: Option<String>,
    /// Default port for targets without one; several (`443,8443,636`) scan each such target
    /// on every one of them (with --inventory, a port where a name served on another gave
    /// nothing is `served_on_other_port`).
    #[arg(
        help_heading = "Targets",
        long,
        value_name = "PORT[,PORT...]",
        default_value = "443",
        value_delimiter = ',',
        value_parser = port
    )]
    pub port: Vec<u16>,
    /// DNS server to use instead of the system configuration.
    #[arg(help_heading = "DNS", long, value_name = "IP[:PORT]")]
    pub resolver: Option<String>,
    /// Scan only the first address of each name (default: every A and AAAA answer).
    #[arg(help_heading = "DNS", long)]
    pub first_ip: bool,
    /// Only IPv4 addresses.
    #[arg(help_heading = "DNS", long, conflicts_with = "ipv6_only")]
    pub ipv4_only: bool,
    /// Only IPv6 addresses.
    #[arg(help_heading = "DNS", long)]
    pub ipv6_only: bool,
    /// Endpoints in flight at most (capped by the open-file limit).
    #[arg(help_heading = "Connections", long, short = 'c', default_value_t = 1000, value_parser = at_least_one)]
    pub concurrency: usize,
    /// Connections in flight to any one address (a load balancer serving many names).
    #[arg(help_heading = "Connections", long, default_value_t = 256, value_parser = at_least_one)]
    pub per_address: usize,
    /// Plaintext protocol before TLS: `auto` (by port: 25/587 smtp, 143 imap, 110 pop3,
    /// 21 ftp, 389/3268 ldap, 5222 xmpp, 5269 xmpp-server, 119 nntp, 4190 sieve,
    /// 5432 postgres, 3306 mysql, 3389 rdp; elsewhere, a greeting the server sends instead
    /// of TLS names one), `off`, or one of those protocols (or lmtp) for every endpoint. A
    /// target list's `starttls` column overrides it per target.
    #[arg(help_heading = "Connections", long, default_value = "auto", value_name = "PROTO", value_parser = starttls)]
    pub starttls: StarttlsChoice,
    /// TCP connect timeout (e.g. 3s, 500ms).
    #[arg(help_heading = "Connections", long, default_value = "5s", value_parser = timeout)]
    pub connect_timeout: Duration,
    /// TLS handshake timeout.
    #[arg(help_heading = "Connections", long, default_value = "5s", value_parser = timeout)]
    pub handshake_timeout: Duration,
    /// Time for the plaintext dialogue before TLS on STARTTLS endpoints (mail servers may
    /// hold their greeting back for seconds on purpose).
    #[arg(help_heading = "Connections", long, default_value = "15s", value_parser = timeout)]
    pub starttls_timeout: Duration,
    /// Hard limit per endpoint, retries, the legacy second connection, samples and --dane's
    /// question included (default: enough for every attempt).
    #[arg(help_heading = "Connections", long, value_parser = timeout)]
    pub deadline: Option<Duration>,
    /// Extra attempts after a timeout or reset, with backoff (at most 100).
    #[arg(help_heading = "Connections", long, default_value_t = 0, value_parser = clap::value_parser!(u32).range(..=MAX_RETRIES as i64))]
    pub retries: u32,
    /// Connections to each endpoint that presents a certificate, the first included (at
    /// most 64): behind a load balancer that passes TLS through, each may reach another
    /// node, so a node still serving an old certificate or lacking the intermediate shows
    /// (`backends_differ`), one stapling a stale or wrong OCSP response too (its finding),
    /// and one failing its handshakes or refusing connections (`backends_failing`; a first
    /// connection it failed or refused is sampled past). Each is one more handshake per
    /// endpoint.
    #[arg(help_heading = "More checks", long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=64))]
    pub samples: u32,
    /// Check each named endpoint's certificate against its TLSA records (DANE,
    /// `_PORT._tcp.NAME`): a renewal that changed the key while the record names the old
    /// one breaks DANE-validating clients, such as mail servers sending to an MX
    /// (`dane_mismatch`; records no DANE client uses: `dane_unusable`; a mail server's
    /// records failing DNSSEC validation, so that senders defer: `dane_bogus`). With
    /// --inventory, a renewal not deployed yet whose key, or CA's key, no record pins is
    /// told before it is deployed (`dane_renewal_unpublished`). One more DNS question per
    /// endpoint.
    #[arg(help_heading = "More checks", long)]
    pub dane: bool,
    /// New connections per second, globally (polite sweeps).
    #[arg(help_heading = "Connections", long, value_name = "N")]
    pub rate: Option<f64>,
    /// File of extra trusted CAs (private CAs such as AD CS or emCA): PEM, a binary `.cer`,
    /// a PKCS#7 `.p7b` bundle, a PKCS#12 truststore (its password in the environment
    /// variable CERTSWEEP_PKCS12_PASSWORD) or a JKS one; repeatable, or several files after
    /// one flag (`--ca-file /etc/pki/private-cas/*.pem`).
    #[arg(help_heading = "Trust", long, value_name = "FILE", num_args = 1..)]
    pub ca_file: Vec<PathBuf>,
    /// Also trust the operating system's roots.
    #[arg(help_heading = "Trust", long)]
    pub system_roots: bool,
    /// Do not trust the built-in public (Mozilla) roots.
    #[arg(help_heading = "Trust", long)]
    pub no_public_roots: bool,
    /// Write one JSON object per endpoint (full detail) to FILE.
    #[arg(help_heading = "Output", long, value_name = "FILE")]
    pub jsonl: Option<PathBuf>,
    /// Add the presented chain as PEM to the JSON lines.
    #[arg(help_heading = "Output", long)]
    pub pem: bool,
    /// Ask every endpoint a second time, offering only the other key type (RSA or ECDSA),
    /// for a second certificate: servers holding one of each present the one the client
    /// allows. One more connection per endpoint.
    #[arg(help_heading = "More checks", long)]
    pub both_key_types: bool,
    /// Fetch each leaf's revocation list (its http:// CRL distribution point, and the delta
    /// list it names, once per list for the sweep, redirects followed; signature checked
    /// with the issuer's key, served or trusted) and report revoked
    /// certificates (`crl_revoked`, status `revoked`) and the ones no list could vouch for
    /// (`crl_unavailable`). CRL hosts are resolved as the endpoints' names are (`--resolver`).
    #[arg(help_heading = "More checks", long)]
    pub crl: bool,
    /// Time for one revocation list's download (connect, request and body).
    #[arg(help_heading = "More checks", long, default_value = "30s", value_parser = timeout)]
    pub crl_timeout: Duration,
    /// An earlier sweep's --jsonl (observations or verdicts): each endpoint's certificate is
    /// compared with what it served then (an address not swept then with what the name
    /// served at its others; the second look's certificate with the second look's then);
    /// one issued before that (a deployment rolled back, a restore) is `rolled_back`, and
    /// the summary counts what changed.
    #[arg(help_heading = "More checks", long, value_name = "FILE.jsonl")]
    pub previous: Option<PathBuf>,
    /// Ask each leaf's OCSP responder (its http:// Authority Information Access responder,
    /// by GET, by POST when the URL is long or the GET refused, once per certificate for the
    /// sweep; the answer's signature checked with the
    /// issuer's key, served or trusted, or a responder certificate it signed) and report
    /// revoked certificates (`ocsp_responder_revoked`) and the ones no answer could vouch for
    /// (`ocsp_responder_unavailable`). For CAs that answer OCSP but publish no HTTP list
    /// (AD CS's and EJBCA's responders beside an ldap:// CRL); public CAs' CRLs are `--crl`.
    #[arg(help_heading = "More checks", long)]
    pub ocsp: bool,
    /// Time for one OCSP request (connect, request and answer).
    #[arg(help_heading = "More checks", long, default_value = "10s", value_parser = timeout)]
    pub ocsp_timeout: Duration,
    /// OCSP requests in flight to one responder server (host and port) at most (1 to
    /// 256): a private CA's responder is one server, which a sweep's thousand connections
    /// must not flood.
    #[arg(help_heading = "More checks", long, default_value_t = 16,
          value_parser = clap::value_parser!(u16).range(1..=256))]
    pub ocsp_concurrency: u16,
    /// Write the CSV report (scan report; the compliance report with --inventory).
    #[arg(help_heading = "Output", long, value_name = "FILE.csv")]
    pub report: Option<PathBuf>,
    /// Start the CSV reports with a UTF-8 byte order mark, so that Excel reads their text
    /// (a subject's accents, a label in another script) as UTF-8.
    #[arg(help_heading = "Output", long)]
    pub bom: bool,
    /// Write Prometheus metrics when the sweep ends (node_exporter's textfile collector):
    /// each endpoint's certificate expiry and, with --inventory, its verdict; counts per
    /// status, error class and finding; when the sweep ran.
    #[arg(help_heading = "Output", long, value_name = "FILE.prom")]
    pub metrics: Option<PathBuf>,
    /// Write a JUnit XML report when the sweep ends: one test case per endpoint, failed
    /// when --fail-on matches it, for a CI system's test view (GitLab, Jenkins, Azure DevOps).
    #[arg(help_heading = "Output", long, value_name = "FILE.xml")]
    pub junit: Option<PathBuf>,
    /// Refuse to start when any target line is bad.
    #[arg(help_heading = "Targets", long)]
    pub strict: bool,
    /// Do-not-scan list: addresses, CIDR blocks, ranges (`a-b`), host names and
    /// `*.domain` never connected to, whatever the targets or records name; or a
    /// spreadsheet (CSV or workbook) with such columns; repeatable, or several files after
    /// one flag. A bad line stops the run.
    #[arg(help_heading = "Targets", long, value_name = "FILE", num_args = 1..)]
    pub exclude: Vec<PathBuf>,
    /// No summary on stderr (progress is shown only on a terminal anyway).
    #[arg(help_heading = "Output", long, short = 'q')]
    pub quiet: bool,
    /// CLM inventory export (CERTInext orders report JSON/CSV, another CLM's CSV or JSON, a
    /// workbook from "Export to Excel", a certificate PEM, DER, `.p7b`, a Java KeyStore or a
    /// PKCS#12 store with its password in CERTSWEEP_PKCS12_PASSWORD; `-` for stdin);
    /// repeatable, or several files after one flag (a shell glob: `--inventory pages/*.json`).
    #[arg(
        help_heading = "Records, verdicts and exit code",
        long,
        value_name = "FILE",
        num_args = 1..
    )]
    pub inventory: Vec<PathBuf>,
    /// TOML map for an export no built-in profile knows: column to field, serial base,
    /// date order and format, status words (see README).
    #[arg(
        help_heading = "Records, verdicts and exit code",
        long,
        value_name = "FILE.toml"
    )]
    pub inventory_map: Option<PathBuf>,
    /// Write one row per certificate identity of the inventory.
    #[arg(
        help_heading = "Records, verdicts and exit code",
        long,
        value_name = "FILE.csv"
    )]
    pub records_report: Option<PathBuf>,
    /// Records of different groups (CERTInext groupNumber, a Group column) are never one
    /// identity by their names alone: business units that each buy a certificate for a
    /// shared name. Renewal links and identity ids still join across groups.
    #[arg(help_heading = "Records, verdicts and exit code", long)]
    pub separate_groups: bool,
    /// A renewal younger than this (from the later of its notBefore and order date) is
    /// `deployment_pending`, not `renewed_not_deployed`, unless the served certificate has
    /// expired.
    #[arg(help_heading = "Records, verdicts and exit code", long, default_value = "24h", value_parser = duration)]
    pub grace: Duration,
    /// Certificates expiring within this with no renewal are `expiring_soon` (default: 30
    /// days, or a third of a certificate's lifetime when that is shorter, where ACME clients
    /// and cert-manager renew).
    #[arg(help_heading = "Records, verdicts and exit code", long, value_parser = duration)]
    pub renewal_window: Option<Duration>,
    /// Statuses and findings that make the exit code 1 (comma-separated), e.g.
    /// partial_rollout or incomplete_chain. With --inventory, default
    /// renewed_not_deployed,expired,revoked; without records only expired, untrusted,
    /// hostname_mismatch, expiring_soon, unreachable, revoked (by a stapled OCSP response)
    /// and the trust findings can be told.
    #[arg(
        help_heading = "Records, verdicts and exit code",
        long,
        value_name = "STATUS|FINDING,..."
    )]
    pub fail_on: Option<String>,
    /// While --fail-on matches, sweep again (every 10s, more often for a short wait) until
    /// it no longer does or this much time has passed: a pipeline's check after a
    /// deployment, giving the nodes time to reload. The last sweep's reports and exit code
    /// are the run's.
    #[arg(help_heading = "Records, verdicts and exit code", long, value_name = "DURATION", value_parser = timeout)]
    pub wait: Option<Duration>,
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

/// Options of `certsweep dcv`.
#[derive(Debug, Args, Clone)]
pub struct DcvArgs {
    /// Domains: one a line, or CSV (or a workbook: .xlsx, .xls, .ods) with a `domain` header
    /// and optionally `method`, `token`, `expected`; `-` for stdin.
    #[arg(long, short = 'd', value_name = "FILE")]
    pub domains: Option<String>,
    /// Check the names of these CLM records (with their DCV method column when present;
    /// `-` for stdin); repeatable, or several files after one flag (a shell glob).
    #[arg(long, value_name = "FILE", num_args = 1..)]
    pub inventory: Vec<PathBuf>,
    /// TOML map for reading --inventory exports no built-in profile knows.
    #[arg(long, value_name = "FILE.toml")]
    pub inventory_map: Option<PathBuf>,
    /// Method for rows that name none: http-01, dns-01, tls-alpn-01, dns-persist-01, or all
    /// (the first three).
    #[arg(long, short = 'm', default_value = "http-01")]
    pub method: String,
    /// The CA's CAA issuer domain (letsencrypt.org, digicert.com, emsign.com); repeatable.
    /// Without it, CAA records are reported, not judged.
    #[arg(long, value_name = "NAME")]
    pub ca_domain: Vec<String>,
    /// The ACME account URI that will order, to judge CAA `accounturi` and a dns-persist-01
    /// record's `accounturi` (a row's `expected` column overrides it for that row).
    #[arg(long, value_name = "URI")]
    pub account_uri: Option<String>,
    /// Recursive DNS server to use instead of the system configuration.
    #[arg(long, value_name = "IP[:PORT]")]
    pub resolver: Option<String>,
    /// Port HTTP-01 is fetched on (a CA uses 80).
    #[arg(long, default_value_t = 80, value_parser = port)]
    pub http_port: u16,
    /// Port of https:// redirects and TLS-ALPN-01 (a CA uses 443).
    #[arg(long, default_value_t = 443, value_parser = port)]
    pub tls_port: u16,
    /// Port authoritative nameservers are asked on (53).
    #[arg(long, default_value_t = 53, value_parser = port)]
    pub ns_port: u16,
    /// Connect timeout for HTTP and TLS probes (CAs use 10s).
    #[arg(long, default_value = "10s", value_parser = timeout)]
    pub timeout: Duration,
    /// Timeout of one DNS query.
    #[arg(long, default_value = "5s", value_parser = timeout)]
    pub dns_timeout: Duration,
    /// Hard limit per domain and method.
    #[arg(long, default_value = "60s", value_parser = timeout)]
    pub deadline: Duration,
    /// Domains checked at once.
    #[arg(long, short = 'c', default_value_t = 200, value_parser = at_least_one)]
    pub concurrency: usize,
    /// Probes in flight to any one address or nameserver.
    #[arg(long, default_value_t = 8, value_parser = at_least_one)]
    pub per_address: usize,
    /// Do-not-scan list (as `scan --exclude`): names on it are not checked, and addresses
    /// on it (of a name, of a redirect's target, of an authoritative nameserver) not
    /// probed; each is said as a check that could not be made. Repeatable, or several
    /// files after one flag; a bad line stops the run.
    #[arg(long, value_name = "FILE", num_args = 1..)]
    pub exclude: Vec<PathBuf>,
    /// Accept private and reserved addresses and names outside the public suffix list (a
    /// private CA that validates inside your network).
    #[arg(long)]
    pub allow_private: bool,
    /// Write the CSV report: one row per domain and method.
    #[arg(long, value_name = "FILE.csv")]
    pub report: Option<PathBuf>,
    /// Write one JSON object per domain and method (every check and all evidence).
    #[arg(long, value_name = "FILE")]
    pub jsonl: Option<PathBuf>,
    /// Start the CSV report with a UTF-8 byte order mark, so that Excel reads its text as
    /// UTF-8.
    #[arg(long)]
    pub bom: bool,
    /// Write a JUnit XML report when the run ends: one test case per domain and method,
    /// failed when not ready, skipped when unknown, for a CI system's test view.
    #[arg(long, value_name = "FILE.xml")]
    pub junit: Option<PathBuf>,
    /// No summary on stderr.
    #[arg(long, short = 'q')]
    pub quiet: bool,
    /// While a domain is not ready, check again (every 10s, more often for a short wait)
    /// until all are or this much time has passed: a pipeline waiting for a TXT record to
    /// reach every nameserver before it asks the CA. The last run's reports and exit code
    /// are the run's.
    #[arg(long, value_name = "DURATION", value_parser = timeout)]
    pub wait: Option<Duration>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan(args: &[&str]) -> Result<ScanArgs, String> {
        let argv = ["certsweep", "scan"].iter().chain(args.iter());
        match Cli::try_parse_from(argv)
            .map_err(|e| e.to_string())?
            .command
        {
            Command::Scan(a) => Ok(*a),
            other => Err(format!("parsed as {other:?}")),
        }
    }

    #[test]
    fn values_no_sweep_can_use_are_usage_errors() {
        // Each of these used to start a sweep that panicked (huge durations added to the
        // clock) or could not connect anywhere (port 0, zero timeouts).
        for (args, says) in [
            (&["--port", "0"][..], "bad port"),
            (&["--connect-timeout", "0s"], "longer than zero"),
            (&["--handshake-timeout", "0"], "longer than zero"),
            (&["--deadline", "99999999999999999999999"], "too long"),
            (&["--connect-timeout", "9999999999999999999"], "too long"),
            (&["--grace", "99999999999999999d"], "too long"),
            (&["--retries", "101"], "101"),
            (&["--retries", "4294967295"], "4294967295"),
            // --per-address 0 was taken for 1 without a word.
            (&["--per-address", "0"], "at least 1"),
            (&["--concurrency", "0"], "at least 1"),
        ] {
            let e = scan(args).expect_err(&format!("{args:?} was accepted"));
            assert!(e.contains(says), "{args:?}: {e}");
        }
        let ok = scan(&["--port", "8443", "--retries", "100", "--grace", "0s"]).unwrap();
        assert_eq!(
            (ok.port, ok.retries, ok.grace),
            (vec![8443], 100, Duration::ZERO)
        );
        assert_eq!(scan(&[]).unwrap().port, [443]);
        assert_eq!(scan(&["--port", "443,8443"]).unwrap().port, [443, 8443]);
        let e = scan(&["--port", "443,0"]).expect_err("port 0 accepted");
        assert!(e.contains("bad port \"0\""), "{e}");
    }

    #[test]
    fn a_rate_the_clock_cannot_hold_is_a_usage_error() {
        // 1e-300 per second used to panic when the interval between turns was made.
        for rate in ["1e-300", "0.0009", "inf", "NaN", "0"] {
            let args = scan(&["--rate", rate]).unwrap();
            match crate::scan::build_engine(&args) {
                Err(crate::Error::Usage(m)) => assert!(m.contains("at least 0.001"), "{m}"),
                Err(e) => panic!("--rate {rate}: {e}"),
                Ok(_) => panic!("--rate {rate} was accepted"),
            }
        }
    }

    #[test]
    fn dcv_ports_and_timeouts_are_checked_too() {
        for args in [
            &["--http-port", "0"][..],
            &["--ns-port", "0"],
            &["--dns-timeout", "0ms"],
            &["--deadline", "4000d"],
            &["--per-address", "0"],
            &["--concurrency", "0"],
        ] {
            let argv = ["certsweep", "dcv"].iter().chain(args.iter());
            assert!(Cli::try_parse_from(argv).is_err(), "{args:?} was accepted");
        }
    }
}
