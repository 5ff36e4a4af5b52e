//! The simweb HTTP server (axum/tokio) and the `simweb` command-line binary.
