//! `simweb tasks curate` as a user runs it: `simweb rollout --samples 4` against a
//! stand-in OpenAI-compatible server whose samples disagree, then curation of the task
//! file by the trajectories: kept tasks, the report (table and JSON) and the SFT set.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{json, Value};
use simweb_policy::rollout::seed::{call_seed, sample_seed};

use super::support::{chat_server, simweb};

const SEED: u64 = 5;
const SAMPLES: usize = 4;
const MAX_TURNS: usize = 3;

/// Task lines as a user might have them: extra fields, a numeric id, a task never rolled out.
const TASKS: &str = r#"{"id": "mixed", "question": "mixed: In which year was Ray Charles born?", "answers": ["1930"], "level": 1, "lang": "en"}
{"id": 7, "question": "same: In which year was Ray Charles born?", "answers": ["1930"], "level": 2, "lang": "en"}
{"id": "never", "question": "never: In which year was Ray Charles born?", "answers": ["1930"], "level": 2}
"#;
const ABSENT: &str =
    r#"{"id": "absent", "question": "absent: not rolled out", "answers": ["x"], "level": 1}"#;

/// The policy: search, then answer; "mixed" right on even samples, "never" always wrong.
fn reply(question: &str, sample: usize, turn: usize) -> String {
    let key = question.split(':').next().unwrap_or("");
    if turn == 0 {
        return format!(
            "<think>\nSearch.\n</think>\n\n<tool_call>\n{}\n</tool_call>",
            json!({"name": "search", "arguments": {"query": ["Ray Charles"]}})
        );
    }
    let answer = match key {
        "mixed" if sample.is_multiple_of(2) => "1930",
        "mixed" | "never" => "1931",
        _ => "1930",
    };
    format!("<think>\nDone.\n</think>\n\n<answer>{answer}</answer>")
}

/// A stand-in for an OpenAI-compatible model server: recovers the sample from the
/// request's seed (the rollout derives it from run seed, task id, sample and call).
fn policy_server() -> String {
    let mut samples = BTreeMap::new();
    for task in ["mixed", "7", "never"] {
        for s in 0..SAMPLES {
            for call in 0..MAX_TURNS {
                samples.insert(call_seed(sample_seed(SEED, task, s), 0, call), s);
            }
        }
    }
    chat_server(move |request| {
        let messages = request["messages"].as_array().cloned().unwrap_or_default();
        let question = messages
            .iter()
            .find(|m| m["role"] == "user")
            .and_then(|m| m["content"].as_str())
            .unwrap_or_default();
        let turn = messages.iter().filter(|m| m["role"] == "assistant").count();
        let sample = request["seed"]
            .as_u64()
            .and_then(|s| samples.get(&s))
            .copied()
            .unwrap_or(usize::MAX);
        reply(question, sample, turn)
    })
}

