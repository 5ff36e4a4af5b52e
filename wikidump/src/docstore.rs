//! The published document store: documents, the title table and the redirect table, as
//! immutable [`Table`]s under `docstore/` in the data dir.
//!
//! Tables (keys are UTF-8; `{lang}` is `en`/`zh`, `\u{1f}` separates key parts):
//! - `docs`:          doc id -> Document (JSON); a keyed table, blocks in input order
//! - `doc_titles`:    doc id -> title (resolving a title must not load a whole page)
//! - `titles`:        `{lang}\u{1f}{title_key}` -> doc id (first ingested wins)
//! - `titles_folded`: `{lang}\u{1f}{lower-cased key}` -> doc id (fallback lookup)
//! - `redirects`:     `{lang}\u{1f}{title_key}` -> Redirect (JSON)
//! - `urls`:          canonical URL -> doc id (JSONL corpora bring their own URLs)
//!
//! Ingest writes `docs` directly and builds the other maps as sorted runs
//! ([`crate::store::BuildStore`]), merged into tables before publishing. Reading takes no
//! exclusive lock: any number of processes (server replicas, the CLI beside a running
//! server) open one corpus at once. Each reader holds a
//! shared advisory lock on `docstore/LOCK` so that an ingest can tell the corpus is in use
//! and refuse to replace it under them.

use std::fs::File;
use std::path::{Path, PathBuf};

use crate::error::CorpusError;
use crate::model::{Document, Lang, Redirect};
use crate::normalize::{folded_key, title_key};
use crate::table::{Table, TableError};

/// The store's directory inside a data dir.
pub const DIR: &str = "docstore";
/// The file readers hold a shared lock on.
pub const LOCK_FILE: &str = "LOCK";
/// The tables, in the order they are written.
pub const TABLES: [&str; 6] = [
    "docs",
    "doc_titles",
    "titles",
    "titles_folded",
    "redirects",
    "urls",
];

const SEP: char = '\u{1f}';

/// The key of a per-language table entry.
pub(crate) fn lang_key(lang: Lang, k: &str) -> String {
    format!("{}{SEP}{k}", lang.code())
}

pub(crate) fn table_path(dir: &Path, name: &str) -> PathBuf {
    dir.join(format!("{name}.tbl"))
}

/// A published store, open for reading.
pub struct DocStore {
    docs: Table,
    doc_titles: Table,
    titles: Table,
    titles_folded: Table,
    redirects: Table,
    urls: Table,
    /// Holds the shared lock for as long as the store is open.
    _lock: File,
}

impl DocStore {
    /// Opens `dir` (a data dir's `docstore/`) read-only.
    pub fn open(dir: &Path) -> Result<DocStore, CorpusError> {
        let lock_path = dir.join(LOCK_FILE);
        let lock = File::open(&lock_path).map_err(|e| CorpusError::StoreOpen {
            path: dir.to_path_buf(),
            message: format!("{}: {e}", lock_path.display()),
        })?;
        // Shared with every other reader; only an ingest asks for it exclusively.
        lock.lock_shared().map_err(|e| CorpusError::StoreOpen {
            path: dir.to_path_buf(),
            message: format!("locking {}: {e}", lock_path.display()),
        })?;
        let open = |name: &str| {
            Table::open(&table_path(dir, name)).map_err(|e| CorpusError::StoreOpen {
                path: dir.to_path_buf(),
                message: e.to_string(),
            })
        };
        Ok(DocStore {
            docs: open("docs")?,
            doc_titles: open("doc_titles")?,
            titles: open("titles")?,
            titles_folded: open("titles_folded")?,
            redirects: open("redirects")?,
            urls: open("urls")?,
            _lock: lock,
        })
    }

    pub fn document(&self, doc_id: &str) -> Result<Option<Document>, CorpusError> {
        match self.docs.get(doc_id.as_bytes()).map_err(store_err)? {
            Some(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| corrupt("docs", doc_id, e)),
            None => Ok(None),
        }
    }

