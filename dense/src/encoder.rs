//! multilingual-e5-small as `setup.d/35-embedding-model.sh` writes it: `model.onnx`
//! (input ids + attention mask -> mean-pooled, L2-normalised 384-d embeddings),
//! `tokenizer.json` and `config.json`.
//!
//! e5 was trained with a prefix on every text: `query: ` for what is searched for,
//! `passage: ` for what is searched; the encoder applies them, callers never do.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use ort::session::Session;
use ort::value::Tensor;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use simweb_onnx::{ExecutionProvider, SessionOptions};
use tokenizers::{Tokenizer, TruncationParams};

use crate::error::{DenseError, Result};

/// The directory `make setup` links the model into, under `SIMWEB_HOME`.
pub const DEFAULT_MODEL: &str = "models/multilingual-e5-small";

/// `$SIMWEB_HOME/models/multilingual-e5-small`.
pub fn default_model_dir() -> PathBuf {
    simweb_onnx::simweb_home().join(DEFAULT_MODEL)
}

/// Which side of retrieval a text is on (e5's prefixes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextKind {
    Query,
    Passage,
}

/// `config.json` beside the graph.
#[derive(Debug, Clone, Deserialize)]
pub struct ModelConfig {
    pub model: String,
    /// sha256 of the file the weights were converted from.
    pub source_sha256: String,
    pub dims: usize,
    /// Positions the encoder has; longer inputs are truncated to this many tokens.
    pub max_tokens: usize,
    pub query_prefix: String,
    pub passage_prefix: String,
}

/// A loaded encoder. `Send + Sync`; calls run one at a time on the session, each with
/// ONNX Runtime's intra-op threads.
pub struct Encoder {
    dir: PathBuf,
    config: ModelConfig,
    /// sha256 over the graph and the tokenizer: what an index built with this encoder
    /// records, and what a query-time encoder must match.
    fingerprint: String,
    tokenizer: Tokenizer,
    session: Mutex<Session>,
    pad_id: u32,
}

impl std::fmt::Debug for Encoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Encoder")
            .field("dir", &self.dir)
            .field("fingerprint", &self.fingerprint)
            .finish()
    }
}

impl Encoder {
    /// Loads `dir` (see [`default_model_dir`]) on `execution_provider` with
    /// `intra_threads` (`None`: one per core).
    pub fn load(
        dir: &Path,
        execution_provider: ExecutionProvider,
        intra_threads: Option<usize>,
    ) -> Result<Self> {
        let config_path = dir.join("config.json");
        let text = std::fs::read_to_string(&config_path).map_err(|e| {
            DenseError::file(
                &config_path,
                format!("{e} (run `make setup` to fetch and convert the embedding model)"),
            )
        })?;
        let config: ModelConfig =
            serde_json::from_str(&text).map_err(|e| DenseError::file(&config_path, e))?;
        let model = dir.join("model.onnx");
        let tokenizer_path = dir.join("tokenizer.json");
        let mut hasher = Sha256::new();
        for path in [&model, &tokenizer_path] {
            // Streamed: the graph is ~200 MB and ONNX Runtime reads it again itself.
            let mut file = std::fs::File::open(path).map_err(|e| DenseError::file(path, e))?;
            let len = file
                .metadata()
                .map_err(|e| DenseError::file(path, e))?
                .len();
            hasher.update(len.to_le_bytes());
            std::io::copy(&mut file, &mut hasher).map_err(|e| DenseError::file(path, e))?;
        }
        let fingerprint = hex::encode(hasher.finalize());
        let mut tokenizer = Tokenizer::from_file(&tokenizer_path)
            .map_err(|e| DenseError::file(&tokenizer_path, e))?;
        tokenizer
            .with_truncation(Some(TruncationParams {
                max_length: config.max_tokens,
                ..Default::default()
            }))
            .map_err(|e| DenseError::Tokenizer(e.to_string()))?;
        let pad_id = tokenizer.token_to_id("<pad>").ok_or_else(|| {
            DenseError::file(&tokenizer_path, "the vocabulary has no <pad> token")
        })?;
        let session = simweb_onnx::session(
            &model,
            &SessionOptions {
                execution_provider,
                intra_threads,
            },
        )?;
        Ok(Encoder {
            dir: dir.to_path_buf(),
            config,
            fingerprint,
            tokenizer,
            session: Mutex::new(session),
            pad_id,
        })
    }

    pub fn config(&self) -> &ModelConfig {
        &self.config
    }

    pub fn dims(&self) -> usize {
        self.config.dims
    }

    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// Token ids of `text` as the encoder sees it: prefixed, `<s> … </s>`, truncated.
    pub fn token_ids(&self, text: &str, kind: TextKind) -> Result<Vec<u32>> {
        let prefix = match kind {
            TextKind::Query => &self.config.query_prefix,
            TextKind::Passage => &self.config.passage_prefix,
        };
        let enc = self
            .tokenizer
            .encode(format!("{prefix}{text}"), true)
            .map_err(|e| DenseError::Tokenizer(e.to_string()))?;
        Ok(enc.get_ids().to_vec())
    }

    /// Embeds `texts` as one batch: `texts.len() * dims` floats, row-major, each row
    /// L2-normalised. Callers batch texts of similar length (padding is wasted work).
    pub fn embed(&self, texts: &[&str], kind: TextKind) -> Result<Vec<f32>> {
        let ids = texts
            .iter()
            .map(|t| self.token_ids(t, kind))
            .collect::<Result<Vec<_>>>()?;
        self.embed_ids(&ids)
    }

    /// Embeds pre-tokenised inputs (from [`Encoder::token_ids`]) as one batch.
    pub fn embed_ids(&self, ids: &[Vec<u32>]) -> Result<Vec<f32>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let batch = ids.len();
        let width = ids.iter().map(Vec::len).max().unwrap_or(0).max(1);
        let mut input = vec![i64::from(self.pad_id); batch * width];
        let mut mask = vec![0i64; batch * width];
        for (row, seq) in ids.iter().enumerate() {
            for (col, &id) in seq.iter().enumerate() {
                input[row * width + col] = i64::from(id);
                mask[row * width + col] = 1;
            }
        }
        let shape = vec![batch as i64, width as i64];
        let input = Tensor::from_array((shape.clone(), input))
            .map_err(|e| DenseError::ort("creating input_ids", e))?;
        let mask = Tensor::from_array((shape, mask))
            .map_err(|e| DenseError::ort("creating attention_mask", e))?;
        let mut session = self
            .session
            .lock()
            .map_err(|_| DenseError::ort("running the encoder", "a previous run panicked"))?;
        let outputs = session
            .run(ort::inputs!["input_ids" => input, "attention_mask" => mask])
            .map_err(|e| DenseError::ort("running the encoder", e))?;
        let (_, values) = outputs["embedding"]
            .try_extract_tensor::<f32>()
            .map_err(|e| DenseError::ort("reading the embedding", e))?;
        if values.len() != batch * self.config.dims {
            return Err(DenseError::ort(
                "reading the embedding",
                format!(
                    "{} values for {batch} texts of {} dims",
                    values.len(),
                    self.config.dims
                ),
            ));
        }
        Ok(values.to_vec())
    }
}
