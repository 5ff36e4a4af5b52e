//! Dense retrieval benchmark driver (scripts/bench.d/25-dense.sh runs it; numbers go to
//! BENCHMARKS.md "Dense and hybrid retrieval").
//!
//! `quality --data DIR --qa FILE [--modes bm25,dense,hybrid]`: recall@5 and MRR@10 of page search in each mode
//! (bm25, dense, hybrid) on two query sets: the hand-written QA set (questions with a
//! gold title, English and Chinese) and descriptions generated from the corpus (each
//! page's first sentence with every word of its title removed, the gold being the page:
//! a paraphrase-like query BM25 cannot answer from the title).
//! `latency --data DIR --qa FILE --rounds N`: p50/p99 of page search per mode over the
//! same queries, modes interleaved per round.
//! `embed --data DIR --limit N --texts OUT`: passages/s of the encoder on the first N
//! passages (as `simweb index dense` batches them); writes the texts for the peer.
//! `twostage --data DIR --qa FILE`: recall@10 of the two-stage search against the exact
//! scan, per candidate count, on the corpus's real vectors.
//! `scan --rows N`: p50/p99 of the default search and of the exact scan over N synthetic
//! unit vectors (cost, not recall: random vectors have no neighbours worth finding).
//! `concurrent --qa FILE --callers N --configs 1x2,2x1 --rounds R`: query embeddings/s
//! and per-call p50/p99 with N callers at once, per encoder config (`SESSIONSxTHREADS`),
//! configs interleaved per round; and each config's resident memory.
//! `synthetic --data DIR --rows N`: gives a corpus a vector index of N random unit
//! vectors over its first pages' real passages (labelled with the real model and
//! snapshot, so `latency` runs on it): the cost of dense and hybrid search at a size
//! this VM cannot embed (~15 passages/s), never their quality. Replaces `DIR/dense`.
//! `--descriptions N` (quality, latency, twostage): generated description queries per
//! language (0: the `--qa` files only, without reading the corpus's pages); `--lang en`
//! keeps the `--qa` files' queries of that language only.
//! Every subcommand prints JSON lines.

use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::time::Instant;

use serde_json::json;
use simweb_dense::{default_model_dir, search, DenseRetriever, Encoder, SearchMode};
use simweb_wikidump::{Corpus, Lang, SearchQuery};

type Res<T> = Result<T, Box<dyn std::error::Error>>;

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn main() -> Res<()> {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("quality") => quality(&args),
        Some("latency") => latency(&args),
        Some("embed") => embed(&args),
        Some("scan") => scan(&args),
        Some("twostage") => twostage(&args),
        Some("partition") => partition(&args),
        Some("concurrent") => concurrent(&args),
        Some("synthetic") => synthetic(&args),
        _ => Err(
            "usage: dense_bench quality|latency|embed|scan|twostage|partition|concurrent|synthetic ..."
                .into(),
        ),
    }
}

struct Query {
    set: String,
    lang: Lang,
    text: String,
    gold: String,
}

fn open(args: &[String]) -> Res<(Corpus, DenseRetriever)> {
    let data = PathBuf::from(arg(args, "--data").ok_or("--data DIR")?);
    let corpus = Corpus::open(&data)?;
    let mut dense = DenseRetriever::open(&data, &default_model_dir(), &Default::default())?;
    if let Some(lists) = arg(args, "--lists-per-probe") {
        dense = dense.with_lists_per_probe(lists.parse()?);
    }
    Ok((corpus, dense))
}

