//! The agent side of simweb: run a policy model and produce what RL needs from it.
//!
//! - [`runner`]: an exported decoder (ONNX Runtime GenAI layout) under ONNX Runtime, one
//!   batched forward pass with per-sequence KV caches (fp32/fp16/bf16 as declared).
//! - [`generate`]: batched generation (sampling, stop strings, per-token log-probabilities).
//! - [`engine`]: continuous batching on a dedicated thread.
//! - [`backend`]: the [`ChatBackend`] trait over the local model, an OpenAI-compatible
//!   server, or a script of canned turns.
//! - [`chat_template`], [`tokenizer`]: the model's own Jinja chat template and tokenizer.
//! - [`rollout`]: agents (ReAct, IterResearch, research-synthesis) over simweb's tools,
//!   scored and written as RL trajectories (`simweb rollout`).

pub mod backend;
pub mod chat_template;
pub mod engine;
pub mod error;
pub mod generate;
pub mod local;
pub mod model_dir;
pub mod rollout;
pub mod runner;
pub mod runtime;
pub mod sampling;
pub mod tokenizer;

pub use backend::{
    ChatBackend, GenRequest, GenResult, OnnxBackend, OpenAiBackend, OpenAiConfig, Prompt,
    ScriptedBackend, ScriptedConversation,
};
pub use chat_template::{ChatMessage, ChatTemplate};
pub use engine::{Engine, EngineStats};
pub use error::PolicyError;
pub use generate::{FinishReason, Generation, Generator, TokenRequest};
pub use local::LocalModel;
pub use runner::{OnnxModel, RunnerOptions};
pub use runtime::ExecutionProvider;
pub use sampling::{Sampler, SamplingParams};
pub use tokenizer::TextTokenizer;
