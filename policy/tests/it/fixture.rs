//! Shared test helpers: the fixture model `make setup` generates.

use std::path::PathBuf;

use serde::Deserialize;

/// `.simweb/fixtures/<name>` (under SIMWEB_HOME); panics with the fix when absent.
pub fn fixture(name: &str) -> PathBuf {
    let dir = simweb_policy::runtime::simweb_home()
        .join("fixtures")
        .join(name);
    assert!(
        dir.join("model.onnx").is_file(),
        "fixture model {} is missing: run `make setup` (scripts/setup.d/30-policy-fixture.sh)",
        dir.display()
    );
    if let Err(e) = simweb_policy::runtime::locate_ort_library() {
        panic!("{e}");
    }
    dir
}

#[derive(Debug, Deserialize)]
pub struct Reference {
    pub steps: usize,
    pub cases: Vec<Case>,
}

#[derive(Debug, Deserialize)]
pub struct Case {
    pub prompt: Vec<u32>,
    pub greedy: Vec<Step>,
}

#[derive(Debug, Deserialize)]
pub struct Step {
    pub token: u32,
    pub logprob: f32,
    pub margin: f32,
}

pub fn reference() -> Reference {
    let path = fixture("tiny-moe").join("reference.json");
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

pub fn cpu() -> simweb_policy::RunnerOptions {
    simweb_policy::RunnerOptions {
        intra_threads: Some(1),
        ..Default::default()
    }
}
