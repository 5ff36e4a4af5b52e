//! The live tools' exact text formats (Tongyi DeepResearch's `tool_search.py`,
//! `tool_visit.py`, `tool_scholar.py`; see RECIPES.md §4). The model was trained on these
//! bytes, so every string here is reproduced literally, including the odd spacing
//! (`as follows: \n\n`, the blank line before a snippet).

/// Joins the answers to several queries or URLs.
pub const MULTI_SEPARATOR: &str = "\n=======\n";

/// `tool_search.py` when the call has no `query`.
pub const SEARCH_INVALID_REQUEST: &str =
    "[Search] Invalid request format: Input must be a JSON object containing 'query' field";

/// `tool_visit.py` when the call lacks `url` or `goal`.
pub const VISIT_INVALID_REQUEST: &str =
    "[Visit] Invalid request format: Input must be a JSON object containing 'url' and 'goal' fields";

/// `tool_scholar.py` when the call has no `query`.
pub const SCHOLAR_INVALID_REQUEST: &str =
    "[google_scholar] Invalid request format: Input must be a JSON object containing 'query' field";

/// Evidence text of `tool_visit.py` for a page it could not read.
pub const VISIT_FAILED_EVIDENCE: &str =
    "The provided webpage content could not be accessed. Please check the URL or file format.";

/// Summary text of `tool_visit.py` for a page it could not read.
pub const VISIT_FAILED_SUMMARY: &str =
    "The webpage content could not be processed, and therefore, no information is available.";

/// One organic result, with the Serper fields the text uses.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchEntry {
    pub title: String,
    pub link: String,
    pub date: Option<String>,
    pub source: Option<String>,
    pub snippet: Option<String>,
}

/// The answer to one query: `A Google search for '{q}' found {n} results:` … or the
/// no-result sentence.
pub fn search_answer(query: &str, entries: &[SearchEntry]) -> String {
    if entries.is_empty() {
        return no_results(query);
    }
    let snippets: Vec<String> = entries
        .iter()
        .enumerate()
        .map(|(i, entry)| {
            let date = optional_line("Date published: ", entry.date.as_deref());
            let source = optional_line("Source: ", entry.source.as_deref());
            let snippet = entry
                .snippet
                .as_deref()
                .map(|s| format!("\n{s}"))
                .unwrap_or_default();
            let redacted = format!(
                "{}. [{}]({}){date}{source}\n{snippet}",
                i + 1,
                entry.title,
                entry.link
            );
            redacted.replace("Your browser can't play this video.", "")
        })
        .collect();
    format!(
        "A Google search for '{query}' found {} results:\n\n## Web Results\n{}",
        snippets.len(),
        snippets.join("\n\n")
    )
}

/// One Google Scholar result as `tool_scholar.py` prints it.
#[derive(Debug, Clone, PartialEq)]
pub struct ScholarEntry {
    pub title: String,
    /// What goes in the link slot (`pdfUrl: …` or `no available link` live).
    pub link_info: String,
    pub publication_info: Option<String>,
    pub year: Option<String>,
    pub cited_by: Option<u64>,
    pub snippet: Option<String>,
}

pub fn scholar_answer(query: &str, entries: &[ScholarEntry]) -> String {
    if entries.is_empty() {
        return no_results(query);
    }
    let snippets: Vec<String> = entries
        .iter()
        .enumerate()
        .map(|(i, entry)| {
            let publication = optional_line("publicationInfo: ", entry.publication_info.as_deref());
            let date = optional_line("Date published: ", entry.year.as_deref());
            let cited = entry
                .cited_by
                .map(|n| format!("\ncitedBy: {n}"))
                .unwrap_or_default();
            let snippet = entry
                .snippet
                .as_deref()
                .map(|s| format!("\n{s}"))
                .unwrap_or_default();
            let redacted = format!(
                "{}. [{}]({}){publication}{date}{cited}\n{snippet}",
                i + 1,
                entry.title,
                entry.link_info
            );
            redacted.replace("Your browser can't play this video.", "")
        })
        .collect();
    format!(
        "A Google scholar for '{query}' found {} results:\n\n## Scholar Results\n{}",
        snippets.len(),
        snippets.join("\n\n")
    )
}

fn optional_line(label: &str, value: Option<&str>) -> String {
    value.map(|v| format!("\n{label}{v}")).unwrap_or_default()
}

pub fn no_results(query: &str) -> String {
    format!("No results found for '{query}'. Try with a more general query.")
}

/// The answer for one page read with a goal.
pub fn visit_answer(url: &str, goal: &str, evidence: &str, summary: &str) -> String {
    format!(
        "The useful information in {url} for user goal {goal} as follows: \n\n\
         Evidence in page: \n{evidence}\n\n\
         Summary: \n{summary}\n\n"
    )
}

/// The answer for a page that could not be read (not in the corpus, not a web page).
pub fn visit_failure(url: &str, goal: &str) -> String {
    visit_answer(url, goal, VISIT_FAILED_EVIDENCE, VISIT_FAILED_SUMMARY)
}

/// Several answers as one tool response; `tool_visit.py` strips the whole result.
pub fn join_answers(answers: &[String], strip: bool) -> String {
    let joined = answers.join(MULTI_SEPARATOR);
    if strip {
        strip_python(&joined).to_string()
    } else {
        joined
    }
}

/// Python's `str.strip()` (Unicode whitespace), which `trim` matches for our texts.
fn strip_python(text: &str) -> &str {
    text.trim()
}

/// What the agent sees when a call could not be answered. For search, visit and
/// google_scholar a missing field or a non-object gets the live tool's exact "Invalid
/// request format" sentence; other argument problems (too many queries, a bad `top_k`)
/// get the same prefix with the reason. Anything else is a one-line `[{tool}] Error: …`.
/// For the ReAct loop and compat endpoints, so a bad call never derails an episode.
pub fn agent_text_for_error(tool: &str, error: &crate::ToolError) -> String {
    use crate::ToolError;
    let live = match tool {
        "search" => Some(("[Search]", SEARCH_INVALID_REQUEST)),
        "visit" => Some(("[Visit]", VISIT_INVALID_REQUEST)),
        "google_scholar" => Some(("[google_scholar]", SCHOLAR_INVALID_REQUEST)),
        _ => None,
    };
    match (live, error) {
        (Some((prefix, exact)), ToolError::InvalidArguments { reason, .. }) => {
            if reason.starts_with("missing field")
                || reason.starts_with("arguments must be a JSON object")
            {
                exact.to_string()
            } else {
                format!("{prefix} Invalid request: {reason}")
            }
        }
        _ => format!("[{tool}] Error: {error}"),
    }
}
