//! `rollout::curate` over real rollouts: a policy whose samples disagree (the per-sample
//! stand-in of `rollout_support`) plays real tools over the sample corpus; curation must
//! keep exactly the mixed-outcome tasks, count the rest, and turn correct trajectories
//! into SFT lines whose loss mask covers exactly the assistant turns.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::{json, Value};
use simweb_policy::rollout::{
    curate, read_task_lines, read_tasks, CurateOptions, Metric, Paradigm, PerTask, RolloutRunner,
    SftOptions, Trajectory,
};

use super::rollout_support::*;

/// Each task's first word is its key. ReAct: search first, then answer; "same" sample 1
/// searches twice, sample 2 answers at length. IterResearch: the workspace shows whether
/// a first action happened.
fn reply(question: &str, sample: usize, turn: usize) -> String {
    let key = question.split(':').next().unwrap_or("");
    let iter = question.contains("<report>");
    let step = if iter {
        usize::from(question.contains("<last_action>"))
    } else {
        turn
    };
    let report = if iter {
        "<report>\nborn 1930\n</report>\n"
    } else {
        ""
    };
    let search = format!(
        "{}{report}{}",
        think("Search."),
        call("search", json!({"query": ["Ray Charles"]}))
    );
    let answer = |a: &str| format!("{}{report}<answer>{a}</answer>", think("Done."));
    match (key, sample, step) {
        (_, _, 0) => search,
        ("mixed", s, _) if s.is_multiple_of(2) => answer("1930"),
        ("mixed", _, _) => answer("1931"),
        ("cut", 0, _) => answer("1930"),
        ("cut", _, _) => search,
        ("never", _, _) => answer("1931"),
        ("same", 1, 1) => search,
        ("same", 2, _) => format!(
            "{}{report}<answer>1930</answer>",
            think(&"Weighing it all. ".repeat(40))
        ),
        _ => answer("1930"),
    }
}

/// Task lines with extra fields, a numeric id, and a task that was never rolled out.
const TASKS: &str = r#"{"id": "mixed", "question": "mixed: when was Ray Charles born?", "answers": ["1930"], "level": 1, "lang": "en", "formalization": {"subject": "Ray Charles"}}
{"question": "cut: when was Ray Charles born?", "id": 7, "answers": ["1930"], "level": 2, "lang": "zh"}
{"id": "same", "question": "same: when was Ray Charles born?", "answers": ["1930"], "level": 1}
{"id": "never", "question": "never: when was Ray Charles born?", "answers": ["1930"], "level": 3}
{"id": "absent", "question": "absent: not rolled out", "answers": ["x"]}
"#;

async fn rollout(dir: &Path, paradigm: Paradigm, ids: &[&str]) -> PathBuf {
    let all = dir.join("tasks.jsonl");
    std::fs::write(&all, TASKS).unwrap();
    let tasks: Vec<_> = read_tasks(&all)
        .unwrap()
        .into_iter()
        .filter(|t| ids.contains(&t.id.as_str()))
        .collect();
    let mut cfg = config(paradigm, 4, 4);
    cfg.agent.max_turns = 3;
    let backend = PerSample::new(cfg.seed, ids, 4, 3, reply);
    let out = dir.join(format!("{paradigm:?}.jsonl"));
    RolloutRunner::new(Arc::new(backend), toolbox(false), cfg, None)
        .run(&tasks, &out)
        .await
        .unwrap();
    out
}

