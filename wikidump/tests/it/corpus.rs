//! End-to-end tests of ingest + store + index + read side over the real sample dumps in
//! `../shared/data/wiki` (env `SIMWEB_WIKI_SAMPLES`). The four samples are ingested once
//! per test binary into a shared temporary corpus.

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use simweb_wikidump::{ingest, Corpus, IngestError, IngestOptions, Lang, SearchQuery};

use simweb_testkit::{samples, Sample, ENWIKI, ENWIKI_2025, ZHWIKI, ZIM};

fn opts() -> IngestOptions {
    IngestOptions {
        threads: 2,
        ..IngestOptions::default()
    }
}

/// The four samples, ingested once per test process (shared with every module).
pub(crate) fn shared() -> &'static Corpus {
    static SHARED: OnceLock<Arc<Corpus>> = OnceLock::new();
    SHARED.get_or_init(|| simweb_testkit::corpus(Sample::All))
}

fn input_counts(name: &str) -> simweb_wikidump::manifest::Counts {
    shared()
        .manifest()
        .inputs
        .iter()
        .find(|i| i.name == name)
        .unwrap()
        .counts
        .clone()
}

#[test]
fn counts_per_source() {
    let c = input_counts(ENWIKI);
    // The 2025 head is ingested first, so pages present in both count as duplicates of
    // it here; articles + duplicates = the file's 106 articles.
    let dup = c
        .skipped_by_reason
        .get("duplicate document id (an earlier input has it)")
        .copied()
        .unwrap_or(0);
    let dup_redirects = c
        .skipped_by_reason
        .get("duplicate redirect")
        .copied()
        .unwrap_or(0);
    assert_eq!(c.articles + dup, 106, "{c:?}");
    // The file's 100 redirects include one outside the article namespace
    // (`Wikipedia:Adding Wikipedia articles to Nupedia`), skipped as namespace 4.
    assert_eq!(c.redirects + dup_redirects, 99, "{c:?}");
    assert_eq!(c.skipped_by_reason.get("namespace 4"), Some(&1), "{c:?}");
    let zh = input_counts(ZHWIKI);
    assert_eq!(zh.articles, 23, "{zh:?}");
    let zim = input_counts(ZIM);
    // 129 HTML entries, two of which are mwoffliner's stored copies of a redirect
    // (e.g. `A/The_Pages_of_My_Mind` holds and is titled "Ray Charles"): redirects.
    assert_eq!(zim.articles, 127, "{zim:?}");
    assert_eq!(zim.redirects, 157, "{zim:?}");
    let head = input_counts(ENWIKI_2025);
    assert!(head.articles > 0 && head.redirects > 0, "{head:?}");
    let m = shared().manifest();
    assert_eq!(m.languages, vec![Lang::En, Lang::Zh]);
    let (docs, redirects) = shared().counts();
    assert_eq!(docs as u64, m.totals.articles);
    assert_eq!(redirects as u64, m.totals.redirects);
    assert!(m.totals.passages >= m.totals.articles);
}

#[test]
fn redirects_resolve_with_fragments_and_chains() {
    let c = shared();
    // The redirect is recorded; its target page is not in the samples, so resolving it
    // finds nothing rather than a wrong page.
    let r = c
        .redirect("AccessibleComputing", Lang::En)
        .unwrap()
        .unwrap();
    assert_eq!(r.to, "Computer accessibility");
    assert!(c.resolve("AccessibleComputing", None).unwrap().is_none());
    let direct = c.resolve("Albert Einstein", None).unwrap().unwrap();
    assert_eq!(direct.redirected_from, None);
    assert!(c.resolve("No such page at all", None).unwrap().is_none());
}

