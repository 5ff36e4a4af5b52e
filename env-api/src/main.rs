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
    if cli.command.prints_for_pipes() {
        die_quietly_on_sigpipe();
    }
    cli::run(cli.command)
}

/// `simweb corpus get X | head` should end quietly, like any Unix filter, rather than
/// panic in `println!` once `head` closes the pipe. Rust ignores SIGPIPE by default;
/// the printing commands restore the default action. Long-running commands (the server,
/// rollouts) keep ignoring it and handle EPIPE on their sockets as errors.
fn die_quietly_on_sigpipe() {
    #[cfg(unix)]
    // SAFETY: called once at start-up, before any thread exists; SIG_DFL is a valid action.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
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
