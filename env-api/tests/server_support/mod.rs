//! Shared by the server tests: a real corpus ingested once per test binary from the
//! sample dumps, one real sandbox, and real servers on 127.0.0.1 with random ports.
#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use simweb_env_api::{ServeConfig, ServeError, Server};
use simweb_sandbox::{Sandbox, SandboxConfig};
use simweb_wikidump::{Corpus, IngestOptions};
use tempfile::TempDir;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// The sample dumps beside the checkout (never copied in).
pub fn samples_dir() -> PathBuf {
    std::env::var_os("SIMWEB_WIKI_SAMPLES")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/wiki"))
}

struct Ingested {
    _dir: TempDir,
    data: PathBuf,
}

/// The sample dump, ingested once per test binary.
fn ingested() -> &'static Ingested {
    static INGESTED: OnceLock<Ingested> = OnceLock::new();
    INGESTED.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("corpus");
        let input = samples_dir().join("enwiki-20250201-head70.xml.bz2");
        assert!(input.exists(), "sample dump missing: {}", input.display());
        simweb_wikidump::ingest(&[input], &data, &IngestOptions::default()).unwrap();
        Ingested { _dir: dir, data }
    })
}

/// The ingested corpus directory, for tests that spawn the binary. Such a test must not
/// also call [`corpus`]: the store admits one process per data directory.
pub fn corpus_dir() -> PathBuf {
    ingested().data.clone()
}

/// The corpus, opened in this process.
pub fn corpus() -> Arc<Corpus> {
    static CORPUS: OnceLock<Arc<Corpus>> = OnceLock::new();
    Arc::clone(CORPUS.get_or_init(|| Arc::new(Corpus::open(&ingested().data).unwrap())))
}

/// One sandbox per test binary (loading compiles or maps the CPython components).
pub fn sandbox() -> Sandbox {
    static SANDBOX: OnceLock<Sandbox> = OnceLock::new();
    SANDBOX
        .get_or_init(|| {
            Sandbox::new(SandboxConfig::default())
                .expect("the Python sandbox needs `make setup` (scripts/setup.sh) to have run")
        })
        .clone()
}

/// A running server.
pub struct TestServer {
    pub base: String,
    pub http: reqwest::Client,
    pub state_dir: PathBuf,
    shutdown: Option<oneshot::Sender<()>>,
    handle: Option<JoinHandle<Result<(), ServeError>>>,
    _state: Option<TempDir>,
}

impl TestServer {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Graceful shutdown; returns once the server has drained and flushed.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(handle) = self.handle.take() {
            handle.await.unwrap().unwrap();
        }
    }

    pub async fn post(&self, path: &str, body: serde_json::Value) -> reqwest::Response {
        self.http
            .post(self.url(path))
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.http.get(self.url(path)).send().await.unwrap()
    }
}

/// Test defaults: a private state dir, python on, short shutdown grace.
pub fn config() -> ServeConfig {
    let mut config = ServeConfig::default();
    config.http.shutdown_grace_ms = 5_000;
    config
}

pub async fn start(config: ServeConfig) -> TestServer {
    start_with_python(config, true).await
}

pub async fn start_with_python(mut config: ServeConfig, python: bool) -> TestServer {
    let state = if config.state_dir.is_none() {
        let dir = tempfile::tempdir().unwrap();
        config.state_dir = Some(dir.path().to_path_buf());
        Some(dir)
    } else {
        None
    };
    let state_dir = config.state_dir.clone().unwrap();
    let sandbox = python.then(sandbox);
    let server = Server::with_parts(config, corpus(), sandbox).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = oneshot::channel::<()>();
    let handle = tokio::spawn(server.serve(listener, async move {
        let _ = rx.await;
    }));
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap();
    TestServer {
        base: format!("http://{addr}"),
        http,
        state_dir,
        shutdown: Some(tx),
        handle: Some(handle),
        _state: state,
    }
}

/// The workspace's Python venv (built by `make setup`).
pub fn venv_python() -> PathBuf {
    let home = std::env::var_os("SIMWEB_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.simweb"));
    home.join("venv/bin/python")
}