    /// Starts reading the stored documents of `doc_ids` ([`crate::readahead`]), before
    /// [`DocStore::document_text`] reads them one after another.
    pub fn read_ahead_documents<'a>(&self, doc_ids: impl IntoIterator<Item = &'a str>) {
        for id in doc_ids {
            self.docs.read_ahead(id.as_bytes());
        }
    }

    /// The document without its links and categories, which search results never show
    /// and which are often most of its JSON: what snippets and passages are cut from.
    pub fn document_text(&self, doc_id: &str) -> Result<Option<Document>, CorpusError> {
        #[derive(serde::Deserialize)]
        struct TextOnly {
            id: String,
            title: String,
            url: String,
            lang: Lang,
            timestamp: Option<String>,
            sections: Vec<crate::model::Section>,
        }
        match self.docs.get(doc_id.as_bytes()).map_err(store_err)? {
            Some(bytes) => serde_json::from_slice::<TextOnly>(&bytes)
                .map(|d| {
                    Some(Document {
                        id: d.id,
                        title: d.title,
                        url: d.url,
                        lang: d.lang,
                        timestamp: d.timestamp,
                        sections: d.sections,
                        categories: Vec::new(),
                        links: Vec::new(),
                    })
                })
                .map_err(|e| corrupt("docs", doc_id, e)),
            None => Ok(None),
        }
    }

    pub fn doc_title(&self, doc_id: &str) -> Result<Option<String>, CorpusError> {
        get_string(&self.doc_titles, doc_id)
    }

    /// Doc id of the article titled `title` (exact normalised key).
    pub fn lookup_title(&self, title: &str, lang: Lang) -> Result<Option<String>, CorpusError> {
        get_string(&self.titles, &lang_key(lang, &title_key(title, lang)))
    }

    /// Doc id by case-insensitive title (fallback).
    pub fn lookup_title_folded(
        &self,
        title: &str,
        lang: Lang,
    ) -> Result<Option<String>, CorpusError> {
        get_string(
            &self.titles_folded,
            &lang_key(lang, &folded_key(title, lang)),
        )
    }

    pub fn lookup_redirect(
        &self,
        title: &str,
        lang: Lang,
    ) -> Result<Option<Redirect>, CorpusError> {
        let k = lang_key(lang, &title_key(title, lang));
        match self.redirects.get(k.as_bytes()).map_err(store_err)? {
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
        self.docs.len() as usize
    }

    pub fn redirect_count(&self) -> usize {
        self.redirects.len() as usize
    }

    /// Every redirect in key order (language, then title key): corpus tools such as QA
    /// synthesis turn them into answer aliases.
    pub fn redirects(&self) -> impl Iterator<Item = Result<Redirect, CorpusError>> + '_ {
        self.redirects.keys().map(|k| {
            let k = k.map_err(store_err)?;
            let key = String::from_utf8_lossy(&k).into_owned();
            let bytes =
                self.redirects
                    .get(&k)
                    .map_err(store_err)?
                    .ok_or_else(|| CorpusError::Store {
                        message: format!("redirect {key:?} listed but not stored"),
                    })?;
            serde_json::from_slice(&bytes).map_err(|e| corrupt("redirects", &key, e))
        })
    }

    /// Every (language, title key, doc id) of the title table, in key order: corpus tools
    /// resolve links without reading a single document.
    pub fn titles(&self) -> impl Iterator<Item = Result<(Lang, String, String), CorpusError>> + '_ {
        self.titles.keys().map(|k| {
            let k = k.map_err(store_err)?;
            let key = String::from_utf8_lossy(&k).into_owned();
            let (code, title) = key.split_once(SEP).ok_or_else(|| CorpusError::Store {
                message: format!("title key {key:?} has no language"),
            })?;
            let lang = match code {
                "en" => Lang::En,
                "zh" => Lang::Zh,
                other => {
                    return Err(CorpusError::Store {
                        message: format!("title key {key:?}: unknown language {other:?}"),
                    })
                }
            };
            let doc_id = get_string(&self.titles, &key)?.ok_or_else(|| CorpusError::Store {
                message: format!("title {key:?} listed but not stored"),
            })?;
            Ok((lang, title.to_owned(), doc_id))
        })
    }

    /// Every document id in key order (used by tests and corpus tools).
    pub fn doc_ids(&self) -> impl Iterator<Item = Result<String, CorpusError>> + '_ {
        self.doc_titles.keys().map(|k| {
            k.map(|k| String::from_utf8_lossy(&k).into_owned())
                .map_err(store_err)
        })
    }
}

fn get_string(table: &Table, k: &str) -> Result<Option<String>, CorpusError> {
    Ok(table
        .get(k.as_bytes())
        .map_err(store_err)?
        .map(|v| String::from_utf8_lossy(&v).into_owned()))
}

fn store_err(e: TableError) -> CorpusError {
    CorpusError::Store {
        message: e.to_string(),
    }
}

fn corrupt(table: &'static str, key: &str, e: serde_json::Error) -> CorpusError {
    CorpusError::Corrupt {
        tree: table,
        key: key.to_string(),
        message: e.to_string(),
    }
}
