//! Tiny-model generation throughput on the CPU at batch 1/4/16, interleaved with the peer:
//! the same graph and the same greedy batched KV-cache loop in Python (onnxruntime + numpy,
//! scripts/fixtures/bench_peer_ort.py). Runs alternate A B A B because this machine's speed
//! drifts; the report gives median and min..max of tokens/s and the median ratio.
//!
//!   cargo run -p simweb-policy --example tokens_per_sec -- [--runs 5 --new 64 --threads 2 --ep cpu]
//!   (scripts/bench.d/40-policy.sh)
//!
//! Needs `make setup` (fixture model, ONNX Runtime, the venv for the peer).

use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

use rand::{Rng, SeedableRng};
use simweb_policy::{ExecutionProvider, LocalModel, RunnerOptions, SamplingParams, TokenRequest};

struct Args {
    runs: usize,
    new_tokens: usize,
    prompt_len: usize,
    threads: usize,
    ep: ExecutionProvider,
    peer: bool,
}

fn parse_args() -> Args {
    let mut args = Args {
        runs: 5,
        new_tokens: 64,
        prompt_len: 16,
        threads: 2,
        ep: ExecutionProvider::Cpu,
        peer: true,
    };
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < argv.len() {
        let value = argv.get(i + 1).cloned().unwrap_or_default();
        match argv[i].as_str() {
            "--runs" => args.runs = value.parse().expect("--runs N"),
            "--new" => args.new_tokens = value.parse().expect("--new N"),
            "--prompt-len" => args.prompt_len = value.parse().expect("--prompt-len N"),
            "--threads" => args.threads = value.parse().expect("--threads N"),
            "--ep" => args.ep = value.parse().expect("--ep cpu|cuda"),
            "--no-peer" => {
                args.peer = false;
                i += 1;
                continue;
            }
            _ => {
                i += 1; // cargo bench passes --bench; ignore unknown flags
                continue;
            }
        }
        i += 2;
    }
    args
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let args = parse_args();
    let home = simweb_policy::runtime::simweb_home();
    let model_dir = home.join("fixtures/tiny-moe");
    assert!(
        model_dir.join("model.onnx").is_file(),
        "{} missing: run `make setup`",
        model_dir.display()
    );
    let options = RunnerOptions {
        execution_provider: args.ep,
        intra_threads: Some(args.threads),
    };
    let (mut generator, _, _) = LocalModel::load(&model_dir, &options)
        .expect("load the fixture")
        .into_generator();
    let python = home.join("venv/bin/python");
    let peer_script =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scripts/fixtures/bench_peer_ort.py");
    let peer = args.peer && args.ep == ExecutionProvider::Cpu && python.is_file();

    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
    let batches = [1usize, 4, 16];
    let mut ours: Vec<Vec<f64>> = vec![Vec::new(); batches.len()];
    let mut theirs: Vec<Vec<f64>> = vec![Vec::new(); batches.len()];
    // Warm-up (first-run allocations, thread pool start).
    let warm = TokenRequest {
        prompt_ids: vec![1; args.prompt_len],
        params: SamplingParams::greedy(4),
    };
    generator.generate(vec![warm]).expect("warm-up");
    for _run in 0..args.runs {
        for (bi, &batch) in batches.iter().enumerate() {
            let requests: Vec<TokenRequest> = (0..batch)
                .map(|_| TokenRequest {
                    prompt_ids: (0..args.prompt_len)
                        .map(|_| rng.random_range(0..150_000))
                        .collect(),
                    // Stop ids cleared: every row generates exactly `new_tokens`.
                    params: SamplingParams {
                        stop_token_ids: vec![],
                        ..SamplingParams::greedy(args.new_tokens)
                    },
                })
                .collect();
            let start = Instant::now();
            let out = generator.generate(requests).expect("generate");
            let secs = start.elapsed().as_secs_f64();
            let tokens: usize = out.iter().map(|g| g.token_ids.len()).sum();
            ours[bi].push(tokens as f64 / secs);
            if peer {
                let output = Command::new(&python)
                    .arg(&peer_script)
                    .args([
                        "--model",
                        &model_dir.to_string_lossy(),
                        "--batch",
                        &batch.to_string(),
                    ])
                    .args([
                        "--new",
                        &args.new_tokens.to_string(),
                        "--prompt-len",
                        &args.prompt_len.to_string(),
                    ])
                    .args(["--threads", &args.threads.to_string()])
                    .output()
                    .expect("run the python peer");
                let line = String::from_utf8_lossy(&output.stdout);
                let v: serde_json::Value = serde_json::from_str(line.trim()).expect("peer output");
                theirs[bi].push(v["new_tokens"].as_f64().unwrap() / v["seconds"].as_f64().unwrap());
            }
        }
    }
    println!(
        "tiny-moe ({}), prompt {} tokens, {} new tokens per row, {} runs, {} intra-op threads",
        args.ep, args.prompt_len, args.new_tokens, args.runs, args.threads
    );
    println!("| batch | simweb tokens/s median (min..max) | python onnxruntime peer tokens/s median (min..max) | ratio (median of per-run ratios) |");
    println!("|---|---|---|---|");
    for (bi, &batch) in batches.iter().enumerate() {
        let (lo, hi) = (
            ours[bi].iter().cloned().fold(f64::MAX, f64::min),
            ours[bi].iter().cloned().fold(0.0, f64::max),
        );
        let med = median(&mut ours[bi].clone());
        if theirs[bi].is_empty() {
            println!("| {batch} | {med:.0} ({lo:.0}..{hi:.0}) | - | - |");
        } else {
            let (plo, phi) = (
                theirs[bi].iter().cloned().fold(f64::MAX, f64::min),
                theirs[bi].iter().cloned().fold(0.0, f64::max),
            );
            let mut ratios: Vec<f64> = ours[bi]
                .iter()
                .zip(&theirs[bi])
                .map(|(a, b)| a / b)
                .collect();
            println!(
                "| {batch} | {med:.0} ({lo:.0}..{hi:.0}) | {:.0} ({plo:.0}..{phi:.0}) | {:.2}x |",
                median(&mut theirs[bi].clone()),
                median(&mut ratios)
            );
        }
    }
}
