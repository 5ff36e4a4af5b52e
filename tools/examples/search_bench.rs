//! Search benchmark driver (scripts/bench.d/20-search.sh runs it; numbers go to
//! BENCHMARKS.md "Search and visit").
//!
//! `prepare`: ingests the sample dumps, then writes every passage of that corpus
//! `replicas` times as JSONL (`{"id","title","text"}`; replica r > 0 gets id prefix
//! `r{r}:` and title suffix ` (replica r)`), ingests that JSONL as the big corpus, and
//! writes the query set (the QA set's questions with their gold titles, then article
//! titles as navigational queries). bm25s indexes the very same JSONL.
//!
//! `queries`: a known-item query set over an existing corpus: the titles of `--queries`
//! pages spread evenly over the doc ids, each with itself as the gold title (the scale
//! benchmark, scripts/bench.d/16-scale-search.sh; its passages come from
//! `simweb corpus export`).
//!
//! `run`: times the `search` tool through the full tool layer (cache off = cold, or a
//! warm-up pass then the same queries again = cached), one query per call, with
//! `workers` concurrent callers, and prints one JSON line: latencies, throughput and
//! recall@10 (a hit is the gold title or one of its replicas). `--out FILE` also writes
//! every result, in query order, for a byte comparison of two builds.

use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use serde_json::{json, Value};
use simweb_tools::{LayerConfig, SearchConfig, SearchTool, Toolbox};
use simweb_wikidump::{ingest, passages, Corpus, IngestOptions};

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("prepare") => prepare(&args),
        Some("queries") => queries(&args),
        Some("run") => run(&args),
        _ => Err("usage: search_bench prepare --samples DIR --qa FILE --replicas N --work DIR | queries --corpus DIR --queries N --out FILE | run --corpus DIR --queries FILE --mode cold|cached --workers N [--out FILE]".into()),
    }
}

fn prepare(args: &[String]) -> Result<(), Box<dyn std::error::Error>> {
    let samples = PathBuf::from(arg(args, "--samples").ok_or("--samples")?);
    let qa = PathBuf::from(arg(args, "--qa").ok_or("--qa")?);
    let replicas: usize = arg(args, "--replicas").ok_or("--replicas")?.parse()?;
    let work = PathBuf::from(arg(args, "--work").ok_or("--work")?);
    std::fs::create_dir_all(&work)?;
    let mut inputs: Vec<PathBuf> = std::fs::read_dir(&samples)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    inputs.sort();
    let opts = IngestOptions {
        threads: 2,
        ..IngestOptions::default()
    };
    let base_dir = work.join("base");
    if !base_dir.exists() {
        ingest(&inputs, &base_dir, &opts)?;
    }
    let base = Corpus::open(&base_dir)?;

    let jsonl_path = work.join("passages.jsonl");
    let mut out = std::io::BufWriter::new(std::fs::File::create(&jsonl_path)?);
    let mut titles = Vec::new();
    let mut lines = 0usize;
    for doc_id in base.doc_ids()? {
        let Some(doc) = base.document(&doc_id)? else {
            continue;
        };
        if doc.lang == simweb_wikidump::Lang::En && titles.len() < 300 {
            titles.push(doc.title.clone());
        }
        for passage in passages(&doc) {
            for r in 0..replicas {
                let (id, title) = if r == 0 {
                    (format!("{}#{}", doc.id, passage.ordinal), doc.title.clone())
                } else {
                    (
                        format!("r{r}:{}#{}", doc.id, passage.ordinal),
                        format!("{} (replica {r})", doc.title),
                    )
                };
                let line =
                    json!({"id": id, "title": title, "text": passage.text, "lang": doc.lang});
                writeln!(out, "{line}")?;
                lines += 1;
            }
        }
    }
    out.flush()?;
    let big_dir = work.join("big");
    if big_dir.exists() {
        std::fs::remove_dir_all(&big_dir)?;
    }
    let started = Instant::now();
    ingest(std::slice::from_ref(&jsonl_path), &big_dir, &opts)?;
    eprintln!(
        "big corpus: {lines} passages ({replicas} replicas) ingested in {:.1}s",
        started.elapsed().as_secs_f64()
    );

    let mut queries = std::io::BufWriter::new(std::fs::File::create(work.join("queries.jsonl"))?);
    for line in std::io::BufReader::new(std::fs::File::open(&qa)?).lines() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let item: Value = serde_json::from_str(&line)?;
        writeln!(
            queries,
            "{}",
            json!({"q": item["q"], "gold": item["gold"], "lang": item["lang"]})
        )?;
    }
    for title in titles {
        writeln!(queries, "{}", json!({"q": title, "gold": null}))?;
    }
    queries.flush()?;
    Ok(())
}

