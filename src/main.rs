use clap::Parser;
use std::process::ExitCode;

// jemalloc returns freed memory to the system over a long sweep where glibc's per-thread
// arenas keep it (measured in BENCHMARKS.md).
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> ExitCode {
    let cli = certsweep::cli::Cli::parse();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            certsweep::say!("certsweep: cannot start the async runtime: {e}");
            return ExitCode::from(3);
        }
    };
    // The command runs as a task, not on the main thread: the sweep's consumer (reports,
    // summary) is woken once per finished endpoint, and a wakeup within the worker pool costs
    // no system call, while one to the main thread is a futex wake and two context switches.
    match rt.block_on(async { tokio::spawn(certsweep::run(cli)).await }) {
        Ok(Ok(code)) => ExitCode::from(code),
        Ok(Err(e)) => {
            certsweep::say!("certsweep: {e}");
            ExitCode::from(e.exit_code())
        }
        Err(e) => {
            certsweep::say!("certsweep: internal error: {e}");
            ExitCode::from(3)
        }
    }
}
