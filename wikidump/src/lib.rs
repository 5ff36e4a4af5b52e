//! Offline Wikipedia: dump ingest (MediaWiki XML/bz2, ZIM, JSONL), clean text, an immutable compressed document store and tantivy indexes.

pub mod chinese;
pub mod mediawiki;
pub mod model;
pub mod wikitext;

// Store, index and read side (ingest pipeline, readers for ZIM and JSONL).
pub mod analyzers;
pub mod corpus;
pub mod docstore;
pub mod error;
pub mod html;
pub mod index;
pub mod ingest;
pub mod jsonl;
pub mod manifest;
pub mod normalize;
pub mod passages;
pub mod readahead;
pub mod seen;
pub mod spill;
pub mod store;
pub mod table;
pub mod zimfile;

pub use corpus::{Corpus, PassageHit, Resolved, SearchHit, SearchQuery};
pub use error::{CorpusError, IngestError};
pub use ingest::{ingest, IngestOptions, IngestReport};
pub use manifest::Manifest;
pub use model::{Document, Lang, Link, Passage, Redirect, Section, SourceItem};
pub use passages::passages;
