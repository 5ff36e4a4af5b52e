//! `simweb`: one binary for every job — ingest a dump, inspect a corpus, call a tool,
//! run Python in the sandbox, serve the HTTP API, and produce rollouts.
//!
//! Each subcommand lives in its own module under `cli/`; this file only wires them.

mod cli;

use clap::Parser;

#[derive(Debug, Parser)]
#[command(
    name = "simweb",
    version,
    about = "An offline, deterministic web for deep-research agents"
)]
struct Cli {
    #[command(subcommand)]
    command: cli::Command,
}

fn main() -> anyhow::Result<()> {
    init_tracing();
    let cli = Cli::parse();
    cli::run(cli.command)
}

/// Logs go to stderr so that stdout stays clean for the tool output a user may pipe.
fn init_tracing() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("SIMWEB_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}
