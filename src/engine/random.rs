//! Randomness for the sweep's handshakes and DNS question ids.
//!
//! Every handshake needs about a hundred random bytes (client random, legacy session id, the
//! X25519 private key) and every name two question ids. Asked of the operating system one
//! request at a time that was four `getrandom` calls per endpoint, a fifth of the sweep's
//! system calls. rand's `ThreadRng` is a cryptographically secure generator per thread
//! (ChaCha12, seeded from the operating system and reseeded from it every 64 KiB of output),
//! so those requests cost no system call. The process never forks, the one case where a
//! thread-local generator must be reseeded by hand.

use rand::Rng;
use rustls::crypto::{GetRandomFailed, SecureRandom};

/// The thread's generator, as rustls's source of randomness.
#[derive(Debug)]
pub struct ThreadRandom;

impl SecureRandom for ThreadRandom {
    fn fill(&self, buf: &mut [u8]) -> Result<(), GetRandomFailed> {
        fill(buf);
        Ok(())
    }
}

/// Fills `buf` from the thread's generator.
pub fn fill(buf: &mut [u8]) {
    rand::rng().fill_bytes(buf);
}

/// A random DNS question id.
pub fn question_id() -> u16 {
    rand::random()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn successive_fills_differ() {
        let (mut a, mut b) = ([0u8; 32], [0u8; 32]);
        fill(&mut a);
        fill(&mut b);
        assert_ne!(a, [0u8; 32]);
        assert_ne!(a, b);
    }
}
