//! End-to-end tests of `simweb serve`'s library: a real server on 127.0.0.1 over a real
//! corpus ingested from the sample dumps, a real sandbox, a real HTTP client.

use std::time::Duration;

use super::support::{body, config, start, start_with_python, venv_python};
use serde_json::{json, Value};
use simweb_tools::RateQuota;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[tokio::test]
async fn health_readiness_and_openapi() {
    let server = start_with_python(config(), false).await;
    let health = server.get("/healthz").await;
    assert_eq!(health.status(), 200);
    assert_eq!(health.text().await.unwrap(), "ok");

    let ready = body(server.get("/readyz").await).await;
    assert_eq!(ready["ready"], true);
    assert!(ready["documents"].as_u64().unwrap() > 0);
    // Without a dense index, tools are keyed by the corpus snapshot alone.
    assert_eq!(ready["tools_snapshot_id"], ready["snapshot_id"]);
    assert!(ready["tools"]
        .as_array()
        .unwrap()
        .contains(&json!("search")));
    assert_eq!(ready["python"], false);

    let doc = body(server.get("/openapi.json").await).await;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    for path in [
        "/v1/tools",
        "/v1/tools/{name}",
        "/v1/tools:batch",
        "/v1/episodes",
        "/v1/episodes/{id}/step",
        "/compat/serper/search",
        "/compat/sandbox-fusion/run_code",
        "/retrieve",
    ] {
        assert!(doc["paths"].get(path).is_some(), "OpenAPI lacks {path}");
    }
    server.stop().await;
}

#[tokio::test]
async fn tools_list_call_cache_and_batch() {
    let server = start_with_python(config(), false).await;
    let tools = body(server.get("/v1/tools").await).await;
    let names: Vec<&str> = tools["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["function"]["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"search") && names.contains(&"visit"),
        "{names:?}"
    );
    assert_eq!(tools["tools"][0]["type"], "function");

    let args = json!({"arguments": {"query": ["Abraham Lincoln"]}});
    let first = body(server.post("/v1/tools/search", args.clone()).await).await;
    let text = first["text"].as_str().unwrap();
    assert!(
        text.starts_with("A Google search for 'Abraham Lincoln' found"),
        "{text}"
    );
    assert!(
        text.contains("[Abraham Lincoln](https://en.wikipedia.org/wiki/Abraham_Lincoln)"),
        "{text}"
    );
    assert_eq!(first["cached"], false);
    let second = body(server.post("/v1/tools/search", args).await).await;
    assert_eq!(second["cached"], true);
    assert_eq!(
        second["text"], first["text"],
        "a cached answer must be byte-identical"
    );

    let batch = body(
        server
            .post(
                "/v1/tools:batch",
                json!({"calls": [
                    {"tool": "search", "arguments": {"query": "Albedo"}},
                    {"tool": "nope", "arguments": {}},
                    {"tool": "visit", "arguments": {"url": "https://en.wikipedia.org/wiki/Albedo"}}
                ]}),
            )
            .await,
    )
    .await;
    let results = batch["results"].as_array().unwrap();
    assert_eq!(results.len(), 3);
    assert_eq!(results[0]["ok"], true);
    assert!(results[0]["text"].as_str().unwrap().contains("Albedo"));
    assert_eq!(results[1]["status"], 404);
    assert_eq!(results[1]["error"]["kind"], "not_found");
    assert_eq!(
        results[2]["status"], 422,
        "visit without goal: {}",
        results[2]
    );
    server.stop().await;
}

