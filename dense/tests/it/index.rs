//! Building and opening the vector index: resumable, byte-identical, loud when damaged.

use std::path::Path;

use simweb_dense::{build_with, default_model_dir, DenseIndex, Encoder};
use simweb_testkit::{dense_corpus, DENSE_CHUNK_ROWS};
use simweb_wikidump::{Corpus, IngestOptions};

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

#[test]
fn an_interrupted_build_resumes_and_publishes_the_same_bytes() {
    let (shared, _, retriever) = dense_corpus();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("corpus");
    simweb_wikidump::ingest(
        &simweb_testkit::Sample::RayCharles.inputs(),
        &data,
        &IngestOptions::default(),
    )
    .unwrap();
    let corpus = Corpus::open(&data).unwrap();
    let encoder = Encoder::load(&default_model_dir(), &Default::default()).unwrap();

    // Stop after two chunks, as a Ctrl-C would: nothing is published.
    let stopped = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        build_with(&corpus, &encoder, DENSE_CHUNK_ROWS, |done, _| {
            assert!(done < 2 * DENSE_CHUNK_ROWS, "interrupted");
        })
    }));
    assert!(stopped.is_err());
    assert!(
        !DenseIndex::exists(&data),
        "a stopped build publishes nothing"
    );
    let chunks = std::fs::read_dir(data.join("dense.build"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with("chunk-")
        })
        .count();
    assert_eq!(chunks, 2);

    let report = build_with(&corpus, &encoder, DENSE_CHUNK_ROWS, |_, _| {}).unwrap();
    assert_eq!(report.embedded, report.passages - 2 * DENSE_CHUNK_ROWS);
    assert!(!data.join("dense.build").exists());
    // Same corpus snapshot + model + chunking => the same index, byte for byte.
    assert_eq!(report.meta, *retriever.index().meta());
    for file in [
        "vectors.i8",
        "scales.f32",
        "keys.bin",
        "pages.txt",
        "dense.json",
    ] {
        assert_eq!(
            std::fs::read(data.join("dense").join(file)).unwrap(),
            std::fs::read(shared.join("dense").join(file)).unwrap(),
            "{file}"
        );
    }
    assert_eq!(report.passages, corpus_passages(&corpus));

    // An index of an older format (here: format 3, before the rotation) is refused, and
    // rebuilding it reuses its rows: nothing is embedded, and the result is the index a
    // full build makes.
    let published = std::fs::canonicalize(data.join("dense")).unwrap();
    let meta_path = published.join("dense.json");
    let mut old: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&meta_path).unwrap()).unwrap();
    old["format"] = 3.into();
    std::fs::write(&meta_path, serde_json::to_vec(&old).unwrap()).unwrap();
    std::fs::remove_file(published.join("rotation.f32")).unwrap();
    let err = DenseIndex::open(&data).unwrap_err().to_string();
    assert!(
        err.contains("format 3") && err.contains("simweb index dense"),
        "{err}"
    );
    let rederived = build_with(&corpus, &encoder, DENSE_CHUNK_ROWS, |_, _| {
        panic!("re-deriving embeds no chunk")
    })
    .unwrap();
    assert_eq!(rederived.embedded, 0);
    assert_eq!(rederived.meta, *retriever.index().meta());
    assert_eq!(
        DenseIndex::open(&data).unwrap().meta(),
        retriever.index().meta()
    );
}

fn corpus_passages(corpus: &Corpus) -> usize {
    corpus
        .doc_ids()
        .unwrap()
        .iter()
        .map(|id| simweb_wikidump::passages(&corpus.document_text(id).unwrap().unwrap()).len())
        .sum()
}

#[test]
fn a_damaged_index_is_refused_naming_the_file() {
    let (shared, _, _) = dense_corpus();
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&shared.join("dense"), &dir.path().join("dense"));
    let vectors = dir.path().join("dense/vectors.i8");
    let len = std::fs::metadata(&vectors).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&vectors)
        .unwrap()
        .set_len(len - 100)
        .unwrap();
    let err = DenseIndex::open(dir.path()).unwrap_err().to_string();
    assert!(
        err.contains("vectors.i8") && err.contains("truncated"),
        "{err}"
    );
}

#[test]
fn an_index_from_another_model_is_refused() {
    let (shared, _, _) = dense_corpus();
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&shared.join("dense"), &dir.path().join("dense"));
    let meta_path = dir.path().join("dense/dense.json");
    let mut meta: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&meta_path).unwrap()).unwrap();
    meta["model_fingerprint"] = "0".repeat(64).into();
    std::fs::write(&meta_path, serde_json::to_vec(&meta).unwrap()).unwrap();
    let err =
        simweb_dense::DenseRetriever::open(dir.path(), &default_model_dir(), &Default::default())
            .unwrap_err()
            .to_string();
    assert!(
        err.contains("rebuild it with `simweb index dense`"),
        "{err}"
    );
}
