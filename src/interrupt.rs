//! Requests to stop from outside the process: Ctrl-C (SIGINT) and, on Unix, SIGTERM, which is
//! what a CI job's timeout, `timeout(1)`, systemd and Kubernetes send before they kill, and
//! SIGHUP, which a closed terminal or a dropped SSH session sends. All mean the same to a
//! sweep: start nothing new, let what is in flight finish, write the files and the summary.
//! Without them a pipeline's timeout or a lost SSH connection lost every verdict of a sweep
//! with `--inventory`, whose reports are written at the end.

/// What asked the run to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// Ctrl-C (SIGINT).
    CtrlC,
    /// SIGTERM.
    Term,
    /// SIGHUP: the terminal or SSH session the run was started from went away.
    Hangup,
}

impl Stop {
    /// How it is named on stderr.
    pub fn name(self) -> &'static str {
        match self {
            Stop::CtrlC => "Ctrl-C",
            Stop::Term => "SIGTERM",
            Stop::Hangup => "SIGHUP",
        }
    }

    /// The exit code of a run it stopped before the end, where nothing that was checked
    /// failed: 128 + the signal's number, as a shell reports a process the signal ended
    /// (130, 143, 129). A pipeline must not read an unfinished check as a pass: the endpoints or
    /// domains not reached may be the failing ones.
    pub fn exit_code(self) -> u8 {
        match self {
            Stop::CtrlC => 130,
            Stop::Term => 143,
            Stop::Hangup => 129,
        }
    }
}

impl std::fmt::Display for Stop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A run's exit code once `stopped` is known: a failure found (any code but 0) stands, since
/// it says more than the stop; a run that found none but was stopped early exits with the
/// stop's code.
pub fn exit_code(code: u8, stopped: Option<Stop>) -> u8 {
    match stopped {
        Some(stop) if code == 0 => stop.exit_code(),
        _ => code,
    }
}

/// A run's result as [`crate::wait::again`] takes it: its [`exit_code`], and whether it was
/// stopped (then it is not run again).
pub fn ended(code: u8, stopped: Option<Stop>) -> (u8, bool) {
    (exit_code(code, stopped), stopped.is_some())
}

/// Stop requests, watched from the moment this is made: a request before that still ends
/// the process by the signal's default action, so a run makes it before it starts work.
pub struct Requests {
    #[cfg(unix)]
    int: tokio::signal::unix::Signal,
    #[cfg(unix)]
    term: tokio::signal::unix::Signal,
    /// None where SIGHUP was ignored when the process started (`nohup`): the run goes on
    /// after its terminal closes, as asked.
    #[cfg(unix)]
    hup: Option<tokio::signal::unix::Signal>,
}

impl Requests {
    /// Starts watching; an error when signals cannot be watched.
    pub fn listen() -> std::io::Result<Requests> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            Ok(Requests {
                int: signal(SignalKind::interrupt())?,
                term: signal(SignalKind::terminate())?,
                hup: match hangup_ignored() {
                    true => None,
                    false => Some(signal(SignalKind::hangup())?),
                },
            })
        }
        #[cfg(not(unix))]
        {
            Ok(Requests {})
        }
    }

    /// Completes at the next request and names it (`None` once none can come).
    pub async fn next(&mut self) -> Option<Stop> {
        #[cfg(unix)]
        {
            let hup = &mut self.hup;
            let hangup = async {
                match hup {
                    Some(hup) => hup.recv().await,
                    None => None,
                }
            };
            tokio::select! {
                Some(()) = self.int.recv() => Some(Stop::CtrlC),
                Some(()) = self.term.recv() => Some(Stop::Term),
                Some(()) = hangup => Some(Stop::Hangup),
                else => None,
            }
        }
        #[cfg(not(unix))]
        {
            tokio::signal::ctrl_c().await.ok().map(|()| Stop::CtrlC)
        }
    }
}

/// Whether SIGHUP is ignored in this process, as `nohup` leaves it: read from the kernel's
/// account of the process (`SigIgn` in `/proc/self/status`, a mask whose bit 0 is SIGHUP),
/// which needs no unsafe code. Where that cannot be read (not Linux), taken as ignored: the
/// signal keeps whatever action it had rather than overriding a `nohup`.
#[cfg(unix)]
fn hangup_ignored() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| sighup_in_mask(&status))
        .unwrap_or(true)
}

/// Bit 0 (SIGHUP) of the `SigIgn:` line of a `/proc/PID/status` text.
#[cfg(unix)]
fn sighup_in_mask(status: &str) -> Option<bool> {
    let mask = status
        .lines()
        .find_map(|l| l.strip_prefix("SigIgn:"))?
        .trim();
    let last = mask.chars().last()?.to_digit(16)?;
    Some(last & 1 == 1)
}

/// Completes at the next stop request and names it; an error when signals cannot be watched.
pub async fn requested() -> std::io::Result<Stop> {
    match Requests::listen()?.next().await {
        Some(stop) => Ok(stop),
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stopped_run_that_found_nothing_is_no_pass_and_a_failure_found_stands() {
        assert_eq!(exit_code(0, None), 0);
        assert_eq!(exit_code(0, Some(Stop::CtrlC)), 130);
        assert_eq!(exit_code(0, Some(Stop::Term)), 143);
        assert_eq!(exit_code(1, Some(Stop::Term)), 1);
        assert_eq!(exit_code(3, Some(Stop::CtrlC)), 3);
        assert_eq!(exit_code(1, None), 1);
        assert_eq!(exit_code(0, Some(Stop::Hangup)), 129);
    }

    #[cfg(unix)]
    #[test]
    fn sighup_is_read_from_the_ignored_mask() {
        let status = |mask: &str| {
            format!("Name:\tcertsweep\nSigBlk:\t0000000000000001\nSigIgn:\t{mask}\nSigCgt:\t0\n")
        };
        assert_eq!(sighup_in_mask(&status("0000000000000001")), Some(true));
        assert_eq!(sighup_in_mask(&status("0000000000001001")), Some(true));
        assert_eq!(sighup_in_mask(&status("0000000000001000")), Some(false));
        assert_eq!(sighup_in_mask(&status("0000000000000000")), Some(false));
        assert_eq!(sighup_in_mask("Name:\tx\n"), None);
    }
}
