//! `--wait`: run again while the result says "not yet" (exit code 1), for a pipeline that
//! gives a deployment time to reach its nodes (`scan`) or a DNS change time to reach every
//! nameserver (`dcv`).

use crate::Error;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The pause between runs for a wait of `wait`: 10 s, or a sixth of a wait under a minute,
/// so that a short one still gets a few runs.
fn pause_for(wait: Duration) -> Duration {
    (wait / 6).clamp(Duration::from_millis(200), Duration::from_secs(10))
}

/// Runs `attempt` (which returns its exit code and whether a stop was requested during it)
/// until its exit code is not 1, it was stopped, or `wait` has passed; says on stderr before
/// each new run that `why` (the run said "not yet"). A stop request between runs ends it
/// too. The last run's exit code is the result.
pub async fn again<F, Fut>(wait: Duration, why: &str, mut attempt: F) -> Result<u8, Error>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<(u8, bool), Error>>,
{
    let deadline = Instant::now() + wait;
    let every = pause_for(wait);
    loop {
        let (code, interrupted) = attempt().await?;
        let left = deadline.saturating_duration_since(Instant::now());
        if code != 1 || interrupted || left.is_zero() {
            return Ok(code);
        }
        let pause = every.min(left);
        crate::say!(
            "certsweep: {why}; running again in {} (--wait: {} left)",
            crate::duration::display(pause),
            crate::duration::display(left)
        );
        tokio::select! {
            _ = tokio::time::sleep(pause) => {}
            // Stopped while waiting: the last run's reports and exit code stand.
            Ok(_) = crate::interrupt::requested() => return Ok(code),
        }
    }
}

/// The copy of standard input that every run of a `--wait` reads ([`keep_stdin`]).
static KEPT: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();

/// Standard input can be read once, and every run of a `--wait` reads its inputs again:
/// when `uses` (some input is `-`), it is copied into a temporary file that [`stdin`] gives
/// from then on, and that goes when the returned path is dropped. The inputs keep their
/// name `-` in what is said of them.
fn keep_stdin(uses: bool) -> Result<Option<tempfile::TempPath>, Error> {
    if !uses {
        return Ok(None);
    }
    let mut file = tempfile::NamedTempFile::new()
        .map_err(|e| Error::Runtime(format!("cannot keep standard input for --wait: {e}")))?;
    std::io::copy(&mut std::io::stdin().lock(), &mut file)
        .map_err(|e| Error::Input(format!("standard input: {e}")))?;
    let path = file.into_temp_path();
    // Once a process: a second call (no command makes one) keeps the first copy.
    let _ = KEPT.set(path.to_path_buf());
    Ok(Some(path))
}

/// Standard input as an input given `-` reads it: afresh from the copy a `--wait` keeps,
/// else the process's own.
pub fn stdin() -> std::io::Result<Box<dyn std::io::Read + Send>> {
    match KEPT.get() {
        Some(p) => Ok(Box::new(std::fs::File::open(p)?)),
        None => Ok(Box::new(std::io::stdin())),
    }
}

/// A task aborted when this is dropped: a run's stop listener, which must end with its run
/// so that a stop request between runs is [`again`]'s to answer.
pub struct AbortOnDrop(pub tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// What a command checks before its runs of a `--wait`: no report goes to standard output
/// (each run would write it again), and standard input, when an input is `-`, is kept
/// (`keep_stdin`; the copy lasts as long as the returned path).
pub fn prepare<'a>(
    outputs: impl IntoIterator<Item = Option<&'a Path>>,
    inputs: impl IntoIterator<Item = &'a Path>,
) -> Result<Option<tempfile::TempPath>, Error> {
    let dash = |p: &Path| p.as_os_str() == "-";
    if outputs.into_iter().flatten().any(dash) {
        return Err(Error::Usage(
            "--wait runs more than once: write the reports to files, not to standard output".into(),
        ));
    }
    keep_stdin(inputs.into_iter().any(dash))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_waits_poll_more_often_long_ones_every_ten_seconds() {
        assert_eq!(pause_for(Duration::from_secs(120)), Duration::from_secs(10));
        assert_eq!(pause_for(Duration::from_secs(12)), Duration::from_secs(2));
        assert_eq!(
            pause_for(Duration::from_millis(300)),
            Duration::from_millis(200)
        );
    }

    #[tokio::test]
    async fn runs_until_the_answer_is_not_one_and_keeps_the_last_code() {
        let mut runs = 0;
        let code = again(Duration::from_secs(5), "not yet", || {
            runs += 1;
            let code = if runs < 3 { 1 } else { 0 };
            async move { Ok((code, false)) }
        })
        .await;
        assert_eq!((code.ok(), runs), (Some(0), 3));
        // Stopped during a run: no other run.
        let mut runs = 0;
        let code = again(Duration::from_secs(5), "not yet", || {
            runs += 1;
            async { Ok((1, true)) }
        })
        .await;
        assert_eq!((code.ok(), runs), (Some(1), 1));
    }
}
