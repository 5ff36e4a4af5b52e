//! The vector index in a data dir: `<data>/dense/`, one row per passage, in the
//! corpus's passage order (pages in doc-id order, passages in page order).
//!
//! ```text
//! dense.json    what built it (model fingerprint, dims, quantization, corpus snapshot)
//! vectors.i8    count x dims int8, row-major: round(v * 127 / max|v|)
//! scales.f32    count f32 (little endian): max|v| / 127, so v ~= scale * row
//! keys.bin      count x (u32 page, u32 passage ordinal), little endian
//! pages.txt     the doc ids `page` indexes, one per line
//! ```
//!
//! Search is exact over the int8 rows (an f32 query against every row; memory-mapped, so
//! the OS pages the vectors in and out): deterministic by construction, ties broken by
//! row order. 384 bytes + 12 of keys per passage.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::io::Write;
use std::path::{Path, PathBuf};

use memmap2::Mmap;
use serde::{Deserialize, Serialize};

use crate::error::{DenseError, Result};

pub const INDEX_DIR: &str = "dense";
pub const INDEX_FORMAT: u32 = 1;
pub const QUANTIZATION: &str = "int8, one f32 scale per vector, exact scan";

/// `dense.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IndexMeta {
    pub format: u32,
    pub model: String,
    pub model_fingerprint: String,
    pub dims: usize,
    pub quantization: String,
    pub count: usize,
    /// The corpus snapshot the passages come from.
    pub corpus_snapshot: String,
    /// sha256 over this file's other fields and the index files: what cache keys and
    /// replay records name.
    pub index_id: String,
}

/// One ranked passage: the page's doc id, the passage's ordinal in it, cosine score.
#[derive(Debug, Clone, PartialEq)]
pub struct DenseHit {
    pub doc_id: String,
    pub ordinal: u32,
    pub score: f32,
}

/// An opened index.
pub struct DenseIndex {
    meta: IndexMeta,
    vectors: Mmap,
    scales: Vec<f32>,
    keys: Vec<(u32, u32)>,
    pages: Vec<String>,
}

impl std::fmt::Debug for DenseIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DenseIndex")
            .field("meta", &self.meta)
            .finish()
    }
}

fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| DenseError::file(path, e))
}

impl DenseIndex {
    pub fn dir(data_dir: &Path) -> PathBuf {
        data_dir.join(INDEX_DIR)
    }

    /// Whether `data_dir` has a published dense index.
    pub fn exists(data_dir: &Path) -> bool {
        Self::dir(data_dir).join("dense.json").is_file()
    }

    /// Opens `<data_dir>/dense`, checking every file's size against `dense.json`.
    pub fn open(data_dir: &Path) -> Result<Self> {
        let dir = Self::dir(data_dir);
        let meta_path = dir.join("dense.json");
        let meta: IndexMeta = serde_json::from_slice(&read(&meta_path)?)
            .map_err(|e| DenseError::file(&meta_path, e))?;
        if meta.format != INDEX_FORMAT {
            return Err(DenseError::file(
                &meta_path,
                format!(
                    "index format {} (this build reads {INDEX_FORMAT}): rebuild with `simweb index dense`",
                    meta.format
                ),
            ));
        }
        let vectors_path = dir.join("vectors.i8");
        let file =
            std::fs::File::open(&vectors_path).map_err(|e| DenseError::file(&vectors_path, e))?;
        // SAFETY: the index files are published once and never written in place (a rebuild
        // writes a new directory and renames it), so the mapping does not change under us.
        let vectors =
            unsafe { Mmap::map(&file) }.map_err(|e| DenseError::file(&vectors_path, e))?;
        let expect = |path: &Path, got: usize, want: usize| -> Result<()> {
            if got == want {
                Ok(())
            } else {
                Err(DenseError::file(
                    path,
                    format!("{got} bytes, dense.json implies {want} (truncated or foreign file)"),
                ))
            }
        };
        expect(&vectors_path, vectors.len(), meta.count * meta.dims)?;
        let scales_path = dir.join("scales.f32");
        let raw = read(&scales_path)?;
        expect(&scales_path, raw.len(), meta.count * 4)?;
        let scales = raw
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        let keys_path = dir.join("keys.bin");
        let raw = read(&keys_path)?;
        expect(&keys_path, raw.len(), meta.count * 8)?;
        let keys: Vec<(u32, u32)> = raw
            .chunks_exact(8)
            .map(|c| {
                (
                    u32::from_le_bytes([c[0], c[1], c[2], c[3]]),
                    u32::from_le_bytes([c[4], c[5], c[6], c[7]]),
                )
            })
            .collect();
        let pages_path = dir.join("pages.txt");
        let text =
            String::from_utf8(read(&pages_path)?).map_err(|e| DenseError::file(&pages_path, e))?;
        let pages: Vec<String> = text.lines().map(str::to_string).collect();
        if let Some(bad) = keys.iter().find(|(p, _)| *p as usize >= pages.len()) {
            return Err(DenseError::file(
                &keys_path,
                format!("names page {} of {}", bad.0, pages.len()),
            ));
        }
        Ok(DenseIndex {
            meta,
            vectors,
            scales,
            keys,
            pages,
        })
    }

