//! The three modes over the Ray Charles corpus.

use simweb_dense::{retrieve, search, SearchMode};
use simweb_testkit::dense_corpus;
use simweb_wikidump::SearchQuery;

#[test]
fn dense_finds_a_passage_from_its_own_words() {
    let (_, corpus, dense) = dense_corpus();
    // Every 10th passage, asked for by its text: the nearest row is that passage.
    let ids = corpus.doc_ids().unwrap();
    let mut asked = 0;
    let mut found = 0;
    for id in ids.iter().step_by(10) {
        let doc = corpus.document_text(id).unwrap().unwrap();
        for p in simweb_wikidump::passages(&doc).iter().take(1) {
            let hits = dense.nearest(&p.text, 3, None).unwrap();
            asked += 1;
            if hits
                .iter()
                .any(|h| h.doc_id == *id && h.ordinal == p.ordinal)
            {
                found += 1;
            }
        }
    }
    assert!(asked >= 10);
    assert!(
        found * 10 >= asked * 9,
        "{found} of {asked} found in the top 3"
    );
}

#[test]
fn modes_rank_differently_and_deterministically() {
    let (_, corpus, dense) = dense_corpus();
    // A paraphrase with none of the page's title words.
    let q = SearchQuery::new("the blind pianist's record company in the fifties", 5);
    let bm25 = search(&corpus, Some(&dense), &q, SearchMode::Bm25).unwrap();
    assert_eq!(
        bm25,
        corpus.search(&q).unwrap(),
        "bm25 mode is Corpus::search"
    );
    let near = search(&corpus, Some(&dense), &q, SearchMode::Dense).unwrap();
    let fused = search(&corpus, Some(&dense), &q, SearchMode::Hybrid).unwrap();
    assert_eq!(near.len(), 5);
    assert_eq!(fused.len(), 5);
    // Dense scores are cosines, best first; one hit per page.
    assert!(near.windows(2).all(|w| w[0].score >= w[1].score));
    assert!(near.iter().all(|h| h.score > 0.0 && h.score <= 1.0));
    let mut pages: Vec<&str> = near.iter().map(|h| h.doc_id.as_str()).collect();
    pages.sort();
    pages.dedup();
    assert_eq!(pages.len(), 5);
    // Hybrid's pages all come from one of the two lists.
    let deep = |mode| {
        search(
            &corpus,
            Some(&dense),
            &SearchQuery {
                top_k: 50,
                ..q.clone()
            },
            mode,
        )
        .unwrap()
        .into_iter()
        .map(|h| h.doc_id)
        .collect::<Vec<_>>()
    };
    let (bm25_deep, dense_deep) = (deep(SearchMode::Bm25), deep(SearchMode::Dense));
    for h in &fused {
        assert!(bm25_deep.contains(&h.doc_id) || dense_deep.contains(&h.doc_id));
        assert!(!h.snippet.is_empty());
    }
    // Same query, same bytes.
    assert_eq!(
        near,
        search(&corpus, Some(&dense), &q, SearchMode::Dense).unwrap()
    );
    assert_eq!(
        fused,
        search(&corpus, Some(&dense), &q, SearchMode::Hybrid).unwrap()
    );
}

#[test]
fn passages_come_back_whole_in_every_mode() {
    let (_, corpus, dense) = dense_corpus();
    let q = SearchQuery::new("Ray Charles live album recorded in Atlanta", 4);
    for mode in [SearchMode::Bm25, SearchMode::Dense, SearchMode::Hybrid] {
        let hits = retrieve(&corpus, Some(&dense), &q, mode).unwrap();
        assert_eq!(hits.len(), 4, "{mode}");
        for h in &hits {
            let doc = corpus.document_text(&h.doc_id).unwrap().unwrap();
            let passages = simweb_wikidump::passages(&doc);
            assert_eq!(passages[h.ordinal as usize].text, h.text, "{mode}");
        }
    }
    let dense_hits = retrieve(&corpus, Some(&dense), &q, SearchMode::Dense).unwrap();
    assert!(
        dense_hits
            .iter()
            .any(|h| h.title.to_lowercase().contains("in person")),
        "{:?}",
        dense_hits.iter().map(|h| &h.title).collect::<Vec<_>>()
    );
}

#[test]
fn dense_without_an_index_says_how_to_build_one() {
    let (_, corpus, _) = dense_corpus();
    let q = SearchQuery::new("soul", 3);
    let err = search(&corpus, None, &q, SearchMode::Hybrid)
        .unwrap_err()
        .to_string();
    assert!(err.contains("simweb index dense"), "{err}");
    assert!(search(&corpus, None, &q, SearchMode::Bm25).is_ok());
}

#[test]
fn the_two_stage_search_agrees_with_the_exact_scan() {
    let (_, corpus, dense) = dense_corpus();
    let index = dense.index();
    let encoder = dense.encoder();
    let mut agree = 0;
    let mut total = 0;
    for id in corpus.doc_ids().unwrap().iter().step_by(7) {
        let doc = corpus.document_text(id).unwrap().unwrap();
        let q = encoder
            .embed(&[doc.title.as_str()], simweb_dense::TextKind::Query)
            .unwrap();
        let exact = index.search_exact(&q, 5, None);
        // Every row a candidate: the same hits, scores and order as the exact scan.
        assert_eq!(index.search_two_stage_with(&q, 5, index.len(), None), exact);
        // A quarter of the rows as candidates still finds most of the exact top 5.
        let two = index.search_two_stage_with(&q, 5, index.len() / 4, None);
        agree += two.iter().filter(|h| exact.contains(h)).count();
        total += exact.len();
    }
    assert!(total >= 50);
    assert!(agree * 10 >= total * 8, "{agree} of {total}");
}

#[test]
fn every_mode_routes_a_query_to_the_language_bm25_uses() {
    let (_, corpus, dense) = dense_corpus();
    // The corpus is English only: asking for Chinese is the same error in every mode,
    // never English pages from the vector index.
    let q = SearchQuery {
        lang: Some(simweb_wikidump::Lang::Zh),
        ..SearchQuery::new("雷·查尔斯的唱片公司", 3)
    };
    let bm25 = search(&corpus, Some(&dense), &q, SearchMode::Bm25)
        .unwrap_err()
        .to_string();
    assert!(bm25.contains("zh"), "{bm25}");
    for mode in [SearchMode::Dense, SearchMode::Hybrid] {
        let err = search(&corpus, Some(&dense), &q, mode).unwrap_err();
        assert_eq!(err.to_string(), bm25, "{mode}");
        let err = retrieve(&corpus, Some(&dense), &q, mode).unwrap_err();
        assert_eq!(err.to_string(), bm25, "{mode}");
    }
    // Left to detection, a Chinese query on an English corpus is ranked in English by all.
    let q = SearchQuery::new("雷·查尔斯的唱片公司", 3);
    for mode in [SearchMode::Bm25, SearchMode::Dense, SearchMode::Hybrid] {
        let hits = search(&corpus, Some(&dense), &q, mode).unwrap();
        assert!(
            hits.iter().all(|h| h.lang == simweb_wikidump::Lang::En),
            "{mode}"
        );
    }
}
