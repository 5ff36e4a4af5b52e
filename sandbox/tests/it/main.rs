//! simweb-sandbox's integration tests: one binary, one real sandbox per process
//! (simweb-testkit), one module per concern.

mod escape;
mod sci;
mod stdlib;
mod support;
