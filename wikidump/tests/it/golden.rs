//! Ranking and snippets pinned on the samples: the top 10 of `search` (pages with their
//! snippet) and of `retrieve` (whole passages) for every question of `qa.jsonl` and a few
//! keyword queries, against `tests/data/golden-top10.jsonl`. Changes claimed to be
//! ranking-neutral (index layout, storage, speed) must leave it byte-identical; a change
//! meant to alter ranking re-blesses it (`SIMWEB_BLESS=1`) and says why in its commit.

use std::path::PathBuf;

use sha2::{Digest, Sha256};
use simweb_wikidump::{Lang, SearchQuery};

const KEYWORD_QUERIES: &[(&str, &str)] = &[
    ("en", "Ray Charles"),
    ("en", "Apollo program moon landing"),
    ("en", "anarchism"),
    ("en", "the of and"),
    ("zh", "数学"),
    ("zh", "中华人民共和国"),
];

fn golden_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/golden-top10.jsonl")
}

fn lang(code: &str) -> Lang {
    match code {
        "en" => Lang::En,
        "zh" => Lang::Zh,
        other => panic!("language {other}"),
    }
}

fn queries() -> Vec<(Lang, String)> {
    let qa = std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/qa.jsonl"),
    )
    .unwrap();
    let mut out: Vec<(Lang, String)> = qa
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            (
                lang(v["lang"].as_str().unwrap()),
                v["q"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    out.extend(
        KEYWORD_QUERIES
            .iter()
            .map(|(l, q)| (lang(l), q.to_string())),
    );
    out
}

fn short_hash(text: &str) -> String {
    hex::encode(&Sha256::digest(text.as_bytes())[..8])
}

/// One JSON line per query: what a ranking change would change, scores to 4 decimals.
fn render() -> String {
    let corpus = super::corpus::shared();
    let mut out = String::new();
    for (lang, text) in queries() {
        let q = SearchQuery {
            text: text.clone(),
            top_k: 10,
            lang: Some(lang),
        };
        let search: Vec<serde_json::Value> = corpus
            .search(&q)
            .unwrap()
            .into_iter()
            .map(|h| {
                serde_json::json!([
                    h.doc_id,
                    format!("{:.4}", h.score),
                    h.heading_path,
                    h.highlighted
                ])
            })
            .collect();
        let retrieve: Vec<serde_json::Value> = corpus
            .retrieve(&q)
            .unwrap()
            .into_iter()
            .map(|p| {
                serde_json::json!([
                    p.doc_id,
                    p.ordinal,
                    format!("{:.4}", p.score),
                    p.heading_path,
                    short_hash(&p.text)
                ])
            })
            .collect();
        let line = serde_json::json!({
            "lang": lang.code(),
            "q": text,
            "search": search,
            "retrieve": retrieve,
        });
        out.push_str(&serde_json::to_string(&line).unwrap());
        out.push('\n');
    }
    out
}

#[test]
fn top10_matches_the_golden_file() {
    let now = render();
    if std::env::var_os("SIMWEB_BLESS").is_some() {
        std::fs::write(golden_path(), &now).unwrap();
        return;
    }
    let golden = std::fs::read_to_string(golden_path()).unwrap();
    for (i, (want, got)) in golden.lines().zip(now.lines()).enumerate() {
        assert_eq!(
            got,
            want,
            "query {} ranks differently from tests/data/golden-top10.jsonl \
             (SIMWEB_BLESS=1 to accept an intended ranking change)",
            i + 1
        );
    }
    assert_eq!(golden.lines().count(), now.lines().count(), "query count");
}

/// Each term of `texts` as `simweb_en_exact` emits it, sorted (a bag of words).
fn exact_terms<'a>(
    terms: &mut simweb_wikidump::analyzers::EnglishTerms,
    texts: impl Iterator<Item = &'a str>,
) -> Vec<String> {
    let (mut exact, mut stemmed) = (String::new(), String::new());
    for t in texts {
        terms.analyse(t, &mut exact, &mut stemmed);
    }
    let mut bag: Vec<String> = exact
        .split(' ')
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect();
    bag.sort();
    bag
}

/// An English page body is indexed from its passages' terms, which is ranking-neutral
/// only while the passages hold exactly their sections' words: checked on every English
/// sample page.
#[test]
fn english_passages_hold_exactly_their_sections_words() {
    let corpus = super::corpus::shared();
    let mut terms = simweb_wikidump::analyzers::EnglishTerms::default();
    let mut pages = 0;
    for id in corpus.doc_ids().unwrap() {
        let doc = corpus.document_text(&id).unwrap().unwrap();
        if doc.lang != Lang::En {
            continue;
        }
        let sections = exact_terms(&mut terms, doc.sections.iter().map(|s| s.text.as_str()));
        let passages = simweb_wikidump::passages(&doc);
        let chunks = exact_terms(&mut terms, passages.iter().map(|p| p.text.as_str()));
        assert_eq!(sections, chunks, "{id}");
        pages += 1;
    }
    assert!(pages > 100, "{pages} English pages");
}
