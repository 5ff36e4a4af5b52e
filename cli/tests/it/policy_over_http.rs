//! The whole data flow, dump → store/index → tools → api → policy, in one test: the
//! Ray Charles ZIM is ingested, `simweb serve`'s server runs on 127.0.0.1, and a policy
//! backend (the scripted one, through the same `ChatBackend` trait as the ONNX model)
//! plays a Gym-style episode over HTTP: search → visit → Python → answer, rewarded.
//! The same server is then used the way an unmodified Tongyi agent would use it:
//! Serper-shaped search, Jina-shaped read, SandboxFusion code run.

use std::sync::Arc;

use serde_json::{json, Value};
use simweb_env_api::{ServeConfig, Server};
use simweb_policy::{
    ChatBackend, ChatMessage, GenRequest, Prompt, SamplingParams, ScriptedBackend,
    ScriptedConversation,
};
use simweb_sandbox::SandboxConfig;
use simweb_wikidump::{Corpus, IngestOptions};

const QUESTION: &str = "In which year was Ray Charles born?";

fn tool_call(name: &str, arguments: Value) -> String {
    format!(
        "<tool_call>\n{}\n</tool_call>",
        json!({"name": name, "arguments": arguments})
    )
}

fn policy() -> ScriptedBackend {
    ScriptedBackend::new(vec![ScriptedConversation {
        key: Some(QUESTION.into()),
        turns: vec![
            format!("<think>Search.</think>\n{}", tool_call("search", json!({"query": ["Ray Charles"]}))),
            format!(
                "<think>Read the article.</think>\n{}",
                tool_call("visit", json!({"url": ["https://en.wikipedia.org/wiki/Ray_Charles"], "goal": "when was Ray Charles born"}))
            ),
            "<think>Check the age at death.</think>\n<tool_call>\n{\"name\": \"PythonInterpreter\", \"arguments\": {}}\n<code>\nprint(2004 - 1930)\n</code>\n</tool_call>".to_string(),
            "<think>Born September 23, 1930.</think>\n<answer>1930</answer>".to_string(),
        ],
    }])
}

async fn post(http: &reqwest::Client, url: String, body: Value) -> Value {
    let response = http.post(&url).json(&body).send().await.unwrap();
    assert!(
        response.status().is_success(),
        "{url}: {}",
        response.status()
    );
    response.json().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_policy_plays_an_episode_over_http_and_agents_use_the_compat_endpoints() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("corpus");
    let zim = simweb_testkit::sample(simweb_testkit::ZIM);
    simweb_wikidump::ingest(&[zim], &data, &IngestOptions::default()).unwrap();
    let corpus = Arc::new(Corpus::open(&data).unwrap());
    let sandbox = simweb_testkit::sandbox_with(SandboxConfig::default());
    let config = ServeConfig {
        state_dir: Some(dir.path().join("state")),
        ..ServeConfig::default()
    };
    let server = Server::with_parts(config, corpus, Some(sandbox)).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(server.serve(listener, async move {
        let _ = stopped.await;
    }));
    let http = reqwest::Client::new();

    // The policy side: one episode, observation in, action out, until it ends.
    let policy = policy();
    let created = post(
        &http,
        format!("{base}/v1/episodes"),
        json!({"task": {"question": QUESTION, "answers": ["1930"]}, "seed": 3}),
    )
    .await;
    let id = created["episode_id"].as_str().unwrap().to_string();
    let mut messages: Vec<ChatMessage> = created["observation"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| ChatMessage::new(m["role"].as_str().unwrap(), m["content"].as_str().unwrap()))
        .collect();
    let mut steps = Vec::new();
    loop {
        let action = policy
            .generate_one(GenRequest {
                prompt: Prompt::chat(messages.clone()),
                params: SamplingParams::tongyi(3),
            })
            .await
            .unwrap()
            .text;
        let step = post(
            &http,
            format!("{base}/v1/episodes/{id}/step"),
            json!({"action": action}),
        )
        .await;
        messages.push(ChatMessage::assistant(action));
        steps.push(step.clone());
        if step["terminated"] == true || step["truncated"] == true {
            break;
        }
        messages.push(ChatMessage::user(step["observation"].as_str().unwrap()));
        assert!(steps.len() < 10, "the episode did not end: {steps:#?}");
    }
    assert_eq!(steps.len(), 4, "{steps:#?}");
    let search = steps[0]["observation"].as_str().unwrap();
    assert!(
        search.starts_with("<tool_response>\nA Google search for 'Ray Charles' found"),
        "{search}"
    );
    let visit = steps[1]["observation"].as_str().unwrap();
    assert!(
        visit.contains("1930"),
        "the evidence answers the goal: {visit}"
    );
    assert_eq!(
        steps[2]["observation"],
        "<tool_response>\nstdout:\n74\n\n</tool_response>"
    );
    assert_eq!(steps[3]["terminated"], true);
    assert_eq!(steps[3]["reward"], 1.0, "{}", steps[3]);
    let trajectory: Value = http
        .get(format!("{base}/v1/episodes/{id}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        trajectory["steps"].as_array().map(Vec::len),
        Some(4),
        "{trajectory}"
    );

    // An unmodified agent's three tools, pointed here by base URL.
    let serper = post(
        &http,
        format!("{base}/compat/serper/search"),
        json!({"q": "Ray Charles", "num": 3}),
    )
    .await;
    let link = serper["organic"][0]["link"].as_str().unwrap().to_string();
    assert_eq!(link, "https://en.wikipedia.org/wiki/Ray_Charles");
    let page = http
        .get(format!("{base}/compat/jina/{link}"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("Title: Ray Charles") && page.contains("Albany, Georgia"),
        "{page}"
    );
    let run = post(
        &http,
        format!("{base}/compat/sandbox-fusion/run_code"),
        json!({"code": "print(sum(range(1931)))", "language": "python"}),
    )
    .await;
    assert_eq!(run["run_result"]["stdout"], "1863415\n", "{run}");

    stop.send(()).unwrap();
    serving.await.unwrap().unwrap();
}
