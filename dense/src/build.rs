//! Embedding a corpus's passages into `<data>/dense`: resumable, published atomically.
//!
//! Passages are taken in a fixed order (pages in doc-id order, passages in page order)
//! and embedded in chunks of [`CHUNK_ROWS`]. Each finished chunk is a file in
//! `<data>/dense.build/`, so a build that is stopped (Ctrl-C, a crash, a full disk)
//! resumes at the first missing chunk. When all chunks exist they are concatenated into
//! `<data>/dense.new/`, renamed to `<data>/dense-<index_id>/`, and the `<data>/dense`
//! symlink is swapped to it by one rename; readers see the old index or the new one,
//! never a mix.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::{Deserialize, Serialize};
use simweb_wikidump::Corpus;

use crate::encoder::{Encoder, TextKind};
use crate::error::{DenseError, Result};
use crate::index::{
    quantize, DenseIndex, IndexMeta, IndexWriter, INDEX_DIR, INDEX_FORMAT, QUANTIZATION,
};

/// Passages per resumable chunk.
pub const CHUNK_ROWS: usize = 4096;
/// Most texts per encoder call; texts are grouped by length so padding stays small.
pub const BATCH_ROWS: usize = 32;
/// Most tokens (rows x longest row) per encoder call, which bounds activation memory.
pub const BATCH_TOKENS: usize = 8192;

/// What a build reports.
#[derive(Debug, Clone, Serialize)]
pub struct BuildReport {
    pub passages: usize,
    /// Passages embedded by this run (the rest came from chunks of an earlier run).
    pub embedded: usize,
    pub seconds: f64,
    pub meta: IndexMeta,
}

/// `dense.build/build.json`: chunks are reused only by a build of the same inputs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct BuildKey {
    format: u32,
    model_fingerprint: String,
    corpus_snapshot: String,
    chunk_rows: usize,
}

/// The text embedded for a passage: its page title, then the passage (as in wiki-18,
/// where every passage carries its title).
pub fn passage_text(title: &str, text: &str) -> String {
    format!("{title}\n{text}")
}

/// Embeds every passage of `corpus` with `encoder` and publishes `<data>/dense`.
/// `progress` is called after each chunk with (passages done, total passages).
pub fn build(
    corpus: &Corpus,
    encoder: &Encoder,
    progress: impl FnMut(usize, usize),
) -> Result<BuildReport> {
    build_with(corpus, encoder, CHUNK_ROWS, progress)
}

/// [`build`] with `chunk_rows` passages per resumable chunk. Texts are batched within a
/// chunk, so the index is byte-identical for the same chunk size (and may differ in the
/// last float bits for another).
pub fn build_with(
    corpus: &Corpus,
    encoder: &Encoder,
    chunk_rows: usize,
    mut progress: impl FnMut(usize, usize),
) -> Result<BuildReport> {
    let chunk_rows = chunk_rows.max(1);
    let started = Instant::now();
    let data_dir = corpus.data_dir().to_path_buf();
    let build_dir = data_dir.join("dense.build");
    let key = BuildKey {
        format: INDEX_FORMAT,
        model_fingerprint: encoder.fingerprint().to_string(),
        corpus_snapshot: corpus.snapshot_id().to_string(),
        chunk_rows,
    };
    let dims = encoder.dims();
    let pages = corpus.doc_ids()?;
    if let Some(old) = published_rows(&data_dir, &key, dims, &pages) {
        return rederive(corpus, encoder, &pages, old, started);
    }
    prepare_build_dir(&build_dir, &key)?;

    // One pass over the pages, each read once: every `chunk_rows` passages make a chunk,
    // embedded unless an earlier run already wrote its file. The manifest's passage count
    // only sizes the progress bar.
    let expected = corpus.manifest().totals.passages as usize;
    let mut chunk = Chunk::default();
    let mut langs = Vec::with_capacity(pages.len());
    let (mut chunks, mut total, mut embedded) = (0, 0, 0);
    let mut finish_chunk = |chunk: &mut Chunk, total: usize| -> Result<()> {
        let path = chunk_path(&build_dir, chunks);
        if !path.is_file() {
            let vectors = embed_sorted(encoder, &chunk.texts)?;
            write_chunk(&path, &chunk.rows, &vectors, encoder.dims())?;
            embedded += chunk.rows.len();
            tracing::info!(chunk = chunks, done = total, "embedded a chunk of passages");
        }
        chunks += 1;
        progress(total, expected.max(total));
        *chunk = Chunk::default();
        Ok(())
    };
    for (page, doc_id) in pages.iter().enumerate() {
        let doc = corpus.document_text(doc_id)?.ok_or_else(|| {
            DenseError::Mismatch(format!("page {doc_id} vanished from the store"))
        })?;
        langs.push(doc.lang);
        for passage in simweb_wikidump::passages(&doc) {
            chunk.rows.push((page as u32, passage.ordinal));
            chunk.texts.push(passage_text(&doc.title, &passage.text));
            total += 1;
            if chunk.rows.len() == chunk_rows {
                finish_chunk(&mut chunk, total)?;
            }
        }
    }
    if !chunk.rows.is_empty() || total == 0 {
        finish_chunk(&mut chunk, total)?;
    }

    // Concatenate the chunks into a fresh directory, then swap it in.
    let new_dir = empty_new_dir(&data_dir)?;
    let mut writer = IndexWriter::create(&new_dir, dims)?;
    for chunk_no in 0..chunks {
        for (page, ordinal, scale, row) in read_chunk(&chunk_path(&build_dir, chunk_no), dims)? {
            writer.push(&row, scale, page, ordinal)?;
        }
    }
    let meta = writer.finish(&pages, &langs, new_meta(corpus, encoder))?;
    publish(&data_dir, &new_dir, &meta.index_id)?;
    std::fs::remove_dir_all(&build_dir).map_err(|e| DenseError::file(&build_dir, e))?;
    Ok(BuildReport {
        passages: total,
        embedded,
        seconds: started.elapsed().as_secs_f64(),
        meta,
    })
}

