//! What every paradigm shares: the settings of an agent, the one way to call the model
//! (seeded per call, timed, bounded by the episode's wall-clock budget) and the episode
//! under construction.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use simweb_tools::react::{
    self, Message, PromptTemplate, Role, DEFAULT_CURRENT_DATE, DEFAULT_MAX_CONTEXT_TOKENS,
};

use super::env::ToolEnv;
use super::runner::Progress;
use super::seed::call_seed;
use super::tokens::TokenLedger;
use super::trajectory::{Episode, Termination, Timings, ToolCallRecord};
use crate::backend::{ChatBackend, GenRequest, GenResult, Prompt};
use crate::chat_template::ChatMessage;
use crate::sampling::SamplingParams;

/// How the agent works a task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Paradigm {
    /// One growing conversation (Tongyi DeepResearch's ReAct mode).
    React,
    /// A small workspace rebuilt every round from the question, the report and the last
    /// tool response (Tongyi's "Heavy"/deep mode).
    IterResearch,
    /// Several IterResearch agents in parallel, then one synthesis call over their reports.
    Synthesis,
}

impl std::str::FromStr for Paradigm {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "react" => Ok(Paradigm::React),
            "iter-research" | "iterresearch" => Ok(Paradigm::IterResearch),
            "synthesis" | "research-synthesis" => Ok(Paradigm::Synthesis),
            other => Err(format!(
                "unknown paradigm {other:?} (react, iter-research, synthesis)"
            )),
        }
    }
}

/// Limits and prompts of an agent.
#[derive(Debug, Clone)]
pub struct AgentConfig {
    /// Model calls per episode (per branch for research-synthesis). Tongyi: 100.
    pub max_turns: usize,
    /// Past this many tokens the forced-answer prompt replaces the last observation.
    /// Capped by the model's own window (see [`AgentCtx::context_limits`]).
    pub max_context_tokens: usize,
    /// Wall-clock budget of one episode.
    pub max_wall: Duration,
    /// Tool calls run per model turn (see [`ToolEnv`]).
    pub max_calls_per_turn: usize,
    /// Sampling for every model call; the seed is replaced per call.
    pub sampling: SamplingParams,
    pub prompt: PromptTemplate,
    /// The episode's fixed "current date" in the system prompt.
    pub date: String,
    /// Research-synthesis: IterResearch agents run in parallel.
    pub synthesis_agents: usize,
}

impl Default for AgentConfig {
    /// Tongyi DeepResearch's inference settings.
    fn default() -> Self {
        AgentConfig {
            max_turns: 100,
            max_context_tokens: DEFAULT_MAX_CONTEXT_TOKENS,
            max_wall: Duration::from_secs(150 * 60),
            max_calls_per_turn: 5,
            sampling: tongyi_sampling(),
            prompt: PromptTemplate::default(),
            date: DEFAULT_CURRENT_DATE.to_owned(),
            synthesis_agents: 3,
        }
    }
}

/// temperature 0.6, top_p 0.95, presence penalty 1.1, stop before a hallucinated
/// `<tool_response>` (RECIPES §4).
pub fn tongyi_sampling() -> SamplingParams {
    // The seed is replaced per model call (derived from the run seed, task and sample).
    SamplingParams::tongyi(0)
}

/// Everything one agent (one branch of an episode) needs.
#[derive(Clone)]
pub struct AgentCtx {
    pub backend: Arc<dyn ChatBackend>,
    pub tools: ToolEnv,
    pub schemas: Arc<Vec<Value>>,
    pub config: Arc<AgentConfig>,
    /// The sample's seed; calls derive theirs from it.
    pub seed: u64,
    /// 0 for the main agent; research-synthesis numbers its agents from 1.
    pub branch: usize,
    /// Tool-layer client id (per-client quotas).
    pub client: String,
    /// When the episode's wall-clock budget started.
    pub started: Instant,
    pub progress: Option<Arc<Progress>>,
}

/// How long an agent's prompts may grow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContextLimits {
    /// Past this many tokens the agent sends the forced-answer prompt: the configured
    /// `max_context_tokens`, or the model's window less room for a reply when smaller.
    pub budget: usize,
    /// The longest prompt the model can take and still reply (window less reply room);
    /// `None` when the backend does not know its window. Only this limit is enforced
    /// before a call (by counting the prompt's real tokens and, for the forced-answer
    /// prompt, leaving out the oldest turns); `budget` is Tongyi's softer rule.
    pub prompt_limit: Option<usize>,
}

impl ContextLimits {
    /// `max_context_tokens` capped by a window of `window` tokens less room for a reply:
    /// `max_new_tokens`, but at most an eighth of the window, so a per-call cap as large
    /// as the window (the CLI's default 8,192 against a 4,096-token model) still leaves
    /// most of the window to the conversation.
    pub fn new(max_context_tokens: usize, window: Option<usize>, max_new_tokens: usize) -> Self {
        let prompt_limit = window.map(|w| w.saturating_sub(max_new_tokens.min(w / 8).max(1)));
        ContextLimits {
            budget: prompt_limit.map_or(max_context_tokens, |l| l.min(max_context_tokens)),
            prompt_limit,
        }
    }
}

/// The outcome of one model call.
pub(crate) enum Called {
    Done(GenResult),
    /// The backend failed; the message goes into the episode.
    Failed(String),
    /// The prompt did not fit the model's context window (the backend refused it): the
    /// agent recovers with the forced-answer prompt, or ends the episode as `context`.
    Overflow,
    /// The wall-clock budget ran out (before or during the call).
    OutOfTime,
}

