//! Canned assistant turns from a JSONL file, for tests and for measuring the environment
//! without a model. Stateless and deterministic: a request is answered by the conversation
//! whose `key` occurs in its first user message (or the one without a key), at the turn
//! given by the number of assistant messages already in the request.
//!
//! One line per conversation: `{"key": "question 7", "turns": ["<think>..", "..."]}`.
//!
//! With [`ScriptedBackend::with_tokenizer`] it also reports token ids as a model with that
//! tokenizer and chat template would have seen and written them (the turn's text, then
//! the end-of-turn token), so rollouts over a script carry real token ids and loss masks.
//! [`ScriptedBackend::with_context_window`] adds the model's context window: prompts that
//! leave no room in it are refused as the local engine refuses them, so a script exercises
//! an agent's context limits the way the model it stands in for would.

use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::{cut_at_stop, ChatBackend, GenRequest, GenResult, Prompt};
use crate::chat_template::ChatTemplate;
use crate::error::{PolicyError, Result};
use crate::generate::FinishReason;
use crate::tokenizer::TextTokenizer;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScriptedConversation {
    /// Matched as a substring of the first user message; `None` matches any request that
    /// no keyed conversation matches.
    #[serde(default)]
    pub key: Option<String>,
    pub turns: Vec<String>,
}

pub struct ScriptedBackend {
    model_id: String,
    conversations: Vec<ScriptedConversation>,
    tokens: Option<(Arc<TextTokenizer>, Arc<ChatTemplate>)>,
    context_window: Option<usize>,
}

impl ScriptedBackend {
    pub fn new(conversations: Vec<ScriptedConversation>) -> Self {
        ScriptedBackend {
            model_id: "scripted".into(),
            conversations,
            tokens: None,
            context_window: None,
        }
    }

    /// Reports prompt and completion token ids (no log-probs) as a model with this
    /// tokenizer and chat template would have.
    pub fn with_tokenizer(
        mut self,
        tokenizer: Arc<TextTokenizer>,
        template: Arc<ChatTemplate>,
    ) -> Self {
        self.tokens = Some((tokenizer, template));
        self
    }

    /// Acts as a model with a context window of `tokens`: reports it, and refuses a prompt
    /// of `tokens` or more with [`PolicyError::ContextOverflow`], as the local engine does.
    /// Needs [`ScriptedBackend::with_tokenizer`] to count (without it nothing is refused).
    pub fn with_context_window(mut self, tokens: usize) -> Self {
        self.context_window = Some(tokens);
        self
    }

    /// The prompt's token ids under the tokenizer and chat template, when there are any.
    fn prompt_ids(&self, prompt: &Prompt) -> Option<Result<Vec<u32>>> {
        let (tokenizer, template) = self.tokens.as_ref()?;
        let text = match prompt {
            Prompt::Chat { messages, tools } => {
                match template.render(messages, tools.as_deref(), true, &serde_json::Map::new()) {
                    Ok(text) => text,
                    Err(e) => return Some(Err(e)),
                }
            }
            Prompt::Text(text) => text.clone(),
        };
        Some(tokenizer.encode(&text))
    }

    /// Reads a JSONL script; a bad line is an error naming the line.
    pub fn from_jsonl(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| PolicyError::file(path, e))?;
        let mut conversations = Vec::new();
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let conv: ScriptedConversation = serde_json::from_str(line)
                .map_err(|e| PolicyError::Script(format!("{}:{}: {e}", path.display(), i + 1)))?;
            conversations.push(conv);
        }
        let mut backend = Self::new(conversations);
        backend.model_id = format!(
            "scripted:{}",
            path.file_name()
                .map(|n| n.to_string_lossy())
                .unwrap_or_default()
        );
        Ok(backend)
    }

    fn answer(&self, request: &GenRequest) -> Result<GenResult> {
        let (first_user, turn) = match &request.prompt {
            Prompt::Chat { messages, .. } => (
                messages
                    .iter()
                    .find(|m| m.role == "user")
                    .map(|m| m.content.as_str())
                    .unwrap_or(""),
                messages.iter().filter(|m| m.role == "assistant").count(),
            ),
            Prompt::Text(text) => (
                text.as_str(),
                text.matches("<|im_start|>assistant")
                    .count()
                    .saturating_sub(1),
            ),
        };
        let conv = self
            .conversations
            .iter()
            .find(|c| c.key.as_deref().is_some_and(|k| first_user.contains(k)))
            .or_else(|| self.conversations.iter().find(|c| c.key.is_none()))
            .ok_or_else(|| {
                PolicyError::Script(format!(
                    "no conversation matches the question {:?}",
                    truncate(first_user)
                ))
            })?;
        let content = conv.turns.get(turn).ok_or_else(|| {
            PolicyError::Script(format!(
                "conversation {:?} has {} turns; turn {} was requested",
                conv.key,
                conv.turns.len(),
                turn + 1
            ))
        })?;
        let (text, finish_reason) = match cut_at_stop(content, &request.params.stop) {
            Some((at, stop)) => (content[..at].to_owned(), FinishReason::StopString { stop }),
            None => (content.clone(), FinishReason::Stop),
        };
        let prompt_token_ids = self.prompt_ids(&request.prompt).transpose()?;
        if let (Some(ids), Some(window)) = (&prompt_token_ids, self.context_window) {
            if ids.len() >= window {
                return Err(PolicyError::ContextOverflow(format!(
                    "prompt of {} tokens leaves no room in the context of {window}",
                    ids.len()
                )));
            }
        }
        let token_ids = match &self.tokens {
            Some((tokenizer, template)) => {
                let mut ids = tokenizer.encode(&text)?;
                // A model ends its turn with the end-of-turn token; a stop string cuts
                // the text before it is reached.
                if finish_reason == FinishReason::Stop {
                    if let Some(eos) = tokenizer.token_to_id(template.eos_token()) {
                        ids.push(eos);
                    }
                }
                Some(ids)
            }
            None => None,
        };
        Ok(GenResult {
            text,
            finish_reason,
            prompt_tokens: prompt_token_ids.as_ref().map(Vec::len),
            completion_tokens: token_ids.as_ref().map(Vec::len),
            prompt_token_ids,
            token_ids,
            logprobs: None,
        })
    }
}

fn truncate(s: &str) -> String {
    s.chars().take(80).collect()
}

#[async_trait]
impl ChatBackend for ScriptedBackend {
    fn model_id(&self) -> &str {
        &self.model_id
    }

    async fn generate(&self, requests: Vec<GenRequest>) -> Result<Vec<GenResult>> {
        requests.iter().map(|r| self.answer(r)).collect()
    }

    fn context_window(&self) -> Option<usize> {
        self.context_window
    }

    fn count_prompt_tokens(&self, prompt: &Prompt) -> Option<usize> {
        self.prompt_ids(prompt)?.ok().map(|ids| ids.len())
    }
}
