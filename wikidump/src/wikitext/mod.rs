//! Wikitext → clean [`Document`]: section structure, readable text, links, categories
//! and infobox facts, with references, templates, files and markup removed.
//!
//! Three passes, each one concern:
//! 1. [`tags`]: comments and HTML/extension tags (`<ref>` out, `<nowiki>` verbatim);
//! 2. [`render`]: templates (a table of the ones that leave visible text, infoboxes as
//!    `key: value` facts), tables, links (recorded), bold/italic and magic words;
//! 3. [`blocks`]: headings → sections, paragraphs, list items, tidy whitespace.
//!
//! For Chinese, conversion markup is resolved and the text converted to one variant
//! before pass 1 ([`crate::chinese`]).
//!
//! Cleaning never panics on any input and never takes more than a linear multiple of
//! the page size: a step budget stops pathological markup (the page is then skipped
//! with a reason) and a panic in a pass is caught and reported the same way.

mod blocks;
mod entities;
mod render;
mod tags;
mod templates;
mod title;

use std::panic::{catch_unwind, AssertUnwindSafe};

pub use crate::chinese::ZhVariant;
pub use title::{canonical_url, normalize_title, split_fragment};

use crate::chinese;
use crate::mediawiki::{DumpInfo, RawPage};
use crate::model::{Document, Lang, Link, Redirect, Section, SourceItem};

/// Version of the cleaning rules; part of the corpus snapshot id, so bump it whenever
/// the output for the same input changes.
pub const CLEANER_VERSION: &str = "wikitext-1";

/// How to clean pages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CleanOptions {
    /// Chinese variant for zh dumps (conversion markup and script).
    pub zh_variant: ZhVariant,
    /// Pages with more wikitext than this are skipped (a guard, not a quality choice:
    /// the largest real articles are ~1.5 MB).
    pub max_page_bytes: usize,
    /// Keep infobox fields as `key: value` lines at the start of the lead.
    pub infobox_facts: bool,
}

impl Default for CleanOptions {
    fn default() -> Self {
        CleanOptions {
            zh_variant: ZhVariant::Hans,
            max_page_bytes: 8 << 20,
            infobox_facts: true,
        }
    }
}

impl CleanOptions {
    /// A stable description of the options, for the snapshot id.
    pub fn fingerprint(&self) -> String {
        format!(
            "{CLEANER_VERSION};zh={};max={};infobox={}",
            self.zh_variant.code(),
            self.max_page_bytes,
            self.infobox_facts
        )
    }
}

/// The clean content of one article's wikitext.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Cleaned {
    pub sections: Vec<Section>,
    pub categories: Vec<String>,
    pub links: Vec<Link>,
}

/// Turns one dump page into what the ingest stores: an article, a redirect, or a skip
/// with its reason. Never panics.
pub fn clean_page(page: &RawPage, info: &DumpInfo, opts: &CleanOptions) -> SourceItem {
    // A bug in any rule must cost one page, not the ingest.
    match catch_unwind(AssertUnwindSafe(|| clean_page_unguarded(page, info, opts))) {
        Ok(item) => item,
        Err(_) => {
            tracing::warn!(title = %page.title, "wikitext cleaner panicked; page skipped");
            skipped(page, "internal error while cleaning wikitext".into())
        }
    }
}

fn clean_page_unguarded(page: &RawPage, info: &DumpInfo, opts: &CleanOptions) -> SourceItem {
    let lang = info.lang;
    if page.ns != 0 {
        return skipped(page, format!("namespace {} (not an article)", page.ns));
    }
    if let Some(redirect) = redirect_of(page, lang) {
        return SourceItem::Redirect(redirect);
    }
    if page.text.trim().is_empty() {
        return skipped(page, "empty page".into());
    }
    if page.text.len() > opts.max_page_bytes {
        return skipped(
            page,
            format!(
                "page too large ({} bytes of wikitext, limit {})",
                page.text.len(),
                opts.max_page_bytes
            ),
        );
    }
    let cleaned = match clean_wikitext(&page.text, &page.title, lang, opts) {
        Ok(c) => c,
        Err(reason) => return skipped(page, reason),
    };
    if cleaned.sections.iter().all(|s| s.text.trim().is_empty()) {
        return skipped(page, "no text left after cleaning".into());
    }
    SourceItem::Article(Document {
        id: format!("{}wiki:{}", lang.code(), page.id),
        title: page.title.clone(),
        url: canonical_url(&page.title, lang),
        lang,
        timestamp: page.timestamp.clone(),
        sections: cleaned.sections,
        categories: cleaned.categories,
        links: cleaned.links,
    })
}

