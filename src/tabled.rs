//! ECDSA P-256 / SHA-256 signature checks against the issuing keys a sweep meets often.
//!
//! Judging trust checks every leaf's signature with its issuer's key, and a fleet's leaves
//! come from a handful of intermediates: the same key signs thousands of them. The
//! handshake's signature is checked with the leaf's key, which is shared too by every node
//! of a pool, every server of a wildcard certificate, and renewals that keep their key. A
//! check is `u1·G + u2·Q`; ring multiplies by the fixed generator `G` with a precomputed
//! table but by the key `Q` in constant time from scratch, the costlier half. Once a key has
//! been used [`HOT`] times, a table of its multiples is made (about 850 KiB, ~6
//! milliseconds), and its checks cost two table walks of 26 additions each and an inversion
//! mod n: about a third of ring's (25-30 against 80-110 µs on a machine where ring is slow).
//!
//! Only an acceptance is decided here. A signature the tabled check does not accept is
//! checked again by ring, which decides: no defect of this code can refuse a good
//! signature, and a refusal costs what it did before. An acceptance needs the exact
//! equation to hold (`x(R) ≡ r`), which garbage from an arithmetic slip does not meet; the
//! tests compare both answers over generated keys, messages and altered signatures. The
//! arithmetic is variable-time, which is sound for checks of public data (keys, signed
//! certificates, signatures).
//!
//! Field and scalar arithmetic are the `p256` crate's, the inversion mod n crypto-bigint's
//! (both RustCrypto); the point formulas (Jacobian coordinates, mixed addition and doubling
//! for a = -3, from the Explicit-Formulas Database) and the table are ours, as no maintained
//! crate offers a table per key.

use crypto_bigint::{Encoding, Inverter, Odd, PrecomputeInverter};
use p256::elliptic_curve::ff::{Field, PrimeField};
use p256::elliptic_curve::ops::Reduce;
use p256::elliptic_curve::sec1::ToEncodedPoint;
use p256::{FieldElement, Scalar, U256};
use rustls::pki_types::{AlgorithmIdentifier, InvalidSignature, SignatureVerificationAlgorithm};
use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};

/// Checks of one key after which its table is made. A table (~6 ms) costs about as much as
/// 70 of ring's checks and saves two thirds of one on every check after, so it pays once
/// its key has been checked ~170 times; one that never pays costs at most those 6 ms (and
/// `MAX_TABLES` bounds how often).
pub const HOT: u32 = 64;

/// Keys counted at most: when the count is full, the keys not yet hot are forgotten, so a
/// sweep of servers with keys of their own neither grows it without end nor crowds out a key
/// met later and often.
const MAX_KEYS: usize = 4_096;

/// Tables kept at most (about 850 KiB each: 13.3 MiB in all).
const MAX_TABLES: usize = 16;

/// Bits of a scalar taken per table lookup: 26 additions a multiplication. 8 bits made
/// tables of 270 KiB and checks ~15 % slower, 11 bits 1.5 MiB and ~5 % faster still
/// (3,000 checks, with and without the cache flushed between them).
const W: usize = 10;
/// Multiples kept per window: digits are signed, so 1..=2^(W-1).
const HALF: usize = 1 << (W - 1);
/// Windows of a 256-bit scalar, with room for the carry out of the top one.
const WINDOWS: usize = 256 / W + 1;
const _: () = assert!(WINDOWS * W > 256 && WINDOWS * W <= 5 * 64);

/// The group order n, big-endian.
const N: [u8; 32] = [
    0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51,
];

/// p - n, big-endian: an x coordinate in n..p stands for x - n, below p - n.
const P_MINUS_N: [u8; 32] = [
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x43, 0x19, 0x05, 0x53, 0x58, 0xe8, 0x61, 0x7b,
    0x0c, 0x46, 0x35, 0x3d, 0x03, 0x9c, 0xda, 0xae,
];

/// ECDSA P-256 with SHA-256, as webpki's ring algorithm, with tables for keys met often.
#[derive(Debug)]
pub struct TabledP256;

/// The one instance, for algorithm lists.
pub static TABLED_P256_SHA256: TabledP256 = TabledP256;

/// webpki's algorithms with ring's ECDSA P-256/SHA-256 replaced by [`TABLED_P256_SHA256`]:
/// the list trust is judged with.
pub static TRUST_ALGS: LazyLock<Vec<&'static dyn SignatureVerificationAlgorithm>> =
    LazyLock::new(|| {
        let ours: &'static dyn SignatureVerificationAlgorithm = &TABLED_P256_SHA256;
        let mut replaced = false;
        webpki::ALL_VERIFICATION_ALGS
            .iter()
            .map(|&alg| {
                let same = alg.public_key_alg_id() == ours.public_key_alg_id()
                    && alg.signature_alg_id() == ours.signature_alg_id();
                // The first with these identifiers is the one webpki would use.
                if same && !replaced {
                    replaced = true;
                    ours
                } else {
                    alg
                }
            })
            .collect()
    });

