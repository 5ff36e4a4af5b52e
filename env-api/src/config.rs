//! The server's configuration: defaults, then a TOML file, then environment and flags
//! (applied by the CLI). Every field has a sane default so `simweb serve --data DIR`
//! works with no file at all.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use simweb_sandbox::RunOptions;
use simweb_tools::{CorpusToolsConfig, LayerConfig};

/// Problems reading or checking the configuration.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read the config file {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("invalid config file {path}: {source}")]
    Parse {
        path: PathBuf,
        #[source]
        source: Box<toml::de::Error>,
    },
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

/// Everything `simweb serve` can be configured with (TOML: the same field names).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServeConfig {
    /// Address to listen on.
    pub addr: SocketAddr,
    /// The ingested corpus (a `simweb ingest` output directory).
    pub data: Option<PathBuf>,
    /// Where episodes are persisted (sled). Default: `$SIMWEB_HOME/serve`.
    pub state_dir: Option<PathBuf>,
    /// This server's name among replicas behind a load balancer (`[a-z0-9]`, at most
    /// 16): episode ids then carry it (`ep-{replica}-…`) so the balancer can route each
    /// episode back to the replica that holds it, and every response says who answered
    /// (`X-Simweb-Replica`).
    pub replica: Option<String>,
    pub http: HttpConfig,
    pub auth: AuthConfig,
    pub episodes: EpisodeConfig,
    pub python: PythonConfig,
    /// The corpus tools (`search`, `visit`, …).
    pub tools: CorpusToolsConfig,
    /// The tool layer: cache, retry, rate limits, backpressure, record/replay, faults.
    pub layers: LayerConfig,
    pub mcp: McpConfig,
    /// Dense and hybrid ranking (`mode` in search and retrieve).
    pub dense: DenseConfig,
}

/// Whether the corpus's dense index (`simweb index dense`) is loaded, and with which
/// model. Without it, `mode: "dense" | "hybrid"` is refused with a 4xx saying so.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DenseConfig {
    pub enabled: bool,
    /// The embedding model directory (default: `$SIMWEB_HOME/models/multilingual-e5-small`).
    pub model: Option<PathBuf>,
    /// ONNX Runtime intra-op threads per session for query embedding (default: one
    /// per core).
    pub threads: Option<usize>,
    /// Query embeddings that run at once, each session a copy of the model (~0.3 GB):
    /// concurrent callers otherwise queue on one (default 1).
    pub sessions: Option<usize>,
    /// Two-stage vector search (indexes from 50 K passages) rescores one candidate per
    /// this many passages: lower for recall, higher for speed (default 32; recall and
    /// cost per count in BENCHMARKS.md). Part of the cache and replay keys.
    pub rows_per_candidate: Option<usize>,
    /// A partitioned index (from 50 K passages) is searched over one list in this many,
    /// nearest the query first: lower for recall, higher for speed; 1 probes every list
    /// (default 16). Part of the cache and replay keys.
    pub lists_per_probe: Option<usize>,
}

impl Default for ServeConfig {
    fn default() -> Self {
        ServeConfig {
            addr: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data: None,
            state_dir: None,
            replica: None,
            http: HttpConfig::default(),
            auth: AuthConfig::default(),
            episodes: EpisodeConfig::default(),
            python: PythonConfig::default(),
            tools: CorpusToolsConfig::default(),
            layers: LayerConfig::default(),
            mcp: McpConfig::default(),
            dense: DenseConfig::default(),
        }
    }
}

/// Bounds on `/mcp` sessions (each holds a worker task and buffers in memory, so an
/// unbounded number of them is a memory leak a client can drive).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct McpConfig {
    /// Sessions open at once, all clients together; more are refused with 503.
    pub max_sessions: usize,
    /// Sessions one client (API key, else `X-Simweb-Client`) may hold; more get 429.
    pub max_sessions_per_client: usize,
    /// A session with no request for this long is closed.
    pub idle_timeout_secs: u64,
}

impl Default for McpConfig {
    fn default() -> Self {
        McpConfig {
            max_sessions: 1024,
            max_sessions_per_client: 64,
            idle_timeout_secs: 60,
        }
    }
}

