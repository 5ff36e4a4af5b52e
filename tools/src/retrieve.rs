//! The `retrieve` tool: Search-R1's retriever. It ranks whole passages (~100 words,
//! several per page when they rank so) rather than pages, which is the unit Search-R1
//! and the frameworks built on it (verl, SkyRL, ASearcher) were trained on.
//!
//! It backs `POST /retrieve` and can be called by name, but it is registered hidden:
//! agents in Tongyi's protocol are never offered it, so their prompt stays the one
//! their model was trained on.

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::{json, Value};
use simweb_dense::DenseRetriever;
use simweb_wikidump::{Corpus, PassageHit};

use crate::error::ToolError;
use crate::search::{plan, run_queries, SearchConfig};
use crate::tool::{CallContext, Tool, ToolOutput};

/// The `retrieve` tool.
pub struct RetrieveTool {
    corpus: Arc<Corpus>,
    dense: Option<Arc<DenseRetriever>>,
    config: SearchConfig,
}

impl RetrieveTool {
    pub const NAME: &'static str = "retrieve";

    /// `config` bounds the queries and `top_k` exactly as for `search` (its
    /// `default_top_k` is replaced by Search-R1's default of 3).
    pub fn new(corpus: Arc<Corpus>, config: SearchConfig) -> Self {
        RetrieveTool {
            corpus,
            dense: None,
            config: SearchConfig {
                default_top_k: 3,
                ..config
            },
        }
    }

    /// Enables `mode: "dense" | "hybrid"` over `dense` (built from the same corpus).
    pub fn with_dense(mut self, dense: Option<Arc<DenseRetriever>>) -> Self {
        self.dense = dense;
        self
    }
}

/// Search-R1's passage text: `"Title"\ntext`.
pub fn passage_contents(hit: &PassageHit) -> String {
    format!("\"{}\"\n{}", hit.title, hit.text)
}

/// Search-R1's observation for one query: `Doc {i}(Title: {title}) {text}` per line.
fn passages_text(hits: &[PassageHit]) -> String {
    hits.iter()
        .enumerate()
        .map(|(i, hit)| format!("Doc {}(Title: \"{}\") {}\n", i + 1, hit.title, hit.text))
        .collect()
}

pub fn retrieve_schema() -> Value {
    json!({
        "type": "function",
        "function": {
            "name": RetrieveTool::NAME,
            "description": "Search-R1-style retrieval: the top passages (about 100 words each, several per page possible) for each query.",
            "parameters": {
                "type": "object",
                "properties": {
                    "query": {
                        "type": "array",
                        "items": {"type": "string"},
                        "minItems": 1,
                        "description": "The queries."
                    },
                    "top_k": {"type": "integer", "minimum": 1, "description": "Passages per query (default 3)."},
                    "lang": {"type": "string", "enum": ["en", "zh", "auto"]}
                },
                "required": ["query"]
            }
        }
    })
}

#[async_trait]
impl Tool for RetrieveTool {
    fn name(&self) -> &str {
        Self::NAME
    }

    fn schema(&self) -> Value {
        self.config
            .offer_mode(retrieve_schema(), self.dense.as_deref())
    }

    fn config_version(&self) -> String {
        format!(
            "retrieve/1/k{}-max{}{}",
            self.config.default_top_k,
            self.config.max_top_k,
            self.config.ranking(self.dense.as_deref())
        )
    }

    async fn call(&self, args: &Value, _ctx: &CallContext) -> Result<ToolOutput, ToolError> {
        let plan = plan(Self::NAME, args, &self.config, self.dense.as_deref())?;
        let answers = run_queries(
            Self::NAME,
            &self.corpus,
            self.dense.as_ref(),
            &plan,
            simweb_dense::retrieve,
        )
        .await?;
        let text = answers
            .iter()
            .map(|(_, _, hits)| passages_text(hits))
            .collect::<Vec<_>>()
            .join("\n");
        let results: Vec<Value> = answers
            .iter()
            .map(|(query, _, hits)| {
                let passages: Vec<Value> = hits
                    .iter()
                    .map(|hit| {
                        json!({
                            "id": format!("{}#{}", hit.doc_id, hit.ordinal),
                            "doc_id": hit.doc_id,
                            "ordinal": hit.ordinal,
                            "title": hit.title,
                            "url": hit.url,
                            "lang": hit.lang,
                            "heading_path": hit.heading_path,
                            "contents": passage_contents(hit),
                            "score": hit.score,
                        })
                    })
                    .collect();
                json!({"query": query, "passages": passages})
            })
            .collect();
        Ok(ToolOutput::new(text, json!({ "results": results })))
    }
}
