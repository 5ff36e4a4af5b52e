//! `simweb sandbox prepare`: AOT-compile the Python sandbox's engines into the cache
//! (`$SIMWEB_CACHE/sandbox/<engine>-<key>.cwasm`) once, so that `simweb serve`, `simweb
//! python` and the tests only load them. `make run` calls it with the same release binary
//! it serves with, so the sandbox costs no second build.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Subcommand};

#[derive(Debug, Args)]
pub struct SandboxArgs {
    #[command(subcommand)]
    pub command: SandboxCommand,
}

#[derive(Debug, Subcommand)]
pub enum SandboxCommand {
    /// Compile every engine whose artifacts `make setup` built; cached files are reused.
    Prepare {
        /// Where setup put the artifacts [default: $SIMWEB_HOME, else <workspace>/.simweb].
        #[arg(long, env = "SIMWEB_HOME")]
        home: Option<PathBuf>,
        /// The compile cache [default: $SIMWEB_CACHE, else ~/.cache/simweb].
        #[arg(long, env = "SIMWEB_CACHE")]
        cache: Option<PathBuf>,
    },
}

pub fn run(args: SandboxArgs) -> anyhow::Result<()> {
    match args.command {
        SandboxCommand::Prepare { home, cache } => {
            let paths = simweb_sandbox::Paths::resolve(home.as_deref(), cache.as_deref());
            let started = std::time::Instant::now();
            let done = simweb_sandbox::prepare(&paths).with_context(|| {
                format!(
                    "preparing the sandbox from {} (run `make setup` first)",
                    paths.sandbox().display()
                )
            })?;
            for (engine, path) in done {
                println!("{engine} {}", path.display());
            }
            tracing::info!(
                secs = started.elapsed().as_secs_f64(),
                "sandbox engines compiled and cached"
            );
            Ok(())
        }
    }
}
