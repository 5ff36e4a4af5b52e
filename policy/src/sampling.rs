//! Choosing the next token: greedy or seeded sampling with temperature, top-k, top-p and a
//! presence penalty (vLLM's order: penalties, temperature, top-k, top-p).
//!
//! Each sequence owns its RNG (ChaCha8, seeded from the request), so a sequence's tokens do
//! not depend on which other sequences share its batch or on thread timing.

use std::collections::BTreeSet;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// Decoding settings of one request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SamplingParams {
    /// 0 means greedy (argmax).
    pub temperature: f32,
    /// Nucleus sampling; 1.0 disables it.
    pub top_p: f32,
    /// Keep only the k most likely tokens; 0 disables it.
    pub top_k: usize,
    /// Subtracted from the logit of every token already generated (OpenAI semantics).
    pub presence_penalty: f32,
    pub max_new_tokens: usize,
    /// Generation stops when the decoded text contains one of these; the text is cut
    /// before it (the tokens that produced it are kept, with their log-probabilities).
    pub stop: Vec<String>,
    /// Extra stop ids besides the model's eos ids; the stop token is kept in `token_ids`.
    pub stop_token_ids: Vec<u32>,
    pub seed: u64,
}

impl Default for SamplingParams {
    fn default() -> Self {
        SamplingParams {
            temperature: 1.0,
            top_p: 1.0,
            top_k: 0,
            presence_penalty: 0.0,
            max_new_tokens: 256,
            stop: Vec::new(),
            stop_token_ids: Vec::new(),
            seed: 0,
        }
    }
}

impl SamplingParams {
    pub fn greedy(max_new_tokens: usize) -> Self {
        SamplingParams {
            temperature: 0.0,
            max_new_tokens,
            ..Default::default()
        }
    }

    /// What Tongyi DeepResearch samples with.
    pub fn tongyi(seed: u64) -> Self {
        SamplingParams {
            temperature: 0.6,
            top_p: 0.95,
            presence_penalty: 1.1,
            max_new_tokens: 8192,
            stop: vec!["\n<tool_response>".into(), "<tool_response>".into()],
            seed,
            ..Default::default()
        }
    }

    pub fn validate(&self) -> Result<(), String> {
        if !(self.temperature.is_finite() && self.temperature >= 0.0) {
            return Err(format!(
                "temperature must be >= 0, got {}",
                self.temperature
            ));
        }
        if !(self.top_p > 0.0 && self.top_p <= 1.0) {
            return Err(format!("top_p must be in (0, 1], got {}", self.top_p));
        }
        if !self.presence_penalty.is_finite() {
            return Err("presence_penalty must be finite".into());
        }
        if self.max_new_tokens == 0 {
            return Err("max_new_tokens must be at least 1".into());
        }
        Ok(())
    }
}

/// The per-sequence sampler state.
#[derive(Debug, Clone)]
pub struct Sampler {
    params: SamplingParams,
    rng: ChaCha8Rng,
    seen: BTreeSet<u32>,
}

/// A chosen token and its log-probability under the model's raw distribution
/// (softmax of the unmodified logits, as vLLM reports by default).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Choice {
    pub token: u32,
    pub logprob: f32,
}

impl Sampler {
    pub fn new(params: SamplingParams) -> Self {
        let rng = ChaCha8Rng::seed_from_u64(params.seed);
        Sampler {
            params,
            rng,
            seen: BTreeSet::new(),
        }
    }

    pub fn params(&self) -> &SamplingParams {
        &self.params
    }

    pub fn choose(&mut self, logits: &[f32]) -> Choice {
        let token = if self.params.temperature <= 0.0 {
            self.argmax(logits)
        } else {
            self.sample(logits)
        };
        self.seen.insert(token);
        Choice {
            token,
            logprob: log_softmax_at(logits, token as usize),
        }
    }

    fn penalised(&self, logits: &[f32]) -> Vec<f32> {
        let mut adjusted = logits.to_vec();
        if self.params.presence_penalty != 0.0 {
            for &t in &self.seen {
                if let Some(l) = adjusted.get_mut(t as usize) {
                    *l -= self.params.presence_penalty;
                }
            }
        }
        adjusted
    }

    fn argmax(&self, logits: &[f32]) -> u32 {
        let adjusted: std::borrow::Cow<'_, [f32]> =
            if self.params.presence_penalty == 0.0 || self.seen.is_empty() {
                std::borrow::Cow::Borrowed(logits)
            } else {
                std::borrow::Cow::Owned(self.penalised(logits))
            };
        let mut best = 0usize;
        for (i, &l) in adjusted.iter().enumerate() {
            if l > adjusted[best] {
                best = i;
            }
        }
        best as u32
    }

