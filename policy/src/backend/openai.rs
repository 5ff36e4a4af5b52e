//! Any OpenAI-compatible server (vLLM, SGLang, a hosted API): `/chat/completions` for chat
//! prompts, `/completions` for raw text. Requests of one call run concurrently; the server
//! does the batching. Log-probabilities are asked for and returned when the server gives
//! them; with `token_ids` (vLLM's `return_tokens_as_token_ids`) the token ids too.

use std::time::Duration;

use async_trait::async_trait;
use serde_json::{json, Value};

use super::{ChatBackend, GenRequest, GenResult, Prompt};
use crate::error::{PolicyError, Result};
use crate::generate::FinishReason;

#[derive(Debug, Clone)]
pub struct OpenAiConfig {
    /// e.g. `http://127.0.0.1:8000/v1`
    pub base_url: String,
    pub model: String,
    pub api_key: Option<String>,
    pub timeout: Duration,
    /// Ask for token ids in the logprobs (vLLM `return_tokens_as_token_ids`).
    pub token_ids: bool,
}

impl OpenAiConfig {
    pub fn new(base_url: impl Into<String>, model: impl Into<String>) -> Self {
        OpenAiConfig {
            base_url: base_url.into(),
            model: model.into(),
            api_key: None,
            timeout: Duration::from_secs(600),
            token_ids: false,
        }
    }
}

pub struct OpenAiBackend {
    config: OpenAiConfig,
    client: reqwest::Client,
}

impl OpenAiBackend {
    pub fn new(config: OpenAiConfig) -> Result<Self> {
        let client = reqwest::Client::builder()
            .timeout(config.timeout)
            .build()
            .map_err(|e| PolicyError::Http {
                url: config.base_url.clone(),
                reason: format!("building the client: {e}"),
            })?;
        Ok(OpenAiBackend { config, client })
    }

    fn body(&self, request: &GenRequest) -> (String, Value) {
        let p = &request.params;
        let mut body = json!({
            "model": self.config.model,
            "temperature": p.temperature,
            "top_p": p.top_p,
            "max_tokens": p.max_new_tokens,
            "presence_penalty": p.presence_penalty,
            "seed": p.seed,
        });
        if p.top_k > 0 {
            body["top_k"] = json!(p.top_k); // vLLM/SGLang extension
        }
        if !p.stop.is_empty() {
            body["stop"] = json!(p.stop);
        }
        if !p.stop_token_ids.is_empty() {
            body["stop_token_ids"] = json!(p.stop_token_ids); // vLLM extension
        }
        if self.config.token_ids {
            body["return_tokens_as_token_ids"] = json!(true);
        }
        let base = self.config.base_url.trim_end_matches('/');
        match &request.prompt {
            Prompt::Chat { messages, tools } => {
                body["messages"] = json!(messages);
                if let Some(tools) = tools {
                    body["tools"] = json!(tools);
                }
                body["logprobs"] = json!(true);
                (format!("{base}/chat/completions"), body)
            }
            Prompt::Text(text) => {
                body["prompt"] = json!(text);
                body["logprobs"] = json!(1);
                (format!("{base}/completions"), body)
            }
        }
    }

    async fn one(&self, request: GenRequest) -> Result<GenResult> {
        let (url, body) = self.body(&request);
        let err = |reason: String| PolicyError::Http {
            url: url.clone(),
            reason,
        };
        let mut req = self.client.post(&url).json(&body);
        if let Some(key) = &self.config.api_key {
            req = req.bearer_auth(key);
        }
        let resp = req
            .send()
            .await
            .map_err(|e| err(format!("request failed: {e}")))?;
        let status = resp.status();
        let text = resp
            .text()
            .await
            .map_err(|e| err(format!("reading the response: {e}")))?;
        if !status.is_success() {
            if status == reqwest::StatusCode::BAD_REQUEST && is_context_overflow(&text) {
                return Err(PolicyError::ContextOverflow(format!(
                    "{url}: {}",
                    truncate(&text, 500)
                )));
            }
            return Err(err(format!("status {status}: {}", truncate(&text, 500))));
        }
        let v: Value = serde_json::from_str(&text).map_err(|e| {
            err(format!(
                "response is not JSON ({e}): {}",
                truncate(&text, 200)
            ))
        })?;
        parse_choice(&v, matches!(request.prompt, Prompt::Chat { .. })).map_err(err)
    }
}

/// Whether a 400 body says the prompt is longer than the model's context, in the words
/// of OpenAI (`context_length_exceeded`), vLLM ("maximum context length is N tokens") or
/// SGLang ("longer than the model's context length"): the agent can recover from this one.
fn is_context_overflow(body: &str) -> bool {
    let body = body.to_ascii_lowercase();
    body.contains("context_length_exceeded") || body.contains("context length")
}

