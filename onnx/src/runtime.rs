//! Loading ONNX Runtime (dynamically, from the pinned PyPI wheel `make setup` installs) and
//! choosing the execution provider.
//!
//! `load-dynamic` keeps `cargo build` independent of the library; the library is found at
//! run time: `ORT_DYLIB_PATH`, else the venv under `SIMWEB_HOME`.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use ort::environment::Environment;

use crate::{OnnxError, Result};

/// The ONNX Runtime version the `api-31` feature needs (what `make setup` installs).
pub const ORT_LIBRARY_FILE: &str = "libonnxruntime.so.1.31.1";

/// Where ONNX Runtime runs the graph.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ExecutionProvider {
    #[default]
    Cpu,
    /// NVIDIA CUDA on the given device. Registration failure is an error, never a silent
    /// fall back to the CPU.
    Cuda { device_id: i32 },
}

impl std::str::FromStr for ExecutionProvider {
    type Err = OnnxError;
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "cpu" => Ok(ExecutionProvider::Cpu),
            "cuda" => Ok(ExecutionProvider::Cuda { device_id: 0 }),
            other => match other.strip_prefix("cuda:").map(str::parse::<i32>) {
                Some(Ok(device_id)) => Ok(ExecutionProvider::Cuda { device_id }),
                _ => Err(OnnxError::Provider(format!(
                    "unknown execution provider {s:?} (expected cpu, cuda or cuda:N)"
                ))),
            },
        }
    }
}

impl std::fmt::Display for ExecutionProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ExecutionProvider::Cpu => f.write_str("cpu"),
            ExecutionProvider::Cuda { device_id } => write!(f, "cuda:{device_id}"),
        }
    }
}

/// `SIMWEB_HOME`, falling back to `<workspace root>/.simweb`.
pub fn simweb_home() -> PathBuf {
    match std::env::var_os("SIMWEB_HOME") {
        Some(home) if !home.is_empty() => PathBuf::from(home),
        _ => Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("..")
            .join(".simweb"),
    }
}

/// The ONNX Runtime shared library: `ORT_DYLIB_PATH`, else the venv `make setup` built.
pub fn locate_ort_library() -> Result<PathBuf> {
    if let Some(path) = std::env::var_os("ORT_DYLIB_PATH").filter(|p| !p.is_empty()) {
        let path = PathBuf::from(path);
        return if path.is_file() {
            Ok(path)
        } else {
            Err(OnnxError::Library(format!(
                "ORT_DYLIB_PATH={} does not exist",
                path.display()
            )))
        };
    }
    let lib_dir = simweb_home().join("venv").join("lib");
    let mut candidates = Vec::new();
    if let Ok(entries) = std::fs::read_dir(&lib_dir) {
        for entry in entries.flatten() {
            let candidate = entry
                .path()
                .join("site-packages/onnxruntime/capi")
                .join(ORT_LIBRARY_FILE);
            if candidate.is_file() {
                candidates.push(candidate);
            }
        }
    }
    candidates.sort();
    candidates.into_iter().next().ok_or_else(|| {
        OnnxError::Library(format!(
            "{ORT_LIBRARY_FILE} not found under {} and ORT_DYLIB_PATH is not set: run `make setup`",
            lib_dir.display()
        ))
    })
}

static ENVIRONMENT: OnceLock<std::result::Result<Environment, String>> = OnceLock::new();

/// The process-wide ONNX Runtime environment (the library is loaded once per process).
pub fn environment() -> Result<&'static Environment> {
    let env = ENVIRONMENT.get_or_init(|| {
        let path = locate_ort_library().map_err(|e| e.to_string())?;
        let builder =
            ort::init_from(&path).map_err(|e| format!("loading {}: {e}", path.display()))?;
        builder
            .with_name("simweb")
            .build()
            .map_err(|e| format!("creating the environment: {e}"))
    });
    env.as_ref().map_err(|e| OnnxError::Library(e.clone()))
}
