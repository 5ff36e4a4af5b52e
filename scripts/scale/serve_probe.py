"""A served corpus at scale: start-up time, RSS after loading, and `search` latency.

Starts `simweb serve --no-python` over DATA_DIR with the tool cache off (every call is
cold), reports the time to `/readyz` and the server's RSS, then sends QUERIES distinct
article-title queries (read from the corpus through `/v1/tools/search` results of seed
words, one at a time) and reports p50/p99 per call and RSS after.

With `--visit TITLES` (one title per line, e.g. from `largest_pages.sh`) it also reads
each of those pages through `visit` (one URL per call, a fixed goal) and reports p50/p99.

Usage: serve_probe.py DATA_DIR [--queries 300] [--visit TITLES]   (SIMWEB_BIN: the binary)
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import simweb

SEEDS = ["history", "music", "river", "war", "science", "city", "football", "film", "album", "school",
         "church", "language", "island", "company", "theory", "king", "station", "university", "party", "novel"]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("data", type=Path)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--visit", type=Path, help="titles to read through `visit`, one per line")
    args = parser.parse_args()
    visit_titles = args.visit.read_text(encoding="utf-8").splitlines() if args.visit else []
    visit_times: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "simweb.toml"
        config.write_text("[layers.cache]\nenabled = false\n", encoding="utf-8")
        started = time.perf_counter()
        with simweb.serve(args.data, python=False, config=config, state_dir=Path(tmp) / "state") as server:
            ready_s = time.perf_counter() - started
            pid = server.process.pid
            loaded = rss_mb(pid)
            with server.client() as client:
                titles: list[str] = []
                for seed in SEEDS:
                    hits = client.search(seed, top_k=20).data["results"][0]["organic"]
                    titles += [h["title"] for h in hits if h["title"] not in titles]
                queries = titles[: args.queries]
                times = []
                for q in queries:
                    t = time.perf_counter()
                    client.search(q)
                    times.append((time.perf_counter() - t) * 1000)
                for title in visit_titles:
                    url = "https://en.wikipedia.org/wiki/" + title.replace(" ", "_")
                    t = time.perf_counter()
                    result = client.visit(url, goal="the main facts, dates and people of this topic")
                    visit_times.append((time.perf_counter() - t) * 1000)
                    if "Evidence in page" not in result.text:
                        raise SystemExit(f"visit of {title!r} found no page: {result.text[:300]}")
            after = rss_mb(pid)
    times.sort()
    print(f"ready in {ready_s:.2f} s; RSS after loading {loaded:.0f} MB, after {len(times)} searches {after:.0f} MB")
    print(f"search (10 hits with snippets, cache off, 1 caller, over HTTP): p50 {statistics.median(times):.2f} ms, "
          f"p99 {times[int(0.99 * (len(times) - 1))]:.2f} ms, max {times[-1]:.2f} ms")
    if visit_times:
        visit_times.sort()
        print(f"visit of the {len(visit_times)} given pages (cache off, 1 caller, over HTTP): "
              f"p50 {statistics.median(visit_times):.2f} ms, "
              f"p99 {visit_times[int(0.99 * (len(visit_times) - 1))]:.2f} ms, max {visit_times[-1]:.2f} ms")


if __name__ == "__main__":
    main()
