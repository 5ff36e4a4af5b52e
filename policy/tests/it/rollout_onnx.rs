//! Rollouts with the real ONNX Runtime on the fixture model (random weights: it babbles,
//! so episodes end by the turn limit or by chance): token ids, log-probs and masks must
//! line up, and the same seed must give the same file.

use std::sync::Arc;

use serde_json::json;
use simweb_policy::rollout::{read_tasks, Paradigm, RolloutRunner, Trajectory};
use simweb_policy::{OnnxBackend, RunnerOptions};

use super::rollout_support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn onnx_episodes_run_to_termination_with_consistent_tokens() {
    let backend = Arc::new(
        OnnxBackend::load(
            fixture_dir(),
            &RunnerOptions {
                intra_threads: Some(1),
                ..Default::default()
            },
            8,
        )
        .unwrap(),
    );
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
