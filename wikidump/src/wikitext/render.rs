//! Second pass: templates, tables, links and inline formatting → plain text lines, while
//! collecting links, categories and infobox fields.
//!
//! A hand-written scanner rather than a full parser: it only needs to know where each
//! construct ends (bracket matching with nesting) and what visible text it leaves. Every
//! search is charged to a step budget, so pathological input (thousands of unclosed
//! `{{`) stops early instead of going quadratic.

use std::collections::HashSet;

use super::templates::{self, TemplateAction};
use super::title::normalize_title;
use crate::model::{Lang, Link};

/// Marks a line that must stay a line of its own (a table row) in the block pass.
pub(crate) const ROW_MARK: char = '\u{E010}';

/// Maximum nesting of templates/links/tables we follow.
const MAX_DEPTH: usize = 40;

pub(crate) struct Renderer<'a> {
    pub lang: Lang,
    pub title: &'a str,
    pub links: Vec<Link>,
    pub categories: Vec<String>,
    pub infobox: Vec<(String, String)>,
    /// Link targets already recorded (links are kept once, at their first occurrence).
    seen_links: HashSet<String>,
    budget: u64,
    pub exhausted: bool,
}

impl<'a> Renderer<'a> {
    pub(crate) fn new(lang: Lang, title: &'a str, input_len: usize) -> Self {
        Renderer {
            lang,
            title,
            links: Vec::new(),
            categories: Vec::new(),
            infobox: Vec::new(),
            seen_links: HashSet::new(),
            budget: 200 * input_len as u64 + 1_000_000,
            exhausted: false,
        }
    }

    fn charge(&mut self, n: usize) -> bool {
        let n = n as u64;
        if self.budget < n {
            self.exhausted = true;
            return false;
        }
        self.budget -= n;
        true
    }

    /// Renders a fragment to a new string.
    pub(crate) fn render_str(&mut self, s: &str, depth: usize) -> String {
        let mut out = String::with_capacity(s.len());
        self.render(s, &mut out, depth);
        out
    }

    pub(crate) fn render(&mut self, s: &str, out: &mut String, depth: usize) {
        if depth > MAX_DEPTH || self.exhausted {
            return;
        }
        let b = s.as_bytes();
        let mut i = 0;
        while i < b.len() {
            if !self.charge(1) {
                return;
            }
            // Copy ordinary bytes in one go.
            let run = b[i..]
                .iter()
                .position(|c| matches!(c, b'{' | b'}' | b'[' | b']' | b'\'' | b'_' | b'|'))
                .unwrap_or(b.len() - i);
            if run > 0 {
                out.push_str(&s[i..i + run]);
                i += run;
                continue;
            }
            let next = b.get(i + 1).copied();
            match (b[i], next) {
                (b'{', Some(b'{')) => match self.find_close(s, i, b"{{", b"}}") {
                    Some(end) => {
                        self.template(&s[i + 2..end - 2], out, depth + 1);
                        i = end;
                    }
                    None => i += 2,
                },
                (b'{', Some(b'|')) if table_can_start(s, i) => match self.find_close_table(s, i) {
                    Some(end) => {
                        self.table(&s[i + 2..end - 2], out, depth + 1);
                        i = end;
                    }
                    None => i += 2,
                },
                (b'[', Some(b'[')) => match self.find_close(s, i, b"[[", b"]]") {
                    Some(end) => {
                        let trail_end = if self.lang == Lang::En {
                            end + b[end..]
                                .iter()
                                .take_while(|c| c.is_ascii_lowercase())
                                .count()
                        } else {
                            end
                        };
                        self.link(&s[i + 2..end - 2], &s[end..trail_end], out, depth + 1);
                        i = trail_end;
                    }
                    None => i += 2,
                },
                (b'[', _) if starts_with_url(&s[i + 1..]) => {
                    let line_end = s[i..].find('\n').map_or(s.len(), |p| i + p);
                    match s[i..line_end].find(']') {
                        Some(p) => {
                            let inner = &s[i + 1..i + p];
                            if let Some((_, label)) = inner.split_once([' ', '\t']) {
                                self.render(label, out, depth + 1);
                            }
                            i += p + 1;
                        }
                        None => {
                            out.push('[');
                            i += 1;
                        }
                    }
                }
                (b'\'', Some(b'\'')) => {
                    // Bold/italic quote runs ('' ''' ''''') disappear.
                    let n = b[i..].iter().take_while(|c| **c == b'\'').count();
                    if n == 4 {
                        out.push('\'');
                    }
                    i += n;
                }
                (b'_', Some(b'_')) => match magic_word_len(&s[i..]) {
                    Some(n) => i += n,
                    None => {
                        out.push_str("__");
                        i += 2;
                    }
                },
                // Stray closers of constructs we could not match.
                (b'}', Some(b'}')) | (b']', Some(b']')) => i += 2,
                (b'|', Some(b'}')) if at_line_start(s, i) => i += 2,
                (c, _) => {
                    out.push(c as char);
                    i += 1;
                }
            }
        }
    }

