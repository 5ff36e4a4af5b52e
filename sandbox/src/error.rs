//! Host-side failures. Anything the *guest* does wrong (exceptions, timeouts, memory
//! bombs) is an [`crate::Outcome`], never one of these.

use std::path::PathBuf;

/// Why the sandbox itself could not run a call.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    /// Setup has not produced an artifact this engine needs.
    #[error("sandbox artifact missing: {path} ({what}); run `make setup` (or `bash scripts/setup.sh`) first")]
    ArtifactMissing { what: &'static str, path: PathBuf },
    /// The requested engine is not available in this sandbox (not configured or failed to load).
    #[error("python engine `{0}` is not available: {1}")]
    EngineUnavailable(&'static str, String),
    /// Every worker slot stayed busy for the whole queue wait.
    #[error(
        "python sandbox saturated: {in_flight} calls running, waited {waited_ms} ms for a slot"
    )]
    Saturated { in_flight: usize, waited_ms: u64 },
    /// wasmtime could not be configured or a module could not be compiled/loaded.
    #[error("wasmtime: {0}")]
    Wasmtime(String),
    /// Reading or writing an artifact or the compile cache failed.
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
    /// A configuration value is out of range.
    #[error("invalid sandbox configuration: {0}")]
    Config(String),
}

impl SandboxError {
    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        SandboxError::Io {
            context: context.into(),
            source,
        }
    }

    pub(crate) fn wasmtime(context: &str, e: impl std::fmt::Display) -> Self {
        SandboxError::Wasmtime(format!("{context}: {e:#}"))
    }
}
