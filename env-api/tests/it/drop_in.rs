//! Drop-in fidelity: existing clients, with their own code and request shapes, against a
//! real server (Tongyi DeepResearch's tools through `http.client`, `requests`, the
//! OpenAI SDK and the `sandbox_fusion` package; Search-R1's retriever; verl's one-type
//! schema rule; the MCP SDK's session close; schemathesis over `/openapi.json`).

use std::path::Path;

use serde_json::{json, Value};

use super::support::{body, config, corpus, start, start_with_python, venv_python, TestServer};

/// Runs a fixture script with the venv's Python and `env` added; returns stdout and
/// stderr (both shown on failure).
async fn run_fixture(script: &str, args: &[&str], env: &[(&str, &Path)]) -> (String, String) {
    let python = venv_python();
    assert!(
        python.exists(),
        "{} missing: run `make setup`",
        python.display()
    );
    let path = format!("{}/tests/fixtures/{script}", env!("CARGO_MANIFEST_DIR"));
    let output = tokio::process::Command::new(&python)
        .arg(&path)
        .args(args)
        .envs(env.iter().copied())
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).to_string();
    let stderr = String::from_utf8_lossy(&output.stderr).to_string();
    assert!(
        output.status.success(),
        "{script} failed:\n{stderr}\n{stdout}"
    );
    (stdout, stderr)
}

#[tokio::test]
async fn tongyi_tools_run_with_only_the_documented_edits() {
    let server = start(config()).await;
    let (stdout, _) = run_fixture("tongyi_tools.py", &[&server.base], &[]).await;
    let out: Value = serde_json::from_str(stdout.trim()).unwrap();

    let search = out["search"].as_str().unwrap();
    assert!(
        search.starts_with("A Google search for 'Albedo of snow' found "),
        "{search}"
    );
    assert!(search.contains("1. [Albedo](https://en.wikipedia.org/wiki/Albedo)"));

    let visit = out["visit"].as_str().unwrap();
    assert!(visit.starts_with(
        "The useful information in https://en.wikipedia.org/wiki/Albedo for user goal What is albedo? as follows: \n\nEvidence in page: \nAlbedo is"
    ), "{visit}");
    assert!(visit.contains("\n\nSummary: \n"), "{visit}");
    assert!(!visit.contains("could not be accessed"), "{visit}");
    // A page this web does not have takes Tongyi's own unreachable branch.
    assert!(out["visit_missing"]
        .as_str()
        .unwrap()
        .contains("The provided webpage content could not be accessed."));

    assert_eq!(out["python"], "stdout:\n42\n");

    let refused = &out["not_llm"];
    assert_eq!(refused["status"], 400);
    assert_eq!(refused["body"]["code"], "not_an_extractor_prompt");
    assert_eq!(refused["body"]["type"], "invalid_request_error");
    assert!(refused["body"]["message"]
        .as_str()
        .unwrap()
        .contains("not a general LLM"));
    assert_eq!(out["models"], json!(["simweb-extractor"]));
    server.stop().await;
}

/// Tongyi's extractor prompt around the Jina text of `url`.
async fn extractor_request(server: &TestServer, url: &str, goal: &str) -> Value {
    let page = server
        .get(&format!("/compat/jina/{url}"))
        .await
        .text()
        .await
        .unwrap();
    let prompt = format!(
        "Please process the following webpage content and user goal to extract relevant information:\n\n## **Webpage Content** \n{page}\n\n## **User Goal**\n{goal}\n\n## **Task Guidelines**\n1. ...\n"
    );
    json!({"model": "any", "temperature": 0.7, "messages": [{"role": "user", "content": prompt}]})
}

