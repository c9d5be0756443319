//! JUnit XML (`--junit FILE`): for `scan` one test case per endpoint, failed when
//! `--fail-on` matches it, and one in error per target line that could not be used; for
//! `dcv` one per domain and method, failed when not ready and skipped when the checks
//! could not say. For the test-report views of the CI systems a
//! pipeline's checks run in (GitLab's `artifacts:reports:junit`, Jenkins, Azure DevOps,
//! GitHub Actions' reporters).
//!
//! The suite's element carries its counts before its cases, which are known only at the
//! end: the cases go to an unnamed temporary file as the endpoints finish (memory stays
//! bounded by nothing per endpoint), and the file is written whole when the sweep ends,
//! also when it was stopped early.

use quick_xml::events::{BytesCData, BytesDecl, BytesEnd, BytesStart, BytesText, Event};
use quick_xml::Writer;
use std::fs::File;
use std::io::{self, BufWriter, Seek, Write};
use std::time::Duration;

/// One endpoint as a test case.
#[derive(Debug, Clone, PartialEq)]
pub struct JunitCase {
    /// What reports group cases by: the name asked for (or the address).
    pub classname: String,
    /// The endpoint: the name and where (`www.example.com 10.0.0.5:443`).
    pub name: String,
    /// Its DNS, connect and handshake time.
    pub time: Duration,
    /// Why it fails, when `--fail-on` matches it (`scan`), or it would not pass (`dcv`).
    pub failure: Option<JunitFailure>,
    /// Why it was not judged (a `dcv` check that could not be carried out).
    pub skipped: Option<String>,
    /// What it serves, in words (the case's standard output).
    pub out: String,
}

/// A failed case's failure.
#[derive(Debug, Clone, PartialEq)]
pub struct JunitFailure {
    /// The `--fail-on` words it meets, `, `-separated.
    pub message: String,
    /// Its status (the first word).
    pub kind: String,
    /// The detail and the next step.
    pub text: String,
}

/// Writes the JUnit report of a sweep.
pub struct JunitOut<W: Write> {
    out: W,
    cases: Writer<BufWriter<File>>,
    tests: u64,
    failures: u64,
    skipped: u64,
    errors: u64,
}

impl<W: Write> std::fmt::Debug for JunitOut<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JunitOut")
            .field("tests", &self.tests)
            .field("failures", &self.failures)
            .finish_non_exhaustive()
    }
}

impl<W: Write> JunitOut<W> {
    /// A report to be written to `out` when [`JunitOut::finish`] is called.
    pub fn new(out: W) -> io::Result<Self> {
        Ok(JunitOut {
            out,
            cases: Writer::new_with_indent(BufWriter::new(tempfile::tempfile()?), b' ', 4),
            tests: 0,
            failures: 0,
            skipped: 0,
            errors: 0,
        })
    }

    /// Adds one endpoint's case.
    pub fn case(&mut self, c: &JunitCase) -> io::Result<()> {
        self.tests += 1;
        self.failures += u64::from(c.failure.is_some());
        self.skipped += u64::from(c.skipped.is_some());
        let mut start = BytesStart::new("testcase");
        start.push_attribute(("classname", xml_text(&c.classname).as_str()));
        start.push_attribute(("name", xml_text(&c.name).as_str()));
        start.push_attribute(("time", seconds(c.time).as_str()));
        self.cases.write_event(Event::Start(start))?;
        if let Some(f) = &c.failure {
            let mut failure = BytesStart::new("failure");
            failure.push_attribute(("message", xml_text(&f.message).as_str()));
            failure.push_attribute(("type", xml_text(&f.kind).as_str()));
            self.cases.write_event(Event::Start(failure))?;
            self.cases
                .write_event(Event::Text(BytesText::new(&xml_text(&f.text))))?;
            self.cases
                .write_event(Event::End(BytesEnd::new("failure")))?;
        }
        if let Some(why) = &c.skipped {
            let mut skipped = BytesStart::new("skipped");
            skipped.push_attribute(("message", xml_text(why).as_str()));
            self.cases.write_event(Event::Empty(skipped))?;
        }
        if !c.out.is_empty() {
            self.cases
                .write_event(Event::Start(BytesStart::new("system-out")))?;
            self.cases
                .write_event(Event::Text(BytesText::new(&xml_text(&c.out))))?;
            self.cases
                .write_event(Event::End(BytesEnd::new("system-out")))?;
        }
        self.cases
            .write_event(Event::End(BytesEnd::new("testcase")))?;
        Ok(())
    }

    /// Adds an input line that could not be used (a target list's), as an errored case
    /// named by its file and line: nothing was checked for it.
    pub fn bad_input(&mut self, e: &crate::model::LineError) -> io::Result<()> {
        self.tests += 1;
        self.errors += 1;
        let name = format!("{}:{}", e.file, e.line);
        let mut start = BytesStart::new("testcase");
        start.push_attribute(("classname", xml_text(&e.file).as_str()));
        start.push_attribute(("name", xml_text(&name).as_str()));
        start.push_attribute(("time", "0.000"));
        self.cases.write_event(Event::Start(start))?;
        let mut error = BytesStart::new("error");
        error.push_attribute(("message", xml_text(&e.to_string()).as_str()));
        error.push_attribute(("type", "bad_input"));
        self.cases.write_event(Event::Empty(error))?;
        self.cases
            .write_event(Event::End(BytesEnd::new("testcase")))?;
        Ok(())
    }

