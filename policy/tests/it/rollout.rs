//! Rollouts end to end over real components: the ingested Ray Charles corpus, the real
//! tools and tool layer, the real WebAssembly sandbox for Python, the real Qwen tokenizer
//! and chat template; the policy is a script (deterministic, known answers).

use std::sync::Arc;

use serde_json::{json, Value};
use simweb_policy::rollout::iter_research::EMPTY_REPORT;
use simweb_policy::rollout::output::TrajectoryFile;
use simweb_policy::rollout::runner::summary_path;
use simweb_policy::rollout::{
    read_tasks, Paradigm, RolloutConfig, RolloutRunner, Termination, Trajectory,
};
use simweb_policy::{ChatBackend, LocalModel, ScriptedConversation};
use simweb_tools::react::{
    Role, FORCED_ANSWER_MESSAGE, INVALID_TOOL_CALL_OBSERVATION, PYTHON_FORMAT_ERROR_OBSERVATION,
};

use super::rollout_support::*;

const QUESTION: &str = "In which year was the singer Ray Charles born?";
const RAY_URL: &str = "https://en.wikipedia.org/wiki/Ray_Charles";

fn react_script() -> ScriptedConversation {
    conv(
        QUESTION,
        &[
            &format!(
                "{}{}",
                think("I should search for Ray Charles."),
                call("search", json!({"query": ["Ray Charles"]}))
            ),
            &format!(
                "{}{}",
                think("The article should give his birth date."),
                call("visit", json!({"url": [RAY_URL], "goal": "Ray Charles's date of birth"}))
            ),
            &format!(
                "{}<tool_call>\n{{\"name\": \"PythonInterpreter\", \"arguments\": {{}}}}\n<code>\nprint(2004 - 1930)\n</code>\n</tool_call>",
                think("Born 1930; he died in 2004. Check his age at death.")
            ),
            &format!(
                "{}<answer>1930</answer>",
                think("He was born on September 23, 1930.")
            ),
        ],
    )
}

