//! The Rust runner against the numpy reference forward pass the fixture generator wrote
//! (same weights): greedy tokens must be equal token for token, batched with right
//! padding, with and without the KV cache, and with sequences joining mid-flight.

use super::fixture::{cpu, fixture, reference, Reference};
use simweb_policy::{Generator, LocalModel, SamplingParams, TokenRequest};

fn generator(dir: &str) -> Generator {
    let (generator, _, _) = LocalModel::load(fixture(dir), &cpu())
        .unwrap()
        .into_generator();
    generator
}

fn greedy_requests(reference: &Reference) -> Vec<TokenRequest> {
    reference
        .cases
        .iter()
        .map(|c| TokenRequest {
            prompt_ids: c.prompt.clone(),
            params: SamplingParams::greedy(reference.steps),
        })
        .collect()
}

fn assert_matches_reference(
    reference: &Reference,
    outputs: &[simweb_policy::Generation],
    what: &str,
) {
    assert_eq!(outputs.len(), reference.cases.len());
    for (i, (case, out)) in reference.cases.iter().zip(outputs).enumerate() {
        let expected: Vec<u32> = case.greedy.iter().map(|s| s.token).collect();
        assert_eq!(
            out.token_ids,
            expected,
            "{what}: case {i} (prompt of {} tokens)",
            case.prompt.len()
        );
        for (step, (got, want)) in out.logprobs.iter().zip(&case.greedy).enumerate() {
            assert!(
                (got - want.logprob).abs() < 1e-3,
                "{what}: case {i} step {step}: logprob {got} vs reference {}",
                want.logprob
            );
        }
        assert_eq!(out.finish_reason, simweb_policy::FinishReason::MaxTokens);
        assert_eq!(out.prompt_tokens, case.prompt.len());
    }
}

#[test]
fn batched_greedy_with_kv_cache_equals_the_numpy_reference() {
    let reference = reference();
    let lengths: std::collections::BTreeSet<usize> =
        reference.cases.iter().map(|c| c.prompt.len()).collect();
    assert_eq!(
        lengths.len(),
        4,
        "the batch must mix prompt lengths so right padding is exercised"
    );
    let outputs = generator("tiny-moe")
        .generate(greedy_requests(&reference))
        .unwrap();
    assert_matches_reference(&reference, &outputs, "batch of 4, KV cache");
}

#[test]
fn batched_greedy_without_kv_cache_equals_the_numpy_reference() {
    let reference = reference();
    let mut g = generator("tiny-moe").with_kv_cache(false);
    let outputs = g.generate(greedy_requests(&reference)).unwrap();
    assert_matches_reference(&reference, &outputs, "batch of 4, no cache");
}

#[test]
fn sequences_joining_mid_flight_equal_the_reference() {
    // Continuous batching: two sequences decode, two more join later (their prefill shares
    // a forward pass with the others' decode steps), and a batch limit of 3 splits steps.
    let reference = reference();
    let mut g = generator("tiny-moe").with_max_batch(3);
    let requests = greedy_requests(&reference);
    let mut ids = vec![
        g.add(requests[0].clone()).unwrap(),
        g.add(requests[1].clone()).unwrap(),
    ];
    let mut done = std::collections::BTreeMap::new();
    for step in 0.. {
        if step == 3 {
            ids.push(g.add(requests[2].clone()).unwrap());
        }
        if step == 5 {
            ids.push(g.add(requests[3].clone()).unwrap());
        }
        for (id, out) in g.step().unwrap() {
            done.insert(id, out);
        }
        if done.len() == 4 {
            break;
        }
    }
    let outputs: Vec<_> = ids.iter().map(|id| done.remove(id).unwrap()).collect();
    assert_matches_reference(&reference, &outputs, "late joiners");
}

/// fp16 (a CUDA export's KV + logits) and bf16 (bf16 KV, fp32 logits) exports of the same
/// weights: the runner reads the declared types; tokens equal the fp32 reference wherever
/// the reference's top-1 margin is larger than the format's rounding can move.
#[test]
fn half_precision_exports_follow_the_reference_while_margins_allow() {
    let reference = reference();
    for (dir, kv, logits, tolerance) in [
        (
            "tiny-moe-fp16",
            ort::value::TensorElementType::Float16,
            ort::value::TensorElementType::Float16,
            0.05f32,
        ),
        (
            "tiny-moe-bf16",
            ort::value::TensorElementType::Bfloat16,
            ort::value::TensorElementType::Float32,
            0.3,
        ),
    ] {
        let mut g = generator(dir);
        assert_eq!(g.model().kv_type(), kv, "{dir}");
        assert_eq!(g.model().logits_type(), logits, "{dir}");
        let outputs = g.generate(greedy_requests(&reference)).unwrap();
        let mut compared = 0;
        for (i, (case, out)) in reference.cases.iter().zip(&outputs).enumerate() {
            for (step, want) in case.greedy.iter().enumerate() {
                if want.margin < tolerance {
                    break;
                }
                assert_eq!(
                    out.token_ids[step], want.token,
                    "{dir}: case {i} step {step}"
                );
                assert!(
                    (out.logprobs[step] - want.logprob).abs() < tolerance,
                    "{dir}: case {i} step {step} logprob"
                );
                compared += 1;
            }
        }
        eprintln!("{dir}: {compared} tokens compared");
        assert!(compared >= 8, "{dir}: only {compared} tokens had margins above {tolerance}: the check says too little");
    }
}
