//! Which keys an ingest has already stored, exactly, in memory that does not grow with
//! the corpus: the duplicate doc id and duplicate redirect checks at any dump size.
//!
//! Keys are kept as 128-bit hashes. The newest ones sit in a hash set of bounded size;
//! when it is full they are sorted and written as a run file in the build dir, of which
//! memory keeps one fence key per [`FENCE`] hashes. A Bloom filter of fixed size in front
//! answers "never seen" for almost every new key without touching a run, so the disk is
//! read only for true duplicates and the filter's rare false positives (at enwiki's 11 M
//! redirects about 3 in 1,000 keys, each a few cached 4 KiB reads).
//!
//! Memory: [`BLOOM_BYTES`] + the set ([`RUN_HASHES`] hashes, ~9 MB) + 1/256 of the runs'
//! size for the fences. (It replaces a `HashSet<u128>` that grew by ~36 bytes a key.)

use std::collections::HashSet;
use std::fs::File;
use std::hash::{BuildHasherDefault, Hash, Hasher};
use std::io::{BufWriter, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use rustc_hash::FxHasher;

use crate::table::TableError;

/// Size of the Bloom filter (bits = 8 × this), whatever the input.
const BLOOM_BYTES: usize = 16 << 20;
/// Bit positions probed per key.
const BLOOM_PROBES: u32 = 7;
/// Hashes the in-memory set holds before it is written as a run (a hashbrown table of
/// 2^19 buckets at its 7/8 load).
const RUN_HASHES: usize = 458_752;
/// Hashes per fence: one 4 KiB read finds a hash in a run.
const FENCE: usize = 256;

/// An exact set of byte strings whose memory is bounded (see the module docs).
pub struct SeenSet {
    dir: PathBuf,
    name: &'static str,
    bloom: Vec<u64>,
    recent: HashSet<u128, BuildHasherDefault<FxHasher>>,
    /// Hashes `recent` takes before it is written as a run.
    run_hashes: usize,
    runs: Vec<SortedRun>,
}

impl SeenSet {
    /// An empty set whose runs go to `dir/{name}.{n}.seen`.
    pub fn new(dir: &Path, name: &'static str) -> SeenSet {
        SeenSet::with_sizes(dir, name, BLOOM_BYTES, RUN_HASHES)
    }

    fn with_sizes(dir: &Path, name: &'static str, bloom_bytes: usize, run: usize) -> SeenSet {
        SeenSet {
            dir: dir.to_path_buf(),
            name,
            bloom: vec![0; (bloom_bytes / 8).max(1)],
            recent: HashSet::with_capacity_and_hasher(run, Default::default()),
            run_hashes: run.max(1),
            runs: Vec::new(),
        }
    }

    /// Adds `bytes`; `Ok(false)` when it was already there.
    pub fn insert(&mut self, bytes: &[u8]) -> Result<bool, TableError> {
        let h = hash128(bytes);
        if self.bloom_contains(h) && self.contains_hash(h)? {
            return Ok(false);
        }
        self.bloom_add(h);
        self.recent.insert(h);
        if self.recent.len() >= self.run_hashes {
            self.spill()?;
        }
        Ok(true)
    }

    fn contains_hash(&self, h: u128) -> Result<bool, TableError> {
        if self.recent.contains(&h) {
            return Ok(true);
        }
        for run in &self.runs {
            if run.contains(h)? {
                return Ok(true);
            }
        }
        Ok(false)
    }

    fn bloom_contains(&self, h: u128) -> bool {
        probes(self.bloom.len(), h).all(|bit| self.bloom[bit / 64] & (1 << (bit % 64)) != 0)
    }

    fn bloom_add(&mut self, h: u128) {
        for bit in probes(self.bloom.len(), h) {
            self.bloom[bit / 64] |= 1 << (bit % 64);
        }
    }

    /// Writes the in-memory hashes as one sorted run.
    fn spill(&mut self) -> Result<(), TableError> {
        let mut hashes: Vec<u128> = self.recent.drain().collect();
        hashes.sort_unstable();
        let path = self
            .dir
            .join(format!("{}.{}.seen", self.name, self.runs.len()));
        self.runs.push(SortedRun::write(path, &hashes)?);
        Ok(())
    }

    /// Deletes the run files.
    pub fn remove(self) -> Result<(), TableError> {
        for run in self.runs {
            std::fs::remove_file(&run.path).map_err(|source| TableError::Io {
                path: run.path.clone(),
                source,
            })?;
        }
        Ok(())
    }
}

/// The filter's bit positions for a key (`words` u64s of bits), by double hashing the
/// two halves of its hash.
fn probes(words: usize, h: u128) -> impl Iterator<Item = usize> {
    let bits = words as u64 * 64;
    let (a, b) = (h as u64, (h >> 64) as u64 | 1);
    (0..u64::from(BLOOM_PROBES)).map(move |i| (a.wrapping_add(i.wrapping_mul(b)) % bits) as usize)
}

/// Two salted passes of std's `DefaultHasher::new()` (fixed keys, so no randomness): a
/// false "already seen" is as likely as a 128-bit collision.
fn hash128(bytes: &[u8]) -> u128 {
    let half = |salt: u8| {
        let mut h = std::hash::DefaultHasher::new();
        salt.hash(&mut h);
        bytes.hash(&mut h);
        h.finish()
    };
    u128::from(half(0)) << 64 | u128::from(half(1))
}

/// Sorted hashes in a file (16 bytes each, big-endian), with every [`FENCE`]th in memory.
struct SortedRun {
    path: PathBuf,
    file: File,
    len: usize,
    fences: Vec<u128>,
}

impl SortedRun {
    fn write(path: PathBuf, hashes: &[u128]) -> Result<SortedRun, TableError> {
        let io = |source| TableError::Io {
            path: path.clone(),
            source,
        };
        // Read back with `pread` when a key may be a duplicate.
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)
            .map_err(io)?;
        let mut out = BufWriter::with_capacity(1 << 16, file);
        for h in hashes {
            out.write_all(&h.to_be_bytes()).map_err(io)?;
        }
        let file = out.into_inner().map_err(|e| io(e.into_error()))?;
        Ok(SortedRun {
            fences: hashes.iter().step_by(FENCE).copied().collect(),
            len: hashes.len(),
            file,
            path,
        })
    }

    fn contains(&self, h: u128) -> Result<bool, TableError> {
        // The last fence not above `h` starts the only page that can hold it.
        let page = match self.fences.partition_point(|&f| f <= h) {
            0 => return Ok(false),
            n => n - 1,
        };
        let start = page * FENCE;
        let count = FENCE.min(self.len - start);
        let mut buf = vec![0u8; count * 16];
        self.file
            .read_exact_at(&mut buf, (start * 16) as u64)
            .map_err(|source| TableError::Io {
                path: self.path.clone(),
                source,
            })?;
        let at = |i: usize| {
            let mut b = [0u8; 16];
            b.copy_from_slice(&buf[i * 16..i * 16 + 16]);
            u128::from_be_bytes(b)
        };
        let (mut lo, mut hi) = (0, count);
        while lo < hi {
            let mid = (lo + hi) / 2;
            match at(mid).cmp(&h) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => return Ok(true),
            }
        }
        Ok(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Against a `HashSet` of the strings, with a tiny filter and tiny runs so that false
    /// positives and many runs are exercised.
    #[test]
    fn answers_like_a_hash_set_across_runs() {
        let dir = tempfile::tempdir().unwrap();
        let mut seen = SeenSet::with_sizes(dir.path(), "t", 64, 100);
        let mut reference = std::collections::HashSet::new();
        for i in 0..5_000u32 {
            let key = format!("key {}", (i * 7919) % 3_001);
            assert_eq!(
                seen.insert(key.as_bytes()).unwrap(),
                reference.insert(key.clone()),
                "{key}"
            );
        }
        assert!(seen.runs.len() > 20, "the sizes force many runs");
        let files = |d: &Path| std::fs::read_dir(d).unwrap().count();
        assert_eq!(files(dir.path()), seen.runs.len());
        seen.remove().unwrap();
        assert_eq!(files(dir.path()), 0);
    }
}
