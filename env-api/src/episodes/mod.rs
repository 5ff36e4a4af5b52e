//! Gym-style episodes over the ReAct text protocol.
//!
//! `create` renders the system prompt (Tongyi's layout, the episode's tools, a fixed
//! date) and the question; `step` reads one assistant turn with
//! [`simweb_tools::react`], runs its tool calls through the tool layer in order, and
//! answers with the `<tool_response>` observation, or ends the episode on `<answer>`
//! and scores it with [`simweb_tools::reward`]. Every state change is persisted before
//! the response, so a restarted server continues where it stopped.
//!
//! Load shedding (429/503 from the tool layer) aborts the step without recording it:
//! the client retries the same action and the trajectory never depends on load.

pub mod store;

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use simweb_tools::format::agent_text_for_error;
use simweb_tools::react::{self, Message, ParsedTurn, PromptTemplate, Role, ToolCall};
use simweb_tools::reward::{self, Score};
use simweb_tools::{canonical_json, ToolError, Toolbox};
use utoipa::ToSchema;

pub use store::{EpisodeStore, StoreError};

use crate::config::{EpisodeConfig, RewardMetric};
use crate::errors::ApiError;

/// A question and, for scoring, its accepted answers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Task {
    pub question: String,
    #[serde(default)]
    pub answers: Vec<String>,
}

/// The agent loop an episode speaks. Only Tongyi's ReAct text protocol for now.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Paradigm {
    #[default]
    React,
}

/// `POST /v1/episodes`.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateEpisode {
    #[serde(default, deserialize_with = "crate::lenient::opt_object")]
    pub task: Option<Task>,
    /// Part of the episode id; same seed, task and creation order give the same id.
    #[serde(
        default,
        deserialize_with = "crate::lenient::opt_int::<_, u64, 0, 9_007_199_254_740_991>"
    )]
    #[schema(minimum = 0, maximum = 9_007_199_254_740_991_u64)]
    pub seed: Option<u64>,
    /// Tool names offered, in prompt order (default: the server's episode tools).
    pub tools: Option<Vec<String>>,
    #[serde(
        default,
        deserialize_with = "crate::lenient::opt_int::<_, u32, 0, 4_294_967_295>"
    )]
    pub max_turns: Option<u32>,
    #[serde(
        default,
        deserialize_with = "crate::lenient::opt_int::<_, usize, 1, 4_294_967_295>"
    )]
    #[schema(minimum = 1, maximum = 4_294_967_295_u64)]
    pub max_context_tokens: Option<usize>,
    pub paradigm: Option<Paradigm>,
    /// Overrides the prompt's fixed `Current date:`.
    pub current_date: Option<String>,
}

/// How an episode stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Running,
    /// Ended by an `<answer>`.
    Terminated,
    /// Cut off (turn limit, or no answer after the context limit).
    Truncated,
}

/// One tool call of a step, as the trajectory records it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CallRecord {
    /// The tool named by the model (absent when the call could not be read).
    pub name: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub arguments: Option<Value>,
    /// What the model got back for this call.
    pub observation: String,
    /// Why the call failed (`malformed_call`, `unknown_tool`, a tool error kind, …).
    pub error: Option<String>,
    pub cached: bool,
}

/// One step of the trajectory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct StepRecord {
    pub turn: u32,
    /// The assistant text as it entered the conversation.
    pub action: String,
    pub calls: Vec<CallRecord>,
    pub observation: String,
    pub reward: f64,
    pub terminated: bool,
    pub truncated: bool,
}

/// A whole episode: settings, conversation, steps, outcome.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Episode {
    pub id: String,
    /// The client (API-key fingerprint, else `X-Simweb-Client`, else `anonymous`) that
    /// created the episode: the only one that may read or step it.
    #[serde(default)]
    pub owner: String,
    pub seed: u64,
    pub task: Task,
    pub tools: Vec<String>,
    pub paradigm: Paradigm,
    pub max_turns: u32,
    pub max_context_tokens: usize,
    pub current_date: String,
    pub reward_metric: RewardMetric,
    #[schema(value_type = Vec<Object>)]
    pub messages: Vec<Message>,
    pub steps: Vec<StepRecord>,
    pub status: Status,
    /// Why the episode ended (`answer`, `max_turns`, `context_limit`).
    pub end_reason: Option<String>,
    /// The context limit was passed and the model was told to answer now.
    pub forced_answer: bool,
    pub prediction: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub score: Option<Score>,
}

