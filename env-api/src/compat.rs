//! Drop-in endpoints in the wire formats existing agents already speak, so an
//! unmodified agent only changes a base URL:
//!
//! - Serper (`POST /compat/serper/search`, and `POST /search` as on Serper's own host), as
//!   Tongyi DeepResearch's `search` tool calls it;
//! - the Jina reader (`GET /compat/jina/{url}`, and `GET /{url}` as on `r.jina.ai`), as
//!   its `visit` tool fetches pages;
//! - SandboxFusion (`POST /compat/sandbox-fusion/run_code`), its Python interpreter;
//! - the retriever servers of Search-R1, verl, SkyRL and rLLM (`POST /retrieve`, each
//!   dialect in its own shape; `GET /health`): whole passages, `"Title"\ntext`.
//!
//! Searches go through the tool layer (cache, quotas, metrics) exactly like native calls.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use axum::extract::{Path, RawQuery, Request, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use simweb_sandbox::{OutcomeKind, RunOptions, SandboxError};
use simweb_tools::visit::reader_text;
use simweb_tools::wikiurl::{parse_target, PageTarget};
use simweb_tools::ToolError;
use utoipa::ToSchema;

use crate::errors::ApiError;
use crate::routes::{AnyJson, ApiJson, Client};
use crate::server::AppState;

/// Runs the `search` tool for one query and returns its organic results
/// (`[{position, title, link, snippet, date, score, doc_id, …}]`).
async fn search_hits(
    state: &AppState,
    client: &str,
    query: &str,
    top_k: usize,
    lang: Option<&str>,
) -> Result<Vec<Value>, ApiError> {
    let mut args = json!({"query": [query], "top_k": top_k});
    if let Some(lang) = lang {
        args["lang"] = json!(lang);
    }
    let output = state.inner.toolbox.call("search", &args, client).await?;
    let organic = output.data["results"][0]["organic"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    Ok(organic)
}

// ---------------------------------------------------------------- Serper

/// One Serper query. Fields Serper knows but an offline corpus cannot honour
/// (`location`, `tbs`, `autocorrect`, …) are accepted and ignored.
#[derive(Debug, Deserialize, ToSchema)]
pub struct SerperQuery {
    pub q: String,
    pub gl: Option<String>,
    pub hl: Option<String>,
    /// Results (1..=100; larger values are clamped).
    #[serde(
        default,
        deserialize_with = "crate::lenient::opt_int::<_, usize, 0, 1_000_000>"
    )]
    #[schema(minimum = 0, maximum = 1_000_000)]
    pub num: Option<usize>,
    #[serde(
        default,
        deserialize_with = "crate::lenient::opt_int::<_, usize, 0, 1_000_000>"
    )]
    #[schema(minimum = 0, maximum = 1_000_000)]
    pub page: Option<usize>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SerperResponse {
    #[serde(rename = "searchParameters")]
    #[schema(value_type = Object)]
    pub search_parameters: Value,
    pub organic: Vec<SerperOrganic>,
    pub credits: u32,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SerperOrganic {
    pub title: String,
    pub link: String,
    pub snippet: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date: Option<String>,
    pub position: u64,
}

#[utoipa::path(post, path = "/compat/serper/search", request_body = SerperQuery,
    responses((status = 200, body = SerperResponse, description = "One response, or a list for a list of queries")))]
pub async fn serper_search(
    State(state): State<AppState>,
    Extension(client): Extension<Client>,
    AnyJson(body): AnyJson,
) -> Result<Response, ApiError> {
    match body {
        Value::Array(items) => {
            if items.len() > state.inner.config.http.max_batch {
                return Err(ApiError::Unprocessable(format!(
                    "too many queries in one request: {} (at most {})",
                    items.len(),
                    state.inner.config.http.max_batch
                )));
            }
            let mut responses = Vec::with_capacity(items.len());
            for item in items {
                responses.push(serper_one(&state, &client.0, item).await?);
            }
            Ok(Json(responses).into_response())
        }
        item => Ok(Json(serper_one(&state, &client.0, item).await?).into_response()),
    }
}

