//! Scores and how the best are kept: the row order every tie falls back on, a bounded
//! heap for small `k`, a sampled cut-off for the first stage's thousands of candidates.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

/// Running sums of a dot product: the compiler turns a fixed number of them into SIMD
/// lanes (one running sum cannot be: float addition does not reassociate).
const LANES: usize = 16;

/// The dot product of `a` and `b` (read through `to_f32`), summed in [`LANES`] running
/// sums in a fixed order, then the tail: the same bits on every run. The int8 rescoring
/// and the rotation both go through it.
#[inline(always)]
pub(crate) fn dot<T: Copy>(a: &[f32], b: &[T], to_f32: impl Fn(T) -> f32) -> f32 {
    let mut lanes = [0f32; LANES];
    let (a_lanes, b_lanes) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let (a_rest, b_rest) = (a_lanes.remainder(), b_lanes.remainder());
    for (x, y) in a_lanes.zip(b_lanes) {
        for i in 0..LANES {
            lanes[i] += x[i] * to_f32(y[i]);
        }
    }
    let mut sum = lanes.iter().sum::<f32>();
    for (x, &y) in a_rest.iter().zip(b_rest) {
        sum += x * to_f32(y);
    }
    sum
}

/// Keeps the `k` greatest of `scored`, in no particular order (a selection, not a sort).
pub(crate) fn keep_best(scored: &mut Vec<Scored>, k: usize) {
    if scored.len() > k {
        if k > 0 {
            scored.select_nth_unstable_by(k - 1, |a, b| b.cmp(a));
        }
        scored.truncate(k);
    }
}

/// A row and its score; greater = better (higher score, then earlier row).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Scored {
    pub(crate) score: f32,
    pub(crate) row: usize,
}

impl PartialEq for Scored {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Scored {}
impl PartialOrd for Scored {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Scored {
    fn cmp(&self, other: &Self) -> Ordering {
        self.score
            .total_cmp(&other.score)
            .then_with(|| other.row.cmp(&self.row))
    }
}

/// The `k` greatest [`Scored`] offered (a min-heap of the best so far).
pub(crate) struct TopK {
    k: usize,
    heap: BinaryHeap<std::cmp::Reverse<Scored>>,
}

impl TopK {
    pub(crate) fn new(k: usize) -> Self {
        TopK {
            k,
            heap: BinaryHeap::with_capacity(k + 1),
        }
    }

    pub(crate) fn offer(&mut self, s: Scored) {
        if self.heap.len() < self.k {
            self.heap.push(std::cmp::Reverse(s));
        } else if self.heap.peek().is_some_and(|min| s > min.0) {
            self.heap.pop();
            self.heap.push(std::cmp::Reverse(s));
        }
    }

    pub(crate) fn into_vec(self) -> Vec<Scored> {
        self.heap.into_iter().map(|r| r.0).collect()
    }
}

/// The bit score of a row outside the searched language (no real score is this low).
pub(crate) const OUTSIDE: f32 = f32::NEG_INFINITY;
/// One row in this many is sampled to guess the first stage's cut-off.
pub(crate) const SAMPLE_STRIDE: usize = 16;

/// The `wanted` best of `scores` (those of rows `start..`) as [`Scored`], leaving out
/// [`OUTSIDE`] rows, in no particular order; ties go to the earlier row. Linear, not a
/// heap of `wanted`: a sample of the scores gives a cut-off that about twice `wanted`
/// rows pass, and only those are selected among (every row, if too few pass).
pub(crate) fn best_rows(scores: &[f32], start: usize, wanted: usize) -> Vec<Scored> {
    if wanted == 0 {
        return Vec::new();
    }
    let scored_above = |floor: f32| -> Vec<Scored> {
        scores
            .iter()
            .enumerate()
            .filter(|&(_, &score)| score >= floor && score != OUTSIDE)
            .map(|(i, &score)| Scored {
                score,
                row: start + i,
            })
            .collect()
    };
    let mut sample: Vec<f32> = scores.iter().step_by(SAMPLE_STRIDE).copied().collect();
    let rank = (2 * wanted).div_ceil(SAMPLE_STRIDE);
    let mut best = if rank < sample.len() {
        let (_, &mut floor, _) = sample.select_nth_unstable_by(rank, |a, b| b.total_cmp(a));
        let passed = scored_above(floor);
        if passed.len() >= wanted {
            passed
        } else {
            scored_above(f32::MIN)
        }
    } else {
        scored_above(f32::MIN)
    };
    keep_best(&mut best, wanted);
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reference: sort everything, keep the first `wanted`.
    fn sorted_best(scores: &[f32], start: usize, wanted: usize) -> Vec<Scored> {
        let mut all: Vec<Scored> = scores
            .iter()
            .enumerate()
            .filter(|(_, &s)| s != OUTSIDE)
            .map(|(i, &score)| Scored {
                score,
                row: start + i,
            })
            .collect();
        all.sort_by(|a, b| b.cmp(a));
        all.truncate(wanted);
        all
    }

    #[test]
    fn the_sampled_cut_off_keeps_exactly_the_best_with_ties_to_the_earlier_row() {
        // Few distinct values (many ties), some rows outside the filter, and a tail of
        // high scores the sample mostly misses (so the fallback to every row runs too).
        let mut scores: Vec<f32> = (0..10_000u32)
            .map(|i| ((i.wrapping_mul(2_654_435_761) >> 20) % 50) as f32)
            .collect();
        for i in (0..scores.len()).step_by(7) {
            scores[i] = OUTSIDE;
        }
        scores.extend([100.0, 99.0, 100.0]);
        for wanted in [0, 1, 3, 10, 400, 2_000, 9_000, 20_000] {
            let mut got = best_rows(&scores, 5, wanted);
            got.sort_by(|a, b| b.cmp(a));
            assert_eq!(got, sorted_best(&scores, 5, wanted), "wanted {wanted}");
        }
        // Only the sampled rows score high: too few pass the sample's cut-off, and the
        // selection falls back to every row.
        let skewed: Vec<f32> = (0..4_000)
            .map(|i| {
                if i % SAMPLE_STRIDE == 0 {
                    1_000.0 + i as f32
                } else {
                    0.0
                }
            })
            .collect();
        let mut got = best_rows(&skewed, 0, 100);
        got.sort_by(|a, b| b.cmp(a));
        assert_eq!(got, sorted_best(&skewed, 0, 100));
        let all_outside = vec![OUTSIDE; 100];
        assert!(best_rows(&all_outside, 0, 10).is_empty());
    }
}
