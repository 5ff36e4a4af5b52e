//! The `python` tool (Tongyi's `PythonInterpreter`): runs the agent's code in the
//! WebAssembly sandbox ([`simweb_sandbox`]) and answers in Tongyi's exact text format.
//!
//! Arguments: `{"code": string}`. Tongyi's own form — `{"name": "PythonInterpreter",
//! "arguments": {}}` followed by a `<code>…</code>` block inside the same `<tool_call>` —
//! is turned into `{"code": …}` by [`crate::react`]; a caller holding the code separately
//! can use [`PythonTool::run_code`]. Register it with [`register`], which also adds the
//! `PythonInterpreter` alias.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde::Deserialize;
use serde_json::{json, Value};
use simweb_sandbox::{Outcome, OutcomeKind, RunOptions, Sandbox, SandboxError};

use crate::error::ToolError;
use crate::registry::Toolbox;
use crate::tool::{parse_args, CallContext, Tool, ToolOutput};

/// The tool's name in simweb's own API.
pub const PYTHON_TOOL: &str = "python";
/// Tongyi's name for it (an alias).
pub const PYTHON_INTERPRETER: &str = "PythonInterpreter";
/// Tongyi's answer when the code ran past its time limit.
pub const TIMEOUT_TEXT: &str = "[PythonInterpreter Error] TimeoutError: Execution timed out.";
/// Tongyi's answer when the code printed nothing.
pub const EMPTY_TEXT: &str = "Finished execution.";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PythonArgs {
    code: String,
}

/// Runs agent code in the sandbox with fixed limits and seed.
pub struct PythonTool {
    sandbox: Sandbox,
    opts: RunOptions,
}

impl PythonTool {
    pub fn new(sandbox: Sandbox, opts: RunOptions) -> Self {
        PythonTool { sandbox, opts }
    }

    /// Runs `code` (e.g. from a `<code>` block the caller extracted itself).
    pub async fn run_code(&self, code: &str) -> Result<ToolOutput, ToolError> {
        let code = strip_wrappers(code);
        if code.trim().is_empty() {
            return Err(ToolError::invalid(PYTHON_TOOL, "`code` is empty"));
        }
        let outcome = self
            .sandbox
            .run(code, &self.opts)
            .await
            .map_err(sandbox_error)?;
        let data = serde_json::to_value(&outcome)
            .map_err(|e| ToolError::Internal(format!("serialising the python outcome: {e}")))?;
        Ok(ToolOutput::new(
            agent_text(&outcome, self.opts.output_cap),
            data,
        ))
    }
}

/// The text the agent sees, in Tongyi's format: `stdout:\n…` and/or `stderr:\n…` joined by
/// a newline, `Finished execution.` when both are empty, its timeout message on timeout.
pub fn agent_text(o: &Outcome, output_cap: usize) -> String {
    match &o.kind {
        OutcomeKind::Timeout => return TIMEOUT_TEXT.to_string(),
        OutcomeKind::EngineError { message } => {
            return format!("[PythonInterpreter Error] {message}");
        }
        _ => {}
    }
    let mut stderr = o.stderr.clone();
    match o.kind {
        OutcomeKind::OutputTruncated => {
            if !stderr.is_empty() && !stderr.ends_with('\n') {
                stderr.push('\n');
            }
            stderr.push_str(&format!(
                "[output truncated: more than {output_cap} bytes were written]"
            ));
        }
        OutcomeKind::MemoryLimit if !stderr.contains("MemoryError") => {
            stderr.push_str("MemoryError: the program ran out of memory");
        }
        OutcomeKind::ScratchLimit => {
            if !stderr.is_empty() && !stderr.ends_with('\n') {
                stderr.push('\n');
            }
            stderr.push_str("OSError: [Errno 122] Disk quota exceeded: the program wrote too much to /tmp and was stopped");
        }
        _ => {}
    }
    let mut parts = Vec::new();
    if !o.stdout.is_empty() {
        parts.push(format!("stdout:\n{}", o.stdout));
    }
    if !stderr.is_empty() {
        parts.push(format!("stderr:\n{stderr}"));
    }
    if parts.is_empty() {
        EMPTY_TEXT.to_string()
    } else {
        parts.join("\n")
    }
}

/// Models sometimes send the `<code>` tags or a Markdown fence inside `code`.
fn strip_wrappers(code: &str) -> &str {
    let mut c = code.trim();
    if let Some(inner) = c
        .strip_prefix("<code>")
        .and_then(|s| s.strip_suffix("</code>"))
    {
        c = inner.trim();
    }
    if let Some(rest) = c.strip_prefix("```") {
        if let Some(body) = rest.strip_suffix("```") {
            // Drop the info string (`python`, `py`) on the fence's first line.
            return match body.split_once('\n') {
                Some((info, body)) if !info.contains(' ') => body,
                _ => body,
            };
        }
    }
    c
}

