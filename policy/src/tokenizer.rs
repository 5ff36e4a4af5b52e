//! Text <-> token ids with the model's own `tokenizer.json` (HF `tokenizers`, offline).

use std::path::Path;

use crate::error::{PolicyError, Result};

pub struct TextTokenizer {
    inner: tokenizers::Tokenizer,
}

impl std::fmt::Debug for TextTokenizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TextTokenizer")
            .field("vocab_size", &self.vocab_size())
            .finish()
    }
}

impl TextTokenizer {
    pub fn from_file(path: &Path) -> Result<Self> {
        let inner = tokenizers::Tokenizer::from_file(path)
            .map_err(|e| PolicyError::file(path, format!("tokenizer: {e}")))?;
        Ok(TextTokenizer { inner })
    }

    /// Encodes a rendered prompt. Special tokens written in the text (`<|im_start|>`) map to
    /// their ids; no BOS/EOS is added (the chat template already wrote what the model expects).
    pub fn encode(&self, text: &str) -> Result<Vec<u32>> {
        let enc = self
            .inner
            .encode(text, false)
            .map_err(|e| PolicyError::Tokenizer(format!("encode: {e}")))?;
        Ok(enc.get_ids().to_vec())
    }

    /// Decodes ids to text, dropping special tokens (`<|im_end|>`); non-special added tokens
    /// such as `<tool_call>` and `<think>` stay in the text.
    pub fn decode(&self, ids: &[u32]) -> Result<String> {
        self.inner
            .decode(ids, true)
            .map_err(|e| PolicyError::Tokenizer(format!("decode: {e}")))
    }

    pub fn token_to_id(&self, token: &str) -> Option<u32> {
        self.inner.token_to_id(token)
    }

    pub fn vocab_size(&self) -> usize {
        self.inner.get_vocab_size(true)
    }
}
