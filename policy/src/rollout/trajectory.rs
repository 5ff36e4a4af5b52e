//! What one (task, sample) produced: the JSON line of the trajectory file.
//!
//! Every field except `timings` is a function of (corpus snapshot, tools, backend, seed),
//! so two runs with a deterministic backend write byte-identical lines once `timings` is
//! removed. Maps are `BTreeMap`s and vectors keep call order for the same reason.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use simweb_tools::react::Message;

use super::agent::Paradigm;
use super::tokens::TokenSequence;

/// Why an episode ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Termination {
    /// The model gave an `<answer>`.
    Answer,
    /// The model-call budget ran out without an answer.
    MaxTurns,
    /// The context passed its limit (the configured budget or the model's own window),
    /// the forced-answer prompt was sent and the model still did not answer, or even the
    /// forced-answer prompt could not fit the model's window.
    Context,
    /// The episode's wall-clock budget ran out.
    WallTime,
    /// The backend failed (the message is in `error`).
    Error,
}

impl Termination {
    pub fn as_str(self) -> &'static str {
        match self {
            Termination::Answer => "answer",
            Termination::MaxTurns => "max_turns",
            Termination::Context => "context",
            Termination::WallTime => "wall_time",
            Termination::Error => "error",
        }
    }
}

/// One tool call the model asked for and what came back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolCallRecord {
    /// The model call (0-based, within its branch) that asked for it.
    pub turn: usize,
    /// `None` for a call that could not be read.
    pub name: Option<String>,
    pub arguments: Option<Value>,
    /// Exactly what the model was shown.
    pub result: String,
    /// `malformed_call: …`, `unknown_tool`, a tool error kind, `too_many_calls`. (Whether
    /// the tool cache answered is deliberately not recorded: it depends on what ran
    /// before, and the result is byte-identical either way.)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Doc ids and URLs the result showed the model (for evidence recall).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<String>,
}

/// Wall-clock accounting of an episode. Kept apart from everything else: the only
/// non-deterministic part of a trajectory.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Timings {
    /// From the episode's start to its end (branches of research-synthesis run in
    /// parallel, so their model/tool times may add up to more than this).
    pub wall_ms: f64,
    /// Waiting for the backend.
    pub model_ms: f64,
    /// Waiting for tools.
    pub tool_ms: f64,
}

impl Timings {
    pub(crate) fn add_model(&mut self, d: Duration) {
        self.model_ms += d.as_secs_f64() * 1e3;
    }
    pub(crate) fn add_tool(&mut self, d: Duration) {
        self.tool_ms += d.as_secs_f64() * 1e3;
    }
    pub(crate) fn absorb(&mut self, other: &Timings) {
        self.model_ms += other.model_ms;
        self.tool_ms += other.tool_ms;
    }
}

/// What one agent did: its conversation (or rounds), its model calls' tokens and its tool
/// calls.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Episode {
    /// ReAct: the conversation. IterResearch: the system prompt, then each round's
    /// workspace (a user turn the model saw alone after the system prompt) and reply.
    pub messages: Vec<Message>,
    /// Token ids, log-probs and loss masks; empty when the backend gives no token ids.
    pub sequences: Vec<TokenSequence>,
    pub tool_calls: Vec<ToolCallRecord>,
    pub model_calls: usize,
    /// Tokens the model generated (when the backend counts them).
    pub completion_tokens: usize,
    /// The text inside `<answer>`, if the model gave one.
    pub prediction: Option<String>,
    /// IterResearch: the last report the model wrote.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report: Option<String>,
    pub termination: Termination,
    /// The forced-answer prompt was sent (context limit reached).
    #[serde(default)]
    pub forced_answer: bool,
    /// ReAct: messages of `messages` (the oldest turns after the question) that were left
    /// out of the forced-answer prompt so that it fit the model's window; `messages` keeps
    /// the whole conversation and `sequences` hold exactly what the model saw.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub trimmed_messages: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(skip)]
    pub timings: Timings,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// The score of a trajectory.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Rewards {
    /// Normalised exact match against the best gold answer (0 without a prediction).
    pub exact_match: f64,
    /// Token F1 against the best gold answer.
    pub f1: f64,
    /// The LLM judge's verdict, when a judge is configured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub judge: Option<super::judge::JudgeVerdict>,
    /// Share of the task's evidence documents that tool results showed the model; absent
    /// when the task lists no evidence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence_recall: Option<f64>,
}

/// One line of the trajectory file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Trajectory {
    pub task_id: String,
    pub sample: usize,
    /// This sample's seed (derived from the run seed, the task id and the sample index).
    pub seed: u64,
    pub paradigm: Paradigm,
    pub snapshot_id: String,
    pub model_id: String,
    pub question: String,
    pub answers: Vec<String>,
    pub rewards: Rewards,
    /// The GRPO group: the task id (see [`group`](super::group)).
    #[serde(default)]
    pub group: String,
    /// Samples in the group when it was written; absent in files from before groups.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_size: Option<usize>,
    /// Leave-one-out advantage: this sample's exact match minus the mean of the group's
    /// other samples (0 in a group of one). The advantages of a group sum to zero.
    #[serde(default)]
    pub advantage: f64,
    /// Tongyi's loss filter: cut off by `max_turns`, `context` or `wall_time` without an
    /// answer (see [`group::excluded_from_loss`](super::group::excluded_from_loss)).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub loss_excluded: bool,
    /// Tool calls over the whole trajectory, branches included.
    pub num_tool_calls: usize,
    /// `tool_calls` by tool name (malformed calls under `<malformed>`).
    pub tool_call_counts: BTreeMap<String, usize>,
    #[serde(flatten)]
    pub episode: Episode,
    /// research-synthesis: the parallel IterResearch agents whose reports were
    /// synthesised (`episode` is then the synthesis call).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub branches: Vec<Episode>,
    pub timings: Timings,
}

impl Trajectory {
    /// Every tool call of the trajectory, branches first.
    pub fn all_tool_calls(&self) -> impl Iterator<Item = &ToolCallRecord> {
        self.branches
            .iter()
            .flat_map(|b| b.tool_calls.iter())
            .chain(self.episode.tool_calls.iter())
    }

    /// Tokens generated over the whole trajectory, branches included.
    pub fn completion_tokens(&self) -> usize {
        self.episode.completion_tokens
            + self
                .branches
                .iter()
                .map(|b| b.completion_tokens)
                .sum::<usize>()
    }
}
