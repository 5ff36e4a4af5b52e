//! The tool layer: the same guarantees for every tool, composed as wrappers.
//!
//! Each layer is a [`Tool`] that owns an inner `Arc<dyn Tool>` (the decorator form of
//! tower's `Layer`/`Service`; written by hand because a tool call is a single async
//! method and this keeps stack traces and types readable). [`ToolLayers::wrap`] builds
//! the stack, outermost first:
//!
//! ```text
//! metrics → rate limit → record/replay → cache → backpressure → retry → timeout → faults → tool
//! ```
//!
//! Why this order: metrics sees every final outcome; quotas refuse before any work;
//! replay answers from the log before the cache or the tool are touched (zero index
//! work) and records what the cache answered too; the cache sits outside backpressure so
//! hits never wait for a slot; one concurrency slot covers all retries of a call; the
//! timeout bounds each attempt (a timed-out attempt is transient, so it is retried);
//! injected faults and latency happen inside the timeout so they behave like a slow or
//! flaky backend.

mod backpressure;
mod cache;
mod faults;
pub mod metrics;
mod rate_limit;
mod replay;
mod retry;
mod timeout;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub use cache::CacheStore;
pub use metrics::{Metrics, MetricsSnapshot, Outcome};
pub use replay::{
    merge as merge_replay_logs, MergeError, MergeReport, RecordedOutcome, Recorder, ReplayMode,
};

use crate::error::SetupError;
use crate::tool::Tool;

/// Delegates the descriptive methods of [`Tool`] to `self.inner` (every layer has one).
macro_rules! delegate_tool_descriptors {
    () => {
        fn name(&self) -> &str {
            self.inner.name()
        }
        fn schema(&self) -> serde_json::Value {
            self.inner.schema()
        }
        fn config_version(&self) -> String {
            self.inner.config_version()
        }
        fn cacheable(&self) -> bool {
            self.inner.cacheable()
        }
    };
}
pub(crate) use delegate_tool_descriptors;

/// Everything the layers can be configured with. Every field has a sane default, so
/// `LayerConfig::default()` is a working live setup (in-memory cache, retries, no
/// quotas, no faults). Deserialisable from TOML/JSON.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LayerConfig {
    pub cache: CacheConfig,
    pub retry: RetryConfig,
    pub replay: ReplayConfig,
    pub faults: FaultConfig,
    /// Limits for every tool without an entry in `tools`.
    pub policy: ToolPolicy,
    /// Per-tool limits, replacing `policy` for that tool.
    pub tools: BTreeMap<String, ToolPolicy>,
}

