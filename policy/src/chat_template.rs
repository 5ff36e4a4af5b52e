//! Chat messages and the model's own Jinja chat template (from `tokenizer_config.json`),
//! rendered by minijinja, a real Jinja engine, with the Python string methods HF templates
//! use (`startswith`, `split`, `strip`...) and HF's `tojson` (Python `json.dumps` spacing).

use std::path::Path;

use minijinja::{Environment, Error as JinjaError, ErrorKind, Value};
use serde::{Deserialize, Serialize};

use crate::error::{PolicyError, Result};

/// One chat turn (OpenAI message shape). `tool_calls`/`reasoning_content` are passed to
/// the template as given.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatMessage {
    pub role: String,
    pub content: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_calls: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning_content: Option<String>,
}

impl ChatMessage {
    pub fn new(role: impl Into<String>, content: impl Into<String>) -> Self {
        ChatMessage {
            role: role.into(),
            content: content.into(),
            tool_calls: None,
            reasoning_content: None,
        }
    }
    pub fn system(content: impl Into<String>) -> Self {
        Self::new("system", content)
    }
    pub fn user(content: impl Into<String>) -> Self {
        Self::new("user", content)
    }
    pub fn assistant(content: impl Into<String>) -> Self {
        Self::new("assistant", content)
    }
}

/// A compiled chat template plus the special-token strings it may reference.
pub struct ChatTemplate {
    env: Environment<'static>,
    bos_token: String,
    eos_token: String,
}

impl std::fmt::Debug for ChatTemplate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChatTemplate")
            .field("eos_token", &self.eos_token)
            .finish_non_exhaustive()
    }
}

const TEMPLATE_NAME: &str = "chat_template";

impl ChatTemplate {
    /// Reads `chat_template` (a string, or HF's list of named templates: `default` is used)
    /// and the bos/eos token strings from `tokenizer_config.json`.
    pub fn from_tokenizer_config(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| PolicyError::file(path, e))?;
        let config: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| PolicyError::file(path, format!("invalid JSON: {e}")))?;
        let source = match config.get("chat_template") {
            Some(serde_json::Value::String(s)) => s.clone(),
            Some(serde_json::Value::Array(named)) => named
                .iter()
                .find(|t| t.get("name").and_then(|n| n.as_str()) == Some("default"))
                .and_then(|t| t.get("template")?.as_str().map(str::to_owned))
                .ok_or_else(|| {
                    PolicyError::file(path, "chat_template list has no \"default\" entry")
                })?,
            _ => return Err(PolicyError::file(path, "no chat_template")),
        };
        let token = |key: &str| match config.get(key) {
            Some(serde_json::Value::String(s)) => s.clone(),
            Some(serde_json::Value::Object(o)) => o
                .get("content")
                .and_then(|c| c.as_str())
                .unwrap_or("")
                .to_owned(),
            _ => String::new(),
        };
        Self::new(source, token("bos_token"), token("eos_token"))
    }

    pub fn new(source: String, bos_token: String, eos_token: String) -> Result<Self> {
        let mut env = Environment::new();
        minijinja_contrib::add_to_environment(&mut env);
        env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
        env.add_filter("tojson", hf_tojson);
        env.add_function(
            "raise_exception",
            |msg: String| -> std::result::Result<Value, JinjaError> {
                Err(JinjaError::new(ErrorKind::InvalidOperation, msg))
            },
        );
        env.add_template_owned(TEMPLATE_NAME, source)
            .map_err(|e| PolicyError::Template(format!("does not compile: {e:#}")))?;
        Ok(ChatTemplate {
            env,
            bos_token,
            eos_token,
        })
    }

    /// The end-of-turn token string (`<|im_end|>` for Qwen), as the template writes it.
    pub fn eos_token(&self) -> &str {
        &self.eos_token
    }

    /// Renders the prompt text for `messages` (and optional tool schemas).
    pub fn render(
        &self,
        messages: &[ChatMessage],
        tools: Option<&[serde_json::Value]>,
        add_generation_prompt: bool,
        extra: &serde_json::Map<String, serde_json::Value>,
    ) -> Result<String> {
        if messages.is_empty() {
            return Err(PolicyError::InvalidRequest("no messages to render".into()));
        }
        let template = self
            .env
            .get_template(TEMPLATE_NAME)
            .map_err(|e| PolicyError::Template(e.to_string()))?;
        let mut ctx = extra.clone();
        ctx.insert(
            "messages".into(),
            serde_json::to_value(messages).map_err(|e| PolicyError::Template(e.to_string()))?,
        );
        if let Some(tools) = tools {
            ctx.insert("tools".into(), serde_json::Value::Array(tools.to_vec()));
        }
        ctx.insert("add_generation_prompt".into(), add_generation_prompt.into());
        ctx.insert("bos_token".into(), self.bos_token.clone().into());
        ctx.insert("eos_token".into(), self.eos_token.clone().into());
        template
            .render(Value::from_serialize(&ctx))
            .map_err(|e| PolicyError::Template(format!("render failed: {e:#}")))
    }
}

/// HF's `tojson`: Python `json.dumps(x, ensure_ascii=False)` (", " and ": " separators, no
/// HTML escaping), unlike minijinja's HTML-safe default.
fn hf_tojson(value: Value) -> std::result::Result<Value, JinjaError> {
    let json = serde_json::to_value(&value)
        .map_err(|e| JinjaError::new(ErrorKind::InvalidOperation, format!("tojson: {e}")))?;
    let mut out = Vec::new();
    let mut ser = serde_json::Serializer::with_formatter(&mut out, PythonJsonFormatter);
    serde::Serialize::serialize(&json, &mut ser)
        .map_err(|e| JinjaError::new(ErrorKind::InvalidOperation, format!("tojson: {e}")))?;
    Ok(Value::from_safe_string(
        String::from_utf8_lossy(&out).into_owned(),
    ))
}

/// `json.dumps` default separators.
struct PythonJsonFormatter;

impl serde_json::ser::Formatter for PythonJsonFormatter {
    fn begin_array_value<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        if first {
            Ok(())
        } else {
            w.write_all(b", ")
        }
    }
    fn begin_object_key<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        if first {
            Ok(())
        } else {
            w.write_all(b", ")
        }
    }
    fn begin_object_value<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        w.write_all(b": ")
    }
}
