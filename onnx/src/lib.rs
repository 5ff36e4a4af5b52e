//! ONNX Runtime for simweb: where the shared library comes from, the one process-wide
//! environment, and sessions whose execution provider is registered or fails loudly.
//!
//! Both the policy's model runner and the dense retriever's encoder run graphs; ONNX
//! Runtime's environment can be created once per process, so it lives here, below both.

pub mod runtime;

use std::path::Path;

use ort::ep;
use ort::session::builder::GraphOptimizationLevel;
use ort::session::Session;

pub use runtime::{
    environment, locate_ort_library, simweb_home, ExecutionProvider, ORT_LIBRARY_FILE,
};

#[derive(Debug, thiserror::Error)]
pub enum OnnxError {
    /// The ONNX Runtime shared library could not be found or loaded.
    #[error("ONNX Runtime library: {0}")]
    Library(String),
    /// An execution provider name that is not `cpu`, `cuda` or `cuda:N`.
    #[error("{0}")]
    Provider(String),
    /// A requested execution provider could not be registered.
    #[error("execution provider {provider}: {reason}")]
    ExecutionProvider { provider: String, reason: String },
    /// ONNX Runtime failed while building a session.
    #[error("ONNX Runtime: {context}: {message}")]
    Session { context: String, message: String },
}

pub type Result<T, E = OnnxError> = std::result::Result<T, E>;

/// How a session runs.
#[derive(Debug, Clone, Copy, Default)]
pub struct SessionOptions {
    pub execution_provider: ExecutionProvider,
    /// Intra-op threads; `None` lets ONNX Runtime use one per core.
    pub intra_threads: Option<usize>,
}

fn session_err<E: std::fmt::Display>(context: &str) -> impl Fn(E) -> OnnxError + '_ {
    move |e| OnnxError::Session {
        context: context.to_string(),
        message: e.to_string(),
    }
}

/// A session over `model` with every graph optimisation, no spinning worker threads
/// (callers alternate graph and host work), and exactly the requested provider: one
/// that cannot be registered is an error, never a silent fall back to the CPU.
pub fn session(model: &Path, options: &SessionOptions) -> Result<Session> {
    let env = environment()?;
    let mut builder = Session::builder(env).map_err(session_err("creating a session builder"))?;
    builder = builder
        .with_optimization_level(GraphOptimizationLevel::All)
        .map_err(session_err("setting the optimisation level"))?;
    builder = builder
        .with_intra_op_spinning(false)
        .map_err(session_err("disabling intra-op spinning"))?;
    if let Some(n) = options.intra_threads {
        builder = builder
            .with_intra_threads(n)
            .map_err(session_err("setting intra-op threads"))?;
    }
    let provider = options.execution_provider;
    let dispatch = match provider {
        ExecutionProvider::Cpu => ep::CPU::default()
            .with_arena_allocator(true)
            .build()
            .error_on_failure(),
        ExecutionProvider::Cuda { device_id } => ep::CUDA::default()
            .with_device_id(device_id)
            .build()
            .error_on_failure(),
    };
    builder = builder
        .with_execution_providers([dispatch])
        .map_err(|e| OnnxError::ExecutionProvider {
            provider: provider.to_string(),
            reason: format!(
                "{e}{}",
                if matches!(provider, ExecutionProvider::Cuda { .. }) {
                    " (the CUDA provider needs onnxruntime-gpu built for CUDA 13 + cuDNN 9 and an NVIDIA GPU; see RECIPES §1)"
                } else {
                    ""
                }
            ),
        })?;
    builder
        .commit_from_file(model)
        .map_err(|e| OnnxError::Session {
            context: format!("loading {}", model.display()),
            message: e.to_string(),
        })
}