fn lines(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn curation_keeps_mixed_outcome_tasks_and_writes_masked_sft_lines() {
    let dir = tempfile::tempdir().unwrap();
    let traj = rollout(
        dir.path(),
        Paradigm::React,
        &["mixed", "7", "same", "never"],
    )
    .await;
    let tasks = read_task_lines(&dir.path().join("tasks.jsonl")).unwrap();
    let trajectories: Vec<Trajectory> = std::fs::read_to_string(&traj)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let em: Vec<f64> = trajectories.iter().map(|t| t.rewards.exact_match).collect();
    assert_eq!(
        em,
        [1., 0., 1., 0., 1., 0., 0., 0., 1., 1., 1., 1., 0., 0., 0., 0.]
    );

    let options = CurateOptions {
        sft: Some(SftOptions {
            per_task: PerTask::All,
            ..SftOptions::default()
        }),
        ..CurateOptions::default()
    };
    let mut curation = curate(&tasks, &traj, &options).unwrap();
    // Exactly the mixed-outcome tasks, as their original lines plus pass rate and size.
    let kept = curation.kept_lines().to_vec();
    assert_eq!(
        kept,
        [
            format!("{},\"pass_rate\":0.5,\"samples\":4}}", TASKS.lines().next().unwrap().strip_suffix('}').unwrap()),
            r#"{"question": "cut: when was Ray Charles born?", "id": 7, "answers": ["1930"], "level": 2, "lang": "zh","pass_rate":0.25,"samples":4}"#.to_string(),
        ]
    );
    let r = &curation.report;
    let c = &r.counts;
    assert_eq!((r.trajectories, r.unknown_task_trajectories), (16, 0));
    assert_eq!(
        (c.tasks, c.with_trajectories, c.without_trajectories),
        (5, 4, 1)
    );
    assert_eq!((c.all_solved, c.none_solved, c.kept), (1, 1, 2));
    let bins: Vec<usize> = c.histogram.iter().map(|b| b.tasks).collect();
    assert_eq!(bins, [1, 0, 1, 0, 0, 1, 0, 0, 0, 1]);
    assert!((c.mean_pass_rate - (0.5 + 0.25 + 1.0) / 4.0).abs() < 1e-12);
    let level = |k: &str| {
        let g = &r.by_level[k];
        (g.tasks, g.all_solved, g.none_solved, g.kept)
    };
    assert_eq!(level("1"), (2, 1, 0, 1));
    assert_eq!(level("2"), (1, 0, 0, 1));
    assert_eq!(level("3"), (1, 0, 1, 0));
    assert_eq!(
        r.by_level.len(),
        3,
        "the task without a level is in no bucket"
    );
    assert_eq!(r.by_lang["en"].kept, 1);
    assert_eq!(r.by_lang["zh"].kept, 1);

    // SFT: every correct trajectory (7), each the whole ReAct conversation.
    let sft_path = dir.path().join("sft.jsonl");
    curation.write_sft(&traj, &sft_path).unwrap();
    let sft = curation.report.sft.clone().unwrap();
    assert_eq!(
        (sft.correct, sft.trajectories, sft.tasks, sft.examples),
        (7, 7, 3, 7)
    );
    let examples = lines(&sft_path);
    let pairs: Vec<(String, u64)> = examples
        .iter()
        .map(|e| {
            (
                e["task_id"].as_str().unwrap().into(),
                e["sample"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        pairs,
        [
            ("mixed".into(), 0),
            ("mixed".into(), 2),
            ("7".into(), 0),
            ("same".into(), 0),
            ("same".into(), 1),
            ("same".into(), 2),
            ("same".into(), 3)
        ]
    );
    for e in &examples {
        let t = trajectories
            .iter()
            .find(|t| t.task_id == e["task_id"] && t.sample as u64 == e["sample"])
            .unwrap();
        let messages = e["messages"].as_array().unwrap();
        assert_eq!(messages.len(), t.episode.messages.len());
        for (m, original) in messages.iter().zip(&t.episode.messages) {
            assert_eq!(m["content"], original.content.as_str());
            let assistant = m["role"] == "assistant";
            assert_eq!(m["loss"], assistant, "loss exactly on assistant turns: {m}");
        }
        // System, question, then the model and the tool responses (user turns) alternate.
        assert_eq!(messages[0]["role"], "system");
        assert_eq!(messages[1]["role"], "user");
        assert!(messages[3]["content"]
            .as_str()
            .unwrap()
            .starts_with("<tool_response>"));
        assert_eq!(messages.last().unwrap()["loss"], true);
    }

    // The filters: at least 2 tool calls leaves "same" sample 1 alone; a token cap drops
    // the long answer of "same" sample 2; one per task takes the first by sample index.
    let filtered = |sft: SftOptions| {
        let mut c = curate(
            &tasks,
            &traj,
            &CurateOptions {
                sft: Some(sft),
                ..CurateOptions::default()
            },
        )
        .unwrap();
        let path = dir.path().join("filtered.jsonl");
        c.write_sft(&traj, &path).unwrap();
        let written: Vec<(String, u64)> = lines(&path)
            .iter()
            .map(|e| {
                (
                    e["task_id"].as_str().unwrap().into(),
                    e["sample"].as_u64().unwrap(),
                )
            })
            .collect();
        (c.report.sft.unwrap(), written)
    };
    let (report, written) = filtered(SftOptions {
        min_tool_calls: 2,
        per_task: PerTask::All,
        ..SftOptions::default()
    });
    assert_eq!(written, [("same".to_string(), 1)]);
    assert_eq!(report.fewer_tool_calls, 6);
    let long = trajectories[10].completion_tokens();
    assert!(trajectories
        .iter()
        .enumerate()
        .all(|(i, t)| i == 10 || t.completion_tokens() < long));
    let (report, written) = filtered(SftOptions {
        max_tokens: Some(long - 1),
        per_task: PerTask::All,
        ..SftOptions::default()
    });
    assert_eq!(report.too_many_tokens, 1);
    assert!(!written.contains(&("same".to_string(), 2)));
    assert_eq!(written.len(), 6);
    let (report, written) = filtered(SftOptions {
        min_tool_calls: 1,
        max_tokens: Some(long - 1),
        per_task: PerTask::One,
    });
    assert_eq!(
        written,
        [
            ("mixed".to_string(), 0),
            ("7".to_string(), 0),
            ("same".to_string(), 0)
        ]
    );
    assert_eq!(report.beyond_one_per_task, 3);

    // Another metric and threshold: with F1 >= 0 every sample solves its task, so no
    // group is mixed.
    let everything = curate(
        &tasks,
        &traj,
        &CurateOptions {
            metric: Metric::F1,
            threshold: 0.0,
            sft: None,
        },
    )
    .unwrap();
    assert_eq!(everything.report.counts.all_solved, 4);
    assert!(everything.kept_lines().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn iter_research_trajectories_give_one_sft_example_per_round() {
    let dir = tempfile::tempdir().unwrap();
    let traj = rollout(dir.path(), Paradigm::IterResearch, &["mixed"]).await;
    let tasks = read_task_lines(&dir.path().join("tasks.jsonl")).unwrap();
    let mut curation = curate(
        &tasks,
        &traj,
        &CurateOptions {
            sft: Some(SftOptions::default()),
            ..CurateOptions::default()
        },
    )
    .unwrap();
    assert_eq!(curation.report.counts.kept, 1);
    let sft_path = dir.path().join("sft.jsonl");
    curation.write_sft(&traj, &sft_path).unwrap();
    let examples = lines(&sft_path);
    // Sample 0 (the first correct one): a search round and an answer round.
    assert_eq!(examples.len(), 2);
    assert_eq!(curation.report.sft.as_ref().unwrap().examples, 2);
    for (round, e) in examples.iter().enumerate() {
        assert_eq!(e["round"], round);
        assert_eq!(e["sample"], 0);
        let roles: Vec<&str> = e["messages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["role"].as_str().unwrap())
            .collect();
        assert_eq!(roles, ["system", "user", "assistant"]);
        let loss: Vec<bool> = e["messages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["loss"].as_bool().unwrap())
            .collect();
        assert_eq!(loss, [false, false, true]);
    }
    assert!(examples[1]["messages"][1]["content"]
        .as_str()
        .unwrap()
        .contains("<last_action>"));
    assert!(examples[1]["messages"][2]["content"]
        .as_str()
        .unwrap()
        .contains("<answer>1930</answer>"));
}

#[test]
fn malformed_trajectories_and_missing_verdicts_name_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let tasks_path = dir.path().join("tasks.jsonl");
    std::fs::write(&tasks_path, TASKS).unwrap();
    let tasks = read_task_lines(&tasks_path).unwrap();
    let traj = dir.path().join("traj.jsonl");
    std::fs::write(&traj, "\n{\"task_id\": \"mixed\"}\n").unwrap();
    let err = curate(&tasks, &traj, &CurateOptions::default())
        .unwrap_err()
        .to_string();
    assert!(err.contains("traj.jsonl:2: not a trajectory"), "{err}");
    let missing = curate(
        &tasks,
        &dir.path().join("nope.jsonl"),
        &CurateOptions::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(missing.contains("nope.jsonl:0:"), "{missing}");
}
