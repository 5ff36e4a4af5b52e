//! Failures of a rollout run as a whole. A failing episode is not one of them: its
//! trajectory is written with termination `error` and the run goes on.

use std::path::PathBuf;

use crate::error::PolicyError;

#[derive(Debug, thiserror::Error)]
pub enum RolloutError {
    /// The task file cannot be read, or a line of it is not a task.
    #[error("{path}:{line}: {reason}")]
    Tasks {
        path: PathBuf,
        /// 1-based; 0 when the file itself is the problem.
        line: usize,
        reason: String,
    },
    /// A trajectory file read as input (curation) is unreadable, or a line of it is not a
    /// trajectory.
    #[error("{path}:{line}: {reason}")]
    Trajectories {
        path: PathBuf,
        /// 1-based; 0 when the file itself is the problem.
        line: usize,
        reason: String,
    },
    /// A derived file (curated tasks, report, SFT set) cannot be written.
    #[error("writing {path}: {reason}")]
    Write { path: PathBuf, reason: String },
    /// The trajectory file cannot be read, repaired or appended to.
    #[error("trajectory file {path}: {reason}")]
    Output { path: PathBuf, reason: String },
    /// A setting that cannot work (zero samples, zero concurrency...).
    #[error("invalid rollout settings: {0}")]
    Config(String),
    #[error(transparent)]
    Policy(#[from] PolicyError),
}

impl RolloutError {
    pub(crate) fn output(path: impl Into<PathBuf>, reason: impl std::fmt::Display) -> Self {
        RolloutError::Output {
            path: path.into(),
            reason: reason.to_string(),
        }
    }
}
