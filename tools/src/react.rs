//! The Tongyi DeepResearch ReAct text protocol: what the model reads and writes.
//!
//! The model was trained on one exact layout (see RECIPES.md §4), so this module
//! reproduces it byte for byte where it can: a system prompt listing one tool schema
//! per line inside `<tools></tools>`, tool calls as
//! `<tool_call>\n{"name": ..., "arguments": {...}}\n</tool_call>` (Python code in a
//! `<code>` block after the JSON), tool results as a user turn
//! `<tool_response>\n...\n</tool_response>`, and the final answer in `<answer>`.
//!
//! Everything here is pure text logic with no I/O, so the server's episodes and the
//! policy's rollouts share one parser and cannot drift apart. Hostile or broken model
//! output never panics: a malformed call becomes a [`MalformedCall`] whose
//! [`observation`](MalformedCall::observation) is the error text the agent sees.

use std::fmt;
use std::io;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The name under which the model calls the Python tool. Its code travels in a
/// `<code>` block rather than in the JSON arguments.
pub const PYTHON_TOOL_NAME: &str = "PythonInterpreter";

/// The default system prompt, in Tongyi's layout. `{tools}` becomes the tool schemas
/// (one JSON object per line) and `{date}` the episode's fixed date.
pub const DEFAULT_SYSTEM_PROMPT_TEMPLATE: &str = "You are a deep research assistant. Your core function is to conduct thorough, multi-source investigations into any topic. You must handle both broad, open-domain inquiries and queries within specialized academic fields. For every request, synthesize information from credible, diverse sources to deliver a comprehensive, accurate, and objective response. When you have gathered sufficient information and are ready to provide the definitive response, you must enclose the entire final answer within <answer></answer> tags.

# Tools

You may call one or more functions to assist with the user query.

You are provided with function signatures within <tools></tools> XML tags:
<tools>
{tools}
</tools>

For each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:
<tool_call>
{\"name\": <function-name>, \"arguments\": <args-json-object>}
</tool_call>

Current date: {date}";

/// The date a simulated episode lives on when none is configured. Fixed (never the
/// wall clock) so that the same seed gives the same prompt on any day.
pub const DEFAULT_CURRENT_DATE: &str = "2025-01-01";

/// The user turn Tongyi substitutes for the last observation once the context passes
/// its limit, asking the model to answer now.
pub const FORCED_ANSWER_MESSAGE: &str = "You have now reached the maximum context length you can handle. You should stop making tool calls and, based on all the information above, think again and provide what you consider the most likely answer in the following format:<think>your final thinking</think>\n<answer>your answer</answer>";

/// Tongyi's context limit (110K tokens) past which the forced answer is requested.
pub const DEFAULT_MAX_CONTEXT_TOKENS: usize = 110 * 1024;

/// The observation for a tool call whose JSON could not be read (Tongyi's wording).
pub const INVALID_TOOL_CALL_OBSERVATION: &str =
    "Error: Tool call is not a valid JSON. Tool call must contain a valid \"name\" and \"arguments\" field.";

/// The observation for a `PythonInterpreter` call without a usable `<code>` block.
pub const PYTHON_FORMAT_ERROR_OBSERVATION: &str = "[Python Interpreter Error]: Formatting error.";

/// Markers of the protocol.
const TOOL_CALL_OPEN: &str = "<tool_call>";
const TOOL_CALL_CLOSE: &str = "</tool_call>";
const CODE_OPEN: &str = "<code>";
const CODE_CLOSE: &str = "</code>";
const ANSWER_OPEN: &str = "<answer>";
const ANSWER_CLOSE: &str = "</answer>";
const TOOL_RESPONSE_OPEN: &str = "<tool_response>";

/// Problems with a prompt template, found when it is configured rather than per episode.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TemplateError {
    #[error("the system prompt template has no `{placeholder}` placeholder")]
    MissingPlaceholder { placeholder: &'static str },
}

/// A configurable system prompt: any text with one `{tools}` and one `{date}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PromptTemplate {
    template: String,
}

