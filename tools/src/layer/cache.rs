//! Answers repeated calls from memory (moka: size- and TTL-bounded) in front of an
//! optional persistent sled cache. The key is the call key (tool, canonical arguments,
//! snapshot id, tool config version), so a hit is the same bytes the tool would produce.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use moka::future::Cache;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{delegate_tool_descriptors, CacheConfig};
use crate::error::{SetupError, ToolError};
use crate::tool::{CallContext, Tool, ToolOutput};

/// What is stored per key: the answer without its provenance flags.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Stored {
    text: String,
    data: Value,
}

impl Stored {
    fn into_hit(self) -> ToolOutput {
        ToolOutput {
            text: self.text,
            data: self.data,
            cached: true,
            replayed: false,
        }
    }
}

/// One cache shared by all tools of a toolbox (keys include the tool name).
pub struct CacheStore {
    memory: Cache<String, Arc<Stored>>,
    disk: Option<sled::Db>,
}

impl CacheStore {
    pub fn open(config: &CacheConfig) -> Result<Self, SetupError> {
        let memory = Cache::builder()
            .max_capacity(config.memory_max_bytes)
            .weigher(|key: &String, value: &Arc<Stored>| {
                let bytes = key.len() + value.text.len() + value.data.to_string().len();
                u32::try_from(bytes).unwrap_or(u32::MAX)
            })
            .time_to_live(Duration::from_secs(config.ttl_secs.max(1)))
            .build();
        let disk = match &config.persistent_dir {
            Some(dir) => Some(open_sled(dir)?),
            None => None,
        };
        Ok(CacheStore { memory, disk })
    }

    async fn get(&self, key: &str) -> Option<Arc<Stored>> {
        if let Some(hit) = self.memory.get(key).await {
            return Some(hit);
        }
        let disk = self.disk.as_ref()?;
        let bytes = match disk.get(key.as_bytes()) {
            Ok(Some(bytes)) => bytes,
            Ok(None) => return None,
            Err(err) => {
                tracing::warn!(error = %err, "persistent tool cache read failed; treating as a miss");
                return None;
            }
        };
        match serde_json::from_slice::<Stored>(&bytes) {
            Ok(stored) => {
                let stored = Arc::new(stored);
                self.memory
                    .insert(key.to_string(), Arc::clone(&stored))
                    .await;
                Some(stored)
            }
            Err(err) => {
                tracing::warn!(error = %err, "unreadable persistent cache entry; treating as a miss");
                None
            }
        }
    }

    async fn put(&self, key: &str, output: &ToolOutput) {
        let stored = Arc::new(Stored {
            text: output.text.clone(),
            data: output.data.clone(),
        });
        if let Some(disk) = &self.disk {
            match serde_json::to_vec(stored.as_ref()) {
                Ok(bytes) => {
                    if let Err(err) = disk.insert(key.as_bytes(), bytes) {
                        tracing::warn!(error = %err, "persistent tool cache write failed");
                    }
                }
                Err(err) => tracing::warn!(error = %err, "cannot serialise a tool answer"),
            }
        }
        self.memory.insert(key.to_string(), stored).await;
    }

    /// Entries currently in memory (after pending maintenance).
    pub async fn memory_entries(&self) -> u64 {
        self.memory.run_pending_tasks().await;
        self.memory.entry_count()
    }

    /// Writes the persistent cache to disk (sled also flushes on its own).
    pub fn flush(&self) {
        if let Some(disk) = &self.disk {
            if let Err(err) = disk.flush() {
                tracing::warn!(error = %err, "persistent tool cache flush failed");
            }
        }
    }
}

/// How long an open waits for the previous owner of the cache dir to let go: sled
/// releases its file lock from a background thread a little after the last handle is
/// dropped, so a reopen in the same process (a toolbox rebuilt, a server restarted in
/// place) can find it still held. Another live process keeps it, and gets the error.
const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

fn open_sled(dir: &Path) -> Result<sled::Db, SetupError> {
    let started = std::time::Instant::now();
    loop {
        match sled::open(dir) {
            Ok(db) => return Ok(db),
            Err(sled::Error::Io(e))
                if e.to_string().contains("could not acquire lock")
                    && started.elapsed() < LOCK_WAIT =>
            {
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            Err(source) => {
                return Err(SetupError::Cache {
                    path: dir.display().to_string(),
                    source,
                })
            }
        }
    }
}

pub(crate) struct CacheLayer {
    inner: Arc<dyn Tool>,
    store: Arc<CacheStore>,
}

impl CacheLayer {
    pub(crate) fn wrap(inner: Arc<dyn Tool>, store: Arc<CacheStore>) -> Arc<dyn Tool> {
        Arc::new(CacheLayer { inner, store })
    }
}

#[async_trait]
impl Tool for CacheLayer {
    delegate_tool_descriptors!();

    async fn call(&self, args: &Value, ctx: &CallContext) -> Result<ToolOutput, ToolError> {
        let key = &ctx.key.digest;
        if let Some(hit) = self.store.get(key).await {
            return Ok(Stored::clone(&hit).into_hit());
        }
        let output = self.inner.call(args, ctx).await?;
        // Only answers are cached; errors (even permanent ones) are cheap to recompute
        // and must not outlive a fixed backend.
        self.store.put(key, &output).await;
        Ok(output)
    }
}
