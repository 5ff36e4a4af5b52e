//! `simweb ingest`: dumps (MediaWiki XML/bz2, ZIM, JSONL) -> a published corpus data dir.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use simweb_wikidump::chinese::ZhVariant;
use simweb_wikidump::{IngestOptions, Lang};

#[derive(Debug, Args)]
pub struct IngestArgs {
    /// Data dir to create or replace (replaced atomically, only when the ingest succeeds).
    #[arg(long, env = "SIMWEB_DATA")]
    pub out: PathBuf,
    /// Chinese variant that conversion markup resolves to.
    #[arg(long, default_value = "hans", value_parser = parse_variant)]
    pub zh_variant: ZhVariant,
    /// Language for inputs that do not declare one (JSONL): en or zh.
    #[arg(long, value_parser = parse_lang)]
    pub lang_hint: Option<Lang>,
    /// Cleaning threads (0 = all cores).
    #[arg(long, default_value_t = 0, env = "SIMWEB_INGEST_THREADS")]
    pub threads: usize,
    /// Publish the corpus even when the inputs hold no article (by default an empty
    /// result is refused and an existing corpus at --out is kept).
    #[arg(long)]
    pub allow_empty: bool,
    /// A Wikimedia multistream index (`P-index.txt.bz2` for the input `P.xml.bz2`;
    /// repeatable): reading skips the scan for stream boundaries. The corpus and its
    /// snapshot id are the same with or without it.
    #[arg(long = "multistream-index")]
    pub multistream_indexes: Vec<PathBuf>,
    /// Input files; format detected from content. Several inputs make one corpus.
    /// Also embed every passage into the dense index (as `simweb index dense` does
    /// afterwards; the corpus is published first, so an interrupted embedding loses no
    /// ingest and resumes with `simweb index dense`).
    #[arg(long)]
    pub dense: bool,
    /// The embedding model for --dense (default: what `make setup` writes).
    #[arg(long, env = "SIMWEB_DENSE_MODEL", requires = "dense")]
    pub dense_model: Option<PathBuf>,
    #[arg(required = true)]
    pub inputs: Vec<PathBuf>,
}

pub fn parse_lang(s: &str) -> Result<Lang, String> {
    match s.to_ascii_lowercase().as_str() {
        "en" => Ok(Lang::En),
        "zh" => Ok(Lang::Zh),
        other => Err(format!("unknown language {other:?} (expected en or zh)")),
    }
}

fn parse_variant(s: &str) -> Result<ZhVariant, String> {
    s.parse()
}

/// glibc's malloc keeps freed memory at the top of its heaps up to a trim threshold that
/// adapts upwards; over an ingest's millions of short-lived page buffers that left ~150 MB
/// of freed memory resident at 30 K articles. Trimming at every opportunity costs no
/// measurable time (BENCHMARKS.md, "Scale": peak RSS 516 -> 371 MB, same wall time).
fn return_freed_memory_to_the_os() {
    #[cfg(target_env = "gnu")]
    // SAFETY: mallopt only sets an allocator parameter; called before any worker thread.
    unsafe {
        libc::mallopt(libc::M_TRIM_THRESHOLD, 0);
    }
}

pub fn run(args: IngestArgs) -> anyhow::Result<()> {
    return_freed_memory_to_the_os();
    let opts = IngestOptions {
        zh_variant: args.zh_variant,
        lang_hint: args.lang_hint,
        threads: args.threads,
        progress: true,
        allow_empty: args.allow_empty,
        multistream_indexes: args.multistream_indexes,
    };
    let report = simweb_wikidump::ingest(&args.inputs, &args.out, &opts).with_context(|| {
        format!(
            "ingest into {} failed (nothing was published)",
            args.out.display()
        )
    })?;
    eprint!("{}", report.summary());
    if args.dense {
        let corpus = simweb_wikidump::Corpus::open(&report.out)
            .with_context(|| format!("cannot open the new corpus {}", report.out.display()))?;
        let dense =
            super::index::build_dense(&corpus, args.dense_model, Default::default(), None, false)?;
        eprintln!(
            "dense index {}: {} passages in {:.1} s",
            dense.meta.index_id, dense.passages, dense.seconds
        );
    }
    println!("{}", report.out.display());
    Ok(())
}
