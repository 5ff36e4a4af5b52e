//! Seeds for samples and model calls, derived by hashing so that the same run seed gives
//! the same trajectories whatever the concurrency, the order episodes finish in, or a
//! restart in between (a resumed run recomputes exactly the seeds it skipped to).

use sha2::{Digest, Sha256};

/// The seed of sample `sample` of task `task_id` (a member of a GRPO group).
pub fn sample_seed(run_seed: u64, task_id: &str, sample: usize) -> u64 {
    hash_u64(&[
        b"simweb-rollout/sample/v1",
        &run_seed.to_le_bytes(),
        task_id.as_bytes(),
        &(sample as u64).to_le_bytes(),
    ])
}

/// The sampling seed of model call `call` of branch `branch` of an episode (branch 0 is
/// the main agent; research-synthesis numbers its parallel agents from 1).
pub fn call_seed(episode_seed: u64, branch: usize, call: usize) -> u64 {
    hash_u64(&[
        b"simweb-rollout/call/v1",
        &episode_seed.to_le_bytes(),
        &(branch as u64).to_le_bytes(),
        &(call as u64).to_le_bytes(),
    ])
}

/// The seed of a research-synthesis branch.
pub fn branch_seed(episode_seed: u64, branch: usize) -> u64 {
    hash_u64(&[
        b"simweb-rollout/branch/v1",
        &episode_seed.to_le_bytes(),
        &(branch as u64).to_le_bytes(),
    ])
}

fn hash_u64(parts: &[&[u8]]) -> u64 {
    let mut hasher = Sha256::new();
    for part in parts {
        // Length-prefixed so that ("ab", "c") and ("a", "bc") differ.
        hasher.update((part.len() as u64).to_le_bytes());
        hasher.update(part);
    }
    let digest = hasher.finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    u64::from_le_bytes(first)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeds_are_stable_and_distinct() {
        assert_eq!(sample_seed(7, "t1", 0), sample_seed(7, "t1", 0));
        assert_ne!(sample_seed(7, "t1", 0), sample_seed(7, "t1", 1));
        assert_ne!(sample_seed(7, "t1", 0), sample_seed(8, "t1", 0));
        assert_ne!(sample_seed(7, "t1", 0), sample_seed(7, "t2", 0));
        assert_ne!(call_seed(1, 0, 0), call_seed(1, 0, 1));
        assert_ne!(call_seed(1, 0, 0), call_seed(1, 1, 0));
        assert_ne!(branch_seed(1, 1), branch_seed(1, 2));
    }
}
