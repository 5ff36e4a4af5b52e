//! The inverted-file partition of a large index: its rows clustered around 2 √rows
//! centroids, so that a search scores only the rows of the lists whose centroids are
//! nearest the query instead of every row. The first stage's cost then grows with the
//! probed fraction of the index, not with the index (BENCHMARKS.md, "Dense, fourth step").
//!
//! ```text
//! centroids.f32  lists x dims f32: unit vectors, row-major
//! lists.bin      u32 little endian: lists + 1 offsets into what follows, then every row
//!                once, grouped by list, ascending within a list
//! ```
//!
//! Training is spherical k-means over an evenly spaced sample of the rows, seeded by
//! position and run for a fixed number of rounds; each row then joins its nearest
//! centroid (ties to the lower list). Every step is a pure function of the rows, and the
//! sums are taken in sample order on one thread, so the partition is the same bytes
//! however many cores build it.

use std::io::Write;
use std::path::Path;

use crate::error::{DenseError, Result};
use crate::index::{cores, in_ranges, TWO_STAGE_MIN_ROWS};
use crate::ranking::{dot, Scored};

/// A search probes one list in this many (nearest first), by default.
pub const LISTS_PER_PROBE: usize = 16;
/// Training samples per list.
const SAMPLE_PER_LIST: usize = 64;
/// k-means rounds.
const ROUNDS: usize = 8;
/// Rows assigned together, so each centroid is read once per block rather than per row.
const BLOCK_ROWS: usize = 16;

/// How many lists an index of `rows` rows is partitioned into: none below
/// [`TWO_STAGE_MIN_ROWS`] (such an index is scanned exactly), else 2 √rows. Smaller lists
/// route a query more precisely (on real vectors, 2 √rows lists probed at 1/16 beat √rows
/// at 1/8 while reading half the rows); more would make routing, which reads every
/// centroid (1.5 KB at 384 dims: 3 MB at 1 M rows, 14 MB at 21 M), and k-means cost more.
pub fn list_count(rows: usize) -> usize {
    if rows < TWO_STAGE_MIN_ROWS {
        0
    } else {
        (2.0 * (rows as f64).sqrt()).round() as usize
    }
}

/// How many of `lists` lists a search probes with one list in `lists_per_probe`.
pub fn probes(lists: usize, lists_per_probe: usize) -> usize {
    lists.div_ceil(lists_per_probe.max(1))
}

/// Centroids and the rows of each.
#[derive(Debug, Clone, PartialEq)]
pub struct Partition {
    dims: usize,
    centroids: Vec<f32>,
    offsets: Vec<u32>,
    rows: Vec<u32>,
}

impl Partition {
    /// No lists: an index searched without a partition.
    pub fn empty(dims: usize) -> Self {
        Partition {
            dims,
            centroids: Vec::new(),
            offsets: vec![0],
            rows: Vec::new(),
        }
    }

    pub fn lists(&self) -> usize {
        self.offsets.len() - 1
    }

    /// The rows of list `list`, ascending.
    pub(crate) fn list(&self, list: usize) -> &[u32] {
        &self.rows[self.offsets[list] as usize..self.offsets[list + 1] as usize]
    }

    /// Every list, nearest `query` first (by centroid score; ties to the lower list).
    pub(crate) fn ranked_lists(&self, query: &[f32]) -> Vec<usize> {
        let mut scored: Vec<Scored> = self
            .centroids
            .chunks_exact(self.dims)
            .enumerate()
            .map(|(row, c)| Scored {
                score: dot(query, c, |v| v),
                row,
            })
            .collect();
        scored.sort_unstable_by(|a, b| b.cmp(a));
        scored.into_iter().map(|s| s.row).collect()
    }