fn ok(output: std::process::Output) -> String {
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

fn jsonl(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn rollout_groups_then_curate_keeps_mixed_tasks_and_writes_the_sft_set() {
    let dir = tempfile::tempdir().unwrap();
    let p = |name: &str| dir.path().join(name);
    let zim = simweb_testkit::sample(simweb_testkit::ZIM);
    ok(simweb(&[
        "ingest",
        "--out",
        p("corpus").to_str().unwrap(),
        zim.to_str().unwrap(),
    ]));
    std::fs::write(p("rollout-tasks.jsonl"), TASKS).unwrap();
    std::fs::write(p("tasks.jsonl"), format!("{TASKS}{ABSENT}\n")).unwrap();
    let url = policy_server();
    let (samples, seed, turns) = (SAMPLES.to_string(), SEED.to_string(), MAX_TURNS.to_string());
    ok(simweb(&[
        "rollout",
        "--data",
        p("corpus").to_str().unwrap(),
        "--openai",
        &url,
        "--tasks",
        p("rollout-tasks.jsonl").to_str().unwrap(),
        "--out",
        p("traj.jsonl").to_str().unwrap(),
        "--samples",
        &samples,
        "--seed",
        &seed,
        "--max-turns",
        &turns,
        "--no-python",
        "--progress-secs",
        "0",
    ]));
    // The GRPO fields of the rollout (issue #12, part B).
    let lines = jsonl(&p("traj.jsonl"));
    let advantages: Vec<f64> = lines
        .iter()
        .map(|l| l["advantage"].as_f64().unwrap())
        .collect();
    let third = 1.0 / 3.0;
    for (a, e) in advantages.iter().zip([
        2.0 * third,
        -2.0 * third,
        2.0 * third,
        -2.0 * third,
        0.0,
        0.0,
        0.0,
        0.0,
        0.0,
        0.0,
        0.0,
        0.0,
    ]) {
        assert!((a - e).abs() < 1e-12, "{advantages:?}");
    }
    assert!(lines
        .iter()
        .all(|l| l["group"] == l["task_id"] && l["group_size"] == 4));
    let summary: Value =
        serde_json::from_str(&std::fs::read_to_string(p("traj.jsonl.summary.json")).unwrap())
            .unwrap();
    assert_eq!(summary["zero_variance_group_count"], 2, "{summary}");

    let table = ok(simweb(&[
        "tasks",
        "curate",
        "--tasks",
        p("tasks.jsonl").to_str().unwrap(),
        "--trajectories",
        p("traj.jsonl").to_str().unwrap(),
        "--sft",
        p("sft.jsonl").to_str().unwrap(),
        "--sft-min-tool-calls",
        "1",
    ]));
    // Defaults: <tasks>.curated.jsonl and <out>.report.json.
    let curated = std::fs::read_to_string(p("tasks.curated.jsonl")).unwrap();
    assert_eq!(
        curated,
        format!(
            "{},\"pass_rate\":0.5,\"samples\":4}}\n",
            TASKS.lines().next().unwrap().strip_suffix('}').unwrap()
        )
    );
    let report: Value = serde_json::from_str(
        &std::fs::read_to_string(p("tasks.curated.jsonl.report.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(report["tasks"], 4, "{report}");
    assert_eq!(report["with_trajectories"], 3);
    assert_eq!(report["without_trajectories"], 1);
    assert_eq!(report["all_solved"], 1);
    assert_eq!(report["none_solved"], 1);
    assert_eq!(report["kept"], 1);
    assert_eq!(report["histogram"][5]["tasks"], 1);
    assert_eq!(report["by_level"]["1"]["without_trajectories"], 1);
    assert_eq!(report["by_level"]["2"]["all_solved"], 1);
    assert_eq!(report["by_lang"]["en"]["tasks"], 2);
    assert!(table.contains("mixed 1 (kept)"), "{table}");
    assert!(table.contains("level"), "{table}");

    // SFT: the first correct trajectory of each task; loss only on assistant turns.
    let sft = jsonl(&p("sft.jsonl"));
    let pairs: Vec<(&str, u64)> = sft
        .iter()
        .map(|e| {
            (
                e["task_id"].as_str().unwrap(),
                e["sample"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(pairs, [("mixed", 0), ("7", 0)]);
    assert_eq!(report["sft"]["correct"], 6);
    assert_eq!(report["sft"]["beyond_one_per_task"], 4);
    for e in &sft {
        for m in e["messages"].as_array().unwrap() {
            assert_eq!(m["loss"], m["role"] == "assistant", "{m}");
        }
    }

    // Malformed input names the file and line; an output over an input is refused.
    std::fs::write(
        p("bad.jsonl"),
        format!(
            "{}\nnot json\n",
            std::fs::read_to_string(p("traj.jsonl"))
                .unwrap()
                .lines()
                .next()
                .unwrap()
        ),
    )
    .unwrap();
    let bad = simweb(&[
        "tasks",
        "curate",
        "--tasks",
        p("tasks.jsonl").to_str().unwrap(),
        "--trajectories",
        p("bad.jsonl").to_str().unwrap(),
    ]);
    assert!(!bad.status.success());
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(err.contains("bad.jsonl:2: not a trajectory"), "{err}");
    let over = simweb(&[
        "tasks",
        "curate",
        "--tasks",
        p("tasks.jsonl").to_str().unwrap(),
        "--trajectories",
        p("traj.jsonl").to_str().unwrap(),
        "--out",
        p("tasks.jsonl").to_str().unwrap(),
    ]);
    assert!(!over.status.success());
    assert!(String::from_utf8_lossy(&over.stderr).contains("would overwrite an input"));
}