impl SignatureVerificationAlgorithm for TabledP256 {
    fn public_key_alg_id(&self) -> AlgorithmIdentifier {
        webpki::ring::ECDSA_P256_SHA256.public_key_alg_id()
    }

    fn signature_alg_id(&self) -> AlgorithmIdentifier {
        webpki::ring::ECDSA_P256_SHA256.signature_alg_id()
    }

    fn verify_signature(
        &self,
        public_key: &[u8],
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), InvalidSignature> {
        if let Some(table) = KEYS.table_for(public_key) {
            if table.verify(message, signature) {
                return Ok(());
            }
        }
        webpki::ring::ECDSA_P256_SHA256.verify_signature(public_key, message, signature)
    }
}

/// What is known of a key.
enum Slot {
    /// Checked this many times.
    Seen(u32),
    /// Its table is being made (by the thread that counted it hot).
    Making,
    Ready(Arc<Table>),
    /// Not a point this code takes (ring judges its checks).
    Refused,
}

/// The keys counted and the tables made, within their limits.
struct Keys {
    hot: u32,
    max_keys: usize,
    max_tables: usize,
    state: Mutex<Counted>,
}

#[derive(Default)]
struct Counted {
    slots: HashMap<Box<[u8]>, Slot>,
    /// Slots `Making` or `Ready`.
    tables: usize,
}

static KEYS: LazyLock<Keys> = LazyLock::new(|| Keys::new(HOT, MAX_KEYS, MAX_TABLES));

impl Keys {
    fn new(hot: u32, max_keys: usize, max_tables: usize) -> Self {
        Self {
            hot,
            max_keys,
            max_tables,
            state: Mutex::new(Counted::default()),
        }
    }

    /// The key's table, counting the check; the table is made by the check that makes the
    /// key hot, on its own thread (the others go on with ring meanwhile).
    fn table_for(&self, key: &[u8]) -> Option<Arc<Table>> {
        {
            let mut state = self.state.lock().ok()?;
            let Counted { slots, tables } = &mut *state;
            if slots.len() >= self.max_keys && !slots.contains_key(key) {
                slots.retain(|_, s| matches!(s, Slot::Making | Slot::Ready(_)));
            }
            let room = slots.len() < self.max_keys;
            let count = match slots.get_mut(key) {
                Some(Slot::Ready(t)) => return Some(t.clone()),
                Some(Slot::Making | Slot::Refused) => return None,
                Some(Slot::Seen(n)) => {
                    *n = n.saturating_add(1);
                    *n
                }
                None if room => {
                    slots.insert(key.into(), Slot::Seen(1));
                    1
                }
                None => return None,
            };
            if count < self.hot || *tables >= self.max_tables {
                return None;
            }
            slots.insert(key.into(), Slot::Making);
            *tables += 1;
        }
        let made = Table::new(key).map(Arc::new);
        let mut state = self.state.lock().ok()?;
        let slot = match &made {
            Some(t) => Slot::Ready(t.clone()),
            None => {
                state.tables -= 1;
                Slot::Refused
            }
        };
        state.slots.insert(key.into(), slot);
        made
    }

    fn has_table(&self, key: &[u8]) -> bool {
        self.state
            .lock()
            .is_ok_and(|s| matches!(s.slots.get(key), Some(Slot::Ready(_))))
    }
}

/// Whether a table has been made for `key` (SEC1 uncompressed point) in this run.
pub fn has_table(key: &[u8]) -> bool {
    KEYS.has_table(key)
}

/// A point other than the infinity.
#[derive(Clone, Copy, Debug)]
struct Affine {
    x: FieldElement,
    y: FieldElement,
}

/// `(X : Y : Z)` standing for `(X/Z², Y/Z³)`; the infinity has Z = 0.
#[derive(Clone, Copy, Debug)]
struct Jacobian {
    x: FieldElement,
    y: FieldElement,
    z: FieldElement,
}

impl Jacobian {
    const INFINITY: Self = Self {
        x: FieldElement::ONE,
        y: FieldElement::ONE,
        z: FieldElement::ZERO,
    };

    fn from_affine(a: &Affine) -> Self {
        Self {
            x: a.x,
            y: a.y,
            z: FieldElement::ONE,
        }
    }

    fn is_infinity(&self) -> bool {
        bool::from(self.z.is_zero())
    }

    /// dbl-2001-b (a = -3).
    fn double(&self) -> Self {
        if self.is_infinity() || bool::from(self.y.is_zero()) {
            return Self::INFINITY;
        }
        let delta = self.z.square();
        let gamma = self.y.square();
        let beta = self.x * gamma;
        let t = (self.x - delta) * (self.x + delta);
        let alpha = t.double() + t;
        let beta4 = beta.double().double();
        let x3 = alpha.square() - beta4.double();
        let z3 = (self.y + self.z).square() - gamma - delta;
        let y3 = alpha * (beta4 - x3) - gamma.square().double().double().double();
        Self {
            x: x3,
            y: y3,
            z: z3,
        }
    }

