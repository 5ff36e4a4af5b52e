//! Seeded fault injection, so agents can be trained against a flaky web reproducibly.
//! Every decision is a function of (seed, call key, attempt): the same session with the
//! same seed fails at the same places, whatever the timing.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde_json::Value;

use super::{delegate_tool_descriptors, seeded_unit, FaultSpec};
use crate::error::ToolError;
use crate::tool::{CallContext, Tool, ToolOutput};

pub(crate) struct FaultLayer {
    inner: Arc<dyn Tool>,
    spec: FaultSpec,
    seed: u64,
}

impl FaultLayer {
    pub(crate) fn wrap(inner: Arc<dyn Tool>, spec: FaultSpec, seed: u64) -> Arc<dyn Tool> {
        Arc::new(FaultLayer { inner, spec, seed })
    }
}

#[async_trait]
impl Tool for FaultLayer {
    delegate_tool_descriptors!();

    async fn call(&self, args: &Value, ctx: &CallContext) -> Result<ToolOutput, ToolError> {
        let key = &ctx.key.digest;
        if seeded_unit(self.seed, "fault-latency", key, ctx.attempt) < self.spec.latency_rate {
            tokio::time::sleep(Duration::from_millis(self.spec.latency_ms)).await;
        }
        if seeded_unit(self.seed, "fault-error", key, ctx.attempt) < self.spec.error_rate {
            return Err(ToolError::Transient(format!(
                "injected fault (seed {}, attempt {}) for {}",
                self.seed, ctx.attempt, ctx.key.describe
            )));
        }
        self.inner.call(args, ctx).await
    }
}