impl Default for PromptTemplate {
    fn default() -> Self {
        Self {
            template: DEFAULT_SYSTEM_PROMPT_TEMPLATE.to_owned(),
        }
    }
}

impl PromptTemplate {
    /// Checks that the template can show the tools and the date.
    pub fn new(template: impl Into<String>) -> Result<Self, TemplateError> {
        let template = template.into();
        for placeholder in ["{tools}", "{date}"] {
            if !template.contains(placeholder) {
                return Err(TemplateError::MissingPlaceholder { placeholder });
            }
        }
        Ok(Self { template })
    }

    /// The raw template text.
    pub fn as_str(&self) -> &str {
        &self.template
    }

    /// Renders the system prompt: each schema on its own line, in the order given,
    /// serialised like Python's `json.dumps` (what the model saw), and the fixed date.
    pub fn render(&self, tool_schemas: &[Value], current_date: &str) -> String {
        let tools = tool_schemas
            .iter()
            .map(schema_line)
            .collect::<Vec<_>>()
            .join("\n");
        // Replace the date first so a `{date}` inside a tool description stays literal.
        self.template
            .replacen("{date}", current_date, 1)
            .replacen("{tools}", &tools, 1)
    }
}

/// One tool schema as a single line in the layout of the Tongyi prompt: Python
/// `json.dumps` separators (`", "`, `": "`) and keys in the order of OpenAI's
/// function-calling examples (`type` before `function`, `name` before `description`),
/// whatever order the `Value` holds them in, so the prompt is byte-stable across builds.
pub fn schema_line(schema: &Value) -> String {
    let mut out = String::new();
    write_python_style(schema, &mut out);
    out
}

/// Keys that come first, in this order; all other keys follow alphabetically.
const KEY_ORDER: &[&str] = &[
    "type",
    "function",
    "name",
    "items",
    "minItems",
    "description",
    "parameters",
    "properties",
    "required",
];

fn key_rank(key: &str) -> (usize, &str) {
    let rank = KEY_ORDER
        .iter()
        .position(|k| *k == key)
        .unwrap_or(KEY_ORDER.len());
    (rank, key)
}

fn write_python_style(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| key_rank(a.0).cmp(&key_rank(b.0)));
            out.push('{');
            for (i, (key, item)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(&json_scalar(&Value::String(key.clone())));
                out.push_str(": ");
                write_python_style(item, out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_python_style(item, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&json_scalar(scalar)),
    }
}

/// A scalar in JSON; serialising a scalar `Value` cannot fail.
fn json_scalar(value: &Value) -> String {
    let mut buf = Vec::new();
    let written = serde_json::to_writer(io::Cursor::new(&mut buf), value);
    match written {
        Ok(()) => String::from_utf8(buf).unwrap_or_default(),
        Err(_) => String::from("null"),
    }
}

/// The `PythonInterpreter` schema as Tongyi's prompt lists it: empty parameters, the
/// code travelling in a `<code>` block after the JSON (simweb's own `python` tool takes
/// `{"code": ...}` instead; [`parse_assistant`] converts between the two).
pub fn python_interpreter_schema() -> Value {
    serde_json::json!({
        "type": "function",
        "function": {
            "name": PYTHON_TOOL_NAME,
            "description": "Executes Python code in a sandboxed environment. To use this tool, you must follow this format:\n1. The 'arguments' JSON object must be empty: {}.\n2. The Python code to be executed must be placed immediately after the JSON block, enclosed within <code> and </code> tags.\n\nIMPORTANT RULES:\n- Use print() statements to display output; only printed output is returned.\n- Each call starts a fresh interpreter: define everything the code needs.\n- The sandbox has no network access and no files from earlier calls.\n\nExample of a correct call:\n<tool_call>\n{\"name\": \"PythonInterpreter\", \"arguments\": {}}\n<code>\nprint(sum(range(10)))\n</code>\n</tool_call>",
            "parameters": {"type": "object", "properties": {}, "required": []}
        }
    })
}

