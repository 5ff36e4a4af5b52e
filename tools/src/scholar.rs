//! The two other tools in Tongyi's prompt, answered deliberately so an agent trained on
//! them is never derailed by an unknown-tool error:
//! - `google_scholar`: the same corpus search, in `tool_scholar.py`'s text layout
//!   (Wikipedia articles stand in for publications, and say so in `publicationInfo`).
//! - `parse_file`: there are no uploaded files in this environment; it answers in the
//!   live tool's per-file error layout saying so.

use std::sync::Arc;

use async_trait::async_trait;
use serde::Deserialize;
use serde_json::{json, Value};
use simweb_wikidump::Corpus;

use crate::error::ToolError;
use crate::format::{self, ScholarEntry};
use crate::search::{plan, run_queries, SearchConfig};
use crate::tool::{parse_args, CallContext, OneOrMany, Tool, ToolOutput};

pub struct ScholarTool {
    corpus: Arc<Corpus>,
    config: SearchConfig,
}

impl ScholarTool {
    pub const NAME: &'static str = "google_scholar";

    pub fn new(corpus: Arc<Corpus>, config: SearchConfig) -> Self {
        ScholarTool { corpus, config }
    }
}

#[async_trait]
impl Tool for ScholarTool {
    fn name(&self) -> &str {
        Self::NAME
    }

    /// `tool_scholar.py`'s schema, with the optional `top_k` and `lang` of `search`.
    fn schema(&self) -> Value {
        json!({
            "type": "function",
            "function": {
                "name": "google_scholar",
                "description": "Leverage Google Scholar to retrieve relevant information from academic publications. Accepts multiple queries.",
                "parameters": {
                    "type": "object",
                    "properties": {
                        "query": {
                            "type": "array",
                            "items": {"type": "string", "description": "The search query."},
                            "minItems": 1,
                            "description": "The list of search queries for Google Scholar."
                        },
                        "top_k": {"type": "integer", "minimum": 1, "description": "Results per query (default 10)."},
                        "lang": {"type": "string", "enum": ["en", "zh", "auto"]}
                    },
                    "required": ["query"]
                }
            }
        })
    }

    fn config_version(&self) -> String {
        format!(
            "google_scholar/1/k{}-max{}",
            self.config.default_top_k, self.config.max_top_k
        )
    }

    async fn call(&self, args: &Value, _ctx: &CallContext) -> Result<ToolOutput, ToolError> {
        // Scholar results are keyword-ranked whatever the search tool's default mode.
        let config = SearchConfig {
            default_mode: simweb_dense::SearchMode::Bm25,
            ..self.config.clone()
        };
        let plan = plan(Self::NAME, args, &config, None)?;
        let answers =
            run_queries(Self::NAME, &self.corpus, None, &plan, simweb_dense::search).await?;
        let mut texts = Vec::new();
        let mut data = Vec::new();
        for (query, lang, hits) in answers {
            let entries: Vec<ScholarEntry> = hits
                .iter()
                .map(|hit| ScholarEntry {
                    title: hit.title.clone(),
                    link_info: hit.url.clone(),
                    publication_info: Some("Wikipedia (encyclopedia article)".to_string()),
                    year: hit
                        .date
                        .as_deref()
                        .and_then(|d| d.get(..4))
                        .map(str::to_string),
                    cited_by: None,
                    snippet: (!hit.snippet.is_empty()).then(|| hit.snippet.clone()),
                })
                .collect();
            texts.push(format::scholar_answer(&query, &entries));
            let organic: Vec<Value> = hits
                .iter()
                .enumerate()
                .map(|(i, hit)| {
                    json!({"position": i + 1, "title": hit.title, "link": hit.url,
                           "snippet": hit.snippet, "year": hit.date.as_deref().and_then(|d| d.get(..4)),
                           "score": hit.score, "doc_id": hit.doc_id})
                })
                .collect();
            data.push(json!({"query": query, "lang": lang, "organic": organic}));
        }
        Ok(ToolOutput::new(
            format::join_answers(&texts, false),
            json!({"results": data}),
        ))
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ParseFileArgs {
    files: OneOrMany,
}

/// `parse_file`: no uploaded files exist in the simulated web.
pub struct ParseFileTool;

impl ParseFileTool {
    pub const NAME: &'static str = "parse_file";
}

/// Why `parse_file` cannot help, in every answer.
pub const PARSE_FILE_UNAVAILABLE: &str = "file parsing is not available in this environment (an offline simulated web without uploaded files); use `visit` to read web pages";

#[async_trait]
impl Tool for ParseFileTool {
    fn name(&self) -> &str {
        Self::NAME
    }

    fn schema(&self) -> Value {
        json!({
            "type": "function",
            "function": {
                "name": "parse_file",
                "description": "This is a tool that can be used to parse multiple user uploaded local files such as PDF, DOCX, PPTX, TXT, CSV, XLSX, DOC, ZIP, MP4, MP3.",
                "parameters": {
                    "type": "object",
                    "properties": {
                        "files": {
                            "type": "array",
                            "items": {"type": "string"},
                            "description": "The file name of the user uploaded local files to be parsed."
                        }
                    },
                    "required": ["files"]
                }
            }
        })
    }

    async fn call(&self, args: &Value, _ctx: &CallContext) -> Result<ToolOutput, ToolError> {
        let args: ParseFileArgs = parse_args(Self::NAME, args)?;
        if args.files.0.is_empty() {
            return Err(ToolError::invalid(
                Self::NAME,
                "`files` must name at least one file",
            ));
        }
        // tool_file.py reports each failed file as `# Error processing {basename}: {error}`.
        let lines: Vec<String> = args
            .files
            .0
            .iter()
            .map(|file| {
                let base = file.rsplit(['/', '\\']).next().unwrap_or(file);
                format!("# Error processing {base}: {PARSE_FILE_UNAVAILABLE}")
            })
            .collect();
        Ok(ToolOutput::new(
            lines.join("\n"),
            json!({"available": false, "files": args.files.0, "reason": PARSE_FILE_UNAVAILABLE}),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn parse_file_answers_in_format_and_never_errors_on_valid_calls() {
        let tool = ParseFileTool;
        let args = json!({"files": ["/tmp/report.pdf", "data.xlsx"]});
        let ctx = CallContext::new("t", "parse_file", &args, "snap", "1");
        let out = tool.call(&args, &ctx).await.unwrap();
        assert_eq!(
            out.text,
            format!(
                "# Error processing report.pdf: {PARSE_FILE_UNAVAILABLE}\n# Error processing data.xlsx: {PARSE_FILE_UNAVAILABLE}"
            )
        );
        let bad = json!({"file": "x"});
        let err = tool.call(&bad, &ctx).await.unwrap_err();
        assert!(err.to_string().contains("unknown field `file`"), "{err}");
    }
}