/// `POST /v1/episodes` answer.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Created {
    pub episode_id: String,
    /// The conversation so far: the system prompt and the question.
    #[schema(value_type = Vec<Object>)]
    pub observation: Vec<Message>,
    pub tools: Vec<String>,
    pub max_turns: u32,
}

/// `POST /v1/episodes/{id}/step` answer.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StepResult {
    /// The next user turn (`<tool_response>` blocks, or the forced-answer request);
    /// empty when the episode ended or the turn had no tool call.
    pub observation: String,
    pub reward: f64,
    pub terminated: bool,
    pub truncated: bool,
    pub info: StepInfo,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StepInfo {
    pub turn: u32,
    pub calls: Vec<CallRecord>,
    pub prediction: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub score: Option<Score>,
    pub end_reason: Option<String>,
    pub forced_answer: bool,
    /// The conversation's length by the deterministic 4-characters-a-token estimate.
    pub approx_context_tokens: usize,
}

/// Creates and steps episodes; shared by all requests.
pub struct EpisodeEngine {
    toolbox: Arc<Toolbox>,
    store: EpisodeStore,
    config: EpisodeConfig,
    template: PromptTemplate,
    /// This server's replica name, carried in every episode id it creates.
    replica: Option<String>,
}

impl EpisodeEngine {
    pub fn new(
        toolbox: Arc<Toolbox>,
        store: EpisodeStore,
        config: EpisodeConfig,
        replica: Option<String>,
    ) -> Result<EpisodeEngine, react::TemplateError> {
        let template = match &config.prompt_template {
            Some(text) => PromptTemplate::new(text.clone())?,
            None => PromptTemplate::default(),
        };
        Ok(EpisodeEngine {
            toolbox,
            store,
            config,
            template,
            replica,
        })
    }

    pub fn store(&self) -> &EpisodeStore {
        &self.store
    }

    /// Tool names an episode may offer (registered tools and their aliases).
    fn offerable(&self, name: &str) -> bool {
        self.toolbox.get(name).is_some()
    }

    fn schema_for(&self, name: &str) -> Option<Value> {
        if name == react::PYTHON_TOOL_NAME {
            return self.offerable(name).then(react::python_interpreter_schema);
        }
        self.toolbox.get(name).map(|tool| tool.schema())
    }

    /// Starts an episode owned by `owner` (the calling client).
    pub async fn create(&self, request: CreateEpisode, owner: &str) -> Result<Created, ApiError> {
        let task = request.task.unwrap_or(Task {
            question: String::new(),
            answers: Vec::new(),
        });
        let tools = match request.tools {
            Some(tools) => {
                if let Some(unknown) = tools.iter().find(|t| !self.offerable(t)) {
                    return Err(ApiError::Unprocessable(format!(
                        "unknown tool `{unknown}` in `tools` (available: {})",
                        self.available().join(", ")
                    )));
                }
                tools
            }
            None => self
                .config
                .tools
                .iter()
                .filter(|t| self.offerable(t))
                .cloned()
                .collect(),
        };
        let max_turns = request.max_turns.unwrap_or(self.config.max_turns);
        if max_turns == 0 || max_turns > self.config.max_turns {
            return Err(ApiError::Unprocessable(format!(
                "`max_turns` must be within 1..={}, got {max_turns}",
                self.config.max_turns
            )));
        }
        let max_context_tokens = request
            .max_context_tokens
            .unwrap_or(self.config.max_context_tokens);
        if max_context_tokens == 0 {
            return Err(ApiError::Unprocessable(
                "`max_context_tokens` must be at least 1".into(),
            ));
        }
        let seed = request.seed.unwrap_or(0);
        let current_date = request
            .current_date
            .unwrap_or_else(|| self.config.current_date.clone());
        let schemas: Vec<Value> = tools.iter().filter_map(|t| self.schema_for(t)).collect();
        let system = self.template.render(&schemas, &current_date);
        let messages = react::initial_messages(&system, &task.question);

        let counter = self.store.next_counter().map_err(internal)?;
        let salt = self.store.id_salt().map_err(internal)?;
        let id = episode_id(
            &salt,
            seed,
            &task,
            &tools,
            max_turns,
            counter,
            self.replica.as_deref(),
        );
        let episode = Episode {
            id: id.clone(),
            owner: owner.to_string(),
            seed,
            task,
            tools: tools.clone(),
            paradigm: request.paradigm.unwrap_or_default(),
            max_turns,
            max_context_tokens,
            current_date,
            reward_metric: self.config.reward,
            messages: messages.clone(),
            steps: Vec::new(),
            status: Status::Running,
            end_reason: None,
            forced_answer: false,
            prediction: None,
            score: None,
        };
        self.store.put(&episode).await.map_err(internal)?;
        Ok(Created {
            episode_id: id,
            observation: messages,
            tools,
            max_turns,
        })
    }

