//! Retries transient failures with exponential backoff and seeded jitter, within a
//! bounded number of attempts and a total time budget. Permanent errors (bad arguments,
//! replay misses, internal errors) are returned at once.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use serde_json::Value;

use super::{delegate_tool_descriptors, seeded_unit, Metrics, RetryConfig};
use crate::error::ToolError;
use crate::tool::{CallContext, Tool, ToolOutput};

pub(crate) struct RetryLayer {
    inner: Arc<dyn Tool>,
    config: RetryConfig,
    metrics: Arc<Metrics>,
}

impl RetryLayer {
    pub(crate) fn wrap(
        inner: Arc<dyn Tool>,
        config: RetryConfig,
        metrics: Arc<Metrics>,
    ) -> Arc<dyn Tool> {
        Arc::new(RetryLayer {
            inner,
            config,
            metrics,
        })
    }
}

/// "Equal jitter": half the exponential delay fixed, half drawn from the seeded unit.
pub(crate) fn backoff_delay(config: &RetryConfig, key: &str, attempt: u32) -> Duration {
    let exponential = config
        .base_delay_ms
        .saturating_mul(1u64 << attempt.min(20))
        .min(config.max_delay_ms);
    let jitter = seeded_unit(config.seed, "retry-jitter", key, attempt);
    let millis = exponential as f64 * (0.5 + 0.5 * jitter);
    Duration::from_micros((millis * 1000.0) as u64)
}

#[async_trait]
impl Tool for RetryLayer {
    delegate_tool_descriptors!();

    async fn call(&self, args: &Value, ctx: &CallContext) -> Result<ToolOutput, ToolError> {
        let started = Instant::now();
        let budget = Duration::from_millis(self.config.budget_ms);
        let mut attempt_ctx = ctx.clone();
        loop {
            let result = self.inner.call(args, &attempt_ctx).await;
            let err = match result {
                Ok(output) => return Ok(output),
                Err(err) => err,
            };
            let attempt = attempt_ctx.attempt;
            let delay = backoff_delay(&self.config, &ctx.key.digest, attempt);
            let more_attempts = attempt + 1 < self.config.max_attempts;
            if !err.is_transient() || !more_attempts || started.elapsed() + delay > budget {
                return Err(err);
            }
            tracing::debug!(tool = self.inner.name(), attempt, error = %err, "retrying");
            self.metrics.record_retry(self.inner.name());
            tokio::time::sleep(delay).await;
            attempt_ctx.attempt = attempt + 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_is_capped_and_reproducible() {
        let config = RetryConfig {
            max_attempts: 10,
            base_delay_ms: 10,
            max_delay_ms: 100,
            budget_ms: 10_000,
            seed: 3,
        };
        let d0 = backoff_delay(&config, "k", 0);
        let d3 = backoff_delay(&config, "k", 3);
        let d9 = backoff_delay(&config, "k", 9);
        assert!(d0 >= Duration::from_millis(5) && d0 <= Duration::from_millis(10));
        assert!(d3 >= Duration::from_millis(40) && d3 <= Duration::from_millis(80));
        assert!(d9 >= Duration::from_millis(50) && d9 <= Duration::from_millis(100));
        assert_eq!(d3, backoff_delay(&config, "k", 3));
    }
}
