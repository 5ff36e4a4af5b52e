//! `simweb tasks curate` (being written).

use clap::Args;

#[derive(Debug, Args)]
pub struct CurateArgs {}

pub fn run(_args: CurateArgs) -> anyhow::Result<()> {
    anyhow::bail!("simweb tasks curate is not built yet")
}
