//! The toolbox: tools by name, each wrapped in the same layer stack, and the one entry
//! point `call(name, args, client)` that servers, episodes and the CLI use.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::Value;

use crate::error::{SetupError, ToolError};
use crate::layer::{LayerConfig, Metrics, ToolLayers};
use crate::tool::{CallContext, CallKey, Tool, ToolOutput};

/// Registered tools, wrapped in the layers. Cheap to share behind an `Arc`.
pub struct Toolbox {
    layers: ToolLayers,
    snapshot_id: String,
    /// Registration order: the order of `schemas()` (Tongyi lists search, visit,
    /// PythonInterpreter, google_scholar, parse_file).
    order: Vec<String>,
    tools: BTreeMap<String, Arc<dyn Tool>>,
    aliases: BTreeMap<String, String>,
}

impl Toolbox {
    /// An empty toolbox. `snapshot_id` (the corpus snapshot) is part of every call key.
    pub fn new(snapshot_id: &str, config: LayerConfig) -> Result<Self, SetupError> {
        Ok(Toolbox {
            layers: ToolLayers::new(config)?,
            snapshot_id: snapshot_id.to_string(),
            order: Vec::new(),
            tools: BTreeMap::new(),
            aliases: BTreeMap::new(),
        })
    }

    /// Adds a tool behind the full layer stack. A tool of the same name is replaced.
    pub fn register(&mut self, tool: Arc<dyn Tool>) {
        let name = tool.name().to_string();
        if !self.tools.contains_key(&name) {
            self.order.push(name.clone());
        }
        self.tools.insert(name, self.layers.wrap(tool));
    }

    /// Adds a tool behind the full layer stack that front doors call by name but that
    /// is not offered to agents (absent from `names()` and `schemas()`), e.g. the
    /// `retrieve` tool behind Search-R1's `/retrieve`.
    pub fn register_hidden(&mut self, tool: Arc<dyn Tool>) {
        let name = tool.name().to_string();
        self.order.retain(|n| *n != name);
        self.tools.insert(name, self.layers.wrap(tool));
    }

    /// Lets agents call `tool` under another name too (e.g. `PythonInterpreter`).
    /// The alias shares the tool's layers, cache and metrics.
    pub fn alias(&mut self, alias: &str, tool: &str) {
        self.aliases.insert(alias.to_string(), tool.to_string());
    }

    pub fn snapshot_id(&self) -> &str {
        &self.snapshot_id
    }

    /// Tool names in registration order.
    pub fn names(&self) -> Vec<String> {
        self.order.clone()
    }

    /// Every name `call` accepts: offered tools, hidden ones and aliases, sorted.
    pub fn callable_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .tools
            .keys()
            .chain(self.aliases.keys())
            .cloned()
            .collect();
        names.sort();
        names.dedup();
        names
    }

    pub fn get(&self, name: &str) -> Option<&Arc<dyn Tool>> {
        let name = self.aliases.get(name).map(String::as_str).unwrap_or(name);
        self.tools.get(name)
    }

    /// The OpenAI function schemas, in registration order.
    pub fn schemas(&self) -> Vec<Value> {
        self.order
            .iter()
            .filter_map(|name| self.tools.get(name))
            .map(|tool| tool.schema())
            .collect()
    }

    /// Calls a tool through its layers. `client` keys the per-client quotas.
    pub async fn call(
        &self,
        name: &str,
        args: &Value,
        client: &str,
    ) -> Result<ToolOutput, ToolError> {
        let tool = self.get(name).ok_or_else(|| ToolError::UnknownTool {
            name: name.to_string(),
            available: self.order.join(", "),
        })?;
        let ctx = CallContext {
            client: client.to_string(),
            key: self.call_key(tool.as_ref(), args),
            attempt: 0,
        };
        tool.call(args, &ctx).await
    }

    /// The key a call of `tool` with `args` has here (cache, replay, faults).
    pub fn call_key(&self, tool: &dyn Tool, args: &Value) -> CallKey {
        CallKey::new(tool.name(), args, &self.snapshot_id, &tool.config_version())
    }

    pub fn metrics(&self) -> Arc<Metrics> {
        self.layers.metrics()
    }

    pub fn layers(&self) -> &ToolLayers {
        &self.layers
    }
}
