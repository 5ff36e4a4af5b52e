//! `simweb`: one binary for every job — ingest a dump, inspect a corpus, call a tool,
//! run Python in the sandbox, serve the HTTP API, and produce rollouts.
//!
//! The binary sits on top of the library crates (as ripgrep's `rg` does): each
//! subcommand is one module here, and this file only wires them.

mod corpus;
mod index;
mod ingest;
mod python;
mod replay;
mod rollout;
mod sandbox;
mod search;
mod serve;
mod tasks;
mod tool;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "simweb",
    version,
    about = "An offline, deterministic web for deep-research agents"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Print the versions of the components this binary was built with.
    Version,
    /// Run Python in the WebAssembly sandbox (`-c CODE` or FILE).
    Python(python::PythonArgs),
    /// Ingest dumps (MediaWiki XML/bz2, Kiwix ZIM, JSONL) into a corpus data dir.
    Ingest(ingest::IngestArgs),
    /// Inspect a corpus: `stats`, `get TITLE_OR_URL`.
    Corpus(corpus::CorpusArgs),
    /// Build extra indexes of an ingested corpus: `dense` (embeddings for dense and
    /// hybrid search).
    Index(index::IndexArgs),
    /// Search a corpus from the command line.
    Search(search::SearchArgs),
    /// Call an agent tool (search, visit, google_scholar, parse_file; `list` for schemas)
    /// and print what the agent sees.
    Tool(tool::ToolArgs),
    /// Serve the HTTP API (native, episodes, MCP, compat) over an ingested corpus.
    Serve(serve::ServeArgs),
    /// Sandbox maintenance: `prepare` AOT-compiles the Python engines into the cache.
    Sandbox(sandbox::SandboxArgs),
    /// Run a policy as a deep-research agent over a corpus and write scored
    /// trajectories (ReAct, IterResearch, research-synthesis).
    Rollout(Box<rollout::RolloutArgs>),
    /// Task pools: `synth` verifiable QA from a corpus, `curate` by rollout pass rates.
    Tasks(tasks::TasksArgs),
    /// Record/replay logs: `merge` several replicas' logs into one.
    Replay(replay::ReplayArgs),
}

impl Command {
    /// Whether the command's job is printing to stdout (so a closed pipe ends it).
    fn prints_for_pipes(&self) -> bool {
        matches!(
            self,
            Command::Version
                | Command::Python(_)
                | Command::Ingest(_)
                | Command::Corpus(_)
                | Command::Search(_)
                | Command::Index(_)
                | Command::Tool(_)
        )
    }
}

fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Version => {
            println!("simweb {}", env!("CARGO_PKG_VERSION"));
            Ok(())
        }
        Command::Python(args) => python::run(args),
        Command::Ingest(args) => ingest::run(args),
        Command::Corpus(args) => corpus::run(args),
        Command::Index(args) => index::run(args),
        Command::Search(args) => search::run(args),
        Command::Tool(args) => tool::run(args),
        Command::Serve(args) => serve::run(args),
        Command::Sandbox(args) => sandbox::run(args),
        Command::Rollout(args) => rollout::run(*args),
        Command::Tasks(args) => tasks::run(args),
        Command::Replay(args) => replay::run(args),
    }
}

fn main() -> anyhow::Result<()> {
    init_tracing();
    let cli = Cli::parse();
    if cli.command.prints_for_pipes() {
        die_quietly_on_sigpipe();
    }
    run(cli.command)
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
    let filter =
        EnvFilter::try_from_env("SIMWEB_LOG").unwrap_or_else(|_| EnvFilter::new("info,ort=warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}
