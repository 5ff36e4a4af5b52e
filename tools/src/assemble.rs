//! The one place a `Toolbox` is put together from its parts. The server, every CLI
//! subcommand and the rollouts build their tools here, so a tool added here is on every
//! front door at once, registered in the same (Tongyi prompt) order.

use std::sync::Arc;

use simweb_dense::{DenseRetriever, SearchMode};
use simweb_sandbox::{RunOptions, Sandbox};
use simweb_wikidump::Corpus;

use crate::builtin::{register_corpus_tools, CorpusToolsConfig};
use crate::error::SetupError;
use crate::layer::LayerConfig;
use crate::python::{self, PythonTool};
use crate::registry::Toolbox;

/// What a toolbox is made of: the corpus tools over `corpus`, wrapped in `layers`, plus
/// `python` (alias `PythonInterpreter`) when a sandbox is given.
pub struct ToolboxSpec {
    pub corpus: Arc<Corpus>,
    pub layers: LayerConfig,
    pub tools: CorpusToolsConfig,
    pub python: Option<(Sandbox, RunOptions)>,
    /// The corpus's dense index, for `mode: "dense" | "hybrid"` in search and retrieve.
    pub dense: Option<Arc<DenseRetriever>>,
}

impl ToolboxSpec {
    /// The corpus tools with default settings and layers, no Python.
    pub fn new(corpus: Arc<Corpus>) -> ToolboxSpec {
        ToolboxSpec {
            corpus,
            layers: LayerConfig::default(),
            tools: CorpusToolsConfig::default(),
            python: None,
            dense: None,
        }
    }

    /// Attaches the corpus's dense index (built by `simweb index dense`).
    pub fn dense(mut self, dense: Arc<DenseRetriever>) -> ToolboxSpec {
        self.dense = Some(dense);
        self
    }

    pub fn layers(mut self, layers: LayerConfig) -> ToolboxSpec {
        self.layers = layers;
        self
    }

    pub fn tools(mut self, tools: CorpusToolsConfig) -> ToolboxSpec {
        self.tools = tools;
        self
    }

    /// Adds the sandboxed `python` tool running every call with `opts`.
    pub fn python(mut self, sandbox: Sandbox, opts: RunOptions) -> ToolboxSpec {
        self.python = Some((sandbox, opts));
        self
    }

    /// Registers search, visit, google_scholar, parse_file, then python. The toolbox's
    /// snapshot (what replay records and results are keyed by) is the corpus's, plus the
    /// dense index's id when one is attached, since it ranks too.
    pub fn build(self) -> Result<Toolbox, SetupError> {
        if self.dense.is_none() && self.tools.search.default_mode != SearchMode::Bm25 {
            return Err(SetupError::Config(format!(
                "tools.search.default_mode = {:?} needs a dense index (serve with --dense)",
                self.tools.search.default_mode.as_str()
            )));
        }
        let snapshot = match &self.dense {
            Some(dense) => format!(
                "{}+dense-{}",
                self.corpus.snapshot_id(),
                dense.index().search_id()
            ),
            None => self.corpus.snapshot_id().to_string(),
        };
        let mut toolbox = Toolbox::new(&snapshot, self.layers)?;
        register_corpus_tools(&mut toolbox, self.corpus, self.dense, &self.tools);
        if let Some((sandbox, opts)) = self.python {
            python::register(&mut toolbox, PythonTool::new(sandbox, opts));
        }
        Ok(toolbox)
    }
}
