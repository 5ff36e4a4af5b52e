//! Subcommands of the `simweb` binary, one module each.

use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print the versions of the components this binary was built with.
    Version,
}

pub fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Version => {
            println!("simweb {}", env!("CARGO_PKG_VERSION"));
            Ok(())
        }
    }
}
