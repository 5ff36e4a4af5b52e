//! The clean document model every source reader produces and every later stage consumes.
//!
//! Source readers (MediaWiki XML, ZIM, JSONL) turn their input into [`SourceItem`]s; the
//! ingest pipeline stores [`Document`]s in the document store, indexes their [`Passage`]s in tantivy
//! and keeps [`Redirect`]s in a table. Nothing here knows about files or indexes.

use serde::{Deserialize, Serialize};

/// Corpus language. Decides analyzers (English stemming vs Chinese segmentation), URL host
/// and title normalisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    En,
    Zh,
}

impl Lang {
    /// The Wikipedia language code (`en`, `zh`), also the URL subdomain.
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Zh => "zh",
        }
    }
}

/// One cleaned article.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Document {
    /// Stable across re-ingests of the same input: `{source}:{native id}`, e.g. `enwiki:12`,
    /// `zim:A/Ray_Charles`, `jsonl:{id}`.
    pub id: String,
    pub title: String,
    /// Canonical URL, e.g. `https://en.wikipedia.org/wiki/Albert_Einstein`.
    pub url: String,
    pub lang: Lang,
    /// Revision timestamp as found in the dump (ISO 8601), if any.
    pub timestamp: Option<String>,
    /// Lead section first (empty heading path), then sections in page order.
    pub sections: Vec<Section>,
    /// Category names without the `Category:` prefix, in page order, deduplicated.
    pub categories: Vec<String>,
    /// Outgoing article links in page order (the link graph feeds QA synthesis).
    pub links: Vec<Link>,
}

/// A section of clean text under its heading path (`["History", "Early years"]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Section {
    pub heading_path: Vec<String>,
    pub text: String,
}

/// An outgoing link: target title (normalised display form, without fragment) and the
/// anchor text the reader saw.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Link {
    pub target: String,
    pub anchor: String,
}

/// `from` redirects to `to` (optionally to a section `#fragment`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Redirect {
    pub lang: Lang,
    pub from: String,
    pub to: String,
    pub fragment: Option<String>,
}

/// What a source reader yields for each page it reads.
#[derive(Debug, Clone, PartialEq)]
pub enum SourceItem {
    Article(Document),
    Redirect(Redirect),
    /// A page that is deliberately not a document (other namespace, empty, broken
    /// markup): counted in the ingest summary with its reason, never fatal.
    Skipped {
        title: String,
        reason: String,
    },
}

/// A section-sized chunk of a document (~100–200 words), the unit that search ranks
/// and shows as a snippet and that `visit` quotes as evidence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Passage {
    pub doc_id: String,
    /// Position of the passage within the document, from 0.
    pub ordinal: u32,
    pub heading_path: Vec<String>,
    pub text: String,
}