    /// End (exclusive) of the construct opened by `open` at `start`, nesting-aware.
    fn find_close(
        &mut self,
        s: &str,
        start: usize,
        open: &[u8; 2],
        close: &[u8; 2],
    ) -> Option<usize> {
        let b = s.as_bytes();
        let mut depth = 0usize;
        let mut i = start;
        while i + 1 < b.len() {
            if !self.charge(1) {
                return None;
            }
            if b[i] == open[0] && b[i + 1] == open[1] {
                depth += 1;
                i += 2;
            } else if b[i] == close[0] && b[i + 1] == close[1] {
                depth -= 1;
                i += 2;
                if depth == 0 {
                    return Some(i);
                }
            } else {
                i += 1;
            }
        }
        None
    }

    /// End of a `{|` table: the matching `|}` at a line start, nesting-aware.
    fn find_close_table(&mut self, s: &str, start: usize) -> Option<usize> {
        let b = s.as_bytes();
        let mut depth = 0usize;
        let mut i = start;
        while i + 1 < b.len() {
            if !self.charge(1) {
                return None;
            }
            if b[i] == b'{' && b[i + 1] == b'|' && table_can_start(s, i) {
                depth += 1;
                i += 2;
            } else if b[i] == b'|' && b[i + 1] == b'}' && at_line_start(s, i) {
                depth -= 1;
                i += 2;
                if depth == 0 {
                    return Some(i);
                }
            } else {
                i += 1;
            }
        }
        None
    }

    fn template(&mut self, inner: &str, out: &mut String, depth: usize) {
        let parts = self.split_top_level(inner, b'|');
        let Some((raw_name, args)) = parts.split_first() else {
            return;
        };
        // Parser functions that only reformat their argument: {{formatnum:1234}}, {{lc:X}}.
        if let Some((func, arg)) = raw_name.split_once(':') {
            let func = func.trim().to_ascii_lowercase();
            if let Some(f) = templates::text_function(&func) {
                let value = self.render_str(arg, depth);
                out.push_str(&f(value.trim()));
                return;
            }
        }
        let name = templates::normalize_name(raw_name);
        let args: Vec<Arg<'_>> = args.iter().map(|a| Arg::parse(a)).collect();
        match templates::classify(&name, self.lang) {
            TemplateAction::Drop => {}
            TemplateAction::Infobox => self.infobox(&args, depth),
            TemplateAction::Text(text) => out.push_str(text),
            TemplateAction::PageTitle => out.push_str(self.title),
            TemplateAction::Positional(n) => {
                if let Some(a) = positional(&args, n) {
                    self.render(a, out, depth);
                }
            }
            TemplateAction::FirstOf(keys) => {
                for key in keys {
                    if let Some(a) = arg_by_key(&args, key) {
                        if !a.trim().is_empty() {
                            self.render(a, out, depth);
                            break;
                        }
                    }
                }
            }
            TemplateAction::Prefixed(prefix, n) => {
                if let Some(a) = positional(&args, n) {
                    out.push_str(prefix);
                    self.render(a, out, depth);
                }
            }
            TemplateAction::JoinPositional(sep) => {
                let items: Vec<String> = positionals(&args)
                    .map(|a| self.render_str(a, depth).trim().to_string())
                    .filter(|s| !s.is_empty())
                    .collect();
                out.push_str(&items.join(sep));
            }
            TemplateAction::Lines => {
                for a in positionals(&args) {
                    out.push('\n');
                    self.render(a, out, depth);
                }
                out.push('\n');
            }
            TemplateAction::Custom(f) => {
                let rendered: Vec<(Option<String>, String)> = args
                    .iter()
                    .map(|a| {
                        (
                            a.key.map(|k| k.trim().to_ascii_lowercase()),
                            self.render_str(a.value, depth).trim().to_string(),
                        )
                    })
                    .collect();
                out.push_str(&f(&rendered, self.lang));
            }
        }
    }