/// Limits that protect the server from hostile or broken clients.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpConfig {
    /// Largest request body accepted (413 above).
    pub body_limit_bytes: usize,
    /// A whole request (including reading a slow body) must finish within this (408).
    pub request_timeout_ms: u64,
    /// Requests handled at once; more are shed with 503 + Retry-After.
    pub max_in_flight: usize,
    /// Most calls in one `POST /v1/tools:batch`.
    pub max_batch: usize,
    /// On shutdown, in-flight requests get this long to finish.
    pub shutdown_grace_ms: u64,
    /// A client must send a request's headers within this; it also closes keep-alive
    /// connections idle this long (slow-header and idle connections hold descriptors).
    pub header_read_timeout_ms: u64,
    /// Connections open at once; one more gets `503` and is closed. Keep it below the
    /// process's open-file limit (`simweb serve` raises the soft limit to the hard one).
    pub max_connections: usize,
    /// Serve HTTPS with this PEM certificate chain (with `tls_key`).
    pub tls_cert: Option<PathBuf>,
    /// The PEM private key of `tls_cert`.
    pub tls_key: Option<PathBuf>,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            body_limit_bytes: 2 * 1024 * 1024,
            request_timeout_ms: 120_000,
            max_in_flight: 1024,
            max_batch: 64,
            shutdown_grace_ms: 30_000,
            header_read_timeout_ms: 30_000,
            max_connections: 4_096,
            tls_cert: None,
            tls_key: None,
        }
    }
}

/// Optional API keys. With none configured the server is open; with keys, every
/// request except health, readiness, metrics and the OpenAPI document needs one
/// (`Authorization: Bearer KEY` or `X-API-KEY: KEY`). The key is also the client's
/// identity for per-client rate limits.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthConfig {
    pub api_keys: Vec<String>,
}

/// How episodes behave.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EpisodeConfig {
    /// An episode is deleted this long after its last step.
    pub ttl_secs: u64,
    /// Default and upper bound of an episode's `max_turns` (Tongyi: 100 model calls).
    pub max_turns: u32,
    /// Default of an episode's `max_context_tokens` (Tongyi: 110K).
    pub max_context_tokens: usize,
    /// Tool calls executed per turn; further ones get an error observation.
    pub max_calls_per_turn: usize,
    /// The fixed "current date" of the system prompt (never the wall clock).
    pub current_date: String,
    /// A custom system prompt with `{tools}` and `{date}`; none = Tongyi's.
    pub prompt_template: Option<String>,
    /// Tools an episode offers when the request names none, in prompt order.
    pub tools: Vec<String>,
    /// Which score becomes the step reward on `<answer>`.
    pub reward: RewardMetric,
}

impl Default for EpisodeConfig {
    fn default() -> Self {
        EpisodeConfig {
            ttl_secs: 24 * 3600,
            max_turns: 100,
            max_context_tokens: simweb_tools::react::DEFAULT_MAX_CONTEXT_TOKENS,
            max_calls_per_turn: 8,
            current_date: simweb_tools::react::DEFAULT_CURRENT_DATE.to_string(),
            prompt_template: None,
            tools: [
                "search",
                "visit",
                "PythonInterpreter",
                "google_scholar",
                "parse_file",
            ]
            .map(String::from)
            .to_vec(),
            reward: RewardMetric::ExactMatch,
        }
    }
}

/// The metric that is an episode's reward (both are always reported in `info`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RewardMetric {
    ExactMatch,
    F1,
}

/// The Python sandbox behind the `python` tool and the SandboxFusion endpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PythonConfig {
    /// Off: no `python` tool (the server starts without the sandbox artifacts).
    pub enabled: bool,
    /// Sandbox runs at once; 0 = available cores.
    pub max_concurrency: usize,
    /// How long a run may wait for a sandbox slot before 503.
    pub queue_timeout_ms: u64,
    /// How the sandbox resets memory between runs: `auto` (the default: `scan` for a
    /// run alone, `copy` beside others), `copy` (throughput under concurrent calls) or
    /// `scan` (lowest single-caller latency).
    pub memory_reset: simweb_sandbox::MemoryReset,
    /// Limits and seed of every run.
    pub run: RunOptions,
}