    fn available(&self) -> Vec<String> {
        let mut names = self.toolbox.names();
        if self.offerable(react::PYTHON_TOOL_NAME) {
            names.push(react::PYTHON_TOOL_NAME.to_string());
        }
        names
    }

    /// The episode, if `owner` created it (any other caller gets the same 404 as for
    /// an unknown id, so ids cannot be probed).
    pub fn get(&self, id: &str, owner: &str) -> Result<Episode, ApiError> {
        if let Some(elsewhere) = replica_of(id).filter(|r| Some(*r) != self.replica.as_deref()) {
            let here = self.replica.as_deref().unwrap_or("unnamed");
            return Err(ApiError::NotFound(format!(
                "episode `{id}` belongs to replica `{elsewhere}`, not to this one (`{here}`): \
                 route episode requests by the replica in their id"
            )));
        }
        self.store
            .get(id)
            .map_err(internal)?
            .filter(|episode| episode.owner == owner)
            .ok_or_else(|| not_found(id))
    }

    /// Plays one assistant turn. `action` is the raw assistant text, or an object
    /// `{"content"?: text, "tool_calls": [OpenAI tool calls]}`.
    pub async fn step(
        &self,
        id: &str,
        action: &Value,
        client: &str,
    ) -> Result<StepResult, ApiError> {
        let (content, turn) = read_action(action)?;
        let _guard = self.store.lock(id).await;
        let mut episode = self.get(id, client)?;
        if episode.status != Status::Running {
            return Err(ApiError::Conflict(format!(
                "episode `{id}` has ended ({}); start a new one",
                episode.end_reason.as_deref().unwrap_or("ended")
            )));
        }
        let turn_no = episode.steps.len() as u32 + 1;
        episode
            .messages
            .push(Message::new(Role::Assistant, content.clone()));

        let mut record = StepRecord {
            turn: turn_no,
            action: content,
            calls: Vec::new(),
            observation: String::new(),
            reward: 0.0,
            terminated: false,
            truncated: false,
        };
        if let Some(answer) = turn.answer.clone() {
            let score = (!episode.task.answers.is_empty())
                .then(|| reward::score(&answer, &episode.task.answers));
            record.reward = match (score, episode.reward_metric) {
                (Some(s), RewardMetric::ExactMatch) => s.exact_match,
                (Some(s), RewardMetric::F1) => s.f1,
                (None, _) => 0.0,
            };
            record.terminated = true;
            episode.prediction = Some(answer);
            episode.score = score;
            episode.status = Status::Terminated;
            episode.end_reason = Some("answer".into());
        } else {
            if !turn.calls.is_empty() {
                record.calls = self.run_calls(&episode, turn.calls, client).await?;
                let blocks: Vec<String> = record
                    .calls
                    .iter()
                    .map(|c| react::tool_response(&c.observation))
                    .collect();
                record.observation = blocks.join("\n");
                episode
                    .messages
                    .push(Message::new(Role::User, record.observation.clone()));
            }
            if episode.forced_answer {
                end_truncated(&mut episode, &mut record, "context_limit");
            } else if react::approx_token_count(&episode.messages) > episode.max_context_tokens {
                // Tongyi replaces the last observation with the request to answer now.
                record.observation = react::FORCED_ANSWER_MESSAGE.to_string();
                match episode.messages.last_mut() {
                    Some(last) if last.role == Role::User && !record.calls.is_empty() => {
                        last.content = record.observation.clone();
                    }
                    _ => episode
                        .messages
                        .push(Message::new(Role::User, record.observation.clone())),
                }
                episode.forced_answer = true;
            }
            if episode.status == Status::Running && turn_no >= episode.max_turns {
                end_truncated(&mut episode, &mut record, "max_turns");
            }
        }
        episode.steps.push(record.clone());
        self.store.put(&episode).await.map_err(internal)?;
        Ok(StepResult {
            observation: record.observation,
            reward: record.reward,
            terminated: record.terminated,
            truncated: record.truncated,
            info: StepInfo {
                turn: turn_no,
                calls: record.calls,
                prediction: episode.prediction.clone(),
                score: episode.score,
                end_reason: episode.end_reason.clone(),
                forced_answer: episode.forced_answer,
                approx_context_tokens: react::approx_token_count(&episode.messages),
            },
        })
    }

