//! Search modes over one corpus: BM25 (the tantivy index), dense (the vector index) and
//! hybrid (reciprocal-rank fusion of the two), for whole passages (`retrieve`) and for
//! pages with a snippet (`search`).

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use simweb_wikidump::{Corpus, Lang, PassageHit, SearchHit, SearchQuery};

use crate::encoder::{Encoder, EncoderOptions, TextKind};
use crate::error::{DenseError, Result};
use crate::index::{DenseHit, DenseIndex};

/// Reciprocal-rank fusion's k: a document at rank r (from 1) in a list adds 1 / (k + r).
pub const RRF_K: f32 = 60.0;
/// How deep each list is read before fusing (at least the requested `top_k`).
pub const FUSION_DEPTH: usize = 50;

/// How a query is ranked.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SearchMode {
    #[default]
    Bm25,
    Dense,
    Hybrid,
}

impl SearchMode {
    pub fn as_str(self) -> &'static str {
        match self {
            SearchMode::Bm25 => "bm25",
            SearchMode::Dense => "dense",
            SearchMode::Hybrid => "hybrid",
        }
    }
}

impl std::fmt::Display for SearchMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for SearchMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "bm25" => Ok(SearchMode::Bm25),
            "dense" => Ok(SearchMode::Dense),
            "hybrid" => Ok(SearchMode::Hybrid),
            other => Err(format!(
                "unknown search mode {other:?} (expected bm25, dense or hybrid)"
            )),
        }
    }
}

/// The encoder and the vector index of one data dir.
#[derive(Debug)]
pub struct DenseRetriever {
    encoder: Encoder,
    index: DenseIndex,
}

impl DenseRetriever {
    /// Opens `<data_dir>/dense` and loads the model it was built with from `model_dir`;
    /// a different model (fingerprint) is an error, since its vectors would not compare.
    pub fn open(data_dir: &Path, model_dir: &Path, options: &EncoderOptions) -> Result<Self> {
        let index = DenseIndex::open(data_dir)?;
        let encoder = Encoder::load(model_dir, options)?;
        if encoder.fingerprint() != index.meta().model_fingerprint {
            return Err(DenseError::Mismatch(format!(
                "{} was built with model {} but {} is model {}: rebuild it with `simweb index dense`",
                DenseIndex::dir(data_dir).display(),
                index.meta().model_fingerprint,
                model_dir.display(),
                encoder.fingerprint()
            )));
        }
        Ok(DenseRetriever { encoder, index })
    }

    /// See [`DenseIndex::with_rows_per_candidate`].
    pub fn with_rows_per_candidate(mut self, rows: usize) -> Self {
        self.index = self.index.with_rows_per_candidate(rows);
        self
    }

    /// See [`DenseIndex::with_lists_per_probe`].
    pub fn with_lists_per_probe(mut self, lists: usize) -> Self {
        self.index = self.index.with_lists_per_probe(lists);
        self
    }

    pub fn index(&self) -> &DenseIndex {
        &self.index
    }

    pub fn encoder(&self) -> &Encoder {
        &self.encoder
    }

    /// The `depth` nearest passages to `query` in pages of `lang` (any language for
    /// `None`).
    pub fn nearest(&self, query: &str, depth: usize, lang: Option<Lang>) -> Result<Vec<DenseHit>> {
        if query.trim().is_empty() {
            return Ok(Vec::new());
        }
        let v = self.encoder.embed(&[query], TextKind::Query)?;
        Ok(self.index.search(&v, depth, lang))
    }

    /// The `depth` nearest passages to `q` in the language BM25 ranks it in
    /// ([`Corpus::query_lang`]; none when the corpus has no index), so every mode answers
    /// from the same language.
    fn nearest_for(&self, corpus: &Corpus, q: &SearchQuery, depth: usize) -> Result<Vec<DenseHit>> {
        match corpus.query_lang(q)? {
            Some(lang) => self.nearest(&q.text, depth, Some(lang)),
            None => Ok(Vec::new()),
        }
    }
}

fn need(dense: Option<&DenseRetriever>, mode: SearchMode) -> Result<&DenseRetriever> {
    dense.ok_or_else(|| {
        DenseError::Mismatch(format!(
            "search mode {mode} needs a dense index: build one with `simweb index dense --data DIR`"
        ))
    })
}

/// Fuses ranked lists of keys by reciprocal rank; ties keep the key order.
pub fn rrf<K: Ord + Clone>(lists: &[Vec<K>]) -> Vec<(K, f32)> {
    let mut scores: BTreeMap<K, f32> = BTreeMap::new();
    for list in lists {
        for (rank, key) in list.iter().enumerate() {
            *scores.entry(key.clone()).or_default() += 1.0 / (RRF_K + rank as f32 + 1.0);
        }
    }
    let mut fused: Vec<(K, f32)> = scores.into_iter().collect();
    fused.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    fused
}

