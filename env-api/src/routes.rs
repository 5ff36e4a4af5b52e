//! The router: every endpoint, the middleware that guards them, and the native API
//! handlers (tools, episodes, health, metrics). Compat endpoints live in
//! [`crate::compat`], MCP in [`crate::mcp`].

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use axum::extract::{FromRequest, MatchedPath, Path, Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;
use utoipa::ToSchema;

use crate::episodes::{CreateEpisode, Created, Episode, StepResult};
use crate::errors::ApiError;
use crate::metrics::{self, Gauges};
use crate::server::AppState;

/// All routes with their middleware.
pub fn router(state: AppState) -> Router {
    let config = &state.inner.config.http;
    let body_limit = config.body_limit_bytes;
    let timeout = Duration::from_millis(config.request_timeout_ms);
    let api = Router::new()
        .route("/v1/tools", get(list_tools))
        .route("/v1/tools:batch", post(call_batch))
        .route("/v1/tools/{name}", post(call_tool))
        .route("/v1/episodes", post(create_episode))
        .route("/v1/episodes/{id}", get(get_episode))
        .route("/v1/episodes/{id}/step", post(step_episode))
        .route("/compat/serper/search", post(crate::compat::serper_search))
        .route("/search", post(crate::compat::serper_search_at_root))
        .route(
            "/v1/chat/completions",
            post(crate::openai::chat_completions),
        )
        .route("/v1/models", get(crate::openai::list_models))
        .route("/compat/jina/{*url}", get(crate::compat::jina_read))
        .route(
            "/compat/sandbox-fusion/run_code",
            post(crate::compat::sandbox_fusion_run),
        )
        .route("/retrieve", post(crate::compat::retrieve))
        .nest_service("/mcp", crate::mcp::service(state.clone()))
        .fallback(crate::compat::reader_or_not_found)
        .layer(middleware::from_fn_with_state(state.clone(), authenticate));
    let replica = state
        .inner
        .config
        .replica
        .as_deref()
        .and_then(|name| HeaderValue::from_str(name).ok());
    let router = Router::new()
        .route("/healthz", get(healthz))
        .route("/health", get(crate::compat::retriever_health))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics_text))
        .route("/openapi.json", get(openapi))
        .merge(api)
        .layer(axum::extract::DefaultBodyLimit::max(body_limit))
        .layer(RequestBodyLimitLayer::new(body_limit))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            timeout,
        ))
        .layer(middleware::from_fn_with_state(state.clone(), shed_load))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            count_responses,
        ))
        .layer(CatchPanicLayer::custom(|_panic| {
            ApiError::Internal("the request handler panicked".into()).into_response()
        }));
    let router = match replica {
        // Outermost, so that even a shed or timed-out request says who answered it.
        Some(name) => router.layer(SetResponseHeaderLayer::overriding(
            HeaderName::from_static(REPLICA_HEADER),
            name,
        )),
        None => router,
    };
    router.with_state(state)
}

/// The response header naming the replica that answered (set when `replica` is).
pub const REPLICA_HEADER: &str = "x-simweb-replica";

/// Who is calling: the API key's fingerprint when keys are configured, else the
/// `X-Simweb-Client` header, else `anonymous`. Keys rate limits per client.
#[derive(Debug, Clone)]
pub struct Client(pub String);

/// A JSON object body whose every failure (wrong content type, syntax, not an object,
/// unknown or missing fields, too large) is a clean 4xx with the reason. A JSON array is
/// refused even where serde's derive would read it as the fields in order: no client
/// means that, and `/openapi.json` does not allow it.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let AnyJson(value) = AnyJson::from_request(req, state).await?;
        crate::lenient::from_object(value)
            .map(ApiJson)
            .map_err(|e| ApiError::Unprocessable(format!("invalid request body: {e}")))
    }
}

/// Any JSON body (e.g. Serper's one query or list of queries), failures as for
/// [`ApiJson`].
pub struct AnyJson(pub Value);

impl<S: Send + Sync> FromRequest<S> for AnyJson {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<Value>::from_request(req, state).await {
            Ok(Json(value)) => Ok(AnyJson(value)),
            Err(rejection) => Err(ApiError::from_json_rejection(rejection)),
        }
    }
}

async fn count_responses(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".to_string());
    let response = next.run(request).await;
    state.inner.http.record(&route, response.status().as_u16());
    response
}