    /// Runs the calls in order (deterministic), each bounded by the per-turn cap.
    async fn run_calls(
        &self,
        episode: &Episode,
        calls: Vec<Result<ToolCall, react::MalformedCall>>,
        client: &str,
    ) -> Result<Vec<CallRecord>, ApiError> {
        let mut records = Vec::with_capacity(calls.len());
        for (i, call) in calls.into_iter().enumerate() {
            let record = match call {
                _ if i >= self.config.max_calls_per_turn => CallRecord {
                    name: None,
                    arguments: None,
                    observation: format!(
                        "Error: at most {} tool calls are run per turn; this call was not run.",
                        self.config.max_calls_per_turn
                    ),
                    error: Some("too_many_calls".into()),
                    cached: false,
                },
                Err(malformed) => CallRecord {
                    name: None,
                    arguments: None,
                    observation: malformed.observation().to_string(),
                    error: Some(format!("malformed_call: {}", malformed.reason)),
                    cached: false,
                },
                Ok(call) if !episode.tools.contains(&call.name) => CallRecord {
                    observation: react::unknown_tool_observation(&call.name),
                    name: Some(call.name),
                    arguments: Some(call.arguments),
                    error: Some("unknown_tool".into()),
                    cached: false,
                },
                Ok(call) => match self.toolbox.call(&call.name, &call.arguments, client).await {
                    Ok(output) => CallRecord {
                        name: Some(call.name),
                        arguments: Some(call.arguments),
                        observation: output.text,
                        error: None,
                        cached: output.cached,
                    },
                    Err(error @ (ToolError::RateLimited { .. } | ToolError::Saturated { .. })) => {
                        return Err(ApiError::from(error));
                    }
                    Err(error) => CallRecord {
                        observation: agent_text_for_error(&call.name, &error),
                        error: Some(error.kind().to_string()),
                        name: Some(call.name),
                        arguments: Some(call.arguments),
                        cached: false,
                    },
                },
            };
            records.push(record);
        }
        Ok(records)
    }
}

fn end_truncated(episode: &mut Episode, record: &mut StepRecord, reason: &str) {
    record.truncated = true;
    episode.status = Status::Truncated;
    episode.end_reason = Some(reason.to_string());
}

/// Reads a step's action: raw text (Tongyi), or OpenAI `tool_calls` with optional text.
fn read_action(action: &Value) -> Result<(String, ParsedTurn), ApiError> {
    match action {
        Value::String(text) => {
            let turn = react::parse_assistant(text);
            Ok((turn.content.clone(), turn))
        }
        Value::Object(map) => {
            if let Some(unknown) = map.keys().find(|k| *k != "content" && *k != "tool_calls") {
                return Err(ApiError::Unprocessable(format!(
                    "unknown field `{unknown}` in `action` (expected `content` and/or `tool_calls`)"
                )));
            }
            let content = match map.get("content") {
                None | Some(Value::Null) => String::new(),
                Some(Value::String(text)) => text.clone(),
                Some(_) => {
                    return Err(ApiError::Unprocessable(
                        "`action.content` must be a string".into(),
                    ))
                }
            };
            let mut turn = react::parse_assistant(&content);
            let from_text = turn.calls.len();
            if let Some(tool_calls) = map.get("tool_calls") {
                if !tool_calls.is_array() {
                    return Err(ApiError::Unprocessable(
                        "`action.tool_calls` must be an array of OpenAI tool calls".into(),
                    ));
                }
                turn.calls
                    .extend(react::parse_openai_tool_calls(tool_calls));
            }
            // The conversation keeps Tongyi's text form of the OpenAI-style calls.
            let mut text = turn.content.clone();
            for call in turn.calls[from_text..].iter().flatten() {
                text.push_str(&render_call(call));
            }
            Ok((text.trim().to_string(), turn))
        }
        _ => Err(ApiError::Unprocessable(
            "`action` must be the assistant's text or {\"content\", \"tool_calls\"}".into(),
        )),
    }
}