    /// madd-2007-bl, plus the cases it leaves out: the infinity, equal points (a doubling)
    /// and opposite ones (the infinity).
    fn add_affine(&self, q: &Affine) -> Self {
        if self.is_infinity() {
            return Self::from_affine(q);
        }
        let z1z1 = self.z.square();
        let u2 = q.x * z1z1;
        let s2 = q.y * self.z * z1z1;
        let h = u2 - self.x;
        let r = (s2 - self.y).double();
        if bool::from(h.is_zero()) {
            return if bool::from(r.is_zero()) {
                self.double()
            } else {
                Self::INFINITY
            };
        }
        let hh = h.square();
        let i = hh.double().double();
        let j = h * i;
        let v = self.x * i;
        let x3 = r.square() - j - v.double();
        let y3 = r * (v - x3) - (self.y * j).double();
        let z3 = (self.z + h).square() - z1z1 - hh;
        Self {
            x: x3,
            y: y3,
            z: z3,
        }
    }

    #[cfg(test)]
    fn to_affine(self) -> Option<Affine> {
        let zi = Option::<FieldElement>::from(self.z.invert())?;
        let zi2 = zi.square();
        Some(Affine {
            x: self.x * zi2,
            y: self.y * zi2 * zi,
        })
    }
}

/// The multiples `d·2^(W·i)·P`, `d` in 1..=HALF, of every window `i`, affine, window after
/// window.
pub(crate) struct Table(Box<[Affine]>);

impl Table {
    /// The table of a key (a SEC1 uncompressed point on the curve), or `None`.
    ///
    /// Made in affine coordinates throughout, level by level: with `d·B` known for every
    /// `d ≤ m` of each window's base `B`, the entries up to `2m` are `m·B + j·B` (the last
    /// a doubling), every window's at once, their slopes' denominators inverted together.
    /// That is ~6 multiplications an entry and nine inversions, where mixed additions and
    /// a conversion at the end cost ~17 an entry: 5.2-6.7 ms a table instead of 8.8-10.8
    /// on the benchmark machine.
    pub(crate) fn new(key: &[u8]) -> Option<Self> {
        let p = affine_key(key)?;
        let mut base = Jacobian::from_affine(&p);
        let mut bases = Vec::with_capacity(WINDOWS);
        for i in 0..WINDOWS {
            if i > 0 {
                for _ in 0..W {
                    base = base.double();
                }
            }
            bases.push(base);
        }
        let bases = batch_affine(&bases)?;
        let zero = Affine {
            x: FieldElement::ZERO,
            y: FieldElement::ZERO,
        };
        let mut t = vec![zero; WINDOWS * HALF];
        for (i, b) in bases.iter().enumerate() {
            t[i * HALF] = *b;
        }
        let three = FieldElement::from_u64(3);
        let mut m = 1;
        let mut den = Vec::with_capacity(WINDOWS * HALF / 2);
        while m < HALF {
            // Entry `d` of window `i` is `t[i·HALF + d - 1]`.
            den.clear();
            for i in 0..WINDOWS {
                let a = t[i * HALF + m - 1];
                for j in 1..=m {
                    den.push(if j == m {
                        a.y.double()
                    } else {
                        t[i * HALF + j - 1].x - a.x
                    });
                }
            }
            // A zero denominator (none for a point of prime order) fails the inversion.
            let inv = batch_invert(&den)?;
            let mut k = 0;
            for i in 0..WINDOWS {
                let a = t[i * HALF + m - 1];
                for j in 1..=m {
                    let b = t[i * HALF + j - 1];
                    // a = -3: the tangent's slope is (3x² - 3) / 2y.
                    let rise = if j == m {
                        (a.x.square() - FieldElement::ONE) * three
                    } else {
                        b.y - a.y
                    };
                    let lambda = rise * inv[k];
                    let x = lambda.square() - a.x - b.x;
                    let y = lambda * (a.x - x) - a.y;
                    t[i * HALF + m + j - 1] = Affine { x, y };
                    k += 1;
                }
            }
            m *= 2;
        }
        Some(Self(t.into_boxed_slice()))
    }

    /// The entry for `|digit|` (not zero) in `window`.
    fn stored(&self, window: usize, digit: i16) -> Affine {
        self.0[window * HALF + usize::from(digit.unsigned_abs()) - 1]
    }

    /// `digit·2^(W·window)·P`.
    #[cfg(test)]
    fn entry(&self, window: usize, digit: i16) -> Affine {
        let a = self.stored(window, digit);
        if digit < 0 {
            Affine { x: a.x, y: -a.y }
        } else {
            a
        }
    }

