//! The tool layer around real in-crate tools: cache, record/replay, rate limits,
//! backpressure, timeouts, retry (with a deliberately failing backend, the one place a
//! failing double is the point), fault injection and metrics.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use serde::Deserialize;
use serde_json::{json, Value};
use simweb_tools::{
    canonical_json, parse_args, CallContext, FaultSpec, LayerConfig, Outcome, RateQuota,
    ReplayMode, Tool, ToolError, ToolOutput, ToolPolicy, Toolbox,
};

/// Answers `{"text": ..., "sleep_ms"?: n}` with a deterministic text; counts real calls.
struct EchoTool {
    calls: Arc<AtomicUsize>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EchoArgs {
    text: String,
    #[serde(default)]
    sleep_ms: u64,
}

#[async_trait]
impl Tool for EchoTool {
    fn name(&self) -> &str {
        "echo"
    }
    fn schema(&self) -> Value {
        json!({"type": "function", "function": {"name": "echo", "description": "echo",
               "parameters": {"type": "object", "properties": {"text": {"type": "string"}},
                              "required": ["text"]}}})
    }
    async fn call(&self, args: &Value, _ctx: &CallContext) -> Result<ToolOutput, ToolError> {
        let args: EchoArgs = parse_args("echo", args)?;
        self.calls.fetch_add(1, Ordering::SeqCst);
        if args.sleep_ms > 0 {
            tokio::time::sleep(Duration::from_millis(args.sleep_ms)).await;
        }
        Ok(ToolOutput::new(
            format!("echo: {}\nünïcødé ✓", args.text),
            json!({"len": args.text.len()}),
        ))
    }
}

/// The injected failing backend: per call key, fails `transient_failures` times with a
/// transient error, then answers; or always fails permanently.
struct FlakyTool {
    transient_failures: usize,
    permanent: bool,
    attempts: Arc<Mutex<BTreeMap<String, usize>>>,
}

#[async_trait]
impl Tool for FlakyTool {
    fn name(&self) -> &str {
        "flaky"
    }
    fn schema(&self) -> Value {
        json!({"type": "function", "function": {"name": "flaky", "description": "flaky",
               "parameters": {"type": "object", "properties": {}}}})
    }
    async fn call(&self, args: &Value, ctx: &CallContext) -> Result<ToolOutput, ToolError> {
        let n = {
            let mut attempts = self.attempts.lock().unwrap();
            let n = attempts.entry(ctx.key.digest.clone()).or_insert(0);
            *n += 1;
            *n
        };
        if self.permanent {
            return Err(ToolError::Internal("the backend is broken for good".into()));
        }
        if n <= self.transient_failures {
            return Err(ToolError::Unavailable(format!(
                "backend restarting (attempt {n})"
            )));
        }
        Ok(ToolOutput::new(
            format!("ok after {n} attempts: {}", canonical_json(args)),
            json!({}),
        ))
    }
}

fn echo_box(config: LayerConfig) -> (Toolbox, Arc<AtomicUsize>) {
    let calls = Arc::new(AtomicUsize::new(0));
    let mut toolbox = Toolbox::new("snap-1", config).unwrap();
    toolbox.register(Arc::new(EchoTool {
        calls: Arc::clone(&calls),
    }));
    (toolbox, calls)
}

fn flaky_box(
    config: LayerConfig,
    transient_failures: usize,
    permanent: bool,
) -> (Toolbox, Arc<Mutex<BTreeMap<String, usize>>>) {
    let attempts = Arc::new(Mutex::new(BTreeMap::new()));
    let mut toolbox = Toolbox::new("snap-1", config).unwrap();
    toolbox.register(Arc::new(FlakyTool {
        transient_failures,
        permanent,
        attempts: Arc::clone(&attempts),
    }));
    (toolbox, attempts)
}

fn fast_retries(max_attempts: u32) -> LayerConfig {
    let mut config = LayerConfig::default();
    config.retry.max_attempts = max_attempts;
    config.retry.base_delay_ms = 1;
    config.retry.max_delay_ms = 5;
    config
}

#[tokio::test]
async fn cache_hit_returns_identical_bytes_and_is_marked() {
    let (toolbox, calls) = echo_box(LayerConfig::default());
    let first = toolbox
        .call("echo", &json!({"text": "hello"}), "c")
        .await
        .unwrap();
    // Same arguments in another key order: the same call.
    let second = toolbox
        .call("echo", &json!({"sleep_ms": 0, "text": "hello"}), "c")
        .await
        .unwrap();
    let again = toolbox
        .call("echo", &json!({"text": "hello"}), "c")
        .await
        .unwrap();
    assert!(!first.cached);
    assert!(again.cached);
    assert_eq!(first.text.as_bytes(), again.text.as_bytes());
    assert_eq!(first.data, again.data);
    assert!(
        !second.cached,
        "different canonical arguments are a different call"
    );
    assert_eq!(calls.load(Ordering::SeqCst), 2);

    let snap = toolbox.metrics().snapshot();
    assert_eq!(snap.tools["echo"].count(Outcome::Hit), 1);
    assert_eq!(snap.tools["echo"].count(Outcome::Miss), 2);
}

#[tokio::test]
async fn persistent_cache_answers_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = LayerConfig::default();
    config.cache.persistent_dir = Some(dir.path().join("cache"));
    let text = {
        let (toolbox, calls) = echo_box(config.clone());
        let out = toolbox
            .call("echo", &json!({"text": "persist"}), "c")
            .await
            .unwrap();
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        toolbox.layers().cache().unwrap().flush();
        out.text
    };
    let (toolbox, calls) = echo_box(config);
    let out = toolbox
        .call("echo", &json!({"text": "persist"}), "c")
        .await
        .unwrap();
    assert!(out.cached);
    assert_eq!(out.text, text);
    assert_eq!(
        calls.load(Ordering::SeqCst),
        0,
        "answered from disk, no tool work"
    );
}

