//! `search`: Google-like web search over the offline corpus, answering in Serper's
//! field names and Tongyi's exact text format.

use std::sync::Arc;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use simweb_dense::{DenseRetriever, SearchMode};
use simweb_wikidump::{Corpus, Lang, SearchQuery};

use crate::error::ToolError;
use crate::format::{self, SearchEntry};
use crate::tool::{parse_args, CallContext, OneOrMany, Tool, ToolOutput};

/// Limits and presentation of `search`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SearchConfig {
    /// Results per query when the call does not say (Serper's default is 10).
    pub default_top_k: usize,
    /// Larger `top_k` values are clamped to this.
    pub max_top_k: usize,
    /// More queries in one call is an argument error.
    pub max_queries: usize,
    /// A longer query (in bytes) is an argument error (Google caps queries at 2048).
    pub max_query_bytes: usize,
    /// The `Source:` line of every result (none = omitted, as for most organic hits).
    pub source_label: Option<String>,
    /// How queries are ranked when the call does not say: `bm25`, `dense` or `hybrid`
    /// (the last two need a dense index: `simweb index dense`).
    pub default_mode: SearchMode,
}

impl Default for SearchConfig {
    fn default() -> Self {
        SearchConfig {
            default_top_k: 10,
            max_top_k: 50,
            max_queries: 32,
            max_query_bytes: 2048,
            source_label: Some("Wikipedia".to_string()),
            default_mode: SearchMode::Bm25,
        }
    }
}

impl SearchConfig {
    /// Part of the config version: presentation changes change the bytes. The ranking
    /// (default mode, dense index) is named only when a dense index is attached, so a
    /// BM25-only server keeps the versions (and replay records) it always had.
    fn fingerprint(&self, dense: Option<&DenseRetriever>) -> String {
        format!(
            "k{}-max{}-src{}{}",
            self.default_top_k,
            self.max_top_k,
            self.source_label.as_deref().unwrap_or("-"),
            self.ranking(dense)
        )
    }

    /// The config-version suffix naming the ranking: empty without a dense index.
    pub(crate) fn ranking(&self, dense: Option<&DenseRetriever>) -> String {
        match dense {
            Some(d) => format!("-{}-dense{}", self.default_mode, d.index().search_id()),
            None => String::new(),
        }
    }

    /// Adds the `mode` argument to a tool schema where a dense index is attached (a
    /// BM25-only server keeps Tongyi's prompt as it was).
    pub(crate) fn offer_mode(&self, mut schema: Value, dense: Option<&DenseRetriever>) -> Value {
        if dense.is_some() {
            schema["function"]["parameters"]["properties"]["mode"] = json!({
                "type": "string",
                "enum": ["bm25", "dense", "hybrid"],
                "description": format!("Ranking: bm25 (keywords), dense (meaning, multilingual-e5) or hybrid (both, reciprocal-rank fusion). Default {}.", self.default_mode)
            });
        }
        schema
    }
}

/// `"en"`, `"zh"` or `"auto"` (Chinese characters go to the Chinese index).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LangChoice {
    En,
    Zh,
    Auto,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SearchArgs {
    query: OneOrMany,
    #[serde(default)]
    top_k: Option<i64>,
    #[serde(default)]
    lang: Option<LangChoice>,
    #[serde(default)]
    mode: Option<SearchMode>,
}

/// Validated queries of one call.
#[derive(Debug, Clone)]
pub(crate) struct QueryPlan {
    pub queries: Vec<String>,
    pub top_k: usize,
    pub lang: LangChoice,
    pub mode: SearchMode,
}

pub(crate) fn plan(
    tool: &str,
    args: &Value,
    config: &SearchConfig,
    dense: Option<&DenseRetriever>,
) -> Result<QueryPlan, ToolError> {
    let args: SearchArgs = parse_args(tool, args)?;
    let queries = args.query.0;
    if queries.is_empty() {
        return Err(ToolError::invalid(
            tool,
            "`query` must contain at least one query",
        ));
    }
    if queries.len() > config.max_queries {
        return Err(ToolError::invalid(
            tool,
            format!(
                "too many queries: {} (at most {} per call)",
                queries.len(),
                config.max_queries
            ),
        ));
    }
    if let Some((i, q)) = queries
        .iter()
        .enumerate()
        .find(|(_, q)| q.len() > config.max_query_bytes)
    {
        return Err(ToolError::invalid(
            tool,
            format!(
                "query {} is {} bytes long (at most {})",
                i + 1,
                q.len(),
                config.max_query_bytes
            ),
        ));
    }
    let top_k = match args.top_k {
        None => config.default_top_k,
        Some(k) if k < 1 => {
            return Err(ToolError::invalid(
                tool,
                format!("`top_k` must be at least 1, got {k}"),
            ))
        }
        Some(k) => usize::try_from(k)
            .unwrap_or(usize::MAX)
            .min(config.max_top_k),
    };
    let mode = args.mode.unwrap_or(config.default_mode);
    if mode != SearchMode::Bm25 && dense.is_none() {
        return Err(ToolError::invalid(
            tool,
            format!("`mode` {mode} needs a dense index, and this corpus is served without one (build it with `simweb index dense`, serve with --dense)"),
        ));
    }
    Ok(QueryPlan {
        queries,
        top_k,
        lang: args.lang.unwrap_or(LangChoice::Auto),
        mode,
    })
}

