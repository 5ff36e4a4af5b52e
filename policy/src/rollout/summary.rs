//! The end-of-run summary: quality over every trajectory in the file (resumed ones
//! included) and throughput over the episodes this run produced.
//!
//! Pass@1 is the mean exact match (per task, then over tasks); Pass@k is the share of
//! tasks where at least one of the k samples matched exactly (k = samples per task, so
//! the unbiased estimator reduces to "any"). A group (a task's samples) with zero reward
//! variance — every sample solved it, or none did — gives GRPO no signal: all its
//! advantages are 0; their share says how much of a run's compute a trainer would waste
//! (what `simweb tasks curate` removes). The tool share is the time episodes waited
//! for tools over their total wall time: the environment's share of a rollout.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::trajectory::{Rewards, Termination, Trajectory};

/// The fields of a trajectory line the summary needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SummaryRow {
    pub task_id: String,
    pub sample: usize,
    pub rewards: Rewards,
    pub termination: Termination,
    pub num_tool_calls: usize,
    #[serde(default)]
    pub loss_excluded: bool,
}

impl From<&Trajectory> for SummaryRow {
    fn from(t: &Trajectory) -> Self {
        SummaryRow {
            task_id: t.task_id.clone(),
            sample: t.sample,
            rewards: t.rewards.clone(),
            termination: t.episode.termination,
            num_tool_calls: t.num_tool_calls,
            loss_excluded: t.loss_excluded,
        }
    }
}

/// Throughput of the episodes this run produced.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RunStats {
    pub trajectories: usize,
    /// (task, sample) pairs found finished in the file and skipped.
    pub resumed: usize,
    pub wall_s: f64,
    pub completion_tokens: u64,
    pub tokens_per_s: f64,
    pub tool_calls: u64,
    pub tool_calls_per_s: f64,
    /// Summed over episodes (they overlap in time when run concurrently).
    pub episode_s: f64,
    pub model_s: f64,
    pub tool_s: f64,
    /// tool_s / episode_s: the share of rollout time spent in the environment's tools
    /// (of model_s + tool_s when parallel branches make that larger).
    pub tool_share: f64,
    /// model_s / episode_s (same denominator as `tool_share`).
    pub model_share: f64,
}

impl RunStats {
    /// Adds one finished trajectory.
    pub fn add(&mut self, t: &Trajectory) {
        self.trajectories += 1;
        self.completion_tokens += t.completion_tokens() as u64;
        self.tool_calls += t.num_tool_calls as u64;
        self.episode_s += t.timings.wall_ms / 1e3;
        self.model_s += t.timings.model_ms / 1e3;
        self.tool_s += t.timings.tool_ms / 1e3;
    }

