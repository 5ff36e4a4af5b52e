//! Reading and cleaning the real sample dumps in `../shared/data/wiki` (or
//! `$SIMWEB_WIKI_SAMPLES`): counts, clean text quality, redirects, Chinese variants,
//! multistream equivalence and bad-input errors.

use std::io::{Read, Write};
use std::path::Path;
use std::sync::OnceLock;

use simweb_wikidump::mediawiki::{open_dump, DumpError, DumpInfo, DumpOptions, RawPage};
use simweb_wikidump::wikitext::{clean_page, CleanOptions, ZhVariant};
use simweb_wikidump::{Document, Lang, SourceItem};

use simweb_testkit::{sample, ENWIKI as EN_SAMPLE, ENWIKI_2025 as EN_2025, ZHWIKI as ZH_SAMPLE};

fn read_pages(path: &Path, opts: &DumpOptions) -> (DumpInfo, Vec<RawPage>) {
    let (info, mut pages) = open_dump(path, opts).unwrap();
    let list: Vec<RawPage> = pages.by_ref().map(|p| p.unwrap()).collect();
    // Progress accounting reaches the end of the input file (plain XML stops reading at
    // `</mediawiki>`, before a trailing newline).
    let len = std::fs::metadata(path).unwrap().len();
    let pos = pages.input_position();
    assert!(
        pos <= len && len - pos < 16,
        "{pos} of {len}: {}",
        path.display()
    );
    assert!(pages.xml_position() >= pos);
    (info, list)
}

struct Cleaned {
    articles: Vec<Document>,
    redirects: Vec<simweb_wikidump::Redirect>,
    skipped: Vec<(String, String)>,
}

fn clean_all(info: &DumpInfo, pages: &[RawPage], opts: &CleanOptions) -> Cleaned {
    let mut out = Cleaned {
        articles: Vec::new(),
        redirects: Vec::new(),
        skipped: Vec::new(),
    };
    for page in pages {
        match clean_page(page, info, opts) {
            SourceItem::Article(d) => out.articles.push(d),
            SourceItem::Redirect(r) => out.redirects.push(r),
            SourceItem::Skipped { title, reason } => out.skipped.push((title, reason)),
        }
    }
    out
}

fn full_text(doc: &Document) -> String {
    doc.sections
        .iter()
        .map(|s| s.text.as_str())
        .collect::<Vec<_>>()
        .join("\n")
}

/// Markup that must never survive cleaning.
const LEFTOVERS: &[&str] = &[
    "{{", "}}", "[[", "]]", "<ref", "</ref", "{|", "|}", "<!--", "&nbsp;", "'''", "__TOC__", "-{",
];

fn assert_clean(doc: &Document) {
    let text = full_text(doc);
    for bad in LEFTOVERS {
        assert!(
            !text.contains(bad),
            "{}: leftover {bad:?} in clean text near: {:?}",
            doc.title,
            text.find(bad)
                .map(|p| &text[text.floor_char_boundary(p.saturating_sub(80))
                    ..text.floor_char_boundary((p + 80).min(text.len()))])
        );
    }
    for s in &doc.sections {
        for h in &s.heading_path {
            for bad in LEFTOVERS {
                assert!(
                    !h.contains(bad),
                    "{}: leftover {bad:?} in heading {h:?}",
                    doc.title
                );
            }
        }
    }
}

/// The enwiki sample, read and cleaned once per test binary (several tests look at it).
fn en_sample() -> &'static (DumpInfo, Cleaned) {
    static EN: OnceLock<(DumpInfo, Cleaned)> = OnceLock::new();
    EN.get_or_init(|| {
        let (info, pages) = read_pages(&sample(EN_SAMPLE), &DumpOptions::default());
        let cleaned = clean_all(&info, &pages, &CleanOptions::default());
        (info, cleaned)
    })
}

fn article<'a>(c: &'a Cleaned, title: &str) -> &'a Document {
    c.articles
        .iter()
        .find(|d| d.title == title)
        .unwrap_or_else(|| panic!("article {title} not found"))
}

