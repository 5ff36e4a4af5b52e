//! `simweb corpus stats|get|export`: inspect an ingested corpus before any server runs,
//! or hand its passages to another retriever.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Args, Subcommand, ValueEnum};
use simweb_wikidump::{passages, Corpus, Document, Lang};

#[derive(Debug, Args)]
pub struct CorpusArgs {
    #[command(subcommand)]
    pub command: CorpusCommand,
}

#[derive(Debug, Subcommand)]
pub enum CorpusCommand {
    /// Snapshot id, inputs and counts of a corpus.
    Stats {
        #[arg(long, env = "SIMWEB_DATA")]
        data: PathBuf,
        /// Print the manifest as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Print a page's clean text with headings (follows redirects; accepts titles and
    /// Wikipedia URLs).
    Get {
        #[arg(long, env = "SIMWEB_DATA")]
        data: PathBuf,
        /// Restrict the lookup to one language (en or zh).
        #[arg(long, value_parser = super::ingest::parse_lang)]
        lang: Option<Lang>,
        /// Print the stored document as JSON.
        #[arg(long)]
        json: bool,
        /// A title (`Albert Einstein`, `albert_einstein#Early_life`) or URL.
        title_or_url: String,
    },
    /// Write every passage (the chunks simweb ranks and shows) as JSONL, pages in doc-id
    /// order: the same text for a peer retriever (Pyserini, an e5 index) and a corpus
    /// `simweb ingest` reads back.
    Export {
        #[arg(long, env = "SIMWEB_DATA")]
        data: PathBuf,
        /// `wiki18`: Search-R1's layout, `{"id": "0", "contents": "\"Title\"\ntext"}`;
        /// `passages`: `{"id": "DOC#N", "title", "text", "url", "lang"}`.
        #[arg(long, value_enum, default_value = "passages")]
        format: ExportFormat,
        /// The JSONL file to write (written beside, then renamed into place).
        #[arg(long)]
        out: PathBuf,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ExportFormat {
    Wiki18,
    Passages,
}

pub fn run(args: CorpusArgs) -> anyhow::Result<()> {
    match args.command {
        CorpusCommand::Stats { data, json } => {
            let corpus = open(&data)?;
            let m = corpus.manifest();
            if json {
                println!("{}", serde_json::to_string_pretty(m)?);
                return Ok(());
            }
            let (docs, redirects) = corpus.counts();
            println!("snapshot   {}", m.snapshot_id);
            println!(
                "languages  {}",
                corpus
                    .languages()
                    .iter()
                    .map(|l| l.code())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            println!("articles   {}  (store: {docs})", m.totals.articles);
            println!("redirects  {}  (store: {redirects})", m.totals.redirects);
            println!("passages   {}", m.totals.passages);
            println!("skipped    {}", m.totals.skipped);
            for (reason, n) in &m.totals.skipped_by_reason {
                println!("  {n:>7} × {reason}");
            }
            println!("inputs");
            for i in &m.inputs {
                println!(
                    "  {} ({:?}, {}, {} bytes, sha256 {}): {} articles, {} redirects, {} skipped",
                    i.name,
                    i.format,
                    i.lang.map_or("?", Lang::code),
                    i.bytes,
                    &i.sha256[..12.min(i.sha256.len())],
                    i.counts.articles,
                    i.counts.redirects,
                    i.counts.skipped
                );
            }
            Ok(())
        }
        CorpusCommand::Get {
            data,
            lang,
            json,
            title_or_url,
        } => {
            let corpus = open(&data)?;
            let resolved = corpus.resolve(&title_or_url, lang)?.with_context(|| {
                format!("no page titled {title_or_url:?} in {}", data.display())
            })?;
            let doc = corpus.document(&resolved.doc_id)?.with_context(|| {
                format!("document {} is missing from the store", resolved.doc_id)
            })?;
            if json {
                println!("{}", serde_json::to_string_pretty(&doc)?);
                return Ok(());
            }
            if let Some(from) = &resolved.redirected_from {
                eprintln!("(redirected from {from})");
            }
            print!("{}", render(&doc, resolved.fragment.as_deref()));
            Ok(())
        }
        CorpusCommand::Export { data, format, out } => export(&data, format, &out),
    }
}

/// Writes the passages to `out.tmp` and renames it to `out` once complete, so a failed
/// export never leaves a truncated file under the requested name.
fn export(data: &Path, format: ExportFormat, out: &Path) -> anyhow::Result<()> {
    let corpus = open(data)?;
    let tmp = out.with_extension("jsonl.tmp");
    let file =
        std::fs::File::create(&tmp).with_context(|| format!("cannot create {}", tmp.display()))?;
    let mut w = std::io::BufWriter::with_capacity(1 << 20, file);
    let (mut pages, mut lines) = (0u64, 0u64);
    for doc_id in corpus.doc_ids()? {
        let doc = corpus
            .document(&doc_id)?
            .with_context(|| format!("document {doc_id} is missing from the store"))?;
        pages += 1;
        for p in passages(&doc) {
            let line = match format {
                ExportFormat::Wiki18 => serde_json::json!({
                    "id": lines.to_string(),
                    "contents": format!("\"{}\"\n{}", doc.title, p.text),
                }),
                ExportFormat::Passages => serde_json::json!({
                    "id": format!("{}#{}", doc.id, p.ordinal),
                    "title": doc.title,
                    "text": p.text,
                    "url": doc.url,
                    "lang": doc.lang,
                }),
            };
            serde_json::to_writer(&mut w, &line)?;
            w.write_all(b"\n")?;
            lines += 1;
        }
    }
    w.into_inner()
        .map_err(|e| e.into_error())
        .and_then(|f| f.sync_all())
        .with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, out).with_context(|| format!("renaming to {}", out.display()))?;
    eprintln!("{lines} passages of {pages} pages -> {}", out.display());
    Ok(())
}

fn open(data: &std::path::Path) -> anyhow::Result<Corpus> {
    Corpus::open(data).with_context(|| format!("cannot open corpus {}", data.display()))
}

/// Title, URL, then each section under a `#`-style heading by depth.
fn render(doc: &Document, fragment: Option<&str>) -> String {
    let mut out = format!("# {}\n{}\n", doc.title, doc.url);
    if let Some(f) = fragment {
        out.push_str(&format!("(section: {f})\n"));
    }
    for s in &doc.sections {
        out.push('\n');
        if let Some(h) = s.heading_path.last() {
            out.push_str(&format!("{} {h}\n\n", "#".repeat(s.heading_path.len() + 1)));
        }
        out.push_str(&s.text);
        out.push('\n');
    }
    if !doc.categories.is_empty() {
        out.push_str(&format!("\nCategories: {}\n", doc.categories.join(", ")));
    }
    out
}
