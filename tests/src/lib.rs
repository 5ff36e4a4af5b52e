//! End-to-end tests: the real `simweb` binary and server over the real sample dumps.