#[tokio::test]
async fn malformed_requests_get_clean_4xx_and_the_server_keeps_serving() {
    let mut cfg = config();
    cfg.http.body_limit_bytes = 64 * 1024;
    cfg.http.max_batch = 2;
    let server = start_with_python(cfg, false).await;
    let url = server.url("/v1/tools/search");
    let raw = |body: &'static str, content_type: &'static str| {
        server
            .http
            .post(url.clone())
            .header("content-type", content_type)
            .body(body)
            .send()
    };
    let cases: Vec<(reqwest::Response, u16, &str)> = vec![
        (
            raw("{\"arguments\": ", "application/json").await.unwrap(),
            400,
            "bad_request",
        ),
        (
            raw("{\"arguments\": {}}", "text/plain").await.unwrap(),
            415,
            "unsupported_media_type",
        ),
        (
            raw(
                "{\"arguments\": {\"query\": [\"x\"]}, \"surprise\": 1}",
                "application/json",
            )
            .await
            .unwrap(),
            422,
            "surprise",
        ),
        (
            raw("{\"arguments\": {}}", "application/json")
                .await
                .unwrap(),
            422,
            "query",
        ),
        (
            raw(
                "{\"arguments\": {\"query\": [\"x\"], \"top_k\": \"many\"}}",
                "application/json",
            )
            .await
            .unwrap(),
            422,
            "top_k",
        ),
        (
            server.post("/v1/tools/no_such_tool", json!({})).await,
            404,
            "no_such_tool",
        ),
        (server.get("/v1/nothing/here").await, 404, "no route"),
        (
            server.get("/v1/episodes/ep-unknown").await,
            404,
            "ep-unknown",
        ),
        (
            server
                .post(
                    "/v1/tools:batch",
                    json!({"calls": [{"tool": "search"}, {"tool": "search"}, {"tool": "search"}]}),
                )
                .await,
            422,
            "too many calls",
        ),
        (
            server
                .post(
                    "/v1/episodes",
                    json!({"task": {"question": "q"}, "tools": ["search", "telnet"]}),
                )
                .await,
            422,
            "telnet",
        ),
    ];
    for (response, status, needle) in cases {
        assert_eq!(
            response.status().as_u16(),
            status,
            "expected {status} for {needle}"
        );
        let error = body(response).await;
        let text = error.to_string();
        assert!(text.contains(needle), "{needle} not in {text}");
        assert!(error["error"]["message"].is_string(), "{text}");
    }
    let huge = format!(
        "{{\"arguments\": {{\"query\": [\"{}\"]}}}}",
        "x".repeat(200 * 1024)
    );
    let response = server
        .http
        .post(url.clone())
        .header("content-type", "application/json")
        .body(huge)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413);

    // Still serving.
    let ok = server
        .post(
            "/v1/tools/search",
            json!({"arguments": {"query": ["Albedo"]}}),
        )
        .await;
    assert_eq!(ok.status(), 200);
    server.stop().await;
}

#[tokio::test]
async fn a_slow_body_times_out_while_others_are_served() {
    let mut cfg = config();
    cfg.http.request_timeout_ms = 700;
    let server = start_with_python(cfg, false).await;
    let addr = server.base.trim_start_matches("http://").to_string();
    let mut slow = tokio::net::TcpStream::connect(&addr).await.unwrap();
    slow.write_all(
        b"POST /v1/tools/search HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{\"argu",
    )
    .await
    .unwrap();
    // Meanwhile another client is served normally.
    let ok = server.get("/healthz").await;
    assert_eq!(ok.status(), 200);
    let mut reply = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), async {
        let mut buf = [0u8; 1024];
        loop {
            let n = slow.read(&mut buf).await.unwrap_or(0);
            if n == 0 {
                break;
            }
            reply.extend_from_slice(&buf[..n]);
            if reply.windows(4).any(|w| w == b"\r\n\r\n") {
                break;
            }
        }
    })
    .await;
    assert!(read.is_ok(), "the slow request was never answered");
    let head = String::from_utf8_lossy(&reply);
    assert!(head.starts_with("HTTP/1.1 408"), "{head}");
    server.stop().await;
}

