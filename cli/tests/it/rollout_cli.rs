//! `simweb rollout` as a user runs it: a scripted policy over a freshly ingested corpus,
//! a GRPO group per task, trajectories + summary on disk, and a rerun that resumes.

use std::path::Path;

use super::support::simweb;
use serde_json::{json, Value};

fn write_jsonl(path: &Path, rows: &[Value]) {
    let text: String = rows.iter().map(|r| format!("{r}\n")).collect();
    std::fs::write(path, text).unwrap();
}

fn tool_call(name: &str, arguments: Value) -> String {
    format!(
        "<tool_call>\n{}\n</tool_call>",
        json!({"name": name, "arguments": arguments})
    )
}

#[test]
fn scripted_rollout_writes_scored_trajectories_and_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("corpus");
    let zim = simweb_testkit::sample(simweb_testkit::ZIM);
    let ingest = simweb(&[
        "ingest",
        "--out",
        data.to_str().unwrap(),
        zim.to_str().unwrap(),
    ]);
    assert!(
        ingest.status.success(),
        "{}",
        String::from_utf8_lossy(&ingest.stderr)
    );

    let tasks = dir.path().join("tasks.jsonl");
    write_jsonl(
        &tasks,
        &[
            json!({"id": "born", "question": "In which year was Ray Charles born?", "answers": ["1930"]}),
            json!({"id": "label", "question": "Which record label released The Great Ray Charles?", "answers": ["Atlantic Records", "Atlantic"]}),
        ],
    );
    // Keyed by a substring of each question; the second policy answers wrongly.
    let script = dir.path().join("script.jsonl");
    write_jsonl(
        &script,
        &[
            json!({"key": "Ray Charles born", "turns": [
                format!("<think>Search first.</think>\n{}", tool_call("search", json!({"query": ["Ray Charles"]}))),
                "<think>The lead gives 1930.</think>\n<answer>1930</answer>".to_string(),
            ]}),
            json!({"key": "record label", "turns": [
                format!("<think>Visit it.</think>\n{}", tool_call("visit", json!({"url": ["https://en.wikipedia.org/wiki/The_Great_Ray_Charles"], "goal": "label"}))),
                "<answer>Decca</answer>".to_string(),
            ]}),
        ],
    );
    let out = dir.path().join("traj.jsonl");
    let args = [
        "rollout",
        "--data",
        data.to_str().unwrap(),
        "--scripted",
        script.to_str().unwrap(),
        "--tasks",
        tasks.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--samples",
        "2",
        "--seed",
        "7",
        "--no-python",
        "--progress-secs",
        "0",
    ];
    let run = simweb(&args);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );

    let lines: Vec<Value> = std::fs::read_to_string(&out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let pairs: Vec<(String, u64)> = lines
        .iter()
        .map(|t| {
            (
                t["task_id"].as_str().unwrap().to_string(),
                t["sample"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        pairs,
        [
            ("born".into(), 0),
            ("born".into(), 1),
            ("label".into(), 0),
            ("label".into(), 1)
        ]
    );
    for t in &lines {
        assert_eq!(t["termination"], "answer", "{t}");
        assert_eq!(t["num_tool_calls"], 1, "{t}");
        assert_eq!(t["snapshot_id"].as_str().unwrap().len(), 64);
        let expected = if t["task_id"] == "born" { 1.0 } else { 0.0 };
        assert_eq!(t["rewards"]["exact_match"], expected, "{t}");
        // The tool result reached the model as a <tool_response> user turn.
        let messages = t["messages"].as_array().unwrap();
        assert!(
            messages.iter().any(|m| m["role"] == "user"
                && m["content"]
                    .as_str()
                    .unwrap()
                    .starts_with("<tool_response>\n")),
            "{t}"
        );
    }
    // Different samples of a task get different seeds.
    assert_ne!(lines[0]["seed"], lines[1]["seed"]);

    let summary: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("traj.jsonl.summary.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(summary["pass_at_1"], 0.5, "{summary}");
    assert_eq!(summary["pass_at_k"], 0.5, "{summary}");

    // A rerun finds every pair done and appends nothing.
    let before = std::fs::read(&out).unwrap();
    let again = simweb(&args);
    assert!(
        again.status.success(),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    assert_eq!(std::fs::read(&out).unwrap(), before);

    // Tasks that are not JSON objects are refused with the line number.
    std::fs::write(
        &tasks,
        "{\"id\": \"a\", \"question\": \"q\", \"answers\": []}\nnot json\n",
    )
    .unwrap();
    let bad = simweb(&args);
    assert!(!bad.status.success());
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(err.contains("tasks.jsonl:2: not JSON"), "{err}");
}