/// Every `--qa` file's queries (`set` from each line, else "qa"), then generated
/// descriptions (up to `per_lang` per language).
fn queries(corpus: &Corpus, args: &[String], per_lang: usize) -> Res<Vec<Query>> {
    let mut out = Vec::new();
    let files: Vec<&String> = args
        .windows(2)
        .filter(|w| w[0] == "--qa")
        .map(|w| &w[1])
        .collect();
    if files.is_empty() {
        return Err("--qa FILE (repeatable)".into());
    }
    for file in files {
        for line in std::io::BufReader::new(std::fs::File::open(file)?).lines() {
            let v: serde_json::Value = serde_json::from_str(&line?)?;
            let lang = if v["lang"] == "zh" {
                Lang::Zh
            } else {
                Lang::En
            };
            out.push(Query {
                set: v["set"].as_str().unwrap_or("qa").to_string(),
                lang,
                text: v["q"].as_str().unwrap_or_default().to_string(),
                gold: v["gold"].as_str().unwrap_or_default().to_string(),
            });
        }
    }
    if let Some(only) = arg(args, "--lang") {
        out.retain(|q| q.lang.code() == only);
    }
    let per_lang = arg(args, "--descriptions").map_or(Ok(per_lang), |s| s.parse())?;
    if per_lang == 0 {
        return Ok(out);
    }
    let mut counts = std::collections::BTreeMap::new();
    for id in corpus.doc_ids()? {
        let Some(doc) = corpus.document_text(&id)? else {
            continue;
        };
        let count = counts.entry(doc.lang).or_insert(0usize);
        if *count >= per_lang {
            continue;
        }
        let Some(lead) = simweb_wikidump::passages(&doc).into_iter().next() else {
            continue;
        };
        if let Some(text) = description(&doc.title, &lead.text, doc.lang) {
            *count += 1;
            out.push(Query {
                set: "description".to_string(),
                lang: doc.lang,
                text,
                gold: doc.title.clone(),
            });
        }
    }
    Ok(out)
}

/// The first sentence of `lead` without any word of `title` (or, in Chinese, any run
/// of the title's characters), or `None` when too little is left to be a question.
fn description(title: &str, lead: &str, lang: Lang) -> Option<String> {
    match lang {
        Lang::Zh => {
            let sentence = lead.split('。').next()?;
            let title_chars: std::collections::BTreeSet<char> = title.chars().collect();
            let text: String = sentence
                .chars()
                .filter(|c| !title_chars.contains(c))
                .take(60)
                .collect();
            (text.chars().count() >= 10).then_some(text)
        }
        _ => {
            let sentence = lead.split(". ").next()?;
            let title_words: std::collections::BTreeSet<String> = title
                .split(|c: char| !c.is_alphanumeric())
                .filter(|w| !w.is_empty())
                .map(str::to_lowercase)
                .collect();
            let words: Vec<&str> = sentence
                .split_whitespace()
                .filter(|w| {
                    let key: String = w
                        .chars()
                        .filter(|c| c.is_alphanumeric())
                        .collect::<String>()
                        .to_lowercase();
                    !key.is_empty() && !title_words.contains(&key)
                })
                .take(30)
                .collect();
            (words.len() >= 6).then(|| words.join(" "))
        }
    }
}

const MODES: [SearchMode; 3] = [SearchMode::Bm25, SearchMode::Dense, SearchMode::Hybrid];

/// `--modes bm25` (comma-separated; all three by default): only `bm25` needs no dense
/// index, so BM25 ranking changes can be measured on a corpus without one.
fn quality(args: &[String]) -> Res<()> {
    let modes: Vec<SearchMode> = match arg(args, "--modes") {
        None => MODES.to_vec(),
        Some(list) => list
            .split(',')
            .map(|m| {
                MODES
                    .into_iter()
                    .find(|mode| mode.as_str() == m)
                    .ok_or_else(|| format!("--modes: unknown mode {m}"))
            })
            .collect::<Result<_, _>>()?,
    };
    let (corpus, dense) = if modes == [SearchMode::Bm25] {
        let data = PathBuf::from(arg(args, "--data").ok_or("--data DIR")?);
        (Corpus::open(&data)?, None)
    } else {
        let (corpus, dense) = open(args)?;
        (corpus, Some(dense))
    };
    let per_lang: usize = arg(args, "--per-lang").map_or(Ok(150), |s| s.parse())?;
    let qs = queries(&corpus, args, per_lang)?;
    for mode in modes {
        for q in &qs {
            let request = SearchQuery {
                text: q.text.clone(),
                top_k: 10,
                lang: Some(q.lang),
            };
            let hits = search(&corpus, dense.as_ref(), &request, mode)?;
            let rank = hits.iter().position(|h| h.title == q.gold).map(|r| r + 1);
            println!(
                "{}",
                json!({"kind": "quality", "mode": mode.as_str(), "set": q.set,
                       "lang": q.lang.code(), "rank": rank, "q": q.text, "gold": q.gold})
            );
        }
    }
    Ok(())
}

