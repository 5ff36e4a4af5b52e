//! The first stage of a large index's search: each row kept as the signs of its centred,
//! rotated vector (`bits.bin`), and the query as 4-bit planes scored against them.
//!
//! Centring matters because e5's vectors share one large common direction, which
//! uncentred signs would mostly encode; the fixed random rotation spreads each row's
//! energy over all the bits, so none is spent on a near-zero component. Both were
//! measured on real vectors (BENCHMARKS.md, "Dense, third step").

use std::io::Write;
use std::path::Path;

use crate::error::{DenseError, Result};
use crate::ranking::dot;

/// The seed of the rotation (part of the format: changing it changes every `bits.bin`).
const ROTATION_SEED: u64 = 0x5EED_D1CE_0F5E_ED00;

/// A query in the first stage's form. Its rotated, centred components x are quantized
/// to 4 bits, x ~ lo + delta * u with u in 0..=15, and u is held as four bit planes laid
/// out like a row's sign bits. A row's bit score, the sum of x over the row's set bits
/// (which ranks rows as the dot product of x with their ±1 sign vectors does, and keeps
/// the magnitudes a Hamming distance throws away), is then
/// `lo * ones + delta * (p0 + 2 p1 + 4 p2 + 8 p3)` with `ones` the row's set bits and
/// `pb` those also set in plane b: five popcounts per word, all integers until the last
/// step. Four bits lose almost no recall against the f32 sum (BENCHMARKS.md).
pub(crate) struct PlaneQuery {
    lo: f32,
    pub(crate) delta: f32,
    /// Per word of a row: the word's bits of planes 0..4.
    planes: Vec<[u64; 4]>,
}

impl PlaneQuery {
    pub(crate) fn new(x: &[f32], words: usize) -> Self {
        let lo = x.iter().copied().fold(f32::INFINITY, f32::min);
        let hi = x.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let delta = if hi > lo { (hi - lo) / 15.0 } else { 1.0 };
        let mut planes = vec![[0u64; 4]; words];
        for (k, &v) in x.iter().enumerate() {
            let u = ((v - lo) / delta).round().clamp(0.0, 15.0) as u8;
            for (b, plane) in planes[k / 64].iter_mut().enumerate() {
                *plane |= u64::from(u >> b & 1) << (k % 64);
            }
        }
        PlaneQuery {
            lo: if lo.is_finite() { lo } else { 0.0 },
            delta,
            planes,
        }
    }

    #[inline(always)]
    pub(crate) fn score(&self, code: &[u64]) -> f32 {
        let (mut ones, mut weighted) = (0u32, 0u32);
        for (&c, p) in code.iter().zip(&self.planes) {
            ones += c.count_ones();
            weighted += (c & p[0]).count_ones()
                + 2 * (c & p[1]).count_ones()
                + 4 * (c & p[2]).count_ones()
                + 8 * (c & p[3]).count_ones();
        }
        self.lo * ones as f32 + self.delta * weighted as f32
    }
}

/// Packs signs into `words` little-endian u64 (bit i of word i / 64 = component i).
pub(crate) fn sign_bits(signs: impl Iterator<Item = bool>, words: usize) -> Vec<u64> {
    let mut out = vec![0u64; words];
    for (i, positive) in signs.enumerate() {
        if positive {
            out[i / 64] |= 1 << (i % 64);
        }
    }
    out
}

/// A `dims` x `dims` orthogonal matrix, row-major, the same on every machine: modified
/// Gram–Schmidt in f64 over rows drawn uniformly from [-1, 1) by a seeded xorshift,
/// using only operations IEEE 754 rounds exactly (+, -, *, /, sqrt).
pub fn rotation(dims: usize) -> Vec<f32> {
    let mut state = ROTATION_SEED;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as f64 / (1u64 << 52) as f64 - 1.0
    };
    let mut rows: Vec<Vec<f64>> = Vec::with_capacity(dims);
    while rows.len() < dims {
        let mut v: Vec<f64> = (0..dims).map(|_| next()).collect();
        for r in &rows {
            let dot: f64 = v.iter().zip(r).map(|(a, b)| a * b).sum();
            for (x, y) in v.iter_mut().zip(r) {
                *x -= dot * y;
            }
        }
        let norm = v.iter().map(|x| x * x).sum::<f64>().sqrt();
        // A draw (almost) inside the span of the rows so far is drawn again.
        if norm > 1e-6 {
            rows.push(v.into_iter().map(|x| x / norm).collect());
        }
    }
    rows.into_iter().flatten().map(|x| x as f32).collect()
}

