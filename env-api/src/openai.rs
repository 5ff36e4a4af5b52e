//! `POST /v1/chat/completions` and `GET /v1/models`: an OpenAI-compatible stand-in for
//! the one LLM call a deep-research agent makes besides its policy, the page
//! summariser. Tongyi DeepResearch's `visit` tool sends every page it reads to a chat
//! model with its `EXTRACTOR_PROMPT` (the page under `## **Webpage Content**`, the goal
//! under `## **User Goal**`) and parses the JSON `{"rational", "evidence", "summary"}`
//! it gets back. This endpoint recognises that prompt and answers it with the same
//! extractive summariser the native `visit` tool uses: deterministic, LLM-free, no
//! network. Any other chat request gets an OpenAI-style error saying that this server
//! is not a general LLM.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::sse::{Event, Sse};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use simweb_tools::visit::page_from_reader_text;
use simweb_tools::{ExtractiveSummarizer, Summarizer};
use utoipa::ToSchema;

use crate::server::AppState;

/// The model id this endpoint reports; requests may name any model.
pub const EXTRACTOR_MODEL: &str = "simweb-extractor";

const CONTENT_MARKER: &str = "## **Webpage Content**";
const GOAL_MARKER: &str = "## **User Goal**";
const GUIDELINES_MARKER: &str = "## **Task Guidelines**";

/// A regular expression that the text of an extractor prompt matches (for the OpenAPI
/// document).
pub const EXTRACTOR_PROMPT_PATTERN: &str =
    "## \\*\\*Webpage Content\\*\\*[\\s\\S]*## \\*\\*User Goal\\*\\*";

/// An OpenAI chat completion request. Only `messages` matters; sampling parameters are
/// accepted and ignored (the answer is deterministic).
#[derive(Debug, Deserialize, ToSchema)]
pub struct ChatRequest {
    #[serde(default)]
    pub model: Option<String>,
    pub messages: Vec<ChatMessage>,
    #[serde(default)]
    pub stream: Option<bool>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ChatMessage {
    pub role: String,
    /// A string, or an array of content parts (`{"type": "text", "text": ...}`).
    #[serde(default)]
    #[schema(value_type = Object)]
    pub content: Value,
}

/// The OpenAI `chat.completion` object.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChatCompletion {
    pub id: String,
    pub object: String,
    /// Always 0: the answer does not depend on when it was asked.
    pub created: u64,
    pub model: String,
    #[schema(value_type = Vec<Object>)]
    pub choices: Vec<Value>,
    #[schema(value_type = Object)]
    pub usage: Value,
}

/// An error in OpenAI's shape (`{"error": {"message", "type", "param", "code"}}`), so
/// the OpenAI SDKs raise their usual exceptions with our message.
struct OpenAiError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl OpenAiError {
    fn invalid(code: &'static str, message: impl Into<String>) -> OpenAiError {
        OpenAiError {
            status: StatusCode::BAD_REQUEST,
            code,
            message: message.into(),
        }
    }
}

impl IntoResponse for OpenAiError {
    fn into_response(self) -> Response {
        let body = json!({"error": {
            "message": self.message,
            "type": "invalid_request_error",
            "param": null,
            "code": self.code,
        }});
        (self.status, Json(body)).into_response()
    }
}

/// The page text and the goal of an extractor prompt, if `prompt` is one.
pub fn parse_extractor_prompt(prompt: &str) -> Option<(&str, &str)> {
    let content_at = prompt.find(CONTENT_MARKER)?;
    let after_content = &prompt[content_at + CONTENT_MARKER.len()..];
    let goal_at = after_content.rfind(GOAL_MARKER)?;
    let content = after_content[..goal_at].trim();
    let after_goal = &after_content[goal_at + GOAL_MARKER.len()..];
    let goal = match after_goal.find(GUIDELINES_MARKER) {
        Some(end) => &after_goal[..end],
        None => after_goal,
    }
    .trim();
    Some((content, goal))
}

/// The text of a message's content: a string, or its text parts joined.
fn message_text(content: &Value) -> String {
    match content {
        Value::String(text) => text.clone(),
        Value::Array(parts) => parts
            .iter()
            .filter_map(|part| part["text"].as_str())
            .collect::<Vec<_>>()
            .join("\n"),
        _ => String::new(),
    }
}

/// The extractor's JSON answer for a page and goal.
async fn extract_json(summarizer: &ExtractiveSummarizer, content: &str, goal: &str) -> String {
    let page = page_from_reader_text(content);
    let extract = summarizer.extract(&page, goal).await;
    let (evidence, summary, sections) = match extract {
        Ok(extract) if !extract.evidence.trim().is_empty() => {
            let mut sections: Vec<String> = Vec::new();
            for quote in &extract.quotes {
                let name = if quote.heading_path.is_empty() {
                    "the lead section".to_string()
                } else {
                    format!("\"{}\"", quote.heading_path.join(" > "))
                };
                if !sections.contains(&name) {
                    sections.push(name);
                }
            }
            (extract.evidence, extract.summary, sections)
        }
        _ => (String::new(), String::new(), Vec::new()),
    };
    let rational = if sections.is_empty() {
        format!("The webpage content holds no text that relates to the goal \"{goal}\".")
    } else {
        format!(
            "The passages that best match the goal \"{goal}\" are in {} of the page.",
            sections.join(", ")
        )
    };
    json!({"rational": rational, "evidence": evidence, "summary": summary}).to_string()
}

