//! simweb-tools' integration tests: one binary (shared fixtures are built once per
//! process by simweb-testkit), one module per concern.

mod corpus_tools;
mod format_golden;
mod layers;
mod python_tool;