/// `rotation` (row-major, `x.len()` square) times `x`. Queries and rows go through this
/// one function, so both are rotated by the same arithmetic.
pub(crate) fn rotate<'a>(rotation: &'a [f32], x: &'a [f32]) -> impl Iterator<Item = f32> + 'a {
    rotation
        .chunks_exact(x.len())
        .map(move |r| dot(r, x, |v| v))
}

/// Writes `mean.f32`, `rotation.f32` and `bits.bin` (signs of R (row - `mean`)) from the
/// rows and scales already on disk, streaming them.
pub(crate) fn write_rotated_bits(dir: &Path, mean: &[f32], count: usize) -> Result<()> {
    use std::io::Read;
    let dims = mean.len();
    let words = dims.div_ceil(64);
    let floats = |name: &str, values: &[f32]| -> Result<()> {
        let path = dir.join(name);
        let bytes: Vec<u8> = values.iter().flat_map(|m| m.to_le_bytes()).collect();
        std::fs::write(&path, bytes).map_err(|e| DenseError::file(&path, e))
    };
    let rotation = rotation(dims);
    floats("mean.f32", mean)?;
    floats("rotation.f32", &rotation)?;
    let open = |name: &str| -> Result<std::io::BufReader<std::fs::File>> {
        let path = dir.join(name);
        let f = std::fs::File::open(&path).map_err(|e| DenseError::file(&path, e))?;
        Ok(std::io::BufReader::with_capacity(1 << 20, f))
    };
    let (mut rows, mut scales) = (open("vectors.i8")?, open("scales.f32")?);
    let bits_path = dir.join("bits.bin");
    let file = std::fs::File::create(&bits_path).map_err(|e| DenseError::file(&bits_path, e))?;
    let mut out = std::io::BufWriter::with_capacity(1 << 20, file);
    // Blocks of rows, each block's rotations split over the cores (the bits of a row do
    // not depend on the split).
    const BLOCK: usize = 8192;
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(8));
    let row_bits = |row: &[u8], scale: &[u8]| -> Vec<u64> {
        let scale = f32::from_le_bytes([scale[0], scale[1], scale[2], scale[3]]);
        let centred: Vec<f32> = row
            .iter()
            .zip(mean)
            .map(|(&x, &m)| f32::from(x as i8) * scale - m)
            .collect();
        sign_bits(rotate(&rotation, &centred).map(|x| x > 0.0), words)
    };
    let mut done = 0;
    while done < count {
        let n = BLOCK.min(count - done);
        let (mut block, mut block_scales) = (vec![0u8; n * dims], vec![0u8; n * 4]);
        rows.read_exact(&mut block)
            .and_then(|()| scales.read_exact(&mut block_scales))
            .map_err(|e| DenseError::file(dir, e))?;
        let per = n.div_ceil(threads).max(1);
        let parts: Vec<Vec<u64>> = std::thread::scope(|scope| {
            let handles: Vec<_> = block
                .chunks(per * dims)
                .zip(block_scales.chunks(per * 4))
                .map(|(rows, scales)| {
                    scope.spawn(move || {
                        rows.chunks_exact(dims)
                            .zip(scales.chunks_exact(4))
                            .flat_map(|(row, scale)| row_bits(row, scale))
                            .collect::<Vec<u64>>()
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_default())
                .collect()
        });
        let bytes: Vec<u8> = parts
            .iter()
            .flatten()
            .flat_map(|w| w.to_le_bytes())
            .collect();
        if bytes.len() != n * words * 8 {
            return Err(DenseError::file(&bits_path, "a rotation thread failed"));
        }
        out.write_all(&bytes)
            .map_err(|e| DenseError::file(&bits_path, e))?;
        done += n;
    }
    let f = out
        .into_inner()
        .map_err(|e| DenseError::file(&bits_path, e.error().to_string()))?;
    f.sync_all().map_err(|e| DenseError::file(&bits_path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rotation_is_orthogonal_and_fixed() {
        for dims in [8, 384] {
            let r = rotation(dims);
            assert_eq!(r, rotation(dims));
            for i in 0..dims {
                for j in 0..dims {
                    let dot: f32 = (0..dims).map(|k| r[i * dims + k] * r[j * dims + k]).sum();
                    let want = if i == j { 1.0 } else { 0.0 };
                    assert!(
                        (dot - want).abs() < 1e-5,
                        "{dims}: row {i} . row {j} = {dot}"
                    );
                }
            }
        }
    }
}
