//! `/mcp`: the same tools as a Model Context Protocol server over streamable HTTP
//! (the official Rust SDK, `rmcp`). `tools/list` gives each tool's JSON input schema;
//! `tools/call` answers with the agent text as text content and the structured data as
//! structured content, `isError` set when the call failed.

use std::sync::Arc;

use rmcp::model::{
    CallToolRequestParams, CallToolResult, ContentBlock, Implementation, ListToolsResult,
    PaginatedRequestParams, ServerCapabilities, ServerConfig, Tool,
};
use rmcp::service::{RequestContext, RoleServer};
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::ErrorData as McpError;
use rmcp::ServerHandler;
use serde_json::{Map, Value};
use simweb_tools::ToolError;

use crate::server::AppState;

/// The tower service mounted at `/mcp`.
pub fn service(state: AppState) -> StreamableHttpService<SimwebMcp, LocalSessionManager> {
    // Host checking guards desktop MCP servers against DNS rebinding; simweb is a
    // network service (often behind docker's port mapping) guarded by its API keys.
    let config = StreamableHttpServerConfig::default()
        .with_cancellation_token(state.inner.cancel.child_token())
        .disable_allowed_hosts();
    StreamableHttpService::new(
        move || {
            Ok(SimwebMcp {
                state: state.clone(),
            })
        },
        Arc::new(LocalSessionManager::default()),
        config,
    )
}

/// One MCP session's handler: a view of the shared tool layer.
#[derive(Clone)]
pub struct SimwebMcp {
    state: AppState,
}

impl SimwebMcp {
    fn tools(&self) -> Vec<Tool> {
        self.state
            .inner
            .toolbox
            .schemas()
            .iter()
            .filter_map(mcp_tool)
            .collect()
    }
}

/// OpenAI function schema → MCP tool.
fn mcp_tool(schema: &Value) -> Option<Tool> {
    let function = schema.get("function")?;
    let name = function.get("name")?.as_str()?.to_string();
    let description = function
        .get("description")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let input: Map<String, Value> = match function.get("parameters") {
        Some(Value::Object(map)) => map.clone(),
        _ => {
            let mut map = Map::new();
            map.insert("type".into(), Value::String("object".into()));
            map
        }
    };
    Some(Tool::new(name, description, Arc::new(input)))
}

impl ServerHandler for SimwebMcp {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("simweb", env!("CARGO_PKG_VERSION")))
            .with_instructions(
                "An offline, deterministic web over Wikipedia: search, visit pages, run Python.",
            )
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, McpError> {
        Ok(ListToolsResult::with_all_items(self.tools()))
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        self.tools().into_iter().find(|t| t.name == name)
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<rmcp::model::CallToolResponse, McpError> {
        let arguments = Value::Object(request.arguments.unwrap_or_default());
        let toolbox = &self.state.inner.toolbox;
        let result = match toolbox.call(&request.name, &arguments, "mcp").await {
            Ok(output) => {
                let structured = match output.data {
                    Value::Object(map) => Value::Object(map),
                    other => serde_json::json!({ "value": other }),
                };
                let mut result = CallToolResult::success(vec![ContentBlock::text(output.text)]);
                result.structured_content = Some(structured);
                result
            }
            Err(ToolError::UnknownTool { name, available }) => {
                return Err(McpError::invalid_params(
                    format!("unknown tool `{name}` (available: {available})"),
                    None,
                ));
            }
            Err(error) => CallToolResult::error(vec![ContentBlock::text(
                simweb_tools::format::agent_text_for_error(&request.name, &error),
            )]),
        };
        Ok(result.into())
    }
}
