//! `certsweep demo`: a fleet on loopback, swept by the real engine.

use crate::cli::DemoArgs;
use crate::Error;

/// Runs the demo.
pub async fn run_demo(_args: DemoArgs) -> Result<u8, Error> {
    Err(Error::Runtime("demo is not built yet".into()))
}
