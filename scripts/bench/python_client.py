"""What the Python package costs per call over the bare HTTP it wraps.

One `simweb serve` (release binary, sample corpus, tool cache on) answers the same
cached `search` call to three sequential callers, interleaved round by round (the order
rotates each round): `simweb.Client.search` (typed result, retry rule), a bare
`httpx.Client.post` + `json()` (the floor the client is built on), and a
`requests.Session.post` (what Tongyi's tools use). Then throughput: `AsyncClient`
with 8 concurrent calls against 8 concurrent bare `httpx.AsyncClient` posts (+ `json()`).

Usage: python_client.py DATA_DIR [--rounds 5] [--calls 400] > out.md
(SIMWEB_BIN: the binary; DATA_DIR: an ingested corpus no other server holds).
"""

from __future__ import annotations

import argparse
import asyncio
import platform
import statistics
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import requests

import simweb

BODY = {"arguments": {"query": ["Albedo of snow"], "top_k": 5}}


def timed(call: Callable[[], Any], n: int) -> list[float]:
    out = []
    for _ in range(n):
        start = time.perf_counter()
        call()
        out.append((time.perf_counter() - start) * 1e6)
    return out


async def throughput(make: Callable[[], Awaitable[Any]], n: int, concurrency: int) -> float:
    async def worker(count: int) -> None:
        for _ in range(count):
            await make()

    start = time.perf_counter()
    await asyncio.gather(*(worker(n // concurrency) for _ in range(concurrency)))
    return (n // concurrency * concurrency) / (time.perf_counter() - start)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("data", type=Path)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--calls", type=int, default=400)
    args = parser.parse_args()

    with simweb.serve(args.data, python=False, state_dir=args.data.parent / "bench-state") as server:
        url = server.url
        client = simweb.Client(url)
        raw = httpx.Client(base_url=url)
        session = requests.Session()
        callers: dict[str, Callable[[], Any]] = {
            "simweb.Client": lambda: client.search(["Albedo of snow"], top_k=5),
            "httpx (floor)": lambda: raw.post("/v1/tools/search", json=BODY).json(),
            "requests.Session": lambda: session.post(f"{url}/v1/tools/search", json=BODY).json(),
        }
        for call in callers.values():
            timed(call, 50)  # warm: connections, the server's cache
        samples: dict[str, list[float]] = {name: [] for name in callers}
        medians: dict[str, list[float]] = {name: [] for name in callers}
        names = list(callers)
        for r in range(args.rounds):
            for name in names[r % len(names):] + names[: r % len(names)]:
                got = timed(callers[name], args.calls)
                samples[name] += got
                medians[name].append(statistics.median(got))

        async def async_pair() -> tuple[list[float], list[float]]:
            ours, floor = [], []
            async with simweb.AsyncClient(url) as aclient, httpx.AsyncClient(base_url=url) as araw:

                async def bare() -> Any:
                    return (await araw.post("/v1/tools/search", json=BODY)).json()

                for r in range(args.rounds):
                    pair = [
                        ("ours", lambda: aclient.search(["Albedo of snow"], top_k=5)),
                        ("floor", bare),
                    ]
                    for name, make in pair if r % 2 == 0 else pair[::-1]:
                        rate = await throughput(make, args.calls * 2, 8)
                        (ours if name == "ours" else floor).append(rate)
            return ours, floor

        ours, floor = asyncio.run(async_pair())
        client.close()
        raw.close()

    base = statistics.median(medians["httpx (floor)"])
    print(f"Machine: {platform.machine()}, Python {platform.python_version()}, "
          f"{args.rounds} interleaved rounds × {args.calls} calls per caller; one cached `search` call.\n")
    print("| caller | p50 µs | p99 µs | round medians µs (min–max) | p50 / floor |")
    print("|---|---|---|---|---|")
    for name in names:
        values = samples[name]
        spread = f"{min(medians[name]):.0f}–{max(medians[name]):.0f}"
        ratio = statistics.median(medians[name]) / base
        print(f"| {name} | {pct(values, 0.5):.0f} | {pct(values, 0.99):.0f} | {spread} | {ratio:.2f}× |")
    print()
    print("| 8 concurrent callers | calls/s median | rounds (min–max) | ratio |")
    print("|---|---|---|---|")
    print(f"| simweb.AsyncClient | {statistics.median(ours):.0f} | {min(ours):.0f}–{max(ours):.0f} | "
          f"{statistics.median(ours) / statistics.median(floor):.2f}× |")
    print(f"| httpx.AsyncClient (floor) | {statistics.median(floor):.0f} | {min(floor):.0f}–{max(floor):.0f} | 1.00× |")


if __name__ == "__main__":
    main()
