//! The tools over the corpus, registered in one call (search, visit, google_scholar,
//! parse_file). `python` is registered by the sandbox crate's integration.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use simweb_dense::DenseRetriever;
use simweb_wikidump::Corpus;

use crate::registry::Toolbox;
use crate::retrieve::RetrieveTool;
use crate::scholar::{ParseFileTool, ScholarTool};
use crate::search::{SearchConfig, SearchTool};
use crate::visit::{VisitConfig, VisitTool};

/// Settings of the corpus tools (TOML section `[tools]`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CorpusToolsConfig {
    pub search: SearchConfig,
    pub visit: VisitConfig,
}

/// Registers search, visit, google_scholar and parse_file, in Tongyi's prompt order,
/// and the hidden `retrieve` (Search-R1's passages).
/// `dense`, when given, enables the `mode` argument of `search` and `retrieve`.
pub fn register_corpus_tools(
    toolbox: &mut Toolbox,
    corpus: Arc<Corpus>,
    dense: Option<Arc<DenseRetriever>>,
    config: &CorpusToolsConfig,
) {
    toolbox.register(Arc::new(
        SearchTool::new(Arc::clone(&corpus), config.search.clone()).with_dense(dense.clone()),
    ));
    toolbox.register(Arc::new(VisitTool::new(
        Arc::clone(&corpus),
        config.visit.clone(),
    )));
    toolbox.register(Arc::new(ScholarTool::new(
        Arc::clone(&corpus),
        config.search.clone(),
    )));
    toolbox.register(Arc::new(ParseFileTool));
    toolbox.register_hidden(Arc::new(
        RetrieveTool::new(corpus, config.search.clone()).with_dense(dense),
    ));
}
