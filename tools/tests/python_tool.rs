//! The `python` tool end to end: real sandbox (wasmtime + CPython), behind the toolbox's
//! layers, called as `python` and as Tongyi's `PythonInterpreter`.

use serde_json::json;
use simweb_sandbox::{EngineChoice, RunOptions, Sandbox, SandboxConfig};
use simweb_tools::python::{self, PythonTool, EMPTY_TEXT, TIMEOUT_TEXT};
use simweb_tools::{LayerConfig, ToolError, Toolbox};

fn toolbox() -> Toolbox {
    let sandbox = Sandbox::new(SandboxConfig {
        sci_engine: Some(false),
        ..SandboxConfig::default()
    })
    .expect("sandbox artifacts (run `make setup`)");
    let opts = RunOptions {
        engine: EngineChoice::Std,
        cpu_ms: 1_000,
        wall_ms: 1_500,
        ..RunOptions::default()
    };
    let mut tb = Toolbox::new("test-snapshot", LayerConfig::default()).unwrap();
    python::register(&mut tb, PythonTool::new(sandbox, opts));
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
