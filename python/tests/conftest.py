"""Shared fixtures: real corpora ingested from the sample dumps by the real binary, and
real ``simweb serve`` processes on 127.0.0.1 started through ``simweb.serve``.

Needs ``SIMWEB_BIN`` (the ``simweb`` binary) and ``SIMWEB_WIKI_SAMPLES`` (the sample
dumps); ``make test`` runs this suite from the CLI crate's integration tests, which set
both. A data dir admits one server process at a time, so each server gets its own
ingested copy (the samples ingest in seconds).
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
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[simweb.LocalServer]:
    """The main server: all sample dumps, Python sandbox on."""
    root = tmp_path_factory.mktemp("main")
    data = ingest(root / "corpus")
    with simweb.serve(data, state_dir=root / "state") as local:
        yield local


@pytest.fixture(scope="session")
def url(server: simweb.LocalServer) -> str:
    return server.url


@pytest.fixture()
def client(url: str) -> Iterator[simweb.Client]:
    with simweb.Client(url) as c:
        yield c


@pytest.fixture(scope="session")
def quota_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[simweb.LocalServer]:
    """A server whose `search` admits one call per client per second (burst 1)."""
    root = tmp_path_factory.mktemp("quota")
    data = ingest(root / "corpus")
    config = root / "simweb.toml"
    config.write_text(
        "[layers.tools.search]\nclient_quota = { per_second = 1, burst = 1 }\n",
        encoding="utf-8",
    )
    with simweb.serve(data, state_dir=root / "state", config=config, python=False) as local:
        yield local
