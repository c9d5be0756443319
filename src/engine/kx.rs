//! X25519 for the sweep's TLS client: aws-lc-rs's arithmetic, randomness of our choosing.
//!
//! aws-lc-rs computes an X25519 key pair and shared secret in about half of ring's time
//! (32 vs 59 us on the benchmark machine; its assembly uses the ADX instructions
//! throughout), which is 0.02-0.03 ms of CPU per endpoint of a sweep. Its random generator,
//! though, seeds itself once per thread from a CPU-jitter entropy collector that burns
//! ~40 ms of CPU per thread (measured with `perf` on a one-target sweep: 80 % of its CPU).
//! So the private key is drawn from the sweep's own generator (`super::random`) and handed to
//! aws-lc-rs as raw bytes; nothing here reaches aws-lc's generator.

use aws_lc_rs::agreement;
use rustls::crypto::{ActiveKeyExchange, SharedSecret, SupportedKxGroup};
use rustls::{Error, NamedGroup, PeerMisbehaved};

/// The X25519 key exchange group (RFC 7748), as offered first by the sweep's client.
pub static X25519: &dyn SupportedKxGroup = &X25519Group;

#[derive(Debug)]
struct X25519Group;

impl SupportedKxGroup for X25519Group {
    fn start(&self) -> Result<Box<dyn ActiveKeyExchange>, Error> {
        // The ephemeral secret only protects a handshake that never carries application
        // data, so the stack copy is not scrubbed.
        let mut secret = [0u8; 32];
        super::random::fill(&mut secret);
        let key = agreement::PrivateKey::from_private_key(&agreement::X25519, &secret)
            .map_err(|e| Error::General(format!("X25519 private key rejected: {e}")))?;
        let public = key
            .compute_public_key()
            .map_err(|_| Error::General("X25519 public key could not be computed".into()))?;
        Ok(Box::new(Exchange {
            public: public.as_ref().to_vec(),
            key,
        }))
    }

    fn name(&self) -> NamedGroup {
        NamedGroup::X25519
    }
}

struct Exchange {
    key: agreement::PrivateKey,
    public: Vec<u8>,
}

impl ActiveKeyExchange for Exchange {
    fn complete(self: Box<Self>, peer: &[u8]) -> Result<SharedSecret, Error> {
        // aws-lc refuses a peer key that yields the all-zero secret (RFC 7748 section 6.1).
        agreement::agree(
            &self.key,
            agreement::UnparsedPublicKey::new(&agreement::X25519, peer),
            Error::from(PeerMisbehaved::InvalidKeyShare),
            |secret| Ok(SharedSecret::from(secret)),
        )
    }

    fn pub_key(&self) -> &[u8] {
        &self.public
    }

    fn group(&self) -> NamedGroup {
        NamedGroup::X25519
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agrees_with_rings_x25519() {
        // Both sides must derive the same secret: ours against ring's own implementation.
        let ours = X25519.start().expect("start");
        let rng = ring::rand::SystemRandom::new();
        let theirs = ring::agreement::EphemeralPrivateKey::generate(&ring::agreement::X25519, &rng)
            .expect("ring key");
        let their_public = theirs.compute_public_key().expect("ring public");
        let our_public = ours.pub_key().to_vec();
        let ours_secret = ours
            .complete(their_public.as_ref())
            .expect("complete")
            .secret_bytes()
            .to_vec();
        let theirs_secret = ring::agreement::agree_ephemeral(
            theirs,
            &ring::agreement::UnparsedPublicKey::new(&ring::agreement::X25519, &our_public),
            |s| s.to_vec(),
        )
        .expect("ring agree");
        assert_eq!(ours_secret, theirs_secret);
        assert_eq!(ours_secret.len(), 32);
    }

    #[test]
    fn refuses_a_low_order_peer_key() {
        let ours = X25519.start().expect("start");
        assert!(ours.complete(&[0u8; 32]).is_err());
    }
}