/// Sheds load above `http.max_in_flight` with 503 + Retry-After instead of queueing
/// without bound. Health checks always pass.
async fn shed_load(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let path = request.uri().path();
    if matches!(path, "/healthz" | "/health" | "/readyz" | "/metrics") {
        return next.run(request).await;
    }
    let Ok(_permit) = state.inner.in_flight.clone().try_acquire_owned() else {
        state.inner.http.shed.fetch_add(1, Ordering::Relaxed);
        return ApiError::Saturated {
            message: format!(
                "server saturated: {} requests in flight",
                state.inner.config.http.max_in_flight
            ),
            retry_after: Duration::from_secs(1),
        }
        .into_response();
    };
    next.run(request).await
}

async fn authenticate(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let keys = &state.inner.config.auth.api_keys;
    let client = if keys.is_empty() {
        request
            .headers()
            .get("x-simweb-client")
            .and_then(|v| v.to_str().ok())
            .filter(|v| !v.is_empty() && v.len() <= 128)
            .unwrap_or("anonymous")
            .to_string()
    } else {
        match presented_key(request.headers()) {
            Some(key)
                if keys
                    .iter()
                    .any(|k| constant_time_eq(k.as_bytes(), key.as_bytes())) =>
            {
                key_fingerprint(&key)
            }
            _ => {
                state
                    .inner
                    .http
                    .unauthorized
                    .fetch_add(1, Ordering::Relaxed);
                return ApiError::Unauthorized.into_response();
            }
        }
    };
    request.extensions_mut().insert(Client(client));
    next.run(request).await
}

fn presented_key(headers: &HeaderMap) -> Option<String> {
    if let Some(value) = headers.get("authorization").and_then(|v| v.to_str().ok()) {
        let value = value.trim();
        if let Some(token) = value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "))
        {
            return Some(token.trim().to_string());
        }
    }
    headers
        .get("x-api-key")
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().to_string())
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn key_fingerprint(key: &str) -> String {
    let digest = hex::encode(Sha256::digest(key.as_bytes()));
    format!("key-{}", &digest[..12])
}

pub(crate) fn client_of(request_client: Option<&Client>) -> String {
    request_client
        .map(|c| c.0.clone())
        .unwrap_or_else(|| "anonymous".to_string())
}

#[utoipa::path(get, path = "/healthz", responses((status = 200, description = "The process is alive")))]
pub async fn healthz() -> &'static str {
    "ok"
}

#[derive(Serialize, ToSchema)]
pub struct Readiness {
    pub ready: bool,
    pub snapshot_id: String,
    /// What tool results, caches and replay records are keyed by: the corpus snapshot,
    /// plus the dense index and its search settings when one is attached.
    pub tools_snapshot_id: String,
    pub documents: usize,
    pub tools: Vec<String>,
    pub python: bool,
    /// This server's replica name (absent when it has none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replica: Option<String>,
    /// Why the server is not ready (absent when it is).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// A flush of the episode store running longer than this means the store (or its
/// disk) is wedged: episode calls would hang, so the server is not ready.
const STORE_STALL: Duration = Duration::from_secs(10);

#[utoipa::path(get, path = "/readyz", responses(
    (status = 200, body = Readiness, description = "Corpus loaded, tools registered, sandbox compiled"),
    (status = 503, body = Readiness, description = "Shutting down, or the episode store is wedged")))]
pub async fn readyz(State(state): State<AppState>) -> Response {
    let inner = &state.inner;
    let reason = if inner.shutting_down.load(Ordering::SeqCst) {
        Some("shutting down".to_string())
    } else {
        match inner.episodes.store().stalled_for() {
            Some(stall) if stall >= STORE_STALL => Some(format!(
                "episode store: a flush has been running for {} s",
                stall.as_secs()
            )),
            _ => None,
        }
    };
    let ready = reason.is_none();
    let body = Readiness {
        ready,
        snapshot_id: inner.corpus.snapshot_id().to_string(),
        tools_snapshot_id: inner.toolbox.snapshot_id().to_string(),
        documents: inner.corpus.counts().0,
        tools: inner.toolbox.names(),
        python: inner.sandbox.is_some(),
        replica: inner.config.replica.clone(),
        reason,
    };
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(body)).into_response()
}