    pub fn meta(&self) -> &IndexMeta {
        &self.meta
    }

    pub fn len(&self) -> usize {
        self.meta.count
    }

    pub fn is_empty(&self) -> bool {
        self.meta.count == 0
    }

    /// The `top_k` rows closest to `query` (L2-normalised, `dims` long) by cosine,
    /// best first; equal scores keep row order.
    pub fn search(&self, query: &[f32], top_k: usize) -> Vec<DenseHit> {
        let dims = self.meta.dims;
        if query.len() != dims || top_k == 0 {
            return Vec::new();
        }
        let count = self.meta.count;
        let threads = if count >= 200_000 {
            std::thread::available_parallelism().map_or(1, |n| n.get().min(8))
        } else {
            1
        };
        let span = count.div_ceil(threads.max(1)).max(1);
        let mut best: Vec<Scored> = if threads <= 1 {
            self.scan(query, 0, count, top_k)
        } else {
            std::thread::scope(|scope| {
                let handles: Vec<_> = (0..count)
                    .step_by(span)
                    .map(|start| {
                        let end = (start + span).min(count);
                        scope.spawn(move || self.scan(query, start, end, top_k))
                    })
                    .collect();
                handles
                    .into_iter()
                    .flat_map(|h| h.join().unwrap_or_default())
                    .collect()
            })
        };
        best.sort_by(|a, b| b.cmp(a));
        best.truncate(top_k);
        best.into_iter()
            .map(|s| {
                let (page, ordinal) = self.keys[s.row];
                DenseHit {
                    doc_id: self.pages[page as usize].clone(),
                    ordinal,
                    score: s.score,
                }
            })
            .collect()
    }

    fn scan(&self, query: &[f32], start: usize, end: usize, top_k: usize) -> Vec<Scored> {
        let dims = self.meta.dims;
        // A min-heap of the best so far (`Reverse` order via `Scored`'s Ord).
        let mut heap: BinaryHeap<std::cmp::Reverse<Scored>> = BinaryHeap::with_capacity(top_k + 1);
        for row in start..end {
            let v = &self.vectors[row * dims..(row + 1) * dims];
            let mut dot = 0f32;
            for (q, &x) in query.iter().zip(v) {
                dot += q * f32::from(x as i8);
            }
            let s = Scored {
                score: dot * self.scales[row],
                row,
            };
            if heap.len() < top_k {
                heap.push(std::cmp::Reverse(s));
            } else if heap.peek().is_some_and(|min| s > min.0) {
                heap.pop();
                heap.push(std::cmp::Reverse(s));
            }
        }
        heap.into_iter().map(|r| r.0).collect()
    }
}

