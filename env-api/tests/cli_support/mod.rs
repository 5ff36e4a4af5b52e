//! Shared by the tests that run the `simweb` binary as a user would.

use std::path::PathBuf;
use std::process::{Command, Output};

/// The sample dumps beside the checkout (never copied in).
pub fn samples() -> PathBuf {
    std::env::var_os("SIMWEB_WIKI_SAMPLES")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/wiki"))
}

/// Runs the binary with `args`, without a `SIMWEB_DATA` from the environment.
pub fn simweb(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_simweb"))
        .args(args)
        .env_remove("SIMWEB_DATA")
        .output()
        .expect("running simweb")
}
