//! The Python package (`python/`): strict mypy over it, then its pytest suite, which
//! ingests the sample dumps with this test binary's `simweb` and starts real servers
//! through `simweb.serve` (see python/tests/conftest.py).

use std::path::Path;
use std::process::Command;

use simweb_testkit::{prepare_sandbox, samples, venv_python};

fn python_dir() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../python"))
}

/// Runs `python -m MODULE ARGS` in python/ with the package's tree first on the path
/// (so the tests see these sources even before `make setup` reinstalls them).
fn run_module(module: &str, args: &[&str]) {
    let output = Command::new(venv_python())
        .current_dir(python_dir())
        .args(["-m", module])
        .args(args)
        .env("PYTHONPATH", python_dir().join("src"))
        .env("SIMWEB_BIN", env!("CARGO_BIN_EXE_simweb"))
        .env("SIMWEB_WIKI_SAMPLES", samples())
        .env_remove("SIMWEB_URL")
        .env_remove("SIMWEB_API_KEY")
        .env_remove("SIMWEB_DATA")
        .output()
        .unwrap_or_else(|e| panic!("running {module} (run `make setup` first): {e}"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "{module} failed ({}):\n{stdout}\n{stderr}",
        output.status
    );
    println!("{stdout}");
}

#[test]
fn python_package_is_strictly_typed() {
    run_module("mypy", &["src", "tests", "examples"]);
}

#[test]
fn python_package_tests_pass_against_real_servers() {
    // The servers run the Python sandbox: its engines must be compiled into the cache.
    prepare_sandbox();
    run_module("pytest", &["-q", "-p", "no:cacheprovider", "tests"]);
}