fn skipped(page: &RawPage, reason: String) -> SourceItem {
    SourceItem::Skipped {
        title: page.title.clone(),
        reason,
    }
}

/// Cleans article wikitext. `Err` carries a skip reason (pathological markup).
pub fn clean_wikitext(
    wikitext: &str,
    title: &str,
    lang: Lang,
    opts: &CleanOptions,
) -> Result<Cleaned, String> {
    // Comments first: `<!--{{x}}-->` would otherwise look like conversion markup `-{…}-`.
    let uncommented = tags::strip_comments(wikitext);
    let source = if lang == Lang::Zh {
        let rules = chinese::PageRules::collect(&uncommented, opts.zh_variant);
        tags::map_outside_verbatim(&uncommented, |text| rules.resolve(text))
    } else {
        uncommented
    };
    let stripped = tags::strip_tags(&source);
    let mut renderer = render::Renderer::new(lang, title, stripped.len());
    let rendered = renderer.render_str(&stripped, 0);
    if renderer.exhausted {
        return Err("markup too complex to clean within the processing budget".into());
    }
    let mut sections = blocks::build_sections(&rendered);
    if opts.infobox_facts && !renderer.infobox.is_empty() {
        let facts: Vec<String> = renderer
            .infobox
            .iter()
            .map(|(k, v)| format!("{}: {}", blocks::tidy(k), blocks::tidy(v)))
            .filter(|line| !line.ends_with(':'))
            .collect();
        let facts = facts.join("\n");
        match sections.first_mut() {
            Some(lead) if lead.heading_path.is_empty() => {
                lead.text = if lead.text.is_empty() {
                    facts
                } else {
                    format!("{facts}\n\n{}", lead.text)
                };
            }
            _ => sections.insert(
                0,
                Section {
                    heading_path: Vec::new(),
                    text: facts,
                },
            ),
        }
    }
    // An empty lead only survives when it is the only section.
    if sections.len() > 1 && sections[0].heading_path.is_empty() && sections[0].text.is_empty() {
        sections.remove(0);
    }
    // Zh link targets were converted with the rest of the wikitext, so they follow the
    // document's script.
    let mut links = renderer.links;
    for link in &mut links {
        link.anchor = blocks::tidy(&link.anchor);
    }
    Ok(Cleaned {
        sections,
        categories: renderer.categories,
        links,
    })
}

/// A redirect page's target: from `<redirect title>` and/or `#REDIRECT [[Target#Frag]]`.
fn redirect_of(page: &RawPage, lang: Lang) -> Option<Redirect> {
    let from_text = redirect_target_in_text(&page.text);
    let (to, fragment) = match (&page.redirect, from_text) {
        (Some(attr), Some(text_target)) => {
            let (attr_title, attr_frag) = split_fragment(attr, lang);
            let (text_title, text_frag) = split_fragment(&text_target, lang);
            let frag = attr_frag.or(if text_title == attr_title {
                text_frag
            } else {
                None
            });
            (attr_title, frag)
        }
        (Some(attr), None) => split_fragment(attr, lang),
        (None, Some(text_target)) => split_fragment(&text_target, lang),
        (None, None) => return None,
    };
    if to.is_empty() {
        return None;
    }
    Some(Redirect {
        lang,
        from: normalize_title(&page.title, lang),
        to,
        fragment,
    })
}