/// The tool schemas as a Tongyi model reads them in its system prompt: the tools' own,
/// except `PythonInterpreter`, whose code travels in a `<code>` block in this protocol
/// (empty arguments, as the model was trained).
pub fn prompt_schemas(schemas: Vec<Value>) -> Vec<Value> {
    schemas
        .into_iter()
        .map(|schema| {
            if schema["function"]["name"] == PYTHON_TOOL_NAME {
                python_interpreter_schema()
            } else {
                schema
            }
        })
        .collect()
}

/// Who speaks a turn of the conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    System,
    User,
    Assistant,
}

/// One turn of the conversation, in the OpenAI chat shape.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    pub role: Role,
    pub content: String,
}

impl Message {
    pub fn new(role: Role, content: impl Into<String>) -> Self {
        Self {
            role,
            content: content.into(),
        }
    }
}

/// The conversation an episode starts from: the system prompt, then the question.
pub fn initial_messages(system_prompt: &str, question: &str) -> Vec<Message> {
    vec![
        Message::new(Role::System, system_prompt),
        Message::new(Role::User, question),
    ]
}

/// A deterministic estimate of the conversation's length in tokens, the same
/// fallback Tongyi's agent uses without a tokenizer (about four characters a token).
pub fn approx_token_count(messages: &[Message]) -> usize {
    let chars: usize = messages
        .iter()
        .map(|m| role_name(m.role).len() + 2 + m.content.chars().count() + 1)
        .sum();
    chars / 4
}

fn role_name(role: Role) -> &'static str {
    match role {
        Role::System => "system",
        Role::User => "user",
        Role::Assistant => "assistant",
    }
}

/// A well-formed call the model asked for. For `PythonInterpreter` the `<code>`
/// block's contents are in `arguments["code"]`, so every tool takes a JSON object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolCall {
    pub name: String,
    pub arguments: Value,
}

/// Why a tool call could not be read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "kind", content = "detail", rename_all = "snake_case")]
pub enum MalformedReason {
    /// `<tool_call>` was opened and never closed.
    #[error("`<tool_call>` is never closed by `</tool_call>`")]
    Unclosed,
    /// The body is not JSON (even after stripping code fences and trailing commas).
    #[error("the tool call is not valid JSON: {0}")]
    InvalidJson(String),
    /// The JSON has no string `name`.
    #[error("the tool call has no string \"name\" field")]
    MissingName,
    /// `arguments` is neither an object nor a string holding a JSON object.
    #[error("\"arguments\" must be a JSON object")]
    ArgumentsNotObject,
    /// A `PythonInterpreter` call without a closed `<code>` block or `code` argument.
    #[error("a PythonInterpreter call needs its code in a <code>...</code> block")]
    MissingCode,
}

/// A tool call that could not be read, with the raw text for the trajectory log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MalformedCall {
    pub raw: String,
    pub reason: MalformedReason,
}

impl MalformedCall {
    /// The text the agent gets back instead of a tool result (Tongyi's wording, so a
    /// model trained on it recognises the error).
    pub fn observation(&self) -> &'static str {
        match self.reason {
            MalformedReason::MissingCode => PYTHON_FORMAT_ERROR_OBSERVATION,
            _ => INVALID_TOOL_CALL_OBSERVATION,
        }
    }
}

impl fmt::Display for MalformedCall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "malformed tool call: {}", self.reason)
    }
}

/// What one assistant turn says, read with Tongyi's rules.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ParsedTurn {
    /// The assistant text as it enters the conversation: cut before any
    /// `<tool_response>` the model hallucinated (the agent's stop strings), trimmed.
    pub content: String,
    /// The text inside the first `<answer>…</answer>`, trimmed, if the turn has one.
    pub answer: Option<String>,
    /// Each `<tool_call>` block in order, read or rejected.
    pub calls: Vec<Result<ToolCall, MalformedCall>>,
}

impl ParsedTurn {
    /// A turn with neither an answer nor a tool call: the model just talked.
    pub fn is_empty(&self) -> bool {
        self.answer.is_none() && self.calls.is_empty()
    }
}