/// Serper's own path, so that Tongyi's `tool_search.py` (which posts to `/search` on the
/// host it is given) needs only its host and scheme changed.
#[utoipa::path(post, path = "/search", request_body = SerperQuery,
    responses((status = 200, body = SerperResponse, description = "Same as /compat/serper/search")))]
pub async fn serper_search_at_root(
    state: State<AppState>,
    client: Extension<Client>,
    body: AnyJson,
) -> Result<Response, ApiError> {
    serper_search(state, client, body).await
}

async fn serper_one(
    state: &AppState,
    client: &str,
    item: Value,
) -> Result<SerperResponse, ApiError> {
    let query: SerperQuery = crate::lenient::from_object(item)
        .map_err(|e| ApiError::BadRequest(format!("invalid Serper query: {e}")))?;
    if query.q.trim().is_empty() {
        return Err(ApiError::BadRequest("`q` must not be empty".into()));
    }
    let num = query.num.unwrap_or(10).clamp(1, 100);
    let chinese = [&query.hl, &query.gl].iter().any(|v| {
        v.as_deref().is_some_and(|v| {
            v.to_ascii_lowercase().starts_with("zh") || v.eq_ignore_ascii_case("cn")
        })
    });
    let lang = chinese.then_some("zh");
    let hits = search_hits(state, client, &query.q, num, lang).await?;
    let organic = hits
        .iter()
        .enumerate()
        .map(|(i, hit)| SerperOrganic {
            title: hit["title"].as_str().unwrap_or_default().to_string(),
            link: hit["link"].as_str().unwrap_or_default().to_string(),
            snippet: hit["snippet"].as_str().unwrap_or_default().to_string(),
            date: hit["date"]
                .as_str()
                .filter(|d| !d.is_empty())
                .map(str::to_string),
            position: hit["position"].as_u64().unwrap_or(i as u64 + 1),
        })
        .collect();
    let mut parameters = json!({"q": query.q, "type": "search", "num": num, "engine": "google"});
    if let Some(gl) = query.gl {
        parameters["gl"] = json!(gl);
    }
    if let Some(hl) = query.hl {
        parameters["hl"] = json!(hl);
    }
    if let Some(page) = query.page {
        parameters["page"] = json!(page);
    }
    Ok(SerperResponse {
        search_parameters: parameters,
        organic,
        credits: 1,
    })
}

// ---------------------------------------------------------------- Jina reader

#[utoipa::path(get, path = "/compat/jina/{url}", params(("url" = String, Path, description = "The page URL, e.g. https://en.wikipedia.org/wiki/Alan_Turing")),
    responses((status = 200, description = "The page as Jina-style markdown (JSON with `Accept: application/json`)", content_type = "text/plain"),
        (status = 404, description = "Not a page of this offline web")))]
pub async fn jina_read(
    State(state): State<AppState>,
    Path(url): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let url = match query {
        Some(q) if !q.is_empty() => format!("{url}?{q}"),
        _ => url,
    };
    read_page(&state, url, &headers).await
}

/// What no route matched: `GET /{url}` of an `http(s)://` URL is the Jina reader at the
/// root, as on `r.jina.ai` itself (so a hosts-file entry for that host is enough, see
/// [`crate::tls`]); anything else is a 404.
pub async fn reader_or_not_found(State(state): State<AppState>, request: Request) -> Response {
    let path = request.uri().path();
    let target = path.strip_prefix('/').unwrap_or(path);
    let is_url = target.starts_with("http://") || target.starts_with("https://");
    if request.method() != Method::GET || !is_url {
        return ApiError::NotFound(format!(
            "no route for {} {}",
            request.method(),
            request.uri().path()
        ))
        .into_response();
    }
    let url = match request.uri().query() {
        Some(q) if !q.is_empty() => format!("{target}?{q}"),
        _ => target.to_string(),
    };
    read_page(&state, url, request.headers())
        .await
        .unwrap_or_else(IntoResponse::into_response)
}

