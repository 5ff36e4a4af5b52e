//! The one error type every tool and every layer returns.
//!
//! Errors are data (serde) because the record/replay log stores them: replaying a
//! session must reproduce a recorded failure exactly like a recorded success.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Why a tool call did not produce an answer.
///
/// A page that does not exist or a search without results is *not* an error: the tools
/// answer those in the live tools' own words. Errors are for calls that could not be
/// answered at all.
#[derive(Debug, Clone, PartialEq, thiserror::Error, Serialize, Deserialize)]
#[serde(tag = "kind", content = "detail", rename_all = "snake_case")]
pub enum ToolError {
    /// The arguments do not match the tool's schema (missing, mistyped, unknown or
    /// out-of-range fields). Permanent: never retried.
    #[error("invalid arguments for tool `{tool}`: {reason}")]
    InvalidArguments { tool: String, reason: String },

    /// No tool of that name is registered.
    #[error("unknown tool `{name}` (available: {available})")]
    UnknownTool { name: String, available: String },

    /// Over a rate quota (per client or per tool).
    #[error("rate limited: retry after {} ms", retry_after.as_millis())]
    RateLimited { retry_after: Duration },

    /// Too many calls in flight for this tool and none finished within the bounded wait.
    #[error("tool `{tool}` is saturated: retry after {} ms", retry_after.as_millis())]
    Saturated { tool: String, retry_after: Duration },

    /// One attempt took longer than the tool's timeout.
    #[error("tool `{tool}` timed out after {} ms", after.as_millis())]
    Timeout { tool: String, after: Duration },

    /// A failure that may go away on its own (an injected fault, a flaky backend).
    #[error("transient failure: {0}")]
    Transient(String),

    /// The backend is temporarily unavailable (e.g. the sandbox pool is restarting).
    /// Transient.
    #[error("backend unavailable: {0}")]
    Unavailable(String),

    /// Strict replay was asked for a call that the log does not contain.
    #[error("replay miss: the log has no recording of {call}")]
    ReplayMiss { call: String },

    /// A bug or an unexpected backend failure (I/O error in the index, a panicked task).
    #[error("internal error: {0}")]
    Internal(String),
}

impl ToolError {
    /// Shorthand used by argument validation.
    pub fn invalid(tool: &str, reason: impl Into<String>) -> Self {
        ToolError::InvalidArguments {
            tool: tool.to_string(),
            reason: reason.into(),
        }
    }

    /// Whether trying the same call again later may succeed. Only these are retried.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            ToolError::Timeout { .. } | ToolError::Transient(_) | ToolError::Unavailable(_)
        )
    }

    /// When a client may try again, for `Retry-After`.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            ToolError::RateLimited { retry_after } | ToolError::Saturated { retry_after, .. } => {
                Some(*retry_after)
            }
            _ => None,
        }
    }

    /// The HTTP status the server should answer with (a hint; the server decides).
    pub fn http_status(&self) -> u16 {
        match self {
            ToolError::InvalidArguments { .. } => 422,
            ToolError::UnknownTool { .. } => 404,
            ToolError::RateLimited { .. } => 429,
            ToolError::Saturated { .. } => 503,
            ToolError::Timeout { .. } => 504,
            ToolError::Transient(_) | ToolError::Unavailable(_) => 503,
            ToolError::ReplayMiss { .. } => 404,
            ToolError::Internal(_) => 500,
        }
    }

    /// A short stable label (`invalid_arguments`, `timeout`, …) for logs and metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            ToolError::InvalidArguments { .. } => "invalid_arguments",
            ToolError::UnknownTool { .. } => "unknown_tool",
            ToolError::RateLimited { .. } => "rate_limited",
            ToolError::Saturated { .. } => "saturated",
            ToolError::Timeout { .. } => "timeout",
            ToolError::Transient(_) => "transient",
            ToolError::Unavailable(_) => "unavailable",
            ToolError::ReplayMiss { .. } => "replay_miss",
            ToolError::Internal(_) => "internal",
        }
    }
}

/// Failure to set the layers up (open the persistent cache or the replay log).
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("cannot open the persistent tool cache at {path}: {source}")]
    Cache {
        path: String,
        #[source]
        source: sled::Error,
    },
    #[error("cannot open the replay log {path}: {source}")]
    ReplayLog {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("invalid tool configuration: {0}")]
    Config(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_transient_kinds_are_retryable() {
        assert!(ToolError::Transient("x".into()).is_transient());
        assert!(ToolError::Unavailable("x".into()).is_transient());
        assert!(ToolError::Timeout {
            tool: "t".into(),
            after: Duration::from_secs(1)
        }
        .is_transient());
        assert!(!ToolError::invalid("search", "bad").is_transient());
        assert!(!ToolError::Internal("bug".into()).is_transient());
        assert!(!ToolError::ReplayMiss { call: "c".into() }.is_transient());
    }

    #[test]
    fn errors_round_trip_through_json_for_the_replay_log() {
        let err = ToolError::Saturated {
            tool: "search".into(),
            retry_after: Duration::from_millis(250),
        };
        let json = serde_json::to_string(&err).unwrap();
        assert!(json.contains("\"kind\":\"saturated\""), "{json}");
        let back: ToolError = serde_json::from_str(&json).unwrap();
        assert_eq!(back, err);
        assert_eq!(back.http_status(), 503);
        assert_eq!(back.retry_after(), Some(Duration::from_millis(250)));
    }
}
