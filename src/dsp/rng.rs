//! A small, fast, seeded random source (xorshift64*), so noise and dither repeat exactly.

/// Deterministic pseudo-random generator; equal seeds give equal sequences.
#[derive(Clone, Copy, Debug)]
pub struct Rng {
    state: u64,
}

impl Rng {
    /// A generator from a seed (any value, zero included).
    pub fn new(seed: u64) -> Rng {
        // splitmix64 scrambles the seed so that nearby seeds give unrelated streams.
        let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        Rng { state: z | 1 }
    }

    /// Mixes several integers into one seed.
    pub fn seed_from(parts: &[u64]) -> u64 {
        parts.iter().fold(0xCBF2_9CE4_8422_2325u64, |h, &p| {
            (h ^ p).wrapping_mul(0x1000_0000_01B3).rotate_left(17)
        })
    }

    /// Next 64 random bits.
    #[inline]
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.state;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.state = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// 32 bits of the current state, without advancing: a key for a counter-based source
    /// (the oscillators' noise), the same until the generator next moves.
    #[inline]
    pub fn key32(&self) -> u32 {
        (self.state >> 32) as u32 ^ self.state as u32
    }

    /// Uniform in [-1, 1).
    #[inline]
    pub fn bipolar(&mut self) -> f32 {
        ((self.next_u64() >> 40) as f32) * (2.0 / (1u64 << 24) as f32) - 1.0
    }

    /// Uniform in [0, 1).
    #[inline]
    pub fn unit(&mut self) -> f32 {
        ((self.next_u64() >> 40) as f32) * (1.0 / (1u64 << 24) as f32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_sequence_and_range() {
        let mut a = Rng::new(42);
        let mut b = Rng::new(42);
        let mut sum = 0.0f64;
        for _ in 0..10_000 {
            let x = a.bipolar();
            assert_eq!(x, b.bipolar());
            assert!((-1.0..1.0).contains(&x));
            sum += x as f64;
        }
        assert!(sum.abs() / 10_000.0 < 0.03, "mean {}", sum / 10_000.0);
        assert_ne!(Rng::new(1).next_u64(), Rng::new(2).next_u64());
    }
}