/// The Jina reader's answer for `url`: markdown text, or JSON with
/// `Accept: application/json`.
async fn read_page(
    state: &AppState,
    url: String,
    headers: &HeaderMap,
) -> Result<Response, ApiError> {
    let (lang, reference) = match parse_target(&url) {
        PageTarget::Unreadable { reason } => {
            return Err(ApiError::NotFound(format!("cannot read {url}: {reason}")))
        }
        PageTarget::Wiki {
            lang,
            title,
            fragment,
        } => match fragment {
            Some(fragment) => (lang, format!("{title}#{fragment}")),
            None => (lang, title),
        },
    };
    let corpus = Arc::clone(&state.inner.corpus);
    let lookup = reference.clone();
    let doc = tokio::task::spawn_blocking(move || {
        let Some(resolved) = corpus.resolve(&lookup, lang)? else {
            return Ok(None);
        };
        corpus.document(&resolved.doc_id)
    })
    .await
    .map_err(|e| ApiError::Internal(format!("page lookup task failed: {e}")))?
    .map_err(|e: simweb_wikidump::CorpusError| ApiError::Internal(e.to_string()))?;
    let Some(doc) = doc else {
        return Err(ApiError::NotFound(format!(
            "no page `{reference}` in this offline web"
        )));
    };
    let text = reader_text(&doc);
    let wants_json = headers
        .get("accept")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/json"));
    if wants_json {
        let content = text
            .split_once("Markdown Content:\n")
            .map(|(_, body)| body.to_string())
            .unwrap_or_else(|| text.clone());
        return Ok(Json(json!({
            "code": 200,
            "status": 20000,
            "data": {"title": doc.title, "description": "", "url": doc.url, "content": content,
                     "usage": {"tokens": content.chars().count() / 4}}
        }))
        .into_response());
    }
    Ok(([("content-type", "text/plain; charset=utf-8")], text).into_response())
}

// ---------------------------------------------------------------- SandboxFusion

/// SandboxFusion's `/run_code` request. `files`, `fetch_files`, `stdin` and
/// `compile_timeout` are accepted; files and stdin are not supported by the WASI sandbox
/// and are refused with SandboxFusion's error shape when non-empty.
#[derive(Debug, Deserialize, ToSchema)]
pub struct RunCodeRequest {
    pub code: String,
    #[serde(default = "default_language")]
    pub language: String,
    /// Seconds.
    pub run_timeout: Option<f64>,
    pub compile_timeout: Option<f64>,
    #[serde(default)]
    pub stdin: Option<String>,
    #[serde(
        default,
        rename = "memory_limit_MB",
        deserialize_with = "crate::lenient::opt_int::<_, i64, -9_007_199_254_740_991, 9_007_199_254_740_991>"
    )]
    #[schema(minimum = -9_007_199_254_740_991_i64, maximum = 9_007_199_254_740_991_i64)]
    pub memory_limit_mb: Option<i64>,
    /// File name → base64 content (SandboxFusion's shape; refused when non-empty).
    #[serde(default)]
    pub files: BTreeMap<String, String>,
    #[serde(default)]
    pub fetch_files: Vec<String>,
}

fn default_language() -> String {
    "python".to_string()
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RunCodeResponse {
    /// `Success`, `Failed` (the program failed or timed out) or `SandboxError`.
    pub status: String,
    pub message: String,
    #[schema(value_type = Option<Object>)]
    pub compile_result: Option<Value>,
    pub run_result: Option<RunResult>,
    pub executor_pod_name: Option<String>,
    #[schema(value_type = Object)]
    pub files: Value,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RunResult {
    /// `Finished`, `TimeLimitExceeded` or `Error`.
    pub status: String,
    /// Seconds (wall time of the run; not deterministic).
    pub execution_time: f64,
    pub return_code: i32,
    pub stdout: String,
    pub stderr: String,
}

fn sandbox_error(message: impl Into<String>) -> RunCodeResponse {
    RunCodeResponse {
        status: "SandboxError".into(),
        message: message.into(),
        compile_result: None,
        run_result: None,
        executor_pod_name: None,
        files: json!({}),
    }
}

#[utoipa::path(post, path = "/compat/sandbox-fusion/run_code", request_body = RunCodeRequest,
    responses((status = 200, body = RunCodeResponse), (status = 503, description = "Sandbox saturated (Retry-After)")))]
