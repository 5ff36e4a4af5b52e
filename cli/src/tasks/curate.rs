//! `simweb tasks curate`: keep the tasks whose rollout groups have mixed outcomes (the
//! only ones GRPO learns from), report the pass rates, and optionally write the cold-start
//! SFT set by rejection sampling. The work is `simweb_policy::rollout::curate`; this
//! module parses arguments, picks default paths and prints.
//!
//! ```text
//! simweb tasks curate --tasks tasks.jsonl --trajectories traj.jsonl [--out curated.jsonl]
//!     [--report report.json] [--metric em|f1|judge] [--threshold 1.0]
//!     [--sft sft.jsonl [--sft-min-tool-calls K] [--sft-max-tokens N] [--sft-per-task one|all]]
//! ```

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use clap::Args;
use simweb_policy::rollout::{curate, read_task_lines, CurateOptions, Metric, PerTask, SftOptions};

#[derive(Debug, Args)]
pub struct CurateArgs {
    /// The task file the rollout ran (any `{"id", "question", ...}` JSONL; extra fields
    /// are kept).
    #[arg(long)]
    pub tasks: PathBuf,
    /// The rollout's trajectory file (`simweb rollout --samples N --out ...`).
    #[arg(long)]
    pub trajectories: PathBuf,
    /// The kept tasks [default: <tasks without .jsonl>.curated.jsonl].
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// The report as JSON [default: <out>.report.json].
    #[arg(long)]
    pub report: Option<PathBuf>,
    /// What solves a task: em (exact match), f1, or judge (the rollout's LLM judge).
    #[arg(long, default_value = "em")]
    pub metric: Metric,
    /// A sample solves its task when its metric is at least this.
    #[arg(long, default_value_t = 1.0)]
    pub threshold: f64,
    /// Write the cold-start SFT set (correct trajectories as chat lines with a loss mask).
    #[arg(long)]
    pub sft: Option<PathBuf>,
    /// SFT: keep trajectories with at least this many tool calls.
    #[arg(long, default_value_t = 0, requires = "sft")]
    pub sft_min_tool_calls: usize,
    /// SFT: keep trajectories that generated at most this many tokens.
    #[arg(long, requires = "sft")]
    pub sft_max_tokens: Option<usize>,
    /// SFT: the first correct trajectory of each task (by sample), or all of them.
    #[arg(long, default_value = "one", requires = "sft")]
    pub sft_per_task: PerTask,
}

/// `tasks.jsonl` → `tasks.curated.jsonl`; another name gets `.curated.jsonl` appended.
fn default_out(tasks: &Path) -> PathBuf {
    let name = tasks.as_os_str().to_string_lossy();
    match name.strip_suffix(".jsonl") {
        Some(stem) => PathBuf::from(format!("{stem}.curated.jsonl")),
        None => PathBuf::from(format!("{name}.curated.jsonl")),
    }
}

fn appended(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

pub fn run(args: CurateArgs) -> anyhow::Result<()> {
    if !args.threshold.is_finite() {
        bail!("--threshold must be a number, not {}", args.threshold);
    }
    let out = args.out.clone().unwrap_or_else(|| default_out(&args.tasks));
    let report_path = args
        .report
        .clone()
        .unwrap_or_else(|| appended(&out, ".report.json"));
    for (name, path) in [
        ("--out", Some(&out)),
        ("--report", Some(&report_path)),
        ("--sft", args.sft.as_ref()),
    ] {
        if let Some(path) = path {
            if path == &args.tasks || path == &args.trajectories {
                bail!(
                    "{name} {} would overwrite an input; choose another path",
                    path.display()
                );
            }
        }
    }
    let tasks = read_task_lines(&args.tasks).context("reading the tasks")?;
    let options = CurateOptions {
        metric: args.metric,
        threshold: args.threshold,
        sft: args.sft.as_ref().map(|_| SftOptions {
            min_tool_calls: args.sft_min_tool_calls,
            max_tokens: args.sft_max_tokens,
            per_task: args.sft_per_task,
        }),
    };
    let mut curation =
        curate(&tasks, &args.trajectories, &options).context("reading the trajectories")?;
    curation
        .write_tasks(&out)
        .context("writing the curated tasks")?;
    if let Some(sft) = &args.sft {
        curation
            .write_sft(&args.trajectories, sft)
            .context("writing the SFT set")?;
    }
    curation
        .write_report(&report_path)
        .context("writing the report")?;
    println!("{}", curation.report);
    eprintln!(
        "curate: {} kept tasks -> {}; report -> {}{}",
        curation.kept_lines().len(),
        out.display(),
        report_path.display(),
        args.sft
            .as_ref()
            .map(|p| format!("; SFT set -> {}", p.display()))
            .unwrap_or_default()
    );
    Ok(())
}