fn latency(args: &[String]) -> Res<()> {
    let (corpus, dense) = open(args)?;
    let rounds: usize = arg(args, "--rounds").map_or(Ok(2), |s| s.parse())?;
    let qs = queries(&corpus, args, 100)?;
    for round in 0..rounds {
        for mode in MODES {
            let mut ms = Vec::with_capacity(qs.len());
            for q in &qs {
                let request = SearchQuery {
                    text: q.text.clone(),
                    top_k: 10,
                    lang: Some(q.lang),
                };
                let t = Instant::now();
                let hits = search(&corpus, Some(&dense), &request, mode)?;
                ms.push(t.elapsed().as_secs_f64() * 1e3);
                std::hint::black_box(hits);
            }
            println!(
                "{}",
                json!({"kind": "latency", "round": round, "mode": mode.as_str(),
                       "passages": dense.index().len(), "search_id": dense.index().search_id(),
                       "ms": ms})
            );
        }
    }
    Ok(())
}

/// Recall@10 of the two-stage search against the exact scan, per candidate count, on
/// the corpus's own vectors and the quality queries.
fn twostage(args: &[String]) -> Res<()> {
    let (corpus, dense) = open(args)?;
    let qs = queries(&corpus, args, 150)?;
    let index = dense.index();
    let mut vectors = Vec::new();
    for q in &qs {
        vectors.push(
            dense
                .encoder()
                .embed(&[q.text.as_str()], simweb_dense::TextKind::Query)?,
        );
    }
    if let Some(out) = arg(args, "--dump-queries") {
        let bytes: Vec<u8> = vectors
            .iter()
            .flatten()
            .flat_map(|x| x.to_le_bytes())
            .collect();
        std::fs::write(out, bytes)?;
    }
    let policy = simweb_dense::index::candidates(10, index.len());
    let mut counts = vec![50, 100, 200, 400, 800, 1600, 3200, policy];
    counts.sort_unstable();
    counts.dedup();
    for candidates in counts {
        let (mut found, mut total) = (0, 0);
        for v in &vectors {
            let exact = index.search_exact(v, 10, None);
            let two = index.search_two_stage_with(v, 10, candidates, None);
            found += two.iter().filter(|h| exact.contains(h)).count();
            total += exact.len();
        }
        println!(
            "{}",
            json!({"kind": "twostage", "rows": index.len(), "candidates": candidates,
                   "default": candidates == policy,
                   "queries": vectors.len(), "recall_at_10": found as f64 / total as f64})
        );
    }
    Ok(())
}

/// The quality queries' vectors, each with its language (embedded, or read from
/// `--queries FILE` as written by `twostage --dump-queries`, language unknown).
fn query_vectors(
    args: &[String],
    corpus: &Corpus,
    dense: &DenseRetriever,
) -> Res<Vec<(Option<Lang>, Vec<f32>)>> {
    let dims = dense.index().meta().dims;
    if let Some(path) = arg(args, "--queries") {
        let bytes = std::fs::read(path)?;
        return Ok(bytes
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect::<Vec<f32>>()
            .chunks_exact(dims)
            .map(|v| (None, v.to_vec()))
            .collect());
    }
    let mut vectors = Vec::new();
    for q in queries(corpus, args, 150)? {
        let v = dense
            .encoder()
            .embed(&[q.text.as_str()], simweb_dense::TextKind::Query)?;
        vectors.push((Some(q.lang), v));
    }
    Ok(vectors)
}

