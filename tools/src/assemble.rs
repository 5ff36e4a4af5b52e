//! The one place a `Toolbox` is put together from its parts. The server, every CLI
//! subcommand and the rollouts build their tools here, so a tool added here is on every
//! front door at once, registered in the same (Tongyi prompt) order.

use std::sync::Arc;
use std::time::Duration;

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
}

impl ToolboxSpec {
    /// The corpus tools with default settings and layers, no Python.
    pub fn new(corpus: Arc<Corpus>) -> ToolboxSpec {
        ToolboxSpec {
            corpus,
            layers: LayerConfig::default(),
            tools: CorpusToolsConfig::default(),
            python: None,
        }
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

    /// Registers search, visit, google_scholar, parse_file, then python.
    pub fn build(mut self) -> Result<Toolbox, SetupError> {
        if let Some((sandbox, opts)) = &self.python {
            let timeout = python_layer_timeout(sandbox, opts);
            let policy = self
                .layers
                .tools
                .entry(python::PYTHON_TOOL.to_string())
                .or_insert_with(|| self.layers.policy.clone());
            policy.timeout_ms = policy.timeout_ms.max(timeout.as_millis() as u64);
        }
        let mut toolbox = Toolbox::new(self.corpus.snapshot_id(), self.layers)?;
        register_corpus_tools(&mut toolbox, self.corpus, &self.tools);
        if let Some((sandbox, opts)) = self.python {
            python::register(&mut toolbox, PythonTool::new(sandbox, opts));
        }
        Ok(toolbox)
    }
}

/// The tool layer's timeout for `python` must outlast the sandbox's own limits (its queue
/// wait plus the run's wall limit), so a runaway program ends as the sandbox's clean
/// `TimeoutError` outcome (Tongyi's `[PythonInterpreter Error] TimeoutError: ...`),
/// never as the layer's generic "tool timed out".
fn python_layer_timeout(sandbox: &Sandbox, opts: &RunOptions) -> Duration {
    sandbox.queue_timeout() + Duration::from_millis(opts.wall_ms) + PYTHON_TIMEOUT_MARGIN
}

/// Time for the sandbox to stop the guest and report once its wall limit fires.
const PYTHON_TIMEOUT_MARGIN: Duration = Duration::from_secs(5);