    /// Fills the rates once the run is over.
    pub fn finish(&mut self, wall: Duration) {
        self.wall_s = wall.as_secs_f64();
        let per_s = |n: u64| {
            if self.wall_s > 0.0 {
                n as f64 / self.wall_s
            } else {
                0.0
            }
        };
        self.tokens_per_s = per_s(self.completion_tokens);
        self.tool_calls_per_s = per_s(self.tool_calls);
        // Research-synthesis branches run in parallel inside one episode, so their model
        // and tool times can add up to more than the episode's wall time; the shares are
        // then of that busy time instead.
        let busy = self.episode_s.max(self.model_s + self.tool_s);
        if busy > 0.0 {
            self.tool_share = self.tool_s / busy;
            self.model_share = self.model_s / busy;
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub trajectories: usize,
    pub tasks: usize,
    /// Samples per task (the largest group in the file).
    pub k: usize,
    pub pass_at_1: f64,
    pub pass_at_k: f64,
    pub mean_f1: f64,
    /// Share of judged trajectories the judge called correct.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub judge_accuracy: Option<f64>,
    /// Mean evidence recall over trajectories whose task lists evidence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence_recall: Option<f64>,
    pub mean_tool_calls: f64,
    /// Termination reason → trajectories.
    pub terminations: BTreeMap<String, usize>,
    /// Share of groups (tasks) whose samples all got the same exact match.
    pub zero_variance_groups: f64,
    /// How many groups that is.
    pub zero_variance_group_count: usize,
    /// Trajectories marked `loss_excluded` (cut off by a limit without an answer).
    pub loss_excluded: usize,
    pub run: RunStats,
}

impl Summary {
    pub fn new(rows: &[SummaryRow], run: RunStats) -> Self {
        let mut by_task: BTreeMap<&str, Vec<&SummaryRow>> = BTreeMap::new();
        for row in rows {
            by_task.entry(row.task_id.as_str()).or_default().push(row);
        }
        let tasks = by_task.len();
        let mean = |xs: &mut dyn Iterator<Item = f64>| {
            let (sum, n) = xs.fold((0.0, 0usize), |(s, n), x| (s + x, n + 1));
            (n > 0).then(|| sum / n as f64)
        };
        let pass_at_1 = mean(&mut by_task.values().map(|group| {
            group.iter().map(|r| r.rewards.exact_match).sum::<f64>() / group.len() as f64
        }))
        .unwrap_or(0.0);
        let pass_at_k = mean(&mut by_task.values().map(|group| {
            if group.iter().any(|r| r.rewards.exact_match >= 1.0) {
                1.0
            } else {
                0.0
            }
        }))
        .unwrap_or(0.0);
        let zero_variance_group_count = by_task
            .values()
            .filter(|group| {
                group
                    .iter()
                    .all(|r| r.rewards.exact_match == group[0].rewards.exact_match)
            })
            .count();
        let mut terminations = BTreeMap::new();
        for row in rows {
            *terminations
                .entry(row.termination.as_str().to_owned())
                .or_insert(0) += 1;
        }
        Summary {
            trajectories: rows.len(),
            tasks,
            k: by_task.values().map(Vec::len).max().unwrap_or(0),
            pass_at_1,
            pass_at_k,
            mean_f1: mean(&mut rows.iter().map(|r| r.rewards.f1)).unwrap_or(0.0),
            judge_accuracy: mean(&mut rows.iter().filter_map(|r| {
                r.rewards
                    .judge
                    .as_ref()
                    .map(|j| if j.correct == Some(true) { 1.0 } else { 0.0 })
            })),
            evidence_recall: mean(&mut rows.iter().filter_map(|r| r.rewards.evidence_recall)),
            mean_tool_calls: mean(&mut rows.iter().map(|r| r.num_tool_calls as f64)).unwrap_or(0.0),
            terminations,
            zero_variance_groups: if tasks > 0 {
                zero_variance_group_count as f64 / tasks as f64
            } else {
                0.0
            },
            zero_variance_group_count,
            loss_excluded: rows.iter().filter(|r| r.loss_excluded).count(),
            run,
        }
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{} trajectories over {} tasks (k = {})",
            self.trajectories, self.tasks, self.k
        )?;
        writeln!(
            f,
            "Pass@1 {:.3}  Pass@{} {:.3}  mean F1 {:.3}",
            self.pass_at_1, self.k, self.pass_at_k, self.mean_f1
        )?;
        if let Some(j) = self.judge_accuracy {
            writeln!(f, "judge accuracy {j:.3}")?;
        }
        if let Some(r) = self.evidence_recall {
            writeln!(f, "evidence recall {r:.3}")?;
        }
        let terms: Vec<String> = self
            .terminations
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect();
        writeln!(
            f,
            "mean tool calls {:.2}; terminations: {}",
            self.mean_tool_calls,
            terms.join(", ")
        )?;
        writeln!(
            f,
            "GRPO groups with zero reward variance: {} of {} ({:.1} %); excluded from the loss: {} trajectories",
            self.zero_variance_group_count,
            self.tasks,
            self.zero_variance_groups * 100.0,
            self.loss_excluded
        )?;
        let r = &self.run;
        write!(
            f,
            "this run: {} trajectories ({} resumed) in {:.2} s; {:.1} tokens/s, {:.1} tool calls/s; time in tools {:.1} %, in the model {:.1} %",
            r.trajectories,
            r.resumed,
            r.wall_s,
            r.tokens_per_s,
            r.tool_calls_per_s,
            r.tool_share * 100.0,
            r.model_share * 100.0
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(task: &str, sample: usize, em: f64, t: Termination, calls: usize) -> SummaryRow {
        SummaryRow {
            task_id: task.into(),
            sample,
            rewards: Rewards {
                exact_match: em,
                f1: em,
                ..Rewards::default()
            },
            termination: t,
            num_tool_calls: calls,
            loss_excluded: t == Termination::MaxTurns,
        }
    }

    #[test]
    fn pass_at_1_and_k_are_per_task() {
        let rows = [
            row("a", 0, 1.0, Termination::Answer, 2),
            row("a", 1, 0.0, Termination::MaxTurns, 4),
            row("b", 0, 0.0, Termination::Answer, 0),
            row("b", 1, 0.0, Termination::Answer, 0),
        ];
        let s = Summary::new(&rows, RunStats::default());
        assert_eq!(s.tasks, 2);
        assert_eq!(s.k, 2);
        assert!((s.pass_at_1 - 0.25).abs() < 1e-12);
        assert!((s.pass_at_k - 0.5).abs() < 1e-12);
        assert!((s.mean_tool_calls - 1.5).abs() < 1e-12);
        assert_eq!(s.terminations["answer"], 3);
        assert_eq!(s.terminations["max_turns"], 1);
        assert_eq!(s.judge_accuracy, None);
        // "a" is split (1 and 0), "b" is not (0 and 0).
        assert_eq!(s.zero_variance_group_count, 1);
        assert!((s.zero_variance_groups - 0.5).abs() < 1e-12);
        assert_eq!(s.loss_excluded, 1);
    }
}
