//! The vector index in a data dir: `<data>/dense/` (a symlink to the published
//! `dense-<index_id>/`), one row per passage, in the corpus's passage order (pages in
//! doc-id order, passages in page order).
//!
//! ```text
//! dense.json    what built it (model fingerprint, dims, quantization, corpus snapshot)
//! vectors.i8    count x dims int8, row-major: round(v * 127 / max|v|)
//! scales.f32    count f32 (little endian): max|v| / 127, so v ~= scale * row
//! mean.f32      dims f32: the mean of all rows
//! bits.bin      count x dims/8 bytes: the sign of every component of (row - mean)
//! keys.bin      count x (u32 page, u32 passage ordinal), little endian
//! pages.txt     the doc ids `page` indexes, one per line
//! langs.bin     one byte per page: its language, as an index into `languages` in dense.json
//! ```
//!
//! A search names a language (the one BM25 would route the query to) and returns rows of
//! that language only, so every mode answers a `lang: zh` query with Chinese pages.
//!
//! Search has two stages once an index is large ([`TWO_STAGE_MIN_ROWS`]): the Hamming
//! distance between the query's sign bits and every row's (both centred on the mean row
//! first: e5's vectors share one large common direction, and uncentred signs mostly
//! encode it) picks [`CANDIDATES_PER_HIT`]
//! candidates per requested hit, which are rescored exactly against their int8 rows.
//! Only the sign bits (48 bytes per passage at 384 dims), scales and keys stay in memory;
//! the int8 rows are memory-mapped and read for the candidates alone, so 21 M passages
//! need ~1.3 GB of RAM rather than the 8 GB of their int8 rows. Smaller indexes are
//! scanned exactly. Both stages break ties by row order: deterministic by construction.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::io::Write;
use std::path::{Path, PathBuf};

use memmap2::Mmap;
use serde::{Deserialize, Serialize};

use simweb_wikidump::Lang;

use crate::error::{DenseError, Result};

pub const INDEX_DIR: &str = "dense";
pub const INDEX_FORMAT: u32 = 3;
pub const QUANTIZATION: &str =
    "int8 rows (one f32 scale each) + sign bits; Hamming candidates rescored on int8";
/// Indexes with at least this many rows search in two stages (smaller ones exactly).
pub const TWO_STAGE_MIN_ROWS: usize = 50_000;
/// Hamming candidates rescored per requested hit (at least [`MIN_CANDIDATES`]).
pub const CANDIDATES_PER_HIT: usize = 40;
pub const MIN_CANDIDATES: usize = 400;

/// `dense.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IndexMeta {
    pub format: u32,
    pub model: String,
    pub model_fingerprint: String,
    pub dims: usize,
    pub quantization: String,
    pub count: usize,
    /// The languages of the pages, sorted; `langs.bin` indexes into it.
    pub languages: Vec<Lang>,
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
    /// Sign bits of (row - mean), `words` u64 per row.
    bits: Vec<u64>,
    mean: Vec<f32>,
    words: usize,
    scales: Vec<f32>,
    keys: Vec<(u32, u32)>,
    pages: Vec<String>,
    /// Each row's language (an index into `meta.languages`); empty when the index holds
    /// one language, so a single-language corpus pays nothing for the filter.
    row_langs: Vec<u8>,
}

/// Which rows a search may return.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Rows {
    All,
    /// The asked-for language has no rows.
    Nothing,
    /// Rows whose `row_langs` entry is this.
    Lang(u8),
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

/// A file's size must be what `dense.json` implies.
fn expect_len(path: &Path, got: usize, want: usize) -> Result<()> {
    if got == want {
        Ok(())
    } else {
        Err(DenseError::file(
            path,
            format!("{got} bytes, dense.json implies {want} (truncated or foreign file)"),
        ))
    }
}

