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
            eprintln!("certsweep: cannot start the async runtime: {e}");
            return ExitCode::from(3);
        }
    };
    match rt.block_on(certsweep::run(cli)) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("certsweep: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}