/// Recall@10 of the partitioned search against the exact scan (both kept to the query's
/// language, as a search is), per list count (`--lists a,b`; default √rows), probed
/// fraction and candidate count.
fn partition(args: &[String]) -> Res<()> {
    let (corpus, dense) = open(args)?;
    let queries = query_vectors(args, &corpus, &dense)?;
    let index = dense.index();
    let rows = index.len();
    let lists: Vec<usize> = match arg(args, "--lists") {
        Some(s) => s.split(',').map(str::parse).collect::<Result<_, _>>()?,
        None => vec![(rows as f64).sqrt().round() as usize],
    };
    let exact: Vec<_> = queries
        .iter()
        .map(|(lang, v)| index.search_exact(v, 10, *lang))
        .collect();
    for lists in lists {
        let started = Instant::now();
        let partition = index.train_partition(lists);
        let train_s = started.elapsed().as_secs_f64();
        for per_probe in [64, 32, 16, 8, 4] {
            let probes = simweb_dense::partition::probes(lists, per_probe);
            for candidates in [
                None,
                Some(400),
                Some(800),
                Some(1600),
                Some(3200),
                Some(usize::MAX),
            ] {
                let (mut found, mut total) = (0, 0);
                for ((lang, v), exact) in queries.iter().zip(&exact) {
                    let hits =
                        index.search_partitioned_with(v, 10, &partition, probes, candidates, *lang);
                    found += hits.iter().filter(|h| exact.contains(h)).count();
                    total += exact.len();
                }
                let candidates = match candidates {
                    None => "default".to_string(),
                    Some(usize::MAX) => "all".to_string(),
                    Some(c) => c.to_string(),
                };
                println!(
                    "{}",
                    json!({"kind": "partition", "rows": rows, "lists": lists, "train_s": train_s,
                           "lists_per_probe": per_probe, "probes": probes,
                           "candidates": candidates, "queries": queries.len(),
                           "recall_at_10": found as f64 / total as f64})
                );
            }
        }
    }
    Ok(())
}

fn embed(args: &[String]) -> Res<()> {
    let data = PathBuf::from(arg(args, "--data").ok_or("--data DIR")?);
    let limit: usize = arg(args, "--limit").map_or(Ok(512), |s| s.parse())?;
    let corpus = Corpus::open(&data)?;
    let mut texts = Vec::new();
    'pages: for id in corpus.doc_ids()? {
        let Some(doc) = corpus.document_text(&id)? else {
            continue;
        };
        for p in simweb_wikidump::passages(&doc) {
            if texts.len() >= limit {
                break 'pages;
            }
            texts.push(simweb_dense::build::passage_text(&doc.title, &p.text));
        }
    }
    if let Some(path) = arg(args, "--texts") {
        let mut f = std::io::BufWriter::new(std::fs::File::create(path)?);
        for t in &texts {
            writeln!(f, "{}", serde_json::to_string(t)?)?;
        }
    }
    let encoder = Encoder::load(&default_model_dir(), &Default::default())?;
    let tokens: usize = texts
        .iter()
        .map(|t| {
            encoder
                .token_ids(t, simweb_dense::TextKind::Passage)
                .map(|i| i.len())
        })
        .sum::<simweb_dense::Result<usize>>()?;
    let t = Instant::now();
    let vectors = simweb_dense::build::embed_sorted(&encoder, &texts)?;
    let secs = t.elapsed().as_secs_f64();
    std::hint::black_box(vectors);
    println!(
        "{}",
        json!({"kind": "embed", "engine": "simweb (ONNX Runtime)", "passages": texts.len(),
               "tokens": tokens, "seconds": secs, "per_sec": texts.len() as f64 / secs})
    );
    Ok(())
}

/// This process's resident set, MB.
fn rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