pub async fn sandbox_fusion_run(
    State(state): State<AppState>,
    ApiJson(request): ApiJson<RunCodeRequest>,
) -> Result<Json<RunCodeResponse>, ApiError> {
    let language = request.language.to_ascii_lowercase();
    if language != "python" && language != "python3" {
        return Ok(Json(sandbox_error(format!(
            "language `{}` is not supported by this offline sandbox (python only)",
            request.language
        ))));
    }
    if request.stdin.as_deref().is_some_and(|s| !s.is_empty())
        || !request.files.is_empty()
        || !request.fetch_files.is_empty()
    {
        return Ok(Json(sandbox_error(
            "stdin, files and fetch_files are not supported by this offline sandbox",
        )));
    }
    let Some(sandbox) = state.inner.sandbox.clone() else {
        return Ok(Json(sandbox_error(
            "the Python sandbox is disabled on this server (python.enabled = false)",
        )));
    };
    let mut options: RunOptions = state.inner.config.python.run.clone();
    if let Some(secs) = request.run_timeout.filter(|s| s.is_finite() && *s > 0.0) {
        options.wall_ms = options.wall_ms.min((secs * 1000.0).ceil() as u64);
        options.cpu_ms = options.cpu_ms.min(options.wall_ms);
    }
    if let Some(mb) = request.memory_limit_mb.filter(|mb| *mb > 0) {
        // Saturating: a huge request means "no tighter than the server's cap", never a
        // shift that wraps to a 0-byte cap.
        let requested = u64::try_from(mb)
            .unwrap_or(u64::MAX)
            .saturating_mul(1 << 20);
        options.memory_bytes = options.memory_bytes.min(requested);
    }
    let http = &state.inner.http;
    http.sandbox_in_flight.fetch_add(1, Ordering::Relaxed);
    let outcome = sandbox.run(&request.code, &options).await;
    http.sandbox_in_flight.fetch_sub(1, Ordering::Relaxed);
    let outcome = match outcome {
        Ok(outcome) => outcome,
        Err(SandboxError::Saturated { .. }) => {
            return Err(ApiError::from(ToolError::Saturated {
                tool: "python".into(),
                retry_after: std::time::Duration::from_secs(1),
            }))
        }
        Err(e) => return Ok(Json(sandbox_error(e.to_string()))),
    };
    let (run_status, status) = match &outcome.kind {
        OutcomeKind::Timeout => ("TimeLimitExceeded", "Failed"),
        OutcomeKind::EngineError { .. } => ("Error", "SandboxError"),
        _ if outcome.exit_code == 0 => ("Finished", "Success"),
        _ => ("Finished", "Failed"),
    };
    let message = match &outcome.kind {
        OutcomeKind::EngineError { message } => message.clone(),
        _ => String::new(),
    };
    Ok(Json(RunCodeResponse {
        status: status.into(),
        message,
        compile_result: None,
        run_result: Some(RunResult {
            status: run_status.into(),
            execution_time: outcome.duration_ms as f64 / 1000.0,
            return_code: outcome.exit_code,
            stdout: outcome.stdout,
            stderr: outcome.stderr,
        }),
        executor_pod_name: None,
        files: json!({}),
    }))
}

// ---------------------------------------------------------------- Search-R1

/// A retriever request in any of the dialects RL code sends to `/retrieve`:
/// Search-R1 and verl send `{"queries": [...], "topk"}`, SkyRL one `{"query", "topk"}`,
/// rLLM `{"query", "top_k" | "k"}`. (`/openapi.json` states it as a `oneOf`.)
#[derive(Debug, Deserialize, ToSchema)]
pub struct RetrieveRequest {
    /// Several queries (Search-R1, verl).
    #[serde(default)]
    pub queries: Option<Vec<String>>,
    /// One query (SkyRL, rLLM).
    #[serde(default)]
    pub query: Option<String>,
    /// Passages per query (default 3; at most `tools.search.max_top_k` are returned).
    #[serde(
        default,
        deserialize_with = "crate::lenient::opt_int::<_, usize, 0, 1_000_000>"
    )]
    #[schema(minimum = 0, maximum = 1_000_000)]
    pub topk: Option<usize>,
    /// rLLM's name for `topk`.
    #[serde(
        default,
        deserialize_with = "crate::lenient::opt_int::<_, usize, 0, 1_000_000>"
    )]
    #[schema(minimum = 0, maximum = 1_000_000)]
    pub top_k: Option<usize>,
    /// rLLM's server also reads `k`.
    #[serde(
        default,
        deserialize_with = "crate::lenient::opt_int::<_, usize, 0, 1_000_000>"
    )]
    #[schema(minimum = 0, maximum = 1_000_000)]
    pub k: Option<usize>,
    #[serde(default)]
    pub return_scores: bool,
    /// simweb's extension: `bm25`, `dense` or `hybrid` (default: the server's
    /// `tools.search.default_mode`; dense and hybrid need `--dense`).
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub mode: Option<simweb_dense::SearchMode>,
}

