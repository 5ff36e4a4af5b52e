//! Shared pieces of the rollout tests: a real corpus (the Ray Charles ZIM sample from
//! `../shared/data/wiki`, ingested once per test binary), real tools over it, the real
//! sandbox, and helpers to write scripts and tasks.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use serde_json::{json, Value};
use simweb_policy::rollout::{AgentConfig, Paradigm, RolloutConfig};
use simweb_policy::{LocalModel, ScriptedBackend, ScriptedConversation};
use simweb_sandbox::{EngineChoice, RunOptions, Sandbox, SandboxConfig};
use simweb_tools::{python, register_corpus_tools, CorpusToolsConfig, LayerConfig, Toolbox};
use simweb_wikidump::{ingest, Corpus, IngestOptions};

fn samples() -> PathBuf {
    match std::env::var_os("SIMWEB_WIKI_SAMPLES") {
        Some(p) => PathBuf::from(p),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/wiki"),
    }
}

pub const ZIM: &str = "wikipedia_en_ray_charles_mini_2020-03.zim";

struct Shared {
    _dir: tempfile::TempDir,
    corpus: Arc<Corpus>,
}

pub fn corpus() -> Arc<Corpus> {
    static SHARED: OnceLock<Shared> = OnceLock::new();
    let shared = SHARED.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("corpus");
        let opts = IngestOptions {
            threads: 2,
            ..IngestOptions::default()
        };
        ingest(&[samples().join(ZIM)], &out, &opts).unwrap();
        Shared {
            corpus: Arc::new(Corpus::open(&out).unwrap()),
            _dir: dir,
        }
    });
    Arc::clone(&shared.corpus)
}

/// search, visit, google_scholar, parse_file over the corpus, plus `python` (alias
/// `PythonInterpreter`) in the real sandbox when `with_python`.
pub fn toolbox(with_python: bool) -> Arc<Toolbox> {
    let corpus = corpus();
    let mut tb = Toolbox::new(corpus.snapshot_id(), LayerConfig::default()).unwrap();
    register_corpus_tools(&mut tb, corpus, &CorpusToolsConfig::default());
    if with_python {
        let sandbox = Sandbox::new(SandboxConfig {
            sci_engine: Some(false),
            ..SandboxConfig::default()
        })
        .expect("sandbox artifacts (run `make setup`)");
        let opts = RunOptions {
            engine: EngineChoice::Std,
            cpu_ms: 2_000,
            wall_ms: 5_000,
            seed: 1,
            ..RunOptions::default()
        };
        python::register(&mut tb, python::PythonTool::new(sandbox, opts));
    }
    Arc::new(tb)
}

/// The fixture model directory (`make setup`).
pub fn fixture_dir() -> PathBuf {
    let dir = simweb_policy::runtime::simweb_home()
        .join("fixtures")
        .join("tiny-moe");
    assert!(
        dir.join("model.onnx").is_file(),
        "fixture model {} is missing: run `make setup`",
        dir.display()
    );
    dir
}

/// A scripted backend reporting token ids with the fixture's (real Qwen) tokenizer.
pub fn scripted(conversations: Vec<ScriptedConversation>) -> ScriptedBackend {
    let (tokenizer, template) = LocalModel::load_text_side(fixture_dir()).unwrap();
    ScriptedBackend::new(conversations).with_tokenizer(tokenizer, template)
}

pub fn conv(key: &str, turns: &[&str]) -> ScriptedConversation {
    ScriptedConversation {
        key: Some(key.to_owned()),
        turns: turns.iter().map(|t| t.to_string()).collect(),
    }
}

/// A tool call in Tongyi's text form.
pub fn call(name: &str, arguments: Value) -> String {
    format!(
        "<tool_call>\n{}\n</tool_call>",
        json!({"name": name, "arguments": arguments})
    )
}

/// A thinking block as Qwen3's chat template re-renders it, so the conversation stays
/// token-consistent from turn to turn.
pub fn think(text: &str) -> String {
    format!("<think>\n{text}\n</think>\n\n")
}

pub fn write_tasks(dir: &Path, tasks: &[Value]) -> PathBuf {
    let path = dir.join("tasks.jsonl");
    let text: String = tasks.iter().map(|t| format!("{t}\n")).collect();
    std::fs::write(&path, text).unwrap();
    path
}

pub fn config(paradigm: Paradigm, samples: usize, concurrency: usize) -> RolloutConfig {
    RolloutConfig {
        samples,
        seed: 42,
        paradigm,
        agent: AgentConfig {
            max_turns: 8,
            ..AgentConfig::default()
        },
        concurrency,
        progress_every: None,
    }
}

/// The file's lines as JSON, with `timings` removed (the only non-deterministic part).
pub fn lines_without_timings(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| {
            let mut v: Value = serde_json::from_str(l).unwrap();
            v.as_object_mut().unwrap().remove("timings");
            v
        })
        .collect()
}
