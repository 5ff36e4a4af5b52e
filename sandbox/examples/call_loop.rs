//! Runs one snippet N times, one call at a time, on one engine, and prints the latency
//! distribution: the loop to profile a single sandbox call under `perf`.
//!
//! usage: cargo run --release -p simweb-sandbox --example call_loop -- [std|sci] [N] [CODE] [CALLERS]
//!
//! With CALLERS > 1, that many tasks share the N calls. `RESET=scan|copy` picks that
//! `MemoryReset` (default: `auto`).

use std::time::Instant;

use simweb_sandbox::{EngineChoice, MemoryReset, OutcomeKind, RunOptions, Sandbox, SandboxConfig};

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let engine = match args.get(1).map(String::as_str) {
        Some("sci") => EngineChoice::Sci,
        _ => EngineChoice::Std,
    };
    let n: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(2000);
    let code = args
        .get(3)
        .cloned()
        .unwrap_or_else(|| "print(1+1)".to_string());
    let callers: usize = args.get(4).and_then(|s| s.parse().ok()).unwrap_or(1).max(1);
    let memory_reset = match std::env::var("RESET").as_deref() {
        Ok("scan") => MemoryReset::Scan,
        Ok("copy") => MemoryReset::Copy,
        _ => MemoryReset::Auto,
    };
    let sandbox = Sandbox::new(SandboxConfig {
        memory_reset,
        ..SandboxConfig::default()
    })
    .expect("sandbox");
    let opts = RunOptions {
        engine,
        ..RunOptions::default()
    };
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..callers {
        let (sandbox, opts, code) = (sandbox.clone(), opts.clone(), code.clone());
        tasks.push(tokio::spawn(async move {
            let mut ms = Vec::with_capacity(n / callers);
            for _ in 0..n / callers {
                let t = Instant::now();
                let outcome = sandbox.run(&code, &opts).await.expect("sandbox");
                assert_eq!(outcome.kind, OutcomeKind::Ok, "{outcome:?}");
                ms.push(t.elapsed().as_secs_f64() * 1e3);
            }
            ms
        }));
    }
    let mut ms = Vec::with_capacity(n);
    for task in tasks {
        ms.extend(task.await.expect("caller task"));
    }
    let rate = ms.len() as f64 / started.elapsed().as_secs_f64();
    ms.sort_by(f64::total_cmp);
    let at = |p: f64| ms[((ms.len() - 1) as f64 * p).round() as usize];
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .map(|l| l.split_whitespace().nth(1).unwrap_or("?").to_string())
            .unwrap_or_else(|| "?".into())
    };
    println!(
        "{} calls, {callers} callers: {rate:.0} runs/s, p50 {:.3} ms, p90 {:.3} ms, p99 {:.3} ms, min {:.3} ms; RSS {} kB, peak {} kB",
        ms.len(),
        at(0.5),
        at(0.9),
        at(0.99),
        ms[0],
        field("VmRSS:"),
        field("VmHWM:")
    );
}
