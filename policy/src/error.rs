//! The one error type of the crate: every failure names what was wrong and where.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// A file of the exported model directory is missing or unreadable.
    #[error("{path}: {reason}")]
    ModelFile { path: PathBuf, reason: String },
    /// `genai_config.json` (or the graph) does not describe what the runner needs.
    #[error("model config: {0}")]
    Config(String),
    /// The ONNX Runtime shared library could not be found or loaded.
    #[error("ONNX Runtime library: {0}")]
    Runtime(String),
    /// An execution provider was requested but could not be registered.
    #[error("execution provider {provider}: {reason}")]
    ExecutionProvider { provider: String, reason: String },
    /// ONNX Runtime failed while building a session or running the graph.
    #[error("ONNX Runtime: {context}: {message}")]
    Ort { context: String, message: String },
    #[error("tokenizer: {0}")]
    Tokenizer(String),
    #[error("chat template: {0}")]
    Template(String),
    /// A request the backend cannot serve (empty prompt, bad sampling settings...).
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// The prompt leaves no room for a reply in the model's context window. Kept apart
    /// from [`PolicyError::InvalidRequest`] because an agent can recover from it (send the
    /// forced-answer prompt, end the episode as `context`) where other bad requests are
    /// bugs.
    #[error("context overflow: {0}")]
    ContextOverflow(String),
    /// An HTTP backend failed or answered something unusable.
    #[error("http backend {url}: {reason}")]
    Http { url: String, reason: String },
    /// The scripted backend ran out of turns or its script is malformed.
    #[error("scripted backend: {0}")]
    Script(String),
    /// The generation engine stopped (its thread ended) while requests were pending.
    #[error("generation engine stopped: {0}")]
    EngineStopped(String),
}

impl From<simweb_onnx::OnnxError> for PolicyError {
    fn from(e: simweb_onnx::OnnxError) -> Self {
        use simweb_onnx::OnnxError;
        match e {
            OnnxError::Library(m) => PolicyError::Runtime(m),
            OnnxError::Provider(m) => PolicyError::InvalidRequest(m),
            OnnxError::ExecutionProvider { provider, reason } => {
                PolicyError::ExecutionProvider { provider, reason }
            }
            OnnxError::Session { context, message } => PolicyError::Ort { context, message },
        }
    }
}

impl PolicyError {
    pub(crate) fn ort(context: impl Into<String>, err: impl std::fmt::Display) -> Self {
        PolicyError::Ort {
            context: context.into(),
            message: err.to_string(),
        }
    }

    pub(crate) fn file(path: impl Into<PathBuf>, reason: impl std::fmt::Display) -> Self {
        PolicyError::ModelFile {
            path: path.into(),
            reason: reason.to_string(),
        }
    }
}

pub type Result<T, E = PolicyError> = std::result::Result<T, E>;
