//! The crate's one error type: every failure names what was wrong and where.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum DenseError {
    /// A file of the embedding model or of the vector index is missing, unreadable or
    /// not what it should be.
    #[error("{path}: {reason}")]
    File { path: PathBuf, reason: String },
    #[error(transparent)]
    Onnx(#[from] simweb_onnx::OnnxError),
    /// ONNX Runtime failed while running the encoder.
    #[error("ONNX Runtime: {context}: {message}")]
    Ort { context: String, message: String },
    #[error("tokenizer: {0}")]
    Tokenizer(String),
    /// The index was built with another model than the one loaded to query it.
    #[error("{0}")]
    Mismatch(String),
    #[error(transparent)]
    Corpus(#[from] simweb_wikidump::CorpusError),
}

impl DenseError {
    pub(crate) fn file(path: impl Into<PathBuf>, reason: impl std::fmt::Display) -> Self {
        DenseError::File {
            path: path.into(),
            reason: reason.to_string(),
        }
    }

    pub(crate) fn ort(context: impl Into<String>, err: impl std::fmt::Display) -> Self {
        DenseError::Ort {
            context: context.into(),
            message: err.to_string(),
        }
    }
}

pub type Result<T, E = DenseError> = std::result::Result<T, E>;
