//! `simweb tasks synth`: verifiable QA tasks from a corpus (simweb-tasks), written as
//! JSONL that `simweb rollout --tasks` reads as is, with the funnel in a summary file.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context};
use clap::Args;
use simweb_tasks::{synthesize, FactGraph, SynthOptions, SynthReport, SynthTask};
use simweb_wikidump::Corpus;

#[derive(Debug, Args)]
pub struct SynthArgs {
    #[arg(long, env = "SIMWEB_DATA")]
    pub data: PathBuf,
    /// Where the tasks go (JSONL); the summary goes to `<out>.summary.json`.
    #[arg(long)]
    pub out: PathBuf,
    /// Tasks to write (fewer when the corpus cannot support that many).
    #[arg(long, default_value_t = 100)]
    pub n: usize,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// en, zh or all (the corpus's languages).
    #[arg(long, default_value = "all")]
    pub lang: String,
    /// Comma-separated levels: 1 one hop, 2 chains of 2–4 hops, 3 multi-constraint.
    #[arg(long, default_value = "1,2,3", value_delimiter = ',')]
    pub levels: Vec<u8>,
    /// Levels 2–3 are rejected when BM25 ranks the answer page within the top K for the
    /// question text.
    #[arg(long, default_value_t = 5)]
    pub shortcut_k: usize,
    /// Rewrite each question through an OpenAI-compatible chat endpoint (base URL, e.g.
    /// `http://127.0.0.1:8000/v1`); formalization and answers stay as synthesized.
    #[arg(long)]
    pub paraphrase: Option<String>,
    /// The model name sent to `--paraphrase`.
    #[arg(long, default_value = "default")]
    pub paraphrase_model: String,
    /// Where the fact graph is cached, keyed by snapshot id (the data dir is never
    /// written) [default: $SIMWEB_CACHE, else ~/.cache/simweb].
    #[arg(long, env = "SIMWEB_CACHE")]
    pub cache: Option<PathBuf>,
}

pub fn run(args: SynthArgs) -> anyhow::Result<()> {
    let corpus = Corpus::open(&args.data)
        .with_context(|| format!("cannot open corpus {}", args.data.display()))?;
    let langs = match args.lang.as_str() {
        "all" => corpus.languages(),
        other => {
            let lang = crate::ingest::parse_lang(other).map_err(anyhow::Error::msg)?;
            if !corpus.languages().contains(&lang) {
                bail!(
                    "the corpus has no {other} pages (it has {:?})",
                    corpus.languages()
                );
            }
            vec![lang]
        }
    };
    let started = Instant::now();
    let cache = simweb_sandbox::Paths::resolve(None, args.cache.as_deref()).cache;
    let graph = FactGraph::load_or_build(&corpus, &cache).context("building the fact graph")?;
    let graph_s = started.elapsed().as_secs_f64();
    let opts = SynthOptions {
        n: args.n,
        seed: args.seed,
        langs,
        levels: args.levels.clone(),
        shortcut_k: args.shortcut_k,
        ..SynthOptions::default()
    };
    let (mut tasks, report) = synthesize(&corpus, &graph, &opts).context("synthesis failed")?;
    if let Some(url) = &args.paraphrase {
        let rewriter = super::paraphrase::Paraphraser::new(url, &args.paraphrase_model)?;
        for t in &mut tasks {
            t.question = rewriter
                .rewrite(&t.question, t.lang)
                .with_context(|| format!("paraphrasing task {}", t.id))?;
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    write_jsonl(&args.out, &tasks)?;
    let summary = simweb_policy::rollout::runner::summary_path(&args.out);
    std::fs::write(&summary, serde_json::to_string_pretty(&report)? + "\n")
        .with_context(|| format!("writing {}", summary.display()))?;
    print_report(&report, tasks.len(), graph_s, elapsed, &args.out);
    Ok(())
}

/// Writes the file next to its destination and renames it, so a failed run never
/// leaves half a task file behind.
fn write_jsonl(out: &Path, items: &[SynthTask]) -> anyhow::Result<()> {
    let tmp = out.with_extension("jsonl.tmp");
    let mut f = std::io::BufWriter::new(
        std::fs::File::create(&tmp).with_context(|| format!("creating {}", tmp.display()))?,
    );
    for item in items {
        serde_json::to_writer(&mut f, item)?;
        f.write_all(b"\n")?;
    }
    f.into_inner()
        .map_err(|e| e.into_error())
        .and_then(|f| f.sync_all().map(|_| f))
        .with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, out).with_context(|| format!("renaming into {}", out.display()))?;
    Ok(())
}

fn print_report(r: &SynthReport, written: usize, graph_s: f64, elapsed: f64, out: &Path) {
    eprintln!(
        "fact graph: {} pages, {} facts ({} answerable, {} linked), {} sentence-backed links, {} aliases ({graph_s:.2} s)",
        r.graph.entities,
        r.graph.facts,
        r.graph.answerable_facts,
        r.graph.entity_facts,
        r.graph.edges,
        r.graph.aliases
    );
    eprintln!(
        "funnel: {} attempts -> {} candidates -> {} unique -> {} evidence-checked -> {} shortcut-free -> {} written",
        r.attempts, r.candidates, r.unique, r.evidence_checked, r.shortcut_free, r.written
    );
    for (reason, n) in &r.rejected {
        eprintln!("  rejected {n:>6} × {reason}");
    }
    let by = |m: &std::collections::BTreeMap<String, usize>| {
        m.iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    eprintln!(
        "by level: {}; by language: {}",
        by(&r.by_level),
        by(&r.by_lang)
    );
    eprintln!(
        "{written} tasks in {elapsed:.2} s ({:.1} tasks/s) -> {}",
        written as f64 / elapsed.max(1e-9),
        out.display()
    );
}
