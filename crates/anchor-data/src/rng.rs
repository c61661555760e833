//! The one source of randomness for data generation.
//!
//! Only the ChaCha8 stream comes from a crate; the integer sampling below is ours and
//! written out, so a dataset depends on (task config, seed) and this file, not on how a
//! version of `rand` happens to map bits to ranges. A reimplementation in another language
//! can reproduce a dataset bit for bit from this description.

use rand_chacha::ChaCha8Rng;
use rand_core::{RngCore, SeedableRng};

/// Seeded generator with the few sampling primitives the tasks need.
pub struct DataRng {
    inner: ChaCha8Rng,
}

impl DataRng {
    /// `seed_from_u64` of rand_core 0.9 (a documented PCG32 key expansion).
    pub fn new(seed: u64) -> Self {
        Self {
            inner: ChaCha8Rng::seed_from_u64(seed),
        }
    }

    /// An independent stream of the same seed (e.g. the data order of one epoch).
    pub fn with_stream(seed: u64, stream: u64) -> Self {
        let mut inner = ChaCha8Rng::seed_from_u64(seed);
        inner.set_stream(stream);
        Self { inner }
    }

    /// Uniform integer in `lo..=hi` (Lemire's multiply-and-reject, unbiased).
    pub fn uniform(&mut self, lo: u32, hi: u32) -> u32 {
        assert!(lo <= hi, "uniform({lo}, {hi}): empty range");
        let range = (hi - lo).wrapping_add(1);
        if range == 0 {
            return self.inner.next_u32(); // the full u32 range
        }
        // Values of the low word below `threshold` would over-represent some outcomes.
        let threshold = range.wrapping_neg() % range;
        loop {
            let m = u64::from(self.inner.next_u32()) * u64::from(range);
            if (m as u32) >= threshold {
                return lo + (m >> 32) as u32;
            }
        }
    }

    /// Uniform index in `0..n` (n > 0).
    pub fn index(&mut self, n: usize) -> usize {
        assert!(n > 0 && n <= u32::MAX as usize, "index({n}): out of range");
        self.uniform(0, (n - 1) as u32) as usize
    }

    /// Fisher-Yates shuffle, last element first.
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.index(i + 1);
            items.swap(i, j);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uniform_stays_in_range_and_hits_every_value() {
        let mut rng = DataRng::new(7);
        let mut seen = [0usize; 80];
        for _ in 0..80_000 {
            let v = rng.uniform(20, 99);
            assert!((20..=99).contains(&v));
            seen[(v - 20) as usize] += 1;
        }
        // 1000 expected per value; 6 sigma is about 190.
        for (i, &c) in seen.iter().enumerate() {
            assert!((800..=1200).contains(&c), "value {} drawn {c} times", i + 20);
        }
    }

    #[test]
    fn same_seed_same_stream_other_seed_other_stream() {
        let draw = |s| {
            let mut r = DataRng::new(s);
            (0..32).map(|_| r.uniform(0, 1000)).collect::<Vec<_>>()
        };
        let (first, again, other) = (draw(1), draw(1), draw(2));
        assert_eq!(first, again, "a seed must give the same stream every time");
        assert_ne!(first, other);
    }

    #[test]
    fn shuffle_is_a_permutation() {
        let mut rng = DataRng::new(3);
        let mut v: Vec<usize> = (0..100).collect();
        rng.shuffle(&mut v);
        assert_ne!(v, (0..100).collect::<Vec<_>>());
        v.sort_unstable();
        assert_eq!(v, (0..100).collect::<Vec<_>>());
    }
}