#[utoipa::path(post, path = "/retrieve", request_body = RetrieveRequest,
    responses((status = 200, description = "`queries`: {\"result\": [[{\"document\": {\"id\", \"contents\"}, \"score\"}]]} (documents only without return_scores). One `query`: the same `result` (SkyRL reads it) plus rLLM's {\"query\", \"method\", \"results\": [{\"id\", \"content\", \"document\", \"score\"}], \"num_results\"}")))]
pub async fn retrieve(
    State(state): State<AppState>,
    Extension(client): Extension<Client>,
    ApiJson(request): ApiJson<RetrieveRequest>,
) -> Result<Response, ApiError> {
    let queries = match (&request.queries, &request.query) {
        (Some(queries), None) => queries.clone(),
        (None, Some(query)) => vec![query.clone()],
        (Some(_), Some(_)) => {
            return Err(ApiError::Unprocessable(
                "give either `queries` (a list) or `query` (one string), not both".into(),
            ))
        }
        (None, None) => {
            return Err(ApiError::Unprocessable(
                "missing `queries` (a list of strings) or `query` (one string)".into(),
            ))
        }
    };
    let max = state.inner.config.http.max_batch.max(512);
    if queries.len() > max {
        return Err(ApiError::Unprocessable(format!(
            "too many queries: {} (at most {max})",
            queries.len()
        )));
    }
    let topk = request
        .topk
        .or(request.top_k)
        .or(request.k)
        .unwrap_or(3)
        .max(1);
    let retrievals = queries.iter().map(|q| {
        let mut args = json!({"query": [q], "top_k": topk});
        if let Some(mode) = request.mode {
            args["mode"] = json!(mode);
        }
        let (state, client) = (&state, &client.0);
        async move { state.inner.toolbox.call("retrieve", &args, client).await }
    });
    let mut per_query = Vec::with_capacity(queries.len());
    for output in futures::future::join_all(retrievals).await {
        let output = output?;
        per_query.push(
            output.data["results"][0]["passages"]
                .as_array()
                .cloned()
                .unwrap_or_default(),
        );
    }
    let result: Vec<Value> = per_query
        .iter()
        .map(|passages| {
            Value::Array(
                passages
                    .iter()
                    .map(|passage| {
                        let document = search_r1_document(passage);
                        if request.return_scores {
                            json!({"document": document, "score": passage["score"]})
                        } else {
                            document
                        }
                    })
                    .collect(),
            )
        })
        .collect();
    let body = match &request.query {
        None => json!({ "result": result }),
        Some(query) => {
            // rLLM reads `results`: flat `id`/`content`/`score` (its current tools) or
            // `document.contents` (its earlier ones), so each item carries both.
            let results: Vec<Value> = per_query[0]
                .iter()
                .map(|passage| {
                    json!({
                        "id": passage["id"],
                        "content": passage["contents"],
                        "document": search_r1_document(passage),
                        "score": passage["score"],
                    })
                })
                .collect();
            json!({
                "result": result,
                "query": query,
                "method": "bm25",
                "num_results": results.len(),
                "results": results,
            })
        }
    };
    Ok((StatusCode::OK, Json(body)).into_response())
}

/// A passage as Search-R1's corpus rows are: `{"id", "contents": "\"Title\"\ntext"}`.
fn search_r1_document(passage: &Value) -> Value {
    json!({"id": passage["id"], "contents": passage["contents"]})
}

/// `GET /health`, as rLLM's retrieval tool checks its server before the first query.
#[utoipa::path(get, path = "/health", responses((status = 200, description = "{\"status\": \"healthy\"} (the retriever-server health check rLLM calls)")))]
pub async fn retriever_health() -> Json<Value> {
    Json(json!({"status": "healthy"}))
}
