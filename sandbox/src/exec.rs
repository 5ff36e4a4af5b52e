//! What is shared by both engines around one call: the per-call WASI world, how a run
//! ended, and the mapping from that to an [`Outcome`].

use crate::limits::ScratchQuota;
use crate::outcome::{EXIT_ENGINE_ERROR, EXIT_MEMORY, EXIT_SCRATCH, EXIT_TIMEOUT};
use crate::wasi::{self, Io, Mount};
use crate::{Engine, Outcome, OutcomeKind, RunOptions, SandboxError};

/// One call's settings as the engines see them.
pub struct Call {
    pub opts: RunOptions,
    pub epoch_secs: u64,
    /// Where the call's `/tmp` comes from (none: no scratch dir).
    pub scratch: Option<std::sync::Arc<wasi::ScratchPool>>,
}

impl Call {
    pub fn wasi(
        &self,
        mounts: &[Mount],
        argv: &[&str],
        env: &[(&str, &str)],
    ) -> Result<(wasmtime_wasi::WasiCtxBuilder, Io), SandboxError> {
        wasi::builder(
            mounts,
            argv,
            env,
            self.opts.seed,
            self.epoch_secs,
            self.opts.output_cap,
            self.scratch.as_ref(),
        )
    }

    /// The quota on this call's scratch dir (none without one).
    pub fn scratch_quota(&self, io: &Io) -> ScratchQuota {
        ScratchQuota::new(
            io.scratch_path(),
            self.opts.scratch_bytes,
            self.opts.scratch_files,
        )
        .report_empty_to(io.scratch.as_ref().map(wasi::ScratchDir::empty_flag))
    }
}

/// How the guest stopped, before classification.
pub enum End {
    /// Returned normally with this status (0, or `sys.exit(n)`).
    Exited(i32),
    /// The std guest reported an uncaught exception with this traceback.
    Exception(String),
    /// `proc_exit` (`os._exit(n)`).
    ProcExit(i32),
    /// wasmtime trapped or failed.
    Trap(String),
    /// The wall-clock timeout dropped the call.
    WallTimeout,
    /// The host could not even set the call up.
    HostFailure(String),
}

impl End {
    pub fn from_wasmtime(e: wasmtime::Error) -> End {
        if let Some(exit) = e.downcast_ref::<wasmtime_wasi::I32Exit>() {
            return End::ProcExit(exit.0);
        }
        End::Trap(format!("{e:#}"))
    }
}

pub struct Ended {
    pub end: End,
    pub io: Option<Io>,
    pub mem_hit: bool,
    pub cpu_exceeded: bool,
    /// The scratch dir went over its quota (the call was interrupted).
    pub scratch_exceeded: bool,
}

impl Ended {
    pub fn host_failure(msg: String) -> Ended {
        Ended {
            end: End::HostFailure(msg),
            io: None,
            mem_hit: false,
            cpu_exceeded: false,
            scratch_exceeded: false,
        }
    }
}

/// Turns a finished call into the outcome the caller sees.
pub fn classify(ended: Ended, engine: Engine, cap: usize, duration_ms: u64) -> Outcome {
    let (out, err) = match &ended.io {
        Some(io) => (io.stdout.contents(), io.stderr.contents()),
        None => Default::default(),
    };
    let truncated = out.len() >= cap || err.len() >= cap;
    let stdout = String::from_utf8_lossy(&out).into_owned();
    let mut stderr = String::from_utf8_lossy(&err).into_owned();
    // The sci wrapper marks an uncaught exception at the end of stderr.
    let mut sci_exception = None;
    if let Some(pos) = stderr.rfind(crate::sci_engine::EXCEPTION_MARKER) {
        stderr.truncate(pos);
        stderr.push('\n');
        let tb_start = stderr
            .rfind("Traceback (most recent call last):")
            .unwrap_or(0);
        sci_exception = Some(stderr[tb_start..].to_string());
    }
    let (kind, exit_code) = if ended.scratch_exceeded {
        (OutcomeKind::ScratchLimit, EXIT_SCRATCH)
    } else if ended.cpu_exceeded || matches!(ended.end, End::WallTimeout) {
        (OutcomeKind::Timeout, EXIT_TIMEOUT)
    } else {
        match ended.end {
            End::HostFailure(message) => (OutcomeKind::EngineError { message }, EXIT_ENGINE_ERROR),
            _ if ended.mem_hit && !matches!(ended.end, End::Exited(0) | End::ProcExit(0)) => {
                (OutcomeKind::MemoryLimit, EXIT_MEMORY)
            }
            End::Exited(status) => match sci_exception {
                Some(traceback) => (OutcomeKind::PythonException { traceback }, status),
                None => (OutcomeKind::Ok, status),
            },
            End::ProcExit(status) => (OutcomeKind::Ok, status),
            End::Exception(traceback) => (OutcomeKind::PythonException { traceback }, 1),
            End::Trap(message) => (OutcomeKind::EngineError { message }, EXIT_ENGINE_ERROR),
            End::WallTimeout => (OutcomeKind::Timeout, EXIT_TIMEOUT),
        }
    };
    let kind = match kind {
        OutcomeKind::Ok | OutcomeKind::PythonException { .. } if truncated => {
            OutcomeKind::OutputTruncated
        }
        k => k,
    };
    Outcome {
        stdout,
        stderr,
        exit_code,
        kind,
        engine,
        duration_ms,
    }
}