fn queries(args: &[String]) -> Result<(), Box<dyn std::error::Error>> {
    let corpus = Corpus::open(&PathBuf::from(arg(args, "--corpus").ok_or("--corpus")?))?;
    let n: usize = arg(args, "--queries").ok_or("--queries")?.parse()?;
    let out_path = PathBuf::from(arg(args, "--out").ok_or("--out")?);
    let ids = corpus.doc_ids()?;
    let every = (ids.len() / n.max(1)).max(1);
    let mut out = std::io::BufWriter::new(std::fs::File::create(&out_path)?);
    for doc_id in ids.iter().step_by(every).take(n) {
        let title = corpus
            .document(doc_id)?
            .ok_or_else(|| format!("document {doc_id} is missing from the store"))?
            .title;
        writeln!(out, "{}", json!({"q": title, "gold": title}))?;
    }
    out.flush()?;
    Ok(())
}

fn strip_replica(title: &str) -> &str {
    match title.rfind(" (replica ") {
        Some(pos) if title.ends_with(')') => &title[..pos],
        _ => title,
    }
}

fn run(args: &[String]) -> Result<(), Box<dyn std::error::Error>> {
    let corpus_dir = PathBuf::from(arg(args, "--corpus").ok_or("--corpus")?);
    let queries_path = PathBuf::from(arg(args, "--queries").ok_or("--queries")?);
    let cached = arg(args, "--mode").as_deref() == Some("cached");
    let workers: usize = arg(args, "--workers")
        .unwrap_or_else(|| "1".into())
        .parse()?;
    let corpus = Arc::new(Corpus::open(&corpus_dir)?);
    let mut queries: Vec<(String, Option<String>)> = Vec::new();
    for line in std::io::BufReader::new(std::fs::File::open(&queries_path)?).lines() {
        let item: Value = serde_json::from_str(&line?)?;
        queries.push((
            item["q"].as_str().unwrap_or_default().to_string(),
            item["gold"].as_str().map(str::to_string),
        ));
    }
    let mut config = LayerConfig::default();
    config.cache.enabled = cached;
    let mut toolbox = Toolbox::new(corpus.snapshot_id(), config)?;
    toolbox.register(Arc::new(SearchTool::new(
        Arc::clone(&corpus),
        SearchConfig::default(),
    )));
    let toolbox = Arc::new(toolbox);

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers.max(1))
        .max_blocking_threads(workers.max(1))
        .enable_all()
        .build()?;
    runtime.block_on(async {
        if cached {
            for (q, _) in &queries {
                toolbox.call("search", &json!({"query": [q]}), "bench").await?;
            }
        }
        let queries = Arc::new(queries);
        let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let started = Instant::now();
        let mut tasks = Vec::new();
        for _ in 0..workers.max(1) {
            let (toolbox, queries, next) = (Arc::clone(&toolbox), Arc::clone(&queries), Arc::clone(&next));
            tasks.push(tokio::spawn(async move {
                let mut rows = Vec::new();
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some((q, gold)) = queries.get(i) else { break };
                    let t = Instant::now();
                    let out = toolbox.call("search", &json!({"query": [q]}), "bench").await?;
                    let ms = t.elapsed().as_secs_f64() * 1000.0;
                    let hit = gold.as_ref().map(|gold| {
                        out.data["results"][0]["organic"]
                            .as_array()
                            .map(|hits| {
                                hits.iter().take(10).any(|h| {
                                    strip_replica(h["title"].as_str().unwrap_or_default()) == gold
                                })
                            })
                            .unwrap_or(false)
                    });
                    rows.push((ms, hit, out.cached, i, out.data));
                }
                Ok::<_, simweb_tools::ToolError>(rows)
            }));
        }
        let mut rows = Vec::new();
        for task in tasks {
            rows.extend(task.await??);
        }
        let wall = started.elapsed().as_secs_f64();
        if let Some(path) = arg(args, "--out") {
            // Every result in query order: an A/B of two builds compares these bytes.
            rows.sort_by_key(|r| r.3);
            let mut w = std::io::BufWriter::new(std::fs::File::create(path)?);
            for r in &rows {
                writeln!(w, "{}", r.4)?;
            }
            w.flush()?;
        }
        let mut lat: Vec<f64> = rows.iter().map(|r| r.0).collect();
        lat.sort_by(f64::total_cmp);
        let pct = |p: f64| lat[((lat.len() as f64 - 1.0) * p).round() as usize];
        let judged: Vec<bool> = rows.iter().filter_map(|r| r.1).collect();
        let recall = judged.iter().filter(|h| **h).count() as f64 / judged.len().max(1) as f64;
        println!(
            "{}",
            json!({"engine": "simweb", "mode": if cached {"cached"} else {"cold"}, "workers": workers,
                   "queries": lat.len(), "p50_ms": pct(0.5), "p99_ms": pct(0.99),
                   "qps": lat.len() as f64 / wall, "recall_at_10": recall, "judged": judged.len(),
                   "all_cached": rows.iter().all(|r| r.2)})
        );
        Ok::<_, Box<dyn std::error::Error>>(())
    })
}
