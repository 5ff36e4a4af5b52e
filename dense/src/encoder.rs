//! multilingual-e5-small as `setup.d/35-embedding-model.sh` writes it: `model.onnx`
//! (input ids + attention mask -> mean-pooled, L2-normalised 384-d embeddings),
//! `tokenizer.json` and `config.json`.
//!
//! e5 was trained with a prefix on every text: `query: ` for what is searched for,
//! `passage: ` for what is searched; the encoder applies them, callers never do.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, TryLockError};

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

/// How an encoder runs.
#[derive(Debug, Clone, Copy)]
pub struct EncoderOptions {
    pub execution_provider: ExecutionProvider,
    /// ONNX Runtime intra-op threads per session (`None`: one per core).
    pub intra_threads: Option<usize>,
    /// Sessions, each with its own copy of the model: how many calls run at once (more
    /// callers wait for a free one). A session runs one call at a time, so a server
    /// answering many rollouts' queries wants several, each with fewer threads.
    pub sessions: usize,
}

impl Default for EncoderOptions {
    fn default() -> Self {
        EncoderOptions {
            execution_provider: ExecutionProvider::default(),
            intra_threads: None,
            sessions: 1,
        }
    }
}

/// A loaded encoder. `Send + Sync`; each call runs on a free session (every session
/// computes the same bits for the same input: same graph, same options).
pub struct Encoder {
    dir: PathBuf,
    config: ModelConfig,
    /// sha256 over the graph and the tokenizer: what an index built with this encoder
    /// records, and what a query-time encoder must match.
    fingerprint: String,
    tokenizer: Tokenizer,
    sessions: Vec<Mutex<Session>>,
    /// Where the next call starts looking for a free session (round robin).
    next: AtomicUsize,
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
    /// Loads `dir` (see [`default_model_dir`]) as `options` say.
    pub fn load(dir: &Path, options: &EncoderOptions) -> Result<Self> {
        if options.sessions == 0 {
            return Err(DenseError::Mismatch(
                "an encoder needs at least one session (sessions = 0)".into(),
            ));
        }
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
        let sessions = (0..options.sessions)
            .map(|_| {
                simweb_onnx::session(
                    &model,
                    &SessionOptions {
                        execution_provider: options.execution_provider,
                        intra_threads: options.intra_threads,
                    },
                )
                .map(Mutex::new)
            })
            .collect::<std::result::Result<Vec<_>, _>>()?;
        Ok(Encoder {
            dir: dir.to_path_buf(),
            config,
            fingerprint,
            tokenizer,
            sessions,
            next: AtomicUsize::new(0),
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

    /// How many calls can run at once.
    pub fn sessions(&self) -> usize {
        self.sessions.len()
    }

    /// A free session if one is, else the next in turn once it is free.
    fn session(&self) -> Result<MutexGuard<'_, Session>> {
        let poisoned = || DenseError::ort("running the encoder", "a previous run panicked");
        let n = self.sessions.len();
        let start = self.next.fetch_add(1, Ordering::Relaxed) % n;
        for i in 0..n {
            match self.sessions[(start + i) % n].try_lock() {
                Ok(session) => return Ok(session),
                Err(TryLockError::WouldBlock) => {}
                Err(TryLockError::Poisoned(_)) => return Err(poisoned()),
            }
        }
        self.sessions[start].lock().map_err(|_| poisoned())
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
        let mut session = self.session()?;
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
