//! The generated tests' random numbers: a seeded xorshift, so that a failing round is the
//! same round on every run and machine (no crate's generator can change it under us).

/// Marsaglia's xorshift (13, 7, 17) over a 64-bit state.
pub(crate) struct XorShift(u64);

impl XorShift {
    /// A generator from `seed` (not zero: xorshift stays at zero).
    pub(crate) fn new(seed: u64) -> Self {
        XorShift(seed.max(1))
    }

    /// A number below `n` (`n` above zero).
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}
