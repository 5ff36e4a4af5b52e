//! `simweb rollout`: run a policy (local ONNX model, OpenAI-compatible server or a script)
//! as a deep-research agent over a corpus and write scored trajectories for RL.
//!
//! ```text
//! simweb rollout --data DIR (--model DIR | --openai URL [--openai-model NAME] | --scripted FILE)
//!     --tasks tasks.jsonl --out traj.jsonl [--samples N] [--seed S]
//!     [--paradigm react|iter-research|synthesis] [--max-turns N] [--max-context-tokens N]
//!     [--concurrency N] [--judge-openai URL] [--ep cpu|cuda]
//! ```
//!
//! The output is appended with fsync per line; re-running the same command resumes,
//! skipping the (task, sample) pairs already written. The summary is printed and written
//! to `<out>.summary.json`.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use clap::Args;
use simweb_policy::rollout::{
    read_tasks, AgentConfig, ContextLimits, Judge, Paradigm, RolloutConfig, RolloutRunner,
};
use simweb_policy::{
    ChatBackend, ExecutionProvider, LocalModel, OnnxBackend, OpenAiBackend, OpenAiConfig,
    RunnerOptions, ScriptedBackend,
};
use simweb_sandbox::{EngineChoice, RunOptions, Sandbox, SandboxConfig};
use simweb_tools::react::{DEFAULT_CURRENT_DATE, DEFAULT_MAX_CONTEXT_TOKENS};
use simweb_tools::{Toolbox, ToolboxSpec};
use simweb_wikidump::Corpus;

#[derive(Debug, Args)]
pub struct RolloutArgs {
    /// The corpus data dir written by `simweb ingest`.
    #[arg(long, env = "SIMWEB_DATA")]
    pub data: PathBuf,
    /// A local exported model directory (ONNX Runtime GenAI layout).
    #[arg(long, group = "policy", required_unless_present_any = ["openai", "scripted"])]
    pub model: Option<PathBuf>,
    /// An OpenAI-compatible base URL (vLLM, SGLang), e.g. http://127.0.0.1:8000/v1.
    #[arg(long, group = "policy")]
    pub openai: Option<String>,
    /// The model name sent to --openai.
    #[arg(long, default_value = "default")]
    pub openai_model: String,
    /// API key for --openai / --judge-openai.
    #[arg(long, env = "OPENAI_API_KEY", hide_env_values = true)]
    pub api_key: Option<String>,
    /// A JSONL script of canned turns (`{"key", "turns"}` per line).
    #[arg(long, group = "policy")]
    pub scripted: Option<PathBuf>,
    /// With --scripted: report token ids with this model directory's tokenizer and chat
    /// template.
    #[arg(long, requires = "scripted")]
    pub tokenizer: Option<PathBuf>,
    /// Tasks, one `{"id", "question", "answers": [...]}` per line.
    #[arg(long)]
    pub tasks: PathBuf,
    /// Trajectory JSONL (appended; a rerun resumes).
    #[arg(long)]
    pub out: PathBuf,
    /// Samples per task (a GRPO group).
    #[arg(long, default_value_t = 1)]
    pub samples: usize,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// react, iter-research or synthesis.
    #[arg(long, default_value = "react")]
    pub paradigm: Paradigm,
    /// Research-synthesis: IterResearch agents per episode.
    #[arg(long, default_value_t = 3)]
    pub agents: usize,
    /// Model calls per episode.
    #[arg(long, default_value_t = 100)]
    pub max_turns: usize,
    /// Past this, the agent is told to answer now.
    #[arg(long, default_value_t = DEFAULT_MAX_CONTEXT_TOKENS)]
    pub max_context_tokens: usize,
    /// New tokens per model call.
    #[arg(long, default_value_t = 8192)]
    pub max_new_tokens: usize,
    /// Wall-clock budget per episode, in seconds.
    #[arg(long, default_value_t = 9000)]
    pub max_wall_s: u64,
    /// Tool calls run per model turn.
    #[arg(long, default_value_t = 5)]
    pub max_calls_per_turn: usize,
    #[arg(long, default_value_t = 0.6)]
    pub temperature: f32,
    #[arg(long, default_value_t = 0.95)]
    pub top_p: f32,
    #[arg(long, default_value_t = 1.1)]
    pub presence_penalty: f32,
    /// The fixed "current date" of the system prompt.
    #[arg(long, default_value = DEFAULT_CURRENT_DATE)]
    pub date: String,
    /// Episodes in flight at once.
    #[arg(long, default_value_t = 8)]
    pub concurrency: usize,
    /// Grade answers with an LLM judge at this OpenAI-compatible base URL.
    #[arg(long)]
    pub judge_openai: Option<String>,
    #[arg(long, default_value = "default")]
    pub judge_model: String,
    /// Grade answers with the rollout's own policy (--model or --openai).
    #[arg(long, conflicts_with = "judge_openai")]
    pub judge_self: bool,
    /// Execution provider for --model: cpu, cuda, cuda:N.
    #[arg(long, default_value = "cpu")]
    pub ep: ExecutionProvider,
    /// ONNX Runtime intra-op threads for --model.
    #[arg(long)]
    pub threads: Option<usize>,
    /// Sequences decoded together by the local engine.
    #[arg(long, default_value_t = 16)]
    pub max_batch: usize,
    /// Do not offer the Python tool (no sandbox needed).
    #[arg(long)]
    pub no_python: bool,
    /// Progress on stderr: a live bar on a terminal, else a line every this many seconds
    /// (0: none).
    #[arg(long, default_value_t = 5)]
    pub progress_secs: u64,
}

