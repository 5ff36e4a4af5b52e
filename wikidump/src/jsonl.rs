//! JSONL passage corpora as RL users already have them:
//! - Search-R1 wiki-18: `{"id": "0", "contents": "\"Title\"\ntext"}`
//! - generic: `{"id": ..., "title": ..., "text": ...[, "url": ...]}`
//!
//! Each line becomes one document (wiki-18 lines are ~100-word passages, so one title
//! has many documents; the title table points at the first). A malformed line is
//! skipped and counted, not fatal.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::error::IngestError;
use crate::model::{Document, Lang, Section, SourceItem};
use crate::normalize::{canonical_url, has_cjk};

/// Reads a JSONL file line by line.
pub struct JsonlReader {
    path: PathBuf,
    lines: std::io::Lines<BufReader<File>>,
    line_no: u64,
    bytes: u64,
    lang_hint: Option<Lang>,
}

impl JsonlReader {
    pub fn open(path: &Path, lang_hint: Option<Lang>) -> Result<JsonlReader, IngestError> {
        let file = File::open(path).map_err(|source| IngestError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Ok(JsonlReader {
            path: path.to_path_buf(),
            lines: BufReader::with_capacity(1 << 16, file).lines(),
            line_no: 0,
            bytes: 0,
            lang_hint,
        })
    }

    /// Bytes consumed so far (progress reporting).
    pub fn position(&self) -> u64 {
        self.bytes
    }
}

impl Iterator for JsonlReader {
    type Item = Result<SourceItem, IngestError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let line = match self.lines.next()? {
                Ok(line) => line,
                Err(e) => {
                    return Some(Err(IngestError::Jsonl {
                        path: self.path.clone(),
                        line: self.line_no + 1,
                        message: e.to_string(),
                    }))
                }
            };
            self.line_no += 1;
            self.bytes += line.len() as u64 + 1;
            let trimmed = line.trim();
            if trimmed.is_empty() {
                continue;
            }
            return Some(Ok(parse_line(trimmed, self.line_no, self.lang_hint)));
        }
    }
}

/// One JSONL record -> a document, or `Skipped` naming the line and what was wrong.
pub fn parse_line(line: &str, line_no: u64, lang_hint: Option<Lang>) -> SourceItem {
    let skipped = |reason: &str| SourceItem::Skipped {
        title: format!("line {line_no}"),
        reason: format!("jsonl: {reason}"),
    };
    let value: Value = match serde_json::from_str(line) {
        Ok(v) => v,
        Err(_) => return skipped("malformed JSON line"),
    };
    let Some(obj) = value.as_object() else {
        return skipped("line is not a JSON object");
    };
    let id = match obj.get("id") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => line_no.to_string(),
    };
    let (title, text) = if let Some(contents) = obj.get("contents").and_then(Value::as_str) {
        split_contents(contents)
    } else {
        let title = obj.get("title").and_then(Value::as_str).unwrap_or("");
        let text = obj.get("text").and_then(Value::as_str).unwrap_or("");
        (title.trim().to_string(), text.trim().to_string())
    };
    if title.is_empty() {
        return skipped("record without a title");
    }
    if text.is_empty() {
        return SourceItem::Skipped {
            title,
            reason: "jsonl: record without text".into(),
        };
    }
    let lang = lang_hint.unwrap_or_else(|| {
        let sample: String = title.chars().chain(text.chars()).take(400).collect();
        if has_cjk(&sample) {
            Lang::Zh
        } else {
            Lang::En
        }
    });
    let url = obj
        .get("url")
        .and_then(Value::as_str)
        .map(str::to_string)
        .unwrap_or_else(|| canonical_url(&title, lang));
    SourceItem::Article(Document {
        id: format!("jsonl:{id}"),
        title,
        url,
        lang,
        timestamp: None,
        sections: vec![Section {
            heading_path: Vec::new(),
            text,
        }],
        categories: Vec::new(),
        links: Vec::new(),
    })
}

/// wiki-18 `contents`: `"Title"\ntext` (the quotes are part of the format).
fn split_contents(contents: &str) -> (String, String) {
    let (first, rest) = contents.split_once('\n').unwrap_or((contents, ""));
    let first = first.trim();
    let title = first
        .strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .unwrap_or(first);
    (title.trim().to_string(), rest.trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_both_formats() {
        let SourceItem::Article(d) = parse_line(
            r#"{"id": "7", "contents": "\"Albert Einstein\"\nAlbert Einstein was a physicist."}"#,
            1,
            None,
        ) else {
            panic!()
        };
        assert_eq!(
            (d.id.as_str(), d.title.as_str()),
            ("jsonl:7", "Albert Einstein")
        );
        assert_eq!(d.sections[0].text, "Albert Einstein was a physicist.");
        assert_eq!(d.url, "https://en.wikipedia.org/wiki/Albert_Einstein");
        let SourceItem::Article(d) = parse_line(
            r#"{"id": 3, "title": "数学", "text": "数学是一门学科。", "url": "https://x/y"}"#,
            2,
            None,
        ) else {
            panic!()
        };
        assert_eq!(
            (d.id.as_str(), d.lang, d.url.as_str()),
            ("jsonl:3", Lang::Zh, "https://x/y")
        );
        assert!(matches!(
            parse_line("{not json", 3, None),
            SourceItem::Skipped { .. }
        ));
        assert!(matches!(
            parse_line(r#"{"id":1,"text":"x"}"#, 4, None),
            SourceItem::Skipped { .. }
        ));
    }
}
