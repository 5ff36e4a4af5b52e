//! Continuous batching: one thread owns the model and steps every active sequence; requests
//! arrive over a channel at any time and join at the next step, so while some episodes wait
//! on tools the others keep decoding.

use std::sync::mpsc;
use std::thread::JoinHandle;

use tokio::sync::oneshot;

use crate::error::{PolicyError, Result};
use crate::generate::{Generation, Generator, SeqId, TokenRequest};

struct Job {
    request: TokenRequest,
    reply: oneshot::Sender<Result<Generation>>,
}

/// Counters of the engine thread (for benchmarks and progress output).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EngineStats {
    pub steps: u64,
    pub generated_tokens: u64,
    pub max_active: usize,
}

/// Handle to the engine thread. Dropping every handle stops the thread after the
/// sequences in flight finish.
pub struct Engine {
    tx: Option<mpsc::Sender<Job>>,
    thread: Option<JoinHandle<EngineStats>>,
}

impl Engine {
    pub fn start(generator: Generator) -> Result<Self> {
        let (tx, rx) = mpsc::channel::<Job>();
        let thread = std::thread::Builder::new()
            .name("simweb-policy-engine".into())
            .spawn(move || run(generator, rx))
            .map_err(|e| {
                PolicyError::EngineStopped(format!("cannot start the engine thread: {e}"))
            })?;
        Ok(Engine {
            tx: Some(tx),
            thread: Some(thread),
        })
    }

    /// Queues a request; the receiver resolves when its sequence finishes.
    pub fn submit(&self, request: TokenRequest) -> oneshot::Receiver<Result<Generation>> {
        let (reply, rx) = oneshot::channel();
        let job = Job { request, reply };
        match &self.tx {
            Some(tx) => {
                if let Err(mpsc::SendError(job)) = tx.send(job) {
                    let _ = job.reply.send(Err(PolicyError::EngineStopped(
                        "the engine thread has exited".into(),
                    )));
                }
            }
            None => {
                let _ = job.reply.send(Err(PolicyError::EngineStopped(
                    "the engine is shut down".into(),
                )));
            }
        }
        rx
    }

    /// Generates one request (awaits its sequence).
    pub async fn generate(&self, request: TokenRequest) -> Result<Generation> {
        self.submit(request)
            .await
            .map_err(|_| PolicyError::EngineStopped("the engine dropped the request".into()))?
    }

    /// Stops accepting work, waits for the sequences in flight, returns the counters.
    pub fn shutdown(mut self) -> EngineStats {
        self.tx.take();
        self.thread
            .take()
            .and_then(|t| t.join().ok())
            .unwrap_or_default()
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        self.tx.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn run(mut generator: Generator, rx: mpsc::Receiver<Job>) -> EngineStats {
    let mut stats = EngineStats::default();
    let mut waiting: std::collections::BTreeMap<SeqId, oneshot::Sender<Result<Generation>>> =
        Default::default();
    let admit =
        |generator: &mut Generator, job: Job, waiting: &mut std::collections::BTreeMap<_, _>| {
            match generator.add(job.request) {
                Ok(id) => {
                    waiting.insert(id, job.reply);
                }
                Err(e) => {
                    let _ = job.reply.send(Err(e));
                }
            }
        };
    loop {
        if generator.active() == 0 {
            match rx.recv() {
                Ok(job) => admit(&mut generator, job, &mut waiting),
                Err(_) => break,
            }
        }
        while let Ok(job) = rx.try_recv() {
            admit(&mut generator, job, &mut waiting);
        }
        if generator.active() == 0 {
            continue;
        }
        stats.max_active = stats.max_active.max(generator.active());
        stats.steps += 1;
        stats.generated_tokens += generator.active() as u64;
        match generator.step() {
            Ok(done) => {
                for (id, generation) in done {
                    if let Some(reply) = waiting.remove(&id) {
                        let _ = reply.send(Ok(generation));
                    }
                }
            }
            Err(e) => {
                tracing::error!("generation step failed: {e}");
                generator.abort_all();
                for (_, reply) in std::mem::take(&mut waiting) {
                    let _ = reply.send(Err(PolicyError::EngineStopped(e.to_string())));
                }
            }
        }
    }
    stats
}