impl Default for PythonConfig {
    fn default() -> Self {
        PythonConfig {
            enabled: true,
            max_concurrency: 0,
            queue_timeout_ms: 30_000,
            memory_reset: simweb_sandbox::MemoryReset::default(),
            run: RunOptions::default(),
        }
    }
}

impl ServeConfig {
    /// Defaults overlaid with the TOML file, if one is given.
    pub fn load(path: Option<&Path>) -> Result<ServeConfig, ConfigError> {
        let Some(path) = path else {
            return Ok(ServeConfig::default());
        };
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        ServeConfig::from_toml(&text).map_err(|source| ConfigError::Parse {
            path: path.to_path_buf(),
            source: Box::new(source),
        })
    }

    pub fn from_toml(text: &str) -> Result<ServeConfig, toml::de::Error> {
        toml::from_str(text)
    }

    /// Rejects settings that cannot work, naming the field.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let checks: [(bool, &str); 14] = [
            (
                self.http.header_read_timeout_ms > 0,
                "http.header_read_timeout_ms must be at least 1",
            ),
            (
                self.http.max_connections > 0,
                "http.max_connections must be at least 1",
            ),
            (
                self.mcp.max_sessions > 0,
                "mcp.max_sessions must be at least 1",
            ),
            (
                self.mcp.max_sessions_per_client > 0,
                "mcp.max_sessions_per_client must be at least 1",
            ),
            (
                self.mcp.idle_timeout_secs > 0,
                "mcp.idle_timeout_secs must be at least 1",
            ),
            (
                self.http.body_limit_bytes > 0,
                "http.body_limit_bytes must be at least 1",
            ),
            (
                self.http.request_timeout_ms > 0,
                "http.request_timeout_ms must be at least 1",
            ),
            (
                self.http.max_in_flight > 0,
                "http.max_in_flight must be at least 1",
            ),
            (self.http.max_batch > 0, "http.max_batch must be at least 1"),
            (
                self.dense.sessions != Some(0),
                "dense.sessions must be at least 1",
            ),
            (
                self.dense.rows_per_candidate != Some(0),
                "dense.rows_per_candidate must be at least 1",
            ),
            (
                self.dense.lists_per_probe != Some(0),
                "dense.lists_per_probe must be at least 1",
            ),
            (
                self.episodes.max_turns > 0,
                "episodes.max_turns must be at least 1",
            ),
            (
                self.episodes.max_calls_per_turn > 0,
                "episodes.max_calls_per_turn must be at least 1",
            ),
        ];
        for (ok, message) in checks {
            if !ok {
                return Err(ConfigError::Invalid(message.to_string()));
            }
        }
        if let Some(template) = &self.episodes.prompt_template {
            simweb_tools::react::PromptTemplate::new(template.clone())
                .map_err(|e| ConfigError::Invalid(format!("episodes.prompt_template: {e}")))?;
        }
        if self.http.tls_cert.is_some() != self.http.tls_key.is_some() {
            return Err(ConfigError::Invalid(
                "http.tls_cert and http.tls_key go together: set both or neither".into(),
            ));
        }
        if let Some(replica) = &self.replica {
            check_replica_name(replica)?;
        }
        if self.auth.api_keys.iter().any(|k| k.trim().is_empty()) {
            return Err(ConfigError::Invalid(
                "auth.api_keys must not contain empty keys".into(),
            ));
        }
        Ok(())
    }

    /// The effective configuration as TOML, API keys redacted: printed on start so an
    /// operator sees what the server actually runs with.
    pub fn to_display_toml(&self) -> String {
        let mut shown = self.clone();
        shown.auth.api_keys = shown
            .auth
            .api_keys
            .iter()
            .map(|_| "<redacted>".to_string())
            .collect();
        toml::to_string_pretty(&shown).unwrap_or_else(|e| format!("# cannot render config: {e}\n"))
    }

    /// Where episodes live when `state_dir` is not set.
    pub fn effective_state_dir(&self) -> PathBuf {
        if let Some(dir) = &self.state_dir {
            return dir.clone();
        }
        let home = std::env::var_os("SIMWEB_HOME")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(".simweb"));
        home.join("serve")
    }
}

