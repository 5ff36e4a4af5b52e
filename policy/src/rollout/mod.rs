//! Rollouts: agents acting in simweb with a [`ChatBackend`](crate::ChatBackend) policy,
//! producing scored trajectories for RL (`simweb rollout`).
//!
//! One concern per module:
//! - [`task`]: the task file (`{id, question, answers[], evidence[]}` JSONL).
//! - [`seed`]: per-sample and per-call seeds derived from the run seed (never the clock).
//! - [`tokens`]: token ids, log-probs and the loss mask of the model calls.
//! - [`env`]: running the model's tool calls through the [`Toolbox`](simweb_tools::Toolbox).
//! - [`agent`]: what every paradigm shares (settings, the model call, the episode record).
//! - [`react`]: ReAct in the Tongyi DeepResearch protocol.
//! - [`iter_research`]: IterResearch (a rebuilt workspace per round) and research-synthesis.
//! - [`judge`], [`reward`]: exact match / F1, the LLM judge, evidence recall.
//! - [`trajectory`]: the JSON line written per (task, sample).
//! - [`group`]: GRPO groups: leave-one-out advantages and the loss filter.
//! - [`output`]: the crash-safe trajectory file (append + fsync, resume).
//! - [`curate`]: task curation by rollout pass rates, and the SFT set (`simweb tasks curate`).
//! - [`summary`]: Pass@1, Pass@k, terminations, throughput, tool share of wall time.
//! - [`runner`]: many episodes at once, written in a deterministic order, with progress.

pub mod agent;
pub mod curate;
pub mod env;
pub mod error;
pub mod group;
pub mod iter_research;
pub mod judge;
pub mod output;
pub mod react;
pub mod reward;
pub mod runner;
pub mod seed;
pub mod summary;
pub mod task;
pub mod tokens;
pub mod trajectory;

pub use agent::{AgentConfig, ContextLimits, Paradigm};
pub use curate::{
    curate, CurateOptions, CurateReport, Curation, Metric, PerTask, SftOptions, SftReport,
};
pub use error::RolloutError;
pub use judge::{Judge, JudgeVerdict};
pub use runner::{Progress, RolloutConfig, RolloutRunner};
pub use summary::Summary;
pub use task::{read_task_lines, read_tasks, Task, TaskLine};
pub use tokens::TokenSequence;
pub use trajectory::{Episode, Rewards, Termination, Timings, ToolCallRecord, Trajectory};
