//! `visit`: read a page of the offline web. With a goal it answers like Tongyi's visit
//! tool (evidence + summary) but without an LLM: the page's passages are ranked against
//! the goal with BM25 and the best are quoted verbatim; the summary is the best
//! sentences of that evidence. With `start_index`/`max_length` it returns the page
//! text itself, paged, in the Jina reader's layout.
//!
//! The [`Summarizer`] trait is the seam for an LLM summariser (the policy crate can plug
//! a model in); [`ExtractiveSummarizer`] is the default.

use std::sync::Arc;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use simweb_wikidump::{passages, Corpus, Document, Lang, Passage, Section};

use crate::error::ToolError;
use crate::format;
use crate::text::{bm25_scores, sentences};
use crate::tool::{parse_args, CallContext, OneOrMany, Tool, ToolOutput};
use crate::wikiurl::{parse_target, PageTarget};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct VisitConfig {
    /// More URLs in one call is an argument error.
    pub max_urls: usize,
    /// Passages quoted as evidence.
    pub evidence_passages: usize,
    /// Sentences in the extractive summary.
    pub summary_sentences: usize,
    /// Page characters returned in paged mode when `max_length` is not given.
    pub default_page_chars: usize,
    /// Larger `max_length` values are clamped to this.
    pub max_page_chars: usize,
}

impl Default for VisitConfig {
    fn default() -> Self {
        VisitConfig {
            max_urls: 20,
            evidence_passages: 3,
            summary_sentences: 3,
            default_page_chars: 10_000,
            max_page_chars: 100_000,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct VisitArgs {
    url: OneOrMany,
    #[serde(default)]
    goal: Option<String>,
    #[serde(default)]
    start_index: Option<i64>,
    #[serde(default)]
    max_length: Option<i64>,
}

/// A page as the summariser sees it.
#[derive(Debug, Clone)]
pub struct PageView {
    /// The URL exactly as the agent wrote it (it appears in the answer).
    pub requested_url: String,
    pub doc: Document,
    /// `wikidump::passages(&doc)`: the same chunks search indexes.
    pub passages: Vec<Passage>,
    /// The `#Section` asked for (by URL or redirect), if any.
    pub focus: Option<String>,
}

/// One passage quoted verbatim.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Quote {
    pub ordinal: u32,
    pub heading_path: Vec<String>,
    pub text: String,
    pub score: f64,
}

/// What a summariser extracts for a goal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Extract {
    /// Text of the `Evidence in page:` part.
    pub evidence: String,
    /// Text of the `Summary:` part.
    pub summary: String,
    /// The passages the evidence quotes (empty for a summariser that paraphrases).
    pub quotes: Vec<Quote>,
}

/// Goal-directed extraction from one page. Implementations must be deterministic for
/// caching and replay to hold (an LLM summariser: greedy decoding, fixed seed).
#[async_trait]
pub trait Summarizer: Send + Sync {
    /// Identifies the summariser and its settings in cache keys.
    fn id(&self) -> String;

    async fn extract(&self, page: &PageView, goal: &str) -> Result<Extract, ToolError>;
}

/// BM25 over the page's passages; evidence = the best passages verbatim (the `#Section`
/// asked for first); summary = the best sentences of the evidence in reading order.
#[derive(Debug, Clone)]
pub struct ExtractiveSummarizer {
    pub evidence_passages: usize,
    pub summary_sentences: usize,
}

impl ExtractiveSummarizer {
    pub fn new(config: &VisitConfig) -> Self {
        ExtractiveSummarizer {
            evidence_passages: config.evidence_passages.max(1),
            summary_sentences: config.summary_sentences.max(1),
        }
    }

    /// Passage indices ranked for the goal; ties broken by page order.
    fn rank(&self, page: &PageView, goal: &str) -> Vec<(usize, f64)> {
        let texts: Vec<&str> = page.passages.iter().map(|p| p.text.as_str()).collect();
        let scores = bm25_scores(goal, &texts);
        let focus = page.focus.as_deref().map(normalise_heading);
        let in_focus = |p: &Passage| {
            focus
                .as_ref()
                .is_some_and(|f| p.heading_path.iter().any(|h| normalise_heading(h) == *f))
        };
        // A Wikipedia lead summarises the article (birthplace, dates, the key facts), so
        // when it matches the goal at all it is quoted first, as a reader would check it;
        // without this a later passage that merely repeats a goal word outranks it.
        let lead_first = |i: usize, score: f64| focus.is_none() && i == 0 && score > 0.0;
        let mut ranked: Vec<(usize, f64, bool)> = scores
            .iter()
            .enumerate()
            .map(|(i, s)| (i, *s, in_focus(&page.passages[i]) || lead_first(i, *s)))
            .collect();
        ranked.sort_by(|a, b| {
            b.2.cmp(&a.2)
                .then_with(|| b.1.total_cmp(&a.1))
                .then_with(|| a.0.cmp(&b.0))
        });
        let mut chosen: Vec<(usize, f64)> = ranked
            .iter()
            .filter(|(_, score, focus)| *score > 0.0 || *focus)
            .take(self.evidence_passages)
            .map(|(i, s, _)| (*i, *s))
            .collect();
        if chosen.is_empty() {
            // Nothing on the page matches the goal: quote the lead, as a reader would.
            chosen = (0..page.passages.len().min(2)).map(|i| (i, 0.0)).collect();
        }
        chosen
    }
}

fn normalise_heading(heading: &str) -> String {
    heading.replace('_', " ").trim().to_lowercase()
}

#[async_trait]
impl Summarizer for ExtractiveSummarizer {
    fn id(&self) -> String {
        format!(
            "extractive-bm25/2/p{}-s{}",
            self.evidence_passages, self.summary_sentences
        )
    }