/// Reads from `stream` until it closes or `within` passes; returns what arrived and
/// whether the server closed the connection.
async fn read_until_closed(stream: &mut tokio::net::TcpStream, within: Duration) -> (String, bool) {
    let mut reply = Vec::new();
    let closed = tokio::time::timeout(within, async {
        let mut buf = [0u8; 1024];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => reply.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await
    .is_ok();
    (String::from_utf8_lossy(&reply).into_owned(), closed)
}

/// Hostile probe #2: slow-header and idle keep-alive connections stayed open forever,
/// and one client holding idle connections exhausted the descriptors. Headers must now
/// arrive within `header_read_timeout_ms` (which also reaps idle keep-alive), and past
/// `max_connections` a connection gets a clean 503 and is closed.
#[tokio::test]
async fn slow_idle_and_excess_connections_are_reaped_or_refused() {
    let mut cfg = config();
    cfg.http.header_read_timeout_ms = 400;
    cfg.http.max_connections = 3;
    let server = start_with_python(cfg, false).await;
    let addr = server.base.trim_start_matches("http://").to_string();
    let connect = || tokio::net::TcpStream::connect(addr.clone());

    // Slow header: half a request line, then nothing.
    let mut slow = connect().await.unwrap();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\n")
        .await
        .unwrap();
    let (_, closed) = read_until_closed(&mut slow, Duration::from_secs(5)).await;
    assert!(closed, "a slow-header connection stayed open");

    // Idle keep-alive: one request answered, then the connection is closed when idle.
    let mut idle = connect().await.unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .unwrap();
    let (reply, closed) = read_until_closed(&mut idle, Duration::from_secs(5)).await;
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
    assert!(closed, "an idle keep-alive connection stayed open");

    // The cap: three silent connections hold every slot; a fourth is refused cleanly.
    let mut holders = Vec::new();
    for _ in 0..3 {
        holders.push(connect().await.unwrap());
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    let mut fourth = connect().await.unwrap();
    let (reply, closed) = read_until_closed(&mut fourth, Duration::from_secs(2)).await;
    assert!(reply.starts_with("HTTP/1.1 503"), "{reply}");
    assert!(
        reply.contains("retry-after: 1") || reply.contains("Retry-After: 1"),
        "{reply}"
    );
    assert!(closed);
    // Once the silent ones are reaped, the server serves again.
    tokio::time::sleep(Duration::from_millis(800)).await;
    let ok = server.get("/healthz").await;
    assert_eq!(ok.status(), 200);
    drop(holders);
    server.stop().await;
}

#[tokio::test]
async fn api_keys_are_required_when_configured() {
    let mut cfg = config();
    cfg.auth.api_keys = vec!["k-123".into()];
    let server = start_with_python(cfg, false).await;
    let call = json!({"arguments": {"query": ["Albedo"]}});
    let denied = server.post("/v1/tools/search", call.clone()).await;
    assert_eq!(denied.status(), 401);
    assert_eq!(body(denied).await["error"]["kind"], "unauthorized");
    let wrong = server
        .http
        .post(server.url("/v1/tools/search"))
        .header("x-api-key", "k-124")
        .json(&call)
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    for (name, value) in [("x-api-key", "k-123"), ("authorization", "Bearer k-123")] {
        let ok = server
            .http
            .post(server.url("/v1/tools/search"))
            .header(name, value)
            .json(&call)
            .send()
            .await
            .unwrap();
        assert_eq!(ok.status(), 200, "{name}");
    }
    assert_eq!(server.get("/healthz").await.status(), 200);
    assert_eq!(server.get("/metrics").await.status(), 200);
    server.stop().await;
}

#[tokio::test]
async fn bursts_above_the_limits_get_429_and_503_with_retry_after() {
    let mut cfg = config();
    let search = cfg.layers.tools.entry("search".into()).or_default();
    search.client_quota = Some(RateQuota {
        per_second: 1,
        burst: 3,
    });
    // visit: one slot, no waiting, each call slowed by an injected 300 ms latency.
    let visit = cfg.layers.tools.entry("visit".into()).or_default();
    visit.max_concurrency = 1;
    visit.max_wait_ms = 1;
    cfg.layers.faults.tools.insert(
        "visit".into(),
        simweb_tools::FaultSpec {
            error_rate: 0.0,
            latency_rate: 1.0,
            latency_ms: 300,
        },
    );
    let server = start_with_python(cfg, false).await;

    let searches = (0..12).map(|i| {
        server.post(
            "/v1/tools/search",
            json!({"arguments": {"query": [format!("Albedo {i}")]}, "client": "burst"}),
        )
    });
    let responses = futures::future::join_all(searches).await;
    let statuses: Vec<u16> = responses.iter().map(|r| r.status().as_u16()).collect();
    assert!(
        statuses.iter().all(|s| *s == 200 || *s == 429),
        "{statuses:?}"
    );
    assert!(
        statuses.iter().filter(|s| **s == 429).count() >= 8,
        "{statuses:?}"
    );
    let limited = responses.iter().find(|r| r.status() == 429).unwrap();
    assert!(limited.headers().get("retry-after").is_some());

    let visits = (0..6).map(|i| {
        server.post(
            "/v1/tools/visit",
            json!({"arguments": {"url": [format!("https://en.wikipedia.org/wiki/Albedo#{i}")], "goal": format!("g{i}")}}),
        )
    });
    let responses = futures::future::join_all(visits).await;
    let statuses: Vec<u16> = responses.iter().map(|r| r.status().as_u16()).collect();
    assert!(
        statuses.iter().all(|s| *s == 200 || *s == 503),
        "{statuses:?}"
    );
    assert!(
        statuses.contains(&200) && statuses.contains(&503),
        "{statuses:?}"
    );
    let saturated = responses.iter().find(|r| r.status() == 503).unwrap();
    assert!(saturated.headers().get("retry-after").is_some());

    let metrics = server.get("/metrics").await.text().await.unwrap();
    assert!(
        metrics.contains("simweb_tool_refused_total{tool=\"search\",reason=\"limited\"}"),
        "{metrics}"
    );
    let limited_line = metrics
        .lines()
        .find(|l| l.starts_with("simweb_tool_calls_total{tool=\"search\",outcome=\"limited\"}"))
        .unwrap();
    assert!(!limited_line.ends_with(" 0"), "{limited_line}");
    server.stop().await;
}

#[tokio::test]
async fn metrics_move_after_calls() {
    let server = start_with_python(config(), false).await;
    let value = |text: &str, prefix: &str| -> f64 {
        text.lines()
            .find(|l| l.starts_with(prefix))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0)
    };
    let before = server.get("/metrics").await.text().await.unwrap();
    let miss = "simweb_tool_calls_total{tool=\"search\",outcome=\"miss\"}";
    let hit = "simweb_tool_calls_total{tool=\"search\",outcome=\"hit\"}";
    assert_eq!(value(&before, miss), 0.0);
    for _ in 0..3 {
        let r = server
            .post(
                "/v1/tools/search",
                json!({"arguments": {"query": ["Alabama"]}}),
            )
            .await;
        assert_eq!(r.status(), 200);
    }
    let after = server.get("/metrics").await.text().await.unwrap();
    assert_eq!(value(&after, miss), 1.0, "{after}");
    assert_eq!(value(&after, hit), 2.0, "{after}");
    let ratio = value(&after, "simweb_tool_cache_hit_ratio{tool=\"search\"}");
    assert!((ratio - 2.0 / 3.0).abs() < 1e-9, "{ratio}");
    assert!(
        after.contains(
            "simweb_tool_latency_seconds_bucket{tool=\"search\",outcome=\"miss\",le=\"+Inf\"} 1"
        ),
        "{after}"
    );
    assert!(
        value(
            &after,
            "simweb_http_responses_total{route=\"/v1/tools/{name}\",status=\"200\"}"
        ) >= 3.0,
        "{after}"
    );
    server.stop().await;
}

fn tool_call(name: &str, arguments: Value) -> String {
    format!(
        "<think>next step</think>\n<tool_call>\n{}\n</tool_call>",
        json!({"name": name, "arguments": arguments})
    )
}

#[tokio::test]
async fn an_episode_runs_search_visit_python_answer_and_is_scored() {
    let server = start(config()).await;
    let created = body(
        server
            .post(
                "/v1/episodes",
                json!({"task": {"question": "In which U.S. state was Abraham Lincoln born?", "answers": ["Kentucky"]},
                       "seed": 7, "max_turns": 10}),
            )
            .await,
    )
    .await;
    let id = created["episode_id"].as_str().unwrap().to_string();
    assert!(id.starts_with("ep-"));
    let system = created["observation"][0]["content"].as_str().unwrap();
    assert_eq!(created["observation"][0]["role"], "system");
    assert!(
        system.contains("<tools>\n{\"type\": \"function\", \"function\": {\"name\": \"search\""),
        "{system}"
    );
    assert!(
        system.contains("\"name\": \"PythonInterpreter\""),
        "{system}"
    );
    assert!(system.ends_with("Current date: 2025-01-01"), "{system}");
    assert_eq!(
        created["observation"][1]["content"],
        "In which U.S. state was Abraham Lincoln born?"
    );

    let step = |action: Value| {
        let server = &server;
        let id = id.clone();
        async move {
            body(
                server
                    .post(
                        &format!("/v1/episodes/{id}/step"),
                        json!({ "action": action }),
                    )
                    .await,
            )
            .await
        }
    };
    let searched = step(json!(tool_call(
        "search",
        json!({"query": ["Abraham Lincoln birthplace"]})
    )))
    .await;
    let observation = searched["observation"].as_str().unwrap();
    assert!(
        observation
            .starts_with("<tool_response>\nA Google search for 'Abraham Lincoln birthplace' found"),
        "{observation}"
    );
    assert!(observation.ends_with("\n</tool_response>"));
    assert_eq!(searched["terminated"], false);
    assert_eq!(searched["reward"], 0.0);

    let visited = step(json!(tool_call(
        "visit",
        json!({"url": ["https://en.wikipedia.org/wiki/Abraham_Lincoln"], "goal": "where was Lincoln born"})
    )))
    .await;
    let observation = visited["observation"].as_str().unwrap();
    assert!(observation.starts_with("<tool_response>\nThe useful information in https://en.wikipedia.org/wiki/Abraham_Lincoln for user goal where was Lincoln born as follows:"), "{observation}");
    assert!(observation.contains("Kentucky"), "{observation}");

    let python = step(json!(
        "<tool_call>\n{\"name\": \"PythonInterpreter\", \"arguments\": {}}\n<code>\nprint(1809 + 56)\n</code>\n</tool_call>"
    ))
    .await;
    assert_eq!(
        python["observation"], "<tool_response>\nstdout:\n1865\n\n</tool_response>",
        "{python}"
    );

    // OpenAI-style tool_calls work too, and a malformed call becomes an error observation.
    let openai = step(json!({"content": "<tool_call>\n{not json}\n</tool_call>", "tool_calls": [
        {"id": "c1", "type": "function", "function": {"name": "search", "arguments": "{\"query\": [\"Kentucky\"]}"}}
    ]}))
    .await;
    let observation = openai["observation"].as_str().unwrap();
    assert!(
        observation.starts_with("<tool_response>\nError: Tool call is not a valid JSON."),
        "{observation}"
    );
    assert!(
        observation.contains("</tool_response>\n<tool_response>\nA Google search for 'Kentucky'"),
        "{observation}"
    );

    let answered = step(json!(
        "<think>Hodgenville is in Kentucky.</think>\n<answer>kentucky</answer>"
    ))
    .await;
    assert_eq!(answered["terminated"], true);
    assert_eq!(answered["truncated"], false);
    assert_eq!(answered["reward"], 1.0);
    assert_eq!(answered["info"]["score"]["exact_match"], 1.0);
    assert_eq!(answered["info"]["score"]["f1"], 1.0);
    assert_eq!(answered["info"]["prediction"], "kentucky");

    let episode = body(server.get(&format!("/v1/episodes/{id}")).await).await;
    assert_eq!(episode["status"], "terminated");
    assert_eq!(episode["end_reason"], "answer");
    assert_eq!(episode["steps"].as_array().unwrap().len(), 5);
    // system, user, then assistant/user pairs for the 4 tool turns, then the answer.
    assert_eq!(episode["messages"].as_array().unwrap().len(), 2 + 4 * 2 + 1);
    assert_eq!(
        episode["steps"][3]["calls"][0]["error"]
            .as_str()
            .unwrap()
            .split(':')
            .next(),
        Some("malformed_call")
    );

    let again = server
        .post(
            &format!("/v1/episodes/{id}/step"),
            json!({"action": "<answer>x</answer>"}),
        )
        .await;
    assert_eq!(again.status(), 409);
    server.stop().await;
}

#[tokio::test]
async fn episodes_truncate_at_max_turns_and_trajectories_are_deterministic() {
    let server = start_with_python(config(), false).await;
    let request = json!({"task": {"question": "q", "answers": ["a"]}, "seed": 3, "max_turns": 2, "tools": ["search"]});
    let a = body(server.post("/v1/episodes", request.clone()).await).await;
    let b = body(server.post("/v1/episodes", request.clone()).await).await;
    assert_ne!(
        a["episode_id"], b["episode_id"],
        "the creation counter keeps ids unique"
    );
    // A fresh server (fresh store) plays the same episode: same observation. Its handle
    // differs: ids carry the store's secret salt, so they cannot be recomputed.
    let other = start_with_python(config(), false).await;
    let a2 = body(other.post("/v1/episodes", request).await).await;
    assert_ne!(a["episode_id"], a2["episode_id"]);
    assert_eq!(a["observation"], a2["observation"]);
    other.stop().await;

    let id = a["episode_id"].as_str().unwrap();
    let path = format!("/v1/episodes/{id}/step");
    let first = body(server.post(&path, json!({"action": "just thinking"})).await).await;
    assert_eq!(first["observation"], "");
    assert_eq!(first["truncated"], false);
    let second = body(
        server
            .post(
                &path,
                json!({"action": tool_call("visit", json!({"url": "x", "goal": "y"}))}),
            )
            .await,
    )
    .await;
    // visit is not among this episode's tools.
    assert_eq!(
        second["observation"],
        "<tool_response>\nError: Tool visit not found\n</tool_response>"
    );
    assert_eq!(second["truncated"], true);
    assert_eq!(second["info"]["end_reason"], "max_turns");
    server.stop().await;
}

#[tokio::test]
async fn the_context_limit_forces_an_answer() {
    use simweb_tools::react::{approx_token_count, initial_messages};
    let server = start_with_python(config(), false).await;
    // Measure the opening prompt, then allow a little more: the first search result
    // pushes the conversation over the limit.
    let probe = body(
        server
            .post(
                "/v1/episodes",
                json!({"task": {"question": "q"}, "tools": ["search"]}),
            )
            .await,
    )
    .await;
    let system = probe["observation"][0]["content"].as_str().unwrap();
    let limit = approx_token_count(&initial_messages(system, "q")) + 20;
    let created = body(
        server
            .post(
                "/v1/episodes",
                json!({"task": {"question": "q", "answers": ["a"]}, "max_context_tokens": limit, "tools": ["search"]}),
            )
            .await,
    )
    .await;
    let path = format!(
        "/v1/episodes/{}/step",
        created["episode_id"].as_str().unwrap()
    );
    let step = body(
        server
            .post(
                &path,
                json!({"action": tool_call("search", json!({"query": ["Anarchism"]}))}),
            )
            .await,
    )
    .await;
    assert_eq!(
        step["observation"],
        simweb_tools::react::FORCED_ANSWER_MESSAGE
    );
    assert_eq!(step["info"]["forced_answer"], true);
    let last = body(
        server
            .post(&path, json!({"action": "I still want to search"}))
            .await,
    )
    .await;
    assert_eq!(last["truncated"], true);
    assert_eq!(last["info"]["end_reason"], "context_limit");
    server.stop().await;
}

/// Hostile probe #1: concurrent episode writers once wedged sled (every later call hung,
/// `/readyz` still said 200). 64 concurrent creates, each followed by two steps, must all
/// be answered, and the server must stay ready and stop within its grace period.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixty_four_concurrent_episode_writers_never_wedge_the_store() {
    let server = std::sync::Arc::new(start_with_python(config(), false).await);
    let writers = (0..64).map(|i| {
        let server = std::sync::Arc::clone(&server);
        tokio::spawn(async move {
            let created = server
                .post(
                    "/v1/episodes",
                    json!({"task": {"question": format!("q{i}"), "answers": ["a"]}, "seed": i, "tools": ["search"]}),
                )
                .await;
            assert_eq!(created.status(), 200, "create {i}");
            let id = body(created).await["episode_id"].as_str().unwrap().to_string();
            let path = format!("/v1/episodes/{id}/step");
            let thought = server.post(&path, json!({"action": "thinking"})).await;
            assert_eq!(thought.status(), 200, "step {i}");
            let answered = body(server.post(&path, json!({"action": "<answer>a</answer>"})).await).await;
            assert_eq!(answered["terminated"], true, "{answered}");
            assert_eq!(answered["reward"], 1.0, "{answered}");
        })
    });
    let all = futures_join(writers.collect());
    tokio::time::timeout(Duration::from_secs(120), all)
        .await
        .expect("episode writers hung: the store is wedged");
    let ready = server.get("/readyz").await;
    assert_eq!(ready.status(), 200);
    let probe = server
        .post(
            "/v1/episodes",
            json!({"task": {"question": "probe", "answers": ["a"]}}),
        )
        .await;
    assert_eq!(probe.status(), 200);
    let server = std::sync::Arc::into_inner(server).expect("writers are done");
    tokio::time::timeout(Duration::from_secs(30), server.stop())
        .await
        .expect("shutdown outlived its grace period");
}

async fn futures_join(handles: Vec<tokio::task::JoinHandle<()>>) {
    for handle in handles {
        handle.await.expect("an episode writer panicked");
    }
}

/// Hostile probe #11: with two API keys, key B read A's episode (answers included) and
/// ended it. Episodes belong to the client that created them; others get a 404.
#[tokio::test]
async fn episodes_belong_to_the_key_that_created_them() {
    let mut cfg = config();
    cfg.auth.api_keys = vec!["key-a".into(), "key-b".into()];
    let server = start_with_python(cfg, false).await;
    let as_key = |key: &str, request: reqwest::RequestBuilder| {
        request.header("authorization", format!("Bearer {key}"))
    };
    let created = as_key(
        "key-a",
        server.http.post(server.url("/v1/episodes")).json(
            &json!({"task": {"question": "secret?", "answers": ["hidden"]}, "tools": ["search"]}),
        ),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(created.status(), 200);
    let id = body(created).await["episode_id"]
        .as_str()
        .unwrap()
        .to_string();
    let path = format!("/v1/episodes/{id}");
    let read_b = as_key("key-b", server.http.get(server.url(&path)))
        .send()
        .await
        .unwrap();
    assert_eq!(read_b.status(), 404);
    let read_b = read_b.text().await.unwrap();
    assert!(!read_b.contains("hidden"), "{read_b}");
    let step_b = as_key(
        "key-b",
        server
            .http
            .post(server.url(&format!("{path}/step")))
            .json(&json!({"action": "<answer>hidden</answer>"})),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(step_b.status(), 404);
    let read_a = as_key("key-a", server.http.get(server.url(&path)))
        .send()
        .await
        .unwrap();
    assert_eq!(read_a.status(), 200);
    let episode = body(read_a).await;
    assert_eq!(
        episode["status"], "running",
        "B's step did not end it: {episode}"
    );
    server.stop().await;
}

#[tokio::test]
async fn a_restart_keeps_episodes() {
    let state = tempfile::tempdir().unwrap();
    let mut cfg = config();
    cfg.state_dir = Some(state.path().to_path_buf());
    let first = start_with_python(cfg.clone(), false).await;
    let created = body(
        first
            .post("/v1/episodes", json!({"task": {"question": "Albedo?", "answers": ["reflectance"]}, "tools": ["search"]}))
            .await,
    )
    .await;
    let id = created["episode_id"].as_str().unwrap().to_string();
    let stepped = first
        .post(
            &format!("/v1/episodes/{id}/step"),
            json!({"action": tool_call("search", json!({"query": ["Albedo"]}))}),
        )
        .await;
    assert_eq!(stepped.status(), 200);
    let before = body(first.get(&format!("/v1/episodes/{id}")).await).await;
    first.stop().await;

    let second = start_with_python(cfg, false).await;
    let after = body(second.get(&format!("/v1/episodes/{id}")).await).await;
    assert_eq!(before, after);
    let answered = body(
        second
            .post(
                &format!("/v1/episodes/{id}/step"),
                json!({"action": "<answer>Reflectance</answer>"}),
            )
            .await,
    )
    .await;
    assert_eq!(answered["reward"], 1.0);
    // The counter survived too: the next id differs from the first.
    let next = body(second.post("/v1/episodes", json!({"task": {"question": "Albedo?", "answers": ["reflectance"]}, "tools": ["search"]})).await).await;
    assert_ne!(next["episode_id"], json!(id));
    second.stop().await;
}

#[tokio::test]
async fn serper_compat_has_the_live_shape() {
    let server = start_with_python(config(), false).await;
    let response = server
        .http
        .post(server.url("/compat/serper/search"))
        .header("X-API-KEY", "anything")
        .json(&json!({"q": "Abraham Lincoln", "gl": "us", "hl": "en", "num": 3}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let result = body(response).await;
    let params = &result["searchParameters"];
    assert_eq!(params["q"], "Abraham Lincoln");
    assert_eq!(params["gl"], "us");
    assert_eq!(params["hl"], "en");
    assert_eq!(params["num"], 3);
    assert_eq!(params["type"], "search");
    let organic = result["organic"].as_array().unwrap();
    assert!(!organic.is_empty() && organic.len() <= 3);
    for (i, entry) in organic.iter().enumerate() {
        assert_eq!(entry["position"], i as u64 + 1);
        assert!(entry["title"].is_string());
        assert!(entry["link"]
            .as_str()
            .unwrap()
            .starts_with("https://en.wikipedia.org/wiki/"));
        assert!(entry["snippet"].is_string());
        if let Some(date) = entry.get("date") {
            assert!(date.is_string());
        }
    }
    assert_eq!(organic[0]["title"], "Abraham Lincoln");

    let batch = body(
        server
            .post(
                "/compat/serper/search",
                json!([{"q": "Albedo"}, {"q": "Alabama"}]),
            )
            .await,
    )
    .await;
    assert_eq!(batch.as_array().unwrap().len(), 2);
    assert_eq!(batch[1]["searchParameters"]["q"], "Alabama");
    let bad = server
        .post("/compat/serper/search", json!({"query": "x"}))
        .await;
    assert_eq!(bad.status(), 400);
    server.stop().await;
}

#[tokio::test]
async fn jina_compat_returns_the_page_as_markdown() {
    let server = start_with_python(config(), false).await;
    let page = server
        .get("/compat/jina/https://en.wikipedia.org/wiki/Albedo")
        .await;
    assert_eq!(page.status(), 200);
    let text = page.text().await.unwrap();
    assert!(text.starts_with("Title: Albedo\n\nURL Source: https://en.wikipedia.org/wiki/Albedo\n\nMarkdown Content:\n# Albedo\n"), "{}", &text[..200.min(text.len())]);
    let json_page = server
        .http
        .get(server.url("/compat/jina/https://en.wikipedia.org/wiki/Albedo"))
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    let data = body(json_page).await;
    assert_eq!(data["code"], 200);
    assert_eq!(data["data"]["title"], "Albedo");
    assert!(data["data"]["content"]
        .as_str()
        .unwrap()
        .starts_with("# Albedo"));
    let missing = server.get("/compat/jina/https://example.com/nothing").await;
    assert_eq!(missing.status(), 404);
    server.stop().await;
}

#[tokio::test]
async fn sandbox_fusion_compat_runs_python_and_refuses_other_languages() {
    let server = start(config()).await;
    let ok = body(
        server
            .post(
                "/compat/sandbox-fusion/run_code",
                json!({"code": "print('hello')", "language": "python", "run_timeout": 10}),
            )
            .await,
    )
    .await;
    assert_eq!(ok["status"], "Success");
    assert_eq!(ok["message"], "");
    let run = &ok["run_result"];
    assert_eq!(run["status"], "Finished");
    assert_eq!(run["return_code"], 0);
    assert_eq!(run["stdout"], "hello\n");
    assert_eq!(run["stderr"], "");
    assert!(run["execution_time"].as_f64().unwrap() >= 0.0);

    // Hostile probe #7: a memory limit so large that `MB << 20` wraps to 0 is clamped to
    // the server's cap, not turned into a 0-byte cap (exit 137).
    let huge = body(
        server
            .post(
                "/compat/sandbox-fusion/run_code",
                json!({"code": "print(1+1)", "language": "python", "memory_limit_MB": 17592186044416_i64}),
            )
            .await,
    )
    .await;
    assert_eq!(huge["status"], "Success", "{huge}");
    assert_eq!(huge["run_result"]["stdout"], "2\n");

    let failed = body(
        server
            .post(
                "/compat/sandbox-fusion/run_code",
                json!({"code": "raise ValueError('boom')", "language": "python"}),
            )
            .await,
    )
    .await;
    assert_eq!(failed["status"], "Failed");
    assert_eq!(failed["run_result"]["return_code"], 1);
    assert!(failed["run_result"]["stderr"]
        .as_str()
        .unwrap()
        .contains("ValueError: boom"));

    let cpp = body(
        server
            .post(
                "/compat/sandbox-fusion/run_code",
                json!({"code": "int main(){}", "language": "cpp"}),
            )
            .await,
    )
    .await;
    assert_eq!(cpp["status"], "SandboxError");
    assert!(cpp["message"].as_str().unwrap().contains("cpp"));
    assert!(cpp["run_result"].is_null());
    server.stop().await;
}

/// Hostile probe #3: MCP sessions were unbounded (~55 KB each, 22,000 took RSS to 1 GB).
/// Opening sessions past the per-client cap gets 429, past the server's cap 503; closed
/// sessions stop counting.
#[tokio::test]
async fn mcp_sessions_are_capped_per_client_and_in_total() {
    let mut cfg = config();
    cfg.mcp.max_sessions = 3;
    cfg.mcp.max_sessions_per_client = 2;
    let server = start_with_python(cfg, false).await;
    let open = |client: &'static str| {
        let request = server
            .http
            .post(server.url("/mcp"))
            .header("x-simweb-client", client)
            .header("accept", "application/json, text/event-stream")
            .json(&json!({
                "jsonrpc": "2.0", "id": 1, "method": "initialize",
                "params": {"protocolVersion": "2025-03-26", "capabilities": {},
                           "clientInfo": {"name": "probe", "version": "1"}}
            }));
        async move {
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            let id = response
                .headers()
                .get("mcp-session-id")
                .map(|v| v.to_str().unwrap().to_string());
            (status, id)
        }
    };
    let (a1, id_a1) = open("a").await;
    let (a2, _) = open("a").await;
    assert_eq!((a1, a2), (200, 200));
    assert!(id_a1.is_some());
    let (a3, _) = open("a").await;
    assert_eq!(a3, 429, "a client past its session cap");
    let (b1, _) = open("b").await;
    assert_eq!(b1, 200);
    let (b2, _) = open("b").await;
    assert_eq!(b2, 503, "the server past its session cap");
    // Closing a session frees its place.
    let closed = server
        .http
        .delete(server.url("/mcp"))
        .header("x-simweb-client", "a")
        .header("mcp-session-id", id_a1.unwrap())
        .send()
        .await
        .unwrap();
    // 200, not rmcp's 202: the Python SDKs accept only 200/204 on a session close.
    assert_eq!(closed.status(), 200);
    let (b3, _) = open("b").await;
    assert_eq!(b3, 200);
    server.stop().await;
}

#[tokio::test]
async fn mcp_list_and_call_through_the_python_client() {
    let server = start(config()).await;
    let python = venv_python();
    assert!(
        python.exists(),
        "{} missing: run `make setup`",
        python.display()
    );
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/mcp_client.py");
    let output = tokio::process::Command::new(&python)
        .arg(script)
        .arg(server.url("/mcp"))
        .arg("search")
        .arg(r#"{"query": ["Albedo"]}"#)
        .arg("PythonInterpreter")
        .arg(r#"{"code": "print(6 * 7)"}"#)
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "client failed: {}\n{stdout}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !stderr.contains("Session termination failed"),
        "the SDK refused our session close: {stderr}"
    );
    let result: Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(result["server"]["name"], "simweb");
    let python = &result["extra_call"];
    assert_ne!(python["isError"], true, "{python}");
    assert_eq!(python["content"][0]["text"], "stdout:\n42\n");
    let tools = result["tools"].as_array().unwrap();
    let search = tools.iter().find(|t| t["name"] == "search").unwrap();
    assert_eq!(search["inputSchema"]["required"], json!(["query"]));
    assert!(tools.iter().any(|t| t["name"] == "visit"));
    let call = &result["call"];
    assert_ne!(call["isError"], true);
    assert!(call["content"][0]["text"]
        .as_str()
        .unwrap()
        .starts_with("A Google search for 'Albedo' found"));
    assert!(call["structuredContent"]["results"][0]["organic"].is_array());
    let bad = &result["bad_call"];
    assert_eq!(bad["isError"], true);
    assert!(bad["content"][0]["text"]
        .as_str()
        .unwrap()
        .contains("[Search]"));
    server.stop().await;
}
