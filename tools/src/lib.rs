//! Agent tools (search, visit, python) and the one tool layer around them: cache, retry, rate limits, backpressure, record/replay.
//!
//! - [`Tool`]: the abstraction every tool implements (name, OpenAI schema, typed
//!   arguments via [`parse_args`], a call returning text + structured data).
//! - [`Toolbox`]: tools by name, each behind the same [`layer`] stack; [`ToolboxSpec`]
//!   assembles the standard one (corpus tools + sandboxed Python) for every front door.
//! - [`layer`]: cache, retry, rate limits, backpressure, timeouts, record/replay,
//!   fault injection, metrics.

pub mod assemble;
pub mod builtin;
pub mod error;
pub mod format;
pub mod layer;
pub mod python;
pub mod react;
pub mod registry;
pub mod retrieve;
pub mod reward;
pub mod scholar;
pub mod search;
pub mod text;
pub mod tool;
pub mod visit;
pub mod wikiurl;

pub use assemble::ToolboxSpec;
pub use builtin::{register_corpus_tools, CorpusToolsConfig};
pub use error::{SetupError, ToolError};
pub use layer::{
    CacheConfig, FaultConfig, FaultSpec, LayerConfig, Metrics, MetricsSnapshot, Outcome, RateQuota,
    ReplayConfig, ReplayMode, RetryConfig, ToolLayers, ToolPolicy,
};
pub use registry::Toolbox;
pub use retrieve::RetrieveTool;
pub use scholar::{ParseFileTool, ScholarTool};
pub use search::{SearchConfig, SearchTool};
pub use tool::{
    canonical_json, json_type_name, parse_args, CallContext, CallKey, OneOrMany, Tool, ToolOutput,
};
pub use visit::{
    Extract, ExtractiveSummarizer, PageView, Quote, Summarizer, VisitConfig, VisitTool,
};
