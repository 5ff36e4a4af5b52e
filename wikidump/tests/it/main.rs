//! simweb-wikidump's integration tests: one binary (shared fixtures are built once per
//! process by simweb-testkit), one module per concern.

mod corpus;
mod golden;
mod mediawiki_dumps;