    async fn extract(&self, page: &PageView, goal: &str) -> Result<Extract, ToolError> {
        let chosen = self.rank(page, goal);
        let quotes: Vec<Quote> = chosen
            .iter()
            .map(|&(i, score)| {
                let p = &page.passages[i];
                Quote {
                    ordinal: p.ordinal,
                    heading_path: p.heading_path.clone(),
                    text: p.text.clone(),
                    score,
                }
            })
            .collect();
        let evidence = quotes
            .iter()
            .map(|q| q.text.as_str())
            .collect::<Vec<_>>()
            .join("\n\n");

        let candidates: Vec<&str> = quotes.iter().flat_map(|q| sentences(&q.text)).collect();
        let scores = bm25_scores(goal, &candidates);
        let mut best: Vec<usize> = (0..candidates.len()).collect();
        best.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]).then_with(|| a.cmp(&b)));
        let mut picked: Vec<usize> = best
            .into_iter()
            .filter(|&i| scores[i] > 0.0)
            .take(self.summary_sentences)
            .collect();
        if picked.is_empty() {
            picked = (0..candidates.len().min(2)).collect();
        }
        picked.sort_unstable();
        let summary = picked
            .iter()
            .map(|&i| candidates[i])
            .collect::<Vec<_>>()
            .join(" ");
        Ok(Extract {
            evidence,
            summary,
            quotes,
        })
    }
}

/// The `visit` tool.
pub struct VisitTool {
    corpus: Arc<Corpus>,
    config: VisitConfig,
    summarizer: Arc<dyn Summarizer>,
}

impl VisitTool {
    pub const NAME: &'static str = "visit";

    /// With the default [`ExtractiveSummarizer`].
    pub fn new(corpus: Arc<Corpus>, config: VisitConfig) -> Self {
        let summarizer = Arc::new(ExtractiveSummarizer::new(&config));
        Self::with_summarizer(corpus, config, summarizer)
    }

    pub fn with_summarizer(
        corpus: Arc<Corpus>,
        config: VisitConfig,
        summarizer: Arc<dyn Summarizer>,
    ) -> Self {
        VisitTool {
            corpus,
            config,
            summarizer,
        }
    }
}

/// Tongyi's schema (RECIPES.md §4), with the optional paging fields added. `url` is
/// typed as an array and described as one (Tongyi's says "a single URL or an array"
/// under an array type; frameworks such as verl accept one type per property). A bare
/// string is still accepted, as Tongyi's own code does.
pub fn visit_schema() -> Value {
    json!({
        "type": "function",
        "function": {
            "name": "visit",
            "description": "Visit webpage(s) and return the summary of the content.",
            "parameters": {
                "type": "object",
                "properties": {
                    "url": {
                        "type": "array",
                        "items": {"type": "string"},
                        "minItems": 1,
                        "description": "The URLs of the webpages to visit (an array; one URL is an array of one)."
                    },
                    "goal": {
                        "type": "string",
                        "description": "The specific information goal for visiting webpage(s)."
                    },
                    "start_index": {
                        "type": "integer",
                        "minimum": 0,
                        "description": "Optional: return the raw page text from this character on."
                    },
                    "max_length": {
                        "type": "integer",
                        "minimum": 1,
                        "description": "Optional: return at most this many characters of raw page text."
                    }
                },
                "required": ["url", "goal"]
            }
        }
    })
}

/// A page found in the corpus, or why not.
enum Loaded {
    Page(Box<PageView>, Option<String>),
    Missing(String),
}

