//! The `Tool` abstraction: what every tool (search, visit, python, …) implements and what
//! every layer wraps.
//!
//! A tool receives raw JSON arguments (exactly what the agent wrote), validates them
//! into its own typed arguments with [`parse_args`], and answers with a [`ToolOutput`]:
//! the text the agent sees plus structured data for APIs. Layers (cache, retry, …)
//! implement `Tool` too, wrapping an inner `Arc<dyn Tool>`, so a stack of layers is
//! itself a tool.

use std::fmt;

use async_trait::async_trait;
use serde::de::{self, DeserializeOwned, Deserializer, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::error::ToolError;

/// What a tool call produced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolOutput {
    /// Exactly what the agent sees (in the live tool's text format).
    pub text: String,
    /// Structured result for APIs (hits, evidence, …).
    pub data: Value,
    /// Answered by the cache (bytes identical to the original answer).
    #[serde(default)]
    pub cached: bool,
    /// Answered from the record/replay log (no tool work done).
    #[serde(default)]
    pub replayed: bool,
}

impl ToolOutput {
    pub fn new(text: impl Into<String>, data: Value) -> Self {
        ToolOutput {
            text: text.into(),
            data,
            cached: false,
            replayed: false,
        }
    }
}

/// Per-call facts the layers need. Built by [`crate::Toolbox::call`].
#[derive(Debug, Clone)]
pub struct CallContext {
    /// Who is calling (episode, API key, …): rate quotas are kept per client.
    pub client: String,
    /// The call's identity for cache, replay and fault injection.
    pub key: CallKey,
    /// 0 for the first attempt; the retry layer counts up. Fault injection derives its
    /// decision from (seed, key, attempt), never from timing.
    pub attempt: u32,
}

impl CallContext {
    /// A context for calling a tool directly, without a [`crate::Toolbox`] (tests, CLI).
    pub fn new(client: &str, tool: &str, args: &Value, snapshot_id: &str, config: &str) -> Self {
        CallContext {
            client: client.to_string(),
            key: CallKey::new(tool, args, snapshot_id, config),
            attempt: 0,
        }
    }
}

/// A tool call's identity: sha256 of (tool, tool config version, corpus snapshot id,
/// canonical arguments). Equal keys mean byte-identical answers, which is what makes
/// caching and replay sound.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CallKey {
    /// Hex digest.
    pub digest: String,
    /// `tool {canonical args}`, shortened, for error messages (`ReplayMiss`).
    pub describe: String,
}

impl CallKey {
    pub fn new(tool: &str, args: &Value, snapshot_id: &str, config_version: &str) -> Self {
        let canonical = canonical_json(args);
        let mut hasher = Sha256::new();
        for part in [
            "simweb-tools/call-key/v1",
            tool,
            config_version,
            snapshot_id,
            &canonical,
        ] {
            hasher.update((part.len() as u64).to_le_bytes());
            hasher.update(part.as_bytes());
        }
        let describe = format!("{tool} {}", shorten(&canonical, 300));
        CallKey {
            digest: hex::encode(hasher.finalize()),
            describe,
        }
    }
}

impl fmt::Display for CallKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (key {})", self.describe, &self.digest[..16])
    }
}

fn shorten(text: &str, max_chars: usize) -> String {
    if text.chars().count() <= max_chars {
        return text.to_string();
    }
    let head: String = text.chars().take(max_chars).collect();
    format!("{head}…")
}

/// JSON with object keys sorted at every level and no whitespace, independent of how
/// `serde_json::Map` orders keys in this build.
pub fn canonical_json(value: &Value) -> String {
    let mut out = String::new();
    write_canonical(value, &mut out);
    out
}

fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                write_canonical(&map[key.as_str()], out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

/// An agent-callable tool.
#[async_trait]
pub trait Tool: Send + Sync + 'static {
    /// The name agents call it by (`search`, `visit`, …).
    fn name(&self) -> &str;

    /// The OpenAI function schema:
    /// `{"type":"function","function":{"name","description","parameters"}}`.
    fn schema(&self) -> Value;

    /// Changes whenever the same arguments would produce different bytes (format or
    /// ranking changes, another summariser): part of every cache and replay key.
    fn config_version(&self) -> String {
        "1".to_string()
    }

    /// Whether answers may be cached (same key ⇒ same bytes). True for every tool
    /// over the immutable corpus.
    fn cacheable(&self) -> bool {
        true
    }

    /// The shortest per-attempt timeout the tool layer may give this tool: a tool with
    /// limits of its own (the sandbox's queue wait + wall limit) must be able to answer
    /// with its own outcome before the layer's generic timeout fires.
    fn min_timeout(&self) -> std::time::Duration {
        std::time::Duration::ZERO
    }

    /// Answer one call. `args` is exactly what the agent sent.
    async fn call(&self, args: &Value, ctx: &CallContext) -> Result<ToolOutput, ToolError>;
}

