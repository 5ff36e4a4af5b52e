//! `simweb serve`: load the corpus, the tools and the sandbox once and serve the HTTP
//! API until Ctrl-C / SIGTERM, then drain in-flight requests and flush.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use simweb_env_api::{ServeConfig, Server};

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The ingested corpus (output of `simweb ingest`).
    #[arg(long, env = "SIMWEB_DATA")]
    pub data: Option<PathBuf>,
    /// Address to listen on [default: 127.0.0.1:8080, or `addr` in the config].
    #[arg(long, env = "SIMWEB_ADDR")]
    pub addr: Option<SocketAddr>,
    /// A TOML config file (same fields as the printed effective config).
    #[arg(long, env = "SIMWEB_CONFIG")]
    pub config: Option<PathBuf>,
    /// Where episodes are persisted [default: $SIMWEB_HOME/serve].
    #[arg(long, env = "SIMWEB_STATE_DIR")]
    pub state_dir: Option<PathBuf>,
    /// This replica's name behind a load balancer (`[a-z0-9]{1,16}`): episode ids carry
    /// it so episodes can be routed back to it (see deploy/nginx/).
    #[arg(long, env = "SIMWEB_REPLICA")]
    pub replica: Option<String>,
    /// Require this API key (repeatable; env: comma-separated).
    #[arg(long = "api-key", env = "SIMWEB_API_KEYS", value_delimiter = ',')]
    pub api_keys: Vec<String>,
    /// Serve without the Python sandbox (no `python` tool).
    #[arg(long)]
    pub no_python: bool,
    /// Load the corpus's dense index (`simweb index dense`): enables `mode: "dense" |
    /// "hybrid"` in search and retrieve.
    #[arg(long, env = "SIMWEB_DENSE")]
    pub dense: bool,
    /// Query embeddings run at once with --dense (each session a copy of the model;
    /// config `dense.sessions`, default 1).
    #[arg(long, env = "SIMWEB_DENSE_SESSIONS")]
    pub dense_sessions: Option<usize>,
    /// With --dense, two-stage vector search rescores one candidate per this many
    /// passages: lower for recall, higher for speed (config `dense.rows_per_candidate`,
    /// default 32).
    #[arg(long, env = "SIMWEB_DENSE_ROWS_PER_CANDIDATE")]
    pub dense_rows_per_candidate: Option<usize>,
    /// With --dense, a partitioned index (from 50 K passages) probes one list in this
    /// many, nearest first: lower for recall, higher for speed; 1 probes every list
    /// (config `dense.lists_per_probe`, default 16).
    #[arg(long, env = "SIMWEB_DENSE_LISTS_PER_PROBE")]
    pub dense_lists_per_probe: Option<usize>,
    /// The default ranking when a call does not say (bm25, dense, hybrid).
    #[arg(long, env = "SIMWEB_SEARCH_MODE")]
    pub search_mode: Option<simweb_dense::SearchMode>,
    /// Serve HTTPS with this PEM certificate chain (with --tls-key), e.g. to stand in
    /// for an agent's hard-coded API hosts through a hosts-file entry.
    #[arg(long, env = "SIMWEB_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The PEM private key of --tls-cert.
    #[arg(long, env = "SIMWEB_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
}

pub fn run(args: ServeArgs) -> anyhow::Result<()> {
    let mut config = ServeConfig::load(args.config.as_deref())?;
    if let Some(data) = args.data {
        config.data = Some(data);
    }
    if let Some(addr) = args.addr {
        config.addr = addr;
    }
    if let Some(dir) = args.state_dir {
        config.state_dir = Some(dir);
    }
    if let Some(replica) = args.replica {
        config.replica = Some(replica);
    }
    if !args.api_keys.is_empty() {
        config.auth.api_keys = args.api_keys;
    }
    if args.no_python {
        config.python.enabled = false;
    }
    if args.dense {
        config.dense.enabled = true;
    }
    if let Some(sessions) = args.dense_sessions {
        config.dense.sessions = Some(sessions);
    }
    if let Some(rows) = args.dense_rows_per_candidate {
        config.dense.rows_per_candidate = Some(rows);
    }
    if let Some(lists) = args.dense_lists_per_probe {
        config.dense.lists_per_probe = Some(lists);
    }
    if let Some(mode) = args.search_mode {
        config.tools.search.default_mode = mode;
    }
    if let (Some(cert), Some(key)) = (args.tls_cert, args.tls_key) {
        config.http.tls_cert = Some(cert);
        config.http.tls_key = Some(key);
    }
    config.validate()?;
    let open_files = raise_open_file_limit();
    if let Some(limit) = open_files {
        // Descriptors beyond connections: the corpus, the stores, the sandbox, logs.
        let room = limit.saturating_sub(256);
        if config.http.max_connections > room {
            tracing::warn!(
                max_connections = config.http.max_connections,
                open_file_limit = limit,
                "http.max_connections lowered to fit the open-file limit"
            );
            config.http.max_connections = room.max(1);
        }
    }
    eprintln!(
        "# simweb serve: effective configuration\n{}",
        config.to_display_toml()
    );

    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async move {
        let server = Server::build(config).context("starting the server")?;
        let listener = server.bind().await?;
        let addr = listener.local_addr().context("reading the bound address")?;
        tracing::info!(%addr, "simweb serving");
        let scheme = if server.is_tls() { "https" } else { "http" };
        eprintln!("simweb listening on {scheme}://{addr}");
        server
            .serve(listener, shutdown_signal())
            .await
            .context("serving")?;
        tracing::info!("simweb stopped");
        anyhow::Ok(())
    })
}

/// Resolves on Ctrl-C or SIGTERM (what `docker stop` sends).
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
}

/// Raises the soft open-file limit to the hard one (a server holds one descriptor per
/// connection) and returns the limit now in force.
fn raise_open_file_limit() -> Option<usize> {
    #[cfg(unix)]
    {
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit/setrlimit only read and write the struct passed to them.
        unsafe {
            if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
                return None;
            }
            if limit.rlim_cur < limit.rlim_max {
                let raised = libc::rlimit {
                    rlim_cur: limit.rlim_max,
                    rlim_max: limit.rlim_max,
                };
                if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                    limit = raised;
                }
            }
        }
        Some(usize::try_from(limit.rlim_cur).unwrap_or(usize::MAX))
    }
    #[cfg(not(unix))]
    {
        None
    }
}