impl VisitTool {
    async fn load(&self, url: &str) -> Result<Loaded, ToolError> {
        let (lang, reference) = match parse_target(url) {
            PageTarget::Unreadable { reason } => return Ok(Loaded::Missing(reason)),
            PageTarget::Wiki {
                lang,
                title,
                fragment,
            } => match fragment {
                Some(fragment) => (lang, format!("{title}#{fragment}")),
                None => (lang, title),
            },
        };
        let corpus = Arc::clone(&self.corpus);
        let requested_url = url.to_string();
        tokio::task::spawn_blocking(move || -> Result<Loaded, simweb_wikidump::CorpusError> {
            let Some(resolved) = corpus.resolve(&reference, lang)? else {
                return Ok(Loaded::Missing(format!(
                    "no page `{reference}` in this corpus"
                )));
            };
            let Some(doc) = corpus.document(&resolved.doc_id)? else {
                return Ok(Loaded::Missing(format!(
                    "page `{}` is indexed but not stored",
                    resolved.doc_id
                )));
            };
            let passages = passages(&doc);
            Ok(Loaded::Page(
                Box::new(PageView {
                    requested_url,
                    doc,
                    passages,
                    focus: resolved.fragment,
                }),
                resolved.redirected_from,
            ))
        })
        .await
        .map_err(|e| ToolError::Internal(format!("visit task failed: {e}")))?
        .map_err(|e| ToolError::Internal(format!("reading the corpus failed: {e}")))
    }

    async fn with_goal(&self, url: &str, goal: &str) -> Result<(String, Value), ToolError> {
        match self.load(url).await? {
            Loaded::Missing(reason) => Ok((
                format::visit_failure(url, goal),
                json!({"url": url, "status": "not_found", "reason": reason}),
            )),
            Loaded::Page(page, redirected_from) => {
                if page.passages.is_empty() {
                    return Ok((
                        format::visit_failure(url, goal),
                        json!({"url": url, "status": "empty", "doc_id": page.doc.id,
                               "reason": "the page has no text"}),
                    ));
                }
                let extract = self.summarizer.extract(&page, goal).await?;
                let text = format::visit_answer(url, goal, &extract.evidence, &extract.summary);
                let data = json!({
                    "url": url,
                    "status": "ok",
                    "doc_id": page.doc.id,
                    "title": page.doc.title,
                    "canonical_url": page.doc.url,
                    "redirected_from": redirected_from,
                    "section": page.focus,
                    "evidence": extract.quotes,
                    "summary": extract.summary,
                });
                Ok((text, data))
            }
        }
    }

    async fn paged(
        &self,
        url: &str,
        goal: &str,
        start: usize,
        max_length: usize,
    ) -> Result<(String, Value), ToolError> {
        match self.load(url).await? {
            Loaded::Missing(reason) => Ok((
                format::visit_failure(url, goal),
                json!({"url": url, "status": "not_found", "reason": reason}),
            )),
            Loaded::Page(page, _) => {
                let content = reader_text(&page.doc);
                let total = content.chars().count();
                let start = start.min(total);
                let end = start.saturating_add(max_length).min(total);
                let slice: String = content.chars().skip(start).take(end - start).collect();
                let mut text = slice;
                if end < total {
                    text.push_str(&format!(
                        "\n\n[Showing characters {start}-{end} of {total}. Continue with start_index={end}.]"
                    ));
                }
                let data = json!({
                    "url": url,
                    "status": "ok",
                    "doc_id": page.doc.id,
                    "title": page.doc.title,
                    "canonical_url": page.doc.url,
                    "start_index": start,
                    "end_index": end,
                    "total_chars": total,
                    "next_start_index": (end < total).then_some(end),
                });
                Ok((text, data))
            }
        }
    }
}

/// The page as the Jina reader renders one (`Title:`, `URL Source:`,
/// `Markdown Content:`), headings as Markdown.
pub fn reader_text(doc: &Document) -> String {
    let mut body = format!("# {}\n", doc.title);
    for section in &doc.sections {
        if let Some(heading) = section.heading_path.last() {
            let level = (section.heading_path.len() + 1).min(6);
            body.push_str(&format!("\n{} {heading}\n", "#".repeat(level)));
        }
        if !section.text.trim().is_empty() {
            body.push('\n');
            body.push_str(section.text.trim_end());
            body.push('\n');
        }
    }
    format!(
        "Title: {}\n\nURL Source: {}\n\nMarkdown Content:\n{}",
        doc.title, doc.url, body
    )
}

