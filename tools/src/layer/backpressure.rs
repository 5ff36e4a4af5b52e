//! Bounded concurrency per tool with a bounded wait: under overload a call is refused
//! quickly with `Saturated` instead of queueing without end.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde_json::Value;
use tokio::sync::Semaphore;

use super::delegate_tool_descriptors;
use crate::error::ToolError;
use crate::tool::{CallContext, Tool, ToolOutput};

pub(crate) struct BackpressureLayer {
    inner: Arc<dyn Tool>,
    slots: Arc<Semaphore>,
    max_wait: Duration,
}

impl BackpressureLayer {
    pub(crate) fn wrap(
        inner: Arc<dyn Tool>,
        max_concurrency: usize,
        max_wait_ms: u64,
    ) -> Arc<dyn Tool> {
        Arc::new(BackpressureLayer {
            inner,
            slots: Arc::new(Semaphore::new(max_concurrency)),
            max_wait: Duration::from_millis(max_wait_ms),
        })
    }

    fn saturated(&self) -> ToolError {
        ToolError::Saturated {
            tool: self.inner.name().to_string(),
            // A slot frees up when a running call ends; suggest a short pause.
            retry_after: self.max_wait.max(Duration::from_millis(100)),
        }
    }
}

#[async_trait]
impl Tool for BackpressureLayer {
    delegate_tool_descriptors!();

    async fn call(&self, args: &Value, ctx: &CallContext) -> Result<ToolOutput, ToolError> {
        let permit = if self.max_wait.is_zero() {
            self.slots.try_acquire().map_err(|_| self.saturated())?
        } else {
            match tokio::time::timeout(self.max_wait, self.slots.acquire()).await {
                Ok(Ok(permit)) => permit,
                // Timed out waiting, or the semaphore was closed (never done here).
                Ok(Err(_)) | Err(_) => return Err(self.saturated()),
            }
        };
        let result = self.inner.call(args, ctx).await;
        drop(permit);
        result
    }
}
