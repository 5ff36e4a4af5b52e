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
    prepare_build_dir(&build_dir, &key)?;

    // One pass over the pages, each read once: every `chunk_rows` passages make a chunk,
    // embedded unless an earlier run already wrote its file. The manifest's passage count
    // only sizes the progress bar.
    let pages = corpus.doc_ids()?;
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
    let new_dir = data_dir.join("dense.new");
    if new_dir.exists() {
        std::fs::remove_dir_all(&new_dir).map_err(|e| DenseError::file(&new_dir, e))?;
    }
    let dims = encoder.dims();
    let mut writer = IndexWriter::create(&new_dir, dims)?;
    for chunk_no in 0..chunks {
        for (page, ordinal, scale, row) in read_chunk(&chunk_path(&build_dir, chunk_no), dims)? {
            writer.push(&row, scale, page, ordinal)?;
        }
    }
    let meta = writer.finish(
        &pages,
        &langs,
        IndexMeta {
            format: INDEX_FORMAT,
            model: encoder.config().model.clone(),
            model_fingerprint: encoder.fingerprint().to_string(),
            dims,
            quantization: QUANTIZATION.to_string(),
            count: 0,
            languages: Vec::new(),
            corpus_snapshot: corpus.snapshot_id().to_string(),
            index_id: String::new(),
        },
    )?;
    publish(&data_dir, &new_dir, &meta.index_id)?;
    std::fs::remove_dir_all(&build_dir).map_err(|e| DenseError::file(&build_dir, e))?;
    Ok(BuildReport {
        passages: total,
        embedded,
        seconds: started.elapsed().as_secs_f64(),
        meta,
    })
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