    fn sample(&mut self, logits: &[f32]) -> u32 {
        let inv_t = 1.0 / self.params.temperature as f64;
        let adjusted = self.penalised(logits);
        // Candidates as (token, scaled logit), best first, ties broken by the lower id.
        let mut cands: Vec<(u32, f64)> = adjusted
            .iter()
            .enumerate()
            .map(|(i, &l)| (i as u32, l as f64 * inv_t))
            .filter(|(_, l)| l.is_finite())
            .collect();
        if cands.is_empty() {
            return 0;
        }
        let by_score = |a: &(u32, f64), b: &(u32, f64)| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0));
        let top_k = self.params.top_k;
        if top_k > 0 && top_k < cands.len() {
            cands.select_nth_unstable_by(top_k - 1, by_score);
            cands.truncate(top_k);
        }
        let max = cands.iter().map(|c| c.1).fold(f64::NEG_INFINITY, f64::max);
        let mut probs: Vec<f64> = cands
            .iter()
            .map(|c| fast_exp((c.1 - max) as f32) as f64)
            .collect();
        let total: f64 = probs.iter().sum();
        probs.iter_mut().for_each(|p| *p /= total);
        if self.params.top_p < 1.0 {
            let keep = nucleus(&mut cands, &mut probs, self.params.top_p as f64);
            cands.truncate(keep);
            probs.truncate(keep);
        }
        let total: f64 = probs.iter().sum();
        let mut u = self.rng.random::<f64>() * total;
        for (c, p) in cands.iter().zip(&probs) {
            if u < *p {
                return c.0;
            }
            u -= p;
        }
        cands[cands.len() - 1].0
    }
}

/// Orders the most likely candidates first and returns how many make up the nucleus (the
/// smallest prefix whose probability reaches `top_p`). Sorts a growing head of the list
/// (64, 128, ...) instead of the whole vocabulary: a peaked distribution needs only the first.
fn nucleus(cands: &mut [(u32, f64)], probs: &mut [f64], top_p: f64) -> usize {
    let mut order: Vec<usize> = (0..cands.len()).collect();
    let by_prob = |a: &usize, b: &usize| {
        probs[*b]
            .total_cmp(&probs[*a])
            .then(cands[*a].0.cmp(&cands[*b].0))
    };
    let mut head = 64.min(order.len());
    let keep = loop {
        if head < order.len() {
            order.select_nth_unstable_by(head - 1, by_prob);
        }
        order[..head].sort_unstable_by(by_prob);
        let mut cum = 0.0;
        let found = order[..head].iter().position(|&i| {
            cum += probs[i];
            cum >= top_p
        });
        match found {
            Some(pos) => break pos + 1,
            None if head == order.len() => break head,
            None => head = (head * 2).min(order.len()),
        }
    };
    let reordered: Vec<((u32, f64), f64)> = order.iter().map(|&i| (cands[i], probs[i])).collect();
    for (slot, (c, p)) in reordered.into_iter().enumerate() {
        cands[slot] = c;
        probs[slot] = p;
    }
    keep
}

/// log softmax(logits)[index].
///
/// Runs once per generated token over the whole vocabulary (151,936 entries for Qwen), so
/// it uses a vectorisable exp and eight f32 accumulators instead of libm's scalar exp;
/// the result agrees with an f64 computation to about 1e-6.
pub fn log_softmax_at(logits: &[f32], index: usize) -> f32 {
    let max = max_of(logits);
    if !max.is_finite() {
        return f32::NEG_INFINITY;
    }
    // Blocks of 1024 summed in eight f32 lanes, blocks added in f64: vector speed,
    // f64-like accuracy (each f32 partial sum holds at most 128 terms).
    let mut sum = 0f64;
    for block in logits.chunks(1024) {
        let mut lanes = [0f32; 8];
        let chunks = block.chunks_exact(8);
        let rest = chunks.remainder();
        for chunk in chunks {
            for (lane, &l) in lanes.iter_mut().zip(chunk) {
                *lane += fast_exp(l - max);
            }
        }
        sum += lanes.iter().map(|&x| x as f64).sum::<f64>();
        sum += rest.iter().map(|&l| fast_exp(l - max) as f64).sum::<f64>();
    }
    (logits[index] as f64 - max as f64 - sum.ln()) as f32
}

/// The largest value, in eight lanes with plain comparisons (vectorises; `f32::max`'s
/// NaN rules and a single running maximum do not).
fn max_of(values: &[f32]) -> f32 {
    let mut lanes = [f32::NEG_INFINITY; 8];
    let chunks = values.chunks_exact(8);
    let rest = chunks.remainder();
    for chunk in chunks {
        for (lane, &v) in lanes.iter_mut().zip(chunk) {
            *lane = if v > *lane { v } else { *lane };
        }
    }
    lanes
        .iter()
        .chain(rest)
        .fold(f32::NEG_INFINITY, |m, &v| if v > m { v } else { m })
}