/// What a writer is given for an index of `corpus` by `encoder` (it fills in the rest).
fn new_meta(corpus: &Corpus, encoder: &Encoder) -> IndexMeta {
    IndexMeta {
        format: INDEX_FORMAT,
        model: encoder.config().model.clone(),
        model_fingerprint: encoder.fingerprint().to_string(),
        dims: encoder.dims(),
        quantization: QUANTIZATION.to_string(),
        count: 0,
        lists: 0,
        languages: Vec::new(),
        corpus_snapshot: corpus.snapshot_id().to_string(),
        index_id: String::new(),
    }
}

/// The published index's directory and row count when its rows can be reused: the same
/// model embedded the same corpus snapshot, in an index of any format that keeps the rows
/// as this one does (`vectors.i8`, `scales.f32`, `keys.bin`, `pages.txt`, whole). A
/// rebuild after a format change then re-derives the rest in minutes instead of
/// embedding every passage again (days at Wikipedia size on a CPU).
fn published_rows(
    data_dir: &Path,
    key: &BuildKey,
    dims: usize,
    pages: &[String],
) -> Option<(PathBuf, usize)> {
    let dir = std::fs::canonicalize(DenseIndex::dir(data_dir)).ok()?;
    let meta: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("dense.json")).ok()?).ok()?;
    let count = meta["count"].as_u64()? as usize;
    let same = meta["model_fingerprint"] == key.model_fingerprint.as_str()
        && meta["corpus_snapshot"] == key.corpus_snapshot.as_str()
        && meta["dims"].as_u64() == Some(dims as u64)
        && meta["format"].as_u64().is_some_and(|f| f >= 2);
    let size = |name: &str| std::fs::metadata(dir.join(name)).map(|m| m.len() as usize);
    let whole = size("vectors.i8").ok()? == count * dims
        && size("scales.f32").ok()? == count * 4
        && size("keys.bin").ok()? == count * 8;
    let text = std::fs::read_to_string(dir.join("pages.txt")).ok()?;
    let same_pages = text.lines().eq(pages.iter().map(String::as_str));
    (same && whole && same_pages).then_some((dir, count))
}

