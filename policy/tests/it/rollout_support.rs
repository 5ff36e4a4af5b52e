//! Shared pieces of the rollout tests: a real corpus (the Ray Charles ZIM sample from
//! `../shared/data/wiki`, ingested once per test process), real tools over it, the real
//! sandbox, and helpers to write scripts and tasks.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::{json, Value};
use simweb_policy::rollout::{AgentConfig, Paradigm, RolloutConfig};
use simweb_policy::{LocalModel, ScriptedBackend, ScriptedConversation};
use simweb_testkit::Sample;
use simweb_tools::Toolbox;
use simweb_wikidump::Corpus;

/// The Ray Charles ZIM sample, ingested once per test process (simweb-testkit).
pub fn corpus() -> Arc<Corpus> {
    simweb_testkit::corpus(Sample::RayCharles)
}

/// search, visit, google_scholar, parse_file over the corpus, plus `python` (alias
/// `PythonInterpreter`, std engine, short limits, seed 1) in the real sandbox when
/// `with_python`.
pub fn toolbox(with_python: bool) -> Arc<Toolbox> {
    Arc::new(simweb_testkit::toolbox(Sample::RayCharles, with_python))
}

/// The fixture model directory (`make setup`).
pub fn fixture_dir() -> PathBuf {
    super::fixture::fixture("tiny-moe")
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
