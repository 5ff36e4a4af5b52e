//! Typed errors for dump reading. Every variant names the file and, where one exists, the
//! byte offset (compressed offset for bz2, decompressed offset for XML) or the page, so a
//! user with a 20 GB dump can find the spot.

use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum DumpError {
    #[error("{}: {source}", file.display())]
    Io {
        file: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("{}: empty input (0 bytes)", file.display())]
    Empty { file: PathBuf },

    #[error("{}: not a MediaWiki XML dump, bz2, ZIM or JSONL (starts with bytes {head})", file.display())]
    UnknownFormat { file: PathBuf, head: String },

    #[error("{}: expected a MediaWiki XML dump (plain or bz2), found {found}", file.display())]
    NotMediaWiki { file: PathBuf, found: String },

    #[error("unexpected end of bz2 stream at byte {offset} of {} (file truncated?)", file.display())]
    TruncatedBz2 { file: PathBuf, offset: u64 },

    #[error("corrupt bz2 data near byte {offset} of {}: {detail}", file.display())]
    CorruptBz2 {
        file: PathBuf,
        offset: u64,
        detail: String,
    },

    #[error("malformed XML in {} at byte {offset} of the decompressed XML{}: {detail}", file.display(), page_suffix(page))]
    Xml {
        file: PathBuf,
        offset: u64,
        page: Option<String>,
        detail: String,
    },

    /// One page's fields are unusable (no title, non-numeric id); the XML around it is
    /// fine, so reading continues after it.
    #[error("{}: page {title:?} at byte {offset} of the decompressed XML skipped: {detail}", file.display())]
    BadPage {
        file: PathBuf,
        offset: u64,
        title: String,
        detail: String,
    },

    #[error("{} line {line}: bad multistream index entry: {detail}", file.display())]
    Index {
        file: PathBuf,
        line: u64,
        detail: String,
    },
}

fn page_suffix(page: &Option<String>) -> String {
    match page {
        Some(title) => format!(" (in page {title:?})"),
        None => String::new(),
    }
}

impl DumpError {
    pub(crate) fn io(file: &Path, source: std::io::Error) -> Self {
        DumpError::Io {
            file: file.to_path_buf(),
            source,
        }
    }

    /// True when only one page is affected and the iterator goes on with the next page
    /// (count it as skipped); every other error ends the dump.
    pub fn is_page_local(&self) -> bool {
        matches!(self, DumpError::BadPage { .. })
    }

    /// The file the error is about.
    pub fn file(&self) -> &Path {
        match self {
            DumpError::Io { file, .. }
            | DumpError::Empty { file }
            | DumpError::UnknownFormat { file, .. }
            | DumpError::NotMediaWiki { file, .. }
            | DumpError::TruncatedBz2 { file, .. }
            | DumpError::CorruptBz2 { file, .. }
            | DumpError::Xml { file, .. }
            | DumpError::BadPage { file, .. }
            | DumpError::Index { file, .. } => file,
        }
    }
}