#[tokio::test]
async fn cache_keys_include_the_snapshot() {
    let calls = Arc::new(AtomicUsize::new(0));
    let config = LayerConfig::default();
    let layers_shared_dir = tempfile::tempdir().unwrap();
    let mut config = config;
    config.cache.persistent_dir = Some(layers_shared_dir.path().to_path_buf());
    for snapshot in ["snap-a", "snap-b"] {
        let mut toolbox = Toolbox::new(snapshot, config.clone()).unwrap();
        toolbox.register(Arc::new(EchoTool {
            calls: Arc::clone(&calls),
        }));
        let out = toolbox
            .call("echo", &json!({"text": "x"}), "c")
            .await
            .unwrap();
        assert!(
            !out.cached,
            "{snapshot} must not see the other snapshot's entry"
        );
    }
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn record_then_strict_replay_reproduces_the_session_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("replay").join("session.jsonl");
    let session = [
        ("echo", json!({"text": "first"})),
        ("echo", json!({"text": "second"})),
        ("echo", json!({"txt": "a mistyped field"})),
        ("echo", json!({"text": "first"})),
    ];

    let mut config = LayerConfig::default();
    config.cache.enabled = false;
    config.replay.mode = ReplayMode::Record;
    config.replay.log = Some(log.clone());
    let (recording, calls) = echo_box(config.clone());
    let mut recorded = Vec::new();
    for (tool, args) in &session {
        recorded.push(recording.call(tool, args, "c").await);
    }
    assert_eq!(calls.load(Ordering::SeqCst), 3);
    drop(recording);

    config.replay.mode = ReplayMode::Replay;
    let (replaying, calls) = echo_box(config.clone());
    assert_eq!(replaying.layers().recorder().unwrap().len(), 3);
    for ((tool, args), before) in session.iter().zip(&recorded) {
        let after = replaying.call(tool, args, "c").await;
        match (before, &after) {
            (Ok(a), Ok(b)) => {
                assert_eq!(a.text.as_bytes(), b.text.as_bytes());
                assert_eq!(a.data, b.data);
                assert!(b.replayed);
            }
            (Err(a), Err(b)) => assert_eq!(a, b),
            other => panic!("replay differs: {other:?}"),
        }
    }
    assert_eq!(calls.load(Ordering::SeqCst), 0, "replay does no tool work");

    let miss = replaying
        .call("echo", &json!({"text": "never recorded"}), "c")
        .await
        .unwrap_err();
    let ToolError::ReplayMiss { call } = &miss else {
        panic!("expected ReplayMiss, got {miss:?}");
    };
    assert!(call.contains(r#"echo {"text":"never recorded"}"#), "{call}");
    assert_eq!(miss.http_status(), 404);

    config.replay.mode = ReplayMode::ReplayOrLive;
    let (fallthrough, calls) = echo_box(config);
    let out = fallthrough
        .call("echo", &json!({"text": "first"}), "c")
        .await
        .unwrap();
    assert!(out.replayed);
    let live = fallthrough
        .call("echo", &json!({"text": "never recorded"}), "c")
        .await
        .unwrap();
    assert!(!live.replayed);
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_torn_last_log_line_is_ignored_and_appending_continues_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("session.jsonl");
    let mut config = LayerConfig::default();
    config.cache.enabled = false;
    config.replay.mode = ReplayMode::Record;
    config.replay.log = Some(log.clone());
    {
        let (toolbox, _) = echo_box(config.clone());
        toolbox
            .call("echo", &json!({"text": "kept"}), "c")
            .await
            .unwrap();
    }
    // A crash in the middle of writing the next record.
    let mut bytes = std::fs::read(&log).unwrap();
    bytes.extend_from_slice(br#"{"v":1,"key":"abc","tool":"echo","ar"#);
    std::fs::write(&log, bytes).unwrap();
    {
        let (toolbox, _) = echo_box(config.clone());
        toolbox
            .call("echo", &json!({"text": "after crash"}), "c")
            .await
            .unwrap();
    }
    config.replay.mode = ReplayMode::Replay;
    let (toolbox, _) = echo_box(config);
    assert_eq!(toolbox.layers().recorder().unwrap().len(), 2);
    assert!(
        toolbox
            .call("echo", &json!({"text": "kept"}), "c")
            .await
            .unwrap()
            .replayed
    );
    assert!(
        toolbox
            .call("echo", &json!({"text": "after crash"}), "c")
            .await
            .unwrap()
            .replayed
    );
}

/// Two "replicas" record disjoint and overlapping calls; the merged log replays every
/// call of both with no tool work, is the same bytes whatever the input order, and a
/// torn last line is left out while a damaged middle line or a conflict is refused.
#[tokio::test]
async fn merged_record_logs_replay_every_replicas_calls() {
    use simweb_tools::layer::{merge_replay_logs, MergeError};
    let dir = tempfile::tempdir().unwrap();
    let record = |name: &str| {
        let mut config = LayerConfig::default();
        config.cache.enabled = false;
        config.replay.mode = ReplayMode::Record;
        config.replay.log = Some(dir.path().join(name));
        config
    };
    let sessions = [
        ("a.jsonl", vec!["one", "two", "shared"]),
        ("b.jsonl", vec!["shared", "three"]),
    ];
    for (log, texts) in &sessions {
        let (toolbox, _) = echo_box(record(log));
        for text in texts {
            toolbox
                .call("echo", &json!({ "text": text }), "c")
                .await
                .unwrap();
        }
    }
    // b crashed in the middle of its next record.
    let b = dir.path().join("b.jsonl");
    let mut bytes = std::fs::read(&b).unwrap();
    bytes.extend_from_slice(br#"{"v":1,"key":"x","tool":"ec"#);
    std::fs::write(&b, bytes).unwrap();

    let a = dir.path().join("a.jsonl");
    let merged = dir.path().join("merged.jsonl");
    let report = merge_replay_logs(&[a.clone(), b.clone()], &merged).unwrap();
    assert_eq!(report.lines_read, vec![3, 2]);
    assert_eq!(
        (report.torn_lines, report.duplicates, report.written),
        (1, 1, 4)
    );
    let flipped = dir.path().join("flipped.jsonl");
    merge_replay_logs(&[b.clone(), a.clone()], &flipped).unwrap();
    assert_eq!(
        std::fs::read(&merged).unwrap(),
        std::fs::read(&flipped).unwrap()
    );

    let mut config = record("merged.jsonl");
    config.replay.mode = ReplayMode::Replay;
    let (replaying, calls) = echo_box(config);
    for text in ["one", "two", "three", "shared"] {
        let out = replaying
            .call("echo", &json!({ "text": text }), "c")
            .await
            .unwrap();
        assert!(out.replayed, "{text}");
    }
    assert_eq!(calls.load(Ordering::SeqCst), 0, "replay does no tool work");

    // A damaged line that is not the last one: refused, naming file and line.
    let damaged = dir.path().join("damaged.jsonl");
    std::fs::write(&damaged, "not json\n").unwrap();
    let out = dir.path().join("never.jsonl");
    let err = merge_replay_logs(&[a.clone(), damaged.clone()], &out).unwrap_err();
    assert!(
        matches!(err, MergeError::Unreadable { line: 1, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("damaged.jsonl:1"), "{err}");
    // The same call with another result: refused, nothing written.
    let text = std::fs::read_to_string(&a).unwrap();
    let first = text.lines().next().unwrap();
    let changed = first.replace("one", "uno");
    assert_ne!(first, changed);
    let conflicting = dir.path().join("conflicting.jsonl");
    std::fs::write(&conflicting, format!("{changed}\n")).unwrap();
    let err = merge_replay_logs(&[a, conflicting], &out).unwrap_err();
    assert!(matches!(err, MergeError::Conflict { .. }), "{err}");
    assert!(!out.exists());
}

#[tokio::test]
async fn rate_limits_are_typed_per_client_and_per_tool() {
    let config = LayerConfig {
        policy: ToolPolicy {
            client_quota: Some(RateQuota {
                per_second: 1,
                burst: 2,
            }),
            ..ToolPolicy::default()
        },
        ..LayerConfig::default()
    };
    let (toolbox, _) = echo_box(config);
    let args = json!({"text": "x"});
    toolbox.call("echo", &args, "alice").await.unwrap();
    toolbox.call("echo", &args, "alice").await.unwrap();
    let err = toolbox.call("echo", &args, "alice").await.unwrap_err();
    let ToolError::RateLimited { retry_after } = err else {
        panic!("expected RateLimited, got {err:?}");
    };
    assert!(
        retry_after > Duration::ZERO && retry_after <= Duration::from_secs(1),
        "{retry_after:?}"
    );
    assert_eq!(err_status(&toolbox, "alice").await, 429);
    toolbox
        .call("echo", &args, "bob")
        .await
        .expect("another client has its own quota");

    let mut config = LayerConfig::default();
    config.policy.tool_quota = Some(RateQuota {
        per_second: 1,
        burst: 1,
    });
    let (toolbox, _) = echo_box(config);
    toolbox.call("echo", &args, "alice").await.unwrap();
    let err = toolbox.call("echo", &args, "bob").await.unwrap_err();
    assert!(matches!(err, ToolError::RateLimited { .. }), "{err:?}");
    assert_eq!(
        toolbox.metrics().snapshot().tools["echo"].count(Outcome::Limited),
        1
    );
}

async fn err_status(toolbox: &Toolbox, client: &str) -> u16 {
    toolbox
        .call("echo", &json!({"text": "x"}), client)
        .await
        .unwrap_err()
        .http_status()
}

#[tokio::test]
async fn saturation_answers_fast_with_a_typed_error() {
    let mut config = LayerConfig::default();
    config.policy.max_concurrency = 1;
    config.policy.max_wait_ms = 20;
    let (toolbox, _) = echo_box(config);
    let toolbox = Arc::new(toolbox);
    let busy = {
        let toolbox = Arc::clone(&toolbox);
        tokio::spawn(async move {
            toolbox
                .call("echo", &json!({"text": "slow", "sleep_ms": 2000}), "a")
                .await
        })
    };
    // Let the slow call take the only slot.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let err = toolbox
        .call("echo", &json!({"text": "waits"}), "b")
        .await
        .unwrap_err();
    let ToolError::Saturated { tool, retry_after } = &err else {
        panic!("expected Saturated, got {err:?}");
    };
    assert_eq!(tool, "echo");
    assert!(*retry_after > Duration::ZERO);
    assert_eq!(err.http_status(), 503);
    busy.abort();
    assert_eq!(
        toolbox.metrics().snapshot().tools["echo"].count(Outcome::Saturated),
        1
    );
}

#[tokio::test]
async fn a_slow_attempt_times_out() {
    let mut config = fast_retries(1);
    config.policy.timeout_ms = 50;
    let (toolbox, _) = echo_box(config);
    let err = toolbox
        .call("echo", &json!({"text": "slow", "sleep_ms": 5000}), "a")
        .await
        .unwrap_err();
    assert!(
        matches!(err, ToolError::Timeout { ref tool, .. } if tool == "echo"),
        "{err:?}"
    );
    assert!(err.is_transient());
    assert_eq!(err.http_status(), 504);
}

#[tokio::test]
async fn retry_recovers_from_transient_failures() {
    let (toolbox, attempts) = flaky_box(fast_retries(3), 2, false);
    let out = toolbox.call("flaky", &json!({}), "a").await.unwrap();
    assert!(out.text.starts_with("ok after 3 attempts"), "{}", out.text);
    assert_eq!(
        attempts
            .lock()
            .unwrap()
            .values()
            .copied()
            .collect::<Vec<_>>(),
        vec![3]
    );
    assert_eq!(toolbox.metrics().snapshot().tools["flaky"].retries, 2);
}

#[tokio::test]
async fn retry_gives_up_after_the_attempt_bound() {
    let (toolbox, attempts) = flaky_box(fast_retries(3), 10, false);
    let err = toolbox
        .call("flaky", &json!({"n": 1}), "a")
        .await
        .unwrap_err();
    assert!(matches!(err, ToolError::Unavailable(_)), "{err:?}");
    assert_eq!(
        attempts
            .lock()
            .unwrap()
            .values()
            .copied()
            .collect::<Vec<_>>(),
        vec![3]
    );
}

#[tokio::test]
async fn permanent_failures_are_never_retried() {
    let (toolbox, attempts) = flaky_box(fast_retries(5), 0, true);
    let err = toolbox.call("flaky", &json!({}), "a").await.unwrap_err();
    assert!(matches!(err, ToolError::Internal(_)), "{err:?}");
    assert_eq!(
        attempts
            .lock()
            .unwrap()
            .values()
            .copied()
            .collect::<Vec<_>>(),
        vec![1]
    );
    assert_eq!(toolbox.metrics().snapshot().tools["flaky"].retries, 0);

    // Bad arguments are permanent too.
    let (toolbox, calls) = echo_box(fast_retries(5));
    let err = toolbox
        .call("echo", &json!({"text": 3}), "a")
        .await
        .unwrap_err();
    assert!(matches!(err, ToolError::InvalidArguments { .. }), "{err:?}");
    assert_eq!(calls.load(Ordering::SeqCst), 0);
    assert_eq!(toolbox.metrics().snapshot().tools["echo"].retries, 0);
}

async fn fault_pattern(seed: u64) -> Vec<bool> {
    let mut config = fast_retries(1);
    config.cache.enabled = false;
    config.faults.seed = seed;
    config.faults.tools.insert(
        "echo".into(),
        FaultSpec {
            error_rate: 0.5,
            latency_rate: 0.2,
            latency_ms: 1,
        },
    );
    let (toolbox, _) = echo_box(config);
    let mut pattern = Vec::new();
    for i in 0..40 {
        let result = toolbox
            .call("echo", &json!({"text": format!("q{i}")}), "a")
            .await;
        if let Err(err) = &result {
            assert!(
                matches!(err, ToolError::Transient(m) if m.contains("injected")),
                "{err:?}"
            );
        }
        pattern.push(result.is_ok());
    }
    pattern
}

#[tokio::test]
async fn fault_injection_is_deterministic_for_a_seed() {
    let a = fault_pattern(42).await;
    let b = fault_pattern(42).await;
    let c = fault_pattern(43).await;
    assert_eq!(a, b, "same seed, same faults");
    assert_ne!(a, c, "another seed, other faults");
    let failures = a.iter().filter(|ok| !**ok).count();
    assert!(
        (8..=32).contains(&failures),
        "{failures} of 40 failed at rate 0.5"
    );
}

#[tokio::test]
async fn injected_faults_are_retried_like_real_ones() {
    let mut config = fast_retries(4);
    config.cache.enabled = false;
    config.faults.seed = 7;
    config.faults.tools.insert(
        "*".into(),
        FaultSpec {
            error_rate: 0.5,
            ..FaultSpec::default()
        },
    );
    let (toolbox, _) = echo_box(config);
    let mut ok = 0;
    for i in 0..20 {
        if toolbox
            .call("echo", &json!({"text": format!("q{i}")}), "a")
            .await
            .is_ok()
        {
            ok += 1;
        }
    }
    // P(4 failures in a row) = 1/16: nearly every call gets through after retries.
    assert!(ok >= 15, "{ok}");
    assert!(toolbox.metrics().snapshot().tools["echo"].retries > 0);
}

#[tokio::test]
async fn unknown_tools_are_typed_and_list_the_available_ones() {
    let (toolbox, _) = echo_box(LayerConfig::default());
    let err = toolbox.call("browse", &json!({}), "a").await.unwrap_err();
    assert_eq!(
        err,
        ToolError::UnknownTool {
            name: "browse".into(),
            available: "echo".into()
        }
    );
    assert_eq!(err.http_status(), 404);
    assert_eq!(toolbox.schemas().len(), 1);
}
