//! Prometheus metrics (`scan --metrics FILE.prom`), in the text format node_exporter's
//! textfile collector reads: a nightly sweep's results where the monitoring already
//! alerts (an endpoint's certificate expiring, endpoints serving a renewed-but-undeployed
//! certificate, a sweep that did not run or was cut short).
//!
//! Per-endpoint samples go to unnamed temporary files as the endpoints finish (memory does
//! not grow with the fleet); the file is written when the sweep ends, a stopped one too,
//! under a temporary name in its directory and then renamed, so the collector never reads
//! half a file.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufWriter, Seek, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// One endpoint, as the metrics see it.
#[derive(Debug, Clone, Copy, Default)]
pub struct EndpointSample<'a> {
    /// The name asked for (or the address).
    pub name: &'a str,
    /// The address connected to, if any.
    pub address: Option<std::net::IpAddr>,
    /// The port.
    pub port: u16,
    /// The served certificate's serial and notAfter (Unix seconds), when one was captured.
    pub certificate: Option<(&'a str, i64)>,
    /// The other certificates other connections got (`--samples`: the nodes behind the
    /// address), serial and notAfter: a node left behind expires first.
    pub others: &'a [(&'a str, i64)],
    /// Its verdict's status and the serial it should serve, with `--inventory`.
    pub verdict: Option<(&'a str, Option<&'a str>)>,
    /// The error class, when no certificate was captured.
    pub error_class: Option<&'a str>,
    /// Its findings (trust, and the verdict's with `--inventory`).
    pub findings: &'a [&'a str],
}

/// Writes a sweep's metrics.
#[derive(Debug)]
pub struct MetricsOut {
    path: PathBuf,
    expiry: BufWriter<File>,
    status: BufWriter<File>,
    verdicts: bool,
    endpoints: u64,
    statuses: BTreeMap<String, u64>,
    errors: BTreeMap<String, u64>,
    findings: BTreeMap<String, u64>,
}

impl MetricsOut {
    /// Metrics to be written to `path` (`-`: standard output) when the sweep ends; `verdicts`
    /// when endpoints are judged against records.
    pub fn new(path: &Path, verdicts: bool) -> io::Result<MetricsOut> {
        Ok(MetricsOut {
            path: path.to_path_buf(),
            expiry: BufWriter::new(tempfile::tempfile()?),
            status: BufWriter::new(tempfile::tempfile()?),
            verdicts,
            endpoints: 0,
            statuses: BTreeMap::new(),
            errors: BTreeMap::new(),
            findings: BTreeMap::new(),
        })
    }

    /// Adds one endpoint.
    pub fn endpoint(&mut self, e: &EndpointSample<'_>) -> io::Result<()> {
        self.endpoints += 1;
        let address = e.address.map(|a| a.to_string()).unwrap_or_default();
        let place = format!(
            "name=\"{}\",address=\"{}\",port=\"{}\"",
            label(e.name),
            label(&address),
            e.port
        );
        for (serial, not_after) in e.certificate.iter().chain(e.others) {
            writeln!(
                self.expiry,
                "certsweep_certificate_expiry_timestamp_seconds{{{place},serial=\"{}\"}} {not_after}",
                label(serial)
            )?;
        }
        if let Some((status, expected)) = e.verdict {
            *self.statuses.entry(status.to_string()).or_default() += 1;
            writeln!(
                self.status,
                "certsweep_endpoint_status{{{place},status=\"{}\",serial=\"{}\",expected_serial=\"{}\"}} 1",
                label(status),
                label(e.certificate.map(|c| c.0).unwrap_or_default()),
                label(expected.unwrap_or_default())
            )?;
        }
        if let Some(class) = e.error_class {
            *self.errors.entry(class.to_string()).or_default() += 1;
        }
        for f in e.findings {
            *self.findings.entry((*f).to_string()).or_default() += 1;
        }
        Ok(())
    }

