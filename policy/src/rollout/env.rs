//! The environment side of an episode: the model's tool calls run through the
//! [`Toolbox`] (with its cache, limits and replay), answered in Tongyi's words. Nothing
//! the model writes can crash an episode: unreadable calls, unknown tools and tool
//! failures all become observations.

use std::sync::Arc;
use std::time::Instant;

use serde_json::Value;
use simweb_tools::format::agent_text_for_error;
use simweb_tools::react::{self, MalformedCall, ToolCall};
use simweb_tools::{ToolError, Toolbox};

use super::trajectory::{Timings, ToolCallRecord};

/// The tools an episode can call.
#[derive(Clone)]
pub struct ToolEnv {
    toolbox: Arc<Toolbox>,
    /// Calls run per model turn; further calls in the same turn get an error observation
    /// (the same rule as the server's episodes).
    max_calls_per_turn: usize,
}

impl ToolEnv {
    pub fn new(toolbox: Arc<Toolbox>, max_calls_per_turn: usize) -> Self {
        ToolEnv {
            toolbox,
            max_calls_per_turn: max_calls_per_turn.max(1),
        }
    }

    pub fn toolbox(&self) -> &Arc<Toolbox> {
        &self.toolbox
    }

    /// Runs the calls of one turn in order (deterministic), timing them into `timings`.
    /// `client` keys the tool layer's per-client quotas.
    pub async fn run_calls(
        &self,
        turn: usize,
        calls: Vec<Result<ToolCall, MalformedCall>>,
        client: &str,
        timings: &mut Timings,
    ) -> Vec<ToolCallRecord> {
        let mut records = Vec::with_capacity(calls.len());
        for (i, call) in calls.into_iter().enumerate() {
            let record = match call {
                _ if i >= self.max_calls_per_turn => ToolCallRecord {
                    turn,
                    name: None,
                    arguments: None,
                    result: format!(
                        "Error: at most {} tool calls are run per turn; this call was not run.",
                        self.max_calls_per_turn
                    ),
                    error: Some("too_many_calls".into()),
                    sources: Vec::new(),
                },
                Err(malformed) => ToolCallRecord {
                    turn,
                    name: None,
                    arguments: None,
                    result: malformed.observation().to_string(),
                    error: Some(format!("malformed_call: {}", malformed.reason)),
                    sources: Vec::new(),
                },
                Ok(call) => {
                    let started = Instant::now();
                    let outcome = self.toolbox.call(&call.name, &call.arguments, client).await;
                    timings.add_tool(started.elapsed());
                    match outcome {
                        Ok(output) => ToolCallRecord {
                            turn,
                            sources: sources(&output.data),
                            result: output.text,
                            error: None,
                            name: Some(call.name),
                            arguments: Some(call.arguments),
                        },
                        Err(ToolError::UnknownTool { .. }) => ToolCallRecord {
                            turn,
                            result: react::unknown_tool_observation(&call.name),
                            error: Some("unknown_tool".into()),
                            sources: Vec::new(),
                            name: Some(call.name),
                            arguments: Some(call.arguments),
                        },
                        Err(error) => ToolCallRecord {
                            turn,
                            result: agent_text_for_error(&call.name, &error),
                            error: Some(error.kind().to_string()),
                            sources: Vec::new(),
                            name: Some(call.name),
                            arguments: Some(call.arguments),
                        },
                    }
                }
            };
            records.push(record);
        }
        records
    }
}

/// The user turn carrying a turn's results: one `<tool_response>` block per call.
pub fn observation(records: &[ToolCallRecord]) -> String {
    records
        .iter()
        .map(|r| react::tool_response(&r.result))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Doc ids and URLs a tool result showed: `doc_id`, `link` (search hits) and
/// `canonical_url` (visited pages) anywhere in its structured data, first seen first.
pub fn sources(data: &Value) -> Vec<String> {
    let mut out = Vec::new();
    collect_sources(data, &mut out);
    out
}

fn collect_sources(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for key in ["doc_id", "link", "canonical_url"] {
                if let Some(Value::String(s)) = map.get(key) {
                    if !s.is_empty() && !out.contains(s) {
                        out.push(s.clone());
                    }
                }
            }
            // serde_json's map order is fixed per build (BTreeMap without
            // `preserve_order`), so the traversal is deterministic.
            for item in map.values() {
                collect_sources(item, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|item| collect_sources(item, out)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sources_come_from_hits_and_pages() {
        let data = json!({"results": [{"organic": [
            {"doc_id": "enwiki:1", "link": "https://en.wikipedia.org/wiki/A"},
            {"doc_id": "enwiki:1", "link": "https://en.wikipedia.org/wiki/A"},
            {"doc_id": "enwiki:2", "link": ""}]}],
            "pages": [{"doc_id": "enwiki:3", "canonical_url": "https://en.wikipedia.org/wiki/C"}]});
        let s = sources(&data);
        assert!(s.contains(&"enwiki:1".to_string()));
        assert!(s.contains(&"https://en.wikipedia.org/wiki/C".to_string()));
        assert_eq!(s.len(), 5);
    }
}