/// The language `query` goes to under `choice`, refused when it is not loaded.
fn query_lang(
    tool: &str,
    corpus: &Corpus,
    choice: LangChoice,
    query: &str,
) -> Result<Lang, ToolError> {
    let loaded = corpus.languages();
    let wanted = match choice {
        LangChoice::En => Lang::En,
        LangChoice::Zh => Lang::Zh,
        LangChoice::Auto => match corpus.detect_lang(query) {
            Some(lang) => lang,
            None => return Err(ToolError::Unavailable("the corpus has no index".into())),
        },
    };
    if loaded.contains(&wanted) {
        Ok(wanted)
    } else {
        let loaded: Vec<&str> = loaded.iter().map(|l| l.code()).collect();
        Err(ToolError::invalid(
            tool,
            format!(
                "`lang` {} is not loaded in this corpus (loaded: {})",
                wanted.code(),
                loaded.join(", ")
            ),
        ))
    }
}

/// How a plan's queries are ranked: `simweb_dense::search` for pages,
/// `simweb_dense::retrieve` for passages.
pub(crate) type Rank<T> =
    fn(&Corpus, Option<&DenseRetriever>, &SearchQuery, SearchMode) -> simweb_dense::Result<Vec<T>>;

/// Runs every query of a plan concurrently on the blocking pool, in query order, through
/// `rank` in the plan's mode.
pub(crate) async fn run_queries<T: Send + 'static>(
    tool: &str,
    corpus: &Arc<Corpus>,
    dense: Option<&Arc<DenseRetriever>>,
    plan: &QueryPlan,
    rank: Rank<T>,
) -> Result<Vec<(String, Lang, Vec<T>)>, ToolError> {
    let mode = plan.mode;
    let tasks = plan.queries.iter().map(|query| {
        let corpus = Arc::clone(corpus);
        let dense = dense.cloned();
        let request = query_lang(tool, &corpus, plan.lang, query).map(|lang| SearchQuery {
            text: query.clone(),
            top_k: plan.top_k,
            lang: Some(lang),
        });
        let query = query.clone();
        async move {
            let request = request?;
            let lang = request.lang.unwrap_or(Lang::En);
            let hits = tokio::task::spawn_blocking(move || {
                rank(&corpus, dense.as_deref(), &request, mode)
            })
            .await
            .map_err(|e| ToolError::Internal(format!("{tool} task failed: {e}")))?
            .map_err(|e| ToolError::Internal(format!("{tool} failed: {e}")))?;
            Ok::<_, ToolError>((query, lang, hits))
        }
    });
    futures::future::try_join_all(tasks).await
}

/// Serper's `date` style ("Feb 1, 2025") from an ISO timestamp; other strings pass.
pub fn display_date(iso: &str) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let date = iso.get(..10).unwrap_or("");
    let mut parts = date.split('-');
    let parsed = (|| {
        let year: u32 = parts.next()?.parse().ok()?;
        let month: usize = parts.next()?.parse().ok()?;
        let day: u32 = parts.next()?.parse().ok()?;
        let name = MONTHS.get(month.checked_sub(1)?)?;
        (1..=31)
            .contains(&day)
            .then(|| format!("{name} {day}, {year}"))
    })();
    parsed.unwrap_or_else(|| iso.to_string())
}

/// The `search` tool.
pub struct SearchTool {
    corpus: Arc<Corpus>,
    dense: Option<Arc<DenseRetriever>>,
    config: SearchConfig,
}

impl SearchTool {
    pub const NAME: &'static str = "search";

    pub fn new(corpus: Arc<Corpus>, config: SearchConfig) -> Self {
        SearchTool {
            corpus,
            dense: None,
            config,
        }
    }

    /// Enables `mode: "dense" | "hybrid"` over `dense` (built from the same corpus).
    pub fn with_dense(mut self, dense: Option<Arc<DenseRetriever>>) -> Self {
        self.dense = dense;
        self
    }
}