/// Validate raw JSON arguments into a tool's typed arguments. Anything but an object,
/// a missing required field, a mistyped or an unknown field gives `InvalidArguments`
/// with serde's reason (which names the field).
pub fn parse_args<T: DeserializeOwned>(tool: &str, args: &Value) -> Result<T, ToolError> {
    if !args.is_object() {
        return Err(ToolError::invalid(
            tool,
            format!(
                "arguments must be a JSON object, got {}",
                json_type_name(args)
            ),
        ));
    }
    // The path prefix (`top_k: invalid type ...`) names the field even for type errors,
    // which serde alone reports without it.
    serde_path_to_error::deserialize(args).map_err(|err| ToolError::invalid(tool, err.to_string()))
}

/// How an error message names a JSON value's type ("an array", "null", …).
pub fn json_type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// `"x"` or `["x", "y"]`: Tongyi's schemas declare arrays but its code (and models)
/// also use a single string. Remembers which form was used because a single string
/// and a one-element list are answered the same way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OneOrMany(pub Vec<String>);

impl<'de> Deserialize<'de> for OneOrMany {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct OneOrManyVisitor;

        impl<'de> Visitor<'de> for OneOrManyVisitor {
            type Value = OneOrMany;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string or an array of strings")
            }

            fn visit_str<E: de::Error>(self, value: &str) -> Result<OneOrMany, E> {
                Ok(OneOrMany(vec![value.to_string()]))
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<OneOrMany, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element::<String>()? {
                    items.push(item);
                }
                Ok(OneOrMany(items))
            }
        }

        deserializer.deserialize_any(OneOrManyVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Args {
        query: OneOrMany,
        #[serde(default)]
        top_k: Option<u32>,
    }

    #[test]
    fn canonical_json_sorts_keys_at_every_level() {
        let a = json!({"b": 1, "a": {"y": [1, {"d": 2, "c": 3}], "x": "é"}});
        assert_eq!(
            canonical_json(&a),
            r#"{"a":{"x":"é","y":[1,{"c":3,"d":2}]},"b":1}"#
        );
    }

    #[test]
    fn call_key_ignores_key_order_but_not_snapshot_or_version() {
        let a = CallKey::new("search", &json!({"query": ["x"], "top_k": 3}), "s1", "1");
        let b = CallKey::new("search", &json!({"top_k": 3, "query": ["x"]}), "s1", "1");
        assert_eq!(a, b);
        assert_ne!(
            a,
            CallKey::new("search", &json!({"query": ["x"], "top_k": 3}), "s2", "1")
        );
        assert_ne!(
            a,
            CallKey::new("search", &json!({"query": ["x"], "top_k": 3}), "s1", "2")
        );
        assert_ne!(
            a,
            CallKey::new("visit", &json!({"query": ["x"], "top_k": 3}), "s1", "1")
        );
        assert!(a.describe.starts_with("search {\"query\""));
    }

    #[test]
    fn parse_args_accepts_string_or_list() {
        let one: Args = parse_args("search", &json!({"query": "a"})).unwrap();
        assert_eq!(one.query.0, vec!["a"]);
        let many: Args = parse_args("search", &json!({"query": ["a", "b"], "top_k": 2})).unwrap();
        assert_eq!(many.query.0, vec!["a", "b"]);
        assert_eq!(many.top_k, Some(2));
    }

    #[test]
    fn parse_args_names_what_is_wrong() {
        let reason = |args: Value| match parse_args::<Args>("search", &args) {
            Err(ToolError::InvalidArguments { reason, .. }) => reason,
            other => panic!("expected InvalidArguments, got {other:?}"),
        };
        assert!(reason(json!({})).contains("missing field `query`"));
        assert!(reason(json!({"query": 5})).contains("a string or an array of strings"));
        assert!(reason(json!({"query": [1]})).contains("expected a string"));
        assert!(reason(json!({"query": "a", "top_k": "ten"})).contains("invalid type"));
        assert!(reason(json!({"query": "a", "num": 3})).contains("unknown field `num`"));
        assert!(reason(json!(["a"])).contains("must be a JSON object, got an array"));
    }
}
