//! `/mcp`: the same tools as a Model Context Protocol server over streamable HTTP
//! (the official Rust SDK, `rmcp`). `tools/list` gives each tool's JSON input schema;
//! `tools/call` answers with the agent text as text content and the structured data as
//! structured content, `isError` set when the call failed.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::Router;

use rmcp::model::{
    CallToolRequestParams, CallToolResult, ContentBlock, Implementation, ListToolsResult,
    PaginatedRequestParams, ServerCapabilities, ServerConfig, Tool,
};
use rmcp::service::{RequestContext, RoleServer};
use rmcp::transport::common::http_header::HEADER_SESSION_ID;
use rmcp::transport::streamable_http_server::session::local::{LocalSessionManager, SessionConfig};
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::ErrorData as McpError;
use rmcp::ServerHandler;
use serde_json::{Map, Value};
use simweb_tools::ToolError;

use crate::errors::ApiError;
use crate::routes::Client;
use crate::server::AppState;

/// What is mounted at `/mcp`: the rmcp service behind [`limit_sessions`].
pub fn service(state: AppState) -> Router {
    let limits = &state.inner.config.mcp;
    let mut session_config = SessionConfig::default();
    session_config.keep_alive = Some(Duration::from_secs(limits.idle_timeout_secs));
    let mut manager = LocalSessionManager::default();
    manager.session_config = session_config;
    let manager = Arc::new(manager);
    // Host checking guards desktop MCP servers against DNS rebinding; simweb is a
    // network service (often behind docker's port mapping) guarded by its API keys.
    let config = StreamableHttpServerConfig::default()
        .with_cancellation_token(state.inner.cancel.child_token())
        .disable_allowed_hosts();
    let handler_state = state.clone();
    let mcp = StreamableHttpService::new(
        move || {
            Ok(SimwebMcp {
                state: handler_state.clone(),
            })
        },
        Arc::clone(&manager),
        config,
    );
    let sessions = Arc::new(Sessions {
        manager,
        opening: tokio::sync::Mutex::new(()),
        by_client: Mutex::new(BTreeMap::new()),
        max_total: limits.max_sessions,
        max_per_client: limits.max_sessions_per_client,
    });
    Router::new()
        .fallback_service(mcp)
        .layer(middleware::from_fn_with_state(sessions, limit_sessions))
}

/// Open sessions by client, to bound them (the API-key middleware has already run, so
/// the caller's [`Client`] is known).
struct Sessions {
    manager: Arc<LocalSessionManager>,
    /// Held while a session is being opened, so concurrent opens cannot all pass the
    /// count before any of them is registered (an `initialize` is quick: no tool runs).
    opening: tokio::sync::Mutex<()>,
    by_client: Mutex<BTreeMap<String, BTreeSet<Arc<str>>>>,
    max_total: usize,
    max_per_client: usize,
}

/// A request without `Mcp-Session-Id` opens a session: refused with 503 when the server
/// holds `mcp.max_sessions`, with 429 when this client holds `max_sessions_per_client`.
/// Sessions that expired or were closed are forgotten before counting.
async fn limit_sessions(
    State(sessions): State<Arc<Sessions>>,
    request: Request,
    next: Next,
) -> Response {
    if request.method() == Method::DELETE {
        // rmcp answers a session close with 202; the official Python SDKs (1.x and 2.x)
        // accept only 200/204 and log "Session termination failed: 202" otherwise.
        let mut response = next.run(request).await;
        if response.status() == StatusCode::ACCEPTED {
            *response.status_mut() = StatusCode::OK;
        }
        return response;
    }
    if request.headers().contains_key(HEADER_SESSION_ID) || request.method() != Method::POST {
        return next.run(request).await;
    }
    let client = request
        .extensions()
        .get::<Client>()
        .map(|c| c.0.clone())
        .unwrap_or_default();
    let _opening = sessions.opening.lock().await;
    let total = {
        let live = sessions.manager.sessions.read().await;
        let mut by_client = sessions.by_client.lock().unwrap_or_else(|p| p.into_inner());
        by_client.retain(|_, ids| {
            ids.retain(|id| live.contains_key(id));
            !ids.is_empty()
        });
        if by_client.get(&client).map_or(0, BTreeSet::len) >= sessions.max_per_client {
            return ApiError::RateLimited(Duration::from_secs(5)).into_response();
        }
        live.len()
    };
    if total >= sessions.max_total {
        return ApiError::Saturated {
            message: format!("MCP session limit reached ({total} open); retry later"),
            retry_after: Duration::from_secs(5),
        }
        .into_response();
    }
    let response = next.run(request).await;
    if let Some(id) = response
        .headers()
        .get(HEADER_SESSION_ID)
        .and_then(|v| v.to_str().ok())
    {
        let mut by_client = sessions.by_client.lock().unwrap_or_else(|p| p.into_inner());
        by_client.entry(client).or_default().insert(Arc::from(id));
    }
    response
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