/// Tongyi's schema (RECIPES.md §4), with the optional `top_k` and `lang` added.
pub fn search_schema() -> Value {
    json!({
        "type": "function",
        "function": {
            "name": "search",
            "description": "Perform Google web searches then returns a string of the top search results. Accepts multiple queries.",
            "parameters": {
                "type": "object",
                "properties": {
                    "query": {
                        "type": "array",
                        "items": {"type": "string", "description": "The search query."},
                        "minItems": 1,
                        "description": "The list of search queries."
                    },
                    "top_k": {
                        "type": "integer",
                        "minimum": 1,
                        "description": "Results per query (default 10)."
                    },
                    "lang": {
                        "type": "string",
                        "enum": ["en", "zh", "auto"],
                        "description": "Which language index to search (default auto: Chinese queries go to the Chinese index)."
                    }
                },
                "required": ["query"]
            }
        }
    })
}

#[async_trait]
impl Tool for SearchTool {
    fn name(&self) -> &str {
        Self::NAME
    }

    fn schema(&self) -> Value {
        self.config
            .offer_mode(search_schema(), self.dense.as_deref())
    }

    fn config_version(&self) -> String {
        format!(
            "search/2/{}",
            self.config.fingerprint(self.dense.as_deref())
        )
    }

    async fn call(&self, args: &Value, _ctx: &CallContext) -> Result<ToolOutput, ToolError> {
        let plan = plan(Self::NAME, args, &self.config, self.dense.as_deref())?;
        let answers = run_queries(
            Self::NAME,
            &self.corpus,
            self.dense.as_ref(),
            &plan,
            simweb_dense::search,
        )
        .await?;
        let mut texts = Vec::with_capacity(answers.len());
        let mut data = Vec::with_capacity(answers.len());
        for (query, lang, hits) in answers {
            let entries: Vec<SearchEntry> = hits
                .iter()
                .map(|hit| SearchEntry {
                    title: hit.title.clone(),
                    link: hit.url.clone(),
                    date: hit.date.as_deref().map(display_date),
                    source: self.config.source_label.clone(),
                    snippet: (!hit.snippet.is_empty()).then(|| hit.snippet.clone()),
                })
                .collect();
            texts.push(format::search_answer(&query, &entries));
            let organic: Vec<Value> = hits
                .iter()
                .zip(&entries)
                .enumerate()
                .map(|(i, (hit, entry))| {
                    json!({
                        "position": i + 1,
                        "title": hit.title,
                        "link": hit.url,
                        "snippet": hit.snippet,
                        "highlighted": hit.highlighted,
                        "date": entry.date,
                        "timestamp": hit.date,
                        "source": entry.source,
                        "score": hit.score,
                        "doc_id": hit.doc_id,
                        "lang": hit.lang,
                        "heading_path": hit.heading_path,
                    })
                })
                .collect();
            data.push(json!({"query": query, "lang": lang, "organic": organic}));
        }
        Ok(ToolOutput::new(
            format::join_answers(&texts, false),
            json!({ "results": data }),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_look_like_serper() {
        assert_eq!(display_date("2025-02-01T12:34:56Z"), "Feb 1, 2025");
        assert_eq!(display_date("2019-12-31"), "Dec 31, 2019");
        assert_eq!(display_date("yesterday"), "yesterday");
        assert_eq!(display_date("2019-13-01"), "2019-13-01");
    }

    #[test]
    fn plan_validates_queries() {
        let config = SearchConfig::default();
        let err = |args: Value| match plan("search", &args, &config, None) {
            Err(ToolError::InvalidArguments { reason, .. }) => reason,
            other => panic!("{other:?}"),
        };
        assert!(err(json!({"query": []})).contains("at least one"));
        let many: Vec<String> = (0..1000).map(|i| format!("q{i}")).collect();
        assert!(err(json!({"query": many})).contains("too many queries: 1000"));
        let huge = "x".repeat(1 << 20);
        assert!(err(json!({"query": ["ok", huge]})).contains("query 2 is 1048576 bytes"));
        assert!(err(json!({"query": "a", "top_k": 0})).contains("at least 1"));
        assert!(err(json!({"query": "a", "lang": "fr"})).contains("unknown variant `fr`"));
        assert!(err(json!({"query": "a", "mode": "dense"})).contains("needs a dense index"));
        assert!(err(json!({"query": "a", "mode": "vector"})).contains("unknown variant `vector`"));
        let ok = plan(
            "search",
            &json!({"query": "a", "top_k": 1000}),
            &config,
            None,
        )
        .unwrap();
        assert_eq!(ok.top_k, 50);
        assert_eq!(ok.lang, LangChoice::Auto);
        assert_eq!(ok.mode, SearchMode::Bm25);
    }
}
