//! Generation over many sequences at once: admit requests at any time, advance every
//! active sequence by one token per step, retire the ones that stop. Prefill of newly
//! admitted sequences shares the step with the decode of the others (see `runner`).

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::error::{PolicyError, Result};
use crate::runner::{KvCache, OnnxModel, Row};
use crate::sampling::{Sampler, SamplingParams};
use crate::tokenizer::TextTokenizer;

/// A prompt already tokenized, with its decoding settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenRequest {
    pub prompt_ids: Vec<u32>,
    pub params: SamplingParams,
}

/// Why a sequence stopped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FinishReason {
    /// An eos id or one of the request's stop ids (kept as the last token).
    StopToken {
        id: u32,
    },
    /// The decoded text reached one of the request's stop strings (cut before it).
    StopString {
        stop: String,
    },
    /// A server reported a stop without saying which (OpenAI `finish_reason: "stop"`).
    Stop,
    MaxTokens,
    /// The next token would not fit in the model's context.
    ContextLength,
}

/// The output of one sequence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Generation {
    pub token_ids: Vec<u32>,
    /// Log-probability of every token in `token_ids` under the raw model distribution.
    pub logprobs: Vec<f32>,
    pub text: String,
    pub finish_reason: FinishReason,
    pub prompt_tokens: usize,
}

struct Sequence {
    tokens: Vec<u32>,
    prompt_len: usize,
    logprobs: Vec<f32>,
    cache: KvCache,
    sampler: Sampler,
    max_stop_bytes: usize,
}

/// Handle of an admitted sequence (admission order; results are keyed by it).
pub type SeqId = u64;

/// Batched generation with per-sequence KV caches.
pub struct Generator {
    model: OnnxModel,
    tokenizer: Arc<TextTokenizer>,
    eos_ids: Vec<u32>,
    max_batch: usize,
    use_cache: bool,
    active: BTreeMap<SeqId, Sequence>,
    next_id: SeqId,
}

impl Generator {
    pub fn new(model: OnnxModel, tokenizer: Arc<TextTokenizer>, eos_ids: Vec<u32>) -> Self {
        Generator {
            model,
            tokenizer,
            eos_ids,
            max_batch: 64,
            use_cache: true,
            active: BTreeMap::new(),
            next_id: 0,
        }
    }

    /// Largest number of rows in one forward pass (more active sequences take several passes).
    pub fn with_max_batch(mut self, max_batch: usize) -> Self {
        self.max_batch = max_batch.max(1);
        self
    }

    /// Without the cache every step re-runs each whole sequence (the reference behaviour the
    /// tests compare the cached path against).
    pub fn with_kv_cache(mut self, use_cache: bool) -> Self {
        self.use_cache = use_cache;
        self
    }

    pub fn model(&self) -> &OnnxModel {
        &self.model
    }

    pub fn tokenizer(&self) -> &Arc<TextTokenizer> {
        &self.tokenizer
    }

    pub fn active(&self) -> usize {
        self.active.len()
    }

    /// Admits a request; it starts decoding at the next `step`.
    pub fn add(&mut self, request: TokenRequest) -> Result<SeqId> {
        request
            .params
            .validate()
            .map_err(PolicyError::InvalidRequest)?;
        if request.prompt_ids.is_empty() {
            return Err(PolicyError::InvalidRequest("empty prompt".into()));
        }
        if request.prompt_ids.len() >= self.model.context_length() {
            return Err(PolicyError::ContextOverflow(format!(
                "prompt of {} tokens leaves no room in the context of {}",
                request.prompt_ids.len(),
                self.model.context_length()
            )));
        }
        let vocab = self.model.vocab_size();
        if let Some(&bad) = request.prompt_ids.iter().find(|&&t| t as usize >= vocab) {
            return Err(PolicyError::InvalidRequest(format!(
                "prompt token id {bad} is outside the vocabulary ({vocab})"
            )));
        }
        let id = self.next_id;
        self.next_id += 1;
        let max_stop_bytes = request
            .params
            .stop
            .iter()
            .map(String::len)
            .max()
            .unwrap_or(0);
        self.active.insert(
            id,
            Sequence {
                prompt_len: request.prompt_ids.len(),
                tokens: request.prompt_ids,
                logprobs: Vec::new(),
                cache: KvCache::default(),
                sampler: Sampler::new(request.params),
                max_stop_bytes,
            },
        );
        Ok(id)
    }

    /// One token for every active sequence. Returns the sequences that finished. On an
    /// error every active sequence is dropped (the caller reports the error to each).
    pub fn step(&mut self) -> Result<Vec<(SeqId, Generation)>> {
        let ids: Vec<SeqId> = self.active.keys().copied().collect();
        let mut finished = Vec::new();
        for chunk in ids.chunks(self.max_batch) {
            match self.step_chunk(chunk) {
                Ok(mut done) => finished.append(&mut done),
                Err(e) => {
                    self.active.clear();
                    return Err(e);
                }
            }
        }
        Ok(finished)
    }

