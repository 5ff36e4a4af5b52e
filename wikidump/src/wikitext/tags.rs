//! First pass over wikitext: comments and HTML/extension tags.
//!
//! References, galleries and other non-prose extension tags are removed with their
//! content; `<nowiki>`, `<pre>`, `<math>` and code are kept verbatim (protected from the
//! markup pass, see [`protect`]); presentational tags are dropped and their content kept.
//! Only known tag names count as tags, so `a < b` in prose stays text.

/// Characters that mean markup, and private-use stand-ins for them inside verbatim
/// content; [`unprotect`] maps them back after all markup has been processed. (`&` is
/// not protected: MediaWiki decodes entities even inside `<nowiki>`.)
const PROTECTED: [(char, char); 13] = [
    ('[', '\u{E000}'),
    (']', '\u{E001}'),
    ('{', '\u{E002}'),
    ('}', '\u{E003}'),
    ('\'', '\u{E004}'),
    ('|', '\u{E005}'),
    ('<', '\u{E006}'),
    ('=', '\u{E007}'),
    ('*', '\u{E008}'),
    ('#', '\u{E009}'),
    (':', '\u{E00A}'),
    (';', '\u{E00B}'),
    ('_', '\u{E00C}'),
];

pub(crate) fn protect(s: &str) -> String {
    s.chars()
        .map(|c| {
            PROTECTED
                .iter()
                .find(|(from, _)| *from == c)
                .map_or(c, |(_, to)| *to)
        })
        .collect()
}

pub(crate) fn unprotect(s: &str) -> String {
    if !s.chars().any(|c| ('\u{E000}'..='\u{E00C}').contains(&c)) {
        return s.to_string();
    }
    s.chars()
        .map(|c| {
            PROTECTED
                .iter()
                .find(|(_, to)| *to == c)
                .map_or(c, |(from, _)| *from)
        })
        .collect()
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum TagKind {
    /// Removed together with its content.
    Drop,
    /// Content kept verbatim (not parsed as markup).
    Verbatim,
    /// Tag removed, content kept and parsed.
    Transparent,
    /// Tag becomes a line break.
    Break,
    /// Tag becomes a cell separator (HTML tables).
    Cell,
}

fn tag_kind(name: &str) -> Option<TagKind> {
    Some(match name {
        "ref" | "references" | "gallery" | "timeline" | "score" | "graph" | "mapframe"
        | "maplink" | "templatedata" | "templatestyles" | "imagemap" | "inputbox"
        | "categorytree" | "hiero" | "includeonly" | "section" | "indicator" | "charinsert"
        | "ce" | "chem" | "style" | "script" => TagKind::Drop,
        "nowiki" | "pre" | "math" | "syntaxhighlight" | "source" => TagKind::Verbatim,
        "br" | "p" | "div" | "tr" | "li" | "ul" | "ol" | "dl" | "dd" | "dt" | "table"
        | "blockquote" | "poem" | "center" | "hr" => TagKind::Break,
        "td" | "th" => TagKind::Cell,
        "b" | "i" | "u" | "s" | "strike" | "del" | "ins" | "small" | "big" | "sup" | "sub"
        | "span" | "font" | "abbr" | "cite" | "em" | "strong" | "q" | "dfn" | "bdi" | "bdo"
        | "mark" | "ruby" | "rb" | "rt" | "rp" | "wbr" | "noinclude" | "onlyinclude"
        | "caption" | "thead" | "tbody" | "tfoot" | "h1" | "h2" | "h3" | "h4" | "h5" | "h6"
        | "time" | "data" | "tt" | "kbd" | "samp" | "var" | "code" => TagKind::Transparent,
        _ => return None,
    })
}

/// A parsed tag at the start of a string: `<name attrs>`, `</name>` or `<name/>`.
struct Tag<'a> {
    name: String,
    closing: bool,
    self_closing: bool,
    len: usize,
    _raw: &'a str,
}

fn parse_tag(s: &str) -> Option<Tag<'_>> {
    let b = s.as_bytes();
    debug_assert_eq!(b.first(), Some(&b'<'));
    let mut i = 1;
    let closing = b.get(1) == Some(&b'/');
    if closing {
        i += 1;
    }
    let name_start = i;
    while i < b.len() && (b[i].is_ascii_alphanumeric()) {
        i += 1;
    }
    if i == name_start || !b[name_start].is_ascii_alphabetic() {
        return None;
    }
    let name = s[name_start..i].to_ascii_lowercase();
    // Attributes run to `>`; a tag never spans more than a few hundred bytes.
    let window_end = s.len().min(i + 2000);
    let rel_end = b[i..window_end].iter().position(|&c| c == b'>')?;
    let attrs = &s[i..i + rel_end];
    if attrs.contains('<') {
        return None;
    }
    if !(attrs.is_empty() || attrs.starts_with([' ', '\t', '\n', '/'])) {
        return None;
    }
    let self_closing = attrs.trim_end().ends_with('/');
    let len = i + rel_end + 1;
    Some(Tag {
        name,
        closing,
        self_closing,
        len,
        _raw: &s[..len],
    })
}

