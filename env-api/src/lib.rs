//! The simweb HTTP server (axum/tokio) and the `simweb` command-line binary.

pub mod compat;
pub mod config;
pub mod episodes;
pub mod errors;
pub mod mcp;
pub mod metrics;
pub mod openapi;
pub mod routes;
pub mod server;

pub use config::ServeConfig;
pub use errors::ApiError;
pub use server::{ServeError, Server};