#[test]
fn enwiki_sample_counts() {
    let (info, c) = en_sample();
    let info = info.clone();
    assert_eq!(info.lang, Lang::En);
    assert_eq!(info.db_name.as_deref(), Some("enwiki"));
    // 206 pages: 205 in namespace 0 (106 articles, 99 redirects) and one redirect in the
    // Wikipedia: namespace (100 <redirect> elements in all), which is skipped like every
    // non-article page.
    assert_eq!(c.articles.len(), 106, "articles");
    assert_eq!(c.redirects.len(), 99, "redirects");
    assert_eq!(c.skipped.len(), 1, "skipped: {:?}", c.skipped);
    assert_eq!(
        c.skipped[0].0,
        "Wikipedia:Adding Wikipedia articles to Nupedia"
    );
    assert!(c.skipped[0].1.contains("namespace 4"), "{:?}", c.skipped);
}

#[test]
fn enwiki_every_article_is_clean_and_structured() {
    let (_, c) = en_sample();
    for doc in &c.articles {
        assert_clean(doc);
        assert!(doc.id.starts_with("enwiki:"), "{}", doc.id);
        assert_eq!(
            doc.url,
            format!(
                "https://en.wikipedia.org/wiki/{}",
                doc.title.replace(' ', "_")
            )
        );
        assert!(doc.timestamp.is_some());
        assert!(
            !full_text(doc).trim().is_empty(),
            "{} has no text",
            doc.title
        );
    }
    // Almost every real article has categories and links.
    let with_cats = c
        .articles
        .iter()
        .filter(|d| !d.categories.is_empty())
        .count();
    let with_links = c.articles.iter().filter(|d| !d.links.is_empty()).count();
    // Disambiguation pages get their category from a template, so have none here.
    assert!(with_cats >= 95, "{with_cats} articles with categories");
    assert!(with_links >= 100, "{with_links} articles with links");
}

#[test]
fn einstein_keeps_infobox_facts_sections_links_categories() {
    let (_, c) = en_sample();
    let doc = article(c, "Albert Einstein");
    let lead = &doc.sections[0];
    assert!(lead.heading_path.is_empty());
    assert!(
        lead.text.contains("14 March 1879"),
        "birth date missing: {}",
        &lead.text[..600.min(lead.text.len())]
    );
    assert!(lead.text.contains("Ulm"), "birth place missing");
    assert!(lead.text.contains("birth place:") || lead.text.contains("birth_place:"));
    assert!(
        lead.text
            .contains("Albert Einstein was a German-born theoretical physicist")
            || lead
                .text
                .contains("was a German-born theoretical physicist"),
        "{}",
        &lead.text[..1500.min(lead.text.len())]
    );
    let headings: Vec<String> = doc
        .sections
        .iter()
        .filter_map(|s| s.heading_path.first().cloned())
        .collect();
    assert!(headings.iter().any(|h| h == "Biography"), "{headings:?}");
    assert!(
        doc.sections.iter().any(|s| s.heading_path.len() == 2),
        "no subsections"
    );
    assert!(!headings
        .iter()
        .any(|h| h == "References" || h == "External links"));
    assert!(
        doc.categories
            .iter()
            .any(|c| c.contains("Nobel laureates in Physics")),
        "{:?}",
        doc.categories
    );
    assert!(
        doc.links.iter().any(|l| l.target == "Theory of relativity"),
        "links: {:?}",
        &doc.links[..10]
    );
    assert!(doc.links.iter().all(|l| !l.target.starts_with("File:")
        && !l.target.starts_with("Category:")
        && !l.target.contains('#')));
}