    /// Trains `lists` lists over `count` rows of `dims` int8 components (`vectors`,
    /// row-major) with one scale each.
    pub fn train(vectors: &[u8], scales: &[f32], dims: usize, lists: usize) -> Self {
        let count = scales.len();
        let lists = lists.min(count);
        if lists == 0 {
            return Partition::empty(dims);
        }
        let row = |r: usize, out: &mut Vec<f32>| {
            let scale = scales[r];
            out.extend(
                vectors[r * dims..(r + 1) * dims]
                    .iter()
                    .map(|&x| f32::from(x as i8) * scale),
            );
        };
        let samples = count.min(SAMPLE_PER_LIST * lists);
        // Minutes at tens of millions of rows: say where it is.
        let started = std::time::Instant::now();
        tracing::info!(
            rows = count,
            lists,
            samples,
            rounds = ROUNDS,
            "training the partition (k-means)"
        );
        let mut sample = Vec::with_capacity(samples * dims);
        for i in 0..samples {
            row(i * count / samples, &mut sample);
        }
        let mut centroids = Vec::with_capacity(lists * dims);
        for j in 0..lists {
            let s = j * samples / lists;
            centroids.extend_from_slice(&sample[s * dims..(s + 1) * dims]);
        }
        for round in 1..=ROUNDS {
            let nearest = nearest_centroids(&centroids, dims, samples, |r, out| {
                out.extend_from_slice(&sample[r * dims..(r + 1) * dims])
            });
            let mut sums = vec![0f64; lists * dims];
            for (point, &list) in sample.chunks_exact(dims).zip(&nearest) {
                let sum = &mut sums[list as usize * dims..(list as usize + 1) * dims];
                for (s, &x) in sum.iter_mut().zip(point) {
                    *s += f64::from(x);
                }
            }
            // A list no sample joined keeps its centroid.
            for (c, sum) in centroids
                .chunks_exact_mut(dims)
                .zip(sums.chunks_exact(dims))
            {
                let norm = sum.iter().map(|x| x * x).sum::<f64>().sqrt();
                if norm > 0.0 {
                    for (x, s) in c.iter_mut().zip(sum) {
                        *x = (s / norm) as f32;
                    }
                }
            }
            tracing::debug!(
                round,
                seconds = started.elapsed().as_secs_f64(),
                "k-means round"
            );
        }
        tracing::info!(
            seconds = started.elapsed().as_secs_f64(),
            "centroids trained; assigning every row"
        );
        let nearest = nearest_centroids(&centroids, dims, count, row);
        let mut offsets = vec![0u32; lists + 1];
        for &list in &nearest {
            offsets[list as usize + 1] += 1;
        }
        for j in 0..lists {
            offsets[j + 1] += offsets[j];
        }
        let mut next: Vec<u32> = offsets[..lists].to_vec();
        let mut rows = vec![0u32; count];
        for (r, &list) in nearest.iter().enumerate() {
            rows[next[list as usize] as usize] = r as u32;
            next[list as usize] += 1;
        }
        tracing::info!(seconds = started.elapsed().as_secs_f64(), "partition built");
        Partition {
            dims,
            centroids,
            offsets,
            rows,
        }
    }

    /// Writes `centroids.f32` and `lists.bin` into `dir`.
    pub(crate) fn write(&self, dir: &Path) -> Result<()> {
        let write = |name: &str, bytes: Vec<u8>| -> Result<()> {
            let path = dir.join(name);
            let mut f = std::fs::File::create(&path).map_err(|e| DenseError::file(&path, e))?;
            f.write_all(&bytes)
                .and_then(|()| f.sync_all())
                .map_err(|e| DenseError::file(&path, e))
        };
        write(
            "centroids.f32",
            self.centroids
                .iter()
                .flat_map(|x| x.to_le_bytes())
                .collect(),
        )?;
        write(
            "lists.bin",
            self.offsets
                .iter()
                .chain(&self.rows)
                .flat_map(|x| x.to_le_bytes())
                .collect(),
        )
    }

    /// Reads what [`Partition::write`] wrote for an index of `count` rows, checking that
    /// every row is in exactly one list.
    pub(crate) fn read(dir: &Path, dims: usize, count: usize) -> Result<Self> {
        let read = |name: &str| -> Result<(std::path::PathBuf, Vec<u8>)> {
            let path = dir.join(name);
            let bytes = std::fs::read(&path).map_err(|e| DenseError::file(&path, e))?;
            Ok((path, bytes))
        };
        let (centroids_path, centroids) = read("centroids.f32")?;
        let (lists_path, lists) = read("lists.bin")?;
        let bad = |path: &Path, why: String| Err(DenseError::file(path, why));
        if centroids.len() % (dims * 4) != 0 {
            return bad(
                &centroids_path,
                format!(
                    "{} bytes is not whole centroids of {dims} f32",
                    centroids.len()
                ),
            );
        }
        let list_count = centroids.len() / (dims * 4);
        // No lists: the one offset, 0.
        let want = if list_count == 0 {
            1
        } else {
            list_count + 1 + count
        } * 4;
        if lists.len() != want {
            return bad(
                &lists_path,
                format!(
                    "{} bytes, {list_count} lists of {count} rows imply {want}",
                    lists.len()
                ),
            );
        }
        let mut offsets: Vec<u32> = lists
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        let rows = offsets.split_off(list_count + 1);
        if list_count == 0 && offsets[0] != 0 {
            return bad(&lists_path, "no lists, yet rows in them".to_string());
        }
        if list_count > 0 {
            let ordered = offsets[0] == 0
                && offsets.windows(2).all(|w| w[0] <= w[1])
                && offsets[list_count] as usize == count;
            let mut seen = vec![false; count];
            let once = rows
                .iter()
                .all(|&r| (r as usize) < count && !std::mem::replace(&mut seen[r as usize], true));
            if !ordered || !once {
                return bad(
                    &lists_path,
                    "lists that do not hold every row once".to_string(),
                );
            }
        }
        Ok(Partition {
            dims,
            centroids: centroids
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect(),
            offsets,
            rows,
        })
    }
}