/// Reads one assistant turn: the final answer and every tool call in it.
pub fn parse_assistant(text: &str) -> ParsedTurn {
    let content = match text.find(TOOL_RESPONSE_OPEN) {
        Some(pos) => &text[..pos],
        None => text,
    }
    .trim()
    .to_owned();
    let answer = between(&content, ANSWER_OPEN, ANSWER_CLOSE).map(|a| a.trim().to_owned());
    let calls = tool_call_blocks(&content)
        .into_iter()
        .map(|block| match block {
            Some(body) => parse_tool_call_body(body),
            None => Err(MalformedCall {
                raw: content[content.rfind(TOOL_CALL_OPEN).unwrap_or(0)..].to_owned(),
                reason: MalformedReason::Unclosed,
            }),
        })
        .collect();
    ParsedTurn {
        content,
        answer,
        calls,
    }
}

/// The text between the first `open` and the next `close` after it.
fn between<'a>(text: &'a str, open: &str, close: &str) -> Option<&'a str> {
    let start = text.find(open)? + open.len();
    let len = text[start..].find(close)?;
    Some(&text[start..start + len])
}

/// The bodies of the `<tool_call>` blocks in order; `None` for a trailing block that
/// is never closed.
fn tool_call_blocks(text: &str) -> Vec<Option<&str>> {
    let mut blocks = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find(TOOL_CALL_OPEN) {
        let body_start = open + TOOL_CALL_OPEN.len();
        match rest[body_start..].find(TOOL_CALL_CLOSE) {
            Some(len) => {
                blocks.push(Some(&rest[body_start..body_start + len]));
                rest = &rest[body_start + len + TOOL_CALL_CLOSE.len()..];
            }
            None => {
                blocks.push(None);
                break;
            }
        }
    }
    blocks
}

/// Reads the inside of one `<tool_call>` block: JSON, then an optional `<code>` block.
/// The tool is chosen by its `name` field alone.
pub fn parse_tool_call_body(body: &str) -> Result<ToolCall, MalformedCall> {
    let malformed = |reason| MalformedCall {
        raw: body.to_owned(),
        reason,
    };
    let (json_part, code) = match body.find(CODE_OPEN) {
        Some(pos) => {
            let code = between(&body[pos..], CODE_OPEN, CODE_CLOSE).map(str::to_owned);
            (&body[..pos], Some(code))
        }
        None => (body, None),
    };
    let object = lenient_json_object(json_part).map_err(malformed)?;
    let call = call_from_object(object).map_err(malformed)?;
    if call.name != PYTHON_TOOL_NAME {
        return Ok(call);
    }
    attach_code(call, code).map_err(malformed)
}

/// Puts the `<code>` block into `arguments["code"]`; a code argument given in the JSON
/// is accepted when there is no block. A `<code>` opened but not closed is an error.
fn attach_code(
    mut call: ToolCall,
    code_block: Option<Option<String>>,
) -> Result<ToolCall, MalformedReason> {
    let code = match code_block {
        Some(Some(code)) => strip_code_fence(code.trim()).to_owned(),
        Some(None) => return Err(MalformedReason::MissingCode),
        None => match call.arguments.get("code").and_then(Value::as_str) {
            Some(code) => code.to_owned(),
            None => return Err(MalformedReason::MissingCode),
        },
    };
    if code.trim().is_empty() {
        return Err(MalformedReason::MissingCode);
    }
    if let Value::Object(map) = &mut call.arguments {
        map.insert("code".to_owned(), Value::String(code));
    }
    Ok(call)
}

/// Models sometimes wrap code in a Markdown fence inside `<code>`; the fence is not Python.
fn strip_code_fence(code: &str) -> &str {
    let Some(rest) = code.strip_prefix("```") else {
        return code;
    };
    let Some(body_start) = rest.find('\n') else {
        return code;
    };
    let body = &rest[body_start + 1..];
    body.trim_end().strip_suffix("```").unwrap_or(body).trim()
}