fn concurrent(args: &[String]) -> Res<()> {
    let qa = arg(args, "--qa").ok_or("--qa FILE")?;
    let callers: usize = arg(args, "--callers")
        .unwrap_or_else(|| "8".into())
        .parse()?;
    let rounds: usize = arg(args, "--rounds")
        .unwrap_or_else(|| "3".into())
        .parse()?;
    let configs = arg(args, "--configs").unwrap_or_else(|| "1x2,2x1".into());
    let mut texts: Vec<String> = Vec::new();
    for line in std::io::BufReader::new(std::fs::File::open(&qa)?).lines() {
        let v: serde_json::Value = serde_json::from_str(&line?)?;
        if let Some(q) = v["q"].as_str() {
            texts.push(q.to_string());
        }
    }
    // Each caller asks every query once per round.
    let mut encoders = Vec::new();
    for config in configs.split(',') {
        let (sessions, threads) = config.split_once('x').ok_or("--configs SxT,...")?;
        let before = rss_mb();
        let encoder = Encoder::load(
            &default_model_dir(),
            &simweb_dense::EncoderOptions {
                intra_threads: Some(threads.parse()?),
                sessions: sessions.parse()?,
                ..Default::default()
            },
        )?;
        // Warm every session.
        std::thread::scope(|scope| {
            for _ in 0..encoder.sessions() {
                scope.spawn(|| encoder.embed(&[texts[0].as_str()], simweb_dense::TextKind::Query));
            }
        });
        println!(
            "{}",
            json!({"kind": "concurrent_load", "config": config, "rss_mb_added": rss_mb() - before})
        );
        encoders.push((config.to_string(), encoder));
    }
    for round in 0..rounds {
        for (config, encoder) in &encoders {
            let started = Instant::now();
            let mut ms: Vec<f64> = std::thread::scope(|scope| {
                let handles: Vec<_> = (0..callers)
                    .map(|c| {
                        let texts = &texts;
                        scope.spawn(move || {
                            let mut ms = Vec::new();
                            for i in 0..texts.len() {
                                let t = &texts[(i + c) % texts.len()];
                                let start = Instant::now();
                                let v = encoder.embed(&[t.as_str()], simweb_dense::TextKind::Query);
                                std::hint::black_box(v.ok());
                                ms.push(start.elapsed().as_secs_f64() * 1e3);
                            }
                            ms
                        })
                    })
                    .collect();
                handles
                    .into_iter()
                    .flat_map(|h| h.join().unwrap_or_default())
                    .collect()
            });
            let wall = started.elapsed().as_secs_f64();
            ms.sort_by(f64::total_cmp);
            let pct = |p: f64| ms[((ms.len() as f64 - 1.0) * p).round() as usize];
            println!(
                "{}",
                json!({"kind": "concurrent", "round": round, "config": config, "callers": callers,
                       "calls": ms.len(), "per_sec": ms.len() as f64 / wall,
                       "p50_ms": pct(0.5), "p99_ms": pct(0.99)})
            );
        }
    }
    Ok(())
}

fn scan(args: &[String]) -> Res<()> {
    let rows: usize = arg(args, "--rows").ok_or("--rows N")?.parse()?;
    let dims = 384;
    let dir = tempfile_dir()?;
    let started = Instant::now();
    let mut unit = unit_vectors(dims);
    let mut writer = simweb_dense::index::IndexWriter::create(&dir.join("dense"), dims)?;
    for r in 0..rows {
        let (row, scale) = simweb_dense::index::quantize(&unit());
        writer.push(&row, scale, 0, r as u32)?;
    }
    writer.finish(
        &["synthetic".to_string()],
        &[simweb_wikidump::Lang::En],
        simweb_dense::IndexMeta {
            format: simweb_dense::index::INDEX_FORMAT,
            model: "synthetic".into(),
            model_fingerprint: String::new(),
            dims,
            quantization: simweb_dense::index::QUANTIZATION.into(),
            count: 0,
            lists: 0,
            languages: Vec::new(),
            corpus_snapshot: String::new(),
            index_id: String::new(),
        },
    )?;
    let build_s = started.elapsed().as_secs_f64();
    let index = simweb_dense::DenseIndex::open(&dir)?;
    let queries: Vec<Vec<f32>> = (0..200).map(|_| unit()).collect();
    for q in queries.iter().take(20) {
        std::hint::black_box(index.search(q, 10, None));
    }
    // Interleaved per query: the default search (two-stage over the nearest lists from
    // 50 K rows), the unpartitioned two-stage search, its floor, then exact.
    let (mut ms, mut exact_ms, mut floor_ms) = (Vec::new(), Vec::new(), Vec::new());
    let mut unpartitioned_ms = Vec::new();
    let floor = simweb_dense::index::MIN_CANDIDATES;
    for q in &queries {
        let t = Instant::now();
        std::hint::black_box(index.search(q, 10, None));
        ms.push(t.elapsed().as_secs_f64() * 1e3);
        let t = Instant::now();
        std::hint::black_box(index.search_two_stage(q, 10, None));
        unpartitioned_ms.push(t.elapsed().as_secs_f64() * 1e3);
        // The first stage's own cost: the same search rescoring only the floor's candidates.
        let t = Instant::now();
        std::hint::black_box(index.search_two_stage_with(q, 10, floor, None));
        floor_ms.push(t.elapsed().as_secs_f64() * 1e3);
        let t = Instant::now();
        std::hint::black_box(index.search_exact(q, 10, None));
        exact_ms.push(t.elapsed().as_secs_f64() * 1e3);
    }
    std::fs::remove_dir_all(&dir)?;
    let stage = if rows >= simweb_dense::index::TWO_STAGE_MIN_ROWS {
        "two-stage"
    } else {
        "exact"
    };
    println!(
        "{}",
        json!({"kind": "scan", "rows": rows, "stage": stage, "build_s": build_s,
               "lists": index.partition().lists(), "ms": ms,
               "unpartitioned_ms": unpartitioned_ms, "exact_ms": exact_ms,
               "candidates": simweb_dense::index::candidates(10, rows),
               "floor_candidates": floor, "floor_ms": floor_ms})
    );
    Ok(())
}

