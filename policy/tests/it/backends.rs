//! The OpenAI-compatible backend against a real HTTP server on 127.0.0.1 standing in for
//! vLLM (which cannot run here), and the scripted backend.

use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{json, Value};
use simweb_policy::{
    ChatBackend, ChatMessage, FinishReason, GenRequest, OpenAiBackend, OpenAiConfig, PolicyError,
    Prompt, SamplingParams, ScriptedBackend,
};

/// (endpoint, authorization header, body) of every request the stub received.
type Received = (String, Option<String>, Value);

#[derive(Clone, Default)]
struct Seen {
    bodies: Arc<Mutex<Vec<Received>>>,
}

/// A vLLM-shaped chat endpoint: echoes the last user message, with per-token logprobs as
/// `token_id:N` when asked; a message containing "fail" gets a 500.
async fn chat(
    State(seen): State<Seen>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> (StatusCode, Json<Value>) {
    let auth = headers
        .get("authorization")
        .map(|v| v.to_str().unwrap().to_owned());
    seen.bodies
        .lock()
        .unwrap()
        .push(("chat".into(), auth, body.clone()));
    let last = body["messages"].as_array().unwrap().last().unwrap()["content"]
        .as_str()
        .unwrap()
        .to_owned();
    if last.contains("fail") {
        return (
            StatusCode::INTERNAL_SERVER_ERROR,
            Json(json!({"error": "model crashed"})),
        );
    }
    let ids = body["return_tokens_as_token_ids"]
        .as_bool()
        .unwrap_or(false);
    let words: Vec<&str> = last.split(' ').collect();
    let content: Vec<Value> = words
        .iter()
        .enumerate()
        .map(|(i, w)| json!({"token": if ids { format!("token_id:{}", 100 + i) } else { w.to_string() }, "logprob": -0.5 * (i as f64 + 1.0)}))
        .collect();
    (
        StatusCode::OK,
        Json(json!({
            "id": "cmpl-1", "object": "chat.completion", "model": body["model"],
            "choices": [{"index": 0, "message": {"role": "assistant", "content": format!("echo: {last}")},
                          "logprobs": {"content": content}, "finish_reason": "stop", "stop_reason": "</tool_call>"}],
            "usage": {"prompt_tokens": 11, "completion_tokens": words.len()}
        })),
    )
}

async fn completions(State(seen): State<Seen>, Json(body): Json<Value>) -> Json<Value> {
    seen.bodies
        .lock()
        .unwrap()
        .push(("completions".into(), None, body.clone()));
    Json(json!({
        "choices": [{"index": 0, "text": " world", "finish_reason": "length",
                     "logprobs": {"tokens": [" world"], "token_logprobs": [-1.25]}}],
        "usage": {"prompt_tokens": 2, "completion_tokens": 1}
    }))
}

async fn stub_server() -> (String, Seen) {
    let seen = Seen::default();
    let app = Router::new()
        .route("/v1/chat/completions", post(chat))
        .route("/v1/completions", post(completions))
        .with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}/v1"), seen)
}

