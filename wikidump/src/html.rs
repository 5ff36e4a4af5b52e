//! HTML article (ZIM, mwoffliner/Parsoid output) -> the clean [`Document`] model.
//!
//! Parsed with `scraper` (html5ever), then walked once: `h2`–`h6` open sections (heading
//! path by level), paragraphs/list items/table rows become lines, infobox rows become
//! `key: value` lines, links become their text plus a [`Link`] record. Scripts, styles,
//! navigation boxes, edit links, reference markers and reference lists, images,
//! hatnotes and mwoffliner's licence footer are dropped.

use ego_tree::NodeRef;
use scraper::{ElementRef, Html, Node};

use crate::model::{Document, Lang, Link, Section, SourceItem};
use crate::normalize::display_title;

/// What the container knows about an HTML article.
#[derive(Debug, Clone)]
pub struct HtmlMeta {
    pub id: String,
    pub title: String,
    pub url: String,
    pub lang: Lang,
    pub timestamp: Option<String>,
}

/// Elements dropped with everything inside them.
const SKIP_TAGS: &[&str] = &[
    "script", "style", "noscript", "link", "meta", "head", "nav", "footer", "img", "figure",
    "video", "audio", "iframe", "object", "svg", "math", "button", "input", "form", "select",
    "textarea", "template",
];

/// Classes whose elements are dropped (navigation, references, maintenance, media).
const SKIP_CLASSES: &[&str] = &[
    "reference",
    "references",
    "reflist",
    "mw-references-wrap",
    "mw-editsection",
    "mw-cite-backlink",
    "navbox",
    "vertical-navbox",
    "navbox-inner",
    "metadata",
    "noprint",
    "hatnote",
    "thumb",
    "gallery",
    "toc",
    "mbox-small",
    "sistersitebox",
    "catlinks",
    "printfooter",
    "mw-empty-elt",
    "ambox",
    "authority-control",
    "portal",
];

/// Elements after which text continues on a new line.
const BLOCK_TAGS: &[&str] = &[
    "p",
    "div",
    "li",
    "dd",
    "dt",
    "blockquote",
    "pre",
    "ul",
    "ol",
    "dl",
    "section",
    "details",
    "summary",
    "center",
    "tr",
    "table",
    "caption",
    "article",
    "main",
    "body",
    "hr",
];

/// Cleans one HTML page. A page with no text at all is `Skipped`.
pub fn clean_html(html: &str, meta: HtmlMeta) -> SourceItem {
    let doc = Html::parse_document(html);
    let mut w = Walker::default();
    w.walk(doc.tree.root());
    w.flush_line();
    w.finish_section();
    let sections: Vec<Section> = w
        .sections
        .into_iter()
        .filter(|s| !s.text.is_empty())
        .collect();
    if sections.is_empty() {
        return SourceItem::Skipped {
            title: meta.title,
            reason: "empty page (no text after cleaning)".into(),
        };
    }
    SourceItem::Article(Document {
        id: meta.id,
        title: meta.title,
        url: meta.url,
        lang: meta.lang,
        timestamp: meta.timestamp,
        sections,
        categories: w.categories,
        links: w.links,
    })
}

#[derive(Default)]
struct Walker {
    sections: Vec<Section>,
    /// (level, heading) of the open section.
    path: Vec<(u8, String)>,
    text: String,
    line: String,
    links: Vec<Link>,
    categories: Vec<String>,
}

fn has_skip_class(el: &ElementRef<'_>) -> bool {
    el.value().classes().any(|c| SKIP_CLASSES.contains(&c))
        || el.value().id() == Some("toc")
        || el.value().attr("role") == Some("navigation")
}

impl Walker {
    fn walk(&mut self, node: NodeRef<'_, Node>) {
        for child in node.children() {
            match child.value() {
                // mwoffliner marks where the article ends and its own footer ("This
                // article is issued from Wikipedia. The text is licensed under...")
                // begins; nothing after the marker is article text.
                Node::Comment(c) if c.trim() == "htdig_noindex" => break,
                Node::Text(t) => self.push_text(t),
                Node::Element(_) => {
                    if let Some(el) = ElementRef::wrap(child) {
                        self.element(el);
                    }
                }
                _ => {}
            }
        }
    }

    fn element(&mut self, el: ElementRef<'_>) {
        let name = el.value().name();
        if SKIP_TAGS.contains(&name) || has_skip_class(&el) {
            return;
        }
        match name {
            "h1" => {}
            "h2" | "h3" | "h4" | "h5" | "h6" => {
                let level = name.as_bytes()[1] - b'0';
                let heading = inline_text(el);
                self.flush_line();
                self.finish_section();
                self.path.retain(|(l, _)| *l < level);
                if !heading.is_empty() {
                    self.path.push((level, heading));
                }
            }
            "br" => self.flush_line(),
            "table" => {
                self.flush_line();
                self.table(el);
            }
            "a" => {
                self.link(el);
                self.walk(*el);
            }
            _ if BLOCK_TAGS.contains(&name) => {
                self.flush_line();
                self.walk(*el);
                self.flush_line();
            }
            _ => self.walk(*el),
        }
    }