#[tokio::test]
async fn the_extractor_answers_as_the_visit_tool_does_and_deterministically() {
    let server = start_with_python(config(), false).await;
    let (url, goal) = (
        "https://en.wikipedia.org/wiki/Abraham_Lincoln",
        "Where was Lincoln born?",
    );
    let request = extractor_request(&server, url, goal).await;
    let first = server.post("/v1/chat/completions", request.clone()).await;
    assert_eq!(first.status(), 200);
    let first = first.text().await.unwrap();
    let again = server
        .post("/v1/chat/completions", request.clone())
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(first, again, "same request, same bytes");
    let completion: Value = serde_json::from_str(&first).unwrap();
    assert_eq!(completion["object"], "chat.completion");
    assert_eq!(completion["model"], "any");
    assert_eq!(completion["choices"][0]["finish_reason"], "stop");
    let answer: Value = serde_json::from_str(
        completion["choices"][0]["message"]["content"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    for field in ["rational", "evidence", "summary"] {
        assert!(
            !answer[field].as_str().unwrap().is_empty(),
            "{field}: {answer}"
        );
    }

    // The page rebuilt from the reader text gives the native visit tool's own extract.
    let visit = body(
        server
            .post(
                "/v1/tools/visit",
                json!({"arguments": {"url": [url], "goal": goal}}),
            )
            .await,
    )
    .await;
    let text = visit["text"].as_str().unwrap();
    let expected = format!(
        "Evidence in page: \n{}\n\nSummary: \n{}",
        answer["evidence"].as_str().unwrap(),
        answer["summary"].as_str().unwrap()
    );
    assert!(
        text.contains(&expected),
        "visit:\n{text}\n\nchat:\n{answer}"
    );

    // Streaming: one content chunk, a stop chunk, [DONE].
    let mut streamed = request;
    streamed["stream"] = json!(true);
    let sse = server.post("/v1/chat/completions", streamed).await;
    assert!(sse.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/event-stream"));
    let sse = sse.text().await.unwrap();
    let events: Vec<&str> = sse
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .collect();
    assert_eq!(events.len(), 3, "{sse}");
    let chunk: Value = serde_json::from_str(events[0]).unwrap();
    assert_eq!(
        chunk["choices"][0]["delta"]["content"],
        completion["choices"][0]["message"]["content"]
    );
    assert_eq!(events[2], "[DONE]");

    // Anything else is refused in OpenAI's error shape, with the reason.
    for bad in [
        json!({"model": "m", "messages": [{"role": "user", "content": "Hi"}]}),
        json!({"model": "m", "messages": []}),
        json!({"model": "m"}),
    ] {
        let refused = server.post("/v1/chat/completions", bad.clone()).await;
        assert_eq!(refused.status(), 400, "{bad}");
        let error = body(refused).await;
        assert_eq!(error["error"]["type"], "invalid_request_error", "{error}");
        assert!(error["error"]["message"].as_str().unwrap().len() > 20);
    }
    server.stop().await;
}

#[tokio::test]
async fn search_r1_gets_whole_passages_and_topk_of_them() {
    let server = start_with_python(config(), false).await;
    let corpus = corpus();
    let queries = ["Abraham Lincoln", "Albedo"];
    let answer = body(
        server
            .post(
                "/retrieve",
                json!({"queries": queries, "topk": 5, "return_scores": true}),
            )
            .await,
    )
    .await;
    let result = answer["result"].as_array().unwrap();
    assert_eq!(result.len(), 2);
    for (per_query, title) in result.iter().zip(queries) {
        let hits = per_query.as_array().unwrap();
        assert_eq!(hits.len(), 5, "topk passages: {per_query}");
        let scores: Vec<f64> = hits.iter().map(|h| h["score"].as_f64().unwrap()).collect();
        assert!(scores[0] > 0.0);
        assert!(scores.windows(2).all(|w| w[0] >= w[1]), "{scores:?}");
        let first = hits[0]["document"]["contents"].as_str().unwrap();
        assert!(first.starts_with(&format!("\"{title}\"\n")), "{first}");
        for hit in hits {
            let id = hit["document"]["id"].as_str().unwrap();
            let (doc_id, ordinal) = id.rsplit_once('#').unwrap();
            let doc = corpus.document(doc_id).unwrap().unwrap();
            let passage = &simweb_wikidump::passages(&doc)[ordinal.parse::<usize>().unwrap()];
            let contents = hit["document"]["contents"].as_str().unwrap();
            assert_eq!(
                contents,
                format!("\"{}\"\n{}", doc.title, passage.text),
                "the whole passage, Search-R1's layout"
            );
        }
    }
    // Without scores each inner list holds the documents alone.
    let plain = body(
        server
            .post(
                "/retrieve",
                json!({"queries": ["Albedo"], "topk": 1, "return_scores": false}),
            )
            .await,
    )
    .await;
    assert!(plain["result"][0][0]["contents"]
        .as_str()
        .unwrap()
        .starts_with("\"Albedo\"\n"));
    assert!(plain["result"][0][0].get("score").is_none());
    server.stop().await;
}

/// verl's schema model takes one `type` string per property; the machine interface must
/// also let a model that follows the schema run Python (`code` is declared).
#[tokio::test]
async fn tool_schemas_are_single_typed_and_python_declares_code() {
    let server = start(config()).await;
    let tools = body(server.get("/v1/tools").await).await;
    for tool in tools["tools"].as_array().unwrap() {
        let function = &tool["function"];
        for (name, property) in function["parameters"]["properties"].as_object().unwrap() {
            assert!(
                property["type"].is_string(),
                "{}.{name} has type {}",
                function["name"],
                property["type"]
            );
        }
    }
    let python = tools["tools"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["function"]["name"] == "PythonInterpreter")
        .unwrap();
    assert_eq!(
        python["function"]["parameters"]["required"],
        json!(["code"])
    );
    let ran = body(
        server
            .post(
                "/v1/tools/PythonInterpreter",
                json!({"arguments": {"code": "print(6 * 7)"}}),
            )
            .await,
    )
    .await;
    assert_eq!(ran["text"], "stdout:\n42\n", "{ran}");
    let missing = server
        .post("/v1/tools/PythonInterpreter", json!({"arguments": {}}))
        .await;
    assert_eq!(missing.status(), 422);
    assert!(body(missing).await["error"]["message"]
        .as_str()
        .unwrap()
        .contains("code"));

    // In Tongyi's text protocol the model keeps the schema it was trained on.
    let episode = body(
        server
            .post(
                "/v1/episodes",
                json!({"tools": ["search", "PythonInterpreter"]}),
            )
            .await,
    )
    .await;
    let system = episode["observation"][0]["content"].as_str().unwrap();
    assert!(system.contains(
        "\"name\": \"PythonInterpreter\", \"description\": \"Executes Python code in a sandboxed environment. To use this tool, you must follow this format:\\n1. The 'arguments' JSON object must be empty: {}."
    ), "{system}");
    server.stop().await;
}

/// schemathesis (`--checks all`) finds no disagreement between `/openapi.json` and the
/// server: no 5xx, no undocumented status or content type, no response off its schema,
/// no valid request refused and no invalid one accepted.
#[tokio::test]
async fn openapi_conformance_under_schemathesis() {
    let server = start(config()).await;
    let schemathesis = venv_python().with_file_name("schemathesis");
    assert!(
        schemathesis.exists(),
        "{} missing: run `make setup`",
        schemathesis.display()
    );
    let workdir = tempfile::tempdir().unwrap();
    let output = tokio::process::Command::new(&schemathesis)
        .current_dir(workdir.path())
        .args(["run", &server.url("/openapi.json")])
        .args(["--checks", "all", "--max-examples", "25", "--workers", "1"])
        .args(["--seed", "1", "--no-color", "--generation-database", "none"])
        .env("SCHEMATHESIS_HOOKS", "")
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "schemathesis found failures:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("Test cases:"), "{stdout}");
    server.stop().await;
}

/// With `http.tls_cert`/`tls_key` the server speaks HTTPS: Python's `http.client` and
/// `requests`, trusting the certificate through the environment only, search at Serper's
/// path and read a page at r.jina.ai's (the URL as the whole path).
#[tokio::test]
async fn https_listener_serves_unmodified_python_clients() {
    let dir = tempfile::tempdir().unwrap();
    let names = vec![
        "localhost".to_string(),
        "google.serper.dev".to_string(),
        "r.jina.ai".to_string(),
    ];
    let issued = rcgen::generate_simple_self_signed(names).unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert, issued.cert.pem()).unwrap();
    std::fs::write(&key, issued.signing_key.serialize_pem()).unwrap();
    let mut cfg = config();
    cfg.http.tls_cert = Some(cert.clone());
    cfg.http.tls_key = Some(key);
    let server = start_with_python(cfg, false).await;
    let port = server.base.rsplit(':').next().unwrap().to_string();
    let trust = [
        ("SSL_CERT_FILE", cert.as_path()),
        ("REQUESTS_CA_BUNDLE", cert.as_path()),
    ];
    let (stdout, _) = run_fixture("tls_clients.py", &["localhost", &port], &trust).await;
    let out: Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(out["search_status"], 200);
    assert_eq!(out["first_title"], "Albedo");
    assert_eq!(out["page_status"], 200);
    assert!(
        out["page_head"]
            .as_str()
            .unwrap()
            .starts_with("Title: Albedo\n\nURL Source: https://en.wikipedia.org/wiki/Albedo"),
        "{out}"
    );
    assert_eq!(out["missing_status"], 404);

    // A plain-HTTP client gets no answer from a TLS listener; a bad key file is named.
    let plain = reqwest::Client::new()
        .get(format!("http://127.0.0.1:{port}/healthz"))
        .send()
        .await;
    assert!(plain.is_err() || !plain.unwrap().status().is_success());
    let mut broken = config();
    broken.http.tls_cert = Some(cert.clone());
    broken.http.tls_key = Some(dir.path().join("missing.pem"));
    let error = simweb_env_api::Server::with_parts(broken, corpus(), None)
        .err()
        .unwrap()
        .to_string();
    assert!(error.contains("missing.pem"), "{error}");
    server.stop().await;
}

/// `mode` on `/retrieve` and on the search tool: dense and hybrid over a server started
/// with the dense index; a clear 4xx where there is none or the mode is unknown.
#[tokio::test]
async fn retrieve_and_search_take_a_ranking_mode() {
    let (_, dense_corpus, _) = simweb_testkit::dense_corpus();
    let mut cfg = config();
    cfg.dense.enabled = true;
    let server = super::support::start_over(cfg, dense_corpus, false).await;
    let query = "the blind pianist's record company in the fifties";
    let mut firsts = Vec::new();
    for mode in ["bm25", "dense", "hybrid"] {
        let answer = body(
            server
                .post(
                    "/retrieve",
                    json!({"queries": [query], "topk": 3, "return_scores": true, "mode": mode}),
                )
                .await,
        )
        .await;
        let hits = answer["result"][0].as_array().unwrap();
        assert_eq!(hits.len(), 3, "{mode}: {answer}");
        let scores: Vec<f64> = hits.iter().map(|h| h["score"].as_f64().unwrap()).collect();
        assert!(
            scores.windows(2).all(|w| w[0] >= w[1]),
            "{mode}: {scores:?}"
        );
        firsts.push(hits[0]["document"]["id"].as_str().unwrap().to_string());
    }
    assert_ne!(
        firsts[0], firsts[1],
        "bm25 and dense rank this paraphrase differently"
    );
    // The search tool offers `mode` when a dense index is loaded, and caches per mode.
    let tools = body(server.get("/v1/tools").await).await;
    let search = tools["tools"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["function"]["name"] == "search")
        .unwrap();
    assert_eq!(
        search["function"]["parameters"]["properties"]["mode"]["enum"],
        json!(["bm25", "dense", "hybrid"])
    );
    let call = |mode: &str| json!({"arguments": {"query": [query], "mode": mode}});
    let dense = body(server.post("/v1/tools/search", call("dense")).await).await;
    let bm25 = body(server.post("/v1/tools/search", call("bm25")).await).await;
    assert_eq!(bm25["cached"], false, "another mode is another cache entry");
    assert_ne!(dense["text"], bm25["text"]);
    let unknown = server
        .post("/retrieve", json!({"query": query, "mode": "semantic"}))
        .await;
    assert!(unknown.status().is_client_error());
    let reason = unknown.text().await.unwrap();
    assert!(reason.contains("semantic"), "{reason}");
    // Tools are keyed by the dense index too, and by its search settings when they are
    // not the defaults: another server's answers never come from these records.
    let ready = body(server.get("/readyz").await).await;
    let default_id = ready["tools_snapshot_id"].as_str().unwrap().to_string();
    assert!(
        default_id.starts_with(&format!(
            "{}+dense-",
            ready["snapshot_id"].as_str().unwrap()
        )),
        "{ready}"
    );
    server.stop().await;
    let (_, dense_corpus, _) = simweb_testkit::dense_corpus();
    let mut tuned = config();
    tuned.dense.enabled = true;
    tuned.dense.rows_per_candidate = Some(8);
    tuned.dense.lists_per_probe = Some(4);
    let server = super::support::start_over(tuned, dense_corpus, false).await;
    let ready = body(server.get("/readyz").await).await;
    assert_eq!(
        ready["tools_snapshot_id"].as_str().unwrap(),
        format!("{default_id}-r8-p4")
    );
    let tuned_dense = body(server.post("/v1/tools/search", call("dense")).await).await;
    assert_eq!(tuned_dense["cached"], false);
    // Under 50 K passages the search is exact whatever the settings: the same answer.
    assert_eq!(tuned_dense["text"], dense["text"]);
    server.stop().await;

    // Without --dense, dense is refused with the way to get it.
    let plain = start_with_python(config(), false).await;
    let refused = plain
        .post("/retrieve", json!({"query": "Albedo", "mode": "dense"}))
        .await;
    assert!(refused.status().is_client_error());
    let reason = refused.text().await.unwrap();
    assert!(reason.contains("dense index"), "{reason}");
    plain.stop().await;
}
