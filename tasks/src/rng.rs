//! A small seeded generator (SplitMix64): synthesis must give the same tasks for the same
//! seed on every platform and library version, so no external RNG whose stream may change.

use sha2::{Digest, Sha256};

pub struct Rng(u64);

impl Rng {
    /// A generator for one purpose of one run: the seed and the labels are hashed, so
    /// attempts are independent of each other and of their order.
    pub fn derive(seed: u64, labels: &[&[u8]]) -> Rng {
        let mut h = Sha256::new();
        h.update(b"simweb-tasks/v1");
        h.update(seed.to_le_bytes());
        for l in labels {
            h.update((l.len() as u64).to_le_bytes());
            h.update(l);
        }
        let d = h.finalize();
        let mut b = [0u8; 8];
        b.copy_from_slice(&d[..8]);
        Rng(u64::from_le_bytes(b))
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n` > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    pub fn coin(&mut self) -> bool {
        self.next_u64() & 1 == 1
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> Option<&'a T> {
        (!items.is_empty()).then(|| &items[self.below(items.len())])
    }

    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i + 1);
            items.swap(i, j);
        }
    }
}
