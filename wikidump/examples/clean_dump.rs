//! Reads a MediaWiki dump and prints its cleaned articles, or measures the reader +
//! cleaner alone (no store, no index).
//!
//! ```text
//! cargo run --release -p simweb-wikidump --example clean_dump -- DUMP [--title T] [--jsonl] [--zh-variant zh-hant]
//! cargo run --release -p simweb-wikidump --example clean_dump -- DUMP --bench
//! ```
//! `--bench` prints one JSON line: decompressed XML bytes, pages, articles, seconds.

use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use simweb_wikidump::mediawiki::{open_dump, DumpOptions};
use simweb_wikidump::wikitext::{clean_page, CleanOptions, ZhVariant};
use simweb_wikidump::SourceItem;

fn main() {
    if let Err(e) = run() {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let mut path: Option<PathBuf> = None;
    let mut title: Option<String> = None;
    let mut jsonl = false;
    let mut bench = false;
    let mut clean_opts = CleanOptions::default();
    let mut dump_opts = DumpOptions::default();
    while let Some(a) = args.next() {
        match a.as_str() {
            "--title" => title = args.next(),
            "--jsonl" => jsonl = true,
            "--bench" => bench = true,
            "--threads" => dump_opts.threads = args.next().ok_or("--threads N")?.parse()?,
            "--zh-variant" => {
                clean_opts.zh_variant = args.next().ok_or("--zh-variant V")?.parse::<ZhVariant>()?
            }
            _ => path = Some(PathBuf::from(a)),
        }
    }
    let path = path.ok_or("usage: clean_dump DUMP [--title T] [--jsonl] [--bench]")?;
    let start = Instant::now();
    let (info, mut pages) = open_dump(&path, &dump_opts)?;
    let (mut n_pages, mut articles, mut redirects, mut skipped) = (0u64, 0u64, 0u64, 0u64);
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    for page in pages.by_ref() {
        let page = page?;
        n_pages += 1;
        if title.as_ref().is_some_and(|t| *t != page.title) {
            continue;
        }
        let item = clean_page(&page, &info, &clean_opts);
        match &item {
            SourceItem::Article(_) => articles += 1,
            SourceItem::Redirect(_) => redirects += 1,
            SourceItem::Skipped { .. } => skipped += 1,
        }
        if bench {
            continue;
        }
        match item {
            SourceItem::Article(doc) if jsonl => writeln!(out, "{}", serde_json::to_string(&doc)?)?,
            SourceItem::Article(doc) => {
                writeln!(out, "# {} <{}> [{}]", doc.title, doc.url, doc.id)?;
                for s in &doc.sections {
                    if !s.heading_path.is_empty() {
                        writeln!(out, "\n## {}", s.heading_path.join(" > "))?;
                    }
                    writeln!(out, "{}", s.text)?;
                }
                writeln!(out, "\n[categories] {}", doc.categories.join(" | "))?;
                let links: Vec<String> = doc
                    .links
                    .iter()
                    .take(30)
                    .map(|l| format!("{} ({})", l.target, l.anchor))
                    .collect();
                writeln!(out, "[links: {}] {}\n", doc.links.len(), links.join("; "))?;
            }
            SourceItem::Redirect(r) if !jsonl => writeln!(
                out,
                "-> {} => {}{}",
                r.from,
                r.to,
                r.fragment.map(|f| format!("#{f}")).unwrap_or_default()
            )?,
            SourceItem::Skipped { title, reason } if !jsonl => {
                writeln!(out, "-- skipped {title}: {reason}")?
            }
            _ => {}
        }
    }
    let secs = start.elapsed().as_secs_f64();
    if bench {
        writeln!(
            out,
            "{{\"xml_bytes\":{},\"pages\":{n_pages},\"articles\":{articles},\"redirects\":{redirects},\"skipped\":{skipped},\"seconds\":{secs:.4}}}",
            pages.xml_position()
        )?;
    }
    Ok(())
}