/// `#REDIRECT [[Target#Section]]` (any case; also `#重定向`) → `Target#Section`.
fn redirect_target_in_text(text: &str) -> Option<String> {
    let t = text.trim_start();
    let keyword_len = ["#redirect", "#重定向"]
        .iter()
        .find(|k| {
            t.as_bytes()
                .get(..k.len())
                .is_some_and(|head| head.eq_ignore_ascii_case(k.as_bytes()))
        })
        .map(|k| k.len())?;
    let rest = &t[keyword_len..];
    let rest = rest.trim_start().trim_start_matches(':').trim_start();
    let inner = rest.strip_prefix("[[")?;
    let end = inner.find("]]")?;
    let target = inner[..end].split('|').next()?.trim();
    (!target.is_empty()).then(|| target.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clean(text: &str) -> Cleaned {
        clean_wikitext(text, "Test", Lang::En, &CleanOptions::default()).unwrap()
    }

    fn all_text(c: &Cleaned) -> String {
        c.sections
            .iter()
            .map(|s| s.text.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn links_templates_and_refs() {
        let c = clean(
            "'''Albert''' was a [[physicist|theoretical physicist]] from [[Ulm]]s.<ref>{{cite web|title=x}}</ref> \
             He moved {{convert|5|km}} in {{nowrap|one day}} and said {{lang|fr|bonjour}}.{{citation needed|date=May 2020}}\n\
             [[Category:Physicists|Einstein]] [[File:A.jpg|thumb|A [[caption]]]] [[de:Albert Einstein]]",
        );
        let text = all_text(&c);
        assert_eq!(
            text,
            "Albert was a theoretical physicist from Ulms. He moved 5 km in one day and said bonjour."
        );
        assert_eq!(c.categories, vec!["Physicists".to_string()]);
        let targets: Vec<&str> = c.links.iter().map(|l| l.target.as_str()).collect();
        assert_eq!(targets, vec!["Physicist", "Ulm"]);
        assert_eq!(c.links[1].anchor, "Ulms");
    }

    #[test]
    fn inline_templates_keep_their_text() {
        let c = clean(
            "Water is {{chem|H|2|O}}; {{SimpleNuclide2|Carbon|14}} decays; \
             {{birth date and age|1961|8|4}}; {{frac|1|2}} of {{convert|3|-|5|mi|km}}; \
             {{nihongo|Tokyo|東京|Tōkyō}} {{as of|2020}}, {{hlist|a|b}}{{efn|note}}{{sfn|X|2000}}. \
             {{formatnum:4903185}} {{lc:ABC}}{{#if:x|y}}{{DEFAULTSORT:Z}}",
        );
        assert_eq!(
            all_text(&c),
            "Water is H2O; Carbon-14 decays; 4 August 1961; 1/2 of 3–5 mi; Tokyo As of 2020, a · b. 4,903,185 abc"
        );
    }

    #[test]
    fn infobox_facts_lead_the_page() {
        let c = clean(
            "{{Infobox person\n| name = Albert Einstein\n| image = E.jpg\n| birth_date = {{birth date|1879|3|14}}\n| birth_place = [[Ulm]], [[Kingdom of Württemberg|Württemberg]]\n}}\nText.",
        );
        assert_eq!(
            c.sections[0].text,
            "name: Albert Einstein\nbirth date: 14 March 1879\nbirth place: Ulm, Württemberg\n\nText."
        );
    }

    #[test]
    fn generic_infobox_pairs_labels_with_data() {
        let c = clean("{{Infobox\n| title = X\n| label1 = Capital\n| data1 = [[Montgomery]]\n| header2 = Area\n| data3 = 42\n}}Body.");
        assert_eq!(
            c.sections[0].text,
            "title: X\nCapital: Montgomery\ndata3: 42\n\nBody."
        );
    }

    #[test]
    fn tables_become_rows() {
        let c = clean("Intro\n{| class=\"wikitable\"\n|+ Caption\n|-\n! A !! B\n|-\n| style=\"x\" | 1 || [[Two]]\n|}\nAfter");
        assert_eq!(
            all_text(&c),
            "Intro\n\nCaption\n\nA | B\n\n1 | Two\n\nAfter"
        );
    }

    #[test]
    fn redirect_keyword_is_case_insensitive_and_safe() {
        assert_eq!(
            redirect_target_in_text("#redirect [[A#b]]").as_deref(),
            Some("A#b")
        );
        assert_eq!(
            redirect_target_in_text("#重定向 [[数学]]").as_deref(),
            Some("数学")
        );
        assert_eq!(redirect_target_in_text("#REDİRECT [[X]]"), None);
        assert_eq!(redirect_target_in_text("#重"), None);
    }

    #[test]
    fn redirects_with_fragment() {
        let info = DumpInfo {
            lang: Lang::En,
            site_name: None,
            db_name: None,
            format: crate::mediawiki::InputFormat::MediaWikiXml,
        };
        let page = RawPage {
            title: "Foo_bar".into(),
            ns: 0,
            id: 1,
            timestamp: None,
            redirect: Some("Target page".into()),
            text: "#REDIRECT [[target page#History]] {{R from move}}".into(),
            byte_offset: 0,
        };
        match clean_page(&page, &info, &CleanOptions::default()) {
            SourceItem::Redirect(r) => {
                assert_eq!(r.from, "Foo bar");
                assert_eq!(r.to, "Target page");
                assert_eq!(r.fragment.as_deref(), Some("History"));
            }
            other => panic!("{other:?}"),
        }
    }
}