pub fn run(args: RolloutArgs) -> anyhow::Result<()> {
    let tasks = read_tasks(&args.tasks).context("reading the tasks")?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let toolbox = runtime.block_on(async { toolbox(&args) })?;
    let backend = backend(&args)?;
    let judge = match (&args.judge_openai, args.judge_self) {
        (Some(url), _) => Some(Judge::new(Arc::new(openai(url, &args.judge_model, &args)?))),
        (None, true) => Some(Judge::new(Arc::clone(&backend))),
        (None, false) => None,
    };
    let mut sampling = simweb_policy::rollout::agent::tongyi_sampling();
    sampling.temperature = args.temperature;
    sampling.top_p = args.top_p;
    sampling.presence_penalty = args.presence_penalty;
    sampling.max_new_tokens = args.max_new_tokens;
    let config = RolloutConfig {
        samples: args.samples,
        seed: args.seed,
        paradigm: args.paradigm,
        agent: AgentConfig {
            max_turns: args.max_turns,
            max_context_tokens: args.max_context_tokens,
            max_wall: Duration::from_secs(args.max_wall_s),
            max_calls_per_turn: args.max_calls_per_turn,
            sampling,
            date: args.date.clone(),
            synthesis_agents: args.agents,
            ..AgentConfig::default()
        },
        concurrency: args.concurrency,
        // On a terminal: a live bar (below); in logs: a line every `progress_secs`.
        progress_every: (args.progress_secs > 0 && !std::io::stderr().is_terminal())
            .then(|| Duration::from_secs(args.progress_secs)),
    };
    eprintln!(
        "rollout: {} tasks x {} samples, {:?}, model {}, corpus {}",
        tasks.len(),
        args.samples,
        args.paradigm,
        backend.model_id(),
        toolbox.snapshot_id()
    );
    if let Some(window) = backend.context_window() {
        let limits = ContextLimits::new(args.max_context_tokens, Some(window), args.max_new_tokens);
        if limits.budget < args.max_context_tokens {
            eprintln!(
                "rollout: the model's context window is {window} tokens: the forced answer comes past {} (not --max-context-tokens {})",
                limits.budget, args.max_context_tokens
            );
        }
    }
    let runner = RolloutRunner::new(backend, toolbox, config, judge);
    let bar = (args.progress_secs > 0 && std::io::stderr().is_terminal())
        .then(|| ProgressBarThread::start(runner.progress()));
    let summary = runtime.block_on(runner.run(&tasks, &args.out));
    if let Some(bar) = bar {
        bar.finish();
    }
    let summary =
        summary.with_context(|| format!("running the rollout into {}", args.out.display()))?;
    println!("{summary}");
    Ok(())
}

