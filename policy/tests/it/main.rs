//! simweb-policy's integration tests: one binary, one module per concern; the fixture
//! model comes from `make setup`, corpora and the sandbox from simweb-testkit (once per
//! process).

mod backends;
mod curate;
mod fixture;
mod generation;
mod rollout;
mod rollout_onnx;
mod rollout_support;
mod runner_reference;
