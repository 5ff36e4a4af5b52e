//! The vector index in a data dir: `<data>/dense/` (a symlink to the published
//! `dense-<index_id>/`), one row per passage, in the corpus's passage order (pages in
//! doc-id order, passages in page order).
//!
//! ```text
//! dense.json    what built it (model fingerprint, dims, quantization, corpus snapshot)
//! vectors.i8    count x dims int8, row-major: round(v * 127 / max|v|)
//! scales.f32    count f32 (little endian): max|v| / 127, so v ~= scale * row
//! mean.f32      dims f32: the mean of all rows
//! rotation.f32  dims x dims f32, row-major: a fixed orthogonal matrix R (`first_stage::rotation`)
//! bits.bin      count x dims/8 bytes: the sign of every component of R (row - mean)
//! keys.bin      count x (u32 page, u32 passage ordinal), little endian
//! pages.txt     the doc ids `page` indexes, one per line
//! langs.bin     one byte per page: its language, as an index into `languages` in dense.json
//! centroids.f32, lists.bin  the inverted-file partition (`partition`; no lists below 50 K rows)
//! ```
//!
//! A search names a language (the one BM25 would route the query to) and returns rows of
//! that language only, so every mode answers a `lang: zh` query with Chinese pages.
//!
//! Search has two stages once an index is large ([`TWO_STAGE_MIN_ROWS`]). The first
//! (`first_stage`) scores the sign bits of the rows in the partition's lists nearest the
//! query (one list in [`LISTS_PER_PROBE`]; every row without a partition) against the
//! query, rotated the same way and quantized to 4 bits (asymmetric: the sum of the query's components where the
//! row's bit is set, which keeps the magnitudes a Hamming distance would throw away),
//! and keeps the best [`candidates`]; those are rescored exactly against their int8
//! rows. Measured on real vectors in BENCHMARKS.md. Only the sign bits (48 bytes per
//! passage at 384 dims), scales, keys and the lists stay in memory; the int8 rows are
//! memory-mapped and read for the candidates alone, so 21 M passages need ~1.5 GB of RAM rather than
//! the 8 GB of their int8 rows. Smaller indexes are scanned exactly. Both stages break
//! ties by row order: deterministic by construction.

use std::io::Write;
use std::path::{Path, PathBuf};

use memmap2::Mmap;
use serde::{Deserialize, Serialize};

use simweb_wikidump::Lang;

use crate::error::{DenseError, Result};
use crate::first_stage::{rotate, write_rotated_bits, PlaneQuery};
pub use crate::partition::LISTS_PER_PROBE;
use crate::partition::{list_count, probes, Partition};
use crate::ranking::{best_rows, dot, keep_best, Scored, TopK, OUTSIDE};

pub const INDEX_DIR: &str = "dense";
pub const INDEX_FORMAT: u32 = 5;
pub const QUANTIZATION: &str =
    "int8 rows (one f32 scale each) + sign bits of the rotated, centred rows; \
     asymmetric bit scores pick candidates rescored on int8; inverted-file lists of \
     2 sqrt(rows) spherical k-means centroids";
/// Indexes with at least this many rows search in two stages (smaller ones exactly).
pub const TWO_STAGE_MIN_ROWS: usize = 50_000;
/// Candidates rescored per requested hit, at least.
pub const CANDIDATES_PER_HIT: usize = 40;
/// Candidates rescored, at least.
pub const MIN_CANDIDATES: usize = 400;
/// Candidates rescored, at least one per this many searchable rows: how close the bit
/// scores come to the exact ones does not change with the index's size, but the number
/// of rows scoring within that margin of the 10th best grows with it.
pub const ROWS_PER_CANDIDATE: usize = 32;

/// How many rows the first stage passes to exact rescoring for `top_k` hits out of
/// `rows` searchable rows, by default.
pub fn candidates(top_k: usize, rows: usize) -> usize {
    candidates_with(top_k, rows, ROWS_PER_CANDIDATE)
}

/// [`candidates`] with one candidate per `rows_per_candidate` rows.
pub fn candidates_with(top_k: usize, rows: usize, rows_per_candidate: usize) -> usize {
    (top_k * CANDIDATES_PER_HIT)
        .max(MIN_CANDIDATES)
        .max(rows / rows_per_candidate.max(1))
}

