//! ReAct in the Tongyi DeepResearch protocol: one conversation that grows by an assistant
//! turn (`<think>`, then a `<tool_call>` or an `<answer>`) and a user turn of
//! `<tool_response>` blocks per step. Parsing, prompts and observations come from
//! [`simweb_tools::react`], the same code the server's episodes use.
//!
//! Limits, as Tongyi's agent applies them: `max_turns` model calls; past the context
//! budget the last observation is replaced by the forced-answer prompt and the model gets
//! one more turn; the wall-clock budget ends the episode at once.
//!
//! The context budget is `max_context_tokens` capped by the model's own window (less room
//! for a reply, [`ContextLimits`]). Tongyi checks after each turn with an estimate; here,
//! when the backend can count a prompt's real tokens, each prompt is also checked against
//! the window before it is sent: one that would not fit turns into the forced-answer
//! prompt, and a forced-answer prompt that still does not fit leaves out the oldest turns
//! after the question (`trimmed_messages`). A backend that refuses a prompt as too long
//! gets the forced-answer prompt once, then the episode ends as `context`. Outgrowing the
//! model's context is therefore never an `error`.

use simweb_tools::react::{self, Message, Role, FORCED_ANSWER_MESSAGE};

use super::agent::{AgentCtx, Called, ContextLimits, EpisodeBuilder};
use super::env::observation;
use super::trajectory::{Episode, Termination};
use crate::backend::GenResult;

/// Runs one ReAct episode on `question`.
pub async fn run_react(ctx: &AgentCtx, question: &str) -> Episode {
    let limits = ctx.context_limits();
    let mut ep = EpisodeBuilder {
        messages: react::initial_messages(&ctx.system_prompt(), question),
        ..EpisodeBuilder::default()
    };
    let termination = loop {
        if ep.model_calls >= ctx.config.max_turns {
            break Termination::MaxTurns;
        }
        let call = ep.model_calls;
        let Fit::Fits(trimmed) = fit_window(ctx, &limits, &mut ep) else {
            break Termination::Context;
        };
        let prompt = trimmed.as_deref().unwrap_or(&ep.messages);
        let result = match ctx.call_model(prompt, call, &mut ep.timings).await {
            Called::Done(result) => result,
            Called::Overflow if !ep.forced_answer => {
                // Refused as too long: ask for the answer instead (the same call again).
                force_answer(&mut ep);
                continue;
            }
            Called::Overflow => break Termination::Context,
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
        if context_tokens(&ep.messages, &result, observed) > limits.budget {
            force_answer(&mut ep);
        }
    };
    ep.finish(termination, ctx.started)
}

/// Tongyi replaces the last observation with the request to answer now; after an
/// assistant turn with no observation (or the question alone) the request is appended.
fn force_answer(ep: &mut EpisodeBuilder) {
    let past_question = ep.messages.len() > 2;
    match ep.messages.last_mut() {
        Some(last) if past_question && last.role == Role::User => {
            last.content = FORCED_ANSWER_MESSAGE.to_owned();
        }
        _ => ep
            .messages
            .push(Message::new(Role::User, FORCED_ANSWER_MESSAGE)),
    }
    ep.forced_answer = true;
}

/// Whether the next prompt fits the model's window.
enum Fit {
    /// It fits: the conversation as it is (`None`), or, for the forced-answer prompt, the
    /// conversation without its oldest turns.
    Fits(Option<Vec<Message>>),
    /// Not even the system prompt, the question and the forced-answer prompt fit.
    No,
}

/// Checks the next prompt against the model's window when the backend knows it and can
/// count tokens (else the backend's own refusal is the check): a prompt over it becomes
/// the forced-answer prompt, and a forced-answer prompt over it leaves out the fewest
/// oldest turns (assistant turn + observation, after the question) that make it fit.
fn fit_window(ctx: &AgentCtx, limits: &ContextLimits, ep: &mut EpisodeBuilder) -> Fit {
    let Some(limit) = limits.prompt_limit else {
        return Fit::Fits(None);
    };
    let fits = |messages: &[Message]| ctx.count_tokens(messages).map(|n| n <= limit);
    match fits(&ep.messages) {
        None | Some(true) => return Fit::Fits(None),
        Some(false) => {}
    }
    if !ep.forced_answer {
        force_answer(ep);
        if fits(&ep.messages) != Some(false) {
            return Fit::Fits(None);
        }
    }
    // Turns start at assistant messages after the question; the last candidate keeps only
    // the forced-answer request. Fewer kept messages never take more tokens, so the first
    // start that fits is found by bisection.
    let last = ep.messages.len() - 1;
    let starts: Vec<usize> = (2..last)
        .filter(|&i| ep.messages[i].role == Role::Assistant)
        .chain([last])
        .collect();
    let prompt_from = |start: usize| -> Vec<Message> {
        ep.messages[..2]
            .iter()
            .chain(&ep.messages[start..])
            .cloned()
            .collect()
    };
    let (mut lo, mut hi) = (0, starts.len());
    while lo < hi {
        let mid = (lo + hi) / 2;
        if fits(&prompt_from(starts[mid])) == Some(true) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    match starts.get(lo) {
        Some(&start) => {
            ep.trimmed_messages = start - 2;
            Fit::Fits(Some(prompt_from(start)))
        }
        None => Fit::No,
    }
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