    /// Writes the file: the sweep that started at `start_unix` and ran `duration`,
    /// `interrupted` when it was stopped before its end.
    pub fn finish(self, start_unix: i64, duration: Duration, interrupted: bool) -> io::Result<()> {
        let MetricsOut {
            path,
            expiry,
            status,
            verdicts,
            endpoints,
            statuses,
            errors,
            findings,
        } = self;
        let mut out: Vec<u8> = Vec::new();
        let family = |out: &mut Vec<u8>, name: &str, help: &str| {
            writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge")
        };
        family(
            &mut out,
            "certsweep_sweep_start_timestamp_seconds",
            "When the last sweep started.",
        )?;
        writeln!(out, "certsweep_sweep_start_timestamp_seconds {start_unix}")?;
        family(
            &mut out,
            "certsweep_sweep_duration_seconds",
            "How long the last sweep ran.",
        )?;
        writeln!(
            out,
            "certsweep_sweep_duration_seconds {:.3}",
            duration.as_secs_f64()
        )?;
        family(
            &mut out,
            "certsweep_sweep_interrupted",
            "1 when the last sweep was stopped before its end (its endpoints are not all here).",
        )?;
        writeln!(out, "certsweep_sweep_interrupted {}", u8::from(interrupted))?;
        family(&mut out, "certsweep_endpoints", "Endpoints swept.")?;
        writeln!(out, "certsweep_endpoints {endpoints}")?;
        let counted = |out: &mut Vec<u8>, name: &str, key: &str, counts: &BTreeMap<String, u64>| {
            for (k, n) in counts {
                writeln!(out, "{name}{{{key}=\"{}\"}} {n}", label(k))?;
            }
            Ok::<_, io::Error>(())
        };
        if verdicts {
            family(
                &mut out,
                "certsweep_endpoints_by_status",
                "Endpoints by their verdict against the records.",
            )?;
            counted(
                &mut out,
                "certsweep_endpoints_by_status",
                "status",
                &statuses,
            )?;
        }
        family(
            &mut out,
            "certsweep_endpoints_without_certificate",
            "Endpoints that presented no certificate, by error class.",
        )?;
        counted(
            &mut out,
            "certsweep_endpoints_without_certificate",
            "class",
            &errors,
        )?;
        family(
            &mut out,
            "certsweep_endpoints_with_finding",
            "Endpoints with each finding.",
        )?;
        counted(
            &mut out,
            "certsweep_endpoints_with_finding",
            "finding",
            &findings,
        )?;
        family(
            &mut out,
            "certsweep_certificate_expiry_timestamp_seconds",
            "notAfter of each certificate each endpoint presented (with --samples, every node's).",
        )?;
        let mut expiry = expiry.into_inner().map_err(|e| e.into_error())?;
        expiry.rewind()?;
        io::copy(&mut expiry, &mut out)?;
        if verdicts {
            family(
                &mut out,
                "certsweep_endpoint_status",
                "Each endpoint's verdict against the records (1), with the serial it serves and the one it should.",
            )?;
            let mut status = status.into_inner().map_err(|e| e.into_error())?;
            status.rewind()?;
            io::copy(&mut status, &mut out)?;
        }
        if path.as_os_str() == "-" {
            let mut stdout = io::stdout().lock();
            stdout.write_all(&out)?;
            return stdout.flush();
        }
        // Renamed into place: the collector reads the old file or the new one, never half.
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        // Readable as a file made with File::create would be (0666 less the umask), not
        // 0600 as a temporary file is: node_exporter reads it as another user.
        let mut builder = tempfile::Builder::new();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            builder.permissions(std::fs::Permissions::from_mode(0o666));
        }
        let mut tmp = builder.tempfile_in(dir)?;
        tmp.write_all(&out)?;
        tmp.as_file().sync_all()?;
        tmp.persist(&path).map_err(|e| e.error)?;
        Ok(())
    }
}

/// A label value as the text format writes it: backslash, double quote and line feed
/// escaped.
fn label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_and_counts_in_the_text_format_renamed_into_place() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("certsweep.prom");
        std::fs::write(&path, "old").expect("old file");
        let mut m = MetricsOut::new(&path, true).expect("new");
        m.endpoint(&EndpointSample {
            name: "www.x.com",
            address: Some([10, 0, 0, 5].into()),
            port: 443,
            certificate: Some(("0A", 1_800_000_000)),
            others: &[("09", 1_790_000_000)],
            verdict: Some(("renewed_not_deployed", Some("0B"))),
            error_class: None,
            findings: &["partial_rollout"],
        })
        .expect("endpoint");
        m.endpoint(&EndpointSample {
            name: "we\"ird\\name",
            address: None,
            port: 443,
            certificate: None,
            others: &[],
            verdict: Some(("unreachable", None)),
            error_class: Some("dns_nxdomain"),
            findings: &[],
        })
        .expect("endpoint");
        m.finish(1_764_560_000, Duration::from_millis(1500), false)
            .expect("finish");
        let text = std::fs::read_to_string(&path).expect("written");
        for line in [
            "certsweep_sweep_start_timestamp_seconds 1764560000",
            "certsweep_sweep_duration_seconds 1.500",
            "certsweep_sweep_interrupted 0",
            "certsweep_endpoints 2",
            "certsweep_endpoints_by_status{status=\"renewed_not_deployed\"} 1",
            "certsweep_endpoints_by_status{status=\"unreachable\"} 1",
            "certsweep_endpoints_without_certificate{class=\"dns_nxdomain\"} 1",
            "certsweep_endpoints_with_finding{finding=\"partial_rollout\"} 1",
            "certsweep_certificate_expiry_timestamp_seconds{name=\"www.x.com\",address=\"10.0.0.5\",port=\"443\",serial=\"0A\"} 1800000000",
            "certsweep_certificate_expiry_timestamp_seconds{name=\"www.x.com\",address=\"10.0.0.5\",port=\"443\",serial=\"09\"} 1790000000",
            "certsweep_endpoint_status{name=\"www.x.com\",address=\"10.0.0.5\",port=\"443\",status=\"renewed_not_deployed\",serial=\"0A\",expected_serial=\"0B\"} 1",
            "certsweep_endpoint_status{name=\"we\\\"ird\\\\name\",address=\"\",port=\"443\",status=\"unreachable\",serial=\"\",expected_serial=\"\"} 1",
        ] {
            assert!(text.lines().any(|l| l == line), "{line}\n{text}");
        }
        // Each family's samples follow its one HELP and TYPE.
        let types: Vec<&str> = text.lines().filter(|l| l.starts_with("# TYPE")).collect();
        assert_eq!(types.len(), 9, "{text}");
        let mut seen = std::collections::HashSet::new();
        let mut current = "";
        for l in text.lines() {
            if let Some(rest) = l.strip_prefix("# TYPE ") {
                current = rest.split(' ').next().unwrap_or_default();
                assert!(seen.insert(current.to_string()), "{current} twice");
            } else if !l.starts_with('#') {
                assert!(l.starts_with(current), "{l} outside {current}");
            }
        }
        // Nothing left beside it in the directory.
        assert_eq!(std::fs::read_dir(dir.path()).expect("dir").count(), 1);
        // As readable as any file made here (the collector reads it as another user).
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let plain = dir.path().join("plain");
            std::fs::File::create(&plain).expect("plain file");
            let mode = |p: &Path| std::fs::metadata(p).expect("meta").permissions().mode();
            assert_eq!(mode(&path), mode(&plain));
        }
    }
}
