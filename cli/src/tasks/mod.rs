//! `simweb tasks`: the task pool of an RL run. `synth` poses verifiable questions from a
//! corpus (simweb-tasks); `curate` keeps the tasks a policy's rollout groups disagree on
//! and writes the cold-start SFT set (simweb-policy's curation).

mod curate;
mod paraphrase;
mod synth;

use clap::{Args, Subcommand};

#[derive(Debug, Args)]
pub struct TasksArgs {
    #[command(subcommand)]
    command: TasksCommand,
}

#[derive(Debug, Subcommand)]
enum TasksCommand {
    /// Synthesize verifiable QA tasks (one hop, chains, multi-constraint) from a corpus.
    Synth(synth::SynthArgs),
    /// Keep the tasks whose rollout groups have mixed outcomes; optionally write SFT data.
    Curate(curate::CurateArgs),
}

pub fn run(args: TasksArgs) -> anyhow::Result<()> {
    match args.command {
        TasksCommand::Synth(a) => synth::run(a),
        TasksCommand::Curate(a) => curate::run(a),
    }
}