/// Parses a JSON object the way a forgiving agent does: tolerates surrounding
/// whitespace, a Markdown code fence and trailing commas.
fn lenient_json_object(text: &str) -> Result<serde_json::Map<String, Value>, MalformedReason> {
    let trimmed = strip_code_fence(text.trim()).trim();
    let parsed = serde_json::from_str::<Value>(trimmed)
        .or_else(|first_error| {
            serde_json::from_str::<Value>(&remove_trailing_commas(trimmed)).map_err(|_| first_error)
        })
        .map_err(|e| MalformedReason::InvalidJson(e.to_string()))?;
    match parsed {
        Value::Object(map) => Ok(map),
        _ => Err(MalformedReason::InvalidJson(
            "expected a JSON object".to_owned(),
        )),
    }
}

/// Drops commas that directly precede `}` or `]`, leaving string contents alone.
fn remove_trailing_commas(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_string = false;
    let mut escaped = false;
    let chars: Vec<char> = text.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        if in_string {
            out.push(c);
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
            continue;
        }
        if c == '"' {
            in_string = true;
        }
        if c == ',' {
            let next = chars[i + 1..].iter().find(|c| !c.is_whitespace());
            if matches!(next, Some('}') | Some(']')) {
                continue;
            }
        }
        out.push(c);
    }
    out
}

/// `{"name": ..., "arguments": ...}` → a call. Arguments may be an object, a string
/// holding a JSON object (the OpenAI wire form), or absent (no arguments).
fn call_from_object(
    mut object: serde_json::Map<String, Value>,
) -> Result<ToolCall, MalformedReason> {
    let name = match object.remove("name") {
        Some(Value::String(name)) if !name.trim().is_empty() => name.trim().to_owned(),
        _ => return Err(MalformedReason::MissingName),
    };
    let arguments = match object.remove("arguments") {
        None | Some(Value::Null) => Value::Object(serde_json::Map::new()),
        Some(Value::Object(map)) => Value::Object(map),
        Some(Value::String(text)) if text.trim().is_empty() => {
            Value::Object(serde_json::Map::new())
        }
        Some(Value::String(text)) => Value::Object(
            lenient_json_object(&text).map_err(|_| MalformedReason::ArgumentsNotObject)?,
        ),
        Some(_) => return Err(MalformedReason::ArgumentsNotObject),
    };
    Ok(ToolCall { name, arguments })
}

/// Reads OpenAI-style `tool_calls`: `[{"id", "type": "function", "function": {"name",
/// "arguments": "<json string>"}}]` (the `function` wrapper may be omitted). A
/// `PythonInterpreter` call must carry its code in `arguments.code`.
pub fn parse_openai_tool_calls(tool_calls: &Value) -> Vec<Result<ToolCall, MalformedCall>> {
    let Some(items) = tool_calls.as_array() else {
        return vec![Err(MalformedCall {
            raw: tool_calls.to_string(),
            reason: MalformedReason::InvalidJson("tool_calls must be an array".to_owned()),
        })];
    };
    items
        .iter()
        .map(|item| {
            let malformed = |reason| MalformedCall {
                raw: item.to_string(),
                reason,
            };
            let inner = item.get("function").unwrap_or(item);
            let Value::Object(object) = inner.clone() else {
                return Err(malformed(MalformedReason::InvalidJson(
                    "a tool call must be a JSON object".to_owned(),
                )));
            };
            let call = call_from_object(object).map_err(malformed)?;
            if call.name == PYTHON_TOOL_NAME {
                attach_code(call, None).map_err(malformed)
            } else {
                Ok(call)
            }
        })
        .collect()
}

/// The user turn that carries a tool's result back to the model.
pub fn tool_response(result: &str) -> String {
    format!("{TOOL_RESPONSE_OPEN}\n{result}\n</tool_response>")
}