    /// Infobox-like rows (a header cell then data cells) become `key: value`; other
    /// rows become their cells joined by ` | `.
    fn table(&mut self, table: ElementRef<'_>) {
        for node in table.descendants() {
            let Some(el) = ElementRef::wrap(node) else {
                continue;
            };
            match el.value().name() {
                "caption" => {
                    let c = inline_text(el);
                    self.push_line(&c);
                }
                "tr" => {
                    if has_skip_class(&el) || nested_in_inner_table(el, table) {
                        continue;
                    }
                    let mut header = None;
                    let mut cells = Vec::new();
                    for cell in el.children().filter_map(ElementRef::wrap) {
                        if has_skip_class(&cell) {
                            continue;
                        }
                        self.collect_links(cell);
                        let text = inline_text(cell);
                        if text.is_empty() {
                            continue;
                        }
                        match cell.value().name() {
                            "th" if cells.is_empty() && header.is_none() => header = Some(text),
                            "th" | "td" => cells.push(text),
                            _ => {}
                        }
                    }
                    let line = match (header, cells.is_empty()) {
                        (Some(h), false) => format!("{h}: {}", cells.join(" | ")),
                        (Some(h), true) => h,
                        (None, _) => cells.join(" | "),
                    };
                    self.push_line(&line);
                }
                _ => {}
            }
        }
    }

    fn collect_links(&mut self, el: ElementRef<'_>) {
        for node in el.descendants() {
            if let Some(a) = ElementRef::wrap(node) {
                if a.value().name() == "a" {
                    self.link(a);
                }
            }
        }
    }

    fn link(&mut self, a: ElementRef<'_>) {
        let Some(href) = a.value().attr("href") else {
            return;
        };
        let anchor = inline_text(a);
        match link_target(href) {
            Some(LinkTarget::Article(target)) if !anchor.is_empty() => {
                self.links.push(Link { target, anchor })
            }
            Some(LinkTarget::Category(c)) if !self.categories.contains(&c) => {
                self.categories.push(c);
            }
            _ => {}
        }
    }

    fn push_text(&mut self, t: &str) {
        let starts_space = t.starts_with(char::is_whitespace);
        let ends_space = t.ends_with(char::is_whitespace);
        let words: Vec<&str> = t.split_whitespace().collect();
        if words.is_empty() {
            if !t.is_empty() && !self.line.is_empty() && !self.line.ends_with(' ') {
                self.line.push(' ');
            }
            return;
        }
        if starts_space && !self.line.is_empty() && !self.line.ends_with(' ') {
            self.line.push(' ');
        }
        self.line.push_str(&words.join(" "));
        if ends_space {
            self.line.push(' ');
        }
    }

    fn push_line(&mut self, line: &str) {
        self.flush_line();
        let line = line.trim();
        if !line.is_empty() {
            if !self.text.is_empty() {
                self.text.push('\n');
            }
            self.text.push_str(line);
        }
    }

    fn flush_line(&mut self) {
        let line = std::mem::take(&mut self.line);
        let line = line.trim();
        if !line.is_empty() {
            if !self.text.is_empty() {
                self.text.push('\n');
            }
            self.text.push_str(line);
        }
    }

    fn finish_section(&mut self) {
        let text = std::mem::take(&mut self.text);
        self.sections.push(Section {
            heading_path: self.path.iter().map(|(_, h)| h.clone()).collect(),
            text,
        });
    }
}

/// True when `row` belongs to a table nested inside `outer` (handled as part of its
/// cell text instead).
fn nested_in_inner_table(row: ElementRef<'_>, outer: ElementRef<'_>) -> bool {
    let mut node = row.parent();
    while let Some(n) = node {
        if n.id() == outer.id() {
            return false;
        }
        if let Some(el) = ElementRef::wrap(n) {
            if el.value().name() == "table" {
                return true;
            }
        }
        node = n.parent();
    }
    false
}

/// The visible text of an element (skipping dropped parts), whitespace collapsed.
fn inline_text(el: ElementRef<'_>) -> String {
    let mut w = Walker::default();
    w.walk(*el);
    w.flush_line();
    let joined = w.text.replace('\n', " ");
    joined.split_whitespace().collect::<Vec<_>>().join(" ")
}

enum LinkTarget {
    Article(String),
    Category(String),
}

