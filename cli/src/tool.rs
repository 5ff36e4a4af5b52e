//! `simweb tool NAME --data DIR 'ARGS'`: call one agent tool over a corpus and print
//! exactly what the agent would see (or, with `--json`, the structured result).
//! `simweb tool list --data DIR` prints the tool schemas, one JSON object per line.

use std::io::Read;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{bail, Context};
use clap::Args;
use simweb_tools::{LayerConfig, ReplayMode, ToolboxSpec};
use simweb_wikidump::Corpus;

#[derive(Debug, Args)]
pub struct ToolArgs {
    /// The tool to call (search, visit, google_scholar, parse_file), or `list`.
    pub name: String,
    /// The arguments as a JSON object, e.g. '{"query":["Ray Charles"]}'; `-` reads stdin.
    pub args: Option<String>,
    /// The corpus data dir written by `simweb ingest`.
    #[arg(long, env = "SIMWEB_DATA")]
    pub data: PathBuf,
    /// Print the structured result (text, data, cached, replayed) as JSON.
    #[arg(long)]
    pub json: bool,
    /// Record/replay mode: live, record, replay, replay-or-live.
    #[arg(long, env = "SIMWEB_REPLAY_MODE", default_value = "live")]
    pub replay_mode: ReplayMode,
    /// The record/replay log (JSONL); default `<data>/replay/cli.jsonl`.
    #[arg(long, env = "SIMWEB_REPLAY_LOG")]
    pub replay_log: Option<PathBuf>,
    /// A persistent tool cache directory (sled); memory only when absent.
    #[arg(long, env = "SIMWEB_TOOL_CACHE")]
    pub cache_dir: Option<PathBuf>,
}

pub fn run(args: ToolArgs) -> anyhow::Result<()> {
    let corpus = Corpus::open(&args.data)
        .with_context(|| format!("opening the corpus at {}", args.data.display()))?;
    let mut layers = LayerConfig::default();
    layers.cache.persistent_dir = args.cache_dir.clone();
    layers.replay.mode = args.replay_mode;
    if args.replay_mode != ReplayMode::Live {
        layers.replay.log = Some(
            args.replay_log
                .clone()
                .unwrap_or_else(|| args.data.join("replay").join("cli.jsonl")),
        );
    }
    let toolbox = ToolboxSpec::new(Arc::new(corpus))
        .layers(layers)
        .build()
        .context("setting up the tool layers")?;

    if args.name == "list" {
        for schema in toolbox.schemas() {
            println!("{schema}");
        }
        return Ok(());
    }
    let raw = match args.args.as_deref() {
        None => {
            bail!("missing the arguments: pass a JSON object such as '{{\"query\":[\"...\"]}}'")
        }
        Some("-") => {
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .context("reading the arguments from stdin")?;
            text
        }
        Some(text) => text.to_string(),
    };
    let call_args: serde_json::Value =
        serde_json::from_str(&raw).context("the arguments are not valid JSON")?;

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let output = runtime
        .block_on(toolbox.call(&args.name, &call_args, "cli"))
        .with_context(|| format!("calling `{}`", args.name))?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&output)?);
    } else {
        println!("{}", output.text);
    }
    Ok(())
}