#[test]
fn titles_normalise_case_underscores_escapes_and_script() {
    let c = shared();
    let einstein = c.resolve("Albert Einstein", None).unwrap().unwrap().doc_id;
    for spelling in [
        "albert_Einstein",
        "Albert%20Einstein",
        "  Albert   Einstein ",
        "https://en.wikipedia.org/wiki/Albert_Einstein",
        "https://en.wikipedia.org/wiki/Albert_Einstein#Early_life",
        "albert einstein",
    ] {
        let r = c.resolve(spelling, None).unwrap();
        assert_eq!(r.map(|r| r.doc_id), Some(einstein.clone()), "{spelling}");
    }
    let frag = c
        .resolve(
            "https://en.wikipedia.org/wiki/Albert_Einstein#Early_life",
            None,
        )
        .unwrap()
        .unwrap();
    assert_eq!(frag.fragment.as_deref(), Some("Early life"));
    let math = c.resolve("数学", None).unwrap().unwrap();
    assert_eq!(
        c.resolve("數學", None).unwrap().unwrap().doc_id,
        math.doc_id
    );
    assert_eq!(
        c.resolve("https://zh.wikipedia.org/wiki/%E6%95%B8%E5%AD%B8", None)
            .unwrap()
            .unwrap()
            .doc_id,
        math.doc_id
    );
    // A traditional title in the dump is found by its simplified spelling too.
    assert!(c.resolve("化学", Some(Lang::Zh)).unwrap().is_some());
}

#[test]
fn traditional_query_finds_simplified_article() {
    let c = shared();
    let math = c.resolve("数学", None).unwrap().unwrap().doc_id;
    let hits = c.search(&SearchQuery::new("數學", 5)).unwrap();
    assert_eq!(hits.first().map(|h| h.doc_id.clone()), Some(math));
    assert_eq!(hits[0].lang, Lang::Zh);
    assert!(hits[0].highlighted.contains("**"), "{:?}", hits[0]);
}

/// Jieba's search mode emits compound words after their parts; the snippet generator
/// used to subtract offsets that went backwards and overflow on such pages.
#[test]
fn chinese_snippets_survive_compound_words() {
    let c = shared();
    let economics = c.resolve("经济学", None).unwrap().unwrap().doc_id;
    let hits = c
        .search(&SearchQuery::new(
            "属于分类「经济学」；标题以「经」开头？",
            5,
        ))
        .unwrap();
    let hit = hits
        .iter()
        .find(|h| h.doc_id == economics)
        .unwrap_or_else(|| panic!("{hits:#?}"));
    assert!(hit.highlighted.contains("**经济"), "{hit:?}");
}

#[test]
fn search_doc_ids_follow_search_order() {
    let c = shared();
    for q in [
        "ray charles piano",
        "theory of relativity",
        "数学 历史",
        "anarchism state",
    ] {
        let q = SearchQuery::new(q, 20);
        let full: Vec<String> = c
            .search(&q)
            .unwrap()
            .into_iter()
            .map(|h| h.doc_id)
            .collect();
        assert!(!full.is_empty(), "{q:?}");
        assert_eq!(c.search_doc_ids(&q).unwrap(), full, "{q:?}");
    }
}

#[test]
fn english_search_ranks_pages_with_passage_snippets() {
    let c = shared();
    let hits = c
        .search(&SearchQuery::new(
            "who developed the theory of relativity",
            5,
        ))
        .unwrap();
    let h = hits
        .iter()
        .find(|h| h.title == "Albert Einstein")
        .unwrap_or_else(|| panic!("{hits:#?}"));
    assert_eq!(h.url, "https://en.wikipedia.org/wiki/Albert_Einstein");
    assert!(
        !h.snippet.is_empty() && h.snippet.chars().count() <= 320,
        "{h:?}"
    );
    assert!(
        h.highlighted.to_lowercase().contains("**relativity**"),
        "{h:?}"
    );
    assert!(hits.windows(2).all(|w| w[0].score >= w[1].score));
    // The exact word outranks a stem collision: Snowball stems both `relativity` and
    // `relations` to `relat`, and "Foreign relations of Angola" has it in its title.
    for q in ["relativity", "theory of relativity"] {
        let hits = c.search(&SearchQuery::new(q, 3)).unwrap();
        assert_eq!(hits[0].title, "Albert Einstein", "{q}: {hits:#?}");
    }
    // Hostile and empty queries are not errors.
    for q in ["", "   ", "\"((", "AND OR NOT", "the of a", "title:foo +-*"] {
        c.search(&SearchQuery::new(q, 5)).unwrap();
    }
    assert!(c.search(&SearchQuery::new("", 5)).unwrap().is_empty());
}

