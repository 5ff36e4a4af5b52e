//! The build-time document store. Documents go straight into the published `docs`
//! table (a keyed table, written in input order, so no page is held in memory); the small
//! maps (doc titles, title keys, redirects, URLs) are appended to [`SpillMap`]s, sorted
//! runs in the private build dir that keep the first entry for each key. Then
//! [`BuildStore::freeze`] finishes `docs` and merges each map into an immutable table of
//! the published [`crate::docstore`]. Memory stays bounded whatever the corpus size: the
//! maps' buffers, the `docs` table's block list (16 bytes per 16 KiB block), and two
//! [`SeenSet`]s (doc ids, redirect sources) that decide duplicates while the ingest runs.

use std::path::Path;

use crate::docstore::{self, lang_key as key};
use crate::error::CorpusError;
use crate::model::{Document, Redirect};
use crate::normalize::{folded_key, title_key};
use crate::seen::SeenSet;
use crate::spill::SpillMap;
use crate::table::{KeyedTableWriter, TableError, TableWriter};

/// Bytes each map buffers before it writes a sorted run (its vectors' doubling can take
/// up to twice that): five maps, at most ~80 MB together.
const MAP_BUDGET: usize = 8 << 20;

/// The store an ingest is writing: the published `docs` table and the maps.
pub struct BuildStore {
    docs: KeyedTableWriter,
    doc_titles: SpillMap,
    titles: SpillMap,
    titles_folded: SpillMap,
    redirects: SpillMap,
    urls: SpillMap,
    /// Every stored doc id and redirect source, as 128-bit hashes: a duplicate must be
    /// known when it arrives (it is skipped and counted), not only at the merge.
    doc_ids: SeenSet,
    redirect_keys: SeenSet,
}

/// What happened to a write: the tables keep the first entry for a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inserted {
    New,
    /// An entry with this doc id or title (or redirect source) already exists.
    Duplicate,
}

impl BuildStore {
    /// Creates a fresh store for an ingest: the maps' runs in `path` (created), the `docs`
    /// table in `docstore_dir` (created).
    pub fn create(path: &Path, docstore_dir: &Path) -> Result<BuildStore, CorpusError> {
        for dir in [path, docstore_dir] {
            std::fs::create_dir_all(dir).map_err(|e| CorpusError::Store {
                message: format!("{}: {e}", dir.display()),
            })?;
        }
        let docs = KeyedTableWriter::create(
            &docstore::table_path(docstore_dir, "docs"),
            doc_block_bytes(),
        )
        .map_err(table_err)?;
        let map = |name| SpillMap::new(path, name, MAP_BUDGET);
        Ok(BuildStore {
            docs,
            doc_titles: map("doc_titles"),
            titles: map("titles"),
            titles_folded: map("titles_folded"),
            redirects: map("redirects"),
            urls: map("urls"),
            doc_ids: SeenSet::new(path, "doc_ids"),
            redirect_keys: SeenSet::new(path, "redirect_keys"),
        })
    }

    /// Stores a document unless its id is already taken. A title already taken keeps
    /// pointing at the first document (JSONL passage corpora repeat titles). First one
    /// wins everywhere, so the result depends only on input order.
    pub fn insert_document(&mut self, doc: &Document) -> Result<Inserted, CorpusError> {
        if !self.doc_ids.insert(doc.id.as_bytes()).map_err(table_err)? {
            return Ok(Inserted::Duplicate);
        }
        let json = serde_json::to_vec(doc).map_err(|e| CorpusError::Store {
            message: format!("serialising {}: {e}", doc.id),
        })?;
        self.docs.add(doc.id.as_bytes(), &json).map_err(table_err)?;
        let id = doc.id.as_bytes();
        self.doc_titles
            .push(id, doc.title.as_bytes())
            .map_err(table_err)?;
        let tkey = key(doc.lang, &title_key(&doc.title, doc.lang));
        self.titles.push(tkey.as_bytes(), id).map_err(table_err)?;
        let fkey = key(doc.lang, &folded_key(&doc.title, doc.lang));
        self.titles_folded
            .push(fkey.as_bytes(), id)
            .map_err(table_err)?;
        self.urls.push(doc.url.as_bytes(), id).map_err(table_err)?;
        Ok(Inserted::New)
    }

    /// Records a redirect unless its source is already a redirect.
    pub fn insert_redirect(&mut self, r: &Redirect) -> Result<Inserted, CorpusError> {
        let k = key(r.lang, &title_key(&r.from, r.lang));
        if !self.redirect_keys.insert(k.as_bytes()).map_err(table_err)? {
            return Ok(Inserted::Duplicate);
        }
        let json = serde_json::to_vec(r).map_err(|e| CorpusError::Store {
            message: format!("serialising redirect {}: {e}", r.from),
        })?;
        self.redirects
            .push(k.as_bytes(), &json)
            .map_err(table_err)?;
        Ok(Inserted::New)
    }

    /// Finishes the `docs` table and merges every map, in key order, into the published
    /// store's other tables under `dir` (where `create` put `docs`), plus the readers'
    /// lock file. Returns the bytes written.
    pub fn freeze(self, dir: &Path) -> Result<u64, CorpusError> {
        let io = |e: std::io::Error| CorpusError::Store {
            message: format!("{}: {e}", dir.display()),
        };
        self.doc_ids.remove().map_err(table_err)?;
        self.redirect_keys.remove().map_err(table_err)?;
        self.docs.finish().map_err(table_err)?;
        let mut bytes = std::fs::metadata(docstore::table_path(dir, "docs"))
            .map_err(io)?
            .len();
        let maps = [
            ("doc_titles", self.doc_titles),
            ("titles", self.titles),
            ("titles_folded", self.titles_folded),
            ("redirects", self.redirects),
            ("urls", self.urls),
        ];
        for (name, map) in maps {
            let path = docstore::table_path(dir, name);
            let mut writer =
                TableWriter::create(&path, crate::table::BLOCK_BYTES).map_err(table_err)?;
            map.drain_into(&mut writer).map_err(table_err)?;
            writer.finish().map_err(table_err)?;
            bytes += std::fs::metadata(&path).map_err(io)?.len();
        }
        std::fs::write(dir.join(docstore::LOCK_FILE), b"").map_err(io)?;
        Ok(bytes)
    }
}

/// Block size of the `docs` table: an article's JSON is tens of KiB, so blocks this size
/// hold one or two pages and a read decompresses little more than the page it wants.
/// `SIMWEB_DOC_BLOCK_BYTES` overrides it (for measuring the trade-off).
fn doc_block_bytes() -> usize {
    std::env::var("SIMWEB_DOC_BLOCK_BYTES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(16 << 10)
}

fn table_err(e: TableError) -> CorpusError {
    CorpusError::Store {
        message: e.to_string(),
    }
}
