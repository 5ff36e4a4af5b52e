//! The build-time document store. Documents go straight into the published `docs`
//! table (a keyed table, written in input order, so no page is held in memory); the small
//! maps (doc titles, title keys, redirects, URLs) go into a sled store in the private
//! build dir, which gives "first entry wins" lookups while the ingest writes. Then
//! [`BuildStore::freeze`] finishes `docs` and writes each sled tree as an immutable table
//! of the published [`crate::docstore`]; the sled files are dropped. No published corpus
//! contains sled.

use std::path::Path;

use crate::docstore::{self, lang_key as key};
use crate::error::CorpusError;
use crate::model::{Document, Redirect};
use crate::normalize::{folded_key, title_key};
use crate::table::{KeyedTableWriter, TableError, TableWriter};

/// The store an ingest is writing: the published `docs` table and the sled trees.
pub struct BuildStore {
    docs: KeyedTableWriter,
    doc_titles: sled::Tree,
    titles: sled::Tree,
    titles_folded: sled::Tree,
    redirects: sled::Tree,
    urls: sled::Tree,
}

/// What happened to a write: the tables keep the first entry for a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inserted {
    New,
    /// An entry with this doc id or title (or redirect source) already exists.
    Duplicate,
}

impl BuildStore {
    /// Creates a fresh store for an ingest: sled at `path` (must not hold one), the
    /// `docs` table in `docstore_dir` (created).
    pub fn create(path: &Path, docstore_dir: &Path) -> Result<BuildStore, CorpusError> {
        let db = sled::Config::new()
            .path(path)
            .cache_capacity(128 << 20)
            .mode(sled::Mode::HighThroughput)
            .open()
            .map_err(store_err)?;
        std::fs::create_dir_all(docstore_dir).map_err(|e| CorpusError::Store {
            message: format!("{}: {e}", docstore_dir.display()),
        })?;
        let docs = KeyedTableWriter::create(
            &docstore::table_path(docstore_dir, "docs"),
            doc_block_bytes(),
        )
        .map_err(table_err)?;
        Self::from_db(&db, docs).map_err(store_err)
    }

    fn from_db(db: &sled::Db, docs: KeyedTableWriter) -> Result<BuildStore, sled::Error> {
        Ok(BuildStore {
            docs,
            doc_titles: db.open_tree("doc_titles")?,
            titles: db.open_tree("titles")?,
            titles_folded: db.open_tree("titles_folded")?,
            redirects: db.open_tree("redirects")?,
            urls: db.open_tree("urls")?,
        })
    }

    /// Stores a document unless its id is already taken. A title already taken keeps
    /// pointing at the first document (JSONL passage corpora repeat titles). First one
    /// wins everywhere, so the result depends only on input order.
    pub fn insert_document(&mut self, doc: &Document) -> Result<Inserted, CorpusError> {
        // `doc_titles` has every stored id: it is the set that makes the first one win.
        if self.doc_titles.contains_key(&doc.id).map_err(store_err)? {
            return Ok(Inserted::Duplicate);
        }
        let json = serde_json::to_vec(doc).map_err(|e| CorpusError::Store {
            message: format!("serialising {}: {e}", doc.id),
        })?;
        self.docs.add(doc.id.as_bytes(), &json).map_err(table_err)?;
        self.doc_titles
            .insert(&doc.id, doc.title.as_bytes())
            .map_err(store_err)?;
        let tkey = key(doc.lang, &title_key(&doc.title, doc.lang));
        if !self.titles.contains_key(&tkey).map_err(store_err)? {
            self.titles
                .insert(tkey, doc.id.as_bytes())
                .map_err(store_err)?;
        }
        let fkey = key(doc.lang, &folded_key(&doc.title, doc.lang));
        if !self.titles_folded.contains_key(&fkey).map_err(store_err)? {
            self.titles_folded
                .insert(fkey, doc.id.as_bytes())
                .map_err(store_err)?;
        }
        if !self.urls.contains_key(&doc.url).map_err(store_err)? {
            self.urls
                .insert(doc.url.as_bytes(), doc.id.as_bytes())
                .map_err(store_err)?;
        }
        Ok(Inserted::New)
    }

    /// Records a redirect unless its source is already a redirect.
    pub fn insert_redirect(&self, r: &Redirect) -> Result<Inserted, CorpusError> {
        let k = key(r.lang, &title_key(&r.from, r.lang));
        if self.redirects.contains_key(&k).map_err(store_err)? {
            return Ok(Inserted::Duplicate);
        }
        let json = serde_json::to_vec(r).map_err(|e| CorpusError::Store {
            message: format!("serialising redirect {}: {e}", r.from),
        })?;
        self.redirects.insert(k, json).map_err(store_err)?;
        Ok(Inserted::New)
    }

    /// Finishes the `docs` table and writes every sled tree, in key order, as the
    /// published store's other tables under `dir` (where `create` put `docs`), plus the
    /// readers' lock file. Returns the bytes written.
    pub fn freeze(self, dir: &Path) -> Result<u64, CorpusError> {
        let io = |e: std::io::Error| CorpusError::Store {
            message: format!("{}: {e}", dir.display()),
        };
        self.docs.finish().map_err(table_err)?;
        let mut bytes = std::fs::metadata(docstore::table_path(dir, "docs"))
            .map_err(io)?
            .len();
        let trees = [
            ("doc_titles", &self.doc_titles),
            ("titles", &self.titles),
            ("titles_folded", &self.titles_folded),
            ("redirects", &self.redirects),
            ("urls", &self.urls),
        ];
        for (name, tree) in trees {
            let path = docstore::table_path(dir, name);
            let mut writer =
                TableWriter::create(&path, crate::table::BLOCK_BYTES).map_err(table_err)?;
            for entry in tree.iter() {
                let (k, v) = entry.map_err(store_err)?;
                writer.add(&k, &v).map_err(table_err)?;
            }
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

fn store_err(e: sled::Error) -> CorpusError {
    CorpusError::Store {
        message: e.to_string(),
    }
}