fn truncate(s: &str, n: usize) -> &str {
    match s.char_indices().nth(n) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// Reads `choices[0]` of a chat or text completion.
fn parse_choice(v: &Value, chat: bool) -> std::result::Result<GenResult, String> {
    let choice = v
        .pointer("/choices/0")
        .ok_or("no choices[0] in the response")?;
    let text = if chat {
        choice
            .pointer("/message/content")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned()
    } else {
        choice
            .get("text")
            .and_then(Value::as_str)
            .ok_or("no choices[0].text")?
            .to_owned()
    };
    let finish_reason = match choice.get("finish_reason").and_then(Value::as_str) {
        Some("length") => FinishReason::MaxTokens,
        _ => match choice.get("stop_reason") {
            Some(Value::String(s)) => FinishReason::StopString { stop: s.clone() },
            Some(Value::Number(n)) => FinishReason::StopToken {
                id: n.as_u64().unwrap_or(0) as u32,
            },
            _ => FinishReason::Stop,
        },
    };
    // Chat: logprobs.content[] {token, logprob}; text: logprobs.{tokens[], token_logprobs[]}.
    let (tokens, logprobs): (Vec<String>, Vec<f32>) = if chat {
        match choice
            .pointer("/logprobs/content")
            .and_then(Value::as_array)
        {
            Some(items) => items
                .iter()
                .map(|it| {
                    (
                        it.get("token")
                            .and_then(Value::as_str)
                            .unwrap_or("")
                            .to_owned(),
                        it.get("logprob")
                            .and_then(Value::as_f64)
                            .unwrap_or(f64::NAN) as f32,
                    )
                })
                .unzip(),
            None => (Vec::new(), Vec::new()),
        }
    } else {
        let toks = choice.pointer("/logprobs/tokens").and_then(Value::as_array);
        let lps = choice
            .pointer("/logprobs/token_logprobs")
            .and_then(Value::as_array);
        match (toks, lps) {
            (Some(t), Some(l)) => (
                t.iter()
                    .map(|x| x.as_str().unwrap_or("").to_owned())
                    .collect(),
                l.iter()
                    .map(|x| x.as_f64().unwrap_or(f64::NAN) as f32)
                    .collect(),
            ),
            _ => (Vec::new(), Vec::new()),
        }
    };
    let have_logprobs = !logprobs.is_empty();
    // vLLM with return_tokens_as_token_ids writes tokens as "token_id:123".
    let token_ids: Option<Vec<u32>> = if have_logprobs {
        tokens
            .iter()
            .map(|t| t.strip_prefix("token_id:").and_then(|n| n.parse().ok()))
            .collect()
    } else {
        None
    };
    Ok(GenResult {
        text,
        finish_reason,
        prompt_token_ids: None,
        token_ids,
        logprobs: have_logprobs.then_some(logprobs),
        prompt_tokens: v
            .pointer("/usage/prompt_tokens")
            .and_then(Value::as_u64)
            .map(|n| n as usize),
        completion_tokens: v
            .pointer("/usage/completion_tokens")
            .and_then(Value::as_u64)
            .map(|n| n as usize),
    })
}

#[async_trait]
impl ChatBackend for OpenAiBackend {
    fn model_id(&self) -> &str {
        &self.config.model
    }

    async fn generate(&self, requests: Vec<GenRequest>) -> Result<Vec<GenResult>> {
        // Concurrent requests, results kept in request order.
        let futures: Vec<_> = requests.into_iter().map(|r| self.one(r)).collect();
        let mut out = Vec::with_capacity(futures.len());
        let results = join_all(futures).await;
        for r in results {
            out.push(r?);
        }
        Ok(out)
    }
}

/// Polls all futures concurrently on the current task (no extra dependency, no spawning:
/// the futures borrow the backend).
async fn join_all<F: std::future::Future>(futures: Vec<F>) -> Vec<F::Output> {
    use std::pin::Pin;
    use std::task::Poll;
    let mut futures: Vec<Pin<Box<F>>> = futures.into_iter().map(Box::pin).collect();
    let mut results: Vec<Option<F::Output>> = futures.iter().map(|_| None).collect();
    std::future::poll_fn(move |cx| {
        let mut pending = false;
        for (i, f) in futures.iter_mut().enumerate() {
            if results[i].is_none() {
                match f.as_mut().poll(cx) {
                    Poll::Ready(v) => results[i] = Some(v),
                    Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            Poll::Pending
        } else {
            Poll::Ready(results.iter_mut().filter_map(Option::take).collect())
        }
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn context_overflows_are_told_apart_from_other_bad_requests() {
        for body in [
            r#"{"error":{"message":"This model's maximum context length is 4096 tokens. However, you requested 4105 tokens","type":"BadRequestError"}}"#,
            r#"{"error":{"code":"context_length_exceeded","message":"too long"}}"#,
            r#"{"error":{"message":"The input (5000 tokens) is longer than the model's context length (4096 tokens)."}}"#,
        ] {
            assert!(is_context_overflow(body), "{body}");
        }
        assert!(!is_context_overflow(
            r#"{"error":{"message":"temperature must be non-negative"}}"#
        ));
    }
}
