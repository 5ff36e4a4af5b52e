//! Sampling, stop conditions, execution-provider errors and the chat path on the fixture.

use super::fixture::{cpu, fixture, reference};
use simweb_policy::{
    ChatBackend, ChatMessage, ExecutionProvider, FinishReason, GenRequest, Generator, LocalModel,
    OnnxBackend, PolicyError, Prompt, RunnerOptions, SamplingParams, TokenRequest,
};

fn generator() -> Generator {
    LocalModel::load(fixture("tiny-moe"), &cpu())
        .unwrap()
        .into_generator()
        .0
}

fn sampled(seed: u64) -> SamplingParams {
    SamplingParams {
        temperature: 0.8,
        top_p: 0.95,
        top_k: 50,
        presence_penalty: 0.5,
        max_new_tokens: 16,
        seed,
        ..Default::default()
    }
}

#[test]
fn seeded_sampling_is_reproducible_and_seed_dependent() {
    let reference = reference();
    let requests = |seed: u64| -> Vec<TokenRequest> {
        reference
            .cases
            .iter()
            .enumerate()
            .map(|(i, c)| TokenRequest {
                prompt_ids: c.prompt.clone(),
                params: sampled(seed + i as u64),
            })
            .collect()
    };
    let mut g = generator();
    let a = g.generate(requests(7)).unwrap();
    let b = g.generate(requests(7)).unwrap();
    let c = g.generate(requests(1000)).unwrap();
    for ((x, y), z) in a.iter().zip(&b).zip(&c) {
        assert_eq!(x.token_ids, y.token_ids);
        assert_eq!(
            x.logprobs, y.logprobs,
            "same seed => bit-identical log-probabilities"
        );
        assert_eq!(x.token_ids.len(), x.logprobs.len());
        assert!(x.logprobs.iter().all(|l| l.is_finite() && *l <= 0.0));
        assert_ne!(
            x.token_ids, z.token_ids,
            "a different seed must change the sample"
        );
    }
    // A sequence's sample does not depend on its batch: alone it gives the same tokens.
    let alone = g.generate(vec![requests(7).remove(2)]).unwrap();
    assert_eq!(alone[0].token_ids, a[2].token_ids);
}

#[test]
fn stop_strings_cut_the_text_and_stop_ids_end_the_sequence() {
    let reference = reference();
    let prompt = reference.cases[1].prompt.clone();
    let mut g = generator();
    let full = g
        .generate(vec![TokenRequest {
            prompt_ids: prompt.clone(),
            params: SamplingParams::greedy(12),
        }])
        .unwrap()
        .remove(0);
    let tokenizer = g.tokenizer().clone();

    // A stop string taken from the text of the 4th generated token.
    let piece = tokenizer.decode(&full.token_ids[3..4]).unwrap();
    let stop = piece.trim().chars().take(3).collect::<String>();
    assert!(
        !stop.is_empty(),
        "token 4 decodes to whitespace only: {piece:?}"
    );
    let params = SamplingParams {
        stop: vec!["never appears \u{1}".into(), stop.clone()],
        ..SamplingParams::greedy(12)
    };
    let out = g
        .generate(vec![TokenRequest {
            prompt_ids: prompt.clone(),
            params,
        }])
        .unwrap()
        .remove(0);
    assert_eq!(
        out.finish_reason,
        FinishReason::StopString { stop: stop.clone() }
    );
    let cut = full.text.find(&stop).unwrap();
    assert_eq!(
        out.text,
        full.text[..cut],
        "text ends right before the stop string"
    );
    assert!(out.token_ids.len() < full.token_ids.len());
    assert_eq!(
        out.token_ids[..],
        full.token_ids[..out.token_ids.len()],
        "same tokens up to the stop"
    );
    assert_eq!(out.logprobs.len(), out.token_ids.len());

    // A stop id: generation ends at its first occurrence, the id is kept.
    let stop_id = full.token_ids[5];
    let first = full.token_ids.iter().position(|&t| t == stop_id).unwrap();
    let params = SamplingParams {
        stop_token_ids: vec![stop_id],
        ..SamplingParams::greedy(12)
    };
    let out = g
        .generate(vec![TokenRequest {
            prompt_ids: prompt,
            params,
        }])
        .unwrap()
        .remove(0);
    assert_eq!(out.finish_reason, FinishReason::StopToken { id: stop_id });
    assert_eq!(out.token_ids, full.token_ids[..=first]);
}

#[test]
fn bad_requests_are_clear_errors() {
    let mut g = generator();
    let err = g
        .add(TokenRequest {
            prompt_ids: vec![],
            params: SamplingParams::greedy(4),
        })
        .unwrap_err();
    assert!(err.to_string().contains("empty prompt"), "{err}");
    let err = g
        .add(TokenRequest {
            prompt_ids: vec![1, 999_999],
            params: SamplingParams::greedy(4),
        })
        .unwrap_err();
    assert!(err.to_string().contains("999999"), "{err}");
    let bad = SamplingParams {
        top_p: 0.0,
        ..SamplingParams::greedy(4)
    };
    let err = g
        .add(TokenRequest {
            prompt_ids: vec![1],
            params: bad,
        })
        .unwrap_err();
    assert!(err.to_string().contains("top_p"), "{err}");
    let err = LocalModel::load("/nonexistent/model", &cpu())
        .err()
        .unwrap();
    assert!(err.to_string().contains("/nonexistent/model"), "{err}");
}

