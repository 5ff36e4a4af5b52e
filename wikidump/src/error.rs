//! Typed errors of the ingest (write) side and the corpus (read) side.
//!
//! Every variant names what was wrong and where (file, byte offset, page, tree key), so
//! a user can act on the message without reading the code.

use std::path::PathBuf;

use crate::model::Lang;

/// Failure of `simweb ingest`. Any of these aborts the ingest before publication: the
/// previous data dir (if any) is left exactly as it was.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("{}: matches no input (the multistream index `P-index.txt.bz2` belongs to the dump `P.xml.bz2`)", path.display())]
    UnmatchedIndex { path: PathBuf },
    #[error("no input files given")]
    NoInputs,
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: input is empty")]
    EmptyInput { path: PathBuf },
    #[error(
        "{path}: unknown input format (first bytes {head:?}); expected MediaWiki XML (plain or .bz2), a Kiwix ZIM file or JSONL"
    )]
    UnknownFormat { path: PathBuf, head: String },
    #[error("{path}: {message}")]
    Dump { path: PathBuf, message: String },
    #[error("{path}: ZIM: {message}")]
    Zim { path: PathBuf, message: String },
    #[error("{path}:{line}: JSONL: {message}")]
    Jsonl {
        path: PathBuf,
        line: u64,
        message: String,
    },
    #[error("document store ({path}): {message}")]
    Store { path: PathBuf, message: String },
    #[error("search index ({path}): {message}")]
    Index { path: PathBuf, message: String },
    #[error("output {path}: {message}")]
    Output { path: PathBuf, message: String },
    #[error("the inputs hold no articles ({skipped} pages skipped); refusing to publish an empty corpus (allow it explicitly: `simweb ingest --allow-empty`)")]
    NoArticles { skipped: u64 },
    #[error("ingest worker failed: {0}")]
    Worker(String),
}

/// Failure of the read side ([`crate::Corpus`]).
#[derive(Debug, thiserror::Error)]
pub enum CorpusError {
    #[error("{path} is not a simweb corpus (no manifest.json); create one with `simweb ingest --out {path} INPUT...`")]
    NotACorpus { path: PathBuf },
    #[error("{path}: manifest: {message}")]
    Manifest { path: PathBuf, message: String },
    #[error("document store {path} could not be opened: {message}")]
    StoreOpen { path: PathBuf, message: String },
    #[error("document store: {message}")]
    Store { message: String },
    #[error("corrupt record {key:?} in store tree {tree}: {message}")]
    Corrupt {
        tree: &'static str,
        key: String,
        message: String,
    },
    #[error("search index {path}: {message}")]
    Index { path: PathBuf, message: String },
    #[error("search: {message}")]
    Search { message: String },
    #[error("language {} is not in this corpus", .0.code())]
    LangNotLoaded(Lang),
}
