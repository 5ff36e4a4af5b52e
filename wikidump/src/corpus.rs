//! The read side: an opened data dir that tools search and read.
//!
//! `Corpus` is `Send + Sync` and read-only; the server shares one in an `Arc`. Results
//! are deterministic: hits are ordered by (score desc, ingest order asc) and snippets are
//! computed from stored text only.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::docstore::DocStore;
use crate::error::CorpusError;
use crate::index::{LangIndex, Snippets};
use crate::manifest::{Manifest, LAYOUT_VERSION, MANIFEST_FILE};
use crate::model::{Document, Lang, Passage};
use crate::normalize::{has_cjk, parse_title_ref, TitleRef};

/// Redirect chains longer than this are treated as loops.
pub const MAX_REDIRECT_HOPS: usize = 8;
/// Snippets are trimmed to about this many characters around the match.
pub const SNIPPET_CHARS: usize = 300;
/// Upper bound on `top_k` (a hostile request must not ask for the whole corpus).
pub const MAX_TOP_K: usize = 100;

/// A search request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchQuery {
    pub text: String,
    pub top_k: usize,
    /// `None`: Chinese if the query has CJK characters and a Chinese index is loaded,
    /// else English if loaded, else the corpus's only language.
    pub lang: Option<Lang>,
}

impl SearchQuery {
    pub fn new(text: impl Into<String>, top_k: usize) -> Self {
        SearchQuery {
            text: text.into(),
            top_k,
            lang: None,
        }
    }
}

/// One ranked page with its best passage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchHit {
    pub doc_id: String,
    pub title: String,
    pub url: String,
    pub lang: Lang,
    /// The best passage, plain text, trimmed to ~300 chars around the match.
    pub snippet: String,
    /// `snippet` with matched query terms marked `**like this**`.
    pub highlighted: String,
    /// Revision timestamp of the page, if the source had one.
    pub date: Option<String>,
    pub score: f32,
    /// Heading path of the passage the snippet comes from (empty = lead section).
    pub heading_path: Vec<String>,
}

/// One passage ranked on its own (what Search-R1's `/retrieve` returns).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PassageHit {
    pub doc_id: String,
    /// The passage's position in its page (0 = the first passage of the lead).
    pub ordinal: u32,
    pub title: String,
    pub url: String,
    pub lang: Lang,
    pub heading_path: Vec<String>,
    /// The whole passage (~100 words), plain text.
    pub text: String,
    pub score: f32,
}

/// A title (or URL) resolved to a stored document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resolved {
    pub doc_id: String,
    /// The document's own title (after redirects).
    pub title: String,
    /// Section fragment from the request or from the redirect.
    pub fragment: Option<String>,
    /// The title asked for, when it was a redirect.
    pub redirected_from: Option<String>,
}

/// An opened corpus data dir.
pub struct Corpus {
    dir: PathBuf,
    manifest: Manifest,
    store: DocStore,
    indexes: BTreeMap<Lang, LangIndex>,
}

impl std::fmt::Debug for Corpus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Corpus")
            .field("dir", &self.dir)
            .field("snapshot_id", &self.manifest.snapshot_id)
            .finish()
    }
}

/// Reads and checks `manifest.json` of a data dir.
pub fn read_manifest(data_dir: &Path) -> Result<Manifest, CorpusError> {
    let path = data_dir.join(MANIFEST_FILE);
    let bytes = std::fs::read(&path).map_err(|_| CorpusError::NotACorpus {
        path: data_dir.to_path_buf(),
    })?;
    let manifest: Manifest = serde_json::from_slice(&bytes).map_err(|e| CorpusError::Manifest {
        path: path.clone(),
        message: e.to_string(),
    })?;
    if manifest.layout_version != LAYOUT_VERSION {
        return Err(CorpusError::Manifest {
            path,
            message: format!(
                "layout version {} is not supported by this build (expects {LAYOUT_VERSION}); re-ingest",
                manifest.layout_version
            ),
        });
    }
    Ok(manifest)
}