#[test]
fn alabama_and_anarchism() {
    let (_, c) = en_sample();
    let alabama = article(c, "Alabama");
    assert!(full_text(alabama).contains("Montgomery"), "capital missing");
    assert!(
        alabama.sections[0]
            .text
            .lines()
            .any(|l| l.to_lowercase().starts_with("capital:") && l.contains("Montgomery")),
        "{}",
        &alabama.sections[0].text[..800]
    );
    let anarchism = article(c, "Anarchism");
    let text = full_text(anarchism);
    assert!(text.contains("political philosophy"), "{}", &text[..500]);
    assert!(anarchism
        .sections
        .iter()
        .any(|s| s.heading_path.first().is_some_and(|h| h == "History")));
    assert!(anarchism.categories.iter().any(|c| c == "Anarchism"));
}

#[test]
fn redirect_accessible_computing() {
    let (_, c) = en_sample();
    let r = c
        .redirects
        .iter()
        .find(|r| r.from == "AccessibleComputing")
        .expect("redirect");
    assert_eq!(r.to, "Computer accessibility");
    assert_eq!(r.lang, Lang::En);
}

#[test]
fn enwiki_2025_export_011_without_siteinfo() {
    let opts = DumpOptions::default();
    let (info, pages) = read_pages(&sample(EN_2025), &opts);
    assert_eq!(info.lang, Lang::En);
    assert_eq!(info.site_name, None);
    let c = clean_all(&info, &pages, &CleanOptions::default());
    assert_eq!(c.redirects.len(), 64);
    assert_eq!(c.articles.len(), 6);
    assert!(c.skipped.is_empty(), "{:?}", c.skipped);
    for doc in &c.articles {
        assert_clean(doc);
    }
    // The caller's hint is used when the dump does not say.
    let hinted = DumpOptions {
        lang_hint: Some(Lang::Zh),
        ..DumpOptions::default()
    };
    let (info, _) = open_dump(&sample(EN_2025), &hinted).unwrap();
    assert_eq!(info.lang, Lang::Zh);
}

#[test]
fn zhwiki_counts_variants_and_markup() {
    let (info, pages) = read_pages(&sample(ZH_SAMPLE), &DumpOptions::default());
    assert_eq!(info.lang, Lang::Zh);
    let c = clean_all(&info, &pages, &CleanOptions::default());
    assert_eq!(c.articles.len(), 23);
    assert_eq!(c.skipped.len(), 10);
    for doc in &c.articles {
        assert_clean(doc);
        assert!(doc.id.starts_with("zhwiki:"));
        assert!(doc.url.starts_with("https://zh.wikipedia.org/wiki/"));
    }
    // 文學 is titled in traditional script; its text comes out simplified.
    let lit = article(&c, "文學");
    assert_eq!(lit.url, "https://zh.wikipedia.org/wiki/文學");
    let text = full_text(lit);
    assert!(text.contains("文学"), "{}", &text[..300]);
    assert!(
        !text.contains("文學"),
        "traditional form left in simplified text"
    );
    // The same page in zh-hant keeps traditional forms.
    let hant = CleanOptions {
        zh_variant: ZhVariant::Hant,
        ..CleanOptions::default()
    };
    let page = pages.iter().find(|p| p.title == "文學").unwrap();
    match clean_page(page, &info, &hant) {
        SourceItem::Article(d) => assert!(full_text(&d).contains("文學")),
        other => panic!("{other:?}"),
    }
}