/// exp(x) for x <= 0 (softmax terms after subtracting the max): range reduction to
/// 2^n * exp(r) with |r| <= ln2/2 and a degree-6 polynomial; relative error ~2e-7.
/// Only float and integer arithmetic (no libm calls, no saturating casts), so the loops
/// above vectorise.
#[inline(always)]
fn fast_exp(x: f32) -> f32 {
    // 1.5 * 2^23: adding it rounds to an integer held in the low mantissa bits.
    const ROUNDER: f32 = 12_582_912.0;
    let x = if x < -87.0 { -87.0 } else { x };
    let t = x * std::f32::consts::LOG2_E + ROUNDER;
    let n = t - ROUNDER;
    let n_int = t.to_bits().wrapping_sub(ROUNDER.to_bits()) as i32;
    // ln2 split in two (Cody-Waite) so r stays exact for large |x|.
    let r = (x - n * 0.693_145_75) - n * 1.428_606_8e-6;
    let p = 1.0
        + r * (1.0
            + r * (0.5
                + r * (1.0 / 6.0 + r * (1.0 / 24.0 + r * (1.0 / 120.0 + r * (1.0 / 720.0))))));
    let scale = f32::from_bits((n_int.wrapping_add(127) as u32) << 23);
    p * scale
}

#[cfg(test)]
mod tests {
    use super::*;

    fn logits() -> Vec<f32> {
        (0..50).map(|i| ((i * 37 % 50) as f32) / 10.0).collect()
    }

    #[test]
    fn greedy_picks_argmax_and_reports_its_logprob() {
        let l = logits();
        let mut s = Sampler::new(SamplingParams::greedy(4));
        let c = s.choose(&l);
        let best = l
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1))
            .unwrap()
            .0;
        assert_eq!(c.token as usize, best);
        let expected = {
            let m = l[best] as f64;
            let z: f64 = l.iter().map(|&x| (x as f64 - m).exp()).sum();
            -(z.ln()) as f32
        };
        assert!((c.logprob - expected).abs() < 1e-6);
    }

    #[test]
    fn presence_penalty_moves_greedy_off_a_repeated_token() {
        let mut l = vec![0.0f32; 10];
        l[3] = 1.0;
        l[7] = 0.5;
        let mut s = Sampler::new(SamplingParams {
            presence_penalty: 1.0,
            ..SamplingParams::greedy(4)
        });
        assert_eq!(s.choose(&l).token, 3);
        assert_eq!(s.choose(&l).token, 7, "3 was penalised below 7");
    }

    #[test]
    fn top_k_one_is_greedy_and_top_p_restricts_the_support() {
        let l = logits();
        let best = s_argmax(&l);
        for seed in 0..20 {
            let mut s = Sampler::new(SamplingParams {
                top_k: 1,
                seed,
                ..Default::default()
            });
            assert_eq!(s.choose(&l).token, best);
        }
        // With a tiny top_p only the single most likely token survives.
        let mut s = Sampler::new(SamplingParams {
            top_p: 1e-6,
            seed: 3,
            ..Default::default()
        });
        assert_eq!(s.choose(&l).token, best);
    }

    #[test]
    fn fast_log_softmax_agrees_with_f64() {
        let l: Vec<f32> = (0..151_936)
            .map(|i| ((i * 7919 % 10007) as f32) / 700.0 - 5.0)
            .collect();
        let max = l.iter().copied().fold(f32::NEG_INFINITY, f32::max) as f64;
        let z: f64 = l.iter().map(|&x| (x as f64 - max).exp()).sum();
        for i in [0usize, 17, 151_935] {
            let exact = l[i] as f64 - max - z.ln();
            let got = log_softmax_at(&l, i) as f64;
            assert!((got - exact).abs() < 1e-5, "{i}: {got} vs {exact}");
        }
        for x in [0.0f32, -0.3, -1.0, -10.0, -50.0, -86.0] {
            assert!(
                ((fast_exp(x) as f64) / (x as f64).exp() - 1.0).abs() < 1e-6,
                "{x}"
            );
        }
    }

    #[test]
    fn seeded_sampling_is_reproducible_and_seed_dependent() {
        let l: Vec<f32> = (0..1000)
            .map(|i| ((i * 7919) % 1000) as f32 / 400.0)
            .collect();
        let run = |seed| {
            let mut s = Sampler::new(SamplingParams {
                temperature: 1.0,
                seed,
                ..Default::default()
            });
            (0..32).map(|_| s.choose(&l).token).collect::<Vec<_>>()
        };
        assert_eq!(run(1), run(1));
        assert_ne!(run(1), run(2));
    }

    fn s_argmax(l: &[f32]) -> u32 {
        l.iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1).then(b.0.cmp(&a.0)))
            .unwrap()
            .0 as u32
    }
}
