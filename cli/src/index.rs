//! `simweb index dense --data DIR`: embeds every passage of an ingested corpus with
//! multilingual-e5-small and publishes `<data>/dense` (resumable: run it again after an
//! interruption and it continues from the last finished chunk).

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Subcommand};
use simweb_dense::{default_model_dir, Encoder};
use simweb_policy::ExecutionProvider;
use simweb_wikidump::Corpus;

#[derive(Debug, Args)]
pub struct IndexArgs {
    #[command(subcommand)]
    pub command: IndexCommand,
}

#[derive(Debug, Subcommand)]
pub enum IndexCommand {
    /// Embed every passage and publish the vector index `<data>/dense`.
    Dense(DenseArgs),
}

#[derive(Debug, Args)]
pub struct DenseArgs {
    #[arg(long, env = "SIMWEB_DATA")]
    pub data: PathBuf,
    /// The embedding model directory (default: `$SIMWEB_HOME/models/multilingual-e5-small`,
    /// which `make setup` writes).
    #[arg(long, env = "SIMWEB_DENSE_MODEL")]
    pub model: Option<PathBuf>,
    /// Where the encoder runs: cpu, cuda or cuda:N (no silent fall back).
    #[arg(long, default_value = "cpu")]
    pub device: ExecutionProvider,
    /// ONNX Runtime intra-op threads (default: one per core).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: IndexArgs) -> anyhow::Result<()> {
    match args.command {
        IndexCommand::Dense(args) => dense(args),
    }
}

/// Builds `<data>/dense` for an opened corpus (shared with `simweb ingest --dense`).
pub fn build_dense(
    corpus: &Corpus,
    model: Option<PathBuf>,
    device: ExecutionProvider,
    threads: Option<usize>,
    quiet: bool,
) -> anyhow::Result<simweb_dense::BuildReport> {
    let model = model.unwrap_or_else(default_model_dir);
    let options = simweb_dense::EncoderOptions {
        execution_provider: device,
        intra_threads: threads,
        sessions: 1,
    };
    let encoder = Encoder::load(&model, &options)
        .with_context(|| format!("cannot load the embedding model {}", model.display()))?;
    let bar = if quiet {
        indicatif::ProgressBar::hidden()
    } else {
        let bar = indicatif::ProgressBar::new(0);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "embedding passages {bar:30} {pos}/{len} ({per_sec}, eta {eta})",
            )
            .context("progress template")?,
        );
        bar
    };
    let report = simweb_dense::build(corpus, &encoder, |done, total| {
        bar.set_length(total as u64);
        bar.set_position(done as u64);
    })
    .with_context(|| format!("dense index of {}", corpus.data_dir().display()))?;
    bar.finish_and_clear();
    Ok(report)
}

fn dense(args: DenseArgs) -> anyhow::Result<()> {
    let corpus = Corpus::open(&args.data)
        .with_context(|| format!("cannot open corpus {}", args.data.display()))?;
    let report = build_dense(&corpus, args.model, args.device, args.threads, args.json)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!(
            "dense index {}: {} passages ({} embedded now), {} lists, in {:.1} s, {}",
            report.meta.index_id,
            report.passages,
            report.embedded,
            report.meta.lists,
            report.seconds,
            simweb_dense::DenseIndex::dir(&args.data).display()
        );
    }
    Ok(())
}
