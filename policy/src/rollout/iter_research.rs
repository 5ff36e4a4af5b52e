//! IterResearch (Tongyi's deep mode) and research-synthesis.
//!
//! IterResearch keeps no growing conversation. Each round the model sees the system
//! prompt and one user turn, the *workspace*, rebuilt from the question, the report it
//! wrote last round and only the last action with its tool response. It answers with
//! `<think>` (dropped next round), `<report>` (the updated report: everything worth
//! keeping) and one action: a `<tool_call>` or the final `<answer>`. The context stays
//! small however long the research runs. A workspace over the context budget (one huge
//! tool response) makes the next round the forced-answer round; one over the model's own
//! window (counted when the backend can) is replaced by the forced-answer workspace at
//! once, and if even that does not fit, or the backend refuses it, the episode ends as
//! `context`, never `error`.
//!
//! Research-synthesis runs several IterResearch agents in parallel (each its own seed)
//! and asks the model once more to answer from their reports.

use futures::future::join_all;
use simweb_tools::react::{self, Message, Role, FORCED_ANSWER_MESSAGE};

use super::agent::{AgentCtx, Called, EpisodeBuilder};
use super::env::observation;
use super::seed::branch_seed;
use super::trajectory::{Episode, Termination};

/// Appended to the system prompt: how a round works.
pub const ITER_RESEARCH_INSTRUCTIONS: &str = "# Iterative research

You work in rounds. Each round you see only the question, the report you wrote in the previous round, and your last action with its result; earlier rounds are not shown again. In every reply:
1. Think in <think></think> (your thinking is not kept).
2. Write the updated report in <report></report>: everything you have learned that matters for the question, merged with the previous report. Anything left out of the report is lost.
3. Take exactly one action: one tool call in <tool_call></tool_call>, or, when the report is enough to answer, the final answer in <answer></answer>.";

/// The system prompt of the synthesis call.
pub const SYNTHESIS_SYSTEM_PROMPT: &str = "You are a deep research assistant. Several independent research agents investigated the same question; their final reports follow. Weigh them against each other: prefer facts that agents found independently and that are backed by sources, and resolve contradictions. Think in <think></think>, then give the single final answer within <answer></answer>.";

/// What the workspace shows when the model has not written a report yet.
pub const EMPTY_REPORT: &str = "(empty: this is the first round)";

/// Shown as the last action's result when the reply had neither a tool call nor an answer.
pub const NO_ACTION_OBSERVATION: &str =
    "Error: your last reply had neither a <tool_call> nor an <answer>. Take one action.";

/// The user turn of one round.
pub fn workspace(question: &str, report: &str, last: Option<&(String, String)>) -> String {
    let report = if report.trim().is_empty() {
        EMPTY_REPORT
    } else {
        report.trim()
    };
    let mut text = format!("{question}\n\n<report>\n{report}\n</report>");
    if let Some((action, result)) = last {
        text.push_str(&format!(
            "\n\n<last_action>\n{action}\n</last_action>\n\n{result}"
        ));
    }
    text
}

/// The text between the first `<tag>` and the following `</tag>`.
fn tagged<'a>(text: &'a str, tag: &str) -> Option<&'a str> {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    let start = text.find(&open)? + open.len();
    let len = text[start..].find(&close)?;
    Some(&text[start..start + len])
}

/// The reply without its `<think>` and `<report>` blocks: the action, as the next
/// workspace shows it.
fn action_text(content: &str) -> String {
    let mut rest = content.to_owned();
    for tag in ["think", "report"] {
        let open = format!("<{tag}>");
        let close = format!("</{tag}>");
        if let (Some(start), Some(end)) = (rest.find(&open), rest.find(&close)) {
            if end >= start {
                rest.replace_range(start..end + close.len(), "");
            }
        }
    }
    rest.trim().to_owned()
}

/// Runs one IterResearch agent on `question`.
pub async fn run_iter_research(ctx: &AgentCtx, question: &str) -> Episode {
    let system = format!("{}\n\n{ITER_RESEARCH_INSTRUCTIONS}", ctx.system_prompt());
    let mut ep = EpisodeBuilder {
        messages: vec![Message::new(Role::System, system.clone())],
        ..EpisodeBuilder::default()
    };
    let limits = ctx.context_limits();
    let mut report = String::new();
    let mut last: Option<(String, String)> = None;
    let termination = loop {
        if ep.model_calls >= ctx.config.max_turns {
            break Termination::MaxTurns;
        }
        let round = ep.model_calls;
        let prompt_for = |forced: bool| {
            let user = if forced {
                format!(
                    "{question}\n\n<report>\n{}\n</report>\n\n{FORCED_ANSWER_MESSAGE}",
                    report.trim()
                )
            } else {
                workspace(question, &report, last.as_ref())
            };
            [
                Message::new(Role::System, system.clone()),
                Message::new(Role::User, user),
            ]
        };
        let mut prompt = prompt_for(ep.forced_answer);
        // A workspace over the model's window (when it can be counted) becomes the
        // forced-answer workspace; one that still does not fit ends the episode.
        if let Some(limit) = limits.prompt_limit {
            let over = |p: &[Message]| ctx.count_tokens(p).is_some_and(|n| n > limit);
            if over(&prompt) {
                if ep.forced_answer {
                    break Termination::Context;
                }
                ep.forced_answer = true;
                prompt = prompt_for(true);
                if over(&prompt) {
                    break Termination::Context;
                }
            }
        }
        let result = match ctx.call_model(&prompt, round, &mut ep.timings).await {
            Called::Done(result) => result,
            Called::Overflow if !ep.forced_answer => {
                ep.forced_answer = true;
                continue;
            }
            Called::Overflow => break Termination::Context,
            Called::Failed(error) => {
                ep.error = Some(error);
                break Termination::Error;
            }
            Called::OutOfTime => break Termination::WallTime,
        };
        ep.record_call(&result, false);
        let turn = react::parse_assistant(&result.text);
        let [_, user] = prompt;
        ep.messages.push(user);
        ep.messages
            .push(Message::new(Role::Assistant, turn.content.clone()));
        if let Some(updated) = tagged(&turn.content, "report") {
            report = updated.trim().to_owned();
            ep.report = Some(report.clone());
        }
        if let Some(answer) = turn.answer {
            ep.prediction = Some(answer);
            break Termination::Answer;
        }
        if ep.forced_answer {
            break Termination::Context;
        }
        let result_text = if turn.calls.is_empty() {
            NO_ACTION_OBSERVATION.to_owned()
        } else {
            let records = ctx.run_calls(round, turn.calls, &mut ep.timings).await;
            let text = observation(&records);
            ep.tool_calls.extend(records);
            text
        };
        last = Some((action_text(&turn.content), result_text));
        // The workspace is small by design; one huge tool response can still overflow it.
        let next = [
            Message::new(Role::System, system.clone()),
            Message::new(Role::User, workspace(question, &report, last.as_ref())),
        ];
        if react::approx_token_count(&next) > limits.budget {
            ep.forced_answer = true;
        }
    };
    ep.finish(termination, ctx.started)
}

