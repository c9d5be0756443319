//! X25519 (and P-521) for the sweep's TLS client: aws-lc-rs's arithmetic, randomness of our choosing.
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
        let pair = KEY_PAIR.with(|slot| -> Result<std::sync::Arc<KeyPair>, Error> {
            let mut slot = slot.borrow_mut();
            if let Some((pair, uses)) = slot.as_mut() {
                if *uses < USES_PER_KEY_PAIR {
                    *uses += 1;
                    return Ok(pair.clone());
                }
            }
            let pair = std::sync::Arc::new(KeyPair::generate()?);
            *slot = Some((pair.clone(), 1));
            Ok(pair)
        })?;
        Ok(Box::new(Exchange { pair }))
    }

    fn name(&self) -> NamedGroup {
        NamedGroup::X25519
    }
}

/// How many handshakes one key pair serves.
///
/// Making the key pair (a fixed-base scalar multiplication) is about a quarter of an
/// exchange's cost; the other three quarters, the shared secret, differ per server anyway.
/// Sharing the pair costs nothing the sweep needs: the key exchange protects a handshake that
/// never carries application data (in TLS 1.3 not even the client's Finished), so there is
/// no secret for a reused share to expose, and a server that notices two connections share
/// it learns only that they come from one scanner, which their source address already
/// says. The pair is still renewed, so no share outlives a few hundred handshakes of one
/// worker thread.
const USES_PER_KEY_PAIR: u32 = 256;

thread_local! {
    /// This thread's current key pair and how many handshakes it has served.
    static KEY_PAIR: std::cell::RefCell<Option<(std::sync::Arc<KeyPair>, u32)>> =
        const { std::cell::RefCell::new(None) };
}

struct KeyPair {
    key: agreement::PrivateKey,
    public: Vec<u8>,
}

impl KeyPair {
    fn generate() -> Result<Self, Error> {
        // The secret only protects handshakes that never carry application data, so the
        // stack copy is not scrubbed.
        let mut secret = [0u8; 32];
        super::random::fill(&mut secret);
        let key = agreement::PrivateKey::from_private_key(&agreement::X25519, &secret)
            .map_err(|e| Error::General(format!("X25519 private key rejected: {e}")))?;
        let public = key
            .compute_public_key()
            .map_err(|_| Error::General("X25519 public key could not be computed".into()))?;
        Ok(KeyPair {
            public: public.as_ref().to_vec(),
            key,
        })
    }
}

struct Exchange {
    pair: std::sync::Arc<KeyPair>,
}

impl ActiveKeyExchange for Exchange {
    fn complete(self: Box<Self>, peer: &[u8]) -> Result<SharedSecret, Error> {
        // aws-lc refuses a peer key that yields the all-zero secret (RFC 7748 section 6.1).
        agreement::agree(
            &self.pair.key,
            agreement::UnparsedPublicKey::new(&agreement::X25519, peer),
            Error::from(PeerMisbehaved::InvalidKeyShare),
            |secret| Ok(SharedSecret::from(secret)),
        )
    }

    fn pub_key(&self) -> &[u8] {
        &self.pair.public
    }

    fn group(&self) -> NamedGroup {
        NamedGroup::X25519
    }
}

/// ECDH over P-521 (secp521r1), offered last and without a key share: ring has no P-521.
/// A server whose only group it is answers with a HelloRetryRequest for it, and a TLS 1.2
/// server with a P-521 certificate needs the curve among the client's groups (RFC 8422);
/// without it both refused the handshake and were read by the legacy hello.
pub static SECP521R1: &dyn SupportedKxGroup = &P521Group;

#[derive(Debug)]
struct P521Group;

impl SupportedKxGroup for P521Group {
    fn start(&self) -> Result<Box<dyn ActiveKeyExchange>, Error> {
        // Asked for so rarely that a fresh key each time costs nothing that shows.
        let mut secret = [0u8; 66];
        // A value is refused with odds of about 2^-260; sixteen refusals mean something else.
        for _ in 0..16 {
            super::random::fill(&mut secret);
            // 521 bits: the top 7 bits of the 66 bytes are zero. aws-lc refuses the rare
            // value at or above the group order; draw again.
            secret[0] &= 0x01;
            if let Ok(key) = agreement::PrivateKey::from_private_key(&agreement::ECDH_P521, &secret)
            {
                let public = key
                    .compute_public_key()
                    .map_err(|_| Error::General("P-521 public key could not be computed".into()))?
                    .as_ref()
                    .to_vec();
                return Ok(Box::new(P521Exchange { key, public }));
            }
        }
        Err(Error::General(
            "aws-lc refused every P-521 private key".into(),
        ))
    }

    fn name(&self) -> NamedGroup {
        NamedGroup::secp521r1
    }
}

struct P521Exchange {
    key: agreement::PrivateKey,
    public: Vec<u8>,
}

impl ActiveKeyExchange for P521Exchange {
    fn complete(self: Box<Self>, peer: &[u8]) -> Result<SharedSecret, Error> {
        // aws-lc checks that the peer's point is on the curve.
        agreement::agree(
            &self.key,
            agreement::UnparsedPublicKey::new(&agreement::ECDH_P521, peer),
            Error::from(PeerMisbehaved::InvalidKeyShare),
            |secret| Ok(SharedSecret::from(secret)),
        )
    }

    fn pub_key(&self) -> &[u8] {
        &self.public
    }

    fn group(&self) -> NamedGroup {
        NamedGroup::secp521r1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn p521_agrees_with_an_independent_key() {
        // Our side against a key aws-lc makes itself, both ways round; a point off the
        // curve is refused.
        let ours = SECP521R1.start().expect("start");
        assert_eq!(ours.pub_key().len(), 133);
        let theirs = agreement::PrivateKey::generate(&agreement::ECDH_P521).expect("theirs");
        let their_public = theirs.compute_public_key().expect("public");
        let our_public = ours.pub_key().to_vec();
        let ours_secret = ours
            .complete(their_public.as_ref())
            .expect("complete")
            .secret_bytes()
            .to_vec();
        let theirs_secret = agreement::agree(
            &theirs,
            agreement::UnparsedPublicKey::new(&agreement::ECDH_P521, &our_public),
            (),
            |s| Ok(s.to_vec()),
        )
        .expect("agree");
        assert_eq!(ours_secret, theirs_secret);
        let mut bad = our_public.clone();
        bad[132] ^= 1;
        assert!(SECP521R1.start().expect("start").complete(&bad).is_err());
    }

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
    fn a_key_pair_serves_a_bounded_number_of_handshakes_of_its_thread() {
        // The thread may have used its pair already (tests can share a thread), so the runs
        // of equal keys are counted: every run between the first and the last is complete.
        let keys: Vec<Vec<u8>> = (0..3 * USES_PER_KEY_PAIR)
            .map(|_| X25519.start().expect("start").pub_key().to_vec())
            .collect();
        let mut runs = vec![1u32];
        for w in keys.windows(2) {
            if w[0] == w[1] {
                *runs.last_mut().expect("a run") += 1;
            } else {
                runs.push(1);
            }
        }
        assert!(runs.len() >= 3, "runs: {runs:?}");
        assert!(runs[1..runs.len() - 1]
            .iter()
            .all(|&n| n == USES_PER_KEY_PAIR));
        assert!(runs.iter().all(|&n| n <= USES_PER_KEY_PAIR));
    }

    #[test]
    fn refuses_a_low_order_peer_key() {
        let ours = X25519.start().expect("start");
        assert!(ours.complete(&[0u8; 32]).is_err());
    }
}