    /// `acc + k·P`, one entry read at a time (the tests' reference for [`sum_of`]).
    #[cfg(test)]
    fn add_mul(&self, acc: Jacobian, k: &Scalar) -> Jacobian {
        let mut acc = acc;
        for (i, d) in digits(k).into_iter().enumerate() {
            if d != 0 {
                acc = acc.add_affine(&self.entry(i, d));
            }
        }
        acc
    }

    /// Whether `signature` (DER) is this key's ECDSA signature over SHA-256 of `message`.
    /// `false` covers every reason to doubt it.
    pub(crate) fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        let Some(g) = GENERATOR.as_ref() else {
            return false;
        };
        let Some((r_bytes, s_bytes)) = der_signature(signature) else {
            return false;
        };
        // from_repr refuses n and above.
        let r = Option::<Scalar>::from(Scalar::from_repr(r_bytes.into()));
        let s = Option::<Scalar>::from(Scalar::from_repr(s_bytes.into()));
        let (Some(r), Some(s)) = (r, s) else {
            return false;
        };
        if bool::from(r.is_zero()) || bool::from(s.is_zero()) {
            return false;
        }
        let digest = ring::digest::digest(&ring::digest::SHA256, message);
        let Ok(digest) = <[u8; 32]>::try_from(digest.as_ref()) else {
            return false;
        };
        let e = <Scalar as Reduce<U256>>::reduce_bytes(&digest.into());
        let Some(w) = invert_mod_n(&s) else {
            return false;
        };
        let sum = sum_of([(g, &(e * w)), (self, &(r * w))]);
        if sum.is_infinity() {
            return false;
        }
        // x(R) = X/Z² is compared as X = r·Z², with no inversion.
        let z2 = sum.z.square();
        let Some(rf) = Option::<FieldElement>::from(FieldElement::from_bytes(&r_bytes.into()))
        else {
            return false;
        };
        if sum.x == rf * z2 {
            return true;
        }
        if r_bytes < P_MINUS_N {
            if let Some(n) = Option::<FieldElement>::from(FieldElement::from_bytes(&N.into())) {
                return sum.x == (rf + n) * z2;
            }
        }
        false
    }
}

/// The inverter mod n (an odd prime).
type OrderInverter = <Odd<crypto_bigint::U256> as PrecomputeInverter>::Inverter;

static ORDER_INVERTER: LazyLock<Option<OrderInverter>> = LazyLock::new(|| {
    let n = Option::<Odd<_>>::from(Odd::new(crypto_bigint::U256::from_be_bytes(N)))?;
    Some(n.precompute_inverter())
});

/// `1/s mod n`, in variable time (s is public: a signature's).
fn invert_mod_n(s: &Scalar) -> Option<Scalar> {
    let inverter = ORDER_INVERTER.as_ref()?;
    let bytes: [u8; 32] = s.to_bytes().into();
    let inverse = inverter.invert_vartime(&crypto_bigint::U256::from_be_bytes(bytes));
    let inverse = Option::<crypto_bigint::U256>::from(inverse)?;
    Option::from(Scalar::from_repr(inverse.to_be_bytes().into()))
}

/// `k₁·P₁ + k₂·P₂`. Every table entry needed is read before any is added: the tables lie
/// in memory the rest of the sweep pushes out of the cache, and read one addition at a time
/// each read waited for memory in turn (a sixth of the check's time); read together, the
/// reads overlap.
fn sum_of(terms: [(&Table, &Scalar); 2]) -> Jacobian {
    // Copied as they are, with the sign apart: a negation waiting on its load between the
    // reads (and a branch on the sign, which no predictor foresees) kept them from overlapping.
    let mut entries = [(
        Affine {
            x: FieldElement::ZERO,
            y: FieldElement::ZERO,
        },
        false,
    ); 2 * WINDOWS];
    let mut n = 0;
    for (table, k) in terms {
        for (i, d) in digits(k).into_iter().enumerate() {
            if d != 0 {
                entries[n] = (table.stored(i, d), d < 0);
                n += 1;
            }
        }
    }
    entries[..n]
        .iter()
        .fold(Jacobian::INFINITY, |acc, &(e, negative)| {
            if negative {
                acc.add_affine(&Affine { x: e.x, y: -e.y })
            } else {
                acc.add_affine(&e)
            }
        })
}

/// The points in affine coordinates, with one inversion for all. `None` if one is the
/// infinity.
fn batch_affine(points: &[Jacobian]) -> Option<Vec<Affine>> {
    let zs: Vec<FieldElement> = points.iter().map(|p| p.z).collect();
    let inverses = batch_invert(&zs)?;
    Some(
        points
            .iter()
            .zip(inverses)
            .map(|(p, zi)| {
                let zi2 = zi.square();
                Affine {
                    x: p.x * zi2,
                    y: p.y * zi2 * zi,
                }
            })
            .collect(),
    )
}