impl LayerConfig {
    pub fn policy_for(&self, tool: &str) -> &ToolPolicy {
        self.tools.get(tool).unwrap_or(&self.policy)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CacheConfig {
    pub enabled: bool,
    /// Bound on the in-memory cache, in bytes of cached text and data.
    pub memory_max_bytes: u64,
    /// In-memory entries expire after this long (the persistent cache does not need
    /// to: keys include the snapshot and the tool version, so entries never go stale).
    pub ttl_secs: u64,
    /// Directory of the persistent sled cache; none = memory only.
    pub persistent_dir: Option<PathBuf>,
}

impl Default for CacheConfig {
    fn default() -> Self {
        CacheConfig {
            enabled: true,
            memory_max_bytes: 256 * 1024 * 1024,
            ttl_secs: 3600,
            persistent_dir: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RetryConfig {
    /// Attempts in total (1 = no retry).
    pub max_attempts: u32,
    pub base_delay_ms: u64,
    pub max_delay_ms: u64,
    /// No retry starts once this much time has passed since the first attempt.
    pub budget_ms: u64,
    /// Seeds the backoff jitter (derived per call key and attempt).
    pub seed: u64,
}

impl Default for RetryConfig {
    fn default() -> Self {
        RetryConfig {
            max_attempts: 3,
            base_delay_ms: 20,
            max_delay_ms: 1000,
            budget_ms: 10_000,
            seed: 0,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ReplayConfig {
    pub mode: ReplayMode,
    /// The JSONL log (required for every mode but `live`).
    pub log: Option<PathBuf>,
}

/// Seeded fault injection. Off unless a tool has a spec here.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FaultConfig {
    pub seed: u64,
    /// Per tool name; `"*"` applies to tools without their own entry.
    pub tools: BTreeMap<String, FaultSpec>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FaultSpec {
    /// Probability that an attempt fails with a transient error.
    pub error_rate: f64,
    /// Probability that an attempt is delayed by `latency_ms` first.
    pub latency_rate: f64,
    pub latency_ms: u64,
}

/// Limits of one tool.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ToolPolicy {
    /// Per attempt.
    pub timeout_ms: u64,
    /// Calls of this tool running at once.
    pub max_concurrency: usize,
    /// How long a call may wait for a free slot before `Saturated`.
    pub max_wait_ms: u64,
    /// Quota per client key (for this tool).
    pub client_quota: Option<RateQuota>,
    /// Quota for the tool as a whole.
    pub tool_quota: Option<RateQuota>,
}

impl Default for ToolPolicy {
    fn default() -> Self {
        ToolPolicy {
            timeout_ms: 30_000,
            max_concurrency: 256,
            max_wait_ms: 2_000,
            client_quota: None,
            tool_quota: None,
        }
    }
}

/// `per_second` calls replenished each second, up to `burst` at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateQuota {
    pub per_second: u32,
    pub burst: u32,
}

/// The shared state of one layer setup (metrics, cache, replay log) and the factory
/// that wraps tools in it.
pub struct ToolLayers {
    config: LayerConfig,
    metrics: Arc<Metrics>,
    cache: Option<Arc<CacheStore>>,
    recorder: Option<Arc<Recorder>>,
}

impl ToolLayers {
    /// Opens the persistent cache and the replay log if configured.
    pub fn new(config: LayerConfig) -> Result<Self, SetupError> {
        validate(&config)?;
        let cache = if config.cache.enabled {
            Some(Arc::new(CacheStore::open(&config.cache)?))
        } else {
            None
        };
        let recorder = match (config.replay.mode, &config.replay.log) {
            (ReplayMode::Live, _) => None,
            (mode, Some(path)) => Some(Arc::new(Recorder::open(path, mode)?)),
            (mode, None) => {
                return Err(SetupError::Config(format!(
                    "replay mode `{}` needs a log path",
                    mode.label()
                )))
            }
        };
        Ok(ToolLayers {
            config,
            metrics: Arc::new(Metrics::new()),
            cache,
            recorder,
        })
    }

    pub fn config(&self) -> &LayerConfig {
        &self.config
    }

    pub fn metrics(&self) -> Arc<Metrics> {
        Arc::clone(&self.metrics)
    }

    pub fn recorder(&self) -> Option<Arc<Recorder>> {
        self.recorder.clone()
    }

    pub fn cache(&self) -> Option<Arc<CacheStore>> {
        self.cache.clone()
    }

    /// Wraps `tool` in the full stack (see the module docs for the order).
    pub fn wrap(&self, tool: Arc<dyn Tool>) -> Arc<dyn Tool> {
        let name = tool.name().to_string();
        let policy = self.config.policy_for(&name).clone();
        // The tool's own floor, read before any layer wraps it.
        let floor_ms = u64::try_from(tool.min_timeout().as_millis()).unwrap_or(u64::MAX);
        let mut stack = tool;

        let faults = self
            .config
            .faults
            .tools
            .get(&name)
            .or_else(|| self.config.faults.tools.get("*"));
        if let Some(spec) = faults {
            stack = faults::FaultLayer::wrap(stack, spec.clone(), self.config.faults.seed);
        }
        stack = timeout::TimeoutLayer::wrap(stack, policy.timeout_ms.max(floor_ms));
        if self.config.retry.max_attempts > 1 {
            stack = retry::RetryLayer::wrap(
                stack,
                self.config.retry.clone(),
                Arc::clone(&self.metrics),
            );
        }
        stack = backpressure::BackpressureLayer::wrap(
            stack,
            policy.max_concurrency,
            policy.max_wait_ms,
        );
        if let Some(cache) = &self.cache {
            if stack.cacheable() {
                stack = cache::CacheLayer::wrap(stack, Arc::clone(cache));
            }
        }
        if let Some(recorder) = &self.recorder {
            stack = replay::ReplayLayer::wrap(stack, Arc::clone(recorder));
        }
        if policy.client_quota.is_some() || policy.tool_quota.is_some() {
            stack = rate_limit::RateLimitLayer::wrap(stack, &policy);
        }
        metrics::MetricsLayer::wrap(stack, Arc::clone(&self.metrics))
    }
}

fn validate(config: &LayerConfig) -> Result<(), SetupError> {
    for (tool, policy) in std::iter::once(("default", &config.policy)).chain(
        config
            .tools
            .iter()
            .map(|(name, policy)| (name.as_str(), policy)),
    ) {
        if policy.max_concurrency == 0 {
            return Err(SetupError::Config(format!(
                "max_concurrency of `{tool}` must be at least 1"
            )));
        }
        if policy.timeout_ms == 0 {
            return Err(SetupError::Config(format!(
                "timeout_ms of `{tool}` must be at least 1"
            )));
        }
        for quota in [policy.client_quota, policy.tool_quota]
            .into_iter()
            .flatten()
        {
            if quota.per_second == 0 || quota.burst == 0 {
                return Err(SetupError::Config(format!(
                    "rate quota of `{tool}` needs per_second >= 1 and burst >= 1"
                )));
            }
        }
    }
    for (tool, spec) in &config.faults.tools {
        let rates_ok =
            (0.0..=1.0).contains(&spec.error_rate) && (0.0..=1.0).contains(&spec.latency_rate);
        if !rates_ok {
            return Err(SetupError::Config(format!(
                "fault rates of `{tool}` must be within 0..=1"
            )));
        }
    }
    if config.retry.max_attempts == 0 {
        return Err(SetupError::Config(
            "retry.max_attempts must be at least 1".into(),
        ));
    }
    Ok(())
}

/// A uniform number in [0, 1) derived only from its inputs: the layers' source of
/// "randomness" (jitter, fault decisions), so a seed reproduces every decision.
pub(crate) fn seeded_unit(seed: u64, purpose: &str, key: &str, attempt: u32) -> f64 {
    let mut hasher = Sha256::new();
    hasher.update(seed.to_le_bytes());
    hasher.update((purpose.len() as u64).to_le_bytes());
    hasher.update(purpose.as_bytes());
    hasher.update((key.len() as u64).to_le_bytes());
    hasher.update(key.as_bytes());
    hasher.update(attempt.to_le_bytes());
    let digest = hasher.finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    (u64::from_le_bytes(first) >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_unit_is_deterministic_and_spread() {
        let a = seeded_unit(7, "fault", "k", 0);
        assert_eq!(a, seeded_unit(7, "fault", "k", 0));
        assert_ne!(a, seeded_unit(8, "fault", "k", 0));
        assert_ne!(a, seeded_unit(7, "fault", "k", 1));
        let mean: f64 = (0..1000)
            .map(|i| seeded_unit(1, "x", &i.to_string(), 0))
            .sum::<f64>()
            / 1000.0;
        assert!((0.4..0.6).contains(&mean), "{mean}");
    }

    #[test]
    fn config_reads_from_toml_and_rejects_nonsense() {
        let config: LayerConfig = toml_like(
            r#"{"retry": {"max_attempts": 5}, "tools": {"search": {"max_concurrency": 4,
                "client_quota": {"per_second": 10, "burst": 20}}}}"#,
        );
        assert_eq!(config.retry.max_attempts, 5);
        assert_eq!(config.retry.base_delay_ms, 20);
        assert_eq!(config.policy_for("search").max_concurrency, 4);
        assert_eq!(config.policy_for("visit").max_concurrency, 256);
        assert!(serde_json::from_str::<LayerConfig>(r#"{"retri": {}}"#).is_err());

        let mut bad = LayerConfig::default();
        bad.policy.max_concurrency = 0;
        assert!(matches!(ToolLayers::new(bad), Err(SetupError::Config(_))));
        let mut bad = LayerConfig::default();
        bad.replay.mode = ReplayMode::Replay;
        let err = ToolLayers::new(bad).err().unwrap();
        assert!(err.to_string().contains("needs a log path"), "{err}");
    }

    fn toml_like(json: &str) -> LayerConfig {
        serde_json::from_str(json).unwrap()
    }
}