    /// Writes the report: the suite `suite`, started at `timestamp` (RFC 3339) and run for
    /// `duration`, with every case added, and `note` (what the summary says) as its
    /// standard error.
    pub fn finish(
        self,
        suite: &str,
        timestamp: &str,
        duration: Duration,
        note: &str,
    ) -> io::Result<()> {
        let JunitOut {
            out,
            cases,
            tests,
            failures,
            skipped,
            errors,
            ..
        } = self;
        let mut cases = cases
            .into_inner()
            .into_inner()
            .map_err(|e| e.into_error())?;
        cases.rewind()?;
        let mut w = Writer::new_with_indent(out, b' ', 2);
        w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
        let (tests, failures, time) = (tests.to_string(), failures.to_string(), seconds(duration));
        let errors = errors.to_string();
        let skipped = skipped.to_string();
        let mut all = BytesStart::new("testsuites");
        all.push_attribute(("name", "certsweep"));
        all.push_attribute(("tests", tests.as_str()));
        all.push_attribute(("failures", failures.as_str()));
        all.push_attribute(("errors", errors.as_str()));
        all.push_attribute(("skipped", skipped.as_str()));
        all.push_attribute(("time", time.as_str()));
        w.write_event(Event::Start(all))?;
        let mut one = BytesStart::new("testsuite");
        one.push_attribute(("name", xml_text(suite).as_str()));
        one.push_attribute(("tests", tests.as_str()));
        one.push_attribute(("failures", failures.as_str()));
        one.push_attribute(("errors", errors.as_str()));
        one.push_attribute(("skipped", skipped.as_str()));
        one.push_attribute(("timestamp", xml_text(timestamp).as_str()));
        one.push_attribute(("time", time.as_str()));
        w.write_event(Event::Start(one))?;
        let mut out = w.into_inner();
        out.write_all(b"\n")?;
        io::copy(&mut cases, &mut out)?;
        let mut w = Writer::new_with_indent(out, b' ', 2);
        if !note.is_empty() {
            w.write_event(Event::Start(BytesStart::new("system-err")))?;
            w.write_event(Event::CData(BytesCData::new(
                xml_text(note).replace("]]>", "]] >"),
            )))?;
            w.write_event(Event::End(BytesEnd::new("system-err")))?;
        }
        w.write_event(Event::End(BytesEnd::new("testsuite")))?;
        w.write_event(Event::End(BytesEnd::new("testsuites")))?;
        let mut out = w.into_inner();
        out.write_all(b"\n")?;
        out.flush()
    }
}

/// Seconds with millisecond precision, as JUnit's `time` attributes hold them.
fn seconds(d: Duration) -> String {
    format!("{:.3}", d.as_secs_f64())
}

/// `s` with what XML 1.0 cannot hold even escaped (control characters other than tab and
/// line ends, U+FFFE, U+FFFF) replaced by U+FFFD; a certificate's names may carry them.
fn xml_text(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '\t' | '\n' | '\r' => c,
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => '\u{FFFD}',
            c => c,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cases_come_after_the_counts_they_add_up_to_and_text_is_escaped() {
        let mut out = Vec::new();
        let mut j = JunitOut::new(&mut out).expect("tempfile");
        j.case(&JunitCase {
            classname: "www.x.com".into(),
            name: "www.x.com 10.0.0.5:443".into(),
            time: Duration::from_millis(12),
            failure: None,
            skipped: None,
            out: "current: serial 0A".into(),
        })
        .expect("case");
        j.case(&JunitCase {
            classname: "old.x.com".into(),
            name: "old.x.com 10.0.0.6:443".into(),
            time: Duration::from_millis(3),
            failure: Some(JunitFailure {
                message: "renewed_not_deployed, expired".into(),
                kind: "renewed_not_deployed".into(),
                text: "serial <01> & CN=\"a\u{1}b\"\nNext step: deploy".into(),
            }),
            skipped: None,
            out: String::new(),
        })
        .expect("case");
        j.case(&JunitCase {
            classname: "dns.x.com".into(),
            name: "dns.x.com dns-01".into(),
            time: Duration::ZERO,
            failure: None,
            skipped: Some("a nameserver did not answer".into()),
            out: String::new(),
        })
        .expect("case");
        j.finish(
            "targets.txt",
            "2026-12-01T05:00:00Z",
            Duration::from_secs(2),
            "2 endpoints",
        )
        .expect("finish");
        let xml = String::from_utf8(out).expect("utf-8");
        assert!(
            xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>"),
            "{xml}"
        );
        assert!(
            xml.contains("<testsuite name=\"targets.txt\" tests=\"3\" failures=\"1\" errors=\"0\" skipped=\"1\" timestamp=\"2026-12-01T05:00:00Z\" time=\"2.000\">"),
            "{xml}"
        );
        assert!(
            xml.contains(
                "<testcase classname=\"www.x.com\" name=\"www.x.com 10.0.0.5:443\" time=\"0.012\">"
            ),
            "{xml}"
        );
        assert!(
            xml.contains("<failure message=\"renewed_not_deployed, expired\" type=\"renewed_not_deployed\">serial &lt;01&gt; &amp; CN=&quot;a\u{FFFD}b&quot;\nNext step: deploy</failure>"),
            "{xml}"
        );
        assert!(
            xml.contains("<skipped message=\"a nameserver did not answer\"/>"),
            "{xml}"
        );
        assert!(
            xml.contains("<system-err><![CDATA[2 endpoints]]></system-err>"),
            "{xml}"
        );
        assert!(xml.trim_end().ends_with("</testsuites>"), "{xml}");
        // Well-formed: an XML reader reads it to its end.
        let mut r = quick_xml::Reader::from_str(&xml);
        let mut depth = 0i32;
        loop {
            match r.read_event().expect("well-formed") {
                Event::Start(_) => depth += 1,
                Event::End(_) => depth -= 1,
                Event::Eof => break,
                _ => {}
            }
        }
        assert_eq!(depth, 0);
    }
}