/// Montgomery's trick: the inverses of all of `values` with one inversion and three
/// multiplications each. `None` if one is zero.
fn batch_invert(values: &[FieldElement]) -> Option<Vec<FieldElement>> {
    let mut prefix = Vec::with_capacity(values.len());
    let mut acc = FieldElement::ONE;
    for v in values {
        prefix.push(acc);
        acc *= v;
    }
    // Zero if any value is.
    let mut inv = Option::<FieldElement>::from(acc.invert())?;
    let mut out = vec![FieldElement::ZERO; values.len()];
    for ((v, before), slot) in values.iter().zip(prefix).zip(out.iter_mut()).rev() {
        *slot = inv * before;
        inv *= v;
    }
    Some(out)
}

/// Signed base-2^W digits, least significant first: `k = Σ dᵢ·2^(W·i)`, each digit in
/// -(HALF-1)..=HALF.
fn digits(k: &Scalar) -> [i16; WINDOWS] {
    let bytes: [u8; 32] = k.to_bytes().into();
    // Little-endian limbs, and a zero one for the windows that run past the top.
    let mut limbs = [0u64; 5];
    for (limb, chunk) in limbs.iter_mut().zip(bytes.rchunks_exact(8)) {
        let mut b = [0u8; 8];
        b.copy_from_slice(chunk);
        *limb = u64::from_be_bytes(b);
    }
    let mask = (1u64 << W) - 1;
    let mut out = [0i16; WINDOWS];
    let mut carry = 0i16;
    for (i, d) in out.iter_mut().enumerate() {
        let (limb, shift) = (W * i / 64, W * i % 64);
        let mut v = limbs[limb] >> shift;
        if shift + W > 64 {
            v |= limbs[limb + 1] << (64 - shift);
        }
        let v = (v & mask) as i16 + carry;
        (*d, carry) = if v > HALF as i16 {
            (v - (1 << W), 1)
        } else {
            (v, 0)
        };
    }
    out
}

/// A SEC1 uncompressed point on the curve (not the identity), as ring takes keys.
fn affine_key(key: &[u8]) -> Option<Affine> {
    if key.len() != 65 || key.first() != Some(&4) {
        return None;
    }
    p256::PublicKey::from_sec1_bytes(key).ok()?;
    let x: [u8; 32] = key.get(1..33)?.try_into().ok()?;
    let y: [u8; 32] = key.get(33..65)?.try_into().ok()?;
    let x = FieldElement::from_bytes(&x.into());
    let y = FieldElement::from_bytes(&y.into());
    Some(Affine {
        x: Option::from(x)?,
        y: Option::from(y)?,
    })
}

/// The generator's table, made with the first key's.
static GENERATOR: LazyLock<Option<Table>> = LazyLock::new(|| {
    let g = p256::AffinePoint::GENERATOR.to_encoded_point(false);
    Table::new(g.as_bytes())
});

/// An ECDSA-Sig-Value read strictly as DER, as ring does: two positive integers, minimally
/// encoded, at most 32 bytes each (returned left-padded), nothing after. Not trust's
/// `der_contents`, which takes long-form lengths: a P-256 signature never needs one, and
/// one written so is refused by ring, so it must not be accepted here.
fn der_signature(sig: &[u8]) -> Option<([u8; 32], [u8; 32])> {
    let (&tag, rest) = sig.split_first()?;
    let (&len, body) = rest.split_first()?;
    if tag != 0x30 || len >= 0x80 || usize::from(len) != body.len() {
        return None;
    }
    let (r, body) = der_uint(body)?;
    let (s, body) = der_uint(body)?;
    body.is_empty().then_some((r, s))
}

