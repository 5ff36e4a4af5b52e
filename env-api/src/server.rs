//! Building the server (corpus, sandbox, tool layer, episode store) and running it
//! with graceful shutdown.

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use simweb_sandbox::{Sandbox, SandboxConfig};
use simweb_tools::{Toolbox, ToolboxSpec};
use simweb_wikidump::Corpus;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::accept::ConnLimits;
use crate::config::{ConfigError, ServeConfig};
use crate::episodes::{EpisodeEngine, EpisodeStore, StoreError};
use crate::metrics::HttpMetrics;

/// Why the server could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(
        "no corpus given: pass --data DIR (a `simweb ingest` output) or set `data` in the config"
    )]
    NoData,
    #[error("cannot open the corpus at {path}: {source}")]
    Corpus {
        path: PathBuf,
        #[source]
        source: simweb_wikidump::CorpusError,
    },
    #[error(
        "cannot start the Python sandbox (set python.enabled = false to serve without it): {0}"
    )]
    Sandbox(#[source] simweb_sandbox::SandboxError),
    #[error("cannot open the dense index (serve without --dense, or build it with `simweb index dense`): {0}")]
    Dense(#[source] simweb_dense::DenseError),
    #[error("cannot set up the tool layer: {0}")]
    Tools(#[source] simweb_tools::SetupError),
    #[error("cannot open the episode store: {0}")]
    Episodes(#[source] StoreError),
    #[error("cannot bind {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("server I/O error: {0}")]
    Io(#[source] std::io::Error),
    #[error(transparent)]
    Tls(#[from] crate::tls::TlsError),
}

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub config: ServeConfig,
    pub corpus: Arc<Corpus>,
    pub toolbox: Arc<Toolbox>,
    pub sandbox: Option<Sandbox>,
    pub episodes: EpisodeEngine,
    pub http: HttpMetrics,
    pub in_flight: Arc<tokio::sync::Semaphore>,
    pub shutting_down: AtomicBool,
    /// Cancels long-lived streams (MCP SSE) so graceful shutdown can finish.
    pub cancel: CancellationToken,
    /// `/openapi.json`, rendered once for this server's tools.
    pub openapi: String,
    /// Set when `http.tls_cert`/`tls_key` are: every connection speaks HTTPS.
    pub tls: Option<tokio_rustls::TlsAcceptor>,
}

/// A fully loaded server, ready to be bound.
pub struct Server {
    state: AppState,
}

impl Server {
    /// Loads the corpus and the sandbox as configured, then builds the server.
    pub fn build(config: ServeConfig) -> Result<Server, ServeError> {
        config.validate()?;
        let data = config.data.clone().ok_or(ServeError::NoData)?;
        let corpus = Corpus::open(&data).map_err(|source| ServeError::Corpus {
            path: data.clone(),
            source,
        })?;
        let sandbox = if config.python.enabled {
            Some(start_sandbox(&config)?)
        } else {
            None
        };
        Server::with_parts(config, Arc::new(corpus), sandbox)
    }

    /// Builds the server over an already opened corpus and sandbox (tests and embedders
    /// share one corpus between several servers).
    pub fn with_parts(
        config: ServeConfig,
        corpus: Arc<Corpus>,
        sandbox: Option<Sandbox>,
    ) -> Result<Server, ServeError> {
        config.validate()?;
        let mut spec = ToolboxSpec::new(Arc::clone(&corpus))
            .layers(config.layers.clone())
            .tools(config.tools.clone());
        if config.dense.enabled {
            let model = config
                .dense
                .model
                .clone()
                .unwrap_or_else(simweb_dense::default_model_dir);
            let dense = simweb_dense::DenseRetriever::open(
                corpus.data_dir(),
                &model,
                &simweb_dense::EncoderOptions {
                    intra_threads: config.dense.threads,
                    sessions: config.dense.sessions.unwrap_or(1),
                    ..Default::default()
                },
            )
            .map_err(ServeError::Dense)?;
            let dense = match config.dense.rows_per_candidate {
                Some(rows) => dense.with_rows_per_candidate(rows),
                None => dense,
            };
            let dense = match config.dense.lists_per_probe {
                Some(lists) => dense.with_lists_per_probe(lists),
                None => dense,
            };
            spec = spec.dense(Arc::new(dense));
        }
        if let Some(sandbox) = &sandbox {
            spec = spec.python(sandbox.clone(), config.python.run.clone());
        }
        let toolbox = Arc::new(spec.build().map_err(ServeError::Tools)?);
        let state_dir = config.effective_state_dir();
        std::fs::create_dir_all(&state_dir).map_err(ServeError::Io)?;
        let store = EpisodeStore::open(&state_dir, Duration::from_secs(config.episodes.ttl_secs))
            .map_err(ServeError::Episodes)?;
        let episodes = EpisodeEngine::new(
            Arc::clone(&toolbox),
            store,
            config.episodes.clone(),
            config.replica.clone(),
        )
        .map_err(|e| ConfigError::Invalid(format!("episodes.prompt_template: {e}")))?;
        let in_flight = Arc::new(tokio::sync::Semaphore::new(config.http.max_in_flight));
        let tls = match (&config.http.tls_cert, &config.http.tls_key) {
            (Some(cert), Some(key)) => Some(crate::tls::acceptor(cert, key)?),
            _ => None,
        };
        let openapi = crate::openapi::document_json(&crate::openapi::ServerFacts {
            tool_names: &toolbox.callable_names(),
            mode: config.layers.replay.mode.label(),
            max_turns: config.episodes.max_turns,
            search_modes: if config.dense.enabled {
                &["bm25", "dense", "hybrid"]
            } else {
                &["bm25"]
            },
        });
        Ok(Server {
            state: AppState {
                inner: Arc::new(Inner {
                    config,
                    corpus,
                    toolbox,
                    sandbox,
                    episodes,
                    http: HttpMetrics::default(),
                    in_flight,
                    shutting_down: AtomicBool::new(false),
                    cancel: CancellationToken::new(),
                    openapi,
                    tls,
                }),
            },
        })
    }

    pub fn config(&self) -> &ServeConfig {
        &self.state.inner.config
    }

    pub fn toolbox(&self) -> Arc<Toolbox> {
        Arc::clone(&self.state.inner.toolbox)
    }

    /// The axum app (every route and middleware).
    pub fn router(&self) -> Router {
        crate::routes::router(self.state.clone())
    }

    /// Binds the configured address.
    pub async fn bind(&self) -> Result<TcpListener, ServeError> {
        let addr = self.state.inner.config.addr;
        TcpListener::bind(addr)
            .await
            .map_err(|source| ServeError::Bind { addr, source })
    }

    /// Whether connections speak HTTPS (`http.tls_cert` / `tls_key`).
    pub fn is_tls(&self) -> bool {
        self.state.inner.tls.is_some()
    }

    /// Serves until `shutdown` resolves, then stops accepting, lets in-flight requests
    /// finish (up to `http.shutdown_grace_ms`), and flushes episodes and the tool cache.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), ServeError> {
        let state = self.state.clone();
        let app = self.router();
        let grace = Duration::from_millis(state.inner.config.http.shutdown_grace_ms);
        let signalled = CancellationToken::new();
        let on_signal = {
            let state = state.clone();
            let signalled = signalled.clone();
            async move {
                shutdown.await;
                tracing::info!("shutting down: draining in-flight requests");
                state.inner.shutting_down.store(true, Ordering::SeqCst);
                state.inner.cancel.cancel();
                signalled.cancel();
            }
        };
        let sweeper = tokio::spawn(sweep_expired(state.clone()));
        let signal = tokio::spawn(on_signal);
        let http = &state.inner.config.http;
        let limits = ConnLimits {
            header_read_timeout: Duration::from_millis(http.header_read_timeout_ms),
            max_connections: http.max_connections,
            tls: state.inner.tls.clone(),
        };
        let server = crate::accept::serve(listener, app, limits, signalled.clone());
        tokio::select! {
            refused = server => {
                if refused > 0 {
                    tracing::warn!(refused, "connections refused at http.max_connections");
                }
            }
            _ = async { signalled.cancelled().await; tokio::time::sleep(grace).await } => {
                tracing::warn!(grace_ms = grace.as_millis() as u64, "grace period over; closing remaining connections");
            }
        }
        signal.abort();
        sweeper.abort();
        // The grace period bounds shutdown whatever the disk does: a wedged store is
        // logged and left (sled's log replays what reached it on the next start).
        if tokio::time::timeout(grace, state.flush(grace))
            .await
            .is_err()
        {
            tracing::error!(
                grace_ms = grace.as_millis() as u64,
                "flushing on shutdown did not finish within the grace period"
            );
        }
        Ok(())
    }
}

impl AppState {
    /// Makes episodes and the persistent tool cache durable, waiting on the episode
    /// store at most `timeout`.
    pub(crate) async fn flush(&self, timeout: Duration) {
        if let Err(e) = self.inner.episodes.store().flush(timeout).await {
            tracing::error!(error = %e, "flushing episodes failed");
        }
        if let Some(cache) = self.inner.toolbox.layers().cache() {
            let _ = tokio::task::spawn_blocking(move || cache.flush()).await;
        }
    }
}

fn start_sandbox(config: &ServeConfig) -> Result<Sandbox, ServeError> {
    let mut sandbox_config = SandboxConfig {
        queue_timeout: Duration::from_millis(config.python.queue_timeout_ms),
        memory_reset: config.python.memory_reset,
        ..SandboxConfig::default()
    };
    if config.python.max_concurrency > 0 {
        sandbox_config.max_concurrency = config.python.max_concurrency;
    }
    Sandbox::new(sandbox_config).map_err(ServeError::Sandbox)
}

/// Deletes expired episodes once a minute.
async fn sweep_expired(state: AppState) {
    let mut tick = tokio::time::interval(Duration::from_secs(60));
    loop {
        tick.tick().await;
        match state.inner.episodes.store().sweep_expired() {
            Ok(0) => {}
            Ok(n) => tracing::info!(expired = n, "swept expired episodes"),
            Err(e) => tracing::warn!(error = %e, "sweeping episodes failed"),
        }
    }
}
