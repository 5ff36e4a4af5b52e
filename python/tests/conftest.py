"""Shared fixtures: real corpora ingested from the sample dumps by the real binary, and
real ``simweb serve`` processes on 127.0.0.1 started through ``simweb.serve``.

Needs ``SIMWEB_BIN`` (the ``simweb`` binary) and ``SIMWEB_WIKI_SAMPLES`` (the sample
dumps); ``make test`` runs this suite from the CLI crate's integration tests, which set
both. The corpus is ingested once; every server of the session reads it at once (a
published corpus opens read-only in any number of processes).
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

import simweb


def _samples() -> list[str]:
    root = Path(os.environ.get("SIMWEB_WIKI_SAMPLES", "../shared/data/wiki"))
    inputs = sorted(str(p) for p in root.iterdir() if p.suffix in (".bz2", ".xml", ".zim"))
    if not inputs:
        pytest.exit(f"no sample dumps in {root} (set SIMWEB_WIKI_SAMPLES)", returncode=2)
    return inputs


def ingest(out: Path) -> Path:
    """``simweb ingest --out OUT`` over every sample dump (English, Chinese, ZIM)."""
    binary = simweb.server.find_binary()
    subprocess.run(
        [binary, "ingest", "--out", str(out), *_samples()],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    return out


@pytest.fixture(scope="session")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """All sample dumps (English, Chinese, ZIM), ingested by the real binary."""
    return ingest(tmp_path_factory.mktemp("corpus") / "corpus")


@pytest.fixture(scope="session")
def server(corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[simweb.LocalServer]:
    """The main server: Python sandbox on."""
    root = tmp_path_factory.mktemp("main")
    with simweb.serve(corpus, state_dir=root / "state") as local:
        yield local


@pytest.fixture(scope="session")
def url(server: simweb.LocalServer) -> str:
    return server.url


@pytest.fixture()
def client(url: str) -> Iterator[simweb.Client]:
    with simweb.Client(url) as c:
        yield c


@pytest.fixture(scope="session")
def quota_server(corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[simweb.LocalServer]:
    """A second server on the same corpus whose `search` admits one call per client per
    second (burst 1)."""
    root = tmp_path_factory.mktemp("quota")
    config = root / "simweb.toml"
    config.write_text(
        "[layers.tools.search]\nclient_quota = { per_second = 1, burst = 1 }\n",
        encoding="utf-8",
    )
    with simweb.serve(corpus, state_dir=root / "state", config=config, python=False) as local:
        yield local