#[utoipa::path(get, path = "/metrics", responses((status = 200, description = "Prometheus text exposition", content_type = "text/plain")))]
pub async fn metrics_text(State(state): State<AppState>) -> Response {
    let inner = &state.inner;
    let gauges = Gauges {
        in_flight: inner.config.http.max_in_flight - inner.in_flight.available_permits(),
        max_in_flight: inner.config.http.max_in_flight,
        episodes_stored: inner.episodes.store().len(),
        sandbox_slots: inner.sandbox.as_ref().map(|_| {
            if inner.config.python.max_concurrency > 0 {
                inner.config.python.max_concurrency
            } else {
                std::thread::available_parallelism()
                    .map(|n| n.get())
                    .unwrap_or(2)
            }
        }),
    };
    let text = metrics::render(&inner.toolbox.metrics().snapshot(), &inner.http, &gauges);
    (
        [("content-type", "text/plain; version=0.0.4; charset=utf-8")],
        text,
    )
        .into_response()
}

pub async fn openapi(State(state): State<AppState>) -> Response {
    (
        [("content-type", "application/json")],
        state.inner.openapi.clone(),
    )
        .into_response()
}

/// `GET /v1/tools` answer.
#[derive(Serialize, ToSchema)]
pub struct ToolList {
    /// OpenAI function-calling schemas, in registration order.
    #[schema(value_type = Vec<Object>)]
    pub tools: Vec<Value>,
}

#[utoipa::path(get, path = "/v1/tools", responses((status = 200, body = ToolList)))]
pub async fn list_tools(State(state): State<AppState>) -> Json<ToolList> {
    Json(ToolList {
        tools: state.inner.toolbox.schemas(),
    })
}

/// `POST /v1/tools/{name}` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ToolCallRequest {
    /// The tool's arguments: a JSON object.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub arguments: Map<String, Value>,
    /// Client id for per-client quotas (ignored when API keys identify clients).
    pub client: Option<String>,
    /// Must match the server's record/replay mode (`live`, `record`, `replay`,
    /// `replay-or-live`); the mode is fixed per server so a log stays consistent.
    pub mode: Option<String>,
}

/// A tool's answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct ToolCallResponse {
    pub tool: String,
    /// Exactly what an agent sees.
    pub text: String,
    #[schema(value_type = Object)]
    pub data: Value,
    pub cached: bool,
    pub replayed: bool,
    /// Server-side time for the call (not part of any deterministic output).
    pub elapsed_ms: f64,
}

fn effective_client(auth: &Client, state: &AppState, requested: Option<String>) -> String {
    if state.inner.config.auth.api_keys.is_empty() {
        requested
            .filter(|c| !c.is_empty())
            .unwrap_or_else(|| auth.0.clone())
    } else {
        auth.0.clone()
    }
}

fn check_mode(state: &AppState, mode: Option<&str>) -> Result<(), ApiError> {
    let Some(mode) = mode else { return Ok(()) };
    let configured = state.inner.config.layers.replay.mode.label();
    if mode == configured {
        Ok(())
    } else {
        Err(ApiError::Unprocessable(format!(
            "`mode` {mode:?} is not available: this server runs in `{configured}` mode (set layers.replay.mode)"
        )))
    }
}

#[utoipa::path(post, path = "/v1/tools/{name}", params(("name" = String, Path, description = "Tool name, e.g. search")),
    request_body = ToolCallRequest,
    responses((status = 200, body = ToolCallResponse), (status = 404, description = "Unknown tool"),
        (status = 422, description = "Invalid arguments"), (status = 429, description = "Rate limited (Retry-After)"),
        (status = 503, description = "Saturated (Retry-After)")))]
pub async fn call_tool(
    State(state): State<AppState>,
    Path(name): Path<String>,
    axum::Extension(auth): axum::Extension<Client>,
    ApiJson(request): ApiJson<ToolCallRequest>,
) -> Result<Json<ToolCallResponse>, ApiError> {
    check_mode(&state, request.mode.as_deref())?;
    let client = effective_client(&auth, &state, request.client);
    let started = Instant::now();
    let output = state
        .inner
        .toolbox
        .call(&name, &Value::Object(request.arguments), &client)
        .await?;
    Ok(Json(ToolCallResponse {
        tool: name,
        text: output.text,
        data: output.data,
        cached: output.cached,
        replayed: output.replayed,
        elapsed_ms: started.elapsed().as_secs_f64() * 1000.0,
    }))
}