/// Research-synthesis: `config.synthesis_agents` IterResearch agents in parallel, then
/// one synthesis call. Returns (the synthesis episode, the agents' episodes).
pub async fn run_synthesis(ctx: &AgentCtx, question: &str) -> (Episode, Vec<Episode>) {
    let agents = ctx.config.synthesis_agents.max(1);
    let branches: Vec<AgentCtx> = (1..=agents)
        .map(|branch| AgentCtx {
            seed: branch_seed(ctx.seed, branch),
            branch,
            client: format!("{}#{branch}", ctx.client),
            ..ctx.clone()
        })
        .collect();
    let episodes = join_all(branches.iter().map(|b| run_iter_research(b, question))).await;

    let user = synthesis_prompt(question, &episodes);
    let messages = vec![
        Message::new(Role::System, SYNTHESIS_SYSTEM_PROMPT),
        Message::new(Role::User, user),
    ];
    let mut ep = EpisodeBuilder {
        messages: messages.clone(),
        ..EpisodeBuilder::default()
    };
    let limit = ctx.context_limits().prompt_limit;
    let too_long = limit.is_some_and(|l| ctx.count_tokens(&messages).is_some_and(|n| n > l));
    let called = if too_long {
        Called::Overflow
    } else {
        ctx.call_model(&messages, 0, &mut ep.timings).await
    };
    let termination = match called {
        // The reports together do not fit the model's window.
        Called::Overflow => Termination::Context,
        Called::Done(result) => {
            ep.record_call(&result, false);
            let turn = react::parse_assistant(&result.text);
            ep.messages
                .push(Message::new(Role::Assistant, turn.content.clone()));
            match turn.answer {
                Some(answer) => {
                    ep.prediction = Some(answer);
                    Termination::Answer
                }
                // One call is all the synthesis gets.
                None => Termination::MaxTurns,
            }
        }
        Called::Failed(error) => {
            ep.error = Some(error);
            Termination::Error
        }
        Called::OutOfTime => Termination::WallTime,
    };
    for branch in &episodes {
        ep.timings.absorb(&branch.timings);
    }
    (ep.finish(termination, ctx.started), episodes)
}

/// The synthesis call's user turn: the question and each agent's report and answer.
pub fn synthesis_prompt(question: &str, episodes: &[Episode]) -> String {
    let mut text = format!(
        "{question}\n\nReports from {} independent research agents:",
        episodes.len()
    );
    for (i, e) in episodes.iter().enumerate() {
        let report = e.report.as_deref().unwrap_or("(no report)");
        let answer = e.prediction.as_deref().unwrap_or("(no answer)");
        text.push_str(&format!(
            "\n\n## Agent {}\n<report>\n{report}\n</report>\nAnswer: {answer}",
            i + 1
        ));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workspace_shows_question_report_and_only_the_last_action() {
        let first = workspace("Q?", "", None);
        assert_eq!(first, format!("Q?\n\n<report>\n{EMPTY_REPORT}\n</report>"));
        let later = workspace(
            "Q?",
            " found X ",
            Some(&(
                "<tool_call>c</tool_call>".into(),
                "<tool_response>\nr\n</tool_response>".into(),
            )),
        );
        assert!(later.contains("<report>\nfound X\n</report>"));
        assert!(later.ends_with("<last_action>\n<tool_call>c</tool_call>\n</last_action>\n\n<tool_response>\nr\n</tool_response>"));
    }

    #[test]
    fn thinking_and_report_are_not_part_of_the_action() {
        let reply = "<think>hmm</think>\n<report>R</report>\n<tool_call>\n{}\n</tool_call>";
        assert_eq!(action_text(reply), "<tool_call>\n{}\n</tool_call>");
        assert_eq!(tagged(reply, "report"), Some("R"));
        assert_eq!(tagged("<report>open", "report"), None);
    }
}