#[test]
fn zim_articles_have_clean_text() {
    let c = shared();
    let r = c.resolve("Ray Charles", Some(Lang::En)).unwrap().unwrap();
    assert!(r.doc_id.starts_with("zim:"), "{r:?}");
    let doc = c.document(&r.doc_id).unwrap().unwrap();
    assert!(!doc.links.is_empty());
    for s in &doc.sections {
        for junk in ["<", "/>", "{{", "[[", "[edit]"] {
            assert!(
                !s.text.contains(junk),
                "{junk:?} in {:?}: {}",
                s.heading_path,
                s.text
            );
        }
    }
    let text: String = doc.sections.iter().map(|s| s.text.as_str()).collect();
    assert!(text.contains("Georgia"), "lead facts kept");
}

#[test]
fn qa_recall_at_5() {
    #[derive(serde::Deserialize)]
    struct Qa {
        lang: Lang,
        q: String,
        gold: String,
    }
    let c = shared();
    let qa: Vec<Qa> = include_str!("../data/qa.jsonl")
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(qa.len() >= 25);
    let mut found = 0;
    let mut misses = Vec::new();
    for item in &qa {
        let gold = c
            .resolve(&item.gold, Some(item.lang))
            .unwrap()
            .unwrap_or_else(|| panic!("gold {} not in corpus", item.gold));
        let hits = c.search(&SearchQuery::new(item.q.clone(), 5)).unwrap();
        if hits.iter().any(|h| h.doc_id == gold.doc_id) {
            found += 1;
        } else {
            misses.push((
                item.q.clone(),
                hits.iter().map(|h| h.title.clone()).collect::<Vec<_>>(),
            ));
        }
    }
    let recall = found as f64 / qa.len() as f64;
    eprintln!(
        "recall@5 = {recall:.3} ({found}/{}); misses: {misses:#?}",
        qa.len()
    );
    assert!(recall >= 0.85, "recall@5 {recall:.3}; misses: {misses:#?}");
}

#[test]
fn same_inputs_same_snapshot_and_results() {
    let inputs: Vec<PathBuf> = [ZHWIKI, ZIM].iter().map(|f| samples().join(f)).collect();
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a");
    let b = dir.path().join("b");
    let one_thread = IngestOptions {
        threads: 1,
        ..opts()
    };
    let ra = ingest(&inputs, &a, &opts()).unwrap();
    let rb = ingest(&inputs, &b, &one_thread).unwrap();
    assert_eq!(ra.manifest.snapshot_id, rb.manifest.snapshot_id);
    assert_eq!(ra.manifest, rb.manifest);
    let (ca, cb) = (Corpus::open(&a).unwrap(), Corpus::open(&b).unwrap());
    for q in [
        "soul music singer",
        "blind pianist",
        "数学",
        "歷史",
        "Georgia",
    ] {
        let ha = serde_json::to_string(&ca.search(&SearchQuery::new(q, 10)).unwrap()).unwrap();
        let hb = serde_json::to_string(&cb.search(&SearchQuery::new(q, 10)).unwrap()).unwrap();
        assert_eq!(ha, hb, "{q}");
    }
    // A different input order is a different snapshot (first input wins duplicates).
    let reversed: Vec<PathBuf> = inputs.iter().rev().cloned().collect();
    let rc = ingest(&reversed, &dir.path().join("c"), &opts()).unwrap();
    assert_ne!(rc.manifest.snapshot_id, ra.manifest.snapshot_id);
}

