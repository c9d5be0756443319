//! Requests to stop from outside the process: Ctrl-C (SIGINT) and, on Unix, SIGTERM, which is
//! what a CI job's timeout, `timeout(1)`, systemd and Kubernetes send before they kill. Both
//! mean the same to a sweep: start nothing new, let what is in flight finish, write the files
//! and the summary. Without SIGTERM a pipeline's timeout lost every verdict of a sweep with
//! `--inventory`, whose reports are written at the end.

/// Completes at the next stop request and names it; an error when signals cannot be watched.
pub async fn requested() -> std::io::Result<&'static str> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = signal(SignalKind::terminate())?;
        tokio::select! {
            r = tokio::signal::ctrl_c() => r.map(|()| "Ctrl-C"),
            _ = term.recv() => Ok("SIGTERM"),
        }
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c().await.map(|()| "Ctrl-C")
    }
}
