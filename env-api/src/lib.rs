//! The simweb HTTP server (axum/tokio): native API, episodes, MCP and the compat front
//! doors. The `simweb` binary (crate `simweb`, in `cli/`) sits on top.

pub mod accept;
pub mod compat;
pub mod config;
pub mod episodes;
pub mod errors;
pub mod lenient;
pub mod mcp;
pub mod metrics;
pub mod openai;
pub mod openapi;
pub mod routes;
pub mod server;
pub mod tls;

pub use config::ServeConfig;
pub use errors::ApiError;
pub use server::{ServeError, Server};