impl Corpus {
    /// Opens a data dir written by `simweb ingest`.
    pub fn open(data_dir: &Path) -> Result<Corpus, CorpusError> {
        let manifest = read_manifest(data_dir)?;
        let store = DocStore::open(&data_dir.join(crate::docstore::DIR))?;
        let mut indexes = BTreeMap::new();
        for &lang in &manifest.languages {
            let index = LangIndex::open(data_dir, lang).map_err(|e| CorpusError::Index {
                path: crate::index::lang_dir(data_dir, lang),
                message: e.to_string(),
            })?;
            indexes.insert(lang, index);
        }
        Ok(Corpus {
            dir: data_dir.to_path_buf(),
            manifest,
            store,
            indexes,
        })
    }

    pub fn data_dir(&self) -> &Path {
        &self.dir
    }

    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    pub fn snapshot_id(&self) -> &str {
        &self.manifest.snapshot_id
    }

    /// Languages with an index, sorted.
    pub fn languages(&self) -> Vec<Lang> {
        self.indexes.keys().copied().collect()
    }

    /// The language a query goes to when the caller does not say.
    pub fn detect_lang(&self, text: &str) -> Option<Lang> {
        if has_cjk(text) && self.indexes.contains_key(&Lang::Zh) {
            return Some(Lang::Zh);
        }
        if self.indexes.contains_key(&Lang::En) {
            return Some(Lang::En);
        }
        self.indexes.keys().next().copied()
    }

    /// The language a query is ranked in: `q.lang`, else [`Corpus::detect_lang`]
    /// (`None`: the corpus has no index). Every search mode routes by this, so BM25 and
    /// dense answer a query from the same language.
    pub fn query_lang(&self, q: &SearchQuery) -> Result<Option<Lang>, CorpusError> {
        Ok(self.index_for(q)?.map(|(lang, _)| lang))
    }

    /// The language and index a query goes to (`None`: the corpus has no index).
    fn index_for(&self, q: &SearchQuery) -> Result<Option<(Lang, &LangIndex)>, CorpusError> {
        let lang = match q.lang {
            Some(lang) => lang,
            None => match self.detect_lang(&q.text) {
                Some(lang) => lang,
                None => return Ok(None),
            },
        };
        let index = self
            .indexes
            .get(&lang)
            .ok_or(CorpusError::LangNotLoaded(lang))?;
        Ok(Some((lang, index)))
    }

    /// Ranks passages (not pages) for `q.text`: the top `q.top_k` whole passages,
    /// several from one page when they rank so. An empty or all-stop-word query
    /// returns no hits.
    pub fn retrieve(&self, q: &SearchQuery) -> Result<Vec<PassageHit>, CorpusError> {
        let Some((lang, index)) = self.index_for(q)? else {
            return Ok(Vec::new());
        };
        let terms = crate::analyzers::query_terms(lang, &q.text);
        let ranked = index
            .search_passages(&terms, q.top_k.min(MAX_TOP_K))
            .map_err(|e| search_err(&e))?;
        self.passage_hits(ranked.into_iter().map(|r| (r.doc_id, r.ordinal, r.score)))
    }

    /// Whole passages for ranked `(doc id, ordinal, score)` triples, in the given order
    /// (how a ranking from outside the BM25 index, e.g. a vector index, becomes hits).
    pub fn passage_hits(
        &self,
        ranked: impl IntoIterator<Item = (String, u32, f32)>,
    ) -> Result<Vec<PassageHit>, CorpusError> {
        let ranked: Vec<(String, u32, f32)> = ranked.into_iter().collect();
        self.store
            .read_ahead_documents(ranked.iter().map(|(id, _, _)| id.as_str()));
        // Several hits often come from one page: read and split it once.
        let mut pages: BTreeMap<String, PageText> = BTreeMap::new();
        let mut hits = Vec::new();
        for (doc_id, ordinal, score) in ranked {
            if !pages.contains_key(&doc_id) {
                let page = self.page_text(&doc_id, u32::MAX)?;
                pages.insert(doc_id.clone(), page);
            }
            let page = &pages[&doc_id];
            let passage = page.passage(&doc_id, ordinal)?;
            hits.push(PassageHit {
                ordinal,
                title: page.title.clone(),
                url: page.url.clone(),
                lang: page.lang,
                heading_path: passage.heading_path.clone(),
                text: passage.text.clone(),
                score,
                doc_id,
            });
        }
        Ok(hits)
    }

