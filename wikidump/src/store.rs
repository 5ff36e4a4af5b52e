//! The sled document store: documents, the title table and the redirect table.
//!
//! Trees (keys are UTF-8; `{lang}` is `en`/`zh`, `\u{1f}` separates key parts):
//! - `docs`:          doc id -> Document (JSON)
//! - `doc_titles`:    doc id -> title (resolving a title must not load a whole page)
//! - `titles`:        `{lang}\u{1f}{title_key}` -> doc id (first ingested wins)
//! - `titles_folded`: `{lang}\u{1f}{lower-cased key}` -> doc id (fallback lookup)
//! - `redirects`:     `{lang}\u{1f}{title_key}` -> Redirect (JSON)
//! - `urls`:          canonical URL -> doc id (JSONL corpora bring their own URLs)
//!
//! sled holds an exclusive file lock on its directory, so a data dir can be open in one
//! process at a time; inside a process [`Store::open`] shares one handle per directory.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock, Weak};

use crate::error::CorpusError;
use crate::model::{Document, Lang, Redirect};
use crate::normalize::{folded_key, title_key};

const SEP: char = '\u{1f}';

/// Handles to the trees of one store.
#[derive(Clone)]
pub struct Store {
    db: Arc<sled::Db>,
    docs: sled::Tree,
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

/// Open stores by (canonical path, inode): the inode tells a re-published corpus at the
/// same path from the one an older handle still holds.
type Registry = Mutex<BTreeMap<(PathBuf, u64), Weak<sled::Db>>>;

fn registry() -> &'static Registry {
    static OPEN: OnceLock<Registry> = OnceLock::new();
    OPEN.get_or_init(|| Mutex::new(BTreeMap::new()))
}

fn key(lang: Lang, k: &str) -> String {
    format!("{}{SEP}{k}", lang.code())
}

/// How long an open waits for sled's file lock. A `Db` that was just dropped (e.g. by
/// the ingest that wrote the store) can hold its lock for a moment while sled's
/// background threads wind down; another process that really holds it still gets the
/// lock error, after this wait.
const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(3);

