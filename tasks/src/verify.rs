//! Checks a candidate task against the corpus itself, not the graph it came from: the
//! evidence pages exist and say what each constraint claims, and BM25 over the question
//! text alone does not rank the answer page near the top (no shortcut).

use simweb_wikidump::{Corpus, Document, Lang, SearchQuery};

use crate::error::TaskError;
use crate::facts::BLANK;
use crate::formal::{Triple, IN_CATEGORY, LINK_PREFIX, TITLE_STARTS};

/// What one triple claims about its subject page, checkable on that page alone.
#[derive(Debug, Clone, PartialEq)]
pub enum Claim {
    /// The page contains this sentence, whose `anchor` links to the page titled `title`.
    Sentence {
        sentence: String,
        anchor: String,
        title: String,
    },
    /// The page shows this infobox value.
    Value(String),
    /// The page links, with this anchor, to the page titled `title`.
    Links {
        anchor: String,
        title: String,
    },
    Category(String),
    TitleStart(String),
}

/// The claim a triple makes, given the (anchor, target title) of a link triple and the
/// raw value of an attribute triple.
pub fn claim_of(triple: &Triple, link: Option<(&str, &str)>, raw: Option<&str>) -> Option<Claim> {
    if let Some(masked) = triple[1].strip_prefix(LINK_PREFIX) {
        let (anchor, title) = link?;
        return Some(Claim::Sentence {
            sentence: masked.replacen(BLANK, anchor, 1),
            anchor: anchor.to_owned(),
            title: title.to_owned(),
        });
    }
    match triple[1].as_str() {
        IN_CATEGORY => Some(Claim::Category(triple[2].clone())),
        TITLE_STARTS => Some(Claim::TitleStart(triple[2].clone())),
        _ => raw.map(|r| Claim::Value(r.to_owned())),
    }
}

/// The page's text as an agent reads it (sections joined).
pub fn page_text(doc: &Document) -> String {
    doc.sections
        .iter()
        .map(|s| s.text.as_str())
        .collect::<Vec<_>>()
        .join("\n")
}

/// Whether the stored page `doc_id` supports `claim`; the reason when it does not.
pub fn check_claim(corpus: &Corpus, doc_id: &str, claim: &Claim) -> Result<(), String> {
    let doc = corpus
        .document(doc_id)
        .map_err(|e| format!("reading {doc_id}: {e}"))?
        .ok_or_else(|| format!("evidence page {doc_id} is not in the snapshot"))?;
    let ok = match claim {
        Claim::Sentence {
            sentence,
            anchor,
            title,
        } => page_text(&doc).contains(sentence.as_str()) && links_to(corpus, &doc, anchor, title),
        Claim::Value(raw) => page_text(&doc).contains(raw.as_str()),
        Claim::Links { anchor, title } => links_to(corpus, &doc, anchor, title),
        Claim::Category(c) => doc.categories.iter().any(|x| x == c),
        Claim::TitleStart(p) => doc.title.starts_with(p.as_str()),
    };
    if ok {
        Ok(())
    } else {
        Err(format!("{doc_id} does not show {claim:?}"))
    }
}

/// Whether `doc` has a link with `anchor` that resolves to the page titled `title`.
fn links_to(corpus: &Corpus, doc: &Document, anchor: &str, title: &str) -> bool {
    doc.links.iter().any(|l| {
        l.anchor.trim() == anchor
            && corpus
                .resolve(&l.target, Some(doc.lang))
                .ok()
                .flatten()
                .is_some_and(|r| r.title == title)
    })
}

/// The 1-based BM25 rank of `doc_id` among the top 100 pages for `question` (the
/// search tool's own ranking), `None` when it is not among them.
pub fn bm25_rank(
    corpus: &Corpus,
    lang: Lang,
    question: &str,
    doc_id: &str,
) -> Result<Option<usize>, TaskError> {
    let ids = corpus.search_doc_ids(&SearchQuery {
        text: question.to_owned(),
        top_k: 100,
        lang: Some(lang),
    })?;
    Ok(ids.iter().position(|id| id == doc_id).map(|p| p + 1))
}
