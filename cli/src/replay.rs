//! `simweb replay merge`: per-replica record logs into one log that strict replay serves
//! from any replica.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Subcommand};

#[derive(Debug, Args)]
pub struct ReplayArgs {
    #[command(subcommand)]
    command: ReplayCommand,
}

#[derive(Debug, Subcommand)]
enum ReplayCommand {
    /// Merge record logs into one (one line per distinct call, ordered by call key):
    /// the same bytes whatever the order of the inputs. A call recorded with different
    /// results is refused and nothing is written.
    Merge(MergeArgs),
}

#[derive(Debug, Args)]
struct MergeArgs {
    /// Where the merged log goes (written atomically; may be one of the inputs).
    #[arg(long)]
    out: PathBuf,
    /// The record logs (`layers.replay.log` of each replica).
    #[arg(required = true)]
    logs: Vec<PathBuf>,
}

pub fn run(args: ReplayArgs) -> anyhow::Result<()> {
    match args.command {
        ReplayCommand::Merge(merge) => {
            let report = simweb_tools::layer::merge_replay_logs(&merge.logs, &merge.out)
                .context("merging replay logs")?;
            let summary = serde_json::to_string(&report).context("rendering the report")?;
            println!("{summary}");
            Ok(())
        }
    }
}