fn der_uint(input: &[u8]) -> Option<([u8; 32], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&len, rest) = rest.split_first()?;
    let len = usize::from(len);
    if tag != 0x02 || len == 0 || len >= 0x80 || rest.len() < len {
        return None;
    }
    let (v, rest) = rest.split_at(len);
    let negative = v[0] & 0x80 != 0;
    let padded = v.len() > 1 && v[0] == 0 && v[1] & 0x80 == 0;
    if negative || padded {
        return None;
    }
    let v = if v[0] == 0 { &v[1..] } else { v };
    if v.len() > 32 {
        return None;
    }
    let mut out = [0u8; 32];
    out[32 - v.len()..].copy_from_slice(v);
    Some((out, rest))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testrng::XorShift;
    use num_bigint::{BigInt, BigUint};
    use p256::elliptic_curve::sec1::FromEncodedPoint;
    use p256::{AffinePoint, EncodedPoint, ProjectivePoint};
    use ring::rand::SystemRandom;
    use ring::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_ASN1_SIGNING};

    fn ring_accepts(key: &[u8], message: &[u8], signature: &[u8]) -> bool {
        webpki::ring::ECDSA_P256_SHA256
            .verify_signature(key, message, signature)
            .is_ok()
    }

    fn key_pair(rng: &SystemRandom) -> EcdsaKeyPair {
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, rng)
            .expect("key generated");
        EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref(), rng)
            .expect("key read")
    }

    fn der_int(v: &[u8]) -> Vec<u8> {
        let mut v: Vec<u8> = v.iter().copied().skip_while(|&b| b == 0).collect();
        if v.first().is_none_or(|&b| b & 0x80 != 0) {
            v.insert(0, 0);
        }
        let mut out = vec![0x02, v.len() as u8];
        out.extend(v);
        out
    }

    fn der_sig(r: &[u8], s: &[u8]) -> Vec<u8> {
        let body: Vec<u8> = der_int(r).into_iter().chain(der_int(s)).collect();
        let mut out = vec![0x30, body.len() as u8];
        out.extend(body);
        out
    }

    fn uint(bytes: &[u8]) -> BigUint {
        BigUint::from_bytes_be(bytes)
    }

    fn be32(v: &BigUint) -> [u8; 32] {
        let b = v.to_bytes_be();
        let mut out = [0u8; 32];
        out[32 - b.len()..].copy_from_slice(&b);
        out
    }

    /// A tabled check accepts exactly what ring accepts: signatures as made, and altered
    /// ones (message or signature bits flipped, r or s moved by one, n - s, which is also
    /// valid, another key's signature).
    #[test]
    fn agrees_with_ring() {
        let rng = SystemRandom::new();
        let mut x = XorShift::new(0x7ab1ed);
        let n = uint(&N);
        let pairs: Vec<EcdsaKeyPair> = (0..4).map(|_| key_pair(&rng)).collect();
        let (mut accepted, mut refused) = (0, 0);
        for (k, pair) in pairs.iter().enumerate() {
            let key = pair.public_key().as_ref();
            let table = Table::new(key).expect("a table for a generated key");
            let other = &pairs[(k + 1) % pairs.len()];
            for i in 0..24 {
                let len = x.below(300) as usize;
                let message: Vec<u8> = (0..len).map(|_| x.below(256) as u8).collect();
                let sig = pair.sign(&rng, &message).expect("signed").as_ref().to_vec();
                let (r, s) = der_signature(&sig).expect("ring's signature reads");
                let mut cases = vec![(message.clone(), sig.clone())];
                let mut flipped = message.clone();
                if let Some(b) = flipped.get_mut(i % len.max(1)) {
                    *b ^= 1 << (i % 8);
                } else {
                    flipped.push(0);
                }
                cases.push((flipped, sig.clone()));
                let mut bit = sig.clone();
                let at = 4 + x.below(bit.len() as u64 - 4) as usize;
                bit[at] ^= 1 << x.below(8);
                cases.push((message.clone(), bit));
                let (rb, sb) = (uint(&r), uint(&s));
                cases.push((message.clone(), der_sig(&be32(&(&rb + 1u32)), &s)));
                cases.push((message.clone(), der_sig(&r, &be32(&(&sb + 1u32)))));
                cases.push((message.clone(), der_sig(&r, &be32(&(&n - &sb)))));
                let theirs = other.sign(&rng, &message).expect("signed");
                cases.push((message.clone(), theirs.as_ref().to_vec()));
                for (m, s) in &cases {
                    let ours = table.verify(m, s);
                    assert_eq!(ours, ring_accepts(key, m, s), "key {k}, round {i}");
                    if ours {
                        accepted += 1;
                    } else {
                        refused += 1;
                    }
                }
            }
        }
        // The made and the n - s signatures, and nothing else.
        assert_eq!((accepted, refused), (4 * 24 * 2, 4 * 24 * 5));
    }

    /// The rare acceptance: R's x coordinate in n..p, which stands for r = x - n. A key is
    /// made for a chosen R (Q = (s/r)·(R - (e/s)·G)), as no signer can aim at it.
    #[test]
    fn accepts_an_x_coordinate_above_the_order() {
        let n = uint(&N);
        let message = b"x(R) above n";
        let digest = ring::digest::digest(&ring::digest::SHA256, message);
        let e = <Scalar as Reduce<U256>>::reduce_bytes(
            &<[u8; 32]>::try_from(digest.as_ref())
                .expect("32 bytes")
                .into(),
        );
        let s = Scalar::from(0x5eed_u64);
        let mut t = 0u32;
        let (r_point, x) = loop {
            let x = be32(&(&n + t));
            let mut compressed = vec![2u8];
            compressed.extend(x);
            let encoded = EncodedPoint::from_bytes(&compressed).expect("encoding");
            if let Some(p) = Option::<AffinePoint>::from(AffinePoint::from_encoded_point(&encoded))
            {
                break (p, x);
            }
            t += 1;
        };
        let r_bytes = be32(&(uint(&x) - &n));
        let r = Option::<Scalar>::from(Scalar::from_repr(r_bytes.into())).expect("r below n");
        let s_inv = Option::<Scalar>::from(s.invert()).expect("s invertible");
        let r_inv = Option::<Scalar>::from(r.invert()).expect("r invertible");
        let q = (ProjectivePoint::from(r_point) - ProjectivePoint::GENERATOR * (e * s_inv))
            * (s * r_inv);
        let key = q.to_affine().to_encoded_point(false);
        let sig = der_sig(&r_bytes, &s.to_bytes());
        assert!(ring_accepts(key.as_bytes(), message, &sig));
        let table = Table::new(key.as_bytes()).expect("a table");
        assert!(table.verify(message, &sig));
        assert!(!table.verify(b"another message", &sig));
    }

    /// A generated number below n.
    fn below_n(x: &mut XorShift) -> BigUint {
        let bytes: Vec<u8> = (0..32).map(|_| x.below(256) as u8).collect();
        uint(&bytes) % uint(&N)
    }

    fn scalar(v: &BigUint) -> Scalar {
        Option::<Scalar>::from(Scalar::from_repr(be32(v).into())).expect("below n")
    }

    /// The inversion mod n is the `p256` crate's, and zero has none.
    #[test]
    fn inverses_mod_n() {
        use p256::elliptic_curve::ops::Invert;
        let n = uint(&N);
        let mut x = XorShift::new(0x1e7);
        let mut values = vec![
            BigUint::from(1u32),
            BigUint::from(2u32),
            &n - 1u32,
            &n - 2u32,
        ];
        for _ in 0..300 {
            values.push(below_n(&mut x));
        }
        for v in values.iter().filter(|v| **v != BigUint::from(0u32)) {
            let s = scalar(v);
            let ours = invert_mod_n(&s).expect("an inverse");
            assert_eq!(Some(ours), Option::<Scalar>::from(s.invert_vartime()));
            assert_eq!(ours * s, Scalar::ONE);
        }
        assert_eq!(invert_mod_n(&Scalar::ZERO), None);
    }

    /// The digits of edge and generated scalars add back up to them, each in its range.
    #[test]
    fn digits_add_up() {
        let n = uint(&N);
        let mut x = XorShift::new(0xd161);
        let mut values: Vec<BigUint> = vec![
            BigUint::from(0u32),
            BigUint::from(1u32),
            BigUint::from(128u32),
            BigUint::from(129u32),
            BigUint::from(255u32),
            &n - 1u32,
            &n - 128u32,
            BigUint::from(1u32) << 255,
            (BigUint::from(1u32) << 248) - 1u32,
        ];
        for _ in 0..500 {
            values.push(below_n(&mut x));
        }
        for v in values {
            let d = digits(&scalar(&v));
            assert!(d.iter().all(|&d| d > -(HALF as i16) && d <= HALF as i16));
            let sum = d.iter().enumerate().fold(BigInt::from(0), |acc, (i, &d)| {
                acc + (BigInt::from(d) << (W * i))
            });
            assert_eq!(sum, BigInt::from(v.clone()), "digits of {v:x}");
        }
    }

    /// Every entry of a table is its multiple, `d·2^(W·i)·P`, as the `p256` crate adds it up.
    #[test]
    fn every_entry_is_its_multiple() {
        let q = ProjectivePoint::GENERATOR * Scalar::from(0x5eed_u64);
        let table = Table::new(q.to_affine().to_encoded_point(false).as_bytes()).expect("a table");
        let mut base = q;
        for i in 0..WINDOWS {
            let mut multiple = base;
            for d in 1..=HALF {
                let want = multiple.to_affine().to_encoded_point(false);
                let got = table.stored(i, i16::try_from(d).expect("small"));
                assert_eq!(&got.x.to_bytes()[..], &want.as_bytes()[1..33], "{i} {d}");
                assert_eq!(&got.y.to_bytes()[..], &want.as_bytes()[33..65], "{i} {d}");
                multiple += base;
            }
            // HALF more additions give 2^W·base.
            for _ in 0..HALF {
                multiple += base;
            }
            base = multiple - base;
        }
    }

    /// `k·P` from a table is the `p256` crate's `k·P`, for the generator and another point.
    #[test]
    fn table_multiples_are_the_crates() {
        let n = uint(&N);
        let mut x = XorShift::new(0x3a5);
        let q = ProjectivePoint::GENERATOR * Scalar::from(0xc0ffee_u64);
        for point in [ProjectivePoint::GENERATOR, q] {
            let encoded = point.to_affine().to_encoded_point(false);
            let table = Table::new(encoded.as_bytes()).expect("a table");
            let mut ks = vec![
                BigUint::from(1u32),
                BigUint::from(2u32),
                BigUint::from(129u32),
                &n - 1u32,
                &n - 2u32,
            ];
            for _ in 0..40 {
                ks.push(below_n(&mut x));
            }
            for k in ks {
                let ours = table
                    .add_mul(Jacobian::INFINITY, &scalar(&k))
                    .to_affine()
                    .expect("not the infinity");
                let theirs = (point * scalar(&k)).to_affine().to_encoded_point(false);
                assert_eq!(&ours.x.to_bytes()[..], &theirs.as_bytes()[1..33]);
                assert_eq!(&ours.y.to_bytes()[..], &theirs.as_bytes()[33..65]);
            }
            // Two tables at once, as a check adds them.
            let (j, k) = (scalar(&BigUint::from(777u32)), scalar(&(&n - 5u32)));
            let generator = GENERATOR.as_ref().expect("the generator's table");
            let ours = sum_of([(generator, &j), (&table, &k)])
                .to_affine()
                .expect("not the infinity");
            let theirs = (ProjectivePoint::GENERATOR * j + point * k)
                .to_affine()
                .to_encoded_point(false);
            assert_eq!(&ours.x.to_bytes()[..], &theirs.as_bytes()[1..33]);
            assert_eq!(&ours.y.to_bytes()[..], &theirs.as_bytes()[33..65]);
            // k = 0 and k·P + (n - k)·P are the infinity.
            assert!(table
                .add_mul(Jacobian::INFINITY, &Scalar::ZERO)
                .is_infinity());
            let k = scalar(&BigUint::from(12345u32));
            let minus = scalar(&(&n - 12345u32));
            assert!(table
                .add_mul(table.add_mul(Jacobian::INFINITY, &k), &minus)
                .is_infinity());
        }
    }

    /// A key gets its table on its HOT-th check, and after it signatures are still told
    /// apart; a point off the curve gets none and its checks are ring's.
    #[test]
    fn a_hot_key_gets_a_table() {
        let rng = SystemRandom::new();
        let pair = key_pair(&rng);
        let key = pair.public_key().as_ref();
        let sig = pair.sign(&rng, b"tbs").expect("signed");
        let alg = &TABLED_P256_SHA256;
        for _ in 1..HOT {
            assert!(alg.verify_signature(key, b"tbs", sig.as_ref()).is_ok());
        }
        assert!(!has_table(key));
        assert!(alg.verify_signature(key, b"tbs", sig.as_ref()).is_ok());
        assert!(has_table(key));
        assert!(alg.verify_signature(key, b"tbs", sig.as_ref()).is_ok());
        assert!(alg.verify_signature(key, b"tbt", sig.as_ref()).is_err());
        let mut off = key.to_vec();
        off[64] ^= 1;
        for _ in 0..=HOT {
            assert!(alg.verify_signature(&off, b"tbs", sig.as_ref()).is_err());
        }
        assert!(!has_table(&off));
    }

    /// The count forgets the keys not yet hot when it is full, keeps tables within their
    /// limit, and gives none to a point off the curve.
    #[test]
    fn counting_is_bounded() {
        let rng = SystemRandom::new();
        let real: Vec<Vec<u8>> = (0..4)
            .map(|_| key_pair(&rng).public_key().as_ref().to_vec())
            .collect();
        let one_off = |i: u8| {
            let mut k = vec![4u8; 65];
            k[1] = i;
            k
        };
        let keys = Keys::new(3, 8, 2);
        // The third check makes the table, and returns it.
        assert!(keys.table_for(&real[0]).is_none());
        assert!(keys.table_for(&real[0]).is_none());
        assert!(keys.table_for(&real[0]).is_some());
        assert!(keys.has_table(&real[0]));
        // Two checks of another key, then the count fills with keys met once: it forgets
        // the other key's two checks, so its table comes on the third check after.
        keys.table_for(&real[1]);
        keys.table_for(&real[1]);
        for i in 0..8 {
            keys.table_for(&one_off(i));
        }
        assert!(keys.table_for(&real[1]).is_none());
        assert!(keys.table_for(&real[1]).is_none());
        assert!(keys.table_for(&real[1]).is_some());
        // Two tables are the limit: a third hot key is checked by ring.
        for _ in 0..5 {
            assert!(keys.table_for(&real[2]).is_none());
        }
        assert!(!keys.has_table(&real[2]));
        assert!(keys.has_table(&real[0]) && keys.has_table(&real[1]));
        // A point off the curve gets no table, and takes no table's place.
        let keys = Keys::new(3, 8, 1);
        for _ in 0..4 {
            assert!(keys.table_for(&one_off(200)).is_none());
        }
        for _ in 0..2 {
            keys.table_for(&real[3]);
        }
        assert!(keys.table_for(&real[3]).is_some());
    }

    #[test]
    fn constants() {
        let p = uint(&[
            0xff, 0xff, 0xff, 0xff, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff,
            0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        ]);
        assert_eq!(be32(&(&p - uint(&N))), P_MINUS_N);
        // n - 1 is the largest scalar.
        assert!(bool::from(Scalar::from_repr(N.into()).is_none()));
        assert!(bool::from(
            Scalar::from_repr(be32(&(uint(&N) - 1u32)).into()).is_some()
        ));
        // The trust list has ours in ring's place, once.
        let ours = TRUST_ALGS
            .iter()
            .filter(|a| std::ptr::addr_eq(**a, &TABLED_P256_SHA256))
            .count();
        assert_eq!(ours, 1);
        assert_eq!(TRUST_ALGS.len(), webpki::ALL_VERIFICATION_ALGS.len());
    }
}
