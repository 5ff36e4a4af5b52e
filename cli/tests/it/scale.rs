//! The scale generator (`scripts/scale/gen_dump.py`): a multistream dump and its index,
//! recombined from the real samples, that ingests with the counts it announces, the same
//! snapshot with and without its index, and byte-identical output per seed.

use std::path::Path;
use std::process::Command;

use serde_json::Value;
use simweb_testkit::{samples, venv_python};

fn generate(prefix: &Path, articles: u32, seed: u32, lang: &str) -> (u64, u64) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/scale/gen_dump.py");
    let output = Command::new(venv_python())
        .arg(script)
        .args([
            "--articles",
            &articles.to_string(),
            "--seed",
            &seed.to_string(),
        ])
        .args(["--lang", lang, "--workers", "2", "--out"])
        .arg(prefix)
        .arg("--samples")
        .arg(samples())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // "PATH: N articles, M redirects, ..."
    let count = |what: &str| -> u64 {
        let before = stdout.split(&format!(" {what}")).next().unwrap();
        before.rsplit(' ').next().unwrap().parse().unwrap()
    };
    (count("articles"), count("redirects"))
}

fn ingest(out: &Path, args: &[&Path]) -> Value {
    let mut command = Command::new(env!("CARGO_BIN_EXE_simweb"));
    command.arg("ingest").arg("--out").arg(out);
    for a in args {
        command.arg(a);
    }
    let output = command.env_remove("SIMWEB_DATA").output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap()
}

#[test]
fn generated_dumps_ingest_as_announced_with_or_without_their_index() {
    let dir = tempfile::tempdir().unwrap();
    let prefix = dir.path().join("enwiki-gen");
    let (articles, redirects) = generate(&prefix, 250, 7, "en");
    assert_eq!(articles, 250);
    assert!(
        redirects > 250,
        "about 1.6 redirects per article: {redirects}"
    );
    let dump = dir.path().join("enwiki-gen.xml.bz2");
    let index = dir.path().join("enwiki-gen-index.txt.bz2");

    let without = ingest(&dir.path().join("a"), &[&dump]);
    let with = ingest(
        &dir.path().join("b"),
        &[&dump, Path::new("--multistream-index"), &index],
    );
    assert_eq!(without["snapshot_id"], with["snapshot_id"]);
    assert_eq!(without["totals"], with["totals"]);
    assert_eq!(with["totals"]["articles"], articles);
    assert_eq!(with["totals"]["redirects"], redirects);
    assert_eq!(with["languages"], serde_json::json!(["en"]));

    // The index's offsets point at real streams (a page per line, in dump order).
    let lines = Command::new("bzcat").arg(&index).output().unwrap().stdout;
    let lines = String::from_utf8(lines).unwrap();
    assert_eq!(lines.lines().count() as u64, articles + redirects);

    // Deterministic per seed; another seed is another dump.
    let again = dir.path().join("again");
    generate(&again, 250, 7, "en");
    let bytes = |p: &Path| std::fs::read(p).unwrap();
    assert_eq!(bytes(&dump), bytes(&dir.path().join("again.xml.bz2")));
    let other = dir.path().join("other");
    generate(&other, 250, 8, "en");
    assert_ne!(bytes(&dump), bytes(&dir.path().join("other.xml.bz2")));
}

#[test]
fn the_chinese_variant_ingests_as_chinese() {
    let dir = tempfile::tempdir().unwrap();
    let prefix = dir.path().join("zhwiki-gen");
    let (articles, redirects) = generate(&prefix, 60, 1, "zh");
    let manifest = ingest(
        &dir.path().join("c"),
        &[&dir.path().join("zhwiki-gen.xml.bz2")],
    );
    assert_eq!(manifest["languages"], serde_json::json!(["zh"]));
    assert_eq!(manifest["totals"]["articles"], articles);
    assert_eq!(manifest["totals"]["redirects"], redirects);
}

#[test]
fn an_index_that_matches_no_input_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let stray = dir.path().join("x-index.txt.bz2");
    std::fs::write(&stray, b"").unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_simweb"))
        .arg("ingest")
        .arg("--out")
        .arg(dir.path().join("c"))
        .arg("--multistream-index")
        .arg(&stray)
        .arg(simweb_testkit::sample(simweb_testkit::ENWIKI))
        .env_remove("SIMWEB_DATA")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("matches no input"), "{stderr}");
}