#[test]
fn cuda_requested_without_a_cuda_runtime_is_an_error_not_a_cpu_fallback() {
    let lib = simweb_policy::runtime::locate_ort_library().unwrap();
    if lib
        .parent()
        .unwrap()
        .join("libonnxruntime_providers_cuda.so")
        .exists()
    {
        eprintln!("skipped: this ONNX Runtime has the CUDA provider (the GPU path is exercised by the benchmark)");
        return;
    }
    let options = RunnerOptions {
        execution_provider: ExecutionProvider::Cuda { device_id: 0 },
        intra_threads: Some(1),
    };
    match LocalModel::load(fixture("tiny-moe"), &options) {
        Err(PolicyError::ExecutionProvider { provider, reason }) => {
            eprintln!("cuda error: {reason}");
            assert_eq!(provider, "cuda:0");
            assert!(reason.contains("CUDA"), "{reason}");
        }
        Err(other) => panic!("expected an execution provider error, got {other}"),
        Ok(_) => panic!("CUDA was requested on a machine without it and the model loaded anyway"),
    }
    assert!("cuda:1".parse::<ExecutionProvider>().is_ok());
    assert!("tpu".parse::<ExecutionProvider>().is_err());
}

#[test]
fn chat_template_renders_the_qwen3_format() {
    let model = LocalModel::load(fixture("tiny-moe"), &cpu()).unwrap();
    let messages = vec![
        ChatMessage::system("You are a deep research assistant."),
        ChatMessage::user("Who wrote Hamlet?"),
        ChatMessage::assistant("<think>\nLook it up.\n</think>\n\n<tool_call>\n{\"name\": \"search\", \"arguments\": {\"query\": [\"Hamlet author\"]}}\n</tool_call>"),
        ChatMessage::user("<tool_response>\nShakespeare wrote Hamlet.\n</tool_response>"),
    ];
    let tools = vec![
        serde_json::json!({"type": "function", "function": {"name": "search", "parameters": {"type": "object"}}}),
    ];
    let text = model
        .template
        .render(&messages, Some(&tools), true, &Default::default())
        .unwrap();
    let expected = "<|im_start|>system\nYou are a deep research assistant.\n\n# Tools\n\nYou may call one or more functions to assist with the user query.\n\nYou are provided with function signatures within <tools></tools> XML tags:\n<tools>\n{\"function\": {\"name\": \"search\", \"parameters\": {\"type\": \"object\"}}, \"type\": \"function\"}\n</tools>\n\nFor each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:\n<tool_call>\n{\"name\": <function-name>, \"arguments\": <args-json-object>}\n</tool_call><|im_end|>\n<|im_start|>user\nWho wrote Hamlet?<|im_end|>\n<|im_start|>assistant\n<think>\nLook it up.\n</think>\n\n<tool_call>\n{\"name\": \"search\", \"arguments\": {\"query\": [\"Hamlet author\"]}}\n</tool_call><|im_end|>\n<|im_start|>user\n<tool_response>\nShakespeare wrote Hamlet.\n</tool_response><|im_end|>\n<|im_start|>assistant\n";
    assert_eq!(text, expected);
    // Special tokens written by the template map to their ids (Qwen3 numbering).
    let ids = model.tokenizer.encode(&text).unwrap();
    assert_eq!(ids[0], 151644, "<|im_start|>");
    for (token, id) in [
        ("<|im_end|>", 151645),
        ("<tool_call>", 151657),
        ("<tool_response>", 151665),
        ("<think>", 151667),
    ] {
        assert_eq!(model.tokenizer.token_to_id(token), Some(id), "{token}");
        assert!(ids.contains(&id), "{token} encoded as one token");
    }
    assert_eq!(
        model.tokenizer.decode(&ids).unwrap(),
        text.replace("<|im_start|>", "").replace("<|im_end|>", "")
    );
    // A template error names the template.
    let err = simweb_policy::ChatTemplate::new("{% if %}".into(), String::new(), String::new())
        .unwrap_err();
    assert!(err.to_string().contains("chat template"), "{err}");
}

#[tokio::test]
async fn onnx_backend_serves_concurrent_chat_requests() {
    let backend = std::sync::Arc::new(OnnxBackend::load(fixture("tiny-moe"), &cpu(), 16).unwrap());
    assert_eq!(backend.model_id(), "tiny-moe");
    let request = |q: &str, seed| GenRequest {
        prompt: Prompt::chat(vec![ChatMessage::user(q)]),
        params: SamplingParams {
            max_new_tokens: 8,
            seed,
            ..SamplingParams::tongyi(seed)
        },
    };
    // Concurrent callers share the engine (continuous batching); each result is its own.
    let mut tasks = Vec::new();
    for i in 0..6u64 {
        let backend = backend.clone();
        let req = request(&format!("question {i}"), i);
        tasks.push(tokio::spawn(async move { backend.generate_one(req).await }));
    }
    let mut results = Vec::new();
    for t in tasks {
        results.push(t.await.unwrap().unwrap());
    }
    for (i, r) in results.iter().enumerate() {
        let prompt = r.prompt_token_ids.as_ref().unwrap();
        assert_eq!(prompt[0], 151644, "starts with <|im_start|>");
        let ids = r.token_ids.as_ref().unwrap();
        assert_eq!(ids.len(), r.logprobs.as_ref().unwrap().len());
        assert!(!ids.is_empty() && ids.len() <= 8);
        // The same request again, alone, gives the same completion (seeded, batch-independent).
        let again = backend
            .generate_one(request(&format!("question {i}"), i as u64))
            .await
            .unwrap();
        assert_eq!(again.token_ids, r.token_ids, "request {i}");
    }
}