/// A deterministic xorshift stream of unit vectors of `dims`.
fn unit_vectors(dims: usize) -> impl FnMut() -> Vec<f32> {
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    move || {
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
    }
}

fn synthetic(args: &[String]) -> Res<()> {
    let data = PathBuf::from(arg(args, "--data").ok_or("--data DIR")?);
    let rows: usize = arg(args, "--rows").ok_or("--rows N")?.parse()?;
    let corpus = Corpus::open(&data)?;
    let encoder = Encoder::load(&default_model_dir(), &Default::default())?;
    let dims = encoder.dims();
    let started = Instant::now();
    let dir = data.join(format!("dense-synthetic-{rows}"));
    if dir.exists() {
        std::fs::remove_dir_all(&dir)?;
    }
    let mut writer = simweb_dense::index::IndexWriter::create(&dir, dims)?;
    let mut next = unit_vectors(dims);
    let (mut pages, mut langs, mut written) = (Vec::new(), Vec::new(), 0);
    for doc_id in corpus.doc_ids()? {
        if written == rows {
            break;
        }
        let Some(doc) = corpus.document_text(&doc_id)? else {
            continue;
        };
        let page = pages.len() as u32;
        for passage in simweb_wikidump::passages(&doc)
            .into_iter()
            .take(rows - written)
        {
            let (row, scale) = simweb_dense::index::quantize(&next());
            writer.push(&row, scale, page, passage.ordinal)?;
            written += 1;
        }
        pages.push(doc_id);
        langs.push(doc.lang);
    }
    writer.finish(
        &pages,
        &langs,
        simweb_dense::IndexMeta {
            format: simweb_dense::index::INDEX_FORMAT,
            model: encoder.config().model.clone(),
            model_fingerprint: encoder.fingerprint().to_string(),
            dims,
            quantization: simweb_dense::index::QUANTIZATION.into(),
            count: 0,
            lists: 0,
            languages: Vec::new(),
            corpus_snapshot: corpus.snapshot_id().to_string(),
            index_id: String::new(),
        },
    )?;
    let link = data.join(simweb_dense::index::INDEX_DIR);
    if link.is_symlink() {
        std::fs::remove_file(&link)?;
    }
    std::os::unix::fs::symlink(dir.file_name().ok_or("dir name")?, &link)?;
    println!(
        "{}",
        json!({"kind": "synthetic", "rows": written, "pages": pages.len(),
               "seconds": started.elapsed().as_secs_f64()})
    );
    Ok(())
}

fn tempfile_dir() -> Res<PathBuf> {
    let dir = std::env::temp_dir().join(format!("simweb-dense-scan-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}
