use clap::Parser;
use std::process::ExitCode;

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
