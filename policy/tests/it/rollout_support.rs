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

/// A policy whose reply depends on which sample of a GRPO group it is playing, so a
/// group can have mixed outcomes (the scripted backend answers every sample alike). The
/// sample is recovered from the call's seed, which the runner derives from (run seed,
/// task id, sample, call): the map below holds every seed the run can use.
pub struct PerSample {
    samples: std::collections::BTreeMap<u64, usize>,
    /// (first user message, sample, turn) -> the reply.
    reply: fn(&str, usize, usize) -> String,
}

impl PerSample {
    pub fn new(
        run_seed: u64,
        task_ids: &[&str],
        samples: usize,
        max_turns: usize,
        reply: fn(&str, usize, usize) -> String,
    ) -> Self {
        use simweb_policy::rollout::seed::{call_seed, sample_seed};
        let mut map = std::collections::BTreeMap::new();
        for task in task_ids {
            for s in 0..samples {
                for call in 0..max_turns {
                    map.insert(call_seed(sample_seed(run_seed, task, s), 0, call), s);
                }
            }
        }
        PerSample {
            samples: map,
            reply,
        }
    }
}

#[async_trait::async_trait]
impl simweb_policy::ChatBackend for PerSample {
    fn model_id(&self) -> &str {
        "per-sample"
    }

    async fn generate(
        &self,
        requests: Vec<simweb_policy::GenRequest>,
    ) -> simweb_policy::error::Result<Vec<simweb_policy::GenResult>> {
        Ok(requests
            .iter()
            .map(|r| {
                let simweb_policy::Prompt::Chat { messages, .. } = &r.prompt else {
                    panic!("chat prompts only");
                };
                let question = messages
                    .iter()
                    .find(|m| m.role == "user")
                    .map_or("", |m| m.content.as_str());
                let turn = messages.iter().filter(|m| m.role == "assistant").count();
                let sample = self.samples[&r.params.seed];
                let text = (self.reply)(question, sample, turn);
                simweb_policy::GenResult {
                    completion_tokens: Some(text.len() / 4),
                    prompt_tokens: None,
                    text,
                    finish_reason: simweb_policy::FinishReason::Stop,
                    prompt_token_ids: None,
                    token_ids: None,
                    logprobs: None,
                }
            })
            .collect())
    }
}
