//! The local exported model behind `ChatBackend`: prompts are rendered with the model's
//! chat template, tokenized, and decoded by the continuous-batching engine.

use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;

use super::{ChatBackend, GenRequest, GenResult, Prompt};
use crate::chat_template::ChatTemplate;
use crate::engine::{Engine, EngineStats};
use crate::error::{PolicyError, Result};
use crate::generate::TokenRequest;
use crate::local::LocalModel;
use crate::runner::RunnerOptions;
use crate::tokenizer::TextTokenizer;

pub struct OnnxBackend {
    model_id: String,
    tokenizer: Arc<TextTokenizer>,
    template: Arc<ChatTemplate>,
    engine: Engine,
    context_length: usize,
}

impl OnnxBackend {
    /// Loads the exported model directory and starts the engine thread.
    pub fn load(dir: impl AsRef<Path>, options: &RunnerOptions, max_batch: usize) -> Result<Self> {
        let local = LocalModel::load(dir, options)?;
        let tokenizer = local.tokenizer.clone();
        let context_length = local.model.context_length();
        let (generator, dir, template) = local.into_generator();
        let engine = Engine::start(generator.with_max_batch(max_batch))?;
        Ok(OnnxBackend {
            model_id: dir.model_id(),
            tokenizer,
            template,
            engine,
            context_length,
        })
    }

    pub fn tokenizer(&self) -> &Arc<TextTokenizer> {
        &self.tokenizer
    }

    /// The prompt's token ids, as the model will see them.
    pub fn prompt_ids(&self, prompt: &Prompt) -> Result<Vec<u32>> {
        let text = match prompt {
            Prompt::Chat { messages, tools } => {
                self.template
                    .render(messages, tools.as_deref(), true, &serde_json::Map::new())?
            }
            Prompt::Text(text) => text.clone(),
        };
        self.tokenizer.encode(&text)
    }

    /// Stops the engine and returns its counters.
    pub fn shutdown(self) -> EngineStats {
        self.engine.shutdown()
    }
}

#[async_trait]
impl ChatBackend for OnnxBackend {
    fn model_id(&self) -> &str {
        &self.model_id
    }

    fn context_window(&self) -> Option<usize> {
        Some(self.context_length)
    }

    fn count_prompt_tokens(&self, prompt: &Prompt) -> Option<usize> {
        self.prompt_ids(prompt).ok().map(|ids| ids.len())
    }

    async fn generate(&self, requests: Vec<GenRequest>) -> Result<Vec<GenResult>> {
        // Tokenize everything first so a bad request fails the call before any decoding.
        let mut prompts = Vec::with_capacity(requests.len());
        for r in &requests {
            prompts.push(self.prompt_ids(&r.prompt)?);
        }
        let pending: Vec<_> = requests
            .into_iter()
            .zip(&prompts)
            .map(|(r, ids)| {
                self.engine.submit(TokenRequest {
                    prompt_ids: ids.clone(),
                    params: r.params,
                })
            })
            .collect();
        let mut out = Vec::with_capacity(pending.len());
        for (rx, prompt_ids) in pending.into_iter().zip(prompts) {
            let g = rx.await.map_err(|_| {
                PolicyError::EngineStopped("the engine dropped the request".into())
            })??;
            out.push(GenResult {
                text: g.text,
                finish_reason: g.finish_reason,
                prompt_tokens: Some(prompt_ids.len()),
                completion_tokens: Some(g.token_ids.len()),
                prompt_token_ids: Some(prompt_ids),
                token_ids: Some(g.token_ids),
                logprobs: Some(g.logprobs),
            });
        }
        Ok(out)
    }
}
