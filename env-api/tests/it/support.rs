//! Shared by the server tests: a real corpus ingested once per test process from the
//! sample dumps, one real sandbox, and real servers on 127.0.0.1 with random ports.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use simweb_env_api::{ServeConfig, ServeError, Server};
use simweb_sandbox::{Sandbox, SandboxConfig};
use simweb_testkit::Sample;
use simweb_wikidump::Corpus;
use tempfile::TempDir;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// The 2025 enwiki sample, ingested and opened once per test process (simweb-testkit).
pub fn corpus() -> Arc<Corpus> {
    simweb_testkit::corpus(Sample::Enwiki2025)
}

/// One sandbox per test process, with the server's default settings.
pub fn sandbox() -> Sandbox {
    static SANDBOX: OnceLock<Sandbox> = OnceLock::new();
    SANDBOX
        .get_or_init(|| simweb_testkit::sandbox_with(SandboxConfig::default()))
        .clone()
}

/// A running server.
pub struct TestServer {
    pub base: String,
    pub http: reqwest::Client,
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

pub async fn start_with_python(config: ServeConfig, python: bool) -> TestServer {
    start_over(config, corpus(), python).await
}

/// A server over `corpus` (e.g. the dense fixture's, with `config.dense.enabled`).
pub async fn start_over(mut config: ServeConfig, corpus: Arc<Corpus>, python: bool) -> TestServer {
    let state = if config.state_dir.is_none() {
        let dir = tempfile::tempdir().unwrap();
        config.state_dir = Some(dir.path().to_path_buf());
        Some(dir)
    } else {
        None
    };
    let sandbox = python.then(sandbox);
    let server = Server::with_parts(config, corpus, sandbox).unwrap();
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
        shutdown: Some(tx),
        handle: Some(handle),
        _state: state,
    }
}

pub use simweb_testkit::venv_python;

/// A response's JSON body (the panic shows the status and text when it is not JSON).
pub async fn body(response: reqwest::Response) -> serde_json::Value {
    let status = response.status();
    let text = response.text().await.unwrap();
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{status}: not JSON ({e}): {text}"))
}
