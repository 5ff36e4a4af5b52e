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
        let adjusted = self.penalised(logits);
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
        let mut probs: Vec<f64> = cands.iter().map(|c| (c.1 - max).exp()).collect();
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

/// log softmax(logits)[index], accumulated in f64.
pub fn log_softmax_at(logits: &[f32], index: usize) -> f32 {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max) as f64;
    let sum: f64 = logits.iter().map(|&l| (l as f64 - max).exp()).sum();
    (logits[index] as f64 - max - sum.ln()) as f32
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