/// For each of `count` points (`point(i, out)` appends point i), the nearest of the
/// unit `centroids` by dot product, ties to the lower list. Points are split over the
/// cores; each point's answer does not depend on the split.
fn nearest_centroids(
    centroids: &[f32],
    dims: usize,
    count: usize,
    point: impl Fn(usize, &mut Vec<f32>) + Sync,
) -> Vec<u32> {
    let threads = if count >= 4096 { cores() } else { 1 };
    in_ranges(count, threads, |start, end| {
        let mut out = Vec::with_capacity(end - start);
        let mut block = Vec::with_capacity(BLOCK_ROWS * dims);
        for first in (start..end).step_by(BLOCK_ROWS) {
            block.clear();
            let last = (first + BLOCK_ROWS).min(end);
            for i in first..last {
                point(i, &mut block);
            }
            let mut best = [(f32::NEG_INFINITY, 0u32); BLOCK_ROWS];
            for (list, c) in centroids.chunks_exact(dims).enumerate() {
                for (b, p) in best.iter_mut().zip(block.chunks_exact(dims)) {
                    let score = dot(p, c, |v| v);
                    if score > b.0 {
                        *b = (score, list as u32);
                    }
                }
            }
            out.extend(best[..last - first].iter().map(|b| b.1));
        }
        out
    })
    .into_iter()
    .flatten()
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_row_joins_its_nearest_list_once_and_the_files_round_trip() {
        // Three tight groups of unit rows in 8 dims: three lists find them.
        let dims = 8;
        let (mut vectors, mut scales) = (Vec::new(), Vec::new());
        for r in 0..300usize {
            let mut v = vec![0f32; dims];
            v[r % 3] = 1.0;
            v[3 + r % 5] = 0.05;
            let (row, scale) = crate::index::quantize(&v);
            vectors.extend(row.iter().map(|&x| x as u8));
            scales.push(scale);
        }
        let p = Partition::train(&vectors, &scales, dims, 3);
        assert_eq!(p.lists(), 3);
        let mut groups: Vec<Vec<u32>> = (0..3).map(|l| p.list(l).to_vec()).collect();
        groups.sort();
        let want: Vec<Vec<u32>> = (0..3u32)
            .map(|g| (0..300u32).filter(|r| r % 3 == g).collect())
            .collect();
        assert_eq!(groups, want);
        // The list nearest a query along group 1's axis holds group 1.
        let mut q = vec![0f32; dims];
        q[1] = 1.0;
        let near = p.ranked_lists(&q);
        assert_eq!(near.len(), 3);
        assert_eq!(p.list(near[0]), &want[1][..]);
        // Written and read back: the same partition; a short file is refused by name.
        let dir = tempfile::tempdir().unwrap();
        p.write(dir.path()).unwrap();
        assert_eq!(Partition::read(dir.path(), dims, 300).unwrap(), p);
        let err = Partition::read(dir.path(), dims, 301)
            .unwrap_err()
            .to_string();
        assert!(err.contains("lists.bin"), "{err}");
        // Training is a pure function of the rows.
        assert_eq!(Partition::train(&vectors, &scales, dims, 3), p);
    }

    #[test]
    fn small_indexes_have_no_lists_and_probes_round_up() {
        assert_eq!(list_count(TWO_STAGE_MIN_ROWS - 1), 0);
        assert_eq!(list_count(1_000_000), 2000);
        assert_eq!(probes(2000, 16), 125);
        assert_eq!(probes(1000, 1), 1000);
        assert_eq!(probes(0, 16), 0);
        let dir = tempfile::tempdir().unwrap();
        let empty = Partition::empty(4);
        empty.write(dir.path()).unwrap();
        assert_eq!(Partition::read(dir.path(), 4, 10).unwrap(), empty);
    }
}