#[test]
fn zh_conversion_markup_is_resolved_per_variant() {
    let (info, pages) = read_pages(&sample(ZH_SAMPLE), &DumpOptions::default());
    // Find an article using -{zh-hans:…;zh-hant:…}- markup and check both variants.
    let page = pages
        .iter()
        .find(|p| p.ns == 0 && p.text.contains("-{zh-hans:"))
        .expect("an article with conversion markup");
    let start = page.text.find("-{zh-hans:").unwrap();
    let block = &page.text[start..start + page.text[start..].find("}-").unwrap() + 2];
    let hans_value = block["-{zh-hans:".len()..]
        .split(';')
        .next()
        .unwrap()
        .trim()
        .to_string();
    match clean_page(page, &info, &CleanOptions::default()) {
        SourceItem::Article(d) => {
            let text = full_text(&d);
            assert!(!text.contains("-{") && !text.contains("}-"));
            assert!(
                text.contains(&hans_value),
                "{hans_value:?} from {block:?} missing"
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn truncated_bz2_fails_with_file_and_offset() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = std::fs::read(sample(EN_SAMPLE)).unwrap();
    let cut = bytes.len() / 2;
    let path = dir.path().join("truncated.xml.bz2");
    std::fs::write(&path, &bytes[..cut]).unwrap();
    for threads in [1, 2] {
        let opts = DumpOptions {
            threads,
            ..DumpOptions::default()
        };
        let err = match open_dump(&path, &opts) {
            Err(e) => e,
            Ok((_, pages)) => pages
                .filter_map(Result::err)
                .next()
                .expect("a truncated dump must end with an error"),
        };
        match &err {
            DumpError::TruncatedBz2 { file, offset } => {
                assert_eq!(file, &path);
                assert!(*offset > 0 && *offset <= cut as u64, "offset {offset}");
            }
            other => panic!("expected TruncatedBz2, got {other:?}"),
        }
        let msg = err.to_string();
        assert!(
            msg.contains("truncated.xml.bz2")
                && msg.contains("unexpected end of bz2 stream at byte"),
            "{msg}"
        );
    }
}

/// Hostile probe (issue 18, "also seen"): invalid UTF-8 in a page used to be reported
/// at byte 0. The error names the byte where the bad sequence starts, and the page.
#[test]
fn invalid_utf8_is_located_at_its_byte() {
    let dir = tempfile::tempdir().unwrap();
    let head = "<mediawiki xml:lang=\"en\"><siteinfo><dbname>enwiki</dbname></siteinfo>\n\
                <page><title>A</title><ns>0</ns><id>1</id><revision><id>2</id><text>hello world ";
    let mut bytes = head.as_bytes().to_vec();
    let bad_at = bytes.len() as u64;
    bytes.extend_from_slice(b"\xff\xfe bad</text></revision></page>\n</mediawiki>\n");
    let path = dir.path().join("bad-utf8.xml");
    std::fs::write(&path, &bytes).unwrap();
    let err = match open_dump(&path, &DumpOptions::default()) {
        Err(e) => e,
        Ok((_, pages)) => pages
            .filter_map(Result::err)
            .next()
            .expect("invalid UTF-8 must be an error"),
    };
    match &err {
        DumpError::Xml { offset, page, .. } => {
            assert_eq!(*offset, bad_at, "{err}");
            assert_eq!(page.as_deref(), Some("A"));
        }
        other => panic!("expected an XML error, got {other:?}"),
    }
    assert!(err.to_string().contains("invalid UTF-8"), "{err}");
}

#[test]
fn unknown_format_and_empty_input() {
    let dir = tempfile::tempdir().unwrap();
    let pdf = dir.path().join("paper.xml.bz2");
    std::fs::write(&pdf, b"%PDF-1.7\n%binary").unwrap();
    let err = open_dump(&pdf, &DumpOptions::default()).err().unwrap();
    let msg = err.to_string();
    assert!(
        msg.contains("paper.xml.bz2")
            && msg.contains("not a MediaWiki XML dump, bz2, ZIM or JSONL")
            && msg.contains("%PDF"),
        "{msg}"
    );

    let empty = dir.path().join("empty.xml");
    std::fs::write(&empty, b"").unwrap();
    let err = open_dump(&empty, &DumpOptions::default()).err().unwrap();
    assert!(matches!(err, DumpError::Empty { .. }), "{err:?}");
    assert!(err.to_string().contains("empty.xml"));

    // bz2 that does not hold MediaWiki XML.
    let bz = dir.path().join("notes.bz2");
    let mut enc = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::fast());
    enc.write_all(b"just some notes\n").unwrap();
    std::fs::write(&bz, enc.finish().unwrap()).unwrap();
    let msg = open_dump(&bz, &DumpOptions::default())
        .err()
        .unwrap()
        .to_string();
    assert!(
        msg.contains("notes.bz2") && msg.contains("not MediaWiki XML"),
        "{msg}"
    );

    // Malformed XML inside a page names the page and an offset.
    let bad = dir.path().join("bad.xml");
    std::fs::write(&bad, "<mediawiki>\n<page><title>Broken</title><ns>0</ns><id>5</id><revision><text>x</revision></page>\n</mediawiki>").unwrap();
    let (_, mut pages) = open_dump(&bad, &DumpOptions::default()).unwrap();
    let msg = pages.next().unwrap().unwrap_err().to_string();
    assert!(
        msg.contains("bad.xml") && msg.contains("Broken") && msg.contains("malformed XML"),
        "{msg}"
    );
    assert!(pages.next().is_none());
}

/// Builds a multistream bz2 (header stream + streams of `per_stream` whole pages, like
/// Wikimedia's) from decompressed XML, and its `offset:pageid:title` index.
fn build_multistream(xml: &str, per_stream: usize) -> (Vec<u8>, String) {
    let mut starts: Vec<usize> = xml.match_indices("<page>").map(|(i, _)| i).collect();
    // Cut at line starts so each stream holds whole lines.
    for s in &mut starts {
        *s = xml[..*s].rfind('\n').map_or(0, |p| p + 1);
    }
    let mut cuts = vec![0];
    cuts.extend(starts.iter().step_by(per_stream).copied());
    cuts.push(xml.len());
    let mut out = Vec::new();
    let mut index = String::new();
    for w in cuts.windows(2) {
        let chunk = &xml[w[0]..w[1]];
        let offset = out.len();
        for (pos, _) in chunk.match_indices("<page>") {
            let page = &chunk[pos..];
            let title = &page[page.find("<title>").unwrap() + 7..page.find("</title>").unwrap()];
            let id = &page[page.find("<id>").unwrap() + 4..page.find("</id>").unwrap()];
            index.push_str(&format!("{offset}:{id}:{title}\n"));
        }
        let mut enc = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::fast());
        enc.write_all(chunk.as_bytes()).unwrap();
        out.extend(enc.finish().unwrap());
    }
    (out, index)
}

#[test]
fn multistream_yields_the_same_pages_as_single_stream() {
    let single = sample(EN_SAMPLE);
    let (_, expected) = read_pages(&single, &DumpOptions::default());
    let mut xml = String::new();
    bzip2::read::MultiBzDecoder::new(std::fs::File::open(&single).unwrap())
        .read_to_string(&mut xml)
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (multi, index) = build_multistream(&xml, 20);
    let multi_path = dir.path().join("multistream.xml.bz2");
    std::fs::write(&multi_path, &multi).unwrap();
    let index_path = dir.path().join("multistream-index.txt.bz2");
    let mut enc = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::fast());
    enc.write_all(index.as_bytes()).unwrap();
    std::fs::write(&index_path, enc.finish().unwrap()).unwrap();

    for threads in [1, 3] {
        let scanned = DumpOptions {
            threads,
            ..DumpOptions::default()
        };
        let (_, pages) = read_pages(&multi_path, &scanned);
        assert_eq!(pages, expected, "scanned boundaries, {threads} threads");
        let indexed = DumpOptions {
            threads,
            multistream_index: Some(index_path.clone()),
            ..DumpOptions::default()
        };
        let (info, pages) = read_pages(&multi_path, &indexed);
        assert_eq!(info.lang, Lang::En);
        assert_eq!(pages, expected, "index boundaries, {threads} threads");
    }

    // A truncated multistream fails cleanly in the parallel path too.
    let cut = multi.len() * 2 / 3;
    let truncated = dir.path().join("multi-truncated.xml.bz2");
    std::fs::write(&truncated, &multi[..cut]).unwrap();
    let (_, pages) = open_dump(
        &truncated,
        &DumpOptions {
            threads: 3,
            ..DumpOptions::default()
        },
    )
    .unwrap();
    let err = pages.filter_map(Result::err).next().expect("error");
    assert!(matches!(err, DumpError::TruncatedBz2 { .. }), "{err:?}");
}

