//! Two maintained HNSW crates on the vectors of a simweb dense index: build time, the
//! process's resident memory after the build, query p50/p99, recall@10 against the
//! exact scan, and whether two builds answer the same (determinism).
//!
//! `ann-peers DENSE_DIR [QUERIES]` reads `vectors.i8` + `scales.f32` (what
//! `simweb index dense` writes); `ann-peers --synthetic N` uses N random unit vectors.
//! Queries are every (count / QUERIES)-th stored vector. One JSON line per engine.

use std::time::Instant;

use hnsw_rs::prelude::*;
use serde_json::json;

fn rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

fn load(dir: &str) -> Vec<Vec<f32>> {
    let meta: serde_json::Value =
        serde_json::from_slice(&std::fs::read(format!("{dir}/dense.json")).unwrap()).unwrap();
    let dims = meta["dims"].as_u64().unwrap() as usize;
    let rows = std::fs::read(format!("{dir}/vectors.i8")).unwrap();
    let scales = std::fs::read(format!("{dir}/scales.f32")).unwrap();
    rows.chunks_exact(dims)
        .zip(scales.chunks_exact(4))
        .map(|(r, s)| {
            let s = f32::from_le_bytes([s[0], s[1], s[2], s[3]]);
            let v: Vec<f32> = r.iter().map(|&x| f32::from(x as i8) * s).collect();
            let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-12);
            v.into_iter().map(|x| x / norm).collect()
        })
        .collect()
}

fn synthetic(n: usize, dims: usize) -> Vec<Vec<f32>> {
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    (0..n)
        .map(|_| {
            let v: Vec<f32> = (0..dims)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    (state >> 40) as f32 / (1u64 << 24) as f32 - 0.5
                })
                .collect();
            let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
            v.into_iter().map(|x| x / norm).collect()
        })
        .collect()
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn exact(data: &[Vec<f32>], q: &[f32], k: usize) -> Vec<usize> {
    let mut scored: Vec<(f32, usize)> = data.iter().enumerate().map(|(i, v)| (dot(v, q), i)).collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    scored.into_iter().take(k).map(|(_, i)| i).collect()
}

fn pct(ms: &mut [f64], p: f64) -> f64 {
    ms.sort_by(f64::total_cmp);
    ms[((p / 100.0) * (ms.len() - 1) as f64).round() as usize]
}

#[derive(Clone)]
struct Pt(Vec<f32>);
impl instant_distance::Point for Pt {
    fn distance(&self, other: &Self) -> f32 {
        1.0 - dot(&self.0, &other.0)
    }
}

/// The share of the exact top 10 that `answers` found, over all queries.
fn recall_at_10(answers: &[Vec<usize>], truth: &[Vec<usize>]) -> f64 {
    let found: usize = answers.iter().zip(truth).map(|(a, t)| a.iter().filter(|x| t.contains(x)).count()).sum();
    found as f64 / (10 * truth.len()) as f64
}

fn report(engine: &str, n: usize, build_s: f64, rss: f64, mut ms: Vec<f64>, recall: f64, same: bool) {
    println!(
        "{}",
        json!({"kind": "ann", "engine": engine, "rows": n, "build_s": build_s,
               "rss_after_build_mb": rss, "p50_ms": pct(&mut ms, 50.0), "p99_ms": pct(&mut ms, 99.0),
               "recall_at_10": recall, "same_results_on_rebuild": same})
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let data = if args.get(1).map(String::as_str) == Some("--synthetic") {
        synthetic(args[2].parse().unwrap(), 384)
    } else {
        load(&args[1])
    };
    let n = data.len();
    let nq: usize = args.get(if args[1] == "--synthetic" { 3 } else { 2 }).map_or(200, |s| s.parse().unwrap());
    let queries: Vec<usize> = (0..n).step_by((n / nq).max(1)).take(nq).collect();
    let truth: Vec<Vec<usize>> = queries.iter().map(|&q| exact(&data, &data[q], 10)).collect();
    let base_rss = rss_mb();

    // hnsw_rs, inserted one by one (its parallel insert is order-dependent).
    let run_hnsw_rs = || {
        let t = Instant::now();
        let hnsw = Hnsw::<f32, DistL2>::new(16, n, 16, 200, DistL2 {});
        for (i, v) in data.iter().enumerate() {
            hnsw.insert((v, i));
        }
        let build = t.elapsed().as_secs_f64();
        let rss = rss_mb() - base_rss;
        let mut ms = Vec::new();
        let mut answers = Vec::new();
        for &q in &queries {
            let t = Instant::now();
            let got: Vec<usize> = hnsw.search(&data[q], 10, 64).into_iter().map(|nb| nb.d_id).collect();
            ms.push(t.elapsed().as_secs_f64() * 1e3);
            answers.push(got);
        }
        (build, rss, ms, answers)
    };
    let (build, rss, ms, a1) = run_hnsw_rs();
    let (_, _, _, a2) = run_hnsw_rs();
    let recall = recall_at_10(&a1, &truth);
    report("hnsw_rs 0.3.5 (M 16, ef_c 200, ef 64, L2 on unit vectors, serial insert)", n, build, rss, ms, recall, a1 == a2);

    // instant-distance, fixed seed (its build is parallel).
    let run_instant = || {
        let base = rss_mb();
        let t = Instant::now();
        let points: Vec<Pt> = data.iter().map(|v| Pt(v.clone())).collect();
        let values: Vec<usize> = (0..n).collect();
        let map = instant_distance::Builder::default()
            .seed(42)
            .ef_construction(200)
            .ef_search(64)
            .build(points, values);
        let build = t.elapsed().as_secs_f64();
        let rss = rss_mb() - base;
        let mut ms = Vec::new();
        let mut answers = Vec::new();
        let mut search = instant_distance::Search::default();
        for &q in &queries {
            let t = Instant::now();
            let got: Vec<usize> = map.search(&Pt(data[q].clone()), &mut search).take(10).map(|item| *item.value).collect();
            ms.push(t.elapsed().as_secs_f64() * 1e3);
            answers.push(got);
        }
        (build, rss, ms, answers)
    };
    let (build, rss, ms, b1) = run_instant();
    let (_, _, _, b2) = run_instant();
    let recall = recall_at_10(&b1, &truth);
    report("instant-distance 0.6.1 (ef_c 200, ef 64, seed 42)", n, build, rss, ms, recall, b1 == b2);
}
