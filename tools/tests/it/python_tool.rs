//! The `python` tool end to end: real sandbox (wasmtime + CPython), behind the toolbox's
//! layers, called as `python` and as Tongyi's `PythonInterpreter`.

use std::time::Duration;

use serde_json::json;
use simweb_sandbox::{EngineChoice, RunOptions, Sandbox, SandboxConfig};
use simweb_tools::python::{self, PythonTool, EMPTY_TEXT, TIMEOUT_TEXT};
use simweb_tools::{LayerConfig, ToolError, Toolbox};

/// A std-engine sandbox (no sci) whose queue wait is `queue_timeout`.
fn std_sandbox(queue_timeout: Duration) -> Sandbox {
    simweb_testkit::sandbox_with(SandboxConfig {
        sci_engine: Some(false),
        queue_timeout,
        ..SandboxConfig::default()
    })
}

/// Short limits: a runaway program times out in 1.5 s.
fn short_limits() -> RunOptions {
    RunOptions {
        engine: EngineChoice::Std,
        cpu_ms: 1_000,
        wall_ms: 1_500,
        ..RunOptions::default()
    }
}

fn toolbox() -> Toolbox {
    let sandbox = std_sandbox(SandboxConfig::default().queue_timeout);
    let mut tb = Toolbox::new("test-snapshot", LayerConfig::default()).unwrap();
    python::register(&mut tb, PythonTool::new(sandbox, short_limits()));
    tb
}

#[tokio::test]
async fn python_tool_answers_in_tongyi_format() {
    let tb = toolbox();
    let out = tb
        .call("python", &json!({"code": "print(6*7)"}), "t")
        .await
        .unwrap();
    assert_eq!(out.text, "stdout:\n42\n");
    assert_eq!(out.data["kind"]["kind"], "ok");
    // Tongyi's name; its <code> block arrives as `code` (see react.rs).
    let out = tb
        .call(
            "PythonInterpreter",
            &json!({"code": "<code>\nimport sys\nprint('e', file=sys.stderr)\n</code>"}),
            "t",
        )
        .await
        .unwrap();
    assert_eq!(out.text, "stderr:\ne\n");
    let out = tb
        .call("python", &json!({"code": "x = 1"}), "t")
        .await
        .unwrap();
    assert_eq!(out.text, EMPTY_TEXT);
    let out = tb
        .call("python", &json!({"code": "1/0"}), "t")
        .await
        .unwrap();
    assert!(
        out.text
            .starts_with("stderr:\nTraceback (most recent call last):"),
        "{}",
        out.text
    );
    assert!(out.text.contains("ZeroDivisionError"));
    let out = tb
        .call("python", &json!({"code": "while True: pass"}), "t")
        .await
        .unwrap();
    assert_eq!(out.text, TIMEOUT_TEXT);
}

#[tokio::test]
async fn python_tool_rejects_bad_arguments() {
    let tb = toolbox();
    for args in [
        json!({}),
        json!({"code": 5}),
        json!({"code": "  "}),
        json!("print(1)"),
    ] {
        match tb.call("python", &args, "t").await {
            Err(ToolError::InvalidArguments { .. }) => {}
            other => panic!("{args}: expected InvalidArguments, got {other:?}"),
        }
    }
}

/// Hostile probe #6: with a tool-layer timeout shorter than the sandbox's wall limit, the
/// layer used to fire first ("tool python timed out") and Tongyi's own timeout text was
/// unreachable. The layer never gives `python` less than the sandbox's own limits
/// (`Tool::min_timeout`).
#[tokio::test]
async fn the_sandbox_times_out_before_the_tool_layer_does() {
    let sandbox = std_sandbox(Duration::from_secs(5));
    let mut layers = LayerConfig::default();
    layers.policy.timeout_ms = 200;
    let corpus = simweb_testkit::corpus(simweb_testkit::Sample::All);
    let tb = simweb_tools::ToolboxSpec::new(corpus)
        .layers(layers)
        .python(sandbox, short_limits())
        .build()
        .unwrap();
    let out = tb
        .call(
            "PythonInterpreter",
            &json!({"code": "while True: pass"}),
            "t",
        )
        .await
        .unwrap();
    assert_eq!(out.text, TIMEOUT_TEXT);
    // Other tools keep the configured timeout.
    assert_eq!(tb.layers().config().policy_for("search").timeout_ms, 200);
}
