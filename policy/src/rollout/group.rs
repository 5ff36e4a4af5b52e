//! GRPO groups: the `--samples N` trajectories of one task, scored against each other.
//!
//! Each line of a group carries what a GRPO-style trainer needs without re-reading the
//! file: `group` (the task id), `group_size`, the sample's `advantage` and whether the
//! sample is `loss_excluded`.
//!
//! - Advantage: leave-one-out, `r_i - mean(r_j, j != i)` with `r` = exact match (RLOO's
//!   baseline; Tongyi DeepResearch's agentic RL estimates advantages this way). The baseline leaves the
//!   sample itself out, so it is unbiased; the advantages of a group sum to zero, and a
//!   group whose samples all scored the same (all solved or none) gives zero everywhere:
//!   no learning signal (the summary reports the share of such groups). A group of one has
//!   advantage 0. Every sample counts in the baseline, excluded ones included: they are
//!   real outcomes of the policy.
//! - Loss exclusion: the negatives Tongyi's recipe filters out of the loss, episodes cut
//!   off by a limit before they could answer (termination `max_turns`, `context` or
//!   `wall_time`, and no prediction). Penalising them teaches the model to stop early
//!   rather than to research better, and their length dominates a batch. Wrong answers and
//!   backend `error`s are not marked: the first are the signal, the second are failures
//!   of the run, visible in `termination`.

use super::trajectory::{Episode, Termination, Trajectory};

/// Leave-one-out advantages of a group's rewards, in the same order.
pub fn leave_one_out_advantages(rewards: &[f64]) -> Vec<f64> {
    let n = rewards.len();
    if n < 2 {
        return vec![0.0; n];
    }
    let sum: f64 = rewards.iter().sum();
    rewards
        .iter()
        .map(|r| r - (sum - r) / (n - 1) as f64)
        .collect()
}

/// Whether Tongyi's recipe leaves this episode out of the loss: cut off by a turn,
/// context or wall-clock limit without an answer.
pub fn excluded_from_loss(episode: &Episode) -> bool {
    matches!(
        episode.termination,
        Termination::MaxTurns | Termination::Context | Termination::WallTime
    ) && episode.prediction.is_none()
}

/// Fills `group`, `group_size`, `advantage` and `loss_excluded` of a finished group (all
/// samples of one task).
pub fn finish_group(group: &mut [Trajectory]) {
    let rewards: Vec<f64> = group.iter().map(|t| t.rewards.exact_match).collect();
    let size = group.len();
    for (t, advantage) in group.iter_mut().zip(leave_one_out_advantages(&rewards)) {
        t.group = t.task_id.clone();
        t.group_size = Some(size);
        t.advantage = advantage;
        t.loss_excluded = excluded_from_loss(&t.episode);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leave_one_out_advantages_sum_to_zero() {
        assert_eq!(leave_one_out_advantages(&[1.0]), vec![0.0]);
        assert_eq!(leave_one_out_advantages(&[1.0, 0.0]), vec![1.0, -1.0]);
        assert_eq!(leave_one_out_advantages(&[1.0, 1.0, 1.0]), vec![0.0; 3]);
        let a = leave_one_out_advantages(&[1.0, 0.0, 0.0, 1.0, 0.5]);
        assert!((a[0] - (1.0 - 1.5 / 4.0)).abs() < 1e-12);
        assert!(a.iter().sum::<f64>().abs() < 1e-12);
    }
}
