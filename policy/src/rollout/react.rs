//! ReAct in the Tongyi DeepResearch protocol: one conversation that grows by an assistant
//! turn (`<think>`, then a `<tool_call>` or an `<answer>`) and a user turn of
//! `<tool_response>` blocks per step. Parsing, prompts and observations come from
//! [`simweb_tools::react`], the same code the server's episodes use.
//!
//! Limits, as Tongyi's agent applies them: `max_turns` model calls; past
//! `max_context_tokens` the last observation is replaced by the forced-answer prompt and
//! the model gets one more turn; the wall-clock budget ends the episode at once.

use simweb_tools::react::{self, Message, Role, FORCED_ANSWER_MESSAGE};

use super::agent::{AgentCtx, Called, EpisodeBuilder};
use super::env::observation;
use super::trajectory::{Episode, Termination};
use crate::backend::GenResult;

/// Runs one ReAct episode on `question`.
pub async fn run_react(ctx: &AgentCtx, question: &str) -> Episode {
    let mut ep = EpisodeBuilder {
        messages: react::initial_messages(&ctx.system_prompt(), question),
        ..EpisodeBuilder::default()
    };
    let termination = loop {
        if ep.model_calls >= ctx.config.max_turns {
            break Termination::MaxTurns;
        }
        let call = ep.model_calls;
        let result = match ctx.call_model(&ep.messages, call, &mut ep.timings).await {
            Called::Done(result) => result,
            Called::Failed(error) => {
                ep.error = Some(error);
                break Termination::Error;
            }
            Called::OutOfTime => break Termination::WallTime,
        };
        ep.record_call(&result, true);
        let turn = react::parse_assistant(&result.text);
        ep.messages
            .push(Message::new(Role::Assistant, turn.content.clone()));
        if let Some(answer) = turn.answer {
            ep.prediction = Some(answer);
            break Termination::Answer;
        }
        if ep.forced_answer {
            // The model was told to answer now and did not.
            break Termination::Context;
        }
        let mut observed = false;
        if !turn.calls.is_empty() {
            let records = ctx.run_calls(call, turn.calls, &mut ep.timings).await;
            ep.messages
                .push(Message::new(Role::User, observation(&records)));
            ep.tool_calls.extend(records);
            observed = true;
        }
        if context_tokens(&ep.messages, &result, observed) > ctx.config.max_context_tokens {
            // Tongyi replaces the last observation with the request to answer now.
            match ep.messages.last_mut() {
                Some(last) if observed && last.role == Role::User => {
                    last.content = FORCED_ANSWER_MESSAGE.to_owned();
                }
                _ => ep
                    .messages
                    .push(Message::new(Role::User, FORCED_ANSWER_MESSAGE)),
            }
            ep.forced_answer = true;
        }
    };
    ep.finish(termination, ctx.started)
}

/// The conversation's length in tokens: the backend's own count of the last call (prompt
/// + completion) plus an estimate of the new observation when the backend counts tokens,
///   else the deterministic estimate of the whole conversation; the larger of the two.
fn context_tokens(messages: &[Message], last: &GenResult, observed: bool) -> usize {
    let estimate = react::approx_token_count(messages);
    match (last.prompt_tokens, last.completion_tokens) {
        (Some(p), Some(c)) => {
            let tail = if observed {
                react::approx_token_count(&messages[messages.len() - 1..])
            } else {
                0
            };
            estimate.max(p + c + tail)
        }
        _ => estimate,
    }
}
