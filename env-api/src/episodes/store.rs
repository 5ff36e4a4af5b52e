//! Episodes on disk (sled), so a restarted server loses none; expired ones are swept.
//!
//! Values are the episode's JSON plus an expiry in Unix seconds. The wall clock only
//! decides expiry; it never enters an episode's contents.
//!
//! Durability is group commit through one flusher thread. sled 0.34 deadlocks when
//! several threads flush at once (its I/O buffers wait on each other in `flush()`), which
//! wedged the server at 8+ concurrent episode writers. Here writers only insert (safe
//! from any thread) and then wait for the [`Flusher`]: the single thread that ever calls
//! `flush()`, once per batch of waiting writers. sled's own periodic flusher is off, so no
//! second thread flushes behind our back. A flush that runs too long is visible
//! ([`EpisodeStore::stalled_for`], reported by `/readyz`), and writers stop waiting on it
//! after [`WRITE_TIMEOUT`] with a retryable error instead of hanging.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::mpsc;
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

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
    #[error("episode store: no OS randomness for the episode id salt: {0}")]
    Salt(String),
    #[error("episode store: flushing to disk failed: {0}")]
    Flush(String),
    #[error("episode store: the write was not durable within {} s (the disk is stalled)", .0.as_secs())]
    Stalled(Duration),
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

/// How long a writer waits for its write to become durable before giving up (503).
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(30);

/// The sled-backed episode table, with one async lock per live episode so two steps
/// of the same episode never interleave.
pub struct EpisodeStore {
    episodes: sled::Tree,
    meta: sled::Tree,
    ttl: Duration,
    locks: Mutex<BTreeMap<String, Weak<tokio::sync::Mutex<()>>>>,
    flusher: Flusher,
}

type FlushReply = tokio::sync::oneshot::Sender<Result<(), String>>;

/// The one thread that flushes the store: it takes every request waiting when it wakes,
/// runs one `flush()` for all of them, and answers each.
struct Flusher {
    requests: Mutex<Option<mpsc::Sender<FlushReply>>>,
    /// When the running flush began (`None` while idle): how `/readyz` sees a stall.
    flushing_since: Arc<Mutex<Option<Instant>>>,
    thread: Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl Flusher {
    fn start(db: sled::Db) -> std::io::Result<Flusher> {
        let (tx, rx) = mpsc::channel::<FlushReply>();
        let flushing_since = Arc::new(Mutex::new(None));
        let since = Arc::clone(&flushing_since);
        let thread = std::thread::Builder::new()
            .name("episode-flusher".into())
            .spawn(move || {
                while let Ok(first) = rx.recv() {
                    let mut batch = vec![first];
                    batch.extend(rx.try_iter());
                    *lock(&since) = Some(Instant::now());
                    let result = db.flush().map(|_| ()).map_err(|e| e.to_string());
                    *lock(&since) = None;
                    for reply in batch {
                        let _ = reply.send(result.clone());
                    }
                }
                // Every sender is gone: a last flush for writes nobody waited on.
                if let Err(e) = db.flush() {
                    tracing::error!(error = %e, "final flush of the episode store failed");
                }
            })?;
        Ok(Flusher {
            requests: Mutex::new(Some(tx)),
            flushing_since,
            thread: Mutex::new(Some(thread)),
        })
    }

    /// Waits until everything inserted before this call is on disk, at most `timeout`.
    async fn flush(&self, timeout: Duration) -> Result<(), StoreError> {
        let (reply, done) = tokio::sync::oneshot::channel();
        {
            let requests = lock(&self.requests);
            let Some(tx) = requests.as_ref() else {
                return Err(StoreError::Flush("the store is closed".into()));
            };
            tx.send(reply)
                .map_err(|_| StoreError::Flush("the flusher thread has stopped".into()))?;
        }
        match tokio::time::timeout(timeout, done).await {
            Ok(Ok(result)) => result.map_err(StoreError::Flush),
            Ok(Err(_)) => Err(StoreError::Flush("the flusher thread has stopped".into())),
            Err(_) => Err(StoreError::Stalled(timeout)),
        }
    }

    fn stalled_for(&self) -> Option<Duration> {
        lock(&self.flushing_since).map(|since| since.elapsed())
    }
}

impl Drop for Flusher {
    /// Closes the queue and lets the thread finish its last flush (never blocks on a
    /// wedged disk: the thread is detached if it is still busy).
    fn drop(&mut self) {
        lock(&self.requests).take();
        let thread = lock(&self.thread).take();
        if let Some(thread) = thread {
            if self.stalled_for().is_none() {
                let _ = thread.join();
            }
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

const COUNTER_KEY: &[u8] = b"episode_counter";
const SALT_KEY: &[u8] = b"episode_id_salt";

impl EpisodeStore {
    pub fn open(dir: &Path, ttl: Duration) -> Result<EpisodeStore, StoreError> {
        let db = sled::Config::new()
            .path(dir.join("episodes.sled"))
            .flush_every_ms(None)
            .open()
            .map_err(|source| StoreError::Open {
                path: dir.display().to_string(),
                source,
            })?;
        let episodes = db.open_tree("episodes")?;
        let meta = db.open_tree("meta")?;
        let flusher = Flusher::start(db).map_err(|e| StoreError::Flush(e.to_string()))?;
        Ok(EpisodeStore {
            episodes,
            meta,
            ttl,
            locks: Mutex::new(BTreeMap::new()),
            flusher,
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

    /// The store's secret salt for episode ids: 32 random bytes, made on first use and
    /// kept with the episodes (so ids stay unique across restarts of one store).
    pub fn id_salt(&self) -> Result<Vec<u8>, StoreError> {
        if let Some(salt) = self.meta.get(SALT_KEY)? {
            return Ok(salt.to_vec());
        }
        let mut fresh = [0u8; 32];
        getrandom::fill(&mut fresh).map_err(|e| StoreError::Salt(e.to_string()))?;
        // Two first callers race: the first insert wins and both use it.
        match self
            .meta
            .compare_and_swap(SALT_KEY, None::<&[u8]>, Some(&fresh[..]))?
        {
            Ok(()) => Ok(fresh.to_vec()),
            Err(race) => Ok(race
                .current
                .map(|v| v.to_vec())
                .unwrap_or_else(|| fresh.to_vec())),
        }
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
        self.flusher.flush(WRITE_TIMEOUT).await
    }

    /// Serialises steps of one episode.
    pub async fn lock(&self, id: &str) -> tokio::sync::OwnedMutexGuard<()> {
        let lock = {
            let mut locks = lock(&self.locks);
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

    /// Makes every write so far durable, waiting at most `timeout`.
    pub async fn flush(&self, timeout: Duration) -> Result<(), StoreError> {
        self.flusher.flush(timeout).await
    }

    /// How long the running flush has taken, if one is running: a store whose flush
    /// takes seconds is wedged (or its disk is), and `/readyz` says so.
    pub fn stalled_for(&self) -> Option<Duration> {
        self.flusher.stalled_for()
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