/// `dense.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IndexMeta {
    pub format: u32,
    pub model: String,
    pub model_fingerprint: String,
    pub dims: usize,
    pub quantization: String,
    pub count: usize,
    /// Inverted-file lists (`partition`; 0 below [`TWO_STAGE_MIN_ROWS`] rows).
    #[serde(default)]
    pub lists: usize,
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
    /// Sign bits of R (row - mean), `words` u64 per row.
    bits: Vec<u64>,
    mean: Vec<f32>,
    /// R, `dims` x `dims` row-major.
    rotation: Vec<f32>,
    words: usize,
    scales: Vec<f32>,
    keys: Vec<(u32, u32)>,
    pages: Vec<String>,
    /// Each row's language (an index into `meta.languages`); empty when the index holds
    /// one language, so a single-language corpus pays nothing for the filter.
    row_langs: Vec<u8>,
    /// Rows per language (indexes into `meta.languages`).
    lang_rows: Vec<usize>,
    /// The two-stage search's candidates: one per this many rows ([`candidates_with`]).
    rows_per_candidate: usize,
    partition: Partition,
    /// A partitioned search probes one list in this many.
    lists_per_probe: usize,
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
                    "index format {} (this build reads {INDEX_FORMAT}): rebuild with `simweb index dense --data {}` \
                     (which reuses this index's vectors rather than embedding again)",
                    meta.format,
                    data_dir.display()
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
        let floats = |name: &str, count: usize| -> Result<Vec<f32>> {
            Ok(read_sized(&dir.join(name), count * 4)?
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect())
        };
        let mean = floats("mean.f32", meta.dims)?;
        let rotation = floats("rotation.f32", meta.dims * meta.dims)?;
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
        let mut lang_rows = vec![0; meta.languages.len()];
        for &(p, _) in &keys {
            lang_rows[page_langs[p as usize] as usize] += 1;
        }
        let partition = Partition::read(&dir, meta.dims, meta.count)?;
        if partition.lists() != meta.lists {
            return Err(DenseError::file(
                dir.join("lists.bin"),
                format!(
                    "{} lists, dense.json says {} (a foreign file)",
                    partition.lists(),
                    meta.lists
                ),
            ));
        }
        Ok(DenseIndex {
            lang_rows,
            rows_per_candidate: ROWS_PER_CANDIDATE,
            partition,
            lists_per_probe: LISTS_PER_PROBE,
            words,
            meta,
            vectors,
            bits,
            mean,
            rotation,
            scales,
            keys,
            pages,
            row_langs,
        })
    }

    pub fn meta(&self) -> &IndexMeta {
        &self.meta
    }

    /// Rescores one candidate per `rows` searchable rows (at least 1; default
    /// [`ROWS_PER_CANDIDATE`]) in two-stage searches: fewer rows per candidate, more
    /// recall and more time (BENCHMARKS.md has both per count).
    pub fn with_rows_per_candidate(mut self, rows: usize) -> Self {
        self.rows_per_candidate = rows.max(1);
        self
    }

    /// Probes one list in `lists` (at least 1; default [`LISTS_PER_PROBE`]) of a
    /// partitioned index: fewer, more recall and more time; 1 probes every list, which
    /// answers as the unpartitioned two-stage search does.
    pub fn with_lists_per_probe(mut self, lists: usize) -> Self {
        self.lists_per_probe = lists.max(1);
        self
    }

    /// What names this index's answers in cache keys and replay records: the index id,
    /// plus the candidate and probe policies when they are not the defaults (they change
    /// the answers).
    pub fn search_id(&self) -> String {
        let mut id = self.meta.index_id.clone();
        if self.rows_per_candidate != ROWS_PER_CANDIDATE {
            id.push_str(&format!("-r{}", self.rows_per_candidate));
        }
        if self.lists_per_probe != LISTS_PER_PROBE {
            id.push_str(&format!("-p{}", self.lists_per_probe));
        }
        id
    }

    /// The inverted-file lists this index was published with (none below
    /// [`TWO_STAGE_MIN_ROWS`] rows).
    pub fn partition(&self) -> &Partition {
        &self.partition
    }

    /// Trains a partition of `lists` lists over this index's rows (what the build does
    /// with [`crate::partition::list_count`] lists), for measuring other list counts.
    pub fn train_partition(&self, lists: usize) -> Partition {
        Partition::train(&self.vectors, &self.scales, self.meta.dims, lists)
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
    /// Two-stage from [`TWO_STAGE_MIN_ROWS`], over the nearest lists when partitioned.
    pub fn search(&self, query: &[f32], top_k: usize, lang: Option<Lang>) -> Vec<DenseHit> {
        if self.meta.count < TWO_STAGE_MIN_ROWS {
            self.search_exact(query, top_k, lang)
        } else if self.partition.lists() > 0 {
            let probes = probes(self.partition.lists(), self.lists_per_probe);
            self.search_partitioned_with(query, top_k, &self.partition, probes, None, lang)
        } else {
            self.search_two_stage(query, top_k, lang)
        }
    }

    /// The two-stage search over the rows of `partition`'s `probes` lists nearest the
    /// query (more, nearest first, while they hold fewer than `top_k` rows of `lang`):
    /// candidates from their sign bits (`candidates`, or as many as the unpartitioned
    /// search takes), rescored on their int8 rows.
    pub fn search_partitioned_with(
        &self,
        query: &[f32],
        top_k: usize,
        partition: &Partition,
        probes: usize,
        candidates: Option<usize>,
        lang: Option<Lang>,
    ) -> Vec<DenseHit> {
        let rows = self.rows(lang);
        if query.len() != self.meta.dims || top_k == 0 || rows == Rows::Nothing {
            return Vec::new();
        }
        let (mut lists, mut probed, mut searchable) = (Vec::new(), 0, 0);
        for (i, list) in partition.ranked_lists(query).into_iter().enumerate() {
            if i >= probes && searchable >= top_k {
                break;
            }
            let list_rows = partition.list(list);
            probed += list_rows.len();
            searchable += match rows {
                Rows::All => list_rows.len(),
                _ => list_rows
                    .iter()
                    .filter(|&&r| self.keeps(rows, r as usize))
                    .count(),
            };
            lists.push(list);
        }
        let wanted = candidates
            .unwrap_or_else(|| self.default_candidates(top_k, lang))
            .max(top_k);
        let plane = self.plane_query(query);
        let threads = if probed >= 32_768 { cores() } else { 1 };
        let mut best: Vec<Scored> = in_ranges(lists.len(), threads, |start, end| {
            let rows_of: Vec<&[u32]> = lists[start..end]
                .iter()
                .map(|&l| partition.list(l))
                .collect();
            self.list_candidates(&plane, &rows_of, wanted, rows)
        })
        .into_iter()
        .flatten()
        .collect();
        keep_best(&mut best, wanted);
        self.rescored(query, best, top_k)
    }

    /// Candidates from the sign bits ([`candidates`] of them), rescored on their int8
    /// rows.
    pub fn search_two_stage(
        &self,
        query: &[f32],
        top_k: usize,
        lang: Option<Lang>,
    ) -> Vec<DenseHit> {
        let candidates = self.default_candidates(top_k, lang);
        self.search_two_stage_with(query, top_k, candidates, lang)
    }

    /// [`candidates_with`] this index's candidate policy for the rows of `lang`. A
    /// partitioned search rescores as many as an unpartitioned one: the rows whose bit
    /// scores come within the bits' error of the 10th best are the query's neighbours,
    /// which the probed lists hold, so probing fewer lists does not make them fewer.
    fn default_candidates(&self, top_k: usize, lang: Option<Lang>) -> usize {
        let searchable = match self.rows(lang) {
            Rows::All => self.meta.count,
            Rows::Nothing => 0,
            Rows::Lang(l) => self.lang_rows[l as usize],
        };
        candidates_with(top_k, searchable, self.rows_per_candidate)
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
        let rows = self.rows(lang);
        if query.len() != self.meta.dims || top_k == 0 || rows == Rows::Nothing {
            return Vec::new();
        }
        let plane = self.plane_query(query);
        let wanted = candidates.max(top_k);
        let mut candidates: Vec<Scored> = self
            .in_parallel(|start, end| self.bit_candidates(&plane, start, end, wanted, rows))
            .into_iter()
            .flatten()
            .collect();
        keep_best(&mut candidates, wanted);
        self.rescored(query, candidates, top_k)
    }

    /// The `top_k` best of `candidates` by their exact scores.
    fn rescored(&self, query: &[f32], candidates: Vec<Scored>, top_k: usize) -> Vec<DenseHit> {
        // In row order, so the int8 rows are read front to back through the mapping.
        let mut rows: Vec<usize> = candidates.iter().map(|c| c.row).collect();
        rows.sort_unstable();
        let threads = if rows.len() >= 4096 { cores() } else { 1 };
        let mut scored: Vec<Scored> = in_ranges(rows.len(), threads, |start, end| {
            self.rescore(query, &rows[start..end])
        })
        .into_iter()
        .flatten()
        .collect();
        scored.sort_by(|a, b| b.cmp(a));
        scored.truncate(top_k);
        self.hits(scored)
    }

    /// Runs `work` over row ranges covering the index: one range under 200 K rows, else
    /// one per core (up to 8).
    fn in_parallel<T: Send>(&self, work: impl Fn(usize, usize) -> T + Sync) -> Vec<T> {
        let count = self.meta.count;
        in_ranges(count, if count >= 200_000 { cores() } else { 1 }, work)
    }

    /// The query's rotated, centred components, quantized for the first stage.
    fn plane_query(&self, query: &[f32]) -> PlaneQuery {
        let centred: Vec<f32> = query.iter().zip(&self.mean).map(|(q, m)| q - m).collect();
        let rotated: Vec<f32> = rotate(&self.rotation, &centred).collect();
        PlaneQuery::new(&rotated, self.words)
    }

    /// The `wanted` best rows of `start..end` within `rows` by bit score.
    fn bit_candidates(
        &self,
        query: &PlaneQuery,
        start: usize,
        end: usize,
        wanted: usize,
        rows: Rows,
    ) -> Vec<Scored> {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("popcnt") {
            // SAFETY: the CPU has the one feature the function is compiled for.
            return unsafe { self.bit_candidates_popcnt(query, start, end, wanted, rows) };
        }
        self.bit_candidates_portable(query, start, end, wanted, rows)
    }

    /// [`DenseIndex::bit_candidates_portable`] compiled with the `popcnt` instruction
    /// (the default x86-64 target counts bits with a dozen shifts and masks instead):
    /// the same integers, so the same candidates, on every machine.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "popcnt")]
    unsafe fn bit_candidates_popcnt(
        &self,
        query: &PlaneQuery,
        start: usize,
        end: usize,
        wanted: usize,
        rows: Rows,
    ) -> Vec<Scored> {
        self.bit_candidates_portable(query, start, end, wanted, rows)
    }

    #[inline(always)]
    fn bit_candidates_portable(
        &self,
        query: &PlaneQuery,
        start: usize,
        end: usize,
        wanted: usize,
        rows: Rows,
    ) -> Vec<Scored> {
        let words = self.words;
        let codes = self.bits[start * words..end * words].chunks_exact(words);
        // A plain loop rather than an iterator chain: the chain's closures are separate
        // functions, which would not be compiled with the caller's `popcnt`.
        let mut scores = Vec::with_capacity(end - start);
        for (row, code) in (start..end).zip(codes) {
            scores.push(if rows == Rows::All || self.keeps(rows, row) {
                query.score(code)
            } else {
                OUTSIDE
            });
        }
        best_rows(&scores, start, wanted)
    }

    /// The `wanted` best rows of `lists` within `rows` by bit score.
    fn list_candidates(
        &self,
        query: &PlaneQuery,
        lists: &[&[u32]],
        wanted: usize,
        rows: Rows,
    ) -> Vec<Scored> {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("popcnt") {
            // SAFETY: the CPU has the one feature the function is compiled for.
            return unsafe { self.list_candidates_popcnt(query, lists, wanted, rows) };
        }
        self.list_candidates_portable(query, lists, wanted, rows)
    }

    /// [`DenseIndex::list_candidates_portable`] with `popcnt` (as `bit_candidates_popcnt`).
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "popcnt")]
    unsafe fn list_candidates_popcnt(
        &self,
        query: &PlaneQuery,
        lists: &[&[u32]],
        wanted: usize,
        rows: Rows,
    ) -> Vec<Scored> {
        self.list_candidates_portable(query, lists, wanted, rows)
    }

    #[inline(always)]
    fn list_candidates_portable(
        &self,
        query: &PlaneQuery,
        lists: &[&[u32]],
        wanted: usize,
        rows: Rows,
    ) -> Vec<Scored> {
        let words = self.words;
        let mut scored = Vec::with_capacity(lists.iter().map(|l| l.len()).sum());
        for list in lists {
            for (i, &row) in list.iter().enumerate() {
                // A list's rows are scattered through the bits: load a few ahead.
                if let Some(&ahead) = list.get(i + PREFETCH_AHEAD) {
                    let ahead = ahead as usize * words;
                    prefetch(&self.bits[ahead..ahead + words]);
                }
                let row = row as usize;
                if rows == Rows::All || self.keeps(rows, row) {
                    scored.push(Scored {
                        score: query.score(&self.bits[row * words..(row + 1) * words]),
                        row,
                    });
                }
            }
        }
        keep_best(&mut scored, wanted);
        scored
    }

    fn rescore(&self, query: &[f32], rows: &[usize]) -> Vec<Scored> {
        let dims = self.meta.dims;
        let mut out = Vec::with_capacity(rows.len());
        for (i, &row) in rows.iter().enumerate() {
            // Candidates are scattered through the mapping: ask for a row a few ahead
            // while this one is scored, so its cache misses overlap this one's work.
            if let Some(&ahead) = rows.get(i + PREFETCH_AHEAD) {
                prefetch(&self.vectors[ahead * dims..(ahead + 1) * dims]);
            }
            out.push(Scored {
                score: self.row_score(query, row),
                row,
            });
        }
        out
    }

    fn row_score(&self, query: &[f32], row: usize) -> f32 {
        let dims = self.meta.dims;
        let v = &self.vectors[row * dims..(row + 1) * dims];
        dot(query, v, |x| f32::from(x as i8)) * self.scales[row]
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
        let rows = self.rows(lang);
        if query.len() != self.meta.dims || top_k == 0 || rows == Rows::Nothing {
            return Vec::new();
        }
        let mut best: Vec<Scored> = self
            .in_parallel(|start, end| {
                let mut best = TopK::new(top_k);
                for row in (start..end).filter(|&row| self.keeps(rows, row)) {
                    best.offer(Scored {
                        score: self.row_score(query, row),
                        row,
                    });
                }
                best.into_vec()
            })
            .into_iter()
            .flatten()
            .collect();
        best.sort_by(|a, b| b.cmp(a));
        best.truncate(top_k);
        self.hits(best)
    }
}

