//! Offline Wikipedia: dump ingest (MediaWiki XML/bz2, ZIM, JSONL), clean text, sled document store and tantivy index.

pub mod chinese;
pub mod mediawiki;
pub mod model;
pub mod wikitext;

pub use model::{Document, Lang, Link, Passage, Redirect, Section, SourceItem};
