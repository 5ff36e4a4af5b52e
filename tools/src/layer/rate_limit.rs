//! Rate quotas (GCRA via `governor`): one per client key and one for the tool as a
//! whole. Over quota, the call is refused with `RateLimited { retry_after }` (the HTTP
//! layer turns it into 429 + Retry-After).

use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultDirectRateLimiter, DefaultKeyedRateLimiter, NotUntil, Quota, RateLimiter};
use serde_json::Value;

use super::{delegate_tool_descriptors, RateQuota, ToolPolicy};
use crate::error::ToolError;
use crate::tool::{CallContext, Tool, ToolOutput};

/// Forget idle clients every this many calls so the keyed state stays small.
const RETAIN_EVERY: u64 = 4096;

pub(crate) struct RateLimitLayer {
    inner: Arc<dyn Tool>,
    per_client: Option<DefaultKeyedRateLimiter<String>>,
    per_tool: Option<DefaultDirectRateLimiter>,
    calls: AtomicU64,
    clock: DefaultClock,
}

fn quota(q: RateQuota) -> Quota {
    // Validated >= 1 by `ToolLayers::new`; `max(1)` keeps this total anyway.
    let per_second = NonZeroU32::new(q.per_second.max(1)).unwrap_or(NonZeroU32::MIN);
    let burst = NonZeroU32::new(q.burst.max(1)).unwrap_or(NonZeroU32::MIN);
    Quota::per_second(per_second).allow_burst(burst)
}

impl RateLimitLayer {
    pub(crate) fn wrap(inner: Arc<dyn Tool>, policy: &ToolPolicy) -> Arc<dyn Tool> {
        Arc::new(RateLimitLayer {
            inner,
            per_client: policy.client_quota.map(|q| RateLimiter::keyed(quota(q))),
            per_tool: policy.tool_quota.map(|q| RateLimiter::direct(quota(q))),
            calls: AtomicU64::new(0),
            clock: DefaultClock::default(),
        })
    }

    fn limited(&self, not_until: NotUntil<<DefaultClock as Clock>::Instant>) -> ToolError {
        let wait = not_until.wait_time_from(self.clock.now());
        ToolError::RateLimited {
            // Round up to whole milliseconds so a client never retries too early.
            retry_after: Duration::from_millis(wait.as_micros().div_ceil(1000) as u64)
                .max(Duration::from_millis(1)),
        }
    }
}

#[async_trait]
impl Tool for RateLimitLayer {
    delegate_tool_descriptors!();

    async fn call(&self, args: &Value, ctx: &CallContext) -> Result<ToolOutput, ToolError> {
        if let Some(limiter) = &self.per_client {
            if self.calls.fetch_add(1, Ordering::Relaxed) % RETAIN_EVERY == RETAIN_EVERY - 1 {
                limiter.retain_recent();
            }
            limiter
                .check_key(&ctx.client)
                .map_err(|not_until| self.limited(not_until))?;
        }
        if let Some(limiter) = &self.per_tool {
            limiter
                .check()
                .map_err(|not_until| self.limited(not_until))?;
        }
        self.inner.call(args, ctx).await
    }
}