#[test]
fn truncated_bz2_fails_cleanly_and_keeps_previous_corpus() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("corpus");
    let good = ingest(&[samples().join(ZHWIKI)], &out, &opts()).unwrap();
    let bytes = std::fs::read(samples().join(ENWIKI)).unwrap();
    let truncated = dir.path().join("truncated.bz2");
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    let err = ingest(std::slice::from_ref(&truncated), &out, &opts()).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("truncated.bz2"), "{msg}");
    assert!(matches!(err, IngestError::Dump { .. }), "{err:?}");
    let corpus = Corpus::open(&out).unwrap();
    assert_eq!(corpus.snapshot_id(), good.manifest.snapshot_id);
    assert!(corpus.resolve("数学", None).unwrap().is_some());
    // No half-built directories are left beside the output.
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("ingest"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

/// Hostile probe #8: a header-only dump (0 pages) used to publish an empty corpus over a
/// good one. It is refused, the good corpus stays, and `allow_empty` publishes it.
#[test]
fn an_ingest_without_articles_never_replaces_a_corpus() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("corpus");
    let good = ingest(&[samples().join(ZHWIKI)], &out, &opts()).unwrap();
    let header_only = dir.path().join("header-only.xml");
    std::fs::write(
        &header_only,
        "<mediawiki xml:lang=\"en\"><siteinfo><dbname>enwiki</dbname></siteinfo></mediawiki>\n",
    )
    .unwrap();
    let err = ingest(std::slice::from_ref(&header_only), &out, &opts()).unwrap_err();
    assert!(matches!(err, IngestError::NoArticles { .. }), "{err:?}");
    assert!(err.to_string().contains("allow-empty"), "{err}");
    let corpus = Corpus::open(&out).unwrap();
    assert_eq!(corpus.snapshot_id(), good.manifest.snapshot_id);
    drop(corpus);
    let allowed = IngestOptions {
        allow_empty: true,
        ..opts()
    };
    let empty = ingest(&[header_only], &out, &allowed).unwrap();
    assert_eq!(empty.manifest.totals.articles, 0);
}

/// Hostile probe #9: a killed ingest leaves its hidden build dir; the next ingest into
/// the same output removes build dirs whose process is gone and keeps live ones.
#[test]
fn stale_build_dirs_of_dead_ingests_are_swept() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("corpus");
    // A pid that cannot be alive (above the kernel's pid_max of 2^22) and our own.
    let dead = dir.path().join(".corpus.ingest-4294967-abc123");
    let live = dir
        .path()
        .join(format!(".corpus.ingest-{}-def456", std::process::id()));
    let unrelated = dir.path().join(".other.ingest-4294967-abc123");
    for d in [&dead, &live, &unrelated] {
        std::fs::create_dir_all(d.join("store")).unwrap();
    }
    ingest(&[samples().join(ZHWIKI)], &out, &opts()).unwrap();
    assert!(!dead.exists(), "the dead ingest's build dir is swept");
    assert!(live.exists(), "a live process's build dir is kept");
    assert!(
        unrelated.exists(),
        "other outputs' build dirs are not touched"
    );
}

/// Hostile probe #10: ingesting into a corpus that a server has open used to succeed
/// while the server went on serving the deleted snapshot. It is refused while the
/// corpus is open, and works once it is closed.
#[test]
fn an_ingest_into_an_open_corpus_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("corpus");
    let good = ingest(&[samples().join(ZHWIKI)], &out, &opts()).unwrap();
    let serving = Corpus::open(&out).unwrap();
    let err = ingest(&[samples().join(ZHWIKI)], &out, &opts()).unwrap_err();
    assert!(err.to_string().contains("open in another process"), "{err}");
    assert_eq!(serving.snapshot_id(), good.manifest.snapshot_id);
    assert!(serving.resolve("数学", None).unwrap().is_some());
    drop(serving);
    ingest(&[samples().join(ZHWIKI)], &out, &opts()).unwrap();
}