/// Writes a new index from the rows of the published one (see [`published_rows`]) and
/// publishes it; nothing is embedded.
fn rederive(
    corpus: &Corpus,
    encoder: &Encoder,
    pages: &[String],
    (old_dir, count): (PathBuf, usize),
    started: Instant,
) -> Result<BuildReport> {
    tracing::info!(dir = %old_dir.display(), rows = count,
        "the published index has this model's vectors of this snapshot: re-deriving it without embedding");
    let data_dir = corpus.data_dir().to_path_buf();
    let dims = encoder.dims();
    let mut langs = Vec::with_capacity(pages.len());
    for doc_id in pages {
        let doc = corpus.document_text(doc_id)?.ok_or_else(|| {
            DenseError::Mismatch(format!("page {doc_id} vanished from the store"))
        })?;
        langs.push(doc.lang);
    }
    let new_dir = empty_new_dir(&data_dir)?;
    let open = |name: &str| -> Result<std::io::BufReader<std::fs::File>> {
        let path = old_dir.join(name);
        let f = std::fs::File::open(&path).map_err(|e| DenseError::file(&path, e))?;
        Ok(std::io::BufReader::with_capacity(1 << 20, f))
    };
    let (mut rows, mut scales, mut keys) =
        (open("vectors.i8")?, open("scales.f32")?, open("keys.bin")?);
    let mut writer = IndexWriter::create(&new_dir, dims)?;
    let (mut row, mut scale, mut key) = (vec![0u8; dims], [0u8; 4], [0u8; 8]);
    for _ in 0..count {
        rows.read_exact(&mut row)
            .and_then(|()| scales.read_exact(&mut scale))
            .and_then(|()| keys.read_exact(&mut key))
            .map_err(|e| DenseError::file(&old_dir, e))?;
        let page = u32::from_le_bytes([key[0], key[1], key[2], key[3]]);
        let ordinal = u32::from_le_bytes([key[4], key[5], key[6], key[7]]);
        let signed: Vec<i8> = row.iter().map(|&x| x as i8).collect();
        writer.push(&signed, f32::from_le_bytes(scale), page, ordinal)?;
    }
    let meta = writer.finish(pages, &langs, new_meta(corpus, encoder))?;
    publish(&data_dir, &new_dir, &meta.index_id)?;
    Ok(BuildReport {
        passages: count,
        embedded: 0,
        seconds: started.elapsed().as_secs_f64(),
        meta,
    })
}

/// `<data>/dense.new`, removed if an earlier run left it: where an index is written
/// before [`publish`] swaps it in.
fn empty_new_dir(data_dir: &Path) -> Result<PathBuf> {
    let new_dir = data_dir.join("dense.new");
    if new_dir.exists() {
        std::fs::remove_dir_all(&new_dir).map_err(|e| DenseError::file(&new_dir, e))?;
    }
    Ok(new_dir)
}

fn prepare_build_dir(build_dir: &Path, key: &BuildKey) -> Result<()> {
    let key_path = build_dir.join("build.json");
    let reusable = std::fs::read(&key_path)
        .ok()
        .and_then(|b| serde_json::from_slice::<BuildKey>(&b).ok())
        .is_some_and(|old| &old == key);
    if reusable {
        tracing::info!(dir = %build_dir.display(), "resuming an interrupted dense build");
        return Ok(());
    }
    if build_dir.exists() {
        std::fs::remove_dir_all(build_dir).map_err(|e| DenseError::file(build_dir, e))?;
    }
    std::fs::create_dir_all(build_dir).map_err(|e| DenseError::file(build_dir, e))?;
    let json = serde_json::to_vec_pretty(key).map_err(|e| DenseError::file(&key_path, e))?;
    std::fs::write(&key_path, json).map_err(|e| DenseError::file(&key_path, e))
}

fn chunk_path(build_dir: &Path, chunk_no: usize) -> PathBuf {
    build_dir.join(format!("chunk-{chunk_no:06}.bin"))
}

/// The passages of one chunk: (page index, ordinal) and the text embedded for each.
#[derive(Default)]
struct Chunk {
    rows: Vec<(u32, u32)>,
    texts: Vec<String>,
}

