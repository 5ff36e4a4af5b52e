//! Shared by the tests that run the `simweb` binary as a user would.

use std::process::{Command, Output};

/// Runs the binary with `args`, without a `SIMWEB_DATA` from the environment. The
/// sandbox engines are compiled into the cache first (once per process), as `make run`
/// does with `simweb sandbox prepare`.
pub fn simweb(args: &[&str]) -> Output {
    simweb_testkit::prepare_sandbox();
    Command::new(env!("CARGO_BIN_EXE_simweb"))
        .args(args)
        .env_remove("SIMWEB_DATA")
        .output()
        .expect("running simweb")
}