/// `work` over `threads` equal ranges of `0..len`, each on its own scoped thread (on
/// this one when `threads` is 1), results in range order: the ranges, and so the merged
/// result, do not depend on timing.
pub(crate) fn in_ranges<T: Send>(
    len: usize,
    threads: usize,
    work: impl Fn(usize, usize) -> T + Sync,
) -> Vec<T> {
    if threads <= 1 {
        return vec![work(0, len)];
    }
    let span = len.div_ceil(threads).max(1);
    let work = &work;
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..len)
            .step_by(span)
            .map(|start| scope.spawn(move || work(start, (start + span).min(len))))
            .collect();
        handles.into_iter().map(join).collect()
    })
}

/// Threads a search splits its rows over (up to 8).
pub(crate) fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get().min(8))
}

/// A scoped thread's result. Its panic (a bug) goes on in the caller rather than
/// leaving that thread's rows silently out of the answer.
pub(crate) fn join<T>(handle: std::thread::ScopedJoinHandle<'_, T>) -> T {
    handle
        .join()
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}

/// How many candidates ahead the rescoring prefetches.
const PREFETCH_AHEAD: usize = 4;

/// Hints the CPU to load the cache lines `items` occupy; no effect on results.
#[inline(always)]
fn prefetch<T>(items: &[T]) {
    #[cfg(target_arch = "x86_64")]
    {
        let start = items.as_ptr().cast::<i8>();
        for offset in (0..std::mem::size_of_val(items)).step_by(64) {
            // SAFETY: SSE is part of every x86-64 CPU; `offset` stays inside `items`, and
            // a prefetch neither reads into the program nor faults.
            unsafe {
                std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(
                    start.add(offset),
                );
            }
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = items;
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
        write_rotated_bits(&dir, &mean, self.count)?;
        meta.lists = write_partition(&dir, self.dims, self.count)?;
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
            "mean.f32",
            "rotation.f32",
            "bits.bin",
            "keys.bin",
            "pages.txt",
            "langs.bin",
            "centroids.f32",
            "lists.bin",
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

/// Trains the partition of the rows and scales already in `dir` ([`list_count`] lists)
/// and writes it there; returns its list count.
fn write_partition(dir: &Path, dims: usize, count: usize) -> Result<usize> {
    let lists = list_count(count);
    let partition = if lists == 0 {
        Partition::empty(dims)
    } else {
        let path = dir.join("vectors.i8");
        let file = std::fs::File::open(&path).map_err(|e| DenseError::file(&path, e))?;
        // SAFETY: the file was written and synced by this writer, which alone writes it.
        let vectors = unsafe { Mmap::map(&file) }.map_err(|e| DenseError::file(&path, e))?;
        expect_len(&path, vectors.len(), count * dims)?;
        let scales: Vec<f32> = read_sized(&dir.join("scales.f32"), count * 4)?
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        Partition::train(&vectors, &scales, dims, lists)
    };
    partition.write(dir)?;
    Ok(partition.lists())
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
            lists: 0,
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
    fn a_bit_score_is_the_rotated_query_summed_over_the_set_bits() {
        let dir = tempfile::tempdir().unwrap();
        let index = mixed_index(dir.path(), 20);
        let dims = 64;
        let q = unit(dims, 3, 0.4);
        let centred: Vec<f32> = q.iter().zip(&index.mean).map(|(a, m)| a - m).collect();
        let rotated: Vec<f32> = index
            .rotation
            .chunks_exact(dims)
            .map(|r| r.iter().zip(&centred).map(|(a, b)| a * b).sum())
            .collect();
        let plane = index.plane_query(&q);
        let all = index.bit_candidates(&plane, 0, index.len(), index.len(), Rows::All);
        assert_eq!(all.len(), index.len());
        assert_eq!(
            all,
            index.bit_candidates_portable(&plane, 0, index.len(), index.len(), Rows::All)
        );
        let mut set_bits = 0;
        for s in &all {
            let bits = &index.bits[s.row * index.words..(s.row + 1) * index.words];
            let set: Vec<usize> = (0..dims)
                .filter(|&k| bits[k / 64] >> (k % 64) & 1 == 1)
                .collect();
            let want: f32 = set.iter().map(|&k| rotated[k]).sum();
            // Each component is off by at most half a quantization step.
            let bound = plane.delta / 2.0 * set.len() as f32 + 1e-4;
            assert!(
                (s.score - want).abs() <= bound,
                "row {}: {} vs {want}",
                s.row,
                s.score
            );
            set_bits += set.len();
        }
        // Centred and rotated, the rows' signs are mixed, not all one way.
        let total = index.len() * dims;
        assert!(
            set_bits > total / 4 && set_bits < total * 3 / 4,
            "{set_bits} of {total}"
        );
        // The policy grows with the rows past its floor.
        assert_eq!(candidates(10, 1_000), MIN_CANDIDATES);
        assert_eq!(candidates(20, 1_000), 20 * CANDIDATES_PER_HIT);
        assert_eq!(candidates(10, 1_000_000), 1_000_000 / ROWS_PER_CANDIDATE);
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
            // Over lists: every list probed, every row a candidate, the exact answer;
            // the nearest list alone still answers in that language only.
            let lists = index.train_partition(4);
            let all_lists =
                index.search_partitioned_with(&q, 10, &lists, 4, Some(index.len()), Some(lang));
            assert_eq!(all_lists, exact);
            let nearest = index.search_partitioned_with(&q, 5, &lists, 1, None, Some(lang));
            assert_eq!(nearest.len(), 5);
            // Asked for all 40 rows of the language, one probe takes as many lists as
            // that needs.
            assert!(lists.list(lists.ranked_lists(&q)[0]).len() < 40);
            assert_eq!(
                index.search_partitioned_with(&q, 40, &lists, 1, Some(80), Some(lang)),
                index.search_exact(&q, 40, Some(lang))
            );
            assert!(
                nearest.iter().all(|h| page_number(h) % 2 == parity),
                "{lang:?}"
            );
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
    fn a_search_split_over_threads_gives_the_one_thread_answer() {
        // 200 K rows: both stages split the rows over the cores. Pseudo-random rows in
        // 16 dims, many near-ties after int8 rounding.
        let dims = 16;
        let rows = 200_000;
        let dir = tempfile::tempdir().unwrap();
        let mut w = IndexWriter::create(&dir.path().join(INDEX_DIR), dims).unwrap();
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 40) as f32 / (1u64 << 24) as f32 - 0.5
        };
        let mut unit_row = || {
            let v: Vec<f32> = (0..dims).map(|_| next()).collect();
            let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
            v.into_iter().map(|x| x / norm).collect::<Vec<f32>>()
        };
        for r in 0..rows {
            let (row, scale) = quantize(&unit_row());
            w.push(&row, scale, 0, r as u32).unwrap();
        }
        w.finish(&["test:0".into()], &[Lang::En], test_meta(dims))
            .unwrap();
        let index = DenseIndex::open(dir.path()).unwrap();
        // Every list probed, one candidate per row: every row rescored, the exact answer.
        let all_rows = DenseIndex::open(dir.path())
            .unwrap()
            .with_rows_per_candidate(1)
            .with_lists_per_probe(1);
        // Every list probed at the default candidates: the unpartitioned search.
        let all_lists = DenseIndex::open(dir.path())
            .unwrap()
            .with_lists_per_probe(1);
        let lists = index.partition().lists();
        assert_eq!(lists, 894);
        assert_eq!(index.meta().lists, lists);
        assert_eq!(index.search_id(), index.meta().index_id);
        assert_eq!(
            all_rows.search_id(),
            format!("{}-r1-p1", index.meta().index_id)
        );
        for _ in 0..5 {
            let q = unit_row();
            let exact = index.search_exact(&q, 10, None);
            // The exact scan split over threads equals a one-thread scan of every row.
            let mut one = TopK::new(10);
            for row in 0..rows {
                one.offer(Scored {
                    score: index.row_score(&q, row),
                    row,
                });
            }
            let mut one = one.into_vec();
            one.sort_by(|a, b| b.cmp(a));
            assert_eq!(exact, index.hits(one));
            // Every row a candidate: the split first stage and rescoring give the same.
            assert_eq!(index.search_two_stage_with(&q, 10, rows, None), exact);
            assert_eq!(
                all_lists.search(&q, 10, None),
                index.search_two_stage(&q, 10, None)
            );
            // The default, twice: the same answer, mostly the exact one.
            let two = index.search(&q, 10, None);
            assert_eq!(all_rows.search(&q, 10, None), exact);
            assert_eq!(two, index.search(&q, 10, None));
            assert!(
                two.iter().filter(|h| exact.contains(h)).count() >= 5,
                "{two:?}"
            );
            // The default probes 1/16 of the lists.
            assert_eq!(
                two,
                index.search_partitioned_with(
                    &q,
                    10,
                    index.partition(),
                    lists.div_ceil(16),
                    None,
                    None
                )
            );
        }
    }

    #[test]
    fn a_partition_that_disagrees_with_dense_json_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let index = mixed_index(dir.path(), 4);
        assert_eq!(index.meta().lists, 0);
        let meta_path = dir.path().join(INDEX_DIR).join("dense.json");
        let mut meta: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&meta_path).unwrap()).unwrap();
        meta["lists"] = 3.into();
        std::fs::write(&meta_path, serde_json::to_vec(&meta).unwrap()).unwrap();
        let err = DenseIndex::open(dir.path()).unwrap_err().to_string();
        assert!(
            err.contains("lists.bin") && err.contains("dense.json says 3"),
            "{err}"
        );
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
