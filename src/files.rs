//! Report files: where each goes (a file, or standard output for `-`), and the rules that
//! keep them apart from each other and from the inputs, shared by `scan` and `dcv`.

use crate::report::csv::CsvOut;
use crate::Error;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

/// Where a report goes: a file, or standard output for `-` (so a pipeline can read it).
pub type Output = BufWriter<Box<dyn Write + Send>>;

/// Standard input can feed one input only: the target list, or one inventory.
pub fn one_stdin<'a>(inputs: impl IntoIterator<Item = (&'a str, &'a Path)>) -> Result<(), Error> {
    at_most_one_dash(
        inputs.into_iter().map(|(flag, p)| (flag, Some(p))),
        "read standard input; give all but one as files",
    )
}

/// Refuses two reports on standard output (they would interleave).
pub fn one_stdout<'a>(
    outputs: impl IntoIterator<Item = (&'a str, Option<&'a Path>)>,
) -> Result<(), Error> {
    at_most_one_dash(
        outputs,
        "write to standard output; send all but one to files",
    )
}

/// Refuses an output file that is another output or one of the inputs: two reports in one
/// file garble each other, and creating a report over an input (`--report hosts.txt`)
/// emptied the list before it was read. Standard output and devices (`/dev/null` for
/// both) are left alone.
pub fn distinct_files<'a>(
    outputs: impl IntoIterator<Item = (&'a str, Option<&'a Path>)>,
    inputs: impl IntoIterator<Item = (&'a str, &'a Path)>,
) -> Result<(), Error> {
    let outputs: Vec<(&str, &Path)> = outputs
        .into_iter()
        .filter_map(|(flag, p)| p.map(|p| (flag, p)))
        .filter(|(_, p)| p.as_os_str() != "-" && is_file_or_new(p))
        .collect();
    let inputs: Vec<(&str, &Path)> = inputs
        .into_iter()
        .filter(|(_, p)| p.as_os_str() != "-")
        .collect();
    for (i, (flag, out)) in outputs.iter().enumerate() {
        if let Some((other, _)) = outputs[..i].iter().find(|(_, o)| same_file(o, out)) {
            return Err(Error::Usage(format!(
                "{other} and {flag} name one file, {}: each needs its own",
                out.display()
            )));
        }
        if let Some((input, _)) = inputs.iter().find(|(_, p)| same_file(p, out)) {
            return Err(Error::Usage(format!(
                "{flag} {} is the {input} file: writing it would destroy what is to be read; name another file",
                out.display()
            )));
        }
    }
    Ok(())
}

/// A regular file, or none yet.
fn is_file_or_new(p: &Path) -> bool {
    std::fs::metadata(p).map_or(true, |m| m.is_file())
}

/// Whether `a` and `b` are one file: the same file on disk (a hard link too), or, for a
/// file not there yet, the same path written two ways (`x.csv`, `./x.csv`).
fn same_file(a: &Path, b: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        if let (Ok(x), Ok(y)) = (std::fs::metadata(a), std::fs::metadata(b)) {
            return x.dev() == y.dev() && x.ino() == y.ino();
        }
    }
    let resolved = |p: &Path| -> Option<std::path::PathBuf> {
        std::fs::canonicalize(p).ok().or_else(|| {
            let parent = match p.parent() {
                Some(d) if !d.as_os_str().is_empty() => d,
                _ => Path::new("."),
            };
            Some(std::fs::canonicalize(parent).ok()?.join(p.file_name()?))
        })
    };
    a == b || resolved(a).is_some_and(|x| resolved(b) == Some(x))
}

/// A usage error naming the flags given `-` when there is more than one of them.
fn at_most_one_dash<'a>(
    flags: impl IntoIterator<Item = (&'a str, Option<&'a Path>)>,
    would: &str,
) -> Result<(), Error> {
    let dashes: Vec<String> = flags
        .into_iter()
        .filter(|(_, p)| p.is_some_and(|p| p.as_os_str() == "-"))
        .map(|(flag, _)| format!("{flag} -"))
        .collect();
    if dashes.len() > 1 {
        return Err(Error::Usage(format!(
            "{} would all {would}",
            dashes.join(" and ")
        )));
    }
    Ok(())
}

