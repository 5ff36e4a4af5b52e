//! Third pass: lines of rendered text → sections (heading path + paragraphs, list items,
//! table rows), with whitespace and punctuation left over by removed markup tidied.

use super::entities::decode_entities;
use super::render::ROW_MARK;
use super::tags::unprotect;
use crate::model::Section;

/// Sections whose content is only references or external links: dropped with their
/// subsections. (`See also` stays: it is part of the link graph and readable.)
fn is_reference_section(heading: &str) -> bool {
    let h = heading.trim().to_lowercase();
    matches!(
        h.as_str(),
        "references"
            | "external links"
            | "notes"
            | "footnotes"
            | "citations"
            | "sources"
            | "notes and references"
            | "references and notes"
            | "further reading"
            | "bibliography and references"
            | "external link"
            | "reference"
            | "note"
            | "works cited"
            | "general references"
            | "inline citations"
            | "cited sources"
            | "参考文献"
            | "參考文獻"
            | "参考资料"
            | "參考資料"
            | "参考来源"
            | "參考來源"
            | "参考"
            | "參考"
            | "外部链接"
            | "外部連結"
            | "外部鏈接"
            | "注释"
            | "註釋"
            | "注解"
            | "註解"
            | "脚注"
            | "腳註"
            | "延伸阅读"
            | "延伸閱讀"
            | "引用"
            | "来源"
            | "來源"
            | "注释与参考文献"
            | "参考书目"
            | "參考書目"
    )
}

/// Splits rendered page text into sections. The lead comes first with an empty path.
pub(crate) fn build_sections(text: &str) -> Vec<Section> {
    let mut sections: Vec<Section> = Vec::new();
    let mut path: Vec<(usize, String)> = Vec::new();
    let mut blocks: Vec<String> = Vec::new();
    let mut para = String::new();
    let mut skipping = false;

    let flush_para = |para: &mut String, blocks: &mut Vec<String>| {
        let t = tidy(para);
        if !t.is_empty() {
            blocks.push(t);
        }
        para.clear();
    };

    for raw_line in text.split('\n') {
        let line = raw_line.trim_end();
        if let Some((level, heading)) = heading(line) {
            flush_para(&mut para, &mut blocks);
            push_section(&mut sections, &path, std::mem::take(&mut blocks), skipping);
            while path.last().is_some_and(|(l, _)| *l >= level) {
                path.pop();
            }
            path.push((level, tidy(heading)));
            skipping = path.first().is_some_and(|(_, h)| is_reference_section(h));
            continue;
        }
        if let Some(row) = line.trim_start().strip_prefix(ROW_MARK) {
            flush_para(&mut para, &mut blocks);
            let t = tidy(row);
            if !t.is_empty() {
                blocks.push(t);
            }
            continue;
        }
        let trimmed = line.trim_start();
        if trimmed.is_empty() || trimmed.starts_with("----") {
            flush_para(&mut para, &mut blocks);
            continue;
        }
        if let Some(first) = line
            .chars()
            .next()
            .filter(|c| matches!(c, '*' | '#' | ':' | ';'))
        {
            flush_para(&mut para, &mut blocks);
            let item = line.trim_start_matches(['*', '#', ':', ';']);
            // `; term : definition`
            let item = if first == ';' {
                match item.split_once(" : ") {
                    Some((term, def)) => format!("{}: {}", term.trim(), def.trim()),
                    None => item.to_string(),
                }
            } else {
                item.to_string()
            };
            let t = tidy(&item);
            if !t.is_empty() {
                blocks.push(if matches!(first, '*' | '#') {
                    format!("- {t}")
                } else {
                    t
                });
            }
            continue;
        }
        if !para.is_empty() {
            para.push(' ');
        }
        para.push_str(trimmed);
    }
    flush_para(&mut para, &mut blocks);
    push_section(&mut sections, &path, blocks, skipping);
    sections
}

fn push_section(
    sections: &mut Vec<Section>,
    path: &[(usize, String)],
    blocks: Vec<String>,
    skip: bool,
) {
    if skip {
        return;
    }
    let text = join_blocks(&blocks);
    if text.is_empty() && !path.is_empty() {
        return;
    }
    sections.push(Section {
        heading_path: path.iter().map(|(_, h)| h.clone()).collect(),
        text,
    });
}