    fn infobox(&mut self, args: &[Arg<'_>], depth: usize) {
        // The generic {{Infobox}} pairs `labelN = Capital` with `dataN = [[X]]`.
        let numbered = |prefix: &str, key: &str| -> Option<String> {
            let rest = key.strip_prefix(prefix)?;
            (!rest.is_empty() && rest.bytes().all(|b| b.is_ascii_digit())).then(|| rest.to_string())
        };
        for arg in args {
            let Some(key) = arg.key else { continue };
            let key = key.trim().replace('_', " ");
            if let Some(n) = numbered("data", &key) {
                let label = args.iter().find_map(|a| {
                    let k = a.key?.trim();
                    (numbered("label", k).as_deref() == Some(n.as_str())).then_some(a.value)
                });
                let value = join_value_lines(&self.render_str(arg.value, depth));
                let label = label.map(|l| join_value_lines(&self.render_str(l, depth)));
                if !value.is_empty() {
                    let key = label.filter(|l| !l.is_empty()).unwrap_or(key);
                    self.infobox.push((key, value));
                }
                continue;
            }
            if numbered("label", &key).is_some()
                || numbered("header", &key).is_some()
                || key.is_empty()
                || templates::is_non_text_infobox_key(&key)
            {
                continue;
            }
            let value = self.render_str(arg.value, depth);
            let value = join_value_lines(&value);
            if !value.is_empty() {
                self.infobox.push((key, value));
            }
        }
    }

    fn link(&mut self, inner: &str, trail: &str, out: &mut String, depth: usize) {
        let (target_raw, label) = match self.split_first_top_level(inner, b'|') {
            Some((t, l)) => (t, Some(l)),
            None => (inner, None),
        };
        let mut target = target_raw.trim();
        let colon = target.starts_with(':');
        if colon {
            target = target[1..].trim_start();
        }
        if let Some((prefix, rest)) = target.split_once(':') {
            let prefix_l = prefix.trim().to_lowercase();
            match templates::namespace_kind(&prefix_l) {
                Some(templates::NsKind::File) if !colon => return,
                Some(templates::NsKind::Category) if !colon => {
                    let name = normalize_title(rest, self.lang);
                    if !name.is_empty() && !self.categories.contains(&name) {
                        self.categories.push(name);
                    }
                    return;
                }
                Some(_) => {
                    // Other namespaces and interwiki: visible text, no article link.
                    match label {
                        Some(l) if !l.trim().is_empty() => self.render(l, out, depth),
                        _ => out.push_str(target),
                    }
                    out.push_str(trail);
                    return;
                }
                None if templates::is_language_code(&prefix_l) => {
                    if !colon && label.is_none() {
                        return; // interlanguage link
                    }
                    match label {
                        Some(l) if !l.trim().is_empty() => self.render(l, out, depth),
                        _ => out.push_str(rest),
                    }
                    out.push_str(trail);
                    return;
                }
                None => {}
            }
        }
        let mut anchor = match label {
            Some(l) if !l.trim().is_empty() => self.render_str(l, depth),
            // Pipe trick: [[Paris, Texas|]] shows "Paris", [[Mercury (planet)|]] "Mercury".
            Some(_) => pipe_trick(target).to_string(),
            None => self.render_str(target, depth),
        };
        anchor.push_str(trail);
        let page = target.split('#').next().unwrap_or("");
        let normalized = normalize_title(page, self.lang);
        if !normalized.is_empty() && !normalized.contains(['{', '}', '[', ']', '<', '>', '|']) {
            let anchor_text = anchor.split_whitespace().collect::<Vec<_>>().join(" ");
            if self.seen_links.insert(normalized.clone()) {
                self.links.push(Link {
                    target: normalized,
                    anchor: anchor_text,
                });
            }
        }
        out.push_str(&anchor);
    }

    /// Renders a `{| … |}` table (content between the delimiters) as one line per row.
    fn table(&mut self, inner: &str, out: &mut String, depth: usize) {
        let mut rows: Vec<Vec<String>> = Vec::new();
        let mut cells: Vec<String> = Vec::new();
        let mut caption: Option<String> = None;
        let mut current: Option<String> = None;
        // Skip the attribute line after `{|`.
        let body = inner.split_once('\n').map_or("", |(_, b)| b);
        // Lines, but nested tables/templates spanning lines must stay whole.
        for line in self.logical_lines(body) {
            let t = line.trim_start();
            if let Some(rest) = t.strip_prefix("|+") {
                caption = Some(self.render_str(strip_cell_attrs(rest), depth));
            } else if t.starts_with("|-") {
                if let Some(c) = current.take() {
                    cells.push(c);
                }
                if !cells.is_empty() {
                    rows.push(std::mem::take(&mut cells));
                }
            } else if let Some(rest) = t.strip_prefix('!').or_else(|| t.strip_prefix('|')) {
                if let Some(c) = current.take() {
                    cells.push(c);
                }
                let sep = if t.starts_with('!') { "!!" } else { "||" };
                let pieces = self.split_cells(rest, sep);
                let n = pieces.len();
                for (k, piece) in pieces.into_iter().enumerate() {
                    let text = self.render_str(strip_cell_attrs(piece), depth);
                    if k + 1 == n {
                        current = Some(text);
                    } else {
                        cells.push(text);
                    }
                }
            } else if let Some(c) = current.as_mut() {
                c.push('\n');
                let rendered = self.render_str(line, depth);
                c.push_str(&rendered);
            } else {
                // Text outside any cell (rare): keep it.
                let rendered = self.render_str(line, depth);
                if !rendered.trim().is_empty() {
                    cells.push(rendered);
                }
            }
        }
        if let Some(c) = current.take() {
            cells.push(c);
        }
        if !cells.is_empty() {
            rows.push(cells);
        }
        out.push('\n');
        if let Some(c) = caption {
            let c = join_value_lines(&c);
            if !c.is_empty() {
                out.push(ROW_MARK);
                out.push_str(&c);
                out.push('\n');
            }
        }
        for row in rows {
            let cells: Vec<String> = row
                .iter()
                .map(|c| join_value_lines(c))
                .filter(|c| !c.is_empty())
                .collect();
            if cells.is_empty() {
                continue;
            }
            out.push(ROW_MARK);
            out.push_str(&cells.join(" | "));
            out.push('\n');
        }
    }

    /// Splits table text into lines, keeping multi-line templates, links and nested
    /// tables inside one logical line.
    fn logical_lines<'s>(&mut self, s: &'s str) -> Vec<&'s str> {
        let b = s.as_bytes();
        let mut lines = Vec::new();
        let mut start = 0;
        let mut i = 0;
        while i < b.len() {
            if !self.charge(1) {
                break;
            }
            let next = b.get(i + 1).copied();
            match (b[i], next) {
                (b'{', Some(b'{')) => {
                    i = self.find_close(s, i, b"{{", b"}}").unwrap_or(i + 2);
                }
                (b'[', Some(b'[')) => {
                    i = self.find_close(s, i, b"[[", b"]]").unwrap_or(i + 2);
                }
                (b'{', Some(b'|')) if table_can_start(s, i) => {
                    i = self.find_close_table(s, i).unwrap_or(i + 2);
                }
                (b'\n', _) => {
                    lines.push(&s[start..i]);
                    i += 1;
                    start = i;
                }
                _ => i += 1,
            }
        }
        if start < s.len() {
            lines.push(&s[start..]);
        }
        lines
    }

    /// Splits a cell line on `||` (or `!!`) outside nested constructs.
    fn split_cells<'s>(&mut self, s: &'s str, sep: &str) -> Vec<&'s str> {
        let sep = sep.as_bytes();
        let b = s.as_bytes();
        let mut parts = Vec::new();
        let mut start = 0;
        let mut i = 0;
        while i < b.len() {
            if !self.charge(1) {
                break;
            }
            let next = b.get(i + 1).copied();
            match (b[i], next) {
                (b'{', Some(b'{')) => i = self.find_close(s, i, b"{{", b"}}").unwrap_or(i + 2),
                (b'[', Some(b'[')) => i = self.find_close(s, i, b"[[", b"]]").unwrap_or(i + 2),
                (c, Some(n)) if c == sep[0] && n == sep[1] => {
                    parts.push(&s[start..i]);
                    i += 2;
                    start = i;
                }
                _ => i += 1,
            }
        }
        parts.push(&s[start..]);
        parts
    }

    /// Splits on `sep` outside `{{ }}` and `[[ ]]`.
    pub(crate) fn split_top_level<'s>(&mut self, s: &'s str, sep: u8) -> Vec<&'s str> {
        let b = s.as_bytes();
        let mut parts = Vec::new();
        let mut start = 0;
        let mut i = 0;
        while i < b.len() {
            if !self.charge(1) {
                break;
            }
            let next = b.get(i + 1).copied();
            match (b[i], next) {
                (b'{', Some(b'{')) => i = self.find_close(s, i, b"{{", b"}}").unwrap_or(i + 2),
                (b'[', Some(b'[')) => i = self.find_close(s, i, b"[[", b"]]").unwrap_or(i + 2),
                (c, _) if c == sep => {
                    parts.push(&s[start..i]);
                    i += 1;
                    start = i;
                }
                _ => i += 1,
            }
        }
        parts.push(&s[start..]);
        parts
    }

    fn split_first_top_level<'s>(&mut self, s: &'s str, sep: u8) -> Option<(&'s str, &'s str)> {
        let b = s.as_bytes();
        let mut i = 0;
        while i < b.len() {
            if !self.charge(1) {
                return None;
            }
            let next = b.get(i + 1).copied();
            match (b[i], next) {
                (b'{', Some(b'{')) => i = self.find_close(s, i, b"{{", b"}}").unwrap_or(i + 2),
                (b'[', Some(b'[')) => i = self.find_close(s, i, b"[[", b"]]").unwrap_or(i + 2),
                (c, _) if c == sep => return Some((&s[..i], &s[i + 1..])),
                _ => i += 1,
            }
        }
        None
    }
}