/// Opens a report destination; `-` is standard output.
pub fn create(path: &Path) -> Result<Output, Error> {
    let w: Box<dyn Write + Send> = if path.as_os_str() == "-" {
        Box::new(std::io::stdout())
    } else {
        Box::new(
            File::create(path)
                .map_err(|e| Error::Runtime(format!("cannot create {}: {e}", path.display())))?,
        )
    };
    Ok(BufWriter::with_capacity(64 * 1024, w))
}

/// A CSV report at `path` with `columns`, started with a byte order mark when `bom`.
pub fn csv_out(
    path: &Path,
    columns: &'static [&'static str],
    bom: bool,
) -> Result<CsvOut<Output>, Error> {
    CsvOut::with_bom(create(path)?, columns, bom).map_err(|e| write_err(path, e))
}

pub(crate) fn write_err(path: &Path, e: std::io::Error) -> Error {
    Error::Runtime(format!("writing {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_output_is_neither_another_output_nor_an_input() {
        let dir = tempfile::tempdir().unwrap();
        let at = |name: &str| dir.path().join(name);
        let (list, report, jsonl) = (at("hosts.txt"), at("r.csv"), at("r.jsonl"));
        std::fs::write(&list, "www.example.com\n").unwrap();
        let inputs = [("--targets", list.as_path())];
        let ok = |outs: [(&'static str, Option<&Path>); 2]| distinct_files(outs, inputs).is_ok();
        assert!(ok([("--report", Some(&report)), ("--jsonl", Some(&jsonl))]));
        assert!(ok([("--report", Some(&report)), ("--jsonl", None)]));
        // One file written two ways, before it exists and after.
        let dotted = dir.path().join(".").join("r.csv");
        for _ in 0..2 {
            let e = distinct_files(
                [
                    ("--report", Some(report.as_path())),
                    ("--jsonl", Some(&dotted)),
                ],
                inputs,
            )
            .unwrap_err();
            assert!(
                e.to_string()
                    .starts_with("--report and --jsonl name one file"),
                "{e}"
            );
            std::fs::write(&report, "").unwrap();
        }
        // A report over the target list (a hard link to it too) would empty it.
        let link = at("link.txt");
        std::fs::hard_link(&list, &link).unwrap();
        for out in [&list, &link] {
            let e = distinct_files(
                [("--report", Some(out.as_path())), ("--jsonl", None)],
                inputs,
            )
            .unwrap_err();
            assert!(e.to_string().contains("is the --targets file"), "{e}");
        }
        // Standard output and devices are no files to keep apart.
        let (dash, null) = (Path::new("-"), Path::new("/dev/null"));
        assert!(
            distinct_files([("--report", Some(dash)), ("--jsonl", Some(dash))], inputs).is_ok()
        );
        assert!(
            distinct_files([("--report", Some(null)), ("--jsonl", Some(null))], inputs).is_ok()
        );
    }

    #[test]
    fn standard_input_and_output_each_serve_one_file() {
        let dash = Path::new("-");
        let file = Path::new("r.csv");
        assert!(one_stdout([("--report", Some(dash)), ("--jsonl", Some(file))]).is_ok());
        // --records-report - beside --report - used to interleave two CSVs on stdout.
        let e = one_stdout([
            ("--report", Some(dash)),
            ("--jsonl", None),
            ("--records-report", Some(dash)),
        ])
        .unwrap_err();
        assert!(
            e.to_string()
                .contains("--report - and --records-report - would all write"),
            "{e}"
        );
        assert!(one_stdin([("--targets", dash), ("--inventory", file)]).is_ok());
        let e = one_stdin([
            ("--targets", dash),
            ("--inventory", file),
            ("--inventory", dash),
        ])
        .unwrap_err();
        assert!(
            e.to_string().contains("--targets - and --inventory -"),
            "{e}"
        );
    }
}
