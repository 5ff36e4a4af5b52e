//! Rollouts with the real ONNX Runtime on the fixture model (random weights: it babbles,
//! so episodes end by the turn limit or by chance): token ids, log-probs and masks must
//! line up, and the same seed must give the same file.

use std::sync::Arc;

use serde_json::json;
use simweb_policy::rollout::{read_tasks, Paradigm, RolloutRunner, Termination, Trajectory};
use simweb_policy::{ChatBackend, OnnxBackend, RunnerOptions};

use super::rollout_support::*;

/// The tiny-MoE fixture on one intra-op thread, batching up to 8 sequences.
fn fixture_backend() -> Arc<OnnxBackend> {
    Arc::new(
        OnnxBackend::load(
            fixture_dir(),
            &RunnerOptions {
                intra_threads: Some(1),
                ..Default::default()
            },
            8,
        )
        .unwrap(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn onnx_episodes_run_to_termination_with_consistent_tokens() {
    let backend = fixture_backend();
    let dir = tempfile::tempdir().unwrap();
    let tasks_path = write_tasks(
        dir.path(),
        &[
            json!({"id": "q1", "question": "Who was Ray Charles?", "answers": ["a musician"]}),
            json!({"id": "q2", "question": "Where was Ray Charles born?", "answers": ["Albany"]}),
        ],
    );
    let tasks = read_tasks(&tasks_path).unwrap();
    let tools = toolbox(false);
    let mut files = Vec::new();
    // Runs 0 and 1 check determinism one episode at a time: with several episodes in
    // flight, which sequences share a batch depends on timing, and a different batch
    // shape changes the floating-point sums (and so, rarely, a sampled token). Run 2
    // batches 4 episodes at once.
    for (run, paradigm, concurrency) in [
        (0, Paradigm::React, 1),
        (1, Paradigm::React, 1),
        (2, Paradigm::IterResearch, 4),
    ] {
        let mut cfg = config(paradigm, 2, concurrency);
        cfg.agent.max_turns = 3;
        cfg.agent.sampling.max_new_tokens = 24;
        let out = dir.path().join(format!("run{run}.jsonl"));
        let runner = RolloutRunner::new(backend.clone(), Arc::clone(&tools), cfg, None);
        let summary = runner.run(&tasks, &out).await.unwrap();
        assert_eq!(summary.trajectories, 4);
        assert!(summary.run.tokens_per_s > 0.0);
        files.push(out);
    }
    for file in &files {
        for line in std::fs::read_to_string(file).unwrap().lines() {
            let t: Trajectory = serde_json::from_str(line).unwrap();
            assert!(t.model_id.contains("tiny-moe"), "{}", t.model_id);
            assert!(t.episode.model_calls >= 1 && t.episode.model_calls <= 3);
            assert!(!t.episode.sequences.is_empty());
            let mut model_tokens = 0;
            for s in &t.episode.sequences {
                let lp = s
                    .logprobs
                    .as_ref()
                    .expect("the local model reports log-probs");
                assert_eq!(s.token_ids.len(), s.loss_mask.len());
                assert_eq!(s.token_ids.len(), lp.len());
                for ((_, m), l) in s.token_ids.iter().zip(&s.loss_mask).zip(lp) {
                    if *m == 1 {
                        assert!(l.is_finite() && *l <= 0.0);
                    } else {
                        assert_eq!(*l, 0.0);
                    }
                }
                model_tokens += s.loss_mask.iter().filter(|m| **m == 1).count();
            }
            assert_eq!(model_tokens, t.episode.completion_tokens);
        }
    }
    assert_eq!(
        lines_without_timings(&files[0]),
        lines_without_timings(&files[1]),
        "same seed, same trajectories"
    );
}

/// Issue #12: the fixture's window is 4,096 tokens, far under the default 110K-token
/// budget. A conversation that outgrows the window must take the forced-answer path
/// (trimmed to what fits) and end as `answer` or `context`, never as `error` with the
/// engine refusing a prompt that "leaves no room in the context".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn onnx_episode_outgrowing_the_model_window_ends_by_the_forced_answer() {
    let backend = fixture_backend();
    assert_eq!(backend.context_window(), Some(4096));
    let dir = tempfile::tempdir().unwrap();
    // ~2,550 tokens of question on top of the ~850-token system prompt: two 300-token
    // babbling turns take the conversation past the window.
    let question = format!("Who was Ray Charles? {}", "the piano ".repeat(1275));
    let tasks_path = write_tasks(
        dir.path(),
        &[json!({"id": "long", "question": question, "answers": ["a musician"]})],
    );
    let tasks = read_tasks(&tasks_path).unwrap();
    let mut cfg = config(Paradigm::React, 1, 1);
    // The configured budget stays Tongyi's 110K: only the model's window can stop this.
    cfg.agent.max_turns = 6;
    cfg.agent.sampling.max_new_tokens = 300;
    let out = dir.path().join("traj.jsonl");
    let runner = RolloutRunner::new(backend.clone(), toolbox(false), cfg, None);
    runner.run(&tasks, &out).await.unwrap();
    let line = std::fs::read_to_string(&out).unwrap();
    let t: Trajectory = serde_json::from_str(line.trim()).unwrap();
    let e = &t.episode;
    assert!(
        matches!(e.termination, Termination::Answer | Termination::Context),
        "{:?}: {:?}",
        e.termination,
        e.error
    );
    assert_eq!(e.error, None);
    assert!(
        e.forced_answer,
        "the window was outgrown: {} calls",
        e.model_calls
    );
    let first_prompt = e.sequences[0]
        .loss_mask
        .iter()
        .take_while(|m| **m == 0)
        .count();
    assert!((3000..3796).contains(&first_prompt), "{first_prompt}");
    // The forced-answer call was made, and nothing the model saw exceeded its window.
    assert!(e.model_calls >= 2, "{}", e.model_calls);
    assert!(e.sequences.iter().all(|s| s.token_ids.len() <= 4096));
    // The conversation ends with the forced-answer request and the model's reply to it.
    let n = e.messages.len();
    assert_eq!(
        e.messages[n - 2].content,
        simweb_tools::react::FORCED_ANSWER_MESSAGE
    );
    assert_eq!(e.messages[n - 1].role, simweb_tools::react::Role::Assistant);
}
