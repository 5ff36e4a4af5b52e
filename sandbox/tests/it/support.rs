//! Shared by the sandbox's integration tests: one real sandbox per test process, loaded
//! from the artifacts `make setup` built (the tests fail with "run `make setup`" if not).

use simweb_sandbox::{EngineChoice, Outcome, OutcomeKind, RunOptions, Sandbox};

/// The process's shared sandbox (simweb-testkit: engines compiled into the cache on
/// first use, 16 calls at once).
pub fn sandbox() -> Sandbox {
    simweb_testkit::sandbox()
}

/// Short limits: tests must stay fast even when the guest misbehaves.
pub fn opts() -> RunOptions {
    RunOptions {
        engine: EngineChoice::Std,
        memory_bytes: 256 << 20,
        cpu_ms: 2_000,
        wall_ms: 5_000,
        ..RunOptions::default()
    }
}

pub async fn run(code: &str) -> Outcome {
    run_with(code, &opts()).await
}

pub async fn run_with(code: &str, opts: &RunOptions) -> Outcome {
    sandbox()
        .run(code, opts)
        .await
        .unwrap_or_else(|e| panic!("host error for {code:?}: {e}"))
}

/// Asserts a clean run and returns its stdout.
pub fn ok(o: &Outcome) -> &str {
    assert_eq!(o.kind, OutcomeKind::Ok, "not ok: {o:#?}");
    assert_eq!(o.exit_code, 0, "{o:#?}");
    &o.stdout
}

/// Asserts an uncaught Python exception whose traceback mentions `name`.
pub fn raised(o: &Outcome, name: &str) {
    match &o.kind {
        OutcomeKind::PythonException { traceback } => {
            assert!(
                traceback.contains(name),
                "expected {name}, got: {traceback}"
            );
            assert_eq!(o.exit_code, 1);
        }
        other => panic!("expected a {name} exception, got {other:?}: {o:#?}"),
    }
}

/// The sandbox still runs ordinary code correctly.
pub async fn assert_healthy() {
    let o = run("print(sum(range(10)))").await;
    assert_eq!(ok(&o), "45\n");
}