/// Paragraphs are separated by a blank line; consecutive list items and table rows by
/// a single newline.
fn join_blocks(blocks: &[String]) -> String {
    let mut out = String::new();
    let mut prev_item = false;
    for b in blocks {
        let item = b.starts_with("- ");
        if !out.is_empty() {
            out.push_str(if item && prev_item { "\n" } else { "\n\n" });
        }
        out.push_str(b);
        prev_item = item;
    }
    out
}

/// `== Title ==` → (2, "Title").
fn heading(line: &str) -> Option<(usize, &str)> {
    let t = line.trim();
    if !t.starts_with('=') || !t.ends_with('=') || t.len() < 3 {
        return None;
    }
    let open = t.bytes().take_while(|c| *c == b'=').count();
    let close = t.bytes().rev().take_while(|c| *c == b'=').count();
    if open == t.len() {
        return None;
    }
    let level = open.min(close).min(6);
    let inner = &t[level..t.len() - level];
    let inner = inner.trim();
    (!inner.is_empty()).then_some((level, inner))
}

/// Final clean-up of one line of text: entities, verbatim characters back, whitespace
/// collapsed, and punctuation debris of removed templates (`( ; born …)`, `word ,`, `()`)
/// fixed, in one pass.
pub(crate) fn tidy(s: &str) -> String {
    let decoded = decode_entities(s);
    let text = unprotect(&decoded);
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        let c = if c.is_whitespace() { ' ' } else { c };
        match c {
            ' ' => {
                if !(out.is_empty() || out.ends_with([' ', '(', '（'])) {
                    out.push(' ');
                }
            }
            ',' | ';' | '，' | '；' => {
                trim_trailing_space(&mut out);
                // Nothing before it on the line, right after `(`, or doubled: debris.
                if out.is_empty() || out.ends_with(['(', '（']) || (c == ',' && out.ends_with(','))
                {
                    continue;
                }
                out.push(c);
            }
            ')' | '）' => {
                trim_trailing_space(&mut out);
                while out.ends_with([',', ';', '，', '；']) {
                    out.pop();
                    trim_trailing_space(&mut out);
                }
                if out.ends_with(['(', '（']) {
                    // Empty parentheses left by removed templates vanish.
                    out.pop();
                    trim_trailing_space(&mut out);
                    if chars.peek().is_some_and(|n| n.is_alphanumeric()) && !out.is_empty() {
                        out.push(' ');
                    }
                    continue;
                }
                out.push(c);
            }
            '.' => {
                if out.ends_with(' ') && chars.peek().is_none_or(|n| n.is_whitespace()) {
                    out.pop();
                }
                out.push('.');
            }
            '“' if chars.peek() == Some(&'”') => {
                chars.next();
            }
            _ => out.push(c),
        }
    }
    trim_trailing_space(&mut out);
    out
}

fn trim_trailing_space(s: &mut String) {
    while s.ends_with(' ') {
        s.pop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_follow_headings() {
        let text = "Lead para\nstill lead.\n\n== History ==\nOld.\n=== Early ===\n* one\n* two\n== References ==\n* cite\n=== Sub ===\nx\n== See also ==\n* [x]";
        let s = build_sections(text);
        let paths: Vec<Vec<String>> = s.iter().map(|s| s.heading_path.clone()).collect();
        assert_eq!(
            paths,
            vec![
                vec![],
                vec!["History".to_string()],
                vec!["History".to_string(), "Early".to_string()],
                vec!["See also".to_string()],
            ]
        );
        assert_eq!(s[0].text, "Lead para still lead.");
        assert_eq!(s[2].text, "- one\n- two");
    }

    #[test]
    fn tidy_fixes_debris() {
        assert_eq!(
            tidy("Einstein ( ; 14 March 1879 ) was"),
            "Einstein (14 March 1879) was"
        );
        assert_eq!(tidy("a  b , c () d"), "a b, c d");
        assert_eq!(tidy("x&nbsp;&amp; y"), "x & y");
        assert_eq!(tidy(", vol 3 ."), "vol 3.");
        assert_eq!(tidy("born ( , ) in Ulm ,, Germany"), "born in Ulm, Germany");
        assert_eq!(tidy("v .NET and “” end"), "v .NET and end");
        assert_eq!(tidy("数学（，英语）"), "数学（英语）");
    }
}
