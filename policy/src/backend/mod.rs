//! The policy behind one trait: the local ONNX model, any OpenAI-compatible server (vLLM,
//! SGLang: how users scale past one machine) or a script of canned turns (tests).

mod onnx;
mod openai;
mod scripted;

pub use onnx::OnnxBackend;
pub use openai::{OpenAiBackend, OpenAiConfig};
pub use scripted::{ScriptedBackend, ScriptedConversation};

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::chat_template::ChatMessage;
use crate::error::Result;
use crate::generate::FinishReason;
use crate::sampling::SamplingParams;

/// What the model is asked to continue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Prompt {
    /// Chat turns, rendered with the model's chat template (with a generation prompt).
    Chat {
        messages: Vec<ChatMessage>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        tools: Option<Vec<serde_json::Value>>,
    },
    /// Raw prompt text, tokenized as is.
    Text(String),
}

impl Prompt {
    pub fn chat(messages: Vec<ChatMessage>) -> Self {
        Prompt::Chat {
            messages,
            tools: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GenRequest {
    pub prompt: Prompt,
    pub params: SamplingParams,
}

/// One completion. Token-level fields are `None` when the backend cannot give them (a
/// server that returns no logprobs, the scripted backend).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GenResult {
    pub text: String,
    pub finish_reason: FinishReason,
    pub prompt_token_ids: Option<Vec<u32>>,
    pub token_ids: Option<Vec<u32>>,
    /// Log-probability of every generated token.
    pub logprobs: Option<Vec<f32>>,
    pub prompt_tokens: Option<usize>,
    pub completion_tokens: Option<usize>,
}

/// A policy that turns prompts into completions. Implementations batch the requests of
/// one call and of concurrent calls as they can.
#[async_trait]
pub trait ChatBackend: Send + Sync {
    /// The model id recorded in trajectories.
    fn model_id(&self) -> &str;

    /// Completes every request; results in request order.
    async fn generate(&self, requests: Vec<GenRequest>) -> Result<Vec<GenResult>>;

    /// The model's context window in tokens (prompt + completion), when the backend knows
    /// it. Agents keep their conversations under it (see
    /// [`AgentCtx::context_limits`](crate::rollout::agent::AgentCtx::context_limits)):
    /// a configured budget larger than the model's window would otherwise end episodes
    /// with a rejected prompt instead of the forced-answer turn.
    fn context_window(&self) -> Option<usize> {
        None
    }

    /// The prompt's length in tokens exactly as the model will see it (chat template
    /// applied), when the backend can count without generating; `None` otherwise (a remote
    /// server) or when the prompt cannot be rendered (generation then reports why).
    fn count_prompt_tokens(&self, _prompt: &Prompt) -> Option<usize> {
        None
    }

    /// Completes one request.
    async fn generate_one(&self, request: GenRequest) -> Result<GenResult> {
        let mut out = self.generate(vec![request]).await?;
        out.pop().ok_or_else(|| {
            crate::PolicyError::EngineStopped("the backend returned no result".into())
        })
    }
}

/// Cuts `text` before the first of `stops` (what a server does with stop strings).
pub(crate) fn cut_at_stop(text: &str, stops: &[String]) -> Option<(usize, String)> {
    stops
        .iter()
        .filter_map(|s| text.find(s.as_str()).map(|at| (at, s.clone())))
        .min_by_key(|(at, _)| *at)
}
