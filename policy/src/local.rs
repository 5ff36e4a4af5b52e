//! An exported model directory loaded for generation: graph, tokenizer, chat template.

use std::path::Path;
use std::sync::Arc;

use crate::chat_template::ChatTemplate;
use crate::error::Result;
use crate::generate::Generator;
use crate::model_dir::ModelDir;
use crate::runner::{OnnxModel, RunnerOptions};
use crate::tokenizer::TextTokenizer;

/// Everything loaded from an exported model directory.
pub struct LocalModel {
    pub dir: ModelDir,
    pub tokenizer: Arc<TextTokenizer>,
    pub template: Arc<ChatTemplate>,
    pub model: OnnxModel,
}

impl LocalModel {
    pub fn load(dir: impl AsRef<Path>, options: &RunnerOptions) -> Result<Self> {
        let dir = ModelDir::open(dir)?;
        let tokenizer = Arc::new(TextTokenizer::from_file(&dir.tokenizer_path())?);
        let template = Arc::new(ChatTemplate::from_tokenizer_config(
            &dir.tokenizer_config_path(),
        )?);
        let model = OnnxModel::load(&dir, options)?;
        Ok(LocalModel {
            dir,
            tokenizer,
            template,
            model,
        })
    }

    /// Only the text side of a model directory (tokenizer and chat template), for
    /// backends that produce text but should report token ids (the scripted backend).
    pub fn load_text_side(
        dir: impl AsRef<Path>,
    ) -> Result<(Arc<TextTokenizer>, Arc<ChatTemplate>)> {
        let dir = ModelDir::open(dir)?;
        let tokenizer = Arc::new(TextTokenizer::from_file(&dir.tokenizer_path())?);
        let template = Arc::new(ChatTemplate::from_tokenizer_config(
            &dir.tokenizer_config_path(),
        )?);
        Ok((tokenizer, template))
    }

    /// A generator over this model with the model's eos ids as stop tokens.
    pub fn into_generator(self) -> (Generator, ModelDir, Arc<ChatTemplate>) {
        let eos = self.dir.config.model.eos_token_id.clone();
        (
            Generator::new(self.model, self.tokenizer, eos),
            self.dir,
            self.template,
        )
    }
}
