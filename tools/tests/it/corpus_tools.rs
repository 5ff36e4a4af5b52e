//! search, visit, google_scholar and parse_file over a real corpus: the four sample
//! dumps in `../shared/data/wiki` (env `SIMWEB_WIKI_SAMPLES`), ingested once per test
//! process with the wikidump crate's own pipeline (simweb-testkit).

use std::path::Path;
use std::sync::Arc;

use serde_json::{json, Value};
use simweb_testkit::Sample;
use simweb_tools::format::{
    agent_text_for_error, MULTI_SEPARATOR, SEARCH_INVALID_REQUEST, VISIT_FAILED_EVIDENCE,
    VISIT_FAILED_SUMMARY, VISIT_INVALID_REQUEST,
};
use simweb_tools::{LayerConfig, ReplayMode, ToolError, ToolOutput, Toolbox, ToolboxSpec};
use simweb_wikidump::Corpus;

/// The four samples, ingested once per test process by simweb-testkit.
fn corpus() -> Arc<Corpus> {
    simweb_testkit::corpus(Sample::All)
}

fn toolbox_with(config: LayerConfig) -> Toolbox {
    ToolboxSpec::new(corpus()).layers(config).build().unwrap()
}

fn toolbox() -> Toolbox {
    toolbox_with(LayerConfig::default())
}

async fn call(toolbox: &Toolbox, tool: &str, args: Value) -> ToolOutput {
    toolbox
        .call(tool, &args, "test")
        .await
        .unwrap_or_else(|e| panic!("{tool} {args}: {e}"))
}

