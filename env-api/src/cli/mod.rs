//! Subcommands of the `simweb` binary, one module each.

use clap::Subcommand;

pub mod corpus;
pub mod ingest;
pub mod python;
pub mod rollout;
pub mod search;
pub mod serve;
pub mod tool;

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print the versions of the components this binary was built with.
    Version,
    /// Run Python in the WebAssembly sandbox (`-c CODE` or FILE).
    Python(python::PythonArgs),
    /// Ingest dumps (MediaWiki XML/bz2, Kiwix ZIM, JSONL) into a corpus data dir.
    Ingest(ingest::IngestArgs),
    /// Inspect a corpus: `stats`, `get TITLE_OR_URL`.
    Corpus(corpus::CorpusArgs),
    /// Search a corpus from the command line.
    Search(search::SearchArgs),
    /// Call an agent tool (search, visit, google_scholar, parse_file; `list` for schemas)
    /// and print what the agent sees.
    Tool(tool::ToolArgs),
    /// Serve the HTTP API (native, episodes, MCP, compat) over an ingested corpus.
    Serve(serve::ServeArgs),
    /// Run a policy as a deep-research agent over a corpus and write scored
    /// trajectories (ReAct, IterResearch, research-synthesis).
    Rollout(Box<rollout::RolloutArgs>),
}

impl Command {
    /// Whether the command's job is printing to stdout (so a closed pipe ends it).
    pub fn prints_for_pipes(&self) -> bool {
        matches!(
            self,
            Command::Version
                | Command::Python(_)
                | Command::Ingest(_)
                | Command::Corpus(_)
                | Command::Search(_)
                | Command::Tool(_)
        )
    }
}

pub fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Version => {
            println!("simweb {}", env!("CARGO_PKG_VERSION"));
            Ok(())
        }
        Command::Python(args) => python::run(args),
        Command::Ingest(args) => ingest::run(args),
        Command::Corpus(args) => corpus::run(args),
        Command::Search(args) => search::run(args),
        Command::Tool(args) => tool::run(args),
        Command::Serve(args) => serve::run(args),
        Command::Rollout(args) => rollout::run(*args),
    }
}
