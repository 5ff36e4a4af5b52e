//! Errors of task synthesis.

use simweb_wikidump::CorpusError;

#[derive(Debug, thiserror::Error)]
pub enum TaskError {
    #[error("reading the corpus: {0}")]
    Corpus(#[from] CorpusError),
    #[error("invalid options: {0}")]
    Options(String),
}