#[test]
fn bad_inputs_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.xml");
    std::fs::write(&empty, b"").unwrap();
    let pdf = dir.path().join("doc.bz2");
    std::fs::write(&pdf, b"%PDF-1.4 not a dump").unwrap();
    let out = dir.path().join("out");
    assert!(matches!(
        ingest(&[empty], &out, &opts()),
        Err(IngestError::EmptyInput { .. })
    ));
    let err = ingest(&[pdf], &out, &opts()).unwrap_err();
    assert!(matches!(err, IngestError::UnknownFormat { .. }), "{err}");
    assert!(err.to_string().contains("doc.bz2"));
    assert!(matches!(
        ingest(&[], &out, &opts()),
        Err(IngestError::NoInputs)
    ));
    assert!(!out.exists());
    // A directory that is not a corpus is never replaced.
    let precious = dir.path().join("precious");
    std::fs::create_dir(&precious).unwrap();
    std::fs::write(precious.join("notes.txt"), b"keep me").unwrap();
    let err = ingest(&[samples().join(ZHWIKI)], &precious, &opts()).unwrap_err();
    assert!(matches!(err, IngestError::Output { .. }), "{err}");
    assert!(precious.join("notes.txt").exists());
    assert!(matches!(
        Corpus::open(&precious),
        Err(simweb_wikidump::CorpusError::NotACorpus { .. })
    ));
}

#[test]
fn jsonl_corpora_in_both_formats() {
    let dir = tempfile::tempdir().unwrap();
    let wiki18 = dir.path().join("wiki18.jsonl");
    std::fs::write(
        &wiki18,
        concat!(
            "{\"id\": \"0\", \"contents\": \"\\\"Aaron\\\"\\nAaron is a prophet, high priest, and the brother of Moses.\"}\n",
            "{\"id\": \"1\", \"contents\": \"\\\"Aaron\\\"\\nAaron's descendants formed the Aaronic priesthood.\"}\n",
            "not json at all\n",
            "{\"id\": \"2\", \"contents\": \"\\\"Zebra\\\"\\nZebras are African equines with black-and-white stripes.\"}\n"
        ),
    )
    .unwrap();
    let generic = dir.path().join("generic.jsonl");
    std::fs::write(
        &generic,
        concat!(
            "{\"id\": 10, \"title\": \"Quokka\", \"text\": \"The quokka is a small macropod found in Western Australia.\", \"url\": \"https://example.org/quokka\"}\n",
            "{\"id\": 11, \"title\": \"算盘\", \"text\": \"算盘是一种手动操作计算辅助工具。\"}\n"
        ),
    )
    .unwrap();
    let out = dir.path().join("out");
    let report = ingest(&[wiki18.clone(), generic.clone()], &out, &opts()).unwrap();
    let m = &report.manifest;
    assert_eq!(m.inputs[0].counts.articles, 3);
    assert_eq!(m.inputs[0].counts.skipped, 1);
    assert_eq!(m.inputs[1].counts.articles, 2);
    let c = Corpus::open(&out).unwrap();
    let hits = c.search(&SearchQuery::new("brother of Moses", 3)).unwrap();
    assert_eq!(hits[0].doc_id, "jsonl:0");
    assert_eq!(hits[0].url, "https://en.wikipedia.org/wiki/Aaron");
    let r = c.resolve("aaron", None).unwrap().unwrap();
    assert_eq!(r.doc_id, "jsonl:0", "the first passage of a title owns it");
    let q = c
        .resolve("https://example.org/quokka", None)
        .unwrap()
        .unwrap();
    assert_eq!(q.title, "Quokka");
    let zh = c.search(&SearchQuery::new("算盤", 3)).unwrap();
    assert_eq!(zh[0].doc_id, "jsonl:11");
}
