//! The `simweb` binary's corpus and tool commands as a user runs them: real dumps in,
//! real index and store out, clear errors (and nothing published) on bad input.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use super::support::simweb;
use serde_json::Value;
use simweb_testkit::{sample, ENWIKI, ZHWIKI, ZIM};

fn ok(args: &[&str]) -> String {
    let out = simweb(args);
    assert!(
        out.status.success(),
        "simweb {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn ingest(out: &Path, inputs: &[PathBuf]) -> Output {
    let mut args = vec![
        "ingest".to_string(),
        "--out".into(),
        out.display().to_string(),
    ];
    args.extend(inputs.iter().map(|p| p.display().to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    simweb(&args)
}

#[test]
fn ingest_stats_get_search_and_tool_over_the_real_dumps() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("corpus");
    let inputs = [sample(ENWIKI), sample(ZIM), sample(ZHWIKI)];
    let out = ingest(&data, &inputs);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        data.display().to_string()
    );
    let data = data.to_str().unwrap();

    let stats: Value =
        serde_json::from_str(&ok(&["corpus", "stats", "--data", data, "--json"])).unwrap();
    let snapshot = stats["snapshot_id"].as_str().unwrap();
    assert_eq!(snapshot.len(), 64, "{stats}");
    let human = ok(&["corpus", "stats", "--data", data]);
    assert!(
        human.contains(snapshot) && human.contains("en, zh"),
        "{human}"
    );

    // A title, a redirect and a URL with a fragment all reach the page.
    let page = ok(&["corpus", "get", "--data", data, "Albedo"]);
    assert!(
        page.starts_with("# Albedo\nhttps://en.wikipedia.org/wiki/Albedo\n"),
        "{page}"
    );
    assert!(page.contains("sunlight"), "{page}");
    let by_url = ok(&[
        "corpus",
        "get",
        "--data",
        data,
        "https://en.wikipedia.org/wiki/Albedo",
    ]);
    assert_eq!(by_url, page);
    let doc: Value = serde_json::from_str(&ok(&[
        "corpus",
        "get",
        "--data",
        data,
        "--json",
        "Ray Charles",
    ]))
    .unwrap();
    assert_eq!(doc["title"], "Ray Charles");
    let all: String = doc["sections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["text"].as_str().unwrap())
        .collect();
    assert!(
        !all.contains("This article is issued from"),
        "ZIM footer leaked: {all}"
    );

    // Search: each URL once (the ZIM's stored copy of a redirect is a redirect).
    let hits: Value = serde_json::from_str(&ok(&[
        "search",
        "--data",
        data,
        "--json",
        "--top-k",
        "10",
        "Ray Charles",
    ]))
    .unwrap();
    let urls: Vec<&str> = hits
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["url"].as_str().unwrap())
        .collect();
    assert_eq!(
        urls[0], "https://en.wikipedia.org/wiki/Ray_Charles",
        "{urls:?}"
    );
    let mut unique = urls.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(unique.len(), urls.len(), "duplicate hits: {urls:?}");
    let zh: Value =
        serde_json::from_str(&ok(&["search", "--data", data, "--json", "数学"])).unwrap();
    assert!(
        zh[0]["url"]
            .as_str()
            .unwrap()
            .starts_with("https://zh.wikipedia.org/wiki/"),
        "{zh}"
    );

    // Export: every passage once, in both layouts; Search-R1's wiki-18 layout ingests
    // back as one document per passage and finds the same page first.
    let passages_total = stats["totals"]["passages"].as_u64().unwrap();
    for format in ["wiki18", "passages"] {
        let file = dir.path().join(format!("{format}.jsonl"));
        let path = file.to_str().unwrap();
        ok(&[
            "corpus", "export", "--data", data, "--format", format, "--out", path,
        ]);
        let text = std::fs::read_to_string(&file).unwrap();
        assert_eq!(text.lines().count() as u64, passages_total, "{format}");
        let first: Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
        if format == "wiki18" {
            assert_eq!(first["id"], "0");
            assert!(
                first["contents"].as_str().unwrap().starts_with('"'),
                "{first}"
            );
        } else {
            assert!(first["id"].as_str().unwrap().ends_with("#0"), "{first}");
        }
    }
    let again = dir.path().join("from-wiki18");
    let out = ingest(&again, &[dir.path().join("wiki18.jsonl")]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let again = again.to_str().unwrap();
    let re: Value =
        serde_json::from_str(&ok(&["corpus", "stats", "--data", again, "--json"])).unwrap();
    assert_eq!(re["totals"]["articles"].as_u64(), Some(passages_total));
    let top: Value = serde_json::from_str(&ok(&[
        "search",
        "--data",
        again,
        "--json",
        "--lang",
        "en",
        "Ray Charles",
    ]))
    .unwrap();
    assert_eq!(top[0]["title"], "Ray Charles", "{top}");

    // The agent-facing tool text, byte-identical across runs.
    let args = r#"{"query":["Ray Charles"]}"#;
    let first = ok(&["tool", "search", args, "--data", data]);
    assert!(
        first.starts_with("A Google search for 'Ray Charles' found"),
        "{first}"
    );
    assert_eq!(ok(&["tool", "search", args, "--data", data]), first);
    // One OpenAI function schema per line.
    let names: Vec<String> = ok(&["tool", "list", "--data", data])
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["function"]["name"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(names[..2], ["search", "visit"], "{names:?}");

    // Piped into a reader that has already gone (`| true` closes the pipe before the
    // corpus is open), a printing command ends quietly instead of panicking.
    let piped = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "'{}' corpus get --data '{data}' 'Ray Charles' | true",
            env!("CARGO_BIN_EXE_simweb")
        ))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&piped.stderr);
    assert!(
        !stderr.contains("panicked") && !stderr.contains("Broken pipe"),
        "{stderr}"
    );

    // A second ingest over the same dir replaces it atomically.
    let again = ingest(Path::new(data), &inputs[..1]);
    assert!(
        again.status.success(),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    let stats2: Value =
        serde_json::from_str(&ok(&["corpus", "stats", "--data", data, "--json"])).unwrap();
    assert_ne!(stats2["snapshot_id"], stats["snapshot_id"]);
}

#[test]
fn a_truncated_dump_fails_clearly_and_leaves_the_published_corpus_alone() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("corpus");
    let good = sample(ZHWIKI);
    assert!(ingest(&data, std::slice::from_ref(&good)).status.success());
    let before = ok(&[
        "corpus",
        "stats",
        "--data",
        data.to_str().unwrap(),
        "--json",
    ]);

    let bytes = std::fs::read(&good).unwrap();
    let truncated = dir.path().join("truncated.xml");
    std::fs::write(&truncated, &bytes[..bytes.len() * 2 / 3]).unwrap();
    let out = ingest(&data, std::slice::from_ref(&truncated));
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("truncated.xml"),
        "the error names the file: {err}"
    );
    assert!(err.contains("nothing was published"), "{err}");
    assert_eq!(
        ok(&[
            "corpus",
            "stats",
            "--data",
            data.to_str().unwrap(),
            "--json"
        ]),
        before
    );

    let missing = simweb(&[
        "corpus",
        "stats",
        "--data",
        dir.path().join("nope").to_str().unwrap(),
    ]);
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("nope"));
}