/// `POST /v1/tools:batch` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchRequest {
    #[serde(deserialize_with = "crate::lenient::objects")]
    pub calls: Vec<BatchCall>,
    pub client: Option<String>,
    pub mode: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchCall {
    pub tool: String,
    /// The tool's arguments: a JSON object.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub arguments: Map<String, Value>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BatchResponse {
    /// One entry per call, in request order.
    pub results: Vec<BatchItem>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BatchItem {
    pub tool: String,
    pub ok: bool,
    /// The HTTP status this call alone would have had.
    pub status: u16,
    pub text: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub data: Option<Value>,
    pub cached: bool,
    pub error: Option<ErrorInfo>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorInfo {
    pub kind: String,
    pub message: String,
}

#[utoipa::path(post, path = "/v1/tools:batch", request_body = BatchRequest,
    responses((status = 200, body = BatchResponse), (status = 422, description = "Too many calls or a bad body")))]
pub async fn call_batch(
    State(state): State<AppState>,
    axum::Extension(auth): axum::Extension<Client>,
    ApiJson(request): ApiJson<BatchRequest>,
) -> Result<Json<BatchResponse>, ApiError> {
    check_mode(&state, request.mode.as_deref())?;
    let max = state.inner.config.http.max_batch;
    if request.calls.len() > max {
        return Err(ApiError::Unprocessable(format!(
            "too many calls in one batch: {} (at most {max})",
            request.calls.len()
        )));
    }
    let client = effective_client(&auth, &state, request.client);
    let toolbox = &state.inner.toolbox;
    let calls = request.calls.iter().map(|call| {
        let client = client.clone();
        let arguments = Value::Object(call.arguments.clone());
        async move {
            match toolbox.call(&call.tool, &arguments, &client).await {
                Ok(output) => BatchItem {
                    tool: call.tool.clone(),
                    ok: true,
                    status: 200,
                    text: Some(output.text),
                    data: Some(output.data),
                    cached: output.cached,
                    error: None,
                },
                Err(error) => {
                    let api = ApiError::from(error);
                    BatchItem {
                        tool: call.tool.clone(),
                        ok: false,
                        status: api.status().as_u16(),
                        text: None,
                        data: None,
                        cached: false,
                        error: Some(ErrorInfo {
                            kind: api.kind().to_string(),
                            message: api.to_string(),
                        }),
                    }
                }
            }
        }
    });
    let results = futures::future::join_all(calls).await;
    Ok(Json(BatchResponse { results }))
}

#[utoipa::path(post, path = "/v1/episodes", request_body = CreateEpisode,
    responses((status = 200, body = Created), (status = 422, description = "Unknown tool or bad limits")))]
pub async fn create_episode(
    State(state): State<AppState>,
    axum::Extension(auth): axum::Extension<Client>,
    ApiJson(request): ApiJson<CreateEpisode>,
) -> Result<Json<Created>, ApiError> {
    let owner = client_of(Some(&auth));
    Ok(Json(state.inner.episodes.create(request, &owner).await?))
}

/// `POST /v1/episodes/{id}/step` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StepRequest {
    /// The assistant's raw text (Tongyi `<tool_call>` / `<answer>` form), or
    /// `{"content"?: text, "tool_calls": [OpenAI tool calls]}`.
    #[schema(value_type = Object)]
    pub action: Value,
}

#[utoipa::path(post, path = "/v1/episodes/{id}/step", params(("id" = String, Path)), request_body = StepRequest,
    responses((status = 200, body = StepResult), (status = 404, description = "Unknown or expired episode"),
        (status = 409, description = "The episode has ended"),
        (status = 429, description = "A tool was rate limited; the step was not recorded, retry it"),
        (status = 503, description = "A tool was saturated; the step was not recorded, retry it")))]
pub async fn step_episode(
    State(state): State<AppState>,
    Path(id): Path<String>,
    axum::Extension(auth): axum::Extension<Client>,
    ApiJson(request): ApiJson<StepRequest>,
) -> Result<Json<StepResult>, ApiError> {
    let client = client_of(Some(&auth));
    Ok(Json(
        state
            .inner
            .episodes
            .step(&id, &request.action, &client)
            .await?,
    ))
}

#[utoipa::path(get, path = "/v1/episodes/{id}", params(("id" = String, Path)),
    responses((status = 200, body = Episode), (status = 404, description = "Unknown or expired episode")))]
pub async fn get_episode(
    State(state): State<AppState>,
    Path(id): Path<String>,
    axum::Extension(auth): axum::Extension<Client>,
) -> Result<Json<Episode>, ApiError> {
    let owner = client_of(Some(&auth));
    Ok(Json(state.inner.episodes.get(&id, &owner)?))
}