fn render_call(call: &ToolCall) -> String {
    let mut arguments = call.arguments.clone();
    let code = if call.name == react::PYTHON_TOOL_NAME {
        arguments
            .as_object_mut()
            .and_then(|m| m.remove("code"))
            .and_then(|c| c.as_str().map(str::to_owned))
    } else {
        None
    };
    let json = serde_json::json!({"name": call.name, "arguments": arguments});
    match code {
        Some(code) => format!(
            "\n<tool_call>\n{}\n<code>\n{code}\n</code>\n</tool_call>",
            react::schema_line(&json)
        ),
        None => format!("\n<tool_call>\n{}\n</tool_call>", react::schema_line(&json)),
    }
}

/// `ep-` (+ `{replica}-` on a named replica) + 20 hex digits of sha256(seed, task,
/// tools, max_turns, creation counter). The episode handle: a hash of its inputs, the
/// store's creation counter and the store's secret salt. The salt makes handles
/// unguessable (they cannot be recomputed from a task and seed); what is reproducible
/// is the trajectory, never the handle. The replica lets a load balancer send every
/// request of an episode to the server that holds it.
fn episode_id(
    salt: &[u8],
    seed: u64,
    task: &Task,
    tools: &[String],
    max_turns: u32,
    counter: u64,
    replica: Option<&str>,
) -> String {
    let task_json = serde_json::to_value(task).unwrap_or(Value::Null);
    let mut hasher = Sha256::new();
    hasher.update(salt);
    for part in [
        "simweb-episode/v2".to_string(),
        seed.to_string(),
        canonical_json(&task_json),
        tools.join("\u{1f}"),
        max_turns.to_string(),
        counter.to_string(),
    ] {
        hasher.update((part.len() as u64).to_le_bytes());
        hasher.update(part.as_bytes());
    }
    let digest = hex::encode(hasher.finalize());
    match replica {
        Some(replica) => format!("ep-{replica}-{}", &digest[..20]),
        None => format!("ep-{}", &digest[..20]),
    }
}

/// The replica named in an episode id (`ep-{replica}-{hex}`), if any.
pub fn replica_of(id: &str) -> Option<&str> {
    let rest = id.strip_prefix("ep-")?;
    let (replica, _hash) = rest.split_once('-')?;
    Some(replica)
}

fn not_found(id: &str) -> ApiError {
    ApiError::NotFound(format!("no episode `{id}` (unknown or expired)"))
}

fn internal(error: StoreError) -> ApiError {
    match error {
        StoreError::Stalled(_) => ApiError::Saturated {
            message: error.to_string(),
            retry_after: Duration::from_secs(5),
        },
        other => ApiError::Internal(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn episode_ids_are_a_pure_function_of_their_inputs() {
        let task = Task {
            question: "q".into(),
            answers: vec!["a".into()],
        };
        let tools = vec!["search".to_string()];
        let a = episode_id(b"salt", 1, &task, &tools, 10, 1, None);
        assert_eq!(a, episode_id(b"salt", 1, &task, &tools, 10, 1, None));
        assert_ne!(a, episode_id(b"salt", 2, &task, &tools, 10, 1, None));
        assert_ne!(a, episode_id(b"salt", 1, &task, &tools, 10, 2, None));
        assert_ne!(a, episode_id(b"other", 1, &task, &tools, 10, 1, None));
        assert!(a.starts_with("ep-") && a.len() == 23);
        assert_eq!(replica_of(&a), None);

        let named = episode_id(b"salt", 1, &task, &tools, 10, 1, Some("r2"));
        assert_eq!(named, format!("ep-r2-{}", &a[3..]));
        assert_eq!(replica_of(&named), Some("r2"));
    }

    #[test]
    fn actions_are_read_in_both_forms() {
        let (text, turn) = read_action(&json!("<answer>x</answer>")).unwrap();
        assert_eq!(text, "<answer>x</answer>");
        assert_eq!(turn.answer.as_deref(), Some("x"));

        let (text, turn) = read_action(&json!({"content": "thinking", "tool_calls": [
            {"type": "function", "function": {"name": "search", "arguments": "{\"query\": [\"q\"]}"}},
            {"function": {"name": "PythonInterpreter", "arguments": "{\"code\": \"print(1)\"}"}}
        ]}))
        .unwrap();
        assert_eq!(turn.calls.len(), 2);
        assert!(
            text.starts_with("thinking\n<tool_call>\n{\"name\": \"search\""),
            "{text}"
        );
        assert!(text.contains("<code>\nprint(1)\n</code>"), "{text}");

        assert!(read_action(&json!(5)).is_err());
        assert!(read_action(&json!({"tool_calls": {}})).is_err());
        assert!(read_action(&json!({"text": "x"})).is_err());
    }
}
