//! Requests to stop from outside the process: Ctrl-C (SIGINT) and, on Unix, SIGTERM, which is
//! what a CI job's timeout, `timeout(1)`, systemd and Kubernetes send before they kill. Both
//! mean the same to a sweep: start nothing new, let what is in flight finish, write the files
//! and the summary. Without SIGTERM a pipeline's timeout lost every verdict of a sweep with
//! `--inventory`, whose reports are written at the end.

/// What asked the run to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// Ctrl-C (SIGINT).
    CtrlC,
    /// SIGTERM.
    Term,
}

impl Stop {
    /// How it is named on stderr.
    pub fn name(self) -> &'static str {
        match self {
            Stop::CtrlC => "Ctrl-C",
            Stop::Term => "SIGTERM",
        }
    }

    /// The exit code of a run it stopped before the end, where nothing that was checked
    /// failed: 128 + the signal's number, as a shell reports a process the signal ended
    /// (130, 143). A pipeline must not read an unfinished check as a pass: the endpoints or
    /// domains not reached may be the failing ones.
    pub fn exit_code(self) -> u8 {
        match self {
            Stop::CtrlC => 130,
            Stop::Term => 143,
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
            tokio::select! {
                Some(()) = self.int.recv() => Some(Stop::CtrlC),
                Some(()) = self.term.recv() => Some(Stop::Term),
                else => None,
            }
        }
        #[cfg(not(unix))]
        {
            tokio::signal::ctrl_c().await.ok().map(|()| Stop::CtrlC)
        }
    }
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
    }
}