/// Namespaces whose links are not article links.
const NON_ARTICLE_PREFIXES: &[&str] = &[
    "File:",
    "Image:",
    "Special:",
    "Help:",
    "Template:",
    "Wikipedia:",
    "Portal:",
    "Talk:",
    "User:",
    "Media:",
    "Module:",
    "Draft:",
];

/// Internal article link targets; external links, anchors and media are `None`.
fn link_target(href: &str) -> Option<LinkTarget> {
    let href = href.trim();
    if href.is_empty()
        || href.starts_with('#')
        || href.starts_with("//")
        || href.contains("://")
        || href.starts_with("mailto:")
    {
        return None;
    }
    let mut path = href.split(['#', '?']).next().unwrap_or("");
    for prefix in ["./", "../", "/wiki/", "A/", "C/"] {
        while let Some(rest) = path.strip_prefix(prefix) {
            path = rest;
        }
    }
    let path = path.strip_suffix(".html").unwrap_or(path);
    let title = display_title(path);
    if title.is_empty() {
        return None;
    }
    if let Some(c) = title.strip_prefix("Category:") {
        return Some(LinkTarget::Category(c.trim().to_string()));
    }
    if NON_ARTICLE_PREFIXES.iter().any(|p| title.starts_with(p)) {
        return None;
    }
    Some(LinkTarget::Article(title))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta() -> HtmlMeta {
        HtmlMeta {
            id: "zim:A/T".into(),
            title: "T".into(),
            url: "https://en.wikipedia.org/wiki/T".into(),
            lang: Lang::En,
            timestamp: None,
        }
    }

    #[test]
    fn cleans_structure_links_infobox_and_noise() {
        let html = r##"<html><head><title>T</title><style>.x{}</style></head><body>
          <h1>T</h1>
          <table class="infobox"><tr><th>Born</th><td>1930 <a href="Albany,_Georgia">Albany</a></td></tr></table>
          <p>Lead <b>bold</b> text<sup class="reference"><a href="#cite_note-1">[1]</a></sup> with a
             <a href="Soul_music">soul</a> link and an <a href="https://example.com">external</a> one.</p>
          <script>var x = "<p>no</p>";</script>
          <h2>Career <span class="mw-editsection">[edit]</span></h2>
          <ul><li>First</li><li>Second</li></ul>
          <h3>Later</h3><p>Deep.</p>
          <div class="navbox">Nav junk</div>
          <h2>References</h2><ol class="references"><li>Ref text</li></ol>
        </body></html>"##;
        let SourceItem::Article(d) = clean_html(html, meta()) else {
            panic!("not an article")
        };
        assert_eq!(d.sections[0].heading_path, Vec::<String>::new());
        assert!(
            d.sections[0].text.contains("Born: 1930 Albany"),
            "{:?}",
            d.sections[0]
        );
        assert!(d.sections[0]
            .text
            .contains("Lead bold text with a soul link and an external one."));
        assert_eq!(d.sections[1].heading_path, ["Career"]);
        assert_eq!(d.sections[1].text, "First\nSecond");
        assert_eq!(d.sections[2].heading_path, ["Career", "Later"]);
        assert_eq!(d.sections.len(), 3, "empty References section dropped");
        let all: String = d.sections.iter().map(|s| s.text.clone()).collect();
        for junk in ["[1]", "Nav junk", "Ref text", "var x", "[edit]", "<"] {
            assert!(!all.contains(junk), "{junk} leaked: {all}");
        }
        let targets: Vec<_> = d.links.iter().map(|l| l.target.as_str()).collect();
        assert_eq!(targets, ["Albany, Georgia", "Soul music"]);
    }

    #[test]
    fn mwoffliner_footer_after_the_noindex_marker_is_dropped() {
        // The shape of every page in the sample ZIM (wikipedia_en_ray_charles_mini).
        let html = r##"<html><body><div id="mw-content-text"><p>Lead text.</p>
          </div><!--htdig_noindex--><div><div style="clear:both">
            This article is issued from <a class="external text" href="https://en.wikipedia.org/wiki/T?oldid=1">Wikipedia</a>.
            The text is licensed under Creative Commons.</div></div></body></html>"##;
        let SourceItem::Article(d) = clean_html(html, meta()) else {
            panic!("not an article")
        };
        let all: String = d.sections.iter().map(|s| s.text.clone()).collect();
        assert_eq!(all, "Lead text.");
        assert!(d.links.is_empty(), "{:?}", d.links);
    }

    #[test]
    fn empty_page_is_skipped() {
        assert!(matches!(
            clean_html("<html><body><script>x</script></body></html>", meta()),
            SourceItem::Skipped { .. }
        ));
    }
}
