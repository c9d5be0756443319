//! The network edge: targets → endpoints → handshakes → observations.

pub mod dnsq;
pub mod exclude;
pub mod handshake;
pub mod kx;
pub mod legacy;
pub mod random;
pub mod resolve;
pub mod seen;
pub mod starttls;
pub mod sweep;
pub mod targets;

use std::io;
use tokio::net::TcpStream;

/// Writes all of `bytes` to `tcp`. The handshake code holds the socket by shared reference
/// (rustls's reads and writes, the close with reset), where tokio's `write_all` needs it
/// mutably.
pub(crate) async fn write_all(tcp: &TcpStream, mut bytes: &[u8]) -> io::Result<()> {
    while !bytes.is_empty() {
        match tcp.try_write(bytes) {
            Ok(n) => bytes = &bytes[n..],
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => tcp.writable().await?,
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Reads what `tcp` has next into `buf`, waiting for it; 0 at end of stream.
pub(crate) async fn read_some(tcp: &TcpStream, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        match tcp.try_read(buf) {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => tcp.readable().await?,
            other => return other,
        }
    }
}
