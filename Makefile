# The two commands of the README are the contract: `make run` and `make test`.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c

# Real Wikipedia dump excerpts live beside the checkout; they are never copied in.
WIKI ?= $(abspath $(CURDIR)/../shared/data/wiki)
DATA ?= $(CURDIR)/data/sample
ADDR ?= 127.0.0.1:8080
export SIMWEB_HOME ?= $(CURDIR)/.simweb
export SIMWEB_CACHE ?= $(HOME)/.cache/simweb
export SIMWEB_WIKI_SAMPLES ?= $(WIKI)
SIMWEB := $(CURDIR)/target/release/simweb

# `make test` lints while it builds: clippy-driver compiles the workspace's own crates
# (every target cargo test builds: libs, unit and integration tests, the binary, the
# examples) with clippy's lints and -D warnings, and dependencies are compiled once, for
# the tests, instead of once more by `cargo clippy`'s separate check build.
CLIPPY_DRIVER = $(shell rustup which clippy-driver 2>/dev/null || command -v clippy-driver)
LINTED := RUSTC_WORKSPACE_WRAPPER="$(CLIPPY_DRIVER)" CLIPPY_ARGS="-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__"

.PHONY: setup build prepare ingest run test test-fast fmt-check lint bench

## Fetch pinned runtimes from registries, build the sandbox components, generate fixtures
## (idempotent, no cargo build).
setup:
	bash scripts/setup.sh

## The one release build: the `simweb` binary.
build:
	cargo build --release -p simweb --bin simweb

## AOT-compile the sandbox engines with that same binary (cached by content key).
prepare: setup build
	$(SIMWEB) sandbox prepare

## Ingest the sample corpus (all real dumps in $(WIKI)) into $(DATA).
ingest: build
	$(SIMWEB) ingest --out $(DATA) $(WIKI)/*.bz2 $(WIKI)/*.xml $(WIKI)/*.zim

## Set up, build once, prepare the sandbox, ingest the sample corpus, then serve it.
run: setup prepare ingest
	$(SIMWEB) serve --data $(DATA) --addr $(ADDR)

fmt-check:
	cargo fmt --all -- --check

## Standalone lint (what `make test` also enforces while it builds).
lint: fmt-check
	cargo clippy --workspace --all-targets -- -D warnings

## Everything CI runs: format check, then one linted build of every target and all tests.
test: setup fmt-check
	[ -x "$(CLIPPY_DRIVER)" ] || { echo "clippy-driver not found (rustup component add clippy)" >&2; exit 1; }
	$(LINTED) cargo test --workspace --no-fail-fast

## Inner loop: one crate's tests (`make test-fast CRATE=simweb-tools`), unlinted.
CRATE ?= simweb-tools
test-fast:
	cargo test -p $(CRATE)

## Benchmarks for BENCHMARKS.md (installs the peers first).
bench: prepare
	bash scripts/bench.sh
