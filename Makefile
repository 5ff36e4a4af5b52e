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

.PHONY: setup build ingest run test lint bench

## Fetch pinned runtimes from registries, build the sandbox, generate fixtures (idempotent).
setup:
	bash scripts/setup.sh

build:
	cargo build --release -p simweb-env-api

## Ingest the sample corpus (all real dumps in $(WIKI)) into $(DATA).
ingest: build
	$(SIMWEB) ingest --out $(DATA) $(WIKI)/*.bz2 $(WIKI)/*.xml $(WIKI)/*.zim

## Set up, build, ingest the sample corpus, then serve it.
run: setup ingest
	$(SIMWEB) serve --data $(DATA) --addr $(ADDR)

lint:
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings

## Everything CI runs.
test: setup lint
	cargo test --workspace

## Benchmarks for BENCHMARKS.md (installs the peers first).
bench: setup build
	bash scripts/bench.sh