/// Finds `</name>` (case-insensitive) in `s`; returns (start, end) of the closing tag.
pub(crate) fn find_closing(s: &str, name: &str) -> Option<(usize, usize)> {
    let b = s.as_bytes();
    let n = name.len();
    let mut from = 0;
    while let Some(p) = b[from..].windows(2).position(|w| w == b"</") {
        let start = from + p;
        let name_end = start + 2 + n;
        if name_end <= b.len() && b[start + 2..name_end].eq_ignore_ascii_case(name.as_bytes()) {
            let rest = &s[name_end..];
            let trimmed = rest.trim_start();
            if trimmed.starts_with('>') {
                let end = name_end + (rest.len() - trimmed.len()) + 1;
                return Some((start, end));
            }
        }
        from = start + 2;
    }
    None
}

/// Applies `f` to the text outside verbatim tags (`<nowiki>`, `<math>`, `<pre>`, code),
/// copying the tags and their content unchanged: conversion markup and script
/// conversion must not touch TeX (`e^{-{x}}-1`) or literal text.
pub(crate) fn map_outside_verbatim(s: &str, mut f: impl FnMut(&str) -> String) -> String {
    let mut out = String::with_capacity(s.len());
    let mut plain_start = 0;
    let mut search = 0;
    while let Some(p) = s[search..].find('<') {
        let lt = search + p;
        search = lt + 1;
        let Some(tag) = parse_tag(&s[lt..]) else {
            continue;
        };
        if tag.closing || tag.self_closing || tag_kind(&tag.name) != Some(TagKind::Verbatim) {
            continue;
        }
        let after = lt + tag.len;
        let Some((_, end)) = find_closing(&s[after..], &tag.name) else {
            continue;
        };
        out.push_str(&f(&s[plain_start..lt]));
        out.push_str(&s[lt..after + end]);
        plain_start = after + end;
        search = plain_start;
    }
    out.push_str(&f(&s[plain_start..]));
    out
}

/// Removes comments and handles tags (see module doc).
pub(crate) fn strip_tags(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(lt) = rest.find('<') {
        out.push_str(&rest[..lt]);
        let tail = &rest[lt..];
        if tail.starts_with("<!--") {
            rest = match tail.find("-->") {
                Some(end) => &tail[end + 3..],
                None => "",
            };
            continue;
        }
        let Some(tag) = parse_tag(tail) else {
            out.push('<');
            rest = &tail[1..];
            continue;
        };
        let Some(kind) = tag_kind(&tag.name) else {
            out.push('<');
            rest = &tail[1..];
            continue;
        };
        let after = &tail[tag.len..];
        if tag.closing {
            match kind {
                TagKind::Break => out.push('\n'),
                TagKind::Cell => out.push_str(" | "),
                _ => {}
            }
            rest = after;
            continue;
        }
        match kind {
            TagKind::Drop | TagKind::Verbatim if !tag.self_closing => {
                match find_closing(after, &tag.name) {
                    Some((start, end)) => {
                        if kind == TagKind::Verbatim {
                            let content = &after[..start];
                            // Verbatim content still loses comments.
                            let mut content = strip_comments(content);
                            if tag.name == "math" {
                                // TeX ignores spaces between braces; wikitext readers
                                // would take `{{`/`}}` for template debris.
                                while content.contains("{{") || content.contains("}}") {
                                    content = content.replace("{{", "{ {").replace("}}", "} }");
                                }
                            }
                            out.push_str(&protect(&content));
                        }
                        rest = &after[end..];
                    }
                    // Unclosed: drop just the tag.
                    None => rest = after,
                }
            }
            TagKind::Break => {
                out.push('\n');
                rest = after;
            }
            TagKind::Cell => {
                out.push_str(" | ");
                rest = after;
            }
            _ => rest = after,
        }
    }
    out.push_str(rest);
    out
}

/// Removes `<!-- … -->` (an unclosed comment runs to the end, as in MediaWiki).
pub(crate) fn strip_comments(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(p) = rest.find("<!--") {
        out.push_str(&rest[..p]);
        rest = match rest[p..].find("-->") {
            Some(end) => &rest[p + end + 3..],
            None => "",
        };
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_only_outside_verbatim() {
        let s = "a <math>x-{y}-</math> b <NOWIKI>c</nowiki> d <pre>unclosed";
        let mapped = map_outside_verbatim(s, |t| t.to_uppercase());
        assert_eq!(
            mapped,
            "A <math>x-{y}-</math> B <NOWIKI>c</nowiki> D <PRE>UNCLOSED"
        );
    }

    #[test]
    fn strips_refs_comments_and_keeps_verbatim() {
        let s = "A<ref name=\"x\">cite {{web}}</ref> b<ref name=y/> c<!-- hidden --> d";
        assert_eq!(strip_tags(s), "A b c d");
        let s = "x <nowiki>[[not a link]]</nowiki> y";
        assert_eq!(unprotect(&strip_tags(s)), "x [[not a link]] y");
        assert_eq!(strip_tags("a < b and c<d"), "a < b and c<d");
        assert_eq!(strip_tags("one<br/>two<BR>three"), "one\ntwo\nthree");
        assert_eq!(strip_tags("<small>tiny</small> <REF>x</REF>"), "tiny ");
        assert_eq!(strip_tags("<ref>unclosed"), "unclosed");
        assert_eq!(strip_tags("open <!-- comment to end"), "open ");
    }
}
