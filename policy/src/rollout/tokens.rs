//! Token-level records of the model calls, what an RL trainer consumes: token ids, the
//! log-probability of every model-generated token and a loss mask (1 on model tokens, 0 on
//! prompt, tool and template tokens).
//!
//! Calls are joined into one sequence only when the next call's prompt starts with
//! everything recorded so far (a ReAct conversation whose re-rendered history tokenizes
//! the same). When it does not — the chat template rewrote an earlier turn, decoded text
//! re-tokenized differently, or IterResearch rebuilt the workspace — a new sequence starts
//! with that call's full prompt. Each sequence is therefore exactly what the model was
//! conditioned on plus what it generated, never a guess.

use serde::{Deserialize, Serialize};

use crate::backend::GenResult;

/// One sequence the model saw and extended. The three vectors have the same length.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TokenSequence {
    pub token_ids: Vec<u32>,
    /// The log-probability of each token under the sampling model where `loss_mask` is 1;
    /// 0.0 elsewhere. `None` when the backend reported no log-probabilities.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logprobs: Option<Vec<f32>>,
    pub loss_mask: Vec<u8>,
}

impl TokenSequence {
    fn push(&mut self, ids: &[u32], logprobs: Option<&[f32]>, mask: u8) {
        self.token_ids.extend_from_slice(ids);
        self.loss_mask.extend(std::iter::repeat_n(mask, ids.len()));
        match (&mut self.logprobs, logprobs) {
            (Some(all), Some(lp)) => all.extend_from_slice(lp),
            (Some(all), None) if mask == 0 => all.extend(std::iter::repeat_n(0.0, ids.len())),
            // Model tokens without log-probs: the sequence has none to offer.
            (all, _) => *all = None,
        }
    }
}

/// Builds the sequences of one episode (or one branch) call by call.
#[derive(Debug, Default)]
pub struct TokenLedger {
    sequences: Vec<TokenSequence>,
}

impl TokenLedger {
    /// Records one model call. `continue_sequence`: the caller's prompt extends the
    /// previous call's conversation (ReAct); false starts a new sequence (IterResearch).
    /// Calls whose backend gave no token ids are not recorded.
    pub fn record(&mut self, result: &GenResult, continue_sequence: bool) {
        let (Some(prompt), Some(generated)) = (&result.prompt_token_ids, &result.token_ids) else {
            return;
        };
        // Log-probs count only when there is one per generated token.
        let logprobs = result
            .logprobs
            .as_deref()
            .filter(|lp| lp.len() == generated.len());
        let extends = continue_sequence
            && self
                .sequences
                .last()
                .is_some_and(|last| prompt.starts_with(&last.token_ids));
        if extends {
            if let Some(last) = self.sequences.last_mut() {
                let delta = &prompt[last.token_ids.len()..];
                last.push(delta, None, 0);
                last.push(generated, logprobs, 1);
            }
        } else {
            let mut seq = TokenSequence {
                logprobs: Some(Vec::new()),
                ..TokenSequence::default()
            };
            seq.push(prompt, None, 0);
            seq.push(generated, logprobs, 1);
            self.sequences.push(seq);
        }
    }

    pub fn into_sequences(self) -> Vec<TokenSequence> {
        self.sequences
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generate::FinishReason;

    fn result(prompt: &[u32], generated: &[u32], lp: Option<Vec<f32>>) -> GenResult {
        GenResult {
            text: String::new(),
            finish_reason: FinishReason::Stop,
            prompt_token_ids: Some(prompt.to_vec()),
            token_ids: Some(generated.to_vec()),
            logprobs: lp,
            prompt_tokens: Some(prompt.len()),
            completion_tokens: Some(generated.len()),
        }
    }

    #[test]
    fn consistent_prompts_extend_one_sequence() {
        let mut ledger = TokenLedger::default();
        ledger.record(&result(&[1, 2], &[3, 4], Some(vec![-0.5, -0.25])), true);
        ledger.record(&result(&[1, 2, 3, 4, 5], &[6], Some(vec![-1.0])), true);
        let seqs = ledger.into_sequences();
        assert_eq!(seqs.len(), 1);
        assert_eq!(seqs[0].token_ids, vec![1, 2, 3, 4, 5, 6]);
        assert_eq!(seqs[0].loss_mask, vec![0, 0, 1, 1, 0, 1]);
        assert_eq!(
            seqs[0].logprobs.as_deref(),
            Some(&[0.0, 0.0, -0.5, -0.25, 0.0, -1.0][..])
        );
    }

    #[test]
    fn a_rewritten_history_starts_a_new_sequence() {
        let mut ledger = TokenLedger::default();
        ledger.record(&result(&[1, 2], &[3], None), true);
        ledger.record(&result(&[1, 9, 3, 5], &[6], None), true);
        ledger.record(&result(&[7], &[8], None), false);
        let seqs = ledger.into_sequences();
        assert_eq!(seqs.len(), 3);
        assert_eq!(seqs[1].token_ids, vec![1, 9, 3, 5, 6]);
        assert_eq!(seqs[1].loss_mask, vec![0, 0, 0, 0, 1]);
        assert!(seqs.iter().all(|s| s.logprobs.is_none()));
    }
}
