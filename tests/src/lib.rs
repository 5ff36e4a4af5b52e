//! End-to-end tests across crates (in `tests/`): a policy from `simweb-policy` acting
//! through the HTTP server of `simweb-env-api` over a corpus ingested by
//! `simweb-wikidump`, with the real tools and sandbox. The library itself is empty.
