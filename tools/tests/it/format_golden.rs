//! The Tongyi text formats against golden files written by running Tongyi's own Python
//! string templates (tool_search.py, tool_visit.py, tool_scholar.py) on fixed inputs, so
//! the Rust formatter is checked against the original, not against itself.

use simweb_tools::format::{
    join_answers, scholar_answer, search_answer, visit_answer, visit_failure, ScholarEntry,
    SearchEntry,
};

fn golden(name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn entry(
    title: &str,
    link: &str,
    date: Option<&str>,
    source: Option<&str>,
    snippet: Option<&str>,
) -> SearchEntry {
    SearchEntry {
        title: title.into(),
        link: link.into(),
        date: date.map(Into::into),
        source: source.map(Into::into),
        snippet: snippet.map(Into::into),
    }
}

#[test]
fn search_text_is_byte_identical_to_tongyi() {
    let entries = [
        entry(
            "Ray Charles",
            "https://en.wikipedia.org/wiki/Ray_Charles",
            Some("Mar 1, 2020"),
            Some("Wikipedia"),
            Some(
                "Ray Charles Robinson was an American singer. Your browser can't play this video.",
            ),
        ),
        entry(
            "Georgia on My Mind",
            "https://en.wikipedia.org/wiki/Georgia_on_My_Mind",
            None,
            None,
            Some("A song written in 1930."),
        ),
        entry(
            "Soul music",
            "https://en.wikipedia.org/wiki/Soul_music",
            None,
            Some("Wikipedia"),
            None,
        ),
    ];
    let text = join_answers(
        &[
            search_answer("Ray Charles", &entries),
            search_answer("zzqx nothing", &[]),
        ],
        false,
    );
    assert_eq!(text, golden("search_format.txt"));
}

#[test]
fn visit_text_is_byte_identical_to_tongyi() {
    let goal = "When was he born?";
    let text = join_answers(
        &[
            visit_answer(
                "https://en.wikipedia.org/wiki/Ray_Charles",
                goal,
                "Ray Charles (1930-2004).\n\nHe was born in Albany.",
                "He was born in 1930.",
            ),
            visit_failure("https://example.com/x", goal),
        ],
        true,
    );
    assert_eq!(text, golden("visit_format.txt"));
}

#[test]
fn scholar_text_is_byte_identical_to_tongyi() {
    let entries = [
        ScholarEntry {
            title: "Albedo".into(),
            link_info: "pdfUrl: https://x/a.pdf".into(),
            publication_info: Some("Wikipedia".into()),
            year: Some("2025".into()),
            cited_by: Some(7),
            snippet: Some("Albedo is the fraction.".into()),
        },
        ScholarEntry {
            title: "Other".into(),
            link_info: "no available link".into(),
            publication_info: None,
            year: None,
            cited_by: None,
            snippet: None,
        },
    ];
    assert_eq!(
        scholar_answer("albedo", &entries),
        golden("scholar_format.txt")
    );
}