fn titles(results: &Value) -> Vec<String> {
    results["organic"]
        .as_array()
        .unwrap()
        .iter()
        .map(|hit| hit["title"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn known_queries_find_the_right_page_in_the_top_3() {
    let toolbox = toolbox();
    let cases = [
        (
            "political philosophy that rejects hierarchy and the state",
            "Anarchism",
        ),
        (
            "16th president of the United States assassinated in 1865",
            "Abraham Lincoln",
        ),
        (
            "fraction of sunlight diffusely reflected by a surface",
            "Albedo",
        ),
        (
            "American soul singer and pianist Ray Charles",
            "Ray Charles",
        ),
        ("数学", "数学"),
        ("研究物质运动的自然科学 物理学", "物理学"),
    ];
    let queries: Vec<&str> = cases.iter().map(|(q, _)| *q).collect();
    let out = call(&toolbox, "search", json!({"query": queries})).await;
    let results = out.data["results"].as_array().unwrap();
    assert_eq!(results.len(), cases.len());
    for ((query, expected), result) in cases.iter().zip(results) {
        let top: Vec<String> = titles(result).into_iter().take(3).collect();
        assert!(
            top.iter().any(|t| t == expected),
            "{query}: expected {expected} in {top:?}"
        );
    }
    // Chinese queries went to the Chinese index on their own (lang auto).
    assert_eq!(results[4]["lang"], "zh");
    assert_eq!(results[0]["lang"], "en");
}

/// Rebuilds the answer from the structured hits with Tongyi's template, written out
/// independently of the crate's formatter.
fn tongyi_text(query: &str, organic: &[Value]) -> String {
    if organic.is_empty() {
        return format!("No results found for '{query}'. Try with a more general query.");
    }
    let mut parts = Vec::new();
    for (i, hit) in organic.iter().enumerate() {
        let mut s = format!(
            "{}. [{}]({})",
            i + 1,
            hit["title"].as_str().unwrap(),
            hit["link"].as_str().unwrap()
        );
        if let Some(date) = hit["date"].as_str() {
            s += &format!("\nDate published: {date}");
        }
        if let Some(source) = hit["source"].as_str() {
            s += &format!("\nSource: {source}");
        }
        s += "\n";
        let snippet = hit["snippet"].as_str().unwrap();
        if !snippet.is_empty() {
            s += &format!("\n{snippet}");
        }
        parts.push(s);
    }
    format!(
        "A Google search for '{query}' found {} results:\n\n## Web Results\n{}",
        parts.len(),
        parts.join("\n\n")
    )
}

#[tokio::test]
async fn search_text_follows_the_tongyi_format_exactly() {
    let toolbox = toolbox();
    let queries = ["Ray Charles", "数学", "zzqxjv wkpfz"];
    let out = call(&toolbox, "search", json!({"query": queries, "top_k": 3})).await;
    let results = out.data["results"].as_array().unwrap();
    let expected: Vec<String> = queries
        .iter()
        .zip(results)
        .map(|(q, r)| tongyi_text(q, r["organic"].as_array().unwrap()))
        .collect();
    assert_eq!(out.text, expected.join("\n=======\n"));
    assert!(out
        .text
        .starts_with("A Google search for 'Ray Charles' found 3 results:\n\n## Web Results\n1. ["));
    assert!(out
        .text
        .ends_with("No results found for 'zzqxjv wkpfz'. Try with a more general query."));
    let first = &results[0]["organic"][0];
    assert_eq!(first["position"], 1);
    assert!(first["link"]
        .as_str()
        .unwrap()
        .starts_with("https://en.wikipedia.org/wiki/"));
    assert!(first["highlighted"].as_str().unwrap().contains("**"));

    // And byte for byte against the golden file of this query (ranking included).
    let single = call(
        &toolbox,
        "search",
        json!({"query": ["Ray Charles"], "top_k": 3}),
    )
    .await;
    let golden = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/search_ray_charles.txt");
    if std::env::var_os("SIMWEB_UPDATE_GOLDEN").is_some() {
        std::fs::write(&golden, &single.text).unwrap();
    }
    let expected = std::fs::read_to_string(&golden)
        .expect("golden file missing: run once with SIMWEB_UPDATE_GOLDEN=1 and review it");
    assert_eq!(single.text, expected);
}

fn page(out: &ToolOutput, i: usize) -> &Value {
    &out.data["pages"][i]
}

#[tokio::test]
async fn visit_accepts_every_url_form_and_bare_titles() {
    let toolbox = toolbox();
    let forms = [
        "https://en.wikipedia.org/wiki/Abraham_Lincoln",
        "http://en.m.wikipedia.org/wiki/Abraham_Lincoln",
        "en.wikipedia.org/wiki/Abraham_Lincoln",
        "//en.wikipedia.org/wiki/Abraham%20Lincoln",
        "https://en.wikipedia.org/w/index.php?title=Abraham_Lincoln&oldid=12345",
        "https://en.wikipedia.org/wiki/Abraham%5FLincoln",
        "Abraham Lincoln",
        "Abraham_Lincoln",
        "abraham lincoln",
    ];
    let out = call(
        &toolbox,
        "visit",
        json!({"url": forms, "goal": "When was Lincoln born?"}),
    )
    .await;
    let ids: Vec<&Value> = (0..forms.len()).map(|i| &page(&out, i)["doc_id"]).collect();
    assert!(ids[0].is_string(), "{}", out.data);
    for (form, id) in forms.iter().zip(&ids) {
        assert_eq!(*id, ids[0], "{form}");
    }
    assert_eq!(out.text.matches(MULTI_SEPARATOR).count(), forms.len() - 1);

    let zh = call(
        &toolbox,
        "visit",
        json!({"url": ["https://zh.wikipedia.org/wiki/%E6%95%B0%E5%AD%A6", "https://zh.wikipedia.org/zh-cn/数学", "数学"], "goal": "数学是什么"}),
    )
    .await;
    assert_eq!(page(&zh, 0)["title"], "数学");
    assert_eq!(page(&zh, 1)["doc_id"], page(&zh, 0)["doc_id"]);
    assert_eq!(page(&zh, 2)["doc_id"], page(&zh, 0)["doc_id"]);
}

#[tokio::test]
async fn visit_follows_redirects() {
    let toolbox = toolbox();
    // `AynRand` and `AndorrA` are redirect pages in the enwiki samples.
    let out = call(
        &toolbox,
        "visit",
        json!({"url": ["https://en.wikipedia.org/wiki/AynRand", "AndorrA"], "goal": "What is it?"}),
    )
    .await;
    let p = page(&out, 0);
    assert_eq!(p["status"], "ok", "{p}");
    assert_eq!(p["title"], "Ayn Rand");
    assert_eq!(p["redirected_from"], "AynRand");
    assert_eq!(page(&out, 1)["title"], "Andorra");
}

#[tokio::test]
async fn visit_evidence_is_verbatim_and_in_tongyi_layout() {
    let toolbox = toolbox();
    let url = "https://en.wikipedia.org/wiki/Albedo";
    let goal = "How much sunlight does snow reflect compared to the ocean?";
    let out = call(&toolbox, "visit", json!({"url": [url], "goal": goal})).await;
    let prefix = format!(
        "The useful information in {url} for user goal {goal} as follows: \n\nEvidence in page: \n"
    );
    assert!(out.text.starts_with(&prefix), "{}", out.text);
    assert!(out.text.contains("\n\nSummary: \n"));
    assert_eq!(out.text, out.text.trim(), "the whole result is stripped");

    let p = page(&out, 0);
    let doc = corpus()
        .document(p["doc_id"].as_str().unwrap())
        .unwrap()
        .unwrap();
    let page_text: String = doc
        .sections
        .iter()
        .map(|s| s.text.as_str())
        .collect::<Vec<_>>()
        .join("\n");
    let quotes = p["evidence"].as_array().unwrap();
    assert!(!quotes.is_empty());
    for quote in quotes {
        let text = quote["text"].as_str().unwrap();
        // A passage packs whole paragraphs (joined by one newline, while sections keep
        // blank lines between them): every paragraph of a quote is verbatim page text.
        for paragraph in text.lines().filter(|l| !l.trim().is_empty()) {
            assert!(page_text.contains(paragraph), "not verbatim: {paragraph}");
        }
        assert!(out.text.contains(text));
    }
    let summary = p["summary"].as_str().unwrap();
    assert!(!summary.is_empty());
    for sentence in summary.split(". ") {
        assert!(
            page_text.contains(sentence.trim_end_matches('.')),
            "summary not extractive: {sentence}"
        );
    }
    // The lead matches the goal ("sunlight"), so it is quoted first; the best-scoring
    // passage after it is about the goal itself.
    assert_eq!(quotes[0]["ordinal"], 0, "{}", quotes[0]);
    let best = quotes[1]["text"].as_str().unwrap().to_lowercase();
    assert!(best.contains("snow") || best.contains("ocean"), "{best}");
}

#[tokio::test]
async fn visit_prefers_the_section_in_the_fragment() {
    let toolbox = toolbox();
    let out = call(
        &toolbox,
        "visit",
        json!({"url": "https://en.wikipedia.org/wiki/Anarchism#Criticism", "goal": "What do critics say?"}),
    )
    .await;
    let p = page(&out, 0);
    assert_eq!(p["section"], "Criticism");
    let first = &p["evidence"][0];
    let headings: Vec<&str> = first["heading_path"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h.as_str().unwrap())
        .collect();
    assert!(headings.contains(&"Criticism"), "{headings:?}");
}

#[tokio::test]
async fn unreachable_pages_get_the_live_failure_text() {
    let toolbox = toolbox();
    let goal = "anything";
    let urls = [
        "https://en.wikipedia.org/wiki/This_page_does_not_exist_zzqx",
        "https://example.com/some/page",
        "javascript:alert(document.cookie)",
        "https://en.wikipedia.org/wiki/Bad%ZZescape",
        "https://de.wikipedia.org/wiki/Berlin",
    ];
    let out = call(&toolbox, "visit", json!({"url": urls, "goal": goal})).await;
    let expected: Vec<String> = urls
        .iter()
        .map(|u| {
            format!(
                "The useful information in {u} for user goal {goal} as follows: \n\nEvidence in page: \n{VISIT_FAILED_EVIDENCE}\n\nSummary: \n{VISIT_FAILED_SUMMARY}\n\n"
            )
        })
        .collect();
    assert_eq!(out.text, expected.join("\n=======\n").trim());
    for i in 0..urls.len() {
        assert_eq!(page(&out, i)["status"], "not_found");
        assert!(page(&out, i)["reason"].as_str().unwrap().len() > 5);
    }
    assert!(page(&out, 2)["reason"]
        .as_str()
        .unwrap()
        .contains("javascript:"));
    assert!(page(&out, 3)["reason"]
        .as_str()
        .unwrap()
        .contains("percent"));
}

#[tokio::test]
async fn paged_reading_returns_the_page_text_in_order() {
    let toolbox = toolbox();
    let url = "https://en.wikipedia.org/wiki/Albedo";
    let first = call(
        &toolbox,
        "visit",
        json!({"url": url, "start_index": 0, "max_length": 200}),
    )
    .await;
    let second = call(
        &toolbox,
        "visit",
        json!({"url": url, "start_index": 200, "max_length": 200}),
    )
    .await;
    let head = first.text.split("\n\n[Showing characters").next().unwrap();
    let next = second.text.split("\n\n[Showing characters").next().unwrap();
    assert_eq!(head.chars().count(), 200);
    assert!(head.starts_with("Title: Albedo\n\nURL Source: https://en.wikipedia.org/wiki/Albedo\n\nMarkdown Content:\n# Albedo\n"));
    assert!(first.text.contains("Continue with start_index=200."));
    let total = page(&first, 0)["total_chars"].as_u64().unwrap();
    assert!(total > 400);
    let whole = call(
        &toolbox,
        "visit",
        json!({"url": url, "start_index": 0, "max_length": 100000}),
    )
    .await;
    assert_eq!(
        whole.text.chars().count() as u64,
        total,
        "no footer when everything fits"
    );
    assert!(whole.text.starts_with(&format!("{head}{next}")));
}

#[tokio::test]
async fn scholar_and_parse_file_answer_in_format() {
    let toolbox = toolbox();
    let out = call(
        &toolbox,
        "google_scholar",
        json!({"query": ["albedo of snow"]}),
    )
    .await;
    assert!(
        out.text
            .starts_with("A Google scholar for 'albedo of snow' found "),
        "{}",
        out.text
    );
    assert!(out.text.contains(
        "## Scholar Results\n1. [Albedo](https://en.wikipedia.org/wiki/Albedo)\npublicationInfo: "
    ));
    let out = call(&toolbox, "parse_file", json!({"files": ["paper.pdf"]})).await;
    assert!(out
        .text
        .starts_with("# Error processing paper.pdf: file parsing is not available"));
    assert_eq!(
        toolbox
            .schemas()
            .iter()
            .map(|s| s["function"]["name"].as_str().unwrap().to_string())
            .collect::<Vec<_>>(),
        vec!["search", "visit", "google_scholar", "parse_file"]
    );
}

#[tokio::test]
async fn bad_input_gets_typed_errors_and_the_live_texts() {
    let toolbox = toolbox();
    let err = |args: Value, tool: &'static str| {
        let toolbox = &toolbox;
        async move { toolbox.call(tool, &args, "t").await.unwrap_err() }
    };
    let e = err(json!({"q": "x"}), "search").await;
    assert!(
        matches!(&e, ToolError::InvalidArguments { reason, .. } if reason.contains("unknown field `q`")),
        "{e}"
    );
    let e = err(json!({}), "search").await;
    assert_eq!(agent_text_for_error("search", &e), SEARCH_INVALID_REQUEST);
    let e = err(json!({"url": "x"}), "visit").await;
    assert_eq!(agent_text_for_error("visit", &e), VISIT_INVALID_REQUEST);
    let e = err(json!({"query": []}), "search").await;
    assert!(e.to_string().contains("at least one query"), "{e}");
    let many: Vec<String> = (0..1000).map(|i| format!("query {i}")).collect();
    let e = err(json!({"query": many}), "search").await;
    assert!(e.to_string().contains("too many queries: 1000"), "{e}");
    assert!(agent_text_for_error("search", &e)
        .starts_with("[Search] Invalid request: too many queries"));
    let e = err(json!({"query": ["x".repeat(1 << 20)]}), "search").await;
    assert!(e.to_string().contains("1048576 bytes"), "{e}");
    let e = err(json!({"query": [1, 2]}), "search").await;
    assert!(e.to_string().contains("invalid type"), "{e}");
    let e = err(json!({"url": ["a"], "goal": 5}), "visit").await;
    assert!(e.to_string().contains("invalid type"), "{e}");
    let e = err(
        json!({"url": ["a"], "goal": "g", "start_index": -1}),
        "visit",
    )
    .await;
    assert!(e.to_string().contains("start_index"), "{e}");
    let e = err(json!({"query": "x"}), "browse").await;
    assert!(matches!(e, ToolError::UnknownTool { .. }));
    assert_eq!(e.http_status(), 404);
}

#[tokio::test]
async fn cached_search_and_visit_return_identical_bytes() {
    let toolbox = toolbox();
    let args = json!({"query": ["Ray Charles", "albedo"]});
    let first = call(&toolbox, "search", args.clone()).await;
    let second = call(&toolbox, "search", args).await;
    assert!(!first.cached && second.cached);
    assert_eq!(first.text.as_bytes(), second.text.as_bytes());
    assert_eq!(first.data, second.data);
    let args = json!({"url": "Ray Charles", "goal": "Where was he born?"});
    let first = call(&toolbox, "visit", args.clone()).await;
    let second = call(&toolbox, "visit", args).await;
    assert!(second.cached);
    assert_eq!(first.text, second.text);
}

#[tokio::test]
async fn a_recorded_session_replays_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = LayerConfig::default();
    config.cache.enabled = false;
    config.replay.mode = ReplayMode::Record;
    config.replay.log = Some(dir.path().join("session.jsonl"));
    let session = [
        ("search", json!({"query": ["Ray Charles", "数学"]})),
        (
            "visit",
            json!({"url": ["Ray Charles"], "goal": "When did he die?"}),
        ),
        ("visit", json!({"url": "https://example.com", "goal": "x"})),
        ("search", json!({"query": []})),
        ("google_scholar", json!({"query": "albedo"})),
    ];
    let recorder = toolbox_with(config.clone());
    let mut recorded = Vec::new();
    for (tool, args) in &session {
        recorded.push(recorder.call(tool, args, "t").await);
    }
    drop(recorder);

    config.replay.mode = ReplayMode::Replay;
    let replayer = toolbox_with(config);
    for ((tool, args), before) in session.iter().zip(&recorded) {
        let after = replayer.call(tool, args, "t").await;
        match (before, &after) {
            (Ok(a), Ok(b)) => {
                assert_eq!(a.text.as_bytes(), b.text.as_bytes());
                assert!(b.replayed);
            }
            (Err(a), Err(b)) => assert_eq!(a, b),
            other => panic!("{tool}: replay differs: {other:?}"),
        }
    }
    let e = replayer
        .call("search", &json!({"query": ["something new"]}), "t")
        .await
        .unwrap_err();
    assert!(
        e.to_string()
            .contains(r#"search {"query":["something new"]}"#),
        "{e}"
    );
}
