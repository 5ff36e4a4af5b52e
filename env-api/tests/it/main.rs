//! simweb-env-api's integration tests: one binary, real servers on 127.0.0.1 over one
//! shared corpus and sandbox per process (simweb-testkit).

mod drop_in;
mod server_api;
mod support;