/// Embeds `texts` in batches of similar token length; returns one vector per text, in
/// the input order. The batches depend only on the texts, so the output does too.
pub fn embed_sorted(encoder: &Encoder, texts: &[String]) -> Result<Vec<Vec<f32>>> {
    let ids = texts
        .iter()
        .map(|t| encoder.token_ids(t, TextKind::Passage))
        .collect::<Result<Vec<_>>>()?;
    let mut by_len: Vec<usize> = (0..ids.len()).collect();
    by_len.sort_by_key(|&i| (ids[i].len(), i));
    let dims = encoder.dims();
    let mut out = vec![Vec::new(); ids.len()];
    let mut start = 0;
    while start < by_len.len() {
        let mut end = start + 1;
        while end < by_len.len()
            && end - start < BATCH_ROWS
            && (end - start + 1) * ids[by_len[end]].len() <= BATCH_TOKENS
        {
            end += 1;
        }
        let batch: Vec<Vec<u32>> = by_len[start..end].iter().map(|&i| ids[i].clone()).collect();
        let flat = encoder.embed_ids(&batch)?;
        for (k, &i) in by_len[start..end].iter().enumerate() {
            out[i] = flat[k * dims..(k + 1) * dims].to_vec();
        }
        start = end;
    }
    Ok(out)
}

/// Chunk file: per row `u32 page, u32 ordinal, f32 scale, dims x i8`, little endian.
/// Written to a temporary name and renamed, so a chunk file is whole or absent.
fn write_chunk(path: &Path, rows: &[(u32, u32)], vectors: &[Vec<f32>], dims: usize) -> Result<()> {
    let mut buf = Vec::with_capacity(rows.len() * (12 + dims));
    for (&(page, ordinal), v) in rows.iter().zip(vectors) {
        let (row, scale) = quantize(v);
        buf.extend_from_slice(&page.to_le_bytes());
        buf.extend_from_slice(&ordinal.to_le_bytes());
        buf.extend_from_slice(&scale.to_le_bytes());
        buf.extend(row.iter().map(|&x| x as u8));
    }
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::File::create(&tmp).map_err(|e| DenseError::file(&tmp, e))?;
    f.write_all(&buf).map_err(|e| DenseError::file(&tmp, e))?;
    f.sync_all().map_err(|e| DenseError::file(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| DenseError::file(path, e))
}

type ChunkRow = (u32, u32, f32, Vec<i8>);

fn read_chunk(path: &Path, dims: usize) -> Result<Vec<ChunkRow>> {
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|mut f| f.read_to_end(&mut bytes))
        .map_err(|e| DenseError::file(path, e))?;
    let width = 12 + dims;
    if bytes.len() % width != 0 {
        return Err(DenseError::file(
            path,
            format!("{} bytes is not whole rows of {width}", bytes.len()),
        ));
    }
    Ok(bytes
        .chunks_exact(width)
        .map(|r| {
            let u = |o: usize| u32::from_le_bytes([r[o], r[o + 1], r[o + 2], r[o + 3]]);
            (
                u(0),
                u(4),
                f32::from_bits(u(8)),
                r[12..].iter().map(|&x| x as i8).collect(),
            )
        })
        .collect())
}

/// Publishes `new_dir` as `<data>/dense-<index_id>` and points the `<data>/dense`
/// symlink at it with one rename (atomic: a reader opens the old index or the new one,
/// never a mix or nothing). Then the other `dense-*` directories are removed; a server
/// still mapping the old files keeps reading them until it closes them.
fn publish(data_dir: &Path, new_dir: &Path, index_id: &str) -> Result<()> {
    let target_name = format!("{INDEX_DIR}-{index_id}");
    let target = data_dir.join(&target_name);
    if target.exists() {
        std::fs::remove_dir_all(&target).map_err(|e| DenseError::file(&target, e))?;
    }
    std::fs::rename(new_dir, &target).map_err(|e| DenseError::file(&target, e))?;
    let link = DenseIndex::dir(data_dir);
    let tmp_link = data_dir.join(format!("{INDEX_DIR}.link"));
    let _ = std::fs::remove_file(&tmp_link);
    std::os::unix::fs::symlink(&target_name, &tmp_link)
        .map_err(|e| DenseError::file(&tmp_link, e))?;
    if link.is_dir() && !link.is_symlink() {
        // An index published by a directory rename (an older build): replace it.
        std::fs::remove_dir_all(&link).map_err(|e| DenseError::file(&link, e))?;
    }
    std::fs::rename(&tmp_link, &link).map_err(|e| DenseError::file(&link, e))?;
    let entries = std::fs::read_dir(data_dir).map_err(|e| DenseError::file(data_dir, e))?;
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with(&format!("{INDEX_DIR}-")) && name != target_name {
            std::fs::remove_dir_all(entry.path()).map_err(|e| DenseError::file(entry.path(), e))?;
        }
    }
    Ok(())
}