#[utoipa::path(post, path = "/v1/chat/completions", request_body = ChatRequest,
    responses((status = 200, body = ChatCompletion, description = "The extractor's JSON {rational, evidence, summary} as the assistant message (an SSE stream with `stream: true`)"),
        (status = 400, description = "Not an extractor prompt, or a malformed request (OpenAI error shape)")))]
pub async fn chat_completions(State(state): State<AppState>, body: Bytes) -> Response {
    let request: ChatRequest = match serde_json::from_slice(&body) {
        Ok(request) => request,
        Err(e) => {
            return OpenAiError::invalid(
                "invalid_request",
                format!("invalid chat completion request: {e}"),
            )
            .into_response()
        }
    };
    // The last message that is an extractor prompt (Tongyi sends it as the only user
    // message).
    let texts: Vec<String> = request
        .messages
        .iter()
        .map(|m| message_text(&m.content))
        .collect();
    let found = texts
        .iter()
        .rev()
        .find_map(|text| parse_extractor_prompt(text).map(|parts| (text, parts)));
    let Some((prompt, (content, goal))) = found else {
        return OpenAiError::invalid(
            "not_an_extractor_prompt",
            format!(
                "simweb is not a general LLM: /v1/chat/completions only answers the page-extractor prompt of deep-research agents (Tongyi DeepResearch's EXTRACTOR_PROMPT: the page under `{CONTENT_MARKER}`, the goal under `{GOAL_MARKER}`)"
            ),
        )
        .into_response();
    };
    let summarizer = ExtractiveSummarizer::new(&state.inner.config.tools.visit);
    let answer = extract_json(&summarizer, content, goal).await;
    let model = request
        .model
        .filter(|m| !m.is_empty())
        .unwrap_or_else(|| EXTRACTOR_MODEL.to_string());
    let id = format!("chatcmpl-{}", &hex::encode(Sha256::digest(&body))[..24]);
    // Whitespace-separated words: a rough, deterministic token count.
    let prompt_tokens = prompt.split_whitespace().count();
    let completion_tokens = answer.split_whitespace().count();
    let usage = json!({
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    });
    if request.stream == Some(true) {
        return stream(id, model, answer).into_response();
    }
    Json(ChatCompletion {
        id,
        object: "chat.completion".into(),
        created: 0,
        model,
        choices: vec![json!({
            "index": 0,
            "message": {"role": "assistant", "content": answer},
            "finish_reason": "stop",
            "logprobs": null,
        })],
        usage,
    })
    .into_response()
}

/// The answer as OpenAI's SSE stream: one content chunk, a final chunk, `[DONE]`.
fn stream(
    id: String,
    model: String,
    answer: String,
) -> Sse<impl futures::Stream<Item = Result<Event, std::convert::Infallible>>> {
    let chunk = |delta: Value, finish: Value| {
        json!({
            "id": id, "object": "chat.completion.chunk", "created": 0, "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        })
        .to_string()
    };
    let events = [
        chunk(json!({"role": "assistant", "content": answer}), Value::Null),
        chunk(json!({}), json!("stop")),
        "[DONE]".to_string(),
    ];
    Sse::new(futures::stream::iter(
        events.map(|data| Ok(Event::default().data(data))),
    ))
}

#[utoipa::path(get, path = "/v1/models",
    responses((status = 200, description = "The one model this server answers as (any name is accepted in requests)")))]
pub async fn list_models() -> Json<Value> {
    Json(json!({
        "object": "list",
        "data": [{"id": EXTRACTOR_MODEL, "object": "model", "created": 0, "owned_by": "simweb"}],
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_page_and_goal_in_the_extractor_prompt() {
        let prompt = "Please process the following webpage content and user goal to extract relevant information:\n\n## **Webpage Content** \nTitle: A\n\nURL Source: https://en.wikipedia.org/wiki/A\n\nMarkdown Content:\n# A\n\nText.\n\n## **User Goal**\nWhen was A born?\n\n## **Task Guidelines**\n1. ...";
        let (content, goal) = parse_extractor_prompt(prompt).unwrap();
        assert!(content.starts_with("Title: A"));
        assert!(content.ends_with("Text."));
        assert_eq!(goal, "When was A born?");
        assert!(parse_extractor_prompt("What is 2+2?").is_none());
    }

    #[test]
    fn content_parts_are_joined() {
        let parts = json!([{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]);
        assert_eq!(message_text(&parts), "a\nb");
        assert_eq!(message_text(&json!("x")), "x");
    }
}