async fn run(
    backend: impl ChatBackend + 'static,
    with_python: bool,
    config: RolloutConfig,
    tasks: &[Value],
) -> (tempfile::TempDir, Vec<Trajectory>) {
    let dir = tempfile::tempdir().unwrap();
    let tasks_path = write_tasks(dir.path(), tasks);
    let out = dir.path().join("traj.jsonl");
    let runner = RolloutRunner::new(Arc::new(backend), toolbox(with_python), config, None);
    runner
        .run(&read_tasks(&tasks_path).unwrap(), &out)
        .await
        .unwrap();
    let trajectories = std::fs::read_to_string(&out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (dir, trajectories)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn react_episode_searches_visits_runs_python_and_answers() {
    let task =
        json!({"id": "ray", "question": QUESTION, "answers": ["1930"], "evidence": [RAY_URL]});
    let (dir, trajectories) = run(
        scripted(vec![react_script()]),
        true,
        config(Paradigm::React, 1, 1),
        &[task],
    )
    .await;
    let t = &trajectories[0];
    assert_eq!(t.episode.termination, Termination::Answer, "{t:#?}");
    assert_eq!(t.episode.prediction.as_deref(), Some("1930"));
    assert_eq!(t.rewards.exact_match, 1.0);
    assert_eq!(t.rewards.f1, 1.0);
    assert_eq!(t.rewards.evidence_recall, Some(1.0));
    assert_eq!(t.snapshot_id, corpus().snapshot_id());
    assert_eq!(t.model_id, "scripted");

    // The calls, routed by name, with the tools' real answers.
    let calls = &t.episode.tool_calls;
    let names: Vec<_> = calls.iter().map(|c| c.name.as_deref().unwrap()).collect();
    assert_eq!(names, ["search", "visit", "PythonInterpreter"]);
    assert!(calls.iter().all(|c| c.error.is_none()), "{calls:#?}");
    assert!(calls[0]
        .result
        .starts_with("A Google search for 'Ray Charles' found"));
    assert!(calls[1].result.contains("Evidence in page"));
    assert!(calls[1].result.contains("1930"), "{}", calls[1].result);
    assert_eq!(calls[2].result, "stdout:\n74\n");
    assert_eq!(t.num_tool_calls, 3);
    assert_eq!(t.tool_call_counts["search"], 1);

    // The conversation in the Tongyi layout.
    let m = &t.episode.messages;
    assert_eq!(m.len(), 2 + 4 + 3);
    assert_eq!(m[0].role, Role::System);
    assert!(m[0]
        .content
        .contains("<tools>\n{\"type\": \"function\", \"function\": {\"name\": \"search\""));
    assert!(m[0].content.contains("\"name\": \"PythonInterpreter\""));
    assert!(m[0].content.ends_with("Current date: 2025-01-01"));
    assert_eq!(m[1].content, QUESTION);
    for (i, msg) in m.iter().enumerate().skip(2) {
        let expected = if i % 2 == 0 {
            Role::Assistant
        } else {
            Role::User
        };
        assert_eq!(msg.role, expected, "message {i}");
        if expected == Role::User {
            assert!(
                msg.content.starts_with("<tool_response>\n")
                    && msg.content.ends_with("\n</tool_response>")
            );
        }
    }

    // Tokens: one consistent sequence; exactly the assistant turns (+ end-of-turn) are
    // under the loss mask.
    let (tokenizer, _) = LocalModel::load_text_side(fixture_dir()).unwrap();
    assert_eq!(
        t.episode.sequences.len(),
        1,
        "the conversation re-tokenizes consistently"
    );
    let seq = &t.episode.sequences[0];
    assert_eq!(seq.token_ids.len(), seq.loss_mask.len());
    assert!(seq.logprobs.is_none(), "a script has no log-probabilities");
    let im_end = tokenizer.token_to_id("<|im_end|>").unwrap();
    let mut expected_model_tokens = 0;
    for msg in m.iter().filter(|m| m.role == Role::Assistant) {
        expected_model_tokens += tokenizer.encode(&msg.content).unwrap().len() + 1;
    }
    let masked: Vec<u32> = seq
        .token_ids
        .iter()
        .zip(&seq.loss_mask)
        .filter(|(_, m)| **m == 1)
        .map(|(id, _)| *id)
        .collect();
    assert_eq!(masked.len(), expected_model_tokens);
    assert_eq!(masked.iter().filter(|id| **id == im_end).count(), 4);
    assert_eq!(t.episode.completion_tokens, expected_model_tokens);
    // Tool text is never under the mask.
    let unmasked: Vec<u32> = seq
        .token_ids
        .iter()
        .zip(&seq.loss_mask)
        .filter(|(_, m)| **m == 0)
        .map(|(id, _)| *id)
        .collect();
    let prompt_side = tokenizer.decode(&unmasked).unwrap();
    assert!(prompt_side.contains("stdout:\n74"));
    assert!(!prompt_side.contains("print(2004 - 1930)"));

    // Timings are separate and add up.
    assert!(t.timings.tool_ms > 0.0 && t.timings.wall_ms >= t.timings.tool_ms);
    // The summary next to the file.
    let summary: Value = serde_json::from_str(
        &std::fs::read_to_string(summary_path(&dir.path().join("traj.jsonl"))).unwrap(),
    )
    .unwrap();
    assert_eq!(summary["pass_at_1"], 1.0);
    assert_eq!(summary["terminations"]["answer"], 1);
    assert_eq!(summary["mean_tool_calls"], 3.0);
}

#[tokio::test]
async fn malformed_and_unknown_calls_get_error_observations() {
    let q = "malformed probe";
    let script = conv(
        q,
        &[
            "<tool_call>\n{\"name\": \"search\", \"arguments\": {\"query\": [\"x\"]\n</tool_call>",
            "<tool_call>\n{\"name\": \"PythonInterpreter\", \"arguments\": {}}\n</tool_call>",
            &call("browse", json!({"url": "x"})),
            &call("search", json!({"q": "wrong field"})),
            "<tool_call>\n{\"name\": \"search\"",
            "<answer>none</answer>",
        ],
    );
    let (_dir, t) = run(
        scripted(vec![script]),
        false,
        config(Paradigm::React, 1, 1),
        &[json!({"id": "m", "question": q, "answers": ["x"]})],
    )
    .await;
    let t = &t[0];
    assert_eq!(t.episode.termination, Termination::Answer);
    let calls = &t.episode.tool_calls;
    assert_eq!(calls.len(), 5);
    assert_eq!(calls[0].result, INVALID_TOOL_CALL_OBSERVATION);
    assert!(calls[0]
        .error
        .as_deref()
        .unwrap()
        .starts_with("malformed_call"));
    assert_eq!(calls[1].result, PYTHON_FORMAT_ERROR_OBSERVATION);
    assert_eq!(calls[2].result, "Error: Tool browse not found");
    assert_eq!(calls[2].error.as_deref(), Some("unknown_tool"));
    assert!(
        calls[3].result.starts_with("[Search] Invalid request"),
        "{}",
        calls[3].result
    );
    assert_eq!(calls[4].result, INVALID_TOOL_CALL_OBSERVATION);
    assert_eq!(t.tool_call_counts["<malformed>"], 3);
    // Each error came back as the user turn the model saw next.
    assert_eq!(
        t.episode.messages[3].content,
        format!("<tool_response>\n{INVALID_TOOL_CALL_OBSERVATION}\n</tool_response>")
    );
    assert_eq!(t.rewards.exact_match, 0.0);
}

#[tokio::test]
async fn turn_and_context_limits_end_episodes() {
    let looping = conv(
        "loop",
        &[call("search", json!({"query": ["Ray Charles"]})).as_str(); 5],
    );
    let forced = conv(
        "context",
        &[
            &call("search", json!({"query": ["Ray Charles"]})),
            &format!("{}<answer>1930</answer>", think("Forced.")),
        ],
    );
    let stubborn = conv(
        "stubborn",
        &[
            &call("search", json!({"query": ["Ray Charles"]})),
            &call("search", json!({"query": ["again"]})),
        ],
    );
    let mut cfg = config(Paradigm::React, 1, 2);
    cfg.agent.max_turns = 3;
    cfg.agent.max_context_tokens = 1200;
    let tasks = [
        json!({"id": "a", "question": "loop", "answers": ["1930"]}),
        json!({"id": "b", "question": "context", "answers": ["1930"]}),
        json!({"id": "c", "question": "stubborn", "answers": ["1930"]}),
    ];
    let (_dir, t) = run(
        scripted(vec![looping, forced, stubborn]),
        false,
        cfg,
        &tasks,
    )
    .await;
    // A 1,200-token context fits the system prompt but not a search result.
    assert_eq!(t[0].episode.termination, Termination::Context);
    assert_eq!(t[1].episode.termination, Termination::Answer);
    assert!(t[1].episode.forced_answer);
    assert_eq!(t[1].rewards.exact_match, 1.0);
    let m = &t[1].episode.messages;
    assert_eq!(
        m[3].content, FORCED_ANSWER_MESSAGE,
        "replaces the observation"
    );
    assert_eq!(t[2].episode.termination, Termination::Context);

    let mut cfg = config(Paradigm::React, 1, 1);
    cfg.agent.max_turns = 3;
    let (_dir, t) = run(
        scripted(vec![conv(
            "loop",
            &[call("search", json!({"query": ["Ray Charles"]})).as_str(); 5],
        )]),
        false,
        cfg,
        &[json!({"id": "a", "question": "loop", "answers": ["1930"]})],
    )
    .await;
    assert_eq!(t[0].episode.termination, Termination::MaxTurns);
    assert_eq!(t[0].episode.model_calls, 3);
    assert_eq!(t[0].num_tool_calls, 3);
}

/// Issue #12: the model's own window caps the context, whatever `max_context_tokens`
/// says. The script stands in for a model with a 1,536-token window (it refuses longer
/// prompts as the local engine does); the budget stays Tongyi's 110K.
#[tokio::test]
async fn the_model_window_caps_the_context_and_the_forced_answer_fits_it() {
    // A search result takes the conversation past the window: forced answer, answered.
    let answers = conv(
        "answers",
        &[
            &call("search", json!({"query": ["Ray Charles"]})),
            &format!("{}<answer>1930</answer>", think("Forced.")),
        ],
    );
    // A reply that fills the window (outside <think>, which Qwen3's template drops from
    // history): even the forced-answer prompt fits only without it, and the model (the
    // script replays its first turn) still does not answer.
    let rambles = conv("rambles", &[&"the piano ".repeat(400)]);
    let backend = scripted(vec![answers, rambles]).with_context_window(1536);
    assert_eq!(backend.context_window(), Some(1536));
    let mut cfg = config(Paradigm::React, 1, 1);
    cfg.agent.max_turns = 5;
    let tasks = [
        json!({"id": "a", "question": "answers", "answers": ["1930"]}),
        json!({"id": "r", "question": "rambles", "answers": ["1930"]}),
    ];
    let (_dir, t) = run(backend, false, cfg, &tasks).await;

    let a = &t[0].episode;
    assert_eq!(a.termination, Termination::Answer, "{a:#?}");
    assert!(a.forced_answer);
    assert_eq!(a.trimmed_messages, 0);
    assert_eq!(a.messages[3].content, FORCED_ANSWER_MESSAGE);
    assert_eq!(t[0].rewards.exact_match, 1.0);

    let r = &t[1].episode;
    assert_eq!(r.termination, Termination::Context, "{r:#?}");
    assert_eq!(r.error, None);
    assert!(r.forced_answer);
    // [system, question, long reply, forced answer]: the long reply was left out.
    assert_eq!(r.trimmed_messages, 1);
    assert_eq!(r.messages.len(), 5);
    assert_eq!(r.messages[3].content, FORCED_ANSWER_MESSAGE);
    // The last call saw [system, question, forced answer]: a sequence of its own, inside
    // the window with room for a reply.
    assert_eq!(r.sequences.len(), 2);
    let last = &r.sequences[1];
    let prompt = last.loss_mask.iter().take_while(|m| **m == 0).count();
    assert!(prompt <= 1536 - 1536 / 8, "{prompt}");
    assert!(r.sequences[0].token_ids.len() > 1536 - 1536 / 8);
}

/// Replies of the GRPO-group tests: "mixed" is solved by the even samples, "cut" only by
/// sample 0 (the others search until the turn limit), "same" by every sample.
fn group_reply(question: &str, sample: usize, turn: usize) -> String {
    let search = call("search", json!({"query": ["Ray Charles"]}));
    let answer = |a: &str| format!("{}<answer>{a}</answer>", think("Done."));
    match (question, turn) {
        (_, 0) => search,
        ("mixed", _) if sample.is_multiple_of(2) => answer("1930"),
        ("mixed", _) => answer("1931"),
        ("cut", _) if sample == 0 => answer("1930"),
        ("cut", _) => search,
        _ => answer("1930"),
    }
}

fn group_tasks() -> Vec<Value> {
    ["mixed", "cut", "same"]
        .iter()
        .map(|id| json!({"id": id, "question": id, "answers": ["1930"]}))
        .collect()
}

/// Issue #12: the lines of a `--samples N` group carry `group`, `group_size`, the
/// leave-one-out advantage (summing to zero over the group) and Tongyi's loss filter; the
/// summary reports the groups with zero reward variance.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn groups_carry_leave_one_out_advantages_and_the_loss_filter() {
    let dir = tempfile::tempdir().unwrap();
    let tasks = read_tasks(&write_tasks(dir.path(), &group_tasks())).unwrap();
    let runner = || {
        let mut cfg = config(Paradigm::React, 4, 3);
        cfg.agent.max_turns = 3;
        let backend = PerSample::new(cfg.seed, &["mixed", "cut", "same"], 4, 3, group_reply);
        RolloutRunner::new(Arc::new(backend), toolbox(false), cfg, None)
    };
    let out = dir.path().join("traj.jsonl");
    let summary = runner().run(&tasks, &out).await.unwrap();
    let lines: Vec<Trajectory> = std::fs::read_to_string(&out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 12);
    for (group, expected_em) in
        lines
            .chunks(4)
            .zip([[1.0, 0.0, 1.0, 0.0], [1.0, 0.0, 0.0, 0.0], [1.0; 4]])
    {
        let em: Vec<f64> = group.iter().map(|t| t.rewards.exact_match).collect();
        assert_eq!(em, expected_em, "{}", group[0].task_id);
        for (s, t) in group.iter().enumerate() {
            assert_eq!((t.sample, &t.group, t.group_size), (s, &t.task_id, Some(4)));
            let others: f64 = em.iter().sum::<f64>() - em[s];
            assert!((t.advantage - (em[s] - others / 3.0)).abs() < 1e-12);
        }
        let sum: f64 = group.iter().map(|t| t.advantage).sum();
        assert!(
            sum.abs() < 1e-12,
            "advantages of a group sum to zero: {sum}"
        );
    }
    let third = 1.0 / 3.0;
    let expected = [
        2.0 * third,
        -2.0 * third,
        2.0 * third,
        -2.0 * third,
        1.0,
        -third,
        -third,
        -third,
    ];
    for (t, e) in lines.iter().zip(expected) {
        assert!((t.advantage - e).abs() < 1e-12, "{} {}", t.advantage, e);
    }
    assert!(lines[8..].iter().all(|t| t.advantage == 0.0));
    // Only the cut-off samples of "cut" are left out of the loss; the wrong answers of
    // "mixed" are the signal.
    for t in &lines {
        let cut = t.task_id == "cut" && t.sample > 0;
        assert_eq!(t.loss_excluded, cut, "{} {}", t.task_id, t.sample);
        if cut {
            assert_eq!(t.episode.termination, Termination::MaxTurns);
            assert_eq!(t.episode.prediction, None);
        }
    }
    let raw = std::fs::read_to_string(&out).unwrap();
    assert_eq!(raw.matches("\"loss_excluded\":true").count(), 3);
    assert!(
        !raw.contains("\"loss_excluded\":false"),
        "absent when false"
    );
    assert_eq!(summary.zero_variance_group_count, 1);
    assert!((summary.zero_variance_groups - 1.0 / 3.0).abs() < 1e-12);
    assert_eq!(summary.loss_excluded, 3);

    // A run killed while writing its second group: two lines of it made it to disk, the
    // third only in part. The first group is kept byte for byte; the second is cut off
    // and runs again whole, so its advantages come from one set of samples.
    let starts: Vec<usize> = std::iter::once(0)
        .chain(raw.match_indices('\n').map(|(i, _)| i + 1))
        .collect();
    let killed = dir.path().join("killed.jsonl");
    std::fs::write(&killed, &raw[..starts[6] + 50]).unwrap();
    let resumed = runner().run(&tasks, &killed).await.unwrap();
    assert_eq!((resumed.run.resumed, resumed.run.trajectories), (4, 8));
    assert_eq!(lines_without_timings(&killed), lines_without_timings(&out));
    assert_eq!(
        std::fs::read_to_string(&killed).unwrap()[..starts[4]],
        raw[..starts[4]]
    );
    let (_, existing) = TrajectoryFile::open(&killed, 4).unwrap();
    assert_eq!((existing.done.len(), existing.cut_lines), (12, 0));

    // Another --samples on the same file is refused, not silently mixed.
    let err = TrajectoryFile::open(&out, 8).err().unwrap().to_string();
    assert!(err.contains("--samples 4"), "{err}");
    // So is a group missing samples that is not the last one.
    let holey = dir.path().join("holey.jsonl");
    std::fs::write(&holey, [&raw[..starts[3]], &raw[starts[4]..]].concat()).unwrap();
    let err = TrajectoryFile::open(&holey, 4).err().unwrap().to_string();
    assert!(
        err.contains("\"mixed\" (line 1) has 3 of 4 samples"),
        "{err}"
    );
    // A group left incomplete at the end is cut off.
    let tail = dir.path().join("tail.jsonl");
    std::fs::write(&tail, &raw[..starts[6]]).unwrap();
    let (_, existing) = TrajectoryFile::open(&tail, 4).unwrap();
    assert_eq!((existing.done.len(), existing.cut_lines), (4, 2));
    assert_eq!(std::fs::read_to_string(&tail).unwrap(), raw[..starts[4]]);
}

/// IterResearch rounds are keyed by the report the previous round wrote, so the script
/// only advances if the report really carries over (and the thinking does not).
fn iter_script() -> Vec<ScriptedConversation> {
    vec![
        conv(
            "Ray Charles: born September 23, 1930",
            &[&format!(
                "{}<report>\nRay Charles: born September 23, 1930 (Wikipedia).\n</report>\n<answer>1930</answer>",
                think("The report has it.")
            )],
        ),
        conv(
            "Candidate page: Ray Charles",
            &[&format!(
                "{}<report>\nRay Charles: born September 23, 1930 in Albany, Georgia.\n</report>\n{}",
                think("SECRET-ROUND-2 visit to confirm"),
                call("visit", json!({"url": [RAY_URL], "goal": "birth date"}))
            )],
        ),
        conv(
            QUESTION,
            &[&format!(
                "{}<report>\nCandidate page: Ray Charles\n</report>\n{}",
                think("SECRET-ROUND-1 start with a search"),
                call("search", json!({"query": ["Ray Charles"]}))
            )],
        ),
    ]
}

#[tokio::test]
async fn iter_research_rebuilds_the_workspace_each_round() {
    let task =
        json!({"id": "ray", "question": QUESTION, "answers": ["1930"], "evidence": [RAY_URL]});
    let (_dir, t) = run(
        scripted(iter_script()),
        false,
        config(Paradigm::IterResearch, 1, 1),
        &[task],
    )
    .await;
    let t = &t[0];
    assert_eq!(t.episode.termination, Termination::Answer, "{t:#?}");
    assert_eq!(t.rewards.exact_match, 1.0);
    assert_eq!(t.rewards.evidence_recall, Some(1.0));
    assert_eq!(t.episode.model_calls, 3);
    assert_eq!(
        t.episode.report.as_deref(),
        Some("Ray Charles: born September 23, 1930 (Wikipedia).")
    );
    let m = &t.episode.messages;
    assert_eq!(m.len(), 1 + 3 * 2);
    assert!(m[0].content.contains("# Iterative research"));
    // Round 1: question + empty report. Round 2: report + only the search result.
    assert!(m[1].content.starts_with(QUESTION));
    assert!(m[1].content.contains(EMPTY_REPORT));
    let round2 = &m[3].content;
    assert!(round2.contains("<report>\nCandidate page: Ray Charles\n</report>"));
    assert!(round2.contains("<last_action>\n<tool_call>"));
    assert!(round2.contains("<tool_response>\nA Google search for 'Ray Charles'"));
    assert!(!round2.contains("SECRET-ROUND-1"), "thinking is dropped");
    // Round 3 shows the visit, not the search any more.
    let round3 = &m[5].content;
    assert!(round3.contains("Evidence in page"));
    assert!(!round3.contains("A Google search for"));
    assert!(!round3.contains("SECRET-ROUND-2"));
    // One token sequence per round, each its own prompt + reply.
    assert_eq!(t.episode.sequences.len(), 3);
    for s in &t.episode.sequences {
        assert_eq!(s.token_ids.len(), s.loss_mask.len());
        assert_eq!(s.loss_mask[0], 0);
        assert_eq!(*s.loss_mask.last().unwrap(), 1);
    }
}

#[tokio::test]
async fn synthesis_answers_from_parallel_reports() {
    let mut script = iter_script();
    script.insert(
        0,
        conv(
            "independent research agents",
            &[&format!(
                "{}<answer>1930</answer>",
                think("All agents agree.")
            )],
        ),
    );
    let mut cfg = config(Paradigm::Synthesis, 1, 1);
    cfg.agent.synthesis_agents = 2;
    let (_dir, t) = run(
        scripted(script),
        false,
        cfg,
        &[json!({"id": "ray", "question": QUESTION, "answers": ["1930"]})],
    )
    .await;
    let t = &t[0];
    assert_eq!(t.branches.len(), 2);
    assert!(t
        .branches
        .iter()
        .all(|b| b.termination == Termination::Answer));
    assert_eq!(t.episode.termination, Termination::Answer);
    assert_eq!(t.episode.prediction.as_deref(), Some("1930"));
    assert!(t.episode.messages[1]
        .content
        .contains("## Agent 2\n<report>\nRay Charles: born"));
    assert_eq!(t.num_tool_calls, 4);
    assert_eq!(t.rewards.exact_match, 1.0);
}

fn determinism_tasks() -> Vec<Value> {
    vec![
        json!({"id": "ray", "question": QUESTION, "answers": ["1930"]}),
        json!({"id": "ray-2", "question": "When was Ray Charles born, again?", "answers": ["September 23, 1930"]}),
    ]
}

fn determinism_script() -> Vec<ScriptedConversation> {
    let mut other = react_script();
    other.key = Some("Ray Charles born, again".into());
    vec![react_script(), other]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn same_seed_same_file_and_resume_skips_finished_pairs() {
    let dir = tempfile::tempdir().unwrap();
    let tasks_path = write_tasks(dir.path(), &determinism_tasks());
    let tasks = read_tasks(&tasks_path).unwrap();
    let tools = toolbox(true);
    let runner = |concurrency| {
        RolloutRunner::new(
            Arc::new(scripted(determinism_script())),
            Arc::clone(&tools),
            config(Paradigm::React, 2, concurrency),
            None,
        )
    };
    let a = dir.path().join("a.jsonl");
    let b = dir.path().join("b.jsonl");
    let summary = runner(4).run(&tasks, &a).await.unwrap();
    assert_eq!(summary.trajectories, 4);
    assert_eq!(summary.k, 2);
    runner(1).run(&tasks, &b).await.unwrap();
    let lines_a = lines_without_timings(&a);
    assert_eq!(
        lines_a,
        lines_without_timings(&b),
        "same seed, same trajectories"
    );
    assert_eq!(
        lines_a
            .iter()
            .map(|l| (
                l["task_id"].as_str().unwrap().to_owned(),
                l["sample"].as_u64().unwrap()
            ))
            .collect::<Vec<_>>(),
        [
            ("ray".into(), 0),
            ("ray".into(), 1),
            ("ray-2".into(), 0),
            ("ray-2".into(), 1)
        ],
        "written in (task, sample) order"
    );
    assert_ne!(
        lines_a[0]["seed"], lines_a[1]["seed"],
        "samples get their own seeds"
    );

    // A run killed in the middle of writing its second group.
    let text = std::fs::read_to_string(&a).unwrap();
    let first_len = text.find('\n').unwrap() + 1;
    let group_len = first_len + text[first_len..].find('\n').unwrap() + 1;
    let c = dir.path().join("c.jsonl");
    std::fs::write(&c, &text[..group_len + 100]).unwrap();
    let summary = runner(2).run(&tasks, &c).await.unwrap();
    assert_eq!(summary.run.resumed, 2);
    assert_eq!(summary.run.trajectories, 2);
    assert_eq!(summary.trajectories, 4);
    assert_eq!(lines_without_timings(&c), lines_a, "repaired and completed");
    // The first group was kept byte for byte (its timings too).
    assert_eq!(
        std::fs::read_to_string(&c).unwrap()[..group_len],
        text[..group_len]
    );
    // Nothing left to do.
    let summary = runner(2).run(&tasks, &c).await.unwrap();
    assert_eq!((summary.run.resumed, summary.run.trajectories), (4, 0));
    let (writer, existing) = TrajectoryFile::open(&c, 2).unwrap();
    assert_eq!(existing.truncated_bytes, 0);
    assert_eq!(existing.done.len(), 4);

    // Hostile probe #5: a second run on the same output while one writes fails at once,
    // naming the writer, instead of appending duplicates.
    let err = runner(2).run(&tasks, &c).await.err().unwrap().to_string();
    assert!(
        err.contains(&format!("pid {}", std::process::id())),
        "{err}"
    );
    drop(writer);
    // A file two runs wrote at once (a line repeated) is refused, naming both lines.
    let first_line = &text[..first_len];
    let d = dir.path().join("d.jsonl");
    std::fs::write(&d, format!("{first_line}{first_line}")).unwrap();
    let err = TrajectoryFile::open(&d, 2).err().unwrap().to_string();
    assert!(
        err.contains("line 2 repeats") && err.contains("of line 1"),
        "{err}"
    );
}

#[test]
fn an_unreadable_complete_line_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.jsonl");
    std::fs::write(&path, "{\"task_id\": \"a\"}\nnot json\n").unwrap();
    let err = TrajectoryFile::open(&path, 1).err().unwrap().to_string();
    assert!(err.contains("line 1"), "{err}");
}