    /// Drops every active sequence (after an error the caller has reported).
    pub fn abort_all(&mut self) -> Vec<SeqId> {
        let ids = self.active.keys().copied().collect();
        self.active.clear();
        ids
    }

    fn step_chunk(&mut self, chunk: &[SeqId]) -> Result<Vec<(SeqId, Generation)>> {
        let use_cache = self.use_cache;
        let mut seqs: Vec<&mut Sequence> = self
            .active
            .iter_mut()
            .filter(|(id, _)| chunk.binary_search(id).is_ok())
            .map(|(_, s)| s)
            .collect();
        let logits = {
            let mut rows: Vec<Row<'_>> = seqs
                .iter_mut()
                .map(|s| {
                    if !use_cache {
                        s.cache = KvCache::default();
                    }
                    let done = s.cache.len();
                    Row {
                        new_tokens: &s.tokens[done..],
                        cache: &mut s.cache,
                    }
                })
                .collect();
            self.model.forward(&mut rows)?
        };
        let mut finished_ids = Vec::new();
        for ((id, seq), logits) in chunk.iter().zip(seqs.iter_mut()).zip(logits) {
            let choice = seq.sampler.choose(&logits);
            seq.tokens.push(choice.token);
            seq.logprobs.push(choice.logprob);
            if let Some(reason) = stop_reason(
                &self.tokenizer,
                &self.eos_ids,
                self.model.context_length(),
                seq,
            )? {
                finished_ids.push((*id, reason));
            }
        }
        let mut finished = Vec::new();
        for (id, reason) in finished_ids {
            if let Some(seq) = self.active.remove(&id) {
                finished.push((id, self.finish(seq, reason)?));
            }
        }
        Ok(finished)
    }
}

fn stop_reason(
    tokenizer: &TextTokenizer,
    eos_ids: &[u32],
    context_length: usize,
    seq: &Sequence,
) -> Result<Option<FinishReason>> {
    {
        let generated = &seq.tokens[seq.prompt_len..];
        let last = generated[generated.len() - 1];
        let params = seq.sampler.params();
        if eos_ids.contains(&last) || params.stop_token_ids.contains(&last) {
            return Ok(Some(FinishReason::StopToken { id: last }));
        }
        if !params.stop.is_empty() {
            // Only the tail can hold a stop string that just completed: a token is at least
            // one byte, so the last max_stop_bytes + 1 tokens cover it.
            let tail = &generated[generated.len().saturating_sub(seq.max_stop_bytes + 1)..];
            let text = tokenizer.decode(tail)?;
            if let Some(stop) = params.stop.iter().find(|s| text.contains(s.as_str())) {
                return Ok(Some(FinishReason::StopString { stop: stop.clone() }));
            }
        }
        if generated.len() >= params.max_new_tokens {
            return Ok(Some(FinishReason::MaxTokens));
        }
        if seq.tokens.len() >= context_length {
            return Ok(Some(FinishReason::ContextLength));
        }
        Ok(None)
    }
}

impl Generator {
    fn finish(&self, seq: Sequence, reason: FinishReason) -> Result<Generation> {
        let token_ids = seq.tokens[seq.prompt_len..].to_vec();
        let mut text = self.tokenizer.decode(&token_ids)?;
        if let FinishReason::StopString { .. } = &reason {
            let cut = seq
                .sampler
                .params()
                .stop
                .iter()
                .filter_map(|s| text.find(s.as_str()))
                .min();
            if let Some(cut) = cut {
                text.truncate(cut);
            }
        }
        Ok(Generation {
            token_ids,
            logprobs: seq.logprobs,
            text,
            finish_reason: reason,
            prompt_tokens: seq.prompt_len,
        })
    }

    /// Runs `requests` to completion together; results in request order.
    pub fn generate(&mut self, requests: Vec<TokenRequest>) -> Result<Vec<Generation>> {
        let mut order = Vec::with_capacity(requests.len());
        for r in requests {
            order.push(self.add(r)?);
        }
        let mut done: BTreeMap<SeqId, Generation> = BTreeMap::new();
        while order.iter().any(|id| !done.contains_key(id)) {
            if self.active.is_empty() {
                return Err(PolicyError::EngineStopped(
                    "sequences vanished before finishing".into(),
                ));
            }
            for (id, g) in self.step()? {
                done.insert(id, g);
            }
        }
        Ok(order
            .into_iter()
            .filter_map(|id| done.remove(&id))
            .collect())
    }
}
