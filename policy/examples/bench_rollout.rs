//! Benchmark: where a scripted rollout's wall time goes — the environment's tools (search,
//! visit, the Python sandbox) vs the model call (here a script: the floor of any policy)
//! vs the agent's own bookkeeping. Used by `scripts/bench.d/50-rollout.sh`.
//!
//! Ingests the Ray Charles ZIM sample into a temp dir, then runs `--runs` rollouts of
//! `--tasks` distinct tasks (search → visit → python → answer) with `--concurrency`
//! episodes in flight, each run with a fresh toolbox (cold tool cache). Prints a Markdown
//! table: median (min..max) over runs.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use serde_json::json;
use simweb_policy::rollout::{read_tasks, Paradigm, RolloutConfig, RolloutRunner, Summary};
use simweb_policy::{LocalModel, ScriptedBackend, ScriptedConversation};
use simweb_sandbox::{EngineChoice, RunOptions, Sandbox, SandboxConfig};
use simweb_tools::{python, register_corpus_tools, CorpusToolsConfig, LayerConfig, Toolbox};
use simweb_wikidump::{ingest, Corpus, IngestOptions};

const TOPICS: [&str; 12] = [
    "Ray Charles",
    "Georgia",
    "Soul music",
    "Piano",
    "Atlantic Records",
    "Quincy Jones",
    "Blindness",
    "Jazz",
    "Rhythm and blues",
    "Gospel music",
    "Country music",
    "Grammy Award",
];

fn arg(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn script(topic: &str, i: usize) -> ScriptedConversation {
    let url = format!("https://en.wikipedia.org/wiki/{}", topic.replace(' ', "_"));
    let call = |name: &str, args: serde_json::Value| {
        format!(
            "<tool_call>\n{}\n</tool_call>",
            json!({"name": name, "arguments": args})
        )
    };
    ScriptedConversation {
        key: Some(format!("[task {i}]")),
        turns: vec![
            format!("<think>\nSearch first.\n</think>\n\n{}", call("search", json!({"query": [topic]}))),
            format!("<think>\nRead the page.\n</think>\n\n{}", call("visit", json!({"url": [url], "goal": format!("key facts about {topic}")}))),
            format!("<think>\nCompute.\n</think>\n\n<tool_call>\n{{\"name\": \"PythonInterpreter\", \"arguments\": {{}}}}\n<code>\nprint(sum(range({})))\n</code>\n</tool_call>", 1000 + i),
            "<think>\nDone.\n</think>\n\n<answer>42</answer>".into(),
        ],
    }
}

fn median(mut xs: Vec<f64>) -> (f64, f64, f64) {
    xs.sort_by(|a, b| a.total_cmp(b));
    (xs[xs.len() / 2], xs[0], xs[xs.len() - 1])
}

fn main() {
    let runs = arg("--runs", 5);
    let n_tasks = arg("--tasks", 12);
    let concurrency = arg("--concurrency", 4);
    let samples = std::env::var_os("SIMWEB_WIKI_SAMPLES")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/wiki")
        });
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("corpus");
    ingest(
        &[samples.join("wikipedia_en_ray_charles_mini_2020-03.zim")],
        &data,
        &IngestOptions {
            threads: 2,
            ..IngestOptions::default()
        },
    )
    .expect("ingest the ZIM sample");
    let corpus = Arc::new(Corpus::open(&data).expect("open corpus"));
    let tasks_path = dir.path().join("tasks.jsonl");
    let mut tasks_text = String::new();
    let mut conversations = Vec::new();
    for i in 0..n_tasks {
        let topic = TOPICS[i % TOPICS.len()];
        tasks_text.push_str(&format!(
            "{}\n",
            json!({"id": format!("t{i}"), "question": format!("[task {i}] Tell me about {topic}."), "answers": ["42"]})
        ));
        conversations.push(script(topic, i));
    }
    std::fs::write(&tasks_path, tasks_text).expect("write tasks");
    let tasks = read_tasks(&tasks_path).expect("tasks");
    let tokenizer = std::env::args().any(|a| a == "--tokenizer").then(|| {
        LocalModel::load_text_side(simweb_policy::runtime::simweb_home().join("fixtures/tiny-moe"))
            .expect("fixture tokenizer (make setup)")
    });
    let sandbox = Sandbox::new(SandboxConfig {
        sci_engine: Some(false),
        ..SandboxConfig::default()
    })
    .expect("sandbox (make setup)");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");

    let mut rows: Vec<(f64, Summary)> = Vec::new();
    for run in 0..runs {
        let mut tb = Toolbox::new(corpus.snapshot_id(), LayerConfig::default()).expect("toolbox");
        register_corpus_tools(
            &mut tb,
            Arc::clone(&corpus),
            None,
            &CorpusToolsConfig::default(),
        );
        let opts = RunOptions {
            engine: EngineChoice::Std,
            ..RunOptions::default()
        };
        python::register(&mut tb, python::PythonTool::new(sandbox.clone(), opts));
        let mut backend = ScriptedBackend::new(conversations.clone());
        if let Some((t, c)) = &tokenizer {
            backend = backend.with_tokenizer(Arc::clone(t), Arc::clone(c));
        }
        let config = RolloutConfig {
            samples: 1,
            seed: 0,
            paradigm: Paradigm::React,
            concurrency,
            ..RolloutConfig::default()
        };
        let out = dir.path().join(format!("run{run}.jsonl"));
        let runner = RolloutRunner::new(Arc::new(backend), Arc::new(tb), config, None);
        let started = Instant::now();
        let summary = runtime.block_on(runner.run(&tasks, &out)).expect("rollout");
        let wall = started.elapsed().as_secs_f64();
        assert_eq!(summary.terminations.get("answer"), Some(&n_tasks));
        rows.push((wall, summary));
    }
    let col = |f: &dyn Fn(&(f64, Summary)) -> f64| median(rows.iter().map(f).collect());
    let fmt = |(m, lo, hi): (f64, f64, f64), scale: f64, unit: &str| {
        format!(
            "{:.1}{unit} ({:.1}..{:.1})",
            m * scale,
            lo * scale,
            hi * scale
        )
    };
    println!(
        "{runs} runs x {n_tasks} ReAct episodes (search, visit, python, answer), concurrency {concurrency}, scripted policy{}\n",
        if tokenizer.is_some() { " with the Qwen tokenizer + chat template" } else { "" }
    );
    println!("| metric | median (min..max) |\n|---|---|");
    println!("| run wall time | {} |", fmt(col(&|r| r.0), 1.0, " s"));
    println!(
        "| episodes/s | {} |",
        fmt(col(&|r| n_tasks as f64 / r.0), 1.0, "")
    );
    println!(
        "| tool calls/s | {} |",
        fmt(col(&|r| r.1.run.tool_calls_per_s), 1.0, "")
    );
    println!(
        "| share of episode time in tools | {} |",
        fmt(col(&|r| r.1.run.tool_share), 100.0, " %")
    );
    println!(
        "| share in the model call | {} |",
        fmt(col(&|r| r.1.run.model_share), 100.0, " %")
    );
    println!(
        "| rest (agent: parsing, prompts, records) | {} |",
        fmt(
            col(&|r| 1.0 - r.1.run.tool_share - r.1.run.model_share),
            100.0,
            " %"
        )
    );
    println!(
        "| mean episode wall time | {} |",
        fmt(col(&|r| r.1.run.episode_s / n_tasks as f64), 1e3, " ms")
    );
}
