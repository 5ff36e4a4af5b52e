//! Offline Wikipedia: dump ingest (MediaWiki XML/bz2, ZIM, JSONL), clean text, sled document store and tantivy index.

pub mod model;

pub use model::{Document, Lang, Link, Passage, Redirect, Section, SourceItem};
