//! Python sandbox benchmark (run by `scripts/bench.d/30-sandbox.sh`).
//!
//! Peers, interleaved round by round in one invocation (the machine drifts): the std and
//! sci engines (in-process, fresh instance per run), a native CPython subprocess
//! (`$NATIVE_PYTHON -c`), and Pyodide in Node (loaded once, warm `runPython`).
//! Prints a Markdown report: latency p50/p99 and spread, runs/s with 2 concurrent
//! callers, a CPU-bound loop, and ratios against the std engine.
//!
//! usage: cargo run -p simweb-sandbox --example bench_python -- \
//!          [ROUNDS] [PER_ROUND] [PYODIDE_DIR]

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use simweb_sandbox::{EngineChoice, OutcomeKind, RunOptions, Sandbox, SandboxConfig};

const HELLO: &str = "print(1+1)";
/// Issue #16's sci case: the scientific stack is in the sci snapshot, a native
/// interpreter imports it from disk.
const NUMPY: &str = "import numpy; print(numpy.arange(3).sum())";
const LOOP: &str = "s = 0\nfor i in range(1_000_000):\n    s += i % 7\nprint(s)";

struct Pyodide {
    _child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Pyodide {
    fn start(dir: &str) -> Option<Pyodide> {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/bench/pyodide_server.mjs");
        let copy = format!("{dir}/pyodide_server.mjs");
        std::fs::copy(script, &copy).ok()?;
        let mut child = Command::new("node")
            .arg(&copy)
            .current_dir(dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .ok()?;
        let stdin = child.stdin.take()?;
        let mut stdout = BufReader::new(child.stdout.take()?);
        let mut line = String::new();
        stdout.read_line(&mut line).ok()?;
        eprintln!("pyodide: {}", line.trim());
        Some(Pyodide {
            _child: child,
            stdin,
            stdout,
        })
    }

    fn run(&mut self, code: &str) -> f64 {
        let req = serde_json::json!({ "code": code });
        writeln!(self.stdin, "{req}").expect("pyodide stdin");
        let mut line = String::new();
        self.stdout.read_line(&mut line).expect("pyodide stdout");
        let v: serde_json::Value = serde_json::from_str(&line).expect("pyodide json");
        assert!(v["error"].is_null(), "pyodide error: {v}");
        v["ms"].as_f64().expect("ms")
    }
}

fn native(python: &str, code: &str) -> f64 {
    let t = Instant::now();
    let out = Command::new(python)
        .arg("-c")
        .arg(code)
        .output()
        .expect("native python");
    assert!(out.status.success());
    t.elapsed().as_secs_f64() * 1e3
}

async fn sandboxed(sb: &Sandbox, code: &str, opts: &RunOptions) -> f64 {
    let t = Instant::now();
    let o = sb.run(code, opts).await.expect("sandbox");
    assert_eq!(o.kind, OutcomeKind::Ok, "{o:?}");
    t.elapsed().as_secs_f64() * 1e3
}

fn pct(v: &[f64], p: f64) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(|a, b| a.total_cmp(b));
    let i = ((s.len() as f64 - 1.0) * p).round() as usize;
    s[i.min(s.len() - 1)]
}

#[derive(Default)]
struct Series {
    name: String,
    all: Vec<f64>,
    round_medians: Vec<f64>,
}

impl Series {
    fn new(name: &str) -> Series {
        Series {
            name: name.into(),
            ..Default::default()
        }
    }
    fn push_round(&mut self, v: Vec<f64>) {
        if v.is_empty() {
            return;
        }
        self.round_medians.push(pct(&v, 0.5));
        self.all.extend(v);
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let rounds: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(5);
    let per: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(40);
    let pyodide_dir = args.get(3).cloned();
    let python = std::env::var("NATIVE_PYTHON").unwrap_or_else(|_| "/usr/bin/python3".into());

    let t = Instant::now();
    let sb = Sandbox::new(SandboxConfig {
        max_concurrency: 2,
        ..SandboxConfig::default()
    })
    .expect("sandbox (run `make setup`)");
    let load_ms = t.elapsed().as_secs_f64() * 1e3;
    // The same std engine with a fixed memory reset (`MemoryReset::Copy`) instead of
    // the default `auto`, which picks scan or copy per call.
    let sb_copy = Sandbox::new(SandboxConfig {
        max_concurrency: 2,
        sci_engine: Some(false),
        memory_reset: simweb_sandbox::MemoryReset::Copy,
        ..SandboxConfig::default()
    })
    .expect("sandbox");
    let has_sci = sb.engines().contains(&simweb_sandbox::Engine::Sci);
    let std_opts = RunOptions {
        engine: EngineChoice::Std,
        ..RunOptions::default()
    };
    let sci_opts = RunOptions {
        engine: EngineChoice::Sci,
        memory_bytes: 1 << 30,
        ..RunOptions::default()
    };
    let mut pyo = pyodide_dir.as_deref().and_then(Pyodide::start);

    // Warm-up: first-touch page faults, node JIT.
    for _ in 0..5 {
        sandboxed(&sb, HELLO, &std_opts).await;
        sandboxed(&sb_copy, HELLO, &std_opts).await;
        if has_sci {
            sandboxed(&sb, HELLO, &sci_opts).await;
        }
        if let Some(p) = pyo.as_mut() {
            p.run(HELLO);
        }
        native(&python, HELLO);
    }

    let mut s_std = Series::new("simweb std engine (auto reset)");
    let mut s_copy = Series::new("simweb std engine, copy reset");
    let mut s_sci = Series::new("simweb sci engine");
    let mut s_nat = Series::new(&format!("native `{python} -c` subprocess"));
    let mut s_pyo = Series::new("Pyodide (Node, warm runPython)");
    for _ in 0..rounds {
        let mut v = Vec::new();
        for _ in 0..per {
            v.push(sandboxed(&sb, HELLO, &std_opts).await);
        }
        s_std.push_round(v);
        let mut v = Vec::new();
        for _ in 0..per {
            v.push(sandboxed(&sb_copy, HELLO, &std_opts).await);
        }
        s_copy.push_round(v);
        s_nat.push_round((0..per).map(|_| native(&python, HELLO)).collect());
        if has_sci {
            let mut v = Vec::new();
            for _ in 0..per / 2 {
                v.push(sandboxed(&sb, HELLO, &sci_opts).await);
            }
            s_sci.push_round(v);
        }
        if let Some(p) = pyo.as_mut() {
            s_pyo.push_round((0..per).map(|_| p.run(HELLO)).collect());
        }
    }

    // `import numpy`, interleaved: the sci engine against a native interpreter that has
    // numpy (NUMPY_PYTHON, e.g. the repo venv's; skipped when unset).
    let numpy_python = std::env::var("NUMPY_PYTHON").ok();
    let mut n_sci = Series::new("simweb sci engine");
    let mut n_nat = Series::new("native `python -c` subprocess (venv numpy)");
    if has_sci {
        for _ in 0..rounds {
            n_sci.push_round(sequential_runs(&sb, NUMPY, &sci_opts, per / 2).await);
            if let Some(py) = &numpy_python {
                n_nat.push_round((0..per / 4).map(|_| native(py, NUMPY)).collect());
            }
        }
    }

    // Throughput: 2 concurrent callers for a fixed window each, interleaved.
    let window = Duration::from_secs(3);
    let mut tput: Vec<(String, f64)> = Vec::new();
    tput.push((
        "simweb std engine (auto reset)".into(),
        throughput(&sb, &std_opts, window).await,
    ));
    tput.push((
        "simweb std engine, copy reset".into(),
        throughput(&sb_copy, &std_opts, window).await,
    ));
    tput.push((
        format!("native `{python} -c`"),
        native_throughput(&python, window),
    ));
    if has_sci {
        tput.push((
            "simweb sci engine".into(),
            throughput(&sb, &sci_opts, window).await,
        ));
    }

    // CPU-bound loop, interleaved.
    let mut c_std = Series::new("simweb std engine");
    let mut c_sci = Series::new("simweb sci engine");
    let mut c_nat = Series::new("native subprocess");
    let mut c_pyo = Series::new("Pyodide");
    for _ in 0..rounds {
        c_std.push_round(vec![sandboxed(&sb, LOOP, &std_opts).await]);
        c_nat.push_round(vec![native(&python, LOOP)]);
        if has_sci {
            c_sci.push_round(vec![sandboxed(&sb, LOOP, &sci_opts).await]);
        }
        if let Some(p) = pyo.as_mut() {
            c_pyo.push_round(vec![p.run(LOOP)]);
        }
    }

    println!("Sandbox load (both engines, cached .cwasm): {load_ms:.0} ms\n");
    println!(
        "#### `print(1+1)` latency ({rounds} interleaved rounds x {per} runs; sci {} per round)\n",
        per / 2
    );
    println!("| peer | p50 ms | p99 ms | IQR ms | round medians ms (min-max) | p50 ratio vs std |");
    println!("|---|---|---|---|---|---|");
    let base = pct(&s_std.all, 0.5);
    for s in [&s_std, &s_copy, &s_sci, &s_nat, &s_pyo] {
        if s.all.is_empty() {
            continue;
        }
        let p50 = pct(&s.all, 0.5);
        println!(
            "| {} | {:.2} | {:.2} | {:.2}-{:.2} | {:.2}-{:.2} | {:.2}x |",
            s.name,
            p50,
            pct(&s.all, 0.99),
            pct(&s.all, 0.25),
            pct(&s.all, 0.75),
            s.round_medians
                .iter()
                .cloned()
                .fold(f64::INFINITY, f64::min),
            s.round_medians.iter().cloned().fold(0.0, f64::max),
            p50 / base
        );
    }
    println!(
        "\n#### Throughput, `print(1+1)`, 2 concurrent callers, {}s window each\n",
        window.as_secs()
    );
    println!("| peer | runs/s | ratio vs std |");
    println!("|---|---|---|");
    let base = tput[0].1;
    for (name, r) in &tput {
        println!("| {name} | {r:.0} | {:.2}x |", r / base);
    }
    if !n_sci.all.is_empty() {
        println!(
            "\n#### `{NUMPY}` latency ({rounds} interleaved rounds; sci {} per round)\n",
            per / 2
        );
        println!("| peer | p50 ms | p99 ms | IQR ms | p50 ratio vs sci |");
        println!("|---|---|---|---|---|");
        let base = pct(&n_sci.all, 0.5);
        for s in [&n_sci, &n_nat] {
            if s.all.is_empty() {
                continue;
            }
            println!(
                "| {} | {:.2} | {:.2} | {:.2}-{:.2} | {:.2}x |",
                s.name,
                pct(&s.all, 0.5),
                pct(&s.all, 0.99),
                pct(&s.all, 0.25),
                pct(&s.all, 0.75),
                pct(&s.all, 0.5) / base
            );
        }
    }
    println!("\n#### CPU-bound loop (`for i in range(1_000_000): s += i % 7`), {rounds} interleaved runs\n");
    println!("| peer | median ms | min-max ms | ratio vs std |");
    println!("|---|---|---|---|");
    let base = pct(&c_std.all, 0.5);
    for s in [&c_std, &c_sci, &c_nat, &c_pyo] {
        if s.all.is_empty() {
            continue;
        }
        println!(
            "| {} | {:.1} | {:.1}-{:.1} | {:.2}x |",
            s.name,
            pct(&s.all, 0.5),
            pct(&s.all, 0.0),
            pct(&s.all, 1.0),
            pct(&s.all, 0.5) / base
        );
    }
}

/// `n` sequential sandboxed runs of `code`, in ms each.
async fn sequential_runs(sb: &Sandbox, code: &str, opts: &RunOptions, n: usize) -> Vec<f64> {
    let mut v = Vec::with_capacity(n);
    for _ in 0..n {
        v.push(sandboxed(sb, code, opts).await);
    }
    v
}

async fn throughput(sb: &Sandbox, opts: &RunOptions, window: Duration) -> f64 {
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..2 {
        let sb = sb.clone();
        let opts = opts.clone();
        tasks.push(tokio::spawn(async move {
            let mut n = 0u64;
            while start.elapsed() < window {
                sb.run(HELLO, &opts).await.expect("sandbox");
                n += 1;
            }
            n
        }));
    }
    let mut n = 0;
    for t in tasks {
        n += t.await.expect("task");
    }
    n as f64 / start.elapsed().as_secs_f64()
}

fn native_throughput(python: &str, window: Duration) -> f64 {
    let start = Instant::now();
    let n: u64 = std::thread::scope(|s| {
        let hs: Vec<_> = (0..2)
            .map(|_| {
                s.spawn(|| {
                    let mut n = 0u64;
                    while start.elapsed() < window {
                        native(python, HELLO);
                        n += 1;
                    }
                    n
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().expect("thread")).sum()
    });
    n as f64 / start.elapsed().as_secs_f64()
}