#[test]
fn python_runs_in_the_sandbox_and_hostile_code_gets_a_clean_error() {
    let out = ok(&["python", "-c", "print(sum(range(10)))"]);
    assert_eq!(out, "45\n");
    let hostile = simweb(&["python", "-c", "open('/etc/passwd').read()"]);
    assert!(!hostile.status.success());
    let err = String::from_utf8_lossy(&hostile.stderr);
    assert!(err.contains("Error"), "{err}");
}

/// `ingest --dense`, then `search --mode dense|hybrid` (pages and `--passages`), and the
/// message a corpus without a dense index gives; `index dense` again resumes nothing and
/// republishes the same index.
#[test]
fn ingest_dense_then_search_every_mode() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("corpus");
    let data_s = data.display().to_string();
    let zim = sample(ZIM).display().to_string();
    ok(&["ingest", "--dense", "--out", &data_s, &zim]);
    let meta: Value =
        serde_json::from_slice(&std::fs::read(data.join("dense/dense.json")).unwrap()).unwrap();
    assert!(meta["count"].as_u64().unwrap() > 100, "{meta}");

    let query = "live album recorded at a college stadium in Georgia";
    for mode in ["bm25", "dense", "hybrid"] {
        let hits: Value = serde_json::from_str(&ok(&[
            "search", "--data", &data_s, "--mode", mode, "--json", "--top-k", "3", query,
        ]))
        .unwrap();
        assert_eq!(hits.as_array().unwrap().len(), 3, "{mode}: {hits}");
        let passages: Value = serde_json::from_str(&ok(&[
            "search",
            "--data",
            &data_s,
            "--mode",
            mode,
            "--passages",
            "--json",
            "--top-k",
            "2",
            query,
        ]))
        .unwrap();
        assert_eq!(passages.as_array().unwrap().len(), 2, "{mode}: {passages}");
        assert!(passages[0]["text"].as_str().unwrap().len() > 50);
    }
    let dense: Value = serde_json::from_str(&ok(&[
        "search", "--data", &data_s, "--mode", "dense", "--json", "--top-k", "3", query,
    ]))
    .unwrap();
    assert!(
        dense.as_array().unwrap().iter().any(|h| h["title"]
            .as_str()
            .unwrap()
            .to_lowercase()
            .contains("in person")),
        "{dense}"
    );

    // Rebuilding publishes the same index (same snapshot, model and chunking).
    let again: Value =
        serde_json::from_str(&ok(&["index", "dense", "--data", &data_s, "--json"])).unwrap();
    assert_eq!(again["meta"], meta);
    // Published by swapping the `dense` symlink; the replaced directory is gone.
    assert!(data.join("dense").is_symlink());
    let published: Vec<String> = std::fs::read_dir(&data)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("dense"))
        .collect();
    assert_eq!(published.len(), 2, "{published:?}");

    let plain = simweb_testkit::corpus_dir(simweb_testkit::Sample::RayCharles);
    let out = simweb(&[
        "search",
        "--data",
        &plain.display().to_string(),
        "--mode",
        "hybrid",
        "soul",
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("dense.json") && err.contains("simweb index dense"),
        "{err}"
    );
}
