//! The network edge: targets → endpoints → handshakes → observations.

pub mod dnsq;
pub mod handshake;
pub mod kx;
pub mod legacy;
pub mod random;
pub mod resolve;
pub mod seen;
pub mod starttls;
pub mod sweep;
pub mod targets;