impl AgentCtx {
    /// The system prompt: the template with the tool schemas and the fixed date.
    pub fn system_prompt(&self) -> String {
        self.config.prompt.render(&self.schemas, &self.config.date)
    }

    /// The context limits of this agent: the configured budget and the backend's window.
    pub fn context_limits(&self) -> ContextLimits {
        ContextLimits::new(
            self.config.max_context_tokens,
            self.backend.context_window(),
            self.config.sampling.max_new_tokens,
        )
    }

    /// The prompt's real length in tokens, when the backend can count it.
    pub(crate) fn count_tokens(&self, messages: &[Message]) -> Option<usize> {
        self.backend.count_prompt_tokens(&chat_prompt(messages))
    }

    fn remaining(&self) -> Option<Duration> {
        self.config.max_wall.checked_sub(self.started.elapsed())
    }

    /// Calls the model on `messages` as call number `call` of this branch.
    pub(crate) async fn call_model(
        &self,
        messages: &[Message],
        call: usize,
        timings: &mut Timings,
    ) -> Called {
        let Some(remaining) = self.remaining().filter(|r| !r.is_zero()) else {
            return Called::OutOfTime;
        };
        let mut params = self.config.sampling.clone();
        params.seed = call_seed(self.seed, self.branch, call);
        let request = GenRequest {
            prompt: chat_prompt(messages),
            params,
        };
        let started = Instant::now();
        let outcome = tokio::time::timeout(remaining, self.backend.generate_one(request)).await;
        timings.add_model(started.elapsed());
        match outcome {
            Err(_) => Called::OutOfTime,
            Ok(Err(crate::PolicyError::ContextOverflow(_))) => Called::Overflow,
            Ok(Err(e)) => Called::Failed(e.to_string()),
            Ok(Ok(result)) => {
                if let Some(p) = &self.progress {
                    p.tokens.fetch_add(
                        result.completion_tokens.unwrap_or(0) as u64,
                        Ordering::Relaxed,
                    );
                }
                Called::Done(result)
            }
        }
    }

    /// Runs a turn's tool calls, counting them for the progress line.
    pub(crate) async fn run_calls(
        &self,
        turn: usize,
        calls: Vec<Result<react::ToolCall, react::MalformedCall>>,
        timings: &mut Timings,
    ) -> Vec<ToolCallRecord> {
        let records = self
            .tools
            .run_calls(turn, calls, &self.client, timings)
            .await;
        if let Some(p) = &self.progress {
            p.tool_calls
                .fetch_add(records.len() as u64, Ordering::Relaxed);
        }
        records
    }
}

fn chat_prompt(messages: &[Message]) -> Prompt {
    Prompt::chat(messages.iter().map(chat_message).collect())
}

pub(crate) fn chat_message(m: &Message) -> ChatMessage {
    let role = match m.role {
        Role::System => "system",
        Role::User => "user",
        Role::Assistant => "assistant",
    };
    ChatMessage::new(role, m.content.clone())
}

/// An episode being built, turned into an [`Episode`] when it ends.
#[derive(Default)]
pub(crate) struct EpisodeBuilder {
    pub messages: Vec<Message>,
    pub ledger: TokenLedger,
    pub tool_calls: Vec<ToolCallRecord>,
    pub model_calls: usize,
    pub completion_tokens: usize,
    pub prediction: Option<String>,
    pub report: Option<String>,
    pub forced_answer: bool,
    pub trimmed_messages: usize,
    pub error: Option<String>,
    pub timings: Timings,
}

impl EpisodeBuilder {
    /// Counts a finished model call and records its tokens.
    pub fn record_call(&mut self, result: &GenResult, continue_sequence: bool) {
        self.model_calls += 1;
        self.completion_tokens += result
            .completion_tokens
            .or(result.token_ids.as_ref().map(Vec::len))
            .unwrap_or(0);
        self.ledger.record(result, continue_sequence);
    }

    pub fn finish(self, termination: Termination, started: Instant) -> Episode {
        let mut timings = self.timings;
        timings.wall_ms = started.elapsed().as_secs_f64() * 1e3;
        Episode {
            messages: self.messages,
            sequences: self.ledger.into_sequences(),
            tool_calls: self.tool_calls,
            model_calls: self.model_calls,
            completion_tokens: self.completion_tokens,
            prediction: self.prediction,
            report: self.report,
            termination,
            forced_answer: self.forced_answer,
            trimmed_messages: self.trimmed_messages,
            error: self.error,
            timings,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_model_window_caps_the_configured_budget() {
        // The CLI's defaults against the 4,096-token fixture: a reply keeps an eighth.
        let l = ContextLimits::new(110_000, Some(4096), 8192);
        assert_eq!(l.prompt_limit, Some(3584));
        assert_eq!(l.budget, 3584);
        // A small per-call cap leaves the rest to the conversation.
        assert_eq!(ContextLimits::new(110_000, Some(4096), 300).budget, 3796);
        // A configured budget under the window wins; no window, no prompt limit.
        let l = ContextLimits::new(110_000, Some(131_072), 8192);
        assert_eq!((l.budget, l.prompt_limit), (110_000, Some(122_880)));
        assert_eq!(
            ContextLimits::new(1200, None, 8192),
            ContextLimits {
                budget: 1200,
                prompt_limit: None
            }
        );
    }
}
