//! Episodes on disk (sled), so a restarted server loses none; expired ones are swept.
//!
//! Values are the episode's JSON plus an expiry in Unix seconds. The wall clock only
//! decides expiry; it never enters an episode's contents.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use super::Episode;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("episode store at {path}: {source}")]
    Open {
        path: String,
        #[source]
        source: sled::Error,
    },
    #[error("episode store: {0}")]
    Db(#[from] sled::Error),
    #[error("episode store: corrupt record {id}: {source}")]
    Corrupt {
        id: String,
        #[source]
        source: serde_json::Error,
    },
}

#[derive(Serialize, Deserialize)]
struct Record {
    expires_at: u64,
    episode: Episode,
}

/// The sled-backed episode table, with one async lock per live episode so two steps
/// of the same episode never interleave.
pub struct EpisodeStore {
    db: sled::Db,
    episodes: sled::Tree,
    meta: sled::Tree,
    ttl: Duration,
    locks: Mutex<BTreeMap<String, Weak<tokio::sync::Mutex<()>>>>,
}

const COUNTER_KEY: &[u8] = b"episode_counter";

impl EpisodeStore {
    pub fn open(dir: &Path, ttl: Duration) -> Result<EpisodeStore, StoreError> {
        let db = sled::Config::new()
            .path(dir.join("episodes.sled"))
            .open()
            .map_err(|source| StoreError::Open {
                path: dir.display().to_string(),
                source,
            })?;
        let episodes = db.open_tree("episodes")?;
        let meta = db.open_tree("meta")?;
        Ok(EpisodeStore {
            db,
            episodes,
            meta,
            ttl,
            locks: Mutex::new(BTreeMap::new()),
        })
    }

    /// The next value of the persistent creation counter (1, 2, …), which makes
    /// episode ids unique while keeping them a pure function of the creation order.
    pub fn next_counter(&self) -> Result<u64, StoreError> {
        let value = self.meta.update_and_fetch(COUNTER_KEY, |old| {
            let current = old.map(read_u64).unwrap_or(0);
            Some((current + 1).to_be_bytes().to_vec())
        })?;
        Ok(value.map(|v| read_u64(&v)).unwrap_or(1))
    }

    /// The episode, unless it does not exist or has expired.
    pub fn get(&self, id: &str) -> Result<Option<Episode>, StoreError> {
        let Some(bytes) = self.episodes.get(id.as_bytes())? else {
            return Ok(None);
        };
        let record: Record =
            serde_json::from_slice(&bytes).map_err(|source| StoreError::Corrupt {
                id: id.to_string(),
                source,
            })?;
        if record.expires_at <= now_secs() {
            return Ok(None);
        }
        Ok(Some(record.episode))
    }

    /// Writes the episode (refreshing its expiry) and makes it durable before returning.
    pub async fn put(&self, episode: &Episode) -> Result<(), StoreError> {
        let record = Record {
            expires_at: now_secs().saturating_add(self.ttl.as_secs()),
            episode: episode.clone(),
        };
        let bytes = serde_json::to_vec(&record).map_err(|source| StoreError::Corrupt {
            id: episode.id.clone(),
            source,
        })?;
        self.episodes.insert(episode.id.as_bytes(), bytes)?;
        self.db.flush_async().await?;
        Ok(())
    }

    /// Serialises steps of one episode.
    pub async fn lock(&self, id: &str) -> tokio::sync::OwnedMutexGuard<()> {
        let lock = {
            let mut locks = self.locks.lock().unwrap_or_else(|p| p.into_inner());
            locks.retain(|_, weak| weak.strong_count() > 0);
            match locks.get(id).and_then(Weak::upgrade) {
                Some(lock) => lock,
                None => {
                    let lock = Arc::new(tokio::sync::Mutex::new(()));
                    locks.insert(id.to_string(), Arc::downgrade(&lock));
                    lock
                }
            }
        };
        lock.lock_owned().await
    }

    /// Deletes expired episodes; returns how many.
    pub fn sweep_expired(&self) -> Result<usize, StoreError> {
        let now = now_secs();
        let mut expired = Vec::new();
        for entry in self.episodes.iter() {
            let (key, bytes) = entry?;
            match serde_json::from_slice::<ExpiryOnly>(&bytes) {
                Ok(record) if record.expires_at > now => {}
                _ => expired.push(key),
            }
        }
        for key in &expired {
            self.episodes.remove(key)?;
        }
        Ok(expired.len())
    }

    pub fn len(&self) -> usize {
        self.episodes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.episodes.is_empty()
    }

    pub async fn flush(&self) -> Result<(), StoreError> {
        self.db.flush_async().await?;
        Ok(())
    }
}

#[derive(Deserialize)]
struct ExpiryOnly {
    expires_at: u64,
}

fn read_u64(bytes: &[u8]) -> u64 {
    let mut buf = [0u8; 8];
    let n = bytes.len().min(8);
    buf[8 - n..].copy_from_slice(&bytes[..n]);
    u64::from_be_bytes(buf)
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}