#[tokio::test]
async fn openai_backend_talks_to_a_vllm_shaped_server() {
    let (base, seen) = stub_server().await;
    let mut config = OpenAiConfig::new(base.clone(), "tongyi-30b");
    config.api_key = Some("secret".into());
    config.token_ids = true;
    let backend = OpenAiBackend::new(config).unwrap();
    assert_eq!(backend.model_id(), "tongyi-30b");
    let params = SamplingParams {
        top_k: 20,
        stop: vec!["</tool_call>".into()],
        ..SamplingParams::tongyi(42)
    };
    let requests = vec![
        GenRequest {
            prompt: Prompt::chat(vec![ChatMessage::user("alpha beta gamma")]),
            params: params.clone(),
        },
        GenRequest {
            prompt: Prompt::chat(vec![ChatMessage::system("s"), ChatMessage::user("one")]),
            params: params.clone(),
        },
        GenRequest {
            prompt: Prompt::Text("hello".into()),
            params: SamplingParams::greedy(1),
        },
    ];
    let out = backend.generate(requests).await.unwrap();
    assert_eq!(out[0].text, "echo: alpha beta gamma");
    assert_eq!(out[0].token_ids, Some(vec![100, 101, 102]));
    assert_eq!(out[0].logprobs, Some(vec![-0.5, -1.0, -1.5]));
    assert_eq!(
        out[0].finish_reason,
        FinishReason::StopString {
            stop: "</tool_call>".into()
        }
    );
    assert_eq!(out[0].prompt_tokens, Some(11));
    assert_eq!(out[1].text, "echo: one", "results stay in request order");
    assert_eq!(out[2].text, " world");
    assert_eq!(out[2].logprobs, Some(vec![-1.25]));
    assert_eq!(out[2].token_ids, None, "plain token strings carry no ids");
    assert_eq!(out[2].finish_reason, FinishReason::MaxTokens);

    let bodies = seen.bodies.lock().unwrap().clone();
    assert_eq!(bodies.len(), 3);
    let chat_body = bodies
        .iter()
        .find(|(kind, _, b)| kind == "chat" && b["messages"].as_array().unwrap().len() == 1)
        .unwrap();
    assert_eq!(chat_body.1.as_deref(), Some("Bearer secret"));
    let b = &chat_body.2;
    assert_eq!(b["model"], "tongyi-30b");
    assert_eq!(b["top_k"], 20);
    assert_eq!(b["seed"], 42);
    assert_eq!(b["stop"], json!(["</tool_call>"]));
    assert_eq!(b["logprobs"], true);
    assert!((b["presence_penalty"].as_f64().unwrap() - 1.1).abs() < 1e-6);
    assert!((b["temperature"].as_f64().unwrap() - 0.6).abs() < 1e-6);
    let text_body = bodies
        .iter()
        .find(|(kind, _, _)| kind == "completions")
        .unwrap();
    assert_eq!(text_body.2["prompt"], "hello");

    // A server error is a typed error naming the URL and the status.
    let err = backend
        .generate_one(GenRequest {
            prompt: Prompt::chat(vec![ChatMessage::user("please fail")]),
            params,
        })
        .await
        .unwrap_err();
    match err {
        PolicyError::Http { url, reason } => {
            assert!(url.ends_with("/v1/chat/completions"), "{url}");
            assert!(reason.contains("500"), "{reason}");
        }
        other => panic!("expected an http error, got {other}"),
    }
    // Nothing listening: a clear connection error, not a panic.
    let dead = OpenAiBackend::new(OpenAiConfig::new("http://127.0.0.1:1/v1", "m")).unwrap();
    let err = dead
        .generate_one(GenRequest {
            prompt: Prompt::Text("x".into()),
            params: SamplingParams::greedy(1),
        })
        .await
        .unwrap_err();
    assert!(err.to_string().contains("127.0.0.1:1"), "{err}");
}

#[tokio::test]
async fn scripted_backend_answers_by_question_and_turn() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("script.jsonl");
    let lines = [
        json!({"key": "Hamlet", "turns": ["<tool_call>\n{}\n</tool_call>\n<tool_response>ignored", "<answer>Shakespeare</answer>"]}),
        json!({"turns": ["<answer>I do not know</answer>"]}),
    ];
    std::fs::write(
        &path,
        lines
            .iter()
            .map(|l| l.to_string() + "\n")
            .collect::<String>(),
    )
    .unwrap();
    let backend = ScriptedBackend::from_jsonl(&path).unwrap();
    let params = SamplingParams::tongyi(0);
    let mut messages = vec![
        ChatMessage::system("sys"),
        ChatMessage::user("Who wrote Hamlet?"),
    ];
    let first = backend
        .generate_one(GenRequest {
            prompt: Prompt::chat(messages.clone()),
            params: params.clone(),
        })
        .await
        .unwrap();
    assert_eq!(
        first.text, "<tool_call>\n{}\n</tool_call>",
        "cut before the stop string"
    );
    assert_eq!(
        first.finish_reason,
        FinishReason::StopString {
            stop: "\n<tool_response>".into()
        }
    );
    messages.push(ChatMessage::assistant(first.text));
    messages.push(ChatMessage::user("<tool_response>\n...\n</tool_response>"));
    let second = backend
        .generate_one(GenRequest {
            prompt: Prompt::chat(messages.clone()),
            params: params.clone(),
        })
        .await
        .unwrap();
    assert_eq!(second.text, "<answer>Shakespeare</answer>");
    let other = backend
        .generate_one(GenRequest {
            prompt: Prompt::chat(vec![ChatMessage::user("Capital of Peru?")]),
            params: params.clone(),
        })
        .await
        .unwrap();
    assert_eq!(other.text, "<answer>I do not know</answer>");
    messages.push(ChatMessage::assistant(second.text));
    let err = backend
        .generate_one(GenRequest {
            prompt: Prompt::chat(messages),
            params,
        })
        .await
        .unwrap_err();
    assert!(err.to_string().contains("turn 3"), "{err}");
    std::fs::write(&path, "{\"turns\": 5}\n").unwrap();
    let err = ScriptedBackend::from_jsonl(&path).err().unwrap();
    assert!(err.to_string().contains("script.jsonl:1"), "{err}");
}