/// The observation for a call to a tool the episode does not offer (Tongyi's wording).
pub fn unknown_tool_observation(name: &str) -> String {
    format!("Error: Tool {name} not found")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn search_schema() -> Value {
        json!({"type":"function","function":{"name":"search","description":"Perform Google web searches then returns a string of the top search results. Accepts multiple queries.","parameters":{"type":"object","properties":{"query":{"type":"array","items":{"type":"string","description":"The search query."},"minItems":1,"description":"The list of search queries."}},"required":["query"]}}})
    }

    #[test]
    fn schema_line_matches_the_prompt_the_model_saw() {
        assert_eq!(
            schema_line(&search_schema()),
            r#"{"type": "function", "function": {"name": "search", "description": "Perform Google web searches then returns a string of the top search results. Accepts multiple queries.", "parameters": {"type": "object", "properties": {"query": {"type": "array", "items": {"type": "string", "description": "The search query."}, "minItems": 1, "description": "The list of search queries."}}, "required": ["query"]}}}"#
        );
    }

    #[test]
    fn prompt_lists_one_schema_per_line_and_ends_with_the_fixed_date() {
        let visit = json!({"type":"function","function":{"name":"visit","description":"Visit.","parameters":{"type":"object","properties":{},"required":[]}}});
        let prompt = PromptTemplate::default().render(&[search_schema(), visit], "2024-06-30");
        let tools = between(&prompt, "<tools>\n", "\n</tools>").unwrap();
        let lines: Vec<&str> = tools.lines().collect();
        assert_eq!(lines.len(), 2);
        assert!(lines[0].contains("\"name\": \"search\""));
        assert!(lines[1].contains("\"name\": \"visit\""));
        assert!(prompt.ends_with("\nCurrent date: 2024-06-30"));
        assert!(prompt.starts_with("You are a deep research assistant."));
        assert!(prompt.contains("<tool_call>\n{\"name\": <function-name>, \"arguments\": <args-json-object>}\n</tool_call>"));
    }

    #[test]
    fn python_schema_is_one_prompt_line_with_empty_parameters() {
        let line = schema_line(&python_interpreter_schema());
        assert!(!line.contains('\n'), "{line}");
        assert!(line.starts_with(
            "{\"type\": \"function\", \"function\": {\"name\": \"PythonInterpreter\""
        ));
        assert!(line.ends_with(
            "\"parameters\": {\"type\": \"object\", \"properties\": {}, \"required\": []}}}"
        ));
    }

    #[test]
    fn template_must_have_both_placeholders() {
        assert_eq!(
            PromptTemplate::new("no tools here {date}"),
            Err(TemplateError::MissingPlaceholder {
                placeholder: "{tools}"
            })
        );
        assert_eq!(
            PromptTemplate::new("{tools}"),
            Err(TemplateError::MissingPlaceholder {
                placeholder: "{date}"
            })
        );
        let custom = PromptTemplate::new("T:{tools}|D:{date}").unwrap();
        assert_eq!(custom.render(&[json!({"a": 1})], "d"), "T:{\"a\": 1}|D:d");
    }

    #[test]
    fn parses_a_search_call() {
        let turn = parse_assistant(
            "<think>I should look it up.</think>\n<tool_call>\n{\"name\": \"search\", \"arguments\": {\"query\": [\"Alan Turing birth\"]}}\n</tool_call>",
        );
        assert_eq!(turn.answer, None);
        assert_eq!(
            turn.calls,
            vec![Ok(ToolCall {
                name: "search".into(),
                arguments: json!({"query": ["Alan Turing birth"]})
            })]
        );
    }

    #[test]
    fn python_call_takes_the_code_block() {
        let turn = parse_assistant(
            "<tool_call>\n{\"name\": \"PythonInterpreter\", \"arguments\": {}}\n<code>\nprint(6 * 7)\n</code>\n</tool_call>",
        );
        assert_eq!(
            turn.calls,
            vec![Ok(ToolCall {
                name: PYTHON_TOOL_NAME.into(),
                arguments: json!({"code": "print(6 * 7)"})
            })]
        );
    }

    #[test]
    fn python_code_in_a_markdown_fence_is_unwrapped() {
        let turn = parse_assistant(
            "<tool_call>\n{\"name\": \"PythonInterpreter\", \"arguments\": {}}\n<code>\n```python\nprint(1)\n```\n</code>\n</tool_call>",
        );
        assert_eq!(
            turn.calls[0].as_ref().unwrap().arguments,
            json!({"code": "print(1)"})
        );
    }

    #[test]
    fn routing_is_by_name_not_by_substring() {
        // Tongyi's own agent routes any call mentioning "python" to the interpreter;
        // here a search about Python stays a search.
        let turn = parse_assistant(
            "<tool_call>\n{\"name\": \"search\", \"arguments\": {\"query\": [\"python programming language\"]}}\n</tool_call>",
        );
        assert_eq!(turn.calls[0].as_ref().unwrap().name, "search");
        // ...and a code block does not turn a non-Python call into Python.
        let turn = parse_assistant(
            "<tool_call>\n{\"name\": \"visit\", \"arguments\": {\"url\": [\"u\"], \"goal\": \"g\"}}\n<code>print(1)</code>\n</tool_call>",
        );
        let call = turn.calls[0].as_ref().unwrap();
        assert_eq!(call.name, "visit");
        assert_eq!(call.arguments, json!({"url": ["u"], "goal": "g"}));
    }

    #[test]
    fn python_without_code_is_a_formatting_error() {
        let turn = parse_assistant(
            "<tool_call>\n{\"name\": \"PythonInterpreter\", \"arguments\": {}}\n</tool_call>",
        );
        let err = turn.calls[0].as_ref().unwrap_err();
        assert_eq!(err.reason, MalformedReason::MissingCode);
        assert_eq!(err.observation(), PYTHON_FORMAT_ERROR_OBSERVATION);
        let turn = parse_assistant(
            "<tool_call>\n{\"name\": \"PythonInterpreter\", \"arguments\": {}}\n<code>print(1)\n</tool_call>",
        );
        assert_eq!(
            turn.calls[0].as_ref().unwrap_err().reason,
            MalformedReason::MissingCode
        );
    }

    #[test]
    fn malformed_calls_become_error_observations() {
        let cases = [
            ("<tool_call>\nnot json at all\n</tool_call>", "invalid_json"),
            ("<tool_call>\n{\"arguments\": {}}\n</tool_call>", "missing_name"),
            ("<tool_call>\n{\"name\": 7}\n</tool_call>", "missing_name"),
            ("<tool_call>\n[1, 2]\n</tool_call>", "invalid_json"),
            ("<tool_call>\n{\"name\": \"search\", \"arguments\": [1]}\n</tool_call>", "arguments_not_object"),
            ("<tool_call>\n{\"name\": \"search\", \"arguments\": {\"query\": [\"x\"]}}", "unclosed"),
            ("<tool_call>\n{\"name\": \"search\", \"arguments\": {\"query\": [\"\u{1F600}\n\u{0}", "unclosed"),
        ];
        for (text, kind) in cases {
            let turn = parse_assistant(text);
            assert_eq!(turn.calls.len(), 1, "{text}");
            let err = turn.calls[0].as_ref().unwrap_err();
            let tagged = serde_json::to_value(&err.reason).unwrap();
            assert_eq!(tagged["kind"], kind, "{text}");
            assert_eq!(err.observation(), INVALID_TOOL_CALL_OBSERVATION);
        }
    }

    #[test]
    fn lenient_json_accepts_fences_trailing_commas_and_string_arguments() {
        let turn = parse_assistant(
            "<tool_call>\n```json\n{\"name\": \"search\", \"arguments\": {\"query\": [\"a, b\",],},}\n```\n</tool_call>",
        );
        assert_eq!(
            turn.calls[0].as_ref().unwrap().arguments,
            json!({"query": ["a, b"]})
        );
        let turn = parse_assistant(
            "<tool_call>{\"name\": \"search\", \"arguments\": \"{\\\"query\\\": [\\\"q\\\"]}\"}</tool_call>",
        );
        assert_eq!(
            turn.calls[0].as_ref().unwrap().arguments,
            json!({"query": ["q"]})
        );
        let turn = parse_assistant("<tool_call>{\"name\": \"noargs\"}</tool_call>");
        assert_eq!(turn.calls[0].as_ref().unwrap().arguments, json!({}));
    }

    #[test]
    fn several_calls_are_read_in_order() {
        let turn = parse_assistant(
            "<tool_call>{\"name\": \"a\", \"arguments\": {}}</tool_call> and <tool_call>bad</tool_call><tool_call>{\"name\": \"b\", \"arguments\": {}}</tool_call>",
        );
        assert_eq!(turn.calls.len(), 3);
        assert_eq!(turn.calls[0].as_ref().unwrap().name, "a");
        assert!(turn.calls[1].is_err());
        assert_eq!(turn.calls[2].as_ref().unwrap().name, "b");
    }

    #[test]
    fn answer_is_detected_only_when_closed() {
        let turn = parse_assistant("<think>done</think>\n<answer> 23 June 1912 </answer>");
        assert_eq!(turn.answer.as_deref(), Some("23 June 1912"));
        assert!(turn.calls.is_empty());
        assert_eq!(parse_assistant("<answer>unfinished").answer, None);
        assert!(parse_assistant("just musing").is_empty());
    }

    #[test]
    fn hallucinated_tool_responses_are_cut_off() {
        let turn = parse_assistant(
            "<tool_call>{\"name\": \"search\", \"arguments\": {\"query\": [\"q\"]}}</tool_call>\n<tool_response>\nfake result <answer>x</answer>\n</tool_response>",
        );
        assert_eq!(turn.answer, None);
        assert_eq!(turn.calls.len(), 1);
        assert!(!turn.content.contains("tool_response"));
    }

    #[test]
    fn openai_tool_calls_are_read() {
        let calls = parse_openai_tool_calls(&json!([
            {"id": "c1", "type": "function", "function": {"name": "search", "arguments": "{\"query\": [\"q\"]}"}},
            {"name": "PythonInterpreter", "arguments": {"code": "print(2)"}},
            {"function": {"name": "PythonInterpreter", "arguments": "{}"}},
            {"function": {"arguments": "{}"}},
            "junk"
        ]));
        assert_eq!(
            calls[0].as_ref().unwrap().arguments,
            json!({"query": ["q"]})
        );
        assert_eq!(
            calls[1].as_ref().unwrap().arguments,
            json!({"code": "print(2)"})
        );
        assert_eq!(
            calls[2].as_ref().unwrap_err().reason,
            MalformedReason::MissingCode
        );
        assert_eq!(
            calls[3].as_ref().unwrap_err().reason,
            MalformedReason::MissingName
        );
        assert!(calls[4].is_err());
        assert_eq!(parse_openai_tool_calls(&json!({"not": "a list"})).len(), 1);
    }

    #[test]
    fn responses_and_messages_have_the_tongyi_shape() {
        assert_eq!(tool_response("r"), "<tool_response>\nr\n</tool_response>");
        assert_eq!(unknown_tool_observation("foo"), "Error: Tool foo not found");
        let messages = initial_messages("sys", "q?");
        assert_eq!(messages[0].role, Role::System);
        assert_eq!(messages[1].content, "q?");
        assert_eq!(
            serde_json::to_value(&messages[1]).unwrap(),
            json!({"role": "user", "content": "q?"})
        );
        // "system: sys\n" + "user: q?\n" = 12 + 9 chars.
        assert_eq!(approx_token_count(&messages), 21 / 4);
    }

    #[test]
    fn parsing_never_panics_on_hostile_text() {
        let nasty = [
            "",
            "<tool_call>",
            "</tool_call><tool_call>",
            "<answer></answer>",
            "<code></code>",
            "<tool_call><code></code></tool_call>",
            "<tool_call>{\"name\": \"PythonInterpreter\"}<code>",
            "<tool_call>{\"name\":\"x\",\"arguments\":{\"a\":\"\\\"}\"}}</tool_call>",
            "\u{0}\u{FFFF}<tool_call>\u{10FFFF}</tool_call>",
        ];
        for text in nasty {
            let _ = parse_assistant(text);
        }
        let mut deep = "[".repeat(10_000);
        deep.insert_str(0, "<tool_call>");
        deep.push_str("</tool_call>");
        assert!(parse_assistant(&deep).calls[0].is_err());
    }
}