/// Whole passages for `q` ranked by `mode` (Search-R1's `/retrieve`).
pub fn retrieve(
    corpus: &Corpus,
    dense: Option<&DenseRetriever>,
    q: &SearchQuery,
    mode: SearchMode,
) -> Result<Vec<PassageHit>> {
    let top_k = q.top_k.min(simweb_wikidump::corpus::MAX_TOP_K);
    match mode {
        SearchMode::Bm25 => Ok(corpus.retrieve(q)?),
        SearchMode::Dense => {
            let hits = need(dense, mode)?.nearest_for(corpus, q, top_k)?;
            Ok(corpus.passage_hits(hits.into_iter().map(|h| (h.doc_id, h.ordinal, h.score)))?)
        }
        SearchMode::Hybrid => {
            let dense = need(dense, mode)?;
            let depth = top_k.max(FUSION_DEPTH);
            let deep = SearchQuery {
                top_k: depth,
                ..q.clone()
            };
            let (bm25, near) = at_once(
                || corpus.retrieve(&deep),
                || dense.nearest_for(corpus, q, depth),
            );
            let bm25: Vec<(String, u32)> =
                bm25?.into_iter().map(|h| (h.doc_id, h.ordinal)).collect();
            let near: Vec<(String, u32)> =
                near?.into_iter().map(|h| (h.doc_id, h.ordinal)).collect();
            let fused = rrf(&[bm25, near]);
            Ok(corpus.passage_hits(
                fused
                    .into_iter()
                    .take(top_k)
                    .map(|((doc_id, ordinal), score)| (doc_id, ordinal, score)),
            )?)
        }
    }
}

/// Runs hybrid's two halves at once, `dense` on a second thread: each is one core's
/// work of similar size (a BM25 query; a query embedding and a vector search), so one
/// caller waits for the longer rather than the sum. Each half computes what it would
/// alone; neither sees the other, so the results do not depend on which ends first.
fn at_once<A: Send, B: Send>(
    bm25: impl FnOnce() -> A + Send,
    dense: impl FnOnce() -> B + Send,
) -> (A, B) {
    std::thread::scope(|scope| {
        let dense = scope.spawn(dense);
        let bm25 = bm25();
        (bm25, crate::index::join(dense))
    })
}

/// The nearest passages to `q` reduced to one (the best) per page, best page first.
fn dense_pages(
    corpus: &Corpus,
    dense: &DenseRetriever,
    q: &SearchQuery,
    pages: usize,
) -> Result<Vec<DenseHit>> {
    let depth = (pages * 4).max(FUSION_DEPTH);
    let mut seen = std::collections::BTreeSet::new();
    Ok(dense
        .nearest_for(corpus, q, depth)?
        .into_iter()
        .filter(|h| seen.insert(h.doc_id.clone()))
        .take(pages)
        .collect())
}

/// Pages for `q` ranked by `mode`, each with its best passage as the snippet (the
/// `search` tool's results).
pub fn search(
    corpus: &Corpus,
    dense: Option<&DenseRetriever>,
    q: &SearchQuery,
    mode: SearchMode,
) -> Result<Vec<SearchHit>> {
    let top_k = q.top_k.min(simweb_wikidump::corpus::MAX_TOP_K);
    match mode {
        SearchMode::Bm25 => Ok(corpus.search(q)?),
        SearchMode::Dense => {
            let dense = need(dense, mode)?;
            let hits = dense_pages(corpus, dense, q, top_k)?;
            Ok(corpus.page_hits(q, hits.into_iter().map(|h| (h.doc_id, h.ordinal, h.score)))?)
        }
        SearchMode::Hybrid => {
            let dense = need(dense, mode)?;
            let depth = top_k.max(FUSION_DEPTH);
            let deep = SearchQuery {
                top_k: depth,
                ..q.clone()
            };
            let (bm25, near) = at_once(
                || corpus.search_doc_ids(&deep),
                || dense_pages(corpus, dense, q, depth),
            );
            let (bm25, near) = (bm25?, near?);
            let best_dense: BTreeMap<String, u32> =
                near.iter().map(|h| (h.doc_id.clone(), h.ordinal)).collect();
            let near: Vec<String> = near.into_iter().map(|h| h.doc_id).collect();
            let fused: Vec<(String, f32)> = rrf(&[bm25, near]).into_iter().take(top_k).collect();
            // Pages only BM25 found show their best BM25 passage (one pass for all).
            let bm25_only: Vec<&str> = fused
                .iter()
                .map(|(doc_id, _)| doc_id.as_str())
                .filter(|doc_id| !best_dense.contains_key(*doc_id))
                .collect();
            let mut bm25_best = corpus.best_passages(q, &bm25_only)?.into_iter();
            let mut triples = Vec::with_capacity(fused.len());
            for (doc_id, score) in fused {
                let ordinal = match best_dense.get(&doc_id) {
                    Some(&o) => o,
                    None => bm25_best.next().flatten().unwrap_or(0),
                };
                triples.push((doc_id, ordinal, score));
            }
            Ok(corpus.page_hits(q, triples)?)
        }
    }
}