/// The inverse of [`reader_text`]: a page rebuilt from the Jina-reader text an agent
/// holds (title, URL, and sections from the markdown headings), so that a goal can be
/// answered from the text alone, as Tongyi's extractor prompt asks. For a page of this
/// corpus the sections, hence the passages and the extract, are the visit tool's own.
/// Text without the reader's header becomes one lead section of an untitled page.
pub fn page_from_reader_text(text: &str) -> PageView {
    let header = |name: &str| {
        text.lines()
            .take(8)
            .find_map(|line| line.strip_prefix(name))
            .map(|v| v.trim().to_string())
    };
    let (title, url, body) = match text.split_once("Markdown Content:\n") {
        Some((_, body)) => (
            header("Title:").unwrap_or_default(),
            header("URL Source:").unwrap_or_default(),
            body,
        ),
        None => (String::new(), String::new(), text),
    };
    let mut sections: Vec<Section> = Vec::new();
    let mut path: Vec<String> = Vec::new();
    let mut current = String::new();
    let flush = |path: &[String], current: &mut String, sections: &mut Vec<Section>| {
        let text = current.trim().to_string();
        if !text.is_empty() || !path.is_empty() {
            sections.push(Section {
                heading_path: path.to_vec(),
                text,
            });
        }
        current.clear();
    };
    for line in body.lines() {
        let level = line.chars().take_while(|c| *c == '#').count();
        let heading = line[level..].strip_prefix(' ').map(str::trim);
        match heading {
            Some(h) if (1..=6).contains(&level) && !h.is_empty() => {
                flush(&path, &mut current, &mut sections);
                if level == 1 {
                    path.clear();
                    continue;
                }
                path.truncate(level - 2);
                path.push(h.to_string());
            }
            _ => {
                current.push_str(line);
                current.push('\n');
            }
        }
    }
    flush(&path, &mut current, &mut sections);
    let lang = match parse_target(&url) {
        PageTarget::Wiki {
            lang: Some(lang), ..
        } => lang,
        _ if simweb_wikidump::normalize::has_cjk(body) => Lang::Zh,
        _ => Lang::En,
    };
    let focus = match parse_target(&url) {
        PageTarget::Wiki { fragment, .. } => fragment,
        PageTarget::Unreadable { .. } => None,
    };
    let doc = Document {
        id: String::new(),
        title,
        url: url.clone(),
        lang,
        timestamp: None,
        sections,
        categories: Vec::new(),
        links: Vec::new(),
    };
    let passages = passages(&doc);
    PageView {
        requested_url: url,
        doc,
        passages,
        focus,
    }
}

fn non_negative(
    tool: &str,
    field: &str,
    value: Option<i64>,
    min: i64,
) -> Result<Option<usize>, ToolError> {
    match value {
        None => Ok(None),
        Some(v) if v < min => Err(ToolError::invalid(
            tool,
            format!("`{field}` must be at least {min}, got {v}"),
        )),
        Some(v) => Ok(Some(usize::try_from(v).unwrap_or(usize::MAX))),
    }
}

#[async_trait]
impl Tool for VisitTool {
    fn name(&self) -> &str {
        Self::NAME
    }

    fn schema(&self) -> Value {
        visit_schema()
    }

    fn config_version(&self) -> String {
        format!(
            "visit/1/{}/{}-{}",
            self.summarizer.id(),
            self.config.default_page_chars,
            self.config.max_page_chars
        )
    }

    async fn call(&self, args: &Value, _ctx: &CallContext) -> Result<ToolOutput, ToolError> {
        let tool = Self::NAME;
        let args: VisitArgs = parse_args(tool, args)?;
        let urls = args.url.0;
        if urls.is_empty() {
            return Err(ToolError::invalid(
                tool,
                "`url` must contain at least one URL",
            ));
        }
        if urls.len() > self.config.max_urls {
            return Err(ToolError::invalid(
                tool,
                format!(
                    "too many URLs: {} (at most {} per call)",
                    urls.len(),
                    self.config.max_urls
                ),
            ));
        }
        let start = non_negative(tool, "start_index", args.start_index, 0)?;
        let max_length = non_negative(tool, "max_length", args.max_length, 1)?;
        let paged = start.is_some() || max_length.is_some();
        let goal = match (&args.goal, paged) {
            (Some(goal), _) => goal.clone(),
            (None, true) => String::new(),
            // The live tool's own complaint is about this field.
            (None, false) => return Err(ToolError::invalid(tool, "missing field `goal`")),
        };

        let mut texts = Vec::with_capacity(urls.len());
        let mut data = Vec::with_capacity(urls.len());
        for url in &urls {
            let (text, page_data) = if paged {
                let max_length = max_length
                    .unwrap_or(self.config.default_page_chars)
                    .min(self.config.max_page_chars);
                self.paged(url, &goal, start.unwrap_or(0), max_length)
                    .await?
            } else {
                self.with_goal(url, &goal).await?
            };
            texts.push(text);
            data.push(page_data);
        }
        // tool_visit.py strips the joined result; paged reading keeps the text as is.
        Ok(ToolOutput::new(
            format::join_answers(&texts, !paged),
            json!({"pages": data}),
        ))
    }
}