    /// Page results for ranked `(doc id, ordinal, score)` triples (one per page, in the
    /// given order), each with that passage as its snippet, cut and highlighted around
    /// `q`'s terms as [`Corpus::search`] does.
    pub fn page_hits(
        &self,
        q: &SearchQuery,
        ranked: impl IntoIterator<Item = (String, u32, f32)>,
    ) -> Result<Vec<SearchHit>, CorpusError> {
        let snippets = match self.index_for(q)? {
            Some((lang, index)) => Some(
                index
                    .snippets(&crate::analyzers::query_terms(lang, &q.text), SNIPPET_CHARS)
                    .map_err(|e| search_err(&e))?,
            ),
            None => None,
        };
        let ranked: Vec<(String, u32, f32)> = ranked.into_iter().collect();
        self.store
            .read_ahead_documents(ranked.iter().map(|(id, _, _)| id.as_str()));
        ranked
            .into_iter()
            .map(|(doc_id, ordinal, score)| {
                self.page_hit(snippets.as_ref(), doc_id, Some(ordinal), score)
            })
            .collect()
    }

    /// One page result: title, URL and date from the stored page, the snippet cut from
    /// passage `ordinal` (the whole passage without `snippets`; empty without a passage).
    fn page_hit(
        &self,
        snippets: Option<&Snippets>,
        doc_id: String,
        ordinal: Option<u32>,
        score: f32,
    ) -> Result<SearchHit, CorpusError> {
        let page = self.page_text(&doc_id, ordinal.unwrap_or(0))?;
        let (snippet, highlighted, heading_path) = match ordinal {
            Some(ordinal) => {
                let passage = page.passage(&doc_id, ordinal)?;
                let (snippet, highlighted) = match snippets {
                    Some(snippets) => {
                        let (fragment, highlights) = snippets.cut(&passage.text);
                        let highlighted = mark(&fragment, &highlights);
                        (fragment, highlighted)
                    }
                    None => (passage.text.clone(), passage.text.clone()),
                };
                (snippet, highlighted, passage.heading_path.clone())
            }
            None => (String::new(), String::new(), Vec::new()),
        };
        Ok(SearchHit {
            title: page.title,
            url: page.url,
            lang: page.lang,
            snippet,
            highlighted,
            date: page.date,
            score,
            heading_path,
            doc_id,
        })
    }

    /// For each of `doc_ids`, the ordinal of its passage that best matches `q` by BM25
    /// (what [`Corpus::search`] shows as the snippet): the first passage when none
    /// matches, `None` for a page without passages or a corpus without `q`'s index.
    pub fn best_passages(
        &self,
        q: &SearchQuery,
        doc_ids: &[&str],
    ) -> Result<Vec<Option<u32>>, CorpusError> {
        let Some((lang, index)) = self.index_for(q)? else {
            return Ok(vec![None; doc_ids.len()]);
        };
        let terms = crate::analyzers::query_terms(lang, &q.text);
        index
            .best_passages(doc_ids, &terms)
            .map_err(|e| search_err(&e))
    }

    /// The page text passages and results are cut from, without links and categories
    /// (what embedding a corpus's passages reads).
    pub fn document_text(&self, doc_id: &str) -> Result<Option<Document>, CorpusError> {
        self.store.document_text(doc_id)
    }

    /// A stored page's title, URL and passages through ordinal `last` (`u32::MAX`: all):
    /// the index names a passage by page and ordinal, the document store holds its text.
    fn page_text(&self, doc_id: &str, last: u32) -> Result<PageText, CorpusError> {
        let doc = self
            .store
            .document_text(doc_id)?
            .ok_or_else(|| CorpusError::Corrupt {
                tree: "docs",
                key: doc_id.to_string(),
                message: "the search index has this page but the document store does not".into(),
            })?;
        Ok(PageText {
            passages: crate::passages::passages_through(&doc, last),
            title: doc.title,
            url: doc.url,
            lang: doc.lang,
            date: doc.timestamp,
        })
    }

