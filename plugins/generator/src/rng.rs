//! The generator's only source of randomness: SplitMix64, written out here so that a
//! (config, seed) pair yields the same bytes on every platform and in every release.

/// SplitMix64 (Steele, Lea and Flood, 2014): tiny, fast, and fully specified, so its
/// stream never changes under us the way a library's default generator may.
#[derive(Debug, Clone)]
pub struct Rng {
    state: u64,
}

impl Rng {
    /// Starts a stream; equal seeds give equal streams.
    pub fn new(seed: u64) -> Self {
        Self { state: seed }
    }

    /// The next 64 random bits; every other method draws from here.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (0 when `n` is 0), by multiply-shift; the bias is below 2^-32
    /// for every `n` this crate uses.
    pub fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// A uniform float in `[0, 1)` built from 53 random bits.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// True with probability `p`; used for the optional parts of a record.
    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// One element of a non-empty slice, uniformly.
    pub fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize]
    }

    /// A number in `0..n` with a head of popular values: a fifth of the draws land on
    /// the first 5% (at least one), the rest spread evenly, as with real users and products.
    pub fn popular(&mut self, n: u64) -> u64 {
        if self.chance(0.2) {
            self.below((n / 20).max(1))
        } else {
            self.below(n)
        }
    }

    /// Noise in `(-1, 1)`, peaked at 0 (the sum of two uniforms, minus one): close enough
    /// to a bell curve for sensor jitter, with only exact IEEE arithmetic so every
    /// platform gets the same bits (no `ln` or `cos` from a platform's libm).
    pub fn jitter(&mut self) -> f64 {
        self.unit() + self.unit() - 1.0
    }

    /// One element of a non-empty slice of `(item, weight)` pairs, in proportion to its weight.
    pub fn pick_weighted<T: Copy>(&mut self, items: &[(T, u32)]) -> T {
        let total: u64 = items.iter().map(|(_, w)| u64::from(*w)).sum();
        let mut roll = self.below(total);
        for (item, weight) in items {
            let weight = u64::from(*weight);
            if roll < weight {
                return *item;
            }
            roll -= weight;
        }
        items[items.len() - 1].0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_reference_splitmix64_stream() {
        // First outputs of the reference C implementation seeded with 1234567.
        let mut rng = Rng::new(1_234_567);
        assert_eq!(rng.next_u64(), 6_457_827_717_110_365_317);
        assert_eq!(rng.next_u64(), 3_203_168_211_198_807_973);
        assert_eq!(rng.next_u64(), 9_817_491_932_198_370_423);
    }

    #[test]
    fn below_stays_in_range_and_covers_it() {
        let mut rng = Rng::new(7);
        let mut seen = [false; 10];
        for _ in 0..1000 {
            let n = rng.below(10);
            assert!(n < 10);
            seen[n as usize] = true;
        }
        assert!(seen.iter().all(|s| *s));
        assert_eq!(rng.below(0), 0);
    }

    #[test]
    fn unit_is_half_open() {
        let mut rng = Rng::new(99);
        for _ in 0..10_000 {
            let u = rng.unit();
            assert!((0.0..1.0).contains(&u));
        }
    }

    #[test]
    fn popular_favours_the_head_but_reaches_the_tail() {
        let mut rng = Rng::new(11);
        let mut head = 0;
        let mut seen = [false; 200];
        for _ in 0..20_000 {
            let n = rng.popular(200);
            seen[n as usize] = true;
            if n < 10 {
                head += 1;
            }
        }
        // 20% + 80% * 10/200 = 24% of draws in the first 10.
        assert!((4_400..5_200).contains(&head), "{head}");
        assert!(seen.iter().all(|s| *s));
        assert_eq!(rng.popular(1), 0);
    }

    #[test]
    fn jitter_is_centred_and_peaked() {
        let mut rng = Rng::new(5);
        let draws: Vec<f64> = (0..10_000).map(|_| rng.jitter()).collect();
        assert!(draws.iter().all(|d| (-1.0..1.0).contains(d)));
        let mean = draws.iter().sum::<f64>() / 10_000.0;
        assert!(mean.abs() < 0.02, "{mean}");
        // A triangle puts 75% of its mass within half the range of the centre.
        let inner = draws.iter().filter(|d| d.abs() < 0.5).count();
        assert!((7_200..7_800).contains(&inner), "{inner}");
    }

    #[test]
    fn pick_weighted_follows_weights() {
        let mut rng = Rng::new(3);
        let items = [("a", 70), ("b", 20), ("c", 10)];
        let mut counts = [0u32; 3];
        for _ in 0..10_000 {
            match rng.pick_weighted(&items) {
                "a" => counts[0] += 1,
                "b" => counts[1] += 1,
                _ => counts[2] += 1,
            }
        }
        assert!((6_700..7_300).contains(&counts[0]), "{counts:?}");
        assert!((1_700..2_300).contains(&counts[1]), "{counts:?}");
        assert!((800..1_200).contains(&counts[2]), "{counts:?}");
    }
}
