//! `simweb python`: run Python in the WebAssembly sandbox, like `python -c CODE` /
//! `python FILE` but isolated (no network, no host files) and deterministic.
//!
//! Without `--json` the program's stdout/stderr are passed through and the process exits
//! with its exit code (124 timeout, 137 memory limit, 153 scratch quota, 125 engine error);
//! with `--json` the whole `Outcome` is printed as one JSON object.

use std::ffi::OsString;
use std::io::{Read, Write};
use std::path::PathBuf;

use anyhow::{bail, Context};
use simweb_sandbox::{EngineChoice, OutcomeKind, RunOptions, Sandbox, SandboxConfig};

#[derive(Debug, clap::Args)]
pub struct PythonArgs {
    /// Program passed in as a string (as `python -c`).
    #[arg(short = 'c', value_name = "CODE", conflicts_with = "file")]
    code: Option<OsString>,
    /// Program read from a file (`-` = stdin).
    #[arg(value_name = "FILE")]
    file: Option<PathBuf>,
    /// Engine: std (stdlib only, fast), sci (numpy/pandas/scipy/sympy), auto (from imports).
    #[arg(long, env = "SIMWEB_PYTHON_ENGINE", default_value = "auto")]
    engine: EngineChoice,
    /// Memory cap in MiB.
    #[arg(long, env = "SIMWEB_PYTHON_MEMORY_MB", default_value_t = 512)]
    memory_mb: u64,
    /// CPU budget in milliseconds.
    #[arg(long, env = "SIMWEB_PYTHON_CPU_MS", default_value_t = 30_000)]
    cpu_ms: u64,
    /// Wall-clock limit in milliseconds (includes `time.sleep`).
    #[arg(long, env = "SIMWEB_PYTHON_WALL_MS", default_value_t = 60_000)]
    wall_ms: u64,
    /// Cap per output stream in bytes.
    #[arg(long, env = "SIMWEB_PYTHON_OUTPUT_CAP", default_value_t = 1 << 20)]
    output_cap: usize,
    /// Seed for the guest's randomness (same seed, same output).
    #[arg(long, env = "SIMWEB_PYTHON_SEED", default_value_t = 0)]
    seed: u64,
    /// Print the outcome (stdout, stderr, exit code, kind, engine, duration) as JSON.
    #[arg(long)]
    json: bool,
}

pub fn run(args: PythonArgs) -> anyhow::Result<()> {
    let code = read_code(&args)?;
    let opts = RunOptions {
        engine: args.engine,
        memory_bytes: args.memory_mb.saturating_mul(1 << 20),
        cpu_ms: args.cpu_ms,
        wall_ms: args.wall_ms,
        output_cap: args.output_cap,
        seed: args.seed,
        ..RunOptions::default()
    };
    let engine = Sandbox::resolve_engine(opts.engine, &String::from_utf8_lossy(&code));
    let cfg = SandboxConfig {
        max_concurrency: 1,
        std_engine: engine == simweb_sandbox::Engine::Std,
        sci_engine: Some(engine == simweb_sandbox::Engine::Sci),
        // One call, one caller: the lowest-latency reset.
        memory_reset: simweb_sandbox::MemoryReset::Scan,
        ..SandboxConfig::default()
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let outcome = runtime.block_on(async {
        let sandbox = Sandbox::new(cfg).context("loading the python sandbox")?;
        sandbox
            .run_bytes(&code, &opts)
            .await
            .context("running python in the sandbox")
    })?;
    if args.json {
        println!("{}", serde_json::to_string(&outcome)?);
        return Ok(());
    }
    std::io::stdout().write_all(outcome.stdout.as_bytes())?;
    std::io::stdout().flush()?;
    let mut err = std::io::stderr();
    err.write_all(outcome.stderr.as_bytes())?;
    match &outcome.kind {
        OutcomeKind::Ok | OutcomeKind::PythonException { .. } => {}
        OutcomeKind::Timeout => writeln!(err, "simweb python: time limit reached")?,
        OutcomeKind::MemoryLimit => writeln!(err, "simweb python: memory limit reached")?,
        OutcomeKind::ScratchLimit => writeln!(
            err,
            "simweb python: scratch quota reached (more than {} bytes or {} files in /tmp)",
            opts.scratch_bytes, opts.scratch_files
        )?,
        OutcomeKind::OutputTruncated => writeln!(
            err,
            "simweb python: output truncated at {} bytes",
            opts.output_cap
        )?,
        OutcomeKind::EngineError { message } => writeln!(err, "simweb python: {message}")?,
    }
    err.flush()?;
    std::process::exit(outcome.exit_code);
}

/// The program's bytes, unvalidated: invalid UTF-8 is reported by the sandbox as the
/// `SyntaxError` Python itself would give.
fn read_code(args: &PythonArgs) -> anyhow::Result<Vec<u8>> {
    use std::os::unix::ffi::OsStrExt;
    match (&args.code, &args.file) {
        (Some(code), None) => Ok(code.as_bytes().to_vec()),
        (None, Some(path)) if path.as_os_str() == "-" => {
            let mut buf = Vec::new();
            std::io::stdin()
                .read_to_end(&mut buf)
                .context("reading the program from stdin")?;
            Ok(buf)
        }
        (None, Some(path)) => {
            std::fs::read(path).with_context(|| format!("reading {}", path.display()))
        }
        _ => bail!("give the program as `-c CODE` or as a FILE (`-` for stdin)"),
    }
}