    /// Ranks pages for `q.text` and attaches each page's best passage as the snippet.
    /// An empty or all-stop-word query returns no hits (not an error).
    pub fn search(&self, q: &SearchQuery) -> Result<Vec<SearchHit>, CorpusError> {
        let Some((lang, index)) = self.index_for(q)? else {
            return Ok(Vec::new());
        };
        let terms = crate::analyzers::query_terms(lang, &q.text);
        let exact_terms = crate::analyzers::exact_query_terms(lang, &q.text);
        let top_k = q.top_k.min(MAX_TOP_K);
        let pages = index
            .search_pages(&terms, &exact_terms, top_k)
            .map_err(|e| search_err(&e))?;
        if pages.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<&str> = pages.iter().map(|p| p.doc_id.as_str()).collect();
        self.store.read_ahead_documents(ids.iter().copied());
        let snippets = index
            .snippets(&terms, SNIPPET_CHARS)
            .map_err(|e| search_err(&e))?;
        let best = index
            .best_passages(&ids, &terms)
            .map_err(|e| search_err(&e))?;
        let mut hits = pages
            .into_iter()
            .zip(best)
            .map(|(page, best)| self.page_hit(Some(&snippets), page.doc_id, best, page.score))
            .collect::<Result<Vec<_>, _>>()?;
        // The collector already orders by (score desc, ingest order); make the
        // documented order explicit for equal scores.
        hits.sort_by(|a, b| {
            b.score
                .total_cmp(&a.score)
                .then_with(|| a.doc_id.cmp(&b.doc_id))
        });
        Ok(hits)
    }

    /// The doc ids [`Corpus::search`] would return, in its order, without building
    /// snippets (rank checks need the order only, and snippets are most of the cost).
    pub fn search_doc_ids(&self, q: &SearchQuery) -> Result<Vec<String>, CorpusError> {
        let Some((lang, index)) = self.index_for(q)? else {
            return Ok(Vec::new());
        };
        let terms = crate::analyzers::query_terms(lang, &q.text);
        let exact_terms = crate::analyzers::exact_query_terms(lang, &q.text);
        let mut pages = index
            .search_pages(&terms, &exact_terms, q.top_k.min(MAX_TOP_K))
            .map_err(|e| search_err(&e))?;
        pages.sort_by(|a, b| {
            b.score
                .total_cmp(&a.score)
                .then_with(|| a.doc_id.cmp(&b.doc_id))
        });
        Ok(pages.into_iter().map(|p| p.doc_id).collect())
    }

    /// Resolves a title, `Title#Section` or Wikipedia URL to a document, following
    /// redirects (chains up to [`MAX_REDIRECT_HOPS`], loops detected). `lang` `None`
    /// tries the URL's language, then the detected one, then the others.
    pub fn resolve(
        &self,
        title: &str,
        lang: Option<Lang>,
    ) -> Result<Option<Resolved>, CorpusError> {
        if let Some(doc_id) = self.store.lookup_url(title.trim())? {
            if let Some(title) = self.store.doc_title(&doc_id)? {
                return Ok(Some(Resolved {
                    doc_id,
                    title,
                    fragment: None,
                    redirected_from: None,
                }));
            }
        }
        let Some(r) = parse_title_ref(title) else {
            return Ok(None);
        };
        let mut langs: Vec<Lang> = Vec::new();
        for l in [lang, r.lang, self.detect_lang(&r.title)]
            .into_iter()
            .flatten()
            .chain(self.languages())
        {
            if !langs.contains(&l) {
                langs.push(l);
            }
        }
        if lang.is_some() {
            langs.truncate(1);
        }
        for l in langs {
            if let Some(found) = self.resolve_in(&r, l)? {
                return Ok(Some(found));
            }
        }
        Ok(None)
    }