/// A row and its score; greater = better (higher score, then earlier row).
#[derive(Debug, Clone, Copy)]
struct Scored {
    score: f32,
    row: usize,
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

/// Quantizes one L2-normalised vector: (int8 row, scale).
pub fn quantize(v: &[f32]) -> (Vec<i8>, f32) {
    let max = v.iter().fold(0f32, |m, x| m.max(x.abs()));
    if max == 0.0 {
        return (vec![0; v.len()], 0.0);
    }
    let inv = 127.0 / max;
    let row = v
        .iter()
        .map(|x| (x * inv).round().clamp(-127.0, 127.0) as i8)
        .collect();
    (row, max / 127.0)
}

/// Writes the index files of one directory: rows in order, then [`IndexWriter::finish`].
pub struct IndexWriter {
    dir: PathBuf,
    dims: usize,
    vectors: std::io::BufWriter<std::fs::File>,
    scales: std::io::BufWriter<std::fs::File>,
    keys: std::io::BufWriter<std::fs::File>,
    count: usize,
}

impl IndexWriter {
    pub fn create(dir: &Path, dims: usize) -> Result<Self> {
        std::fs::create_dir_all(dir).map_err(|e| DenseError::file(dir, e))?;
        let open = |name: &str| -> Result<std::io::BufWriter<std::fs::File>> {
            let path = dir.join(name);
            let f = std::fs::File::create(&path).map_err(|e| DenseError::file(&path, e))?;
            Ok(std::io::BufWriter::with_capacity(1 << 20, f))
        };
        Ok(IndexWriter {
            dir: dir.to_path_buf(),
            dims,
            vectors: open("vectors.i8")?,
            scales: open("scales.f32")?,
            keys: open("keys.bin")?,
            count: 0,
        })
    }

    /// Appends one quantized row.
    pub fn push(&mut self, row: &[i8], scale: f32, page: u32, ordinal: u32) -> Result<()> {
        if row.len() != self.dims {
            return Err(DenseError::Mismatch(format!(
                "a row of {} dims in an index of {}",
                row.len(),
                self.dims
            )));
        }
        let bytes: Vec<u8> = row.iter().map(|&x| x as u8).collect();
        let err = |e: std::io::Error| DenseError::file(&self.dir, e);
        self.vectors.write_all(&bytes).map_err(err)?;
        self.scales.write_all(&scale.to_le_bytes()).map_err(err)?;
        self.keys.write_all(&page.to_le_bytes()).map_err(err)?;
        self.keys.write_all(&ordinal.to_le_bytes()).map_err(err)?;
        self.count += 1;
        Ok(())
    }

    /// Flushes and syncs the rows, writes `pages.txt` and `dense.json` (with the
    /// index id, a hash over the metadata and every file) last.
    pub fn finish(self, pages: &[String], mut meta: IndexMeta) -> Result<IndexMeta> {
        let dir = self.dir.clone();
        for w in [self.vectors, self.scales, self.keys] {
            let f = w
                .into_inner()
                .map_err(|e| DenseError::file(&dir, e.error().to_string()))?;
            f.sync_all().map_err(|e| DenseError::file(&dir, e))?;
        }
        let mut text = String::new();
        for p in pages {
            text.push_str(p);
            text.push('\n');
        }
        let pages_path = dir.join("pages.txt");
        std::fs::write(&pages_path, text).map_err(|e| DenseError::file(&pages_path, e))?;
        meta.count = self.count;
        meta.index_id = String::new();
        let mut hasher = sha2::Sha256::new();
        use sha2::Digest;
        hasher.update(serde_json::to_vec(&meta).map_err(|e| DenseError::file(&dir, e))?);
        for name in ["vectors.i8", "scales.f32", "keys.bin", "pages.txt"] {
            hasher.update(read(&dir.join(name))?);
        }
        meta.index_id = hex::encode(&hasher.finalize()[..8]);
        let meta_path = dir.join("dense.json");
        let json = serde_json::to_vec_pretty(&meta).map_err(|e| DenseError::file(&meta_path, e))?;
        std::fs::write(&meta_path, json).map_err(|e| DenseError::file(&meta_path, e))?;
        Ok(meta)
    }
}