/// A template argument: `key=value` or positional `value`.
pub(crate) struct Arg<'s> {
    pub key: Option<&'s str>,
    pub value: &'s str,
}

impl<'s> Arg<'s> {
    fn parse(s: &'s str) -> Self {
        // The key ends at the first `=` before any nested markup.
        let b = s.as_bytes();
        for (i, &c) in b.iter().enumerate() {
            match c {
                b'=' => {
                    return Arg {
                        key: Some(&s[..i]),
                        value: &s[i + 1..],
                    }
                }
                b'{' | b'[' => break,
                _ => {}
            }
        }
        Arg {
            key: None,
            value: s,
        }
    }

    /// Positional index if the key is numeric (`1=`), or `None` for named arguments.
    fn numeric_key(&self) -> Option<usize> {
        self.key.and_then(|k| k.trim().parse().ok())
    }
}

fn positionals<'a, 's>(args: &'a [Arg<'s>]) -> impl Iterator<Item = &'s str> + 'a {
    args.iter()
        .filter(|a| a.key.is_none() || a.numeric_key().is_some())
        .map(|a| a.value)
}

/// The n-th positional argument (1-based), honouring explicit `n=`.
pub(crate) fn positional<'s>(args: &[Arg<'s>], n: usize) -> Option<&'s str> {
    if let Some(a) = args.iter().find(|a| a.numeric_key() == Some(n)) {
        return Some(a.value);
    }
    args.iter()
        .filter(|a| a.key.is_none())
        .nth(n - 1)
        .map(|a| a.value)
}

