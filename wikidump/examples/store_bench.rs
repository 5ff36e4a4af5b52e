//! The published document store (immutable zstd tables) against the sled tree it
//! replaced: bytes on disk and point-read latency for the same documents.
//!
//! `cargo run --release -p simweb-wikidump --example store_bench -- ROUNDS LOOKUPS DUMP...`
//!
//! Ingests the dumps (the real pipeline, which publishes tables), copies every document
//! into a fresh sled tree configured as the old store was, then reads the same seeded
//! random doc ids from both, interleaved round by round (the order alternates), each read
//! being what `Corpus::document` does: fetch the bytes and parse the JSON `Document`.
//! Prints a Markdown table.

use std::path::{Path, PathBuf};
use std::time::Instant;

use simweb_wikidump::docstore::{self, DocStore};
use simweb_wikidump::{ingest, Document, IngestOptions};

fn dir_bytes(path: &Path) -> u64 {
    std::fs::read_dir(path)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| {
                    let p = e.path();
                    if p.is_dir() {
                        dir_bytes(&p)
                    } else {
                        e.metadata().map(|m| m.len()).unwrap_or(0)
                    }
                })
                .sum()
        })
        .unwrap_or(0)
}

fn percentile(sorted: &[f64], q: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    anyhow::ensure!(args.len() >= 3, "usage: store_bench ROUNDS LOOKUPS DUMP...");
    let rounds: usize = args[0].parse()?;
    let lookups: usize = args[1].parse()?;
    let inputs: Vec<PathBuf> = args[2..].iter().map(PathBuf::from).collect();
    let input_bytes: u64 = inputs
        .iter()
        .map(|p| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0))
        .sum();

    let work = tempfile::tempdir()?;
    let data = work.path().join("corpus");
    ingest(&inputs, &data, &IngestOptions::default())?;
    let store = DocStore::open(&data.join(docstore::DIR))?;
    let ids: Vec<String> = store.doc_ids().collect::<Result<_, _>>()?;

    // The old layout: the same JSON documents in a sled tree, configured as it was.
    let sled_dir = work.path().join("sled");
    let db = sled::Config::new()
        .path(&sled_dir)
        .cache_capacity(256 << 20)
        .open()?;
    let docs = db.open_tree("docs")?;
    for id in &ids {
        let doc = store.document(id)?.expect("listed id");
        docs.insert(id.as_bytes(), serde_json::to_vec(&doc)?)?;
    }
    db.flush()?;

    // Seeded ids (xorshift), the same for both.
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let picks: Vec<&str> = (0..lookups)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            ids[(x % ids.len() as u64) as usize].as_str()
        })
        .collect();
    let tables = |id: &str| store.document(id).map(|d| d.map(|d| d.title.len()));
    let sled_read = |id: &str| -> anyhow::Result<Option<usize>> {
        Ok(match docs.get(id)? {
            Some(bytes) => Some(serde_json::from_slice::<Document>(&bytes)?.title.len()),
            None => None,
        })
    };
    let mut times: [Vec<f64>; 2] = [Vec::new(), Vec::new()];
    let mut medians: [Vec<f64>; 2] = [Vec::new(), Vec::new()];
    for round in 0..rounds {
        let order = if round % 2 == 0 { [0, 1] } else { [1, 0] };
        for which in order {
            let mut t = Vec::with_capacity(picks.len());
            for id in &picks {
                let start = Instant::now();
                let found = if which == 0 {
                    tables(id)?
                } else {
                    sled_read(id)?
                };
                t.push(start.elapsed().as_secs_f64() * 1e6);
                assert!(found.is_some());
            }
            t.sort_by(f64::total_cmp);
            medians[which].push(percentile(&t, 0.5));
            times[which].extend(t);
        }
    }
    let table_bytes = dir_bytes(&data.join(docstore::DIR));
    let sled_bytes = dir_bytes(&sled_dir);
    println!(
        "Inputs: {} files, {:.1} MB; {} documents; {rounds} interleaved rounds × {lookups} seeded random `document(id)` reads (bytes + JSON parse).\n",
        inputs.len(),
        input_bytes as f64 / 1e6,
        ids.len()
    );
    println!("| store | bytes on disk | × inputs | read p50 µs (round medians min–max) | p99 µs |");
    println!("|---|---|---|---|---|");
    for (which, name, bytes) in [
        (0, "immutable zstd tables (published)", table_bytes),
        (1, "sled tree (before)", sled_bytes),
    ] {
        let all = &mut times[which];
        all.sort_by(f64::total_cmp);
        let m = &medians[which];
        let (lo, hi) = m
            .iter()
            .fold((f64::MAX, 0f64), |(lo, hi), v| (lo.min(*v), hi.max(*v)));
        println!(
            "| {name} | {:.2} MB | {:.2}× | {:.1} ({lo:.1}–{hi:.1}) | {:.1} |",
            bytes as f64 / 1e6,
            bytes as f64 / input_bytes as f64,
            percentile(all, 0.5),
            percentile(all, 0.99),
        );
    }
    Ok(())
}