/// A replica name goes into episode ids and a balancer's routing rule, so it is kept
/// to what needs no escaping anywhere and cannot be confused with the id's `-` separator.
fn check_replica_name(name: &str) -> Result<(), ConfigError> {
    let ok = !name.is_empty()
        && name.len() <= 16
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    if ok {
        Ok(())
    } else {
        Err(ConfigError::Invalid(format!(
            "replica `{name}` must be 1 to 16 characters of a-z and 0-9"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toml_overrides_defaults_and_rejects_unknown_fields() {
        let config = ServeConfig::from_toml(
            r#"
            addr = "0.0.0.0:9000"
            [http]
            max_batch = 3
            [episodes]
            reward = "f1"
            [layers.tools.search]
            max_concurrency = 4
            "#,
        )
        .unwrap();
        assert_eq!(config.addr.port(), 9000);
        assert_eq!(config.http.max_batch, 3);
        assert_eq!(
            config.http.body_limit_bytes,
            HttpConfig::default().body_limit_bytes
        );
        assert_eq!(config.episodes.reward, RewardMetric::F1);
        assert_eq!(config.layers.policy_for("search").max_concurrency, 4);
        let err = ServeConfig::from_toml("[http]\nmax_bach = 3\n").unwrap_err();
        assert!(err.to_string().contains("max_bach"), "{err}");
    }

    #[test]
    fn memory_reset_defaults_to_auto_and_names_the_choices() {
        use simweb_sandbox::MemoryReset;
        assert_eq!(
            ServeConfig::default().python.memory_reset,
            MemoryReset::Auto
        );
        for (text, want) in [
            ("auto", MemoryReset::Auto),
            ("copy", MemoryReset::Copy),
            ("scan", MemoryReset::Scan),
        ] {
            let config =
                ServeConfig::from_toml(&format!("[python]\nmemory_reset = \"{text}\"\n")).unwrap();
            assert_eq!(config.python.memory_reset, want);
        }
        let err = ServeConfig::from_toml("[python]\nmemory_reset = \"fast\"\n").unwrap_err();
        assert!(err.to_string().contains("auto"), "{err}");
    }

    #[test]
    fn replica_names_are_what_an_episode_id_and_a_routing_rule_can_carry() {
        let mut config = ServeConfig::default();
        for good in ["r1", "a", "node0123456789ab"] {
            config.replica = Some(good.into());
            config.validate().unwrap();
        }
        for bad in ["", "R1", "r-1", "r_1", "node0123456789abc", "r 1"] {
            config.replica = Some(bad.into());
            let err = config.validate().unwrap_err().to_string();
            assert!(err.contains("a-z and 0-9"), "{bad}: {err}");
        }
    }

    #[test]
    fn validation_names_the_bad_field() {
        /// How a case spoils the default config.
        type Spoil = fn(&mut ServeConfig);
        // (how the default is spoiled, what the error must name)
        let cases: [(Spoil, &str); 5] = [
            (|c| c.http.max_in_flight = 0, "http.max_in_flight"),
            (|c| c.dense.sessions = Some(0), "dense.sessions"),
            (
                |c| c.dense.rows_per_candidate = Some(0),
                "dense.rows_per_candidate",
            ),
            (
                |c| c.dense.lists_per_probe = Some(0),
                "dense.lists_per_probe",
            ),
            (
                |c| c.episodes.prompt_template = Some("no placeholders".into()),
                "{tools}",
            ),
        ];
        for (spoil, named) in cases {
            let mut config = ServeConfig::default();
            spoil(&mut config);
            let err = config.validate().unwrap_err().to_string();
            assert!(err.contains(named), "{named}: {err}");
        }
    }

    #[test]
    fn display_redacts_keys_and_round_trips() {
        let mut config = ServeConfig::default();
        config.auth.api_keys = vec!["sekrit".into()];
        let shown = config.to_display_toml();
        assert!(!shown.contains("sekrit"));
        let back = ServeConfig::from_toml(&shown).unwrap();
        assert_eq!(back.http, config.http);
        assert_eq!(back.episodes, config.episodes);
    }
}