fn arg_by_key<'s>(args: &[Arg<'s>], key: &str) -> Option<&'s str> {
    if let Ok(n) = key.parse::<usize>() {
        return positional(args, n);
    }
    args.iter()
        .find(|a| a.key.is_some_and(|k| k.trim().eq_ignore_ascii_case(key)))
        .map(|a| a.value)
}

/// `[[Paris, Texas|]]` → `Paris`; `[[Mercury (planet)|]]` → `Mercury`.
fn pipe_trick(target: &str) -> &str {
    let t = target.split_once(':').map_or(target, |(_, r)| r);
    let t = match t.find(" (") {
        Some(p) if t.ends_with(')') => &t[..p],
        _ => t,
    };
    t.split(',').next().unwrap_or(t).trim()
}

/// A multi-line value (plainlist, `<br>`-separated) as one line: `a, b, c`.
fn join_value_lines(s: &str) -> String {
    s.lines()
        .map(|l| {
            let l = l.trim().trim_start_matches(ROW_MARK);
            l.trim_start_matches(['*', '#', ':', ';']).trim()
        })
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(", ")
}

/// `style="…" | content` → `content` (only when the part before `|` looks like attributes).
fn strip_cell_attrs(cell: &str) -> &str {
    if let Some(p) = cell.find('|') {
        let before = &cell[..p];
        let nested = before.contains("[[") || before.contains("{{");
        if !nested
            && !cell[p..].starts_with("||")
            && (before.contains('=') || before.trim().is_empty())
        {
            return &cell[p + 1..];
        }
    }
    cell
}

fn at_line_start(s: &str, i: usize) -> bool {
    s[..i]
        .bytes()
        .rev()
        .take_while(|c| *c != b'\n')
        .all(|c| c == b' ' || c == b'\t')
}

/// `{|` opens a table at a line start, also when indented (`:{|`, common on zhwiki).
fn table_can_start(s: &str, i: usize) -> bool {
    s[..i]
        .bytes()
        .rev()
        .take_while(|c| *c != b'\n')
        .all(|c| matches!(c, b' ' | b'\t' | b':'))
}

fn starts_with_url(s: &str) -> bool {
    let lower: String = s.chars().take(8).collect::<String>().to_ascii_lowercase();
    [
        "http://", "https://", "ftp://", "//", "mailto:", "news:", "irc://",
    ]
    .iter()
    .any(|p| lower.starts_with(p))
}

/// `__TOC__`, `__NOTOC__`, … (upper-case words between double underscores).
fn magic_word_len(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    let mut i = 2;
    while i < b.len() && b[i].is_ascii_uppercase() {
        i += 1;
    }
    (i > 2 && b.get(i) == Some(&b'_') && b.get(i + 1) == Some(&b'_')).then_some(i + 2)
}
