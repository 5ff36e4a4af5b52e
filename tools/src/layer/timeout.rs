//! Per-attempt timeout. Dropping the inner future cancels it; tools keep their work
//! cancellation-safe (blocking index work that already started finishes on its thread
//! and its result is discarded).

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde_json::Value;

use super::delegate_tool_descriptors;
use crate::error::ToolError;
use crate::tool::{CallContext, Tool, ToolOutput};

pub(crate) struct TimeoutLayer {
    inner: Arc<dyn Tool>,
    limit: Duration,
}

impl TimeoutLayer {
    pub(crate) fn wrap(inner: Arc<dyn Tool>, timeout_ms: u64) -> Arc<dyn Tool> {
        Arc::new(TimeoutLayer {
            inner,
            limit: Duration::from_millis(timeout_ms),
        })
    }
}

#[async_trait]
impl Tool for TimeoutLayer {
    delegate_tool_descriptors!();

    async fn call(&self, args: &Value, ctx: &CallContext) -> Result<ToolOutput, ToolError> {
        match tokio::time::timeout(self.limit, self.inner.call(args, ctx)).await {
            Ok(result) => result,
            Err(_) => Err(ToolError::Timeout {
                tool: self.inner.name().to_string(),
                after: self.limit,
            }),
        }
    }
}