fn sandbox_error(e: SandboxError) -> ToolError {
    match e {
        SandboxError::Saturated { .. } => ToolError::Saturated {
            tool: PYTHON_TOOL.to_string(),
            retry_after: Duration::from_secs(1),
        },
        SandboxError::ArtifactMissing { .. } | SandboxError::EngineUnavailable(..) => {
            ToolError::Unavailable(e.to_string())
        }
        other => ToolError::Internal(other.to_string()),
    }
}

/// Time for the sandbox to stop the guest and report once its wall limit fires.
const PYTHON_TIMEOUT_MARGIN: Duration = Duration::from_secs(5);

#[async_trait]
impl Tool for PythonTool {
    fn name(&self) -> &str {
        PYTHON_TOOL
    }

    /// The sandbox's queue wait plus the run's wall limit (and a margin): a runaway
    /// program ends as the sandbox's clean `TimeoutError` outcome (Tongyi's
    /// `[PythonInterpreter Error] TimeoutError: ...`), never as the layer's generic
    /// "tool timed out".
    fn min_timeout(&self) -> Duration {
        self.sandbox.queue_timeout() + self.opts.wall() + PYTHON_TIMEOUT_MARGIN
    }

    /// The machine interface (MCP, `/v1/tools`, OpenAI-style function calling): the
    /// code is the `code` argument. In Tongyi's text protocol the code travels in a
    /// `<code>` block instead, and its prompt shows
    /// [`react::python_interpreter_schema`](crate::react::python_interpreter_schema).
    fn schema(&self) -> Value {
        json!({
            "type": "function",
            "function": {
                "name": PYTHON_INTERPRETER,
                "description": "Executes Python code in a fresh, isolated sandbox (no network, no files from earlier calls) and returns what it printed. Use print() for any output you want to see.",
                "parameters": {
                    "type": "object",
                    "properties": {
                        "code": {"type": "string", "description": "The Python code to run."}
                    },
                    "required": ["code"]
                }
            }
        })
    }

    /// Outputs depend on the seed, the limits and the engines' builds.
    fn config_version(&self) -> String {
        let o = &self.opts;
        format!(
            "python/1 wasmtime={} engine={:?} seed={} mem={} cpu={} wall={} cap={}",
            simweb_sandbox::WASMTIME_VERSION,
            o.engine,
            o.seed,
            o.memory_bytes,
            o.cpu_ms,
            o.wall_ms,
            o.output_cap
        )
    }

    async fn call(&self, args: &Value, _ctx: &CallContext) -> Result<ToolOutput, ToolError> {
        let args: PythonArgs = parse_args(PYTHON_TOOL, args)?;
        self.run_code(&args.code).await
    }
}

/// Registers `python` with the `PythonInterpreter` alias.
pub fn register(toolbox: &mut Toolbox, tool: PythonTool) {
    toolbox.register(Arc::new(tool));
    toolbox.alias(PYTHON_INTERPRETER, PYTHON_TOOL);
}

#[cfg(test)]
mod tests {
    use super::*;
    use simweb_sandbox::Engine;

    fn outcome(stdout: &str, stderr: &str, kind: OutcomeKind) -> Outcome {
        Outcome {
            stdout: stdout.into(),
            stderr: stderr.into(),
            exit_code: 0,
            kind,
            engine: Engine::Std,
            duration_ms: 1,
        }
    }

    #[test]
    fn tongyi_text_format() {
        let cap = 1 << 20;
        assert_eq!(
            agent_text(&outcome("2\n", "", OutcomeKind::Ok), cap),
            "stdout:\n2\n"
        );
        assert_eq!(
            agent_text(&outcome("", "", OutcomeKind::Ok), cap),
            EMPTY_TEXT
        );
        assert_eq!(
            agent_text(&outcome("a\n", "w\n", OutcomeKind::Ok), cap),
            "stdout:\na\n\nstderr:\nw\n"
        );
        let tb = "Traceback (most recent call last):\nZeroDivisionError: division by zero\n";
        let exc = OutcomeKind::PythonException {
            traceback: tb.into(),
        };
        assert_eq!(
            agent_text(&outcome("", tb, exc), cap),
            format!("stderr:\n{tb}")
        );
        assert_eq!(
            agent_text(&outcome("x", "", OutcomeKind::Timeout), cap),
            TIMEOUT_TEXT
        );
        let text = agent_text(&outcome("xxxx", "", OutcomeKind::OutputTruncated), 4);
        assert_eq!(
            text,
            "stdout:\nxxxx\nstderr:\n[output truncated: more than 4 bytes were written]"
        );
    }

    #[test]
    fn strips_code_tags_and_fences() {
        assert_eq!(strip_wrappers("<code>\nprint(1)\n</code>"), "print(1)");
        assert_eq!(strip_wrappers("```python\nprint(1)\n```"), "print(1)\n");
        assert_eq!(strip_wrappers("  print(2)  "), "print(2)");
    }
}
