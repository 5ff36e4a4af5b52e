//! What one call produced, as the tools and the CLI report it.

use serde::{Deserialize, Serialize};

use crate::Engine;

/// How a call ended. Python-level failures are outcomes, not errors: the agent sees them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum OutcomeKind {
    /// The program ran to the end (or called `sys.exit`; see `exit_code`).
    Ok,
    /// An uncaught exception; `traceback` is what Python printed (also in stderr).
    PythonException { traceback: String },
    /// The CPU or wall-clock limit stopped it.
    Timeout,
    /// It tried to grow memory past the cap and could not recover (a plain `MemoryError`
    /// that Python caught and reported is a `PythonException`).
    MemoryLimit,
    /// stdout or stderr hit the output cap; what fit is kept, the rest was refused.
    OutputTruncated,
    /// The program wrote more to its scratch dir (`/tmp`) than the call's quota allows
    /// (`RunOptions::scratch_bytes` / `scratch_files`) and was stopped.
    ScratchLimit,
    /// The engine failed in a way that is not the program's fault (trap, bad input).
    EngineError { message: String },
}

impl OutcomeKind {
    /// Short stable name, for logs, metrics and the CLI's JSON.
    pub fn name(&self) -> &'static str {
        match self {
            OutcomeKind::Ok => "ok",
            OutcomeKind::PythonException { .. } => "python_exception",
            OutcomeKind::Timeout => "timeout",
            OutcomeKind::MemoryLimit => "memory_limit",
            OutcomeKind::OutputTruncated => "output_truncated",
            OutcomeKind::ScratchLimit => "scratch_limit",
            OutcomeKind::EngineError { .. } => "engine_error",
        }
    }
}

/// The result of one sandboxed run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outcome {
    /// Captured stdout (lossily decoded; capped at `RunOptions::output_cap` bytes).
    pub stdout: String,
    /// Captured stderr, same cap.
    pub stderr: String,
    /// Process-style exit status: 0 ok, 1 uncaught exception, `n` for `sys.exit(n)`,
    /// 124 timeout, 137 memory limit, 153 scratch quota (as for SIGXFSZ), 125 engine error.
    pub exit_code: i32,
    pub kind: OutcomeKind,
    /// The engine that ran it (resolved from `EngineChoice::Auto`).
    pub engine: Engine,
    /// Host wall time for the call, queueing excluded. Never part of a deterministic result.
    pub duration_ms: u64,
}

impl Outcome {
    pub(crate) fn engine_error(engine: Engine, message: impl Into<String>) -> Self {
        Outcome {
            stdout: String::new(),
            stderr: String::new(),
            exit_code: EXIT_ENGINE_ERROR,
            kind: OutcomeKind::EngineError {
                message: message.into(),
            },
            engine,
            duration_ms: 0,
        }
    }
}

pub(crate) const EXIT_TIMEOUT: i32 = 124;
pub(crate) const EXIT_ENGINE_ERROR: i32 = 125;
pub(crate) const EXIT_MEMORY: i32 = 137;
pub(crate) const EXIT_SCRATCH: i32 = 153;