/// The corpus tools and (unless --no-python) the sandboxed Python tool, seeded with the
/// run seed. Built inside the runtime: the sandbox starts background work on it.
fn toolbox(args: &RolloutArgs) -> anyhow::Result<Arc<Toolbox>> {
    let corpus = Corpus::open(&args.data)
        .with_context(|| format!("opening the corpus at {}", args.data.display()))?;
    let mut spec = ToolboxSpec::new(Arc::new(corpus));
    if !args.no_python {
        let sandbox = Sandbox::new(SandboxConfig::default())
            .context("starting the Python sandbox (run `make setup`, or pass --no-python)")?;
        let opts = RunOptions {
            engine: EngineChoice::Auto,
            seed: args.seed,
            ..RunOptions::default()
        };
        spec = spec.python(sandbox, opts);
    }
    let toolbox = spec.build().context("setting up the tool layers")?;
    Ok(Arc::new(toolbox))
}

fn openai(url: &str, model: &str, args: &RolloutArgs) -> anyhow::Result<OpenAiBackend> {
    let mut config = OpenAiConfig::new(url, model);
    config.api_key = args.api_key.clone();
    OpenAiBackend::new(config).with_context(|| format!("connecting to {url}"))
}

fn backend(args: &RolloutArgs) -> anyhow::Result<Arc<dyn ChatBackend>> {
    if let Some(dir) = &args.model {
        let options = RunnerOptions {
            execution_provider: args.ep,
            intra_threads: args.threads,
        };
        let backend = OnnxBackend::load(dir, &options, args.max_batch)
            .with_context(|| format!("loading the model at {}", dir.display()))?;
        return Ok(Arc::new(backend));
    }
    if let Some(url) = &args.openai {
        return Ok(Arc::new(openai(url, &args.openai_model, args)?));
    }
    if let Some(script) = &args.scripted {
        let mut backend = ScriptedBackend::from_jsonl(script)
            .with_context(|| format!("reading the script {}", script.display()))?;
        if let Some(dir) = &args.tokenizer {
            let (tokenizer, template) = LocalModel::load_text_side(dir)
                .with_context(|| format!("loading the tokenizer from {}", dir.display()))?;
            backend = backend.with_tokenizer(tokenizer, template);
        }
        return Ok(Arc::new(backend));
    }
    bail!("choose a policy: --model DIR, --openai URL or --scripted FILE")
}

/// A terminal progress bar over the runner's live counters: episodes done of total,
/// tokens/s and tool calls/s, redrawn a few times a second from its own thread.
struct ProgressBarThread {
    stop: Arc<std::sync::atomic::AtomicBool>,
    handle: std::thread::JoinHandle<()>,
}

impl ProgressBarThread {
    fn start(progress: Arc<simweb_policy::rollout::runner::Progress>) -> Self {
        use std::sync::atomic::{AtomicBool, Ordering};
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = Arc::clone(&stop);
        let handle = std::thread::spawn(move || {
            let bar = indicatif::ProgressBar::new(0);
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "{spinner} rollout [{bar:30}] {pos}/{len} episodes  {msg}  {elapsed_precise} (eta {eta})",
                )
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
                .progress_chars("=> "),
            );
            let started = std::time::Instant::now();
            loop {
                let done = stopped.load(Ordering::Relaxed);
                let secs = started.elapsed().as_secs_f64().max(1e-9);
                bar.set_length(progress.total.load(Ordering::Relaxed));
                bar.set_position(progress.done.load(Ordering::Relaxed));
                bar.set_message(format!(
                    "{:.1} tokens/s, {:.1} tool calls/s",
                    progress.tokens.load(Ordering::Relaxed) as f64 / secs,
                    progress.tool_calls.load(Ordering::Relaxed) as f64 / secs
                ));
                if done {
                    // The summary that follows repeats the totals.
                    bar.finish_and_clear();
                    return;
                }
                std::thread::sleep(Duration::from_millis(250));
            }
        });
        ProgressBarThread { stop, handle }
    }

    fn finish(self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let _ = self.handle.join();
    }
}