    fn resolve_in(&self, r: &TitleRef, lang: Lang) -> Result<Option<Resolved>, CorpusError> {
        let mut current = r.title.clone();
        let mut fragment = r.fragment.clone();
        let mut redirected_from = None;
        let mut seen = vec![crate::normalize::title_key(&current, lang)];
        for _ in 0..=MAX_REDIRECT_HOPS {
            if let Some(doc_id) = self.store.lookup_title(&current, lang)? {
                let title = self.store.doc_title(&doc_id)?.unwrap_or(current);
                return Ok(Some(Resolved {
                    doc_id,
                    title,
                    fragment,
                    redirected_from,
                }));
            }
            let Some(redirect) = self.store.lookup_redirect(&current, lang)? else {
                break;
            };
            if redirected_from.is_none() {
                redirected_from = Some(r.title.clone());
            }
            if fragment.is_none() {
                fragment = redirect.fragment.clone();
            }
            let key = crate::normalize::title_key(&redirect.to, lang);
            if seen.contains(&key) {
                tracing::warn!(from = %r.title, "redirect loop");
                return Ok(None);
            }
            seen.push(key);
            current = redirect.to;
        }
        // Exact title and redirects missed: try a case-insensitive match on the title
        // asked for (agents often lower-case titles).
        if redirected_from.is_none() {
            if let Some(doc_id) = self.store.lookup_title_folded(&r.title, lang)? {
                let title = self.store.doc_title(&doc_id)?.unwrap_or_default();
                return Ok(Some(Resolved {
                    doc_id,
                    title,
                    fragment,
                    redirected_from: None,
                }));
            }
        }
        Ok(None)
    }

    /// The redirect recorded for `title` (one hop, not followed).
    pub fn redirect(
        &self,
        title: &str,
        lang: Lang,
    ) -> Result<Option<crate::Redirect>, CorpusError> {
        self.store.lookup_redirect(title, lang)
    }

    /// The stored document, or `None` for an unknown id.
    pub fn document(&self, doc_id: &str) -> Result<Option<Document>, CorpusError> {
        self.store.document(doc_id)
    }

    /// Number of stored documents and redirects (from the store, not the manifest).
    pub fn counts(&self) -> (usize, usize) {
        (self.store.document_count(), self.store.redirect_count())
    }

    /// Every (language, title key, doc id) in key order (the title lookup table).
    pub fn titles(&self) -> Result<Vec<(Lang, String, String)>, CorpusError> {
        self.store.titles().collect()
    }

    /// Every redirect, in key order (language, then title key).
    pub fn redirects(&self) -> Result<Vec<crate::Redirect>, CorpusError> {
        self.store.redirects().collect()
    }

    /// All document ids in key order.
    pub fn doc_ids(&self) -> Result<Vec<String>, CorpusError> {
        self.store.doc_ids().collect()
    }
}

/// A page as read for search results: its metadata and [`crate::passages`].
struct PageText {
    title: String,
    url: String,
    lang: Lang,
    date: Option<String>,
    passages: Vec<Passage>,
}

impl PageText {
    fn passage(&self, doc_id: &str, ordinal: u32) -> Result<&Passage, CorpusError> {
        self.passages
            .get(ordinal as usize)
            .ok_or_else(|| CorpusError::Corrupt {
                tree: "docs",
                key: doc_id.to_string(),
                message: format!(
                    "the search index names passage {ordinal} but the page has {}",
                    self.passages.len()
                ),
            })
    }
}

fn search_err(e: &tantivy::TantivyError) -> CorpusError {
    CorpusError::Search {
        message: e.to_string(),
    }
}

/// Wraps the byte ranges of `text` in `**`.
fn mark(text: &str, ranges: &[std::ops::Range<usize>]) -> String {
    let mut out = String::with_capacity(text.len() + ranges.len() * 4);
    let mut pos = 0;
    for r in ranges {
        if r.start < pos
            || r.end > text.len()
            || !text.is_char_boundary(r.start)
            || !text.is_char_boundary(r.end)
        {
            continue;
        }
        out.push_str(&text[pos..r.start]);
        out.push_str("**");
        out.push_str(&text[r.start..r.end]);
        out.push_str("**");
        pos = r.end;
    }
    out.push_str(&text[pos..]);
    out
}

#[cfg(test)]
mod tests {
    #[test]
    #[allow(clippy::single_range_in_vec_init)] // one highlighted range per case, on purpose
    fn mark_wraps_ranges() {
        assert_eq!(super::mark("a bc d", &[2..4]), "a **bc** d");
        assert_eq!(super::mark("数学是", &[0..6]), "**数学**是");
        assert_eq!(super::mark("abc", &[5..9]), "abc");
    }
}
