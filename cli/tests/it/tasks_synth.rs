//! `simweb tasks synth` over the shared sample corpus (both enwiki excerpts, the zhwiki
//! excerpt, the ZIM): tasks at every level, re-verified here independently of the
//! synthesizer's own checks, deterministic per seed, and winnable by an agent that
//! visits the evidence.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use serde_json::{json, Value};
use simweb_tasks::formal::{evaluate, Binding, Triple, LINK_PREFIX};
use simweb_tasks::FactGraph;
use simweb_testkit::Sample;
use simweb_wikidump::Lang;

use super::support::{chat_server, simweb};

const BLANK: &str = "___";

struct Synth {
    dir: tempfile::TempDir,
    data: PathBuf,
    out: PathBuf,
    tasks: Vec<Value>,
}

/// One synthesis run (seed 7, 45 tasks), shared by the tests below.
fn synth() -> &'static Synth {
    static RUN: OnceLock<Synth> = OnceLock::new();
    RUN.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let data = simweb_testkit::corpus_dir(Sample::All);
        let out = dir.path().join("tasks.jsonl");
        run_synth(&data, &out, "7", dir.path());
        let tasks = read_jsonl(&out);
        Synth {
            dir,
            data,
            out,
            tasks,
        }
    })
}

/// Synthesizes 45 tasks with the fact graph cached under `cache` (the first run builds
/// it, later ones read it).
fn run_synth(data: &Path, out: &Path, seed: &str, cache: &Path) {
    let run = simweb(&[
        "tasks",
        "synth",
        "--data",
        data.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--n",
        "45",
        "--seed",
        seed,
        "--cache",
        cache.to_str().unwrap(),
    ]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
}

fn read_jsonl(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn synthesis_covers_every_level_and_both_languages() {
    let s = synth();
    assert_eq!(s.tasks.len(), 45, "the samples support 45 tasks");
    for level in 1..=3 {
        let n = s
            .tasks
            .iter()
            .filter(|t| t["level"] == level && t["lang"] == "en")
            .count();
        assert!(n >= 5, "only {n} English tasks at level {level}");
    }
    assert!(s.tasks.iter().any(|t| t["lang"] == "zh"), "no Chinese task");
    let summary: Value = serde_json::from_str(
        &std::fs::read_to_string(s.out.with_extension("jsonl.summary.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(summary["written"], 45);
    let funnel = [
        "attempts",
        "candidates",
        "unique",
        "evidence_checked",
        "shortcut_free",
    ];
    for pair in funnel.windows(2) {
        assert!(
            summary[pair[0]].as_u64() >= summary[pair[1]].as_u64(),
            "funnel {pair:?} grows: {summary}"
        );
    }
    for t in &s.tasks {
        for key in [
            "id",
            "question",
            "answers",
            "formalization",
            "evidence",
            "difficulty",
            "snapshot_id",
            "seed",
            "hops",
        ] {
            assert!(!t[key].is_null(), "task lacks {key}: {t}");
        }
        assert!(t["difficulty"]["constraints"].as_u64().unwrap() >= 2, "{t}");
    }
}

/// Every task re-checked from the corpus: the formalization has exactly one answer in a
/// freshly built fact graph, every evidence page exists, quoted sentences are on their
/// pages, the answer text is on the answer page, and levels 2–3 are not BM25 shortcuts.
#[test]
fn every_task_passes_verification_rechecked_independently() {
    let s = synth();
    let corpus = simweb_testkit::corpus(Sample::All);
    let graph = FactGraph::build(&corpus).unwrap();
    for t in &s.tasks {
        let lang = if t["lang"] == "zh" {
            Lang::Zh
        } else {
            Lang::En
        };
        let triples: Vec<Triple> = serde_json::from_value(t["formalization"].clone()).unwrap();
        let answer_var = t["answer_variable"].as_str().unwrap();
        let found = evaluate(&graph, lang, &triples, answer_var);
        assert_eq!(found.len(), 1, "not unique: {t}");

        let docs: Vec<simweb_wikidump::Document> = t["evidence"]
            .as_array()
            .unwrap()
            .iter()
            .map(|url| {
                let r = corpus
                    .resolve(url.as_str().unwrap(), None)
                    .unwrap()
                    .unwrap_or_else(|| panic!("evidence {url} is not in the corpus"));
                corpus.document(&r.doc_id).unwrap().unwrap()
            })
            .collect();
        let text = |d: &simweb_wikidump::Document| {
            d.sections
                .iter()
                .map(|s| s.text.as_str())
                .collect::<Vec<_>>()
                .join("\n")
        };
        // Each quoted sentence, its blank filled by one of the page's link anchors.
        for triple in &triples {
            if let Some(masked) = triple[1].strip_prefix(LINK_PREFIX) {
                let filled = docs.iter().any(|d| {
                    let page = text(d);
                    d.links
                        .iter()
                        .any(|l| page.contains(&masked.replacen(BLANK, l.anchor.trim(), 1)))
                });
                assert!(filled, "sentence {masked:?} is on no evidence page: {t}");
            }
        }
        let answer = t["answers"][0].as_str().unwrap();
        let last = docs.last().unwrap();
        if t["level"] == 3 {
            assert_eq!(last.title, answer, "{t}");
            assert_eq!(found[0], Binding::Entity(graph.find(lang, answer).unwrap()));
            for triple in &triples {
                if triple[1] == "in category" {
                    assert!(last.categories.contains(&triple[2]), "{t}");
                }
            }
        } else {
            assert!(
                text(last).contains(answer),
                "answer {answer:?} is not on the answer page {}: {t}",
                last.title
            );
            let hops = t["hops"].as_u64().unwrap();
            assert_eq!(triples.len() as u64, hops + 1, "{t}");
            assert_eq!(docs.len() as u64, hops + 1, "{t}");
        }
        if t["level"].as_u64().unwrap() >= 2 {
            let rank = t["difficulty"]["bm25_rank"].as_u64();
            assert!(rank.is_none_or(|r| r > 5), "BM25 shortcut: {t}");
            let hits = corpus
                .search(&simweb_wikidump::SearchQuery {
                    text: t["question"].as_str().unwrap().to_owned(),
                    top_k: 5,
                    lang: Some(lang),
                })
                .unwrap();
            assert!(
                hits.iter().all(|h| h.doc_id != last.id),
                "the answer page is in BM25's top 5: {t}"
            );
        }
    }
}

#[test]
fn same_seed_same_file_other_seed_other_tasks() {
    let s = synth();
    let dir = tempfile::tempdir().unwrap();
    // The first run cached its fact graph outside the published corpus, by snapshot.
    let corpus = simweb_wikidump::Corpus::open(&s.data).unwrap();
    let cached = simweb_tasks::facts::cache_path(s.dir.path(), corpus.snapshot_id());
    assert!(
        cached.is_file(),
        "no fact graph cached at {}",
        cached.display()
    );
    assert!(
        !s.data.join("tasks").exists(),
        "synthesis wrote into the data dir"
    );
    // This run reads that cache: the same bytes as the run that built the graph.
    let again = dir.path().join("again.jsonl");
    run_synth(&s.data, &again, "7", s.dir.path());
    assert_eq!(
        std::fs::read(&s.out).unwrap(),
        std::fs::read(&again).unwrap(),
        "same seed, different bytes"
    );
    let other = dir.path().join("other.jsonl");
    run_synth(&s.data, &other, "8", s.dir.path());
    let questions = |p: &Path| -> Vec<String> {
        read_jsonl(p)
            .iter()
            .map(|t| t["question"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_ne!(questions(&s.out), questions(&other));
}

/// A scripted agent that visits the evidence pages and answers the canonical answer
/// wins reward 1.0 on every task through `simweb rollout`.
#[test]
fn an_agent_that_visits_the_evidence_wins() {
    let s = synth();
    let dir = tempfile::tempdir().unwrap();
    let script: String = s
        .tasks
        .iter()
        .map(|t| {
            let visit = json!({"name": "visit", "arguments": {"url": t["evidence"], "goal": "the facts"}});
            let conversation = json!({
                "key": t["question"],
                "turns": [
                    format!("<think>Read the evidence.</think>\n<tool_call>\n{visit}\n</tool_call>"),
                    format!("<answer>{}</answer>", t["answers"][0].as_str().unwrap()),
                ],
            });
            format!("{conversation}\n")
        })
        .collect();
    let script_path = dir.path().join("script.jsonl");
    std::fs::write(&script_path, script).unwrap();
    let out = dir.path().join("traj.jsonl");
    let run = simweb(&[
        "rollout",
        "--data",
        s.data.to_str().unwrap(),
        "--scripted",
        script_path.to_str().unwrap(),
        "--tasks",
        s.out.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--no-python",
        "--progress-secs",
        "0",
    ]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let lines = read_jsonl(&out);
    assert_eq!(lines.len(), s.tasks.len());
    for t in &lines {
        assert_eq!(t["rewards"]["exact_match"], 1.0, "{t}");
        assert_eq!(t["rewards"]["evidence_recall"], 1.0, "{t}");
    }
}

/// A chat stand-in answering `rewrite(last message)`.
fn rewriting_server(rewrite: fn(&str) -> String) -> String {
    chat_server(move |request| {
        let last = request["messages"]
            .as_array()
            .and_then(|m| m.last())
            .and_then(|m| m["content"].as_str())
            .unwrap_or_default();
        rewrite(last)
    })
}

/// `--paraphrase` changes only the wording: formalization, answers and evidence stay;
/// a rewrite that loses a quoted span is refused and the template kept.
#[test]
fn paraphrase_rewrites_questions_and_keeps_what_they_must_say() {
    let s = synth();
    let dir = tempfile::tempdir().unwrap();
    let run = |url: &str, out: &Path| {
        let r = simweb(&[
            "tasks",
            "synth",
            "--data",
            s.data.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--n",
            "45",
            "--seed",
            "7",
            "--paraphrase",
            url,
            "--cache",
            s.dir.path().to_str().unwrap(),
        ]);
        assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
        read_jsonl(out)
    };
    let faithful = run(
        &rewriting_server(|q| format!("Please answer this: {q}")),
        &dir.path().join("faithful.jsonl"),
    );
    let lossy = run(
        &rewriting_server(|q| q.replace(['"', '「', '」'], "")),
        &dir.path().join("lossy.jsonl"),
    );
    assert_eq!(faithful.len(), s.tasks.len());
    for ((template, good), bad) in s.tasks.iter().zip(&faithful).zip(&lossy) {
        let q = template["question"].as_str().unwrap();
        assert_eq!(good["question"], format!("Please answer this: {q}"));
        for key in [
            "id",
            "answers",
            "formalization",
            "evidence",
            "level",
            "lang",
        ] {
            assert_eq!(good[key], template[key], "{key} changed");
            assert_eq!(bad[key], template[key], "{key} changed");
        }
        if q.contains('"') || q.contains('「') {
            assert_eq!(
                bad["question"], template["question"],
                "a lossy rewrite was kept"
            );
        }
    }
}
