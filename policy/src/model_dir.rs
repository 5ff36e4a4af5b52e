//! The exported model directory (ONNX Runtime GenAI layout): where its files are and what
//! `genai_config.json` says about the graph's inputs, outputs and special tokens.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::{PolicyError, Result};

/// `genai_config.json`, the fields the runner needs (unknown fields are ignored).
#[derive(Debug, Clone, Deserialize)]
pub struct GenAiConfig {
    pub model: ModelSection,
    #[serde(default)]
    pub search: SearchSection,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ModelSection {
    pub decoder: DecoderSection,
    #[serde(deserialize_with = "one_or_many")]
    pub eos_token_id: Vec<u32>,
    pub pad_token_id: u32,
    pub context_length: usize,
    #[serde(rename = "type")]
    pub model_type: String,
    pub vocab_size: usize,
}

#[derive(Debug, Clone, Deserialize)]
pub struct DecoderSection {
    pub filename: String,
    pub head_size: usize,
    pub hidden_size: usize,
    pub num_attention_heads: usize,
    pub num_hidden_layers: usize,
    pub num_key_value_heads: usize,
    pub inputs: DecoderInputs,
    pub outputs: DecoderOutputs,
}

#[derive(Debug, Clone, Deserialize)]
pub struct DecoderInputs {
    pub input_ids: String,
    pub attention_mask: String,
    /// Absent in GroupQueryAttention exports (positions come from the mask there).
    #[serde(default)]
    pub position_ids: Option<String>,
    pub past_key_names: String,
    pub past_value_names: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct DecoderOutputs {
    pub logits: String,
    pub present_key_names: String,
    pub present_value_names: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct SearchSection {
    #[serde(default)]
    pub past_present_share_buffer: bool,
}

fn one_or_many<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Vec<u32>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(u32),
        Many(Vec<u32>),
    }
    Ok(match OneOrMany::deserialize(d)? {
        OneOrMany::One(id) => vec![id],
        OneOrMany::Many(ids) => ids,
    })
}

impl DecoderSection {
    /// Expands a `%d` name pattern for layer `layer`.
    pub fn layer_name(pattern: &str, layer: usize) -> String {
        pattern.replace("%d", &layer.to_string())
    }
}

/// Paths of an exported model directory, checked to exist.
#[derive(Debug, Clone)]
pub struct ModelDir {
    pub root: PathBuf,
    pub config: GenAiConfig,
}

impl ModelDir {
    /// Reads `genai_config.json` and checks that the files it names are present.
    pub fn open(root: impl AsRef<Path>) -> Result<Self> {
        let root = root.as_ref().to_path_buf();
        if !root.is_dir() {
            return Err(PolicyError::file(
                &root,
                "not a directory (expected an exported model directory)",
            ));
        }
        let config_path = root.join("genai_config.json");
        let text = std::fs::read_to_string(&config_path)
            .map_err(|e| PolicyError::file(&config_path, e))?;
        let config: GenAiConfig = serde_json::from_str(&text)
            .map_err(|e| PolicyError::file(&config_path, format!("invalid genai_config: {e}")))?;
        let dir = ModelDir { root, config };
        for path in [
            dir.model_path(),
            dir.tokenizer_path(),
            dir.tokenizer_config_path(),
        ] {
            if !path.is_file() {
                return Err(PolicyError::file(&path, "missing from the model directory"));
            }
        }
        Ok(dir)
    }

    pub fn model_path(&self) -> PathBuf {
        self.root.join(&self.config.model.decoder.filename)
    }

    pub fn tokenizer_path(&self) -> PathBuf {
        self.root.join("tokenizer.json")
    }

    pub fn tokenizer_config_path(&self) -> PathBuf {
        self.root.join("tokenizer_config.json")
    }

    /// A short model id for trajectories: the directory name.
    pub fn model_id(&self) -> String {
        self.root
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "model".into())
    }
}