/// Reads `path`, which must be `want` bytes long.
fn read_sized(path: &Path, want: usize) -> Result<Vec<u8>> {
    let bytes = read(path)?;
    expect_len(path, bytes.len(), want)?;
    Ok(bytes)
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
        if !meta_path.is_file() {
            return Err(DenseError::file(
                &meta_path,
                format!(
                    "no dense index here: build one with `simweb index dense --data {}`",
                    data_dir.display()
                ),
            ));
        }
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
        // writes a new directory and swaps the `dense` symlink), so the mapping does not change under us.
        let vectors =
            unsafe { Mmap::map(&file) }.map_err(|e| DenseError::file(&vectors_path, e))?;
        expect_len(&vectors_path, vectors.len(), meta.count * meta.dims)?;
        let words = meta.dims.div_ceil(64);
        let scales = read_sized(&dir.join("scales.f32"), meta.count * 4)?
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        let mean = read_sized(&dir.join("mean.f32"), meta.dims * 4)?
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        let bits = read_sized(&dir.join("bits.bin"), meta.count * words * 8)?
            .chunks_exact(8)
            .map(|c| u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
            .collect();
        let keys_path = dir.join("keys.bin");
        let keys: Vec<(u32, u32)> = read_sized(&keys_path, meta.count * 8)?
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
        let langs_path = dir.join("langs.bin");
        let page_langs = read_sized(&langs_path, pages.len())?;
        if let Some(bad) = page_langs
            .iter()
            .find(|&&l| l as usize >= meta.languages.len())
        {
            return Err(DenseError::file(
                &langs_path,
                format!("names language {bad} of {}", meta.languages.len()),
            ));
        }
        let row_langs = if meta.languages.len() > 1 {
            keys.iter().map(|&(p, _)| page_langs[p as usize]).collect()
        } else {
            Vec::new()
        };
        Ok(DenseIndex {
            words,
            meta,
            vectors,
            bits,
            mean,
            scales,
            keys,
            pages,
            row_langs,
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

    /// The rows of `lang` (every row for `None`).
    fn rows(&self, lang: Option<Lang>) -> Rows {
        let Some(lang) = lang else {
            return Rows::All;
        };
        match self.meta.languages.iter().position(|&l| l == lang) {
            None => Rows::Nothing,
            Some(_) if self.row_langs.is_empty() => Rows::All,
            Some(i) => Rows::Lang(i as u8),
        }
    }

    fn keeps(&self, rows: Rows, row: usize) -> bool {
        match rows {
            Rows::All => true,
            Rows::Nothing => false,
            Rows::Lang(l) => self.row_langs[row] == l,
        }
    }

    /// The `top_k` rows of `lang` (every language for `None`) closest to `query`
    /// (L2-normalised, `dims` long) by cosine, best first; equal scores keep row order.
    /// Two-stage from [`TWO_STAGE_MIN_ROWS`].
    pub fn search(&self, query: &[f32], top_k: usize, lang: Option<Lang>) -> Vec<DenseHit> {
        if self.meta.count >= TWO_STAGE_MIN_ROWS {
            self.search_two_stage(query, top_k, lang)
        } else {
            self.search_exact(query, top_k, lang)
        }
    }

    /// Hamming candidates from the sign bits, rescored on their int8 rows.
    pub fn search_two_stage(
        &self,
        query: &[f32],
        top_k: usize,
        lang: Option<Lang>,
    ) -> Vec<DenseHit> {
        let candidates = (top_k * CANDIDATES_PER_HIT).max(MIN_CANDIDATES);
        self.search_two_stage_with(query, top_k, candidates, lang)
    }

    /// [`DenseIndex::search_two_stage`] rescoring `candidates` rows (for measuring the
    /// recall/cost trade-off).
    pub fn search_two_stage_with(
        &self,
        query: &[f32],
        top_k: usize,
        candidates: usize,
        lang: Option<Lang>,
    ) -> Vec<DenseHit> {
        let dims = self.meta.dims;
        let rows = self.rows(lang);
        if query.len() != dims || top_k == 0 || rows == Rows::Nothing {
            return Vec::new();
        }
        let wanted = candidates.max(top_k);
        let code = sign_bits(
            query.iter().zip(&self.mean).map(|(&x, &m)| x > m),
            self.words,
        );
        let candidates = self.hamming_candidates(&code, wanted, rows);
        let mut scored: Vec<Scored> = candidates
            .into_iter()
            .map(|row| Scored {
                score: self.row_score(query, row),
                row,
            })
            .collect();
        scored.sort_by(|a, b| b.cmp(a));
        scored.truncate(top_k);
        self.hits(scored)
    }

    /// The `wanted` rows of `rows` nearest `code` in Hamming distance, ties by row order.
    fn hamming_candidates(&self, code: &[u64], wanted: usize, rows: Rows) -> Vec<usize> {
        let words = self.words;
        // Rows outside the filter get a distance past every real one (at most 64 x words).
        let outside = u16::MAX;
        let distances: Vec<u16> = self
            .bits
            .chunks_exact(words)
            .enumerate()
            .map(|(i, row)| {
                if !self.keeps(rows, i) {
                    return outside;
                }
                row.iter()
                    .zip(code)
                    .map(|(a, b)| (a ^ b).count_ones() as u16)
                    .sum()
            })
            .collect();
        // The smallest distance d whose running count reaches `wanted`, then every row
        // under d plus rows at d in row order.
        let mut histogram = vec![0usize; words * 64 + 1];
        let mut count = 0;
        for &d in distances.iter().filter(|&&d| d != outside) {
            histogram[d as usize] += 1;
            count += 1;
        }
        let mut below = 0;
        let mut cut = histogram.len() - 1;
        for (d, &n) in histogram.iter().enumerate() {
            if below + n >= wanted.min(count) {
                cut = d;
                break;
            }
            below += n;
        }
        let mut at_cut = wanted.min(count) - below;
        let mut out = Vec::with_capacity(wanted.min(count));
        for (row, &d) in distances.iter().enumerate() {
            if (d as usize) < cut {
                out.push(row);
            } else if d as usize == cut && at_cut > 0 {
                out.push(row);
                at_cut -= 1;
            }
        }
        out
    }

    fn row_score(&self, query: &[f32], row: usize) -> f32 {
        let dims = self.meta.dims;
        let v = &self.vectors[row * dims..(row + 1) * dims];
        let mut dot = 0f32;
        for (q, &x) in query.iter().zip(v) {
            dot += q * f32::from(x as i8);
        }
        dot * self.scales[row]
    }

    fn hits(&self, scored: Vec<Scored>) -> Vec<DenseHit> {
        scored
            .into_iter()
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

    /// Every int8 row of `lang` against `query`: the reference the two stages are
    /// measured by.
    pub fn search_exact(&self, query: &[f32], top_k: usize, lang: Option<Lang>) -> Vec<DenseHit> {
        let dims = self.meta.dims;
        let rows = self.rows(lang);
        if query.len() != dims || top_k == 0 || rows == Rows::Nothing {
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
            self.scan(query, 0, count, top_k, rows)
        } else {
            std::thread::scope(|scope| {
                let handles: Vec<_> = (0..count)
                    .step_by(span)
                    .map(|start| {
                        let end = (start + span).min(count);
                        scope.spawn(move || self.scan(query, start, end, top_k, rows))
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
        self.hits(best)
    }

    fn scan(
        &self,
        query: &[f32],
        start: usize,
        end: usize,
        top_k: usize,
        rows: Rows,
    ) -> Vec<Scored> {
        // A min-heap of the best so far (`Reverse` order via `Scored`'s Ord).
        let mut heap: BinaryHeap<std::cmp::Reverse<Scored>> = BinaryHeap::with_capacity(top_k + 1);
        for row in (start..end).filter(|&row| self.keeps(rows, row)) {
            let s = Scored {
                score: self.row_score(query, row),
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

/// Packs signs into `words` little-endian u64 (bit i of word i / 64 = component i).
fn sign_bits(signs: impl Iterator<Item = bool>, words: usize) -> Vec<u64> {
    let mut out = vec![0u64; words];
    for (i, positive) in signs.enumerate() {
        if positive {
            out[i / 64] |= 1 << (i % 64);
        }
    }
    out
}

/// Writes `mean.f32` and `bits.bin` (signs of each row minus `mean`) from the rows and
/// scales already on disk, streaming them.
fn write_centred_bits(dir: &Path, mean: &[f32], count: usize) -> Result<()> {
    use std::io::Read;
    let dims = mean.len();
    let words = dims.div_ceil(64);
    let mean_path = dir.join("mean.f32");
    let bytes: Vec<u8> = mean.iter().flat_map(|m| m.to_le_bytes()).collect();
    std::fs::write(&mean_path, bytes).map_err(|e| DenseError::file(&mean_path, e))?;
    let open = |name: &str| -> Result<std::io::BufReader<std::fs::File>> {
        let path = dir.join(name);
        let f = std::fs::File::open(&path).map_err(|e| DenseError::file(&path, e))?;
        Ok(std::io::BufReader::with_capacity(1 << 20, f))
    };
    let (mut rows, mut scales) = (open("vectors.i8")?, open("scales.f32")?);
    let bits_path = dir.join("bits.bin");
    let file = std::fs::File::create(&bits_path).map_err(|e| DenseError::file(&bits_path, e))?;
    let mut out = std::io::BufWriter::with_capacity(1 << 20, file);
    let (mut row, mut scale) = (vec![0u8; dims], [0u8; 4]);
    for _ in 0..count {
        rows.read_exact(&mut row)
            .map_err(|e| DenseError::file(dir, e))?;
        scales
            .read_exact(&mut scale)
            .map_err(|e| DenseError::file(dir, e))?;
        let scale = f32::from_le_bytes(scale);
        let signs = row
            .iter()
            .zip(mean)
            .map(|(&x, &m)| f32::from(x as i8) * scale > m);
        for word in sign_bits(signs, words) {
            out.write_all(&word.to_le_bytes())
                .map_err(|e| DenseError::file(&bits_path, e))?;
        }
    }
    let f = out
        .into_inner()
        .map_err(|e| DenseError::file(&bits_path, e.error().to_string()))?;
    f.sync_all().map_err(|e| DenseError::file(&bits_path, e))
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
    /// Sum of the dequantised rows, for the mean the sign bits are centred on.
    sum: Vec<f64>,
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
            sum: vec![0.0; dims],
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
        for (s, &x) in self.sum.iter_mut().zip(row) {
            *s += f64::from(x) * f64::from(scale);
        }
        self.keys.write_all(&page.to_le_bytes()).map_err(err)?;
        self.keys.write_all(&ordinal.to_le_bytes()).map_err(err)?;
        self.count += 1;
        Ok(())
    }

    /// Flushes and syncs the rows, writes `pages.txt`, `langs.bin` (from `langs`, one
    /// per page) and `dense.json` (with the index id, a hash over the metadata and every
    /// file) last.
    pub fn finish(
        self,
        pages: &[String],
        langs: &[Lang],
        mut meta: IndexMeta,
    ) -> Result<IndexMeta> {
        let dir = self.dir.clone();
        if langs.len() != pages.len() {
            return Err(DenseError::Mismatch(format!(
                "{} page languages for {} pages",
                langs.len(),
                pages.len()
            )));
        }
        for w in [self.vectors, self.scales, self.keys] {
            let f = w
                .into_inner()
                .map_err(|e| DenseError::file(&dir, e.error().to_string()))?;
            f.sync_all().map_err(|e| DenseError::file(&dir, e))?;
        }
        let mean: Vec<f32> = self
            .sum
            .iter()
            .map(|s| (s / self.count.max(1) as f64) as f32)
            .collect();
        write_centred_bits(&dir, &mean, self.count)?;
        let mut text = String::new();
        for p in pages {
            text.push_str(p);
            text.push('\n');
        }
        let pages_path = dir.join("pages.txt");
        std::fs::write(&pages_path, text).map_err(|e| DenseError::file(&pages_path, e))?;
        let mut languages = langs.to_vec();
        languages.sort();
        languages.dedup();
        let codes: Vec<u8> = langs
            .iter()
            .map(|l| languages.iter().position(|x| x == l).unwrap_or(0) as u8)
            .collect();
        let langs_path = dir.join("langs.bin");
        std::fs::write(&langs_path, codes).map_err(|e| DenseError::file(&langs_path, e))?;
        meta.languages = languages;
        meta.count = self.count;
        meta.index_id = String::new();
        let mut hasher = sha2::Sha256::new();
        use sha2::Digest;
        hasher.update(serde_json::to_vec(&meta).map_err(|e| DenseError::file(&dir, e))?);
        for name in [
            "vectors.i8",
            "scales.f32",
            "bits.bin",
            "keys.bin",
            "pages.txt",
            "langs.bin",
        ] {
            hasher.update(read(&dir.join(name))?);
        }
        meta.index_id = hex::encode(&hasher.finalize()[..8]);
        let meta_path = dir.join("dense.json");
        let json = serde_json::to_vec_pretty(&meta).map_err(|e| DenseError::file(&meta_path, e))?;
        std::fs::write(&meta_path, json).map_err(|e| DenseError::file(&meta_path, e))?;
        Ok(meta)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a writer's caller passes: the writer fills in count, languages and id.
    fn test_meta(dims: usize) -> IndexMeta {
        IndexMeta {
            format: INDEX_FORMAT,
            model: "test".into(),
            model_fingerprint: String::new(),
            dims,
            quantization: QUANTIZATION.into(),
            count: 0,
            languages: Vec::new(),
            corpus_snapshot: String::new(),
            index_id: String::new(),
        }
    }

    /// A unit vector along axis `axis` tilted towards axis 1 by `tilt` (so rows differ
    /// in score against a query along axis 0).
    fn unit(dims: usize, axis: usize, tilt: f32) -> Vec<f32> {
        let mut v = vec![0f32; dims];
        v[axis] = 1.0;
        v[1] += tilt;
        let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        v.iter().map(|x| x / norm).collect()
    }

    /// Pages alternate English / Chinese, two passages each, all near axis 0.
    fn mixed_index(dir: &Path, pages: usize) -> DenseIndex {
        let dims = 64;
        let mut w = IndexWriter::create(&dir.join(INDEX_DIR), dims).unwrap();
        let (mut ids, mut langs) = (Vec::new(), Vec::new());
        for p in 0..pages {
            ids.push(format!("test:{p}"));
            langs.push(if p % 2 == 0 { Lang::En } else { Lang::Zh });
            for o in 0..2u32 {
                let tilt = (p * 2 + o as usize) as f32 * 0.01;
                let (row, scale) = quantize(&unit(dims, 0, tilt));
                w.push(&row, scale, p as u32, o).unwrap();
            }
        }
        let meta = w.finish(&ids, &langs, test_meta(dims)).unwrap();
        assert_eq!(meta.languages, vec![Lang::En, Lang::Zh]);
        DenseIndex::open(dir).unwrap()
    }

    fn page_number(hit: &DenseHit) -> usize {
        hit.doc_id["test:".len()..].parse().unwrap()
    }

    #[test]
    fn a_language_filter_returns_that_language_only_in_both_stages() {
        let dir = tempfile::tempdir().unwrap();
        let index = mixed_index(dir.path(), 40);
        let q = unit(64, 0, 0.0);
        let all = index.search_exact(&q, 10, None);
        // Unfiltered, the nearest rows are the least tilted: pages 0..5 of both languages.
        assert_eq!(
            all.iter().map(page_number).collect::<Vec<_>>(),
            vec![0, 0, 1, 1, 2, 2, 3, 3, 4, 4]
        );
        for (lang, parity) in [(Lang::En, 0), (Lang::Zh, 1)] {
            let exact = index.search_exact(&q, 10, Some(lang));
            assert_eq!(exact.len(), 10);
            assert!(
                exact.iter().all(|h| page_number(h) % 2 == parity),
                "{lang:?}"
            );
            // Every row a candidate: the two stages give the exact scan's answer.
            let two = index.search_two_stage_with(&q, 10, index.len(), Some(lang));
            assert_eq!(two, exact);
            // Fewer candidates than rows: still only that language.
            let few = index.search_two_stage_with(&q, 5, 12, Some(lang));
            assert_eq!(few.len(), 5);
            assert!(few.iter().all(|h| page_number(h) % 2 == parity), "{lang:?}");
        }
    }

    #[test]
    fn a_language_the_index_lacks_finds_nothing_and_one_language_needs_no_filter() {
        let dir = tempfile::tempdir().unwrap();
        let dims = 64;
        let mut w = IndexWriter::create(&dir.path().join(INDEX_DIR), dims).unwrap();
        for o in 0..3 {
            let (row, scale) = quantize(&unit(dims, 0, o as f32 * 0.1));
            w.push(&row, scale, 0, o).unwrap();
        }
        w.finish(&["test:0".into()], &[Lang::En], test_meta(dims))
            .unwrap();
        let index = DenseIndex::open(dir.path()).unwrap();
        assert!(index.row_langs.is_empty());
        let q = unit(dims, 0, 0.0);
        assert_eq!(index.search_exact(&q, 3, Some(Lang::En)).len(), 3);
        assert_eq!(
            index.search_exact(&q, 3, Some(Lang::En)),
            index.search_exact(&q, 3, None)
        );
        assert!(index.search_exact(&q, 3, Some(Lang::Zh)).is_empty());
        assert!(index
            .search_two_stage_with(&q, 3, 3, Some(Lang::Zh))
            .is_empty());
    }

    #[test]
    fn page_languages_must_match_the_pages() {
        let dir = tempfile::tempdir().unwrap();
        let w = IndexWriter::create(&dir.path().join(INDEX_DIR), 64).unwrap();
        let err = w
            .finish(&["a".into(), "b".into()], &[Lang::En], test_meta(64))
            .unwrap_err();
        assert!(
            err.to_string().contains("1 page languages for 2 pages"),
            "{err}"
        );
    }
}