#[test]
fn garbage_markup_never_panics() {
    let info = DumpInfo {
        lang: Lang::En,
        site_name: None,
        db_name: None,
        format: simweb_wikidump::mediawiki::InputFormat::MediaWikiXml,
    };
    let zh = DumpInfo {
        lang: Lang::Zh,
        ..info.clone()
    };
    let pieces = [
        "{{",
        "}}",
        "[[",
        "]]",
        "{|",
        "|}",
        "|-",
        "||",
        "!!",
        "<ref>",
        "</ref>",
        "<ref name=x/>",
        "<!--",
        "-->",
        "'''",
        "''",
        "==",
        "\n",
        "\n== H ==\n",
        "* ",
        "# ",
        ":",
        ";",
        "-{",
        "}-",
        "zh-hans:",
        "|",
        "=",
        "&amp;",
        "&#",
        "[http://x y]",
        "[",
        "]",
        "<nowiki>",
        "</nowiki>",
        "<math>",
        "{{Infobox x|a=",
        "[[File:",
        "[[Category:",
        "數學",
        "é",
        "__TOC__",
        "<br>",
        "{{convert|",
        "{{birth date|",
        "<",
        ">",
        "&",
        "{{{",
        "}}}",
        "[[:",
        "#REDIRECT",
    ];
    // Deterministic pseudo-random sequences of markup pieces.
    let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
    for round in 0..1500 {
        let mut text = String::new();
        let len = 1 + (round % 60);
        for _ in 0..len {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            text.push_str(pieces[(seed % pieces.len() as u64) as usize]);
            if seed.is_multiple_of(3) {
                text.push_str("word ");
            }
        }
        let page = RawPage {
            title: format!("Fuzz {round}"),
            ns: 0,
            id: round as u64,
            timestamp: None,
            redirect: None,
            text,
            byte_offset: 0,
        };
        let a = clean_page(&page, &info, &CleanOptions::default());
        if let SourceItem::Skipped { reason, .. } = &a {
            assert!(
                !reason.contains("internal error"),
                "panic on {:?}",
                page.text
            );
        }
        let b = clean_page(&page, &info, &CleanOptions::default());
        assert_eq!(a, b, "non-deterministic output for {:?}", page.text);
        let _ = clean_page(&page, &zh, &CleanOptions::default());
    }
    // Random bytes (lossily decoded: multi-byte characters next to markup bytes catch
    // slicing at non-character boundaries).
    let alphabet: Vec<char> = "{}[]|=<>!-'&#;:*_ \n\tazAZ09é數學ß€🙂/\"".chars().collect();
    for round in 0..800u64 {
        let mut text = String::new();
        for _ in 0..(round % 200) {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            text.push(alphabet[(seed % alphabet.len() as u64) as usize]);
        }
        for lang_info in [&info, &zh] {
            let page = RawPage {
                title: "Random".into(),
                ns: 0,
                id: round,
                timestamp: None,
                redirect: None,
                text: text.clone(),
                byte_offset: 0,
            };
            match clean_page(&page, lang_info, &CleanOptions::default()) {
                SourceItem::Skipped { reason, .. } => {
                    assert!(!reason.contains("internal error"), "panic on {text:?}")
                }
                SourceItem::Article(_) | SourceItem::Redirect(_) => {}
            }
        }
    }
    // Pathological nesting: many unclosed braces stay linear and do not panic.
    let page = RawPage {
        title: "Deep".into(),
        ns: 0,
        id: 1,
        timestamp: None,
        redirect: None,
        text: "{{a|".repeat(20_000) + &"[[b|".repeat(20_000),
        byte_offset: 0,
    };
    let _ = clean_page(&page, &info, &CleanOptions::default());
}