fn open_sled(path: &Path) -> sled::Result<sled::Db> {
    let started = std::time::Instant::now();
    loop {
        match sled::Config::new()
            .path(path)
            .cache_capacity(256 << 20)
            .open()
        {
            // sled reports it as `Other` with this text (sled 0.34 config.rs).
            Err(sled::Error::Io(e))
                if e.to_string().contains("could not acquire lock")
                    && started.elapsed() < LOCK_WAIT =>
            {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            result => return result,
        }
    }
}

impl Store {
    /// Creates a fresh store for an ingest (the directory must not hold one).
    pub fn create(path: &Path) -> Result<Store, sled::Error> {
        let db = sled::Config::new()
            .path(path)
            .cache_capacity(128 << 20)
            .mode(sled::Mode::HighThroughput)
            .open()?;
        Self::from_db(Arc::new(db))
    }

    /// Opens an existing store, sharing the handle with any other opener in this process.
    pub fn open(path: &Path) -> Result<Store, CorpusError> {
        let canonical = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
        let inode = {
            use std::os::unix::fs::MetadataExt;
            std::fs::metadata(path).map(|m| m.ino()).unwrap_or(0)
        };
        let canonical = (canonical, inode);
        let mut open = registry().lock().unwrap_or_else(|e| e.into_inner());
        let existing = open.get(&canonical).and_then(Weak::upgrade);
        let db = match existing {
            Some(db) => db,
            None => {
                let db = open_sled(path).map_err(|e| CorpusError::StoreOpen {
                    path: path.to_path_buf(),
                    message: e.to_string(),
                })?;
                let db = Arc::new(db);
                open.insert(canonical, Arc::downgrade(&db));
                db
            }
        };
        Self::from_db(db).map_err(store_err)
    }

    fn from_db(db: Arc<sled::Db>) -> Result<Store, sled::Error> {
        Ok(Store {
            docs: db.open_tree("docs")?,
            doc_titles: db.open_tree("doc_titles")?,
            titles: db.open_tree("titles")?,
            titles_folded: db.open_tree("titles_folded")?,
            redirects: db.open_tree("redirects")?,
            urls: db.open_tree("urls")?,
            db,
        })
    }

    /// Stores a document unless its id is already taken. A title already taken keeps
    /// pointing at the first document (JSONL passage corpora repeat titles). First one
    /// wins everywhere, so the result depends only on input order.
    pub fn insert_document(&self, doc: &Document) -> Result<Inserted, CorpusError> {
        if self.docs.contains_key(&doc.id).map_err(store_err)? {
            return Ok(Inserted::Duplicate);
        }
        let json = serde_json::to_vec(doc).map_err(|e| CorpusError::Store {
            message: format!("serialising {}: {e}", doc.id),
        })?;
        self.docs.insert(&doc.id, json).map_err(store_err)?;
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

    pub fn document(&self, doc_id: &str) -> Result<Option<Document>, CorpusError> {
        match self.docs.get(doc_id).map_err(store_err)? {
            Some(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| corrupt("docs", doc_id, e)),
            None => Ok(None),
        }
    }

    pub fn doc_title(&self, doc_id: &str) -> Result<Option<String>, CorpusError> {
        Ok(self
            .doc_titles
            .get(doc_id)
            .map_err(store_err)?
            .map(|v| String::from_utf8_lossy(&v).into_owned()))
    }

    /// Doc id of the article titled `title` (exact normalised key).
    pub fn lookup_title(&self, title: &str, lang: Lang) -> Result<Option<String>, CorpusError> {
        get_string(&self.titles, &key(lang, &title_key(title, lang)))
    }

    /// Doc id by case-insensitive title (fallback).
    pub fn lookup_title_folded(
        &self,
        title: &str,
        lang: Lang,
    ) -> Result<Option<String>, CorpusError> {
        get_string(&self.titles_folded, &key(lang, &folded_key(title, lang)))
    }

    pub fn lookup_redirect(
        &self,
        title: &str,
        lang: Lang,
    ) -> Result<Option<Redirect>, CorpusError> {
        let k = key(lang, &title_key(title, lang));
        match self.redirects.get(&k).map_err(store_err)? {
            Some(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| corrupt("redirects", &k, e)),
            None => Ok(None),
        }
    }

    pub fn lookup_url(&self, url: &str) -> Result<Option<String>, CorpusError> {
        get_string(&self.urls, url)
    }

    pub fn document_count(&self) -> usize {
        self.docs.len()
    }

    pub fn redirect_count(&self) -> usize {
        self.redirects.len()
    }

    /// Every document id in key order (used by tests and corpus tools).
    pub fn doc_ids(&self) -> impl Iterator<Item = Result<String, CorpusError>> + '_ {
        self.doc_titles.iter().keys().map(|k| {
            k.map(|k| String::from_utf8_lossy(&k).into_owned())
                .map_err(store_err)
        })
    }

    /// Writes everything to disk (end of ingest).
    pub fn flush(&self) -> Result<(), CorpusError> {
        self.db.flush().map(|_| ()).map_err(store_err)
    }
}

fn get_string(tree: &sled::Tree, k: &str) -> Result<Option<String>, CorpusError> {
    Ok(tree
        .get(k)
        .map_err(store_err)?
        .map(|v| String::from_utf8_lossy(&v).into_owned()))
}

fn store_err(e: sled::Error) -> CorpusError {
    CorpusError::Store {
        message: e.to_string(),
    }
}

fn corrupt(tree: &'static str, key: &str, e: serde_json::Error) -> CorpusError {
    CorpusError::Corrupt {
        tree,
        key: key.to_string(),
        message: e.to_string(),
    }
}
