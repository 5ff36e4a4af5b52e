//! The `simweb` binary's tests, run as a user runs it, and the cross-crate end-to-end
//! flow (dump → store/index → tools → api → policy over HTTP). One binary; shared
//! fixtures come from simweb-testkit, once per process.

mod cli;
mod docker_files;
mod policy_over_http;
mod python_package;
mod rollout_cli;
mod scale;
mod serve_cli;
mod support;
mod tasks_curate;
mod tasks_synth;
