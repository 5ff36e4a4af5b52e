"""Reliability figures for a running `simweb serve` (scripts/bench.d/70-hardening.sh).

Stdlib only, so it runs with any Python 3.10+. Every load is bounded in count and time and
goes to the server on 127.0.0.1 that the driver script started.

  episodes   creates + steps per second with 1, 8 and 64 concurrent writers (durable:
             every answered write is on disk), interleaved rounds, median and spread
  idle       server RSS before / while 10,000 idle connections are attempted
  mcp        server RSS before / after 10,000 MCP session attempts (one client, then many)
  hostile    latency of `print(1+1)` through the python tool before, during and after a
             500-call hostile batch (infinite loops, memory, disk and output bombs)

Prints a Markdown section on stdout.
"""

from __future__ import annotations

import argparse
import http.client
import json
import resource
import socket
import statistics
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable


class Client:
    """One keep-alive HTTP/1.1 connection to the server."""

    def __init__(self, host: str, port: int, headers: dict[str, str] | None = None) -> None:
        self.host, self.port = host, port
        self.headers = {"content-type": "application/json", **(headers or {})}
        self.conn = http.client.HTTPConnection(host, port, timeout=120)

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, bytes, dict[str, str]]:
        payload = None if body is None else json.dumps(body).encode()
        for attempt in range(2):
            try:
                self.conn.request(method, path, body=payload, headers=self.headers)
                response = self.conn.getresponse()
                data = response.read()
                return response.status, data, {k.lower(): v for k, v in response.getheaders()}
            except (ConnectionError, http.client.HTTPException):
                # The server reaps idle keep-alive connections: reconnect once.
                self.conn.close()
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=120)
                if attempt == 1:
                    raise
        raise AssertionError("unreachable")

    def json(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        status, data, _ = self.call(method, path, body)
        return status, json.loads(data) if data else None


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


def spread(values: list[float]) -> str:
    return f"{statistics.median(values):,.1f} ({min(values):,.1f}–{max(values):,.1f})"


def episode_round(host: str, port: int, writers: int, seconds: float) -> float:
    """Episode writes per second (1 create + 2 steps = 3 writes per episode)."""
    deadline = time.monotonic() + seconds
    counts = [0] * writers

    def writer(i: int) -> None:
        client = Client(host, port, {"x-simweb-client": "bench"})
        n = 0
        while time.monotonic() < deadline:
            status, created = client.json(
                "POST",
                "/v1/episodes",
                {"task": {"question": f"w{i}-{n}", "answers": ["a"]}, "seed": n, "tools": ["search"]},
            )
            assert status == 200, (status, created)
            path = f"/v1/episodes/{created['episode_id']}/step"
            for action in ("thinking", "<answer>a</answer>"):
                status, _ = client.json("POST", path, {"action": action})
                assert status == 200, status
            n += 1
        counts[i] = n * 3

    started = time.monotonic()
    with ThreadPoolExecutor(writers) as pool:
        list(pool.map(writer, range(writers)))
    return sum(counts) / (time.monotonic() - started)


def episodes(host: str, port: int, rounds: int, seconds: float) -> list[str]:
    levels = (1, 8, 64)
    results: dict[int, list[float]] = {w: [] for w in levels}
    for r in range(rounds):
        order = levels if r % 2 == 0 else tuple(reversed(levels))
        for w in order:
            results[w].append(episode_round(host, port, w, seconds))
    lines = [
        "| concurrent writers | episode writes/s, median (min–max) | vs 1 writer |",
        "|---:|---:|---:|",
    ]
    base = statistics.median(results[1])
    for w in levels:
        lines.append(f"| {w} | {spread(results[w])} | {statistics.median(results[w]) / base:.2f}× |")
    return lines


def idle_connections(host: str, port: int, pid: int, attempts: int) -> list[str]:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, attempts + 1024), hard))
    before = rss_mb(pid)
    socks: list[socket.socket] = []
    refused = failed = 0
    for _ in range(attempts):
        try:
            s = socket.create_connection((host, port), timeout=5)
            socks.append(s)
        except OSError:
            failed += 1
    time.sleep(1.0)
    # Connections past the cap were answered 503 and closed by the server.
    for s in socks:
        s.setblocking(False)
        try:
            data = s.recv(64)
            if data.startswith(b"HTTP/1.1 503") or data == b"":
                refused += 1
        except BlockingIOError:
            pass
        except OSError:
            refused += 1
    during = rss_mb(pid)
    c = Client(host, port)
    t0 = time.monotonic()
    status, _, _ = c.call("GET", "/healthz")
    probe_ms = (time.monotonic() - t0) * 1000
    for s in socks:
        s.close()
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    return [
        f"| {attempts:,} idle connections attempted | {before:.0f} MB | {during:.0f} MB | "
        f"{len(socks) - refused:,} held open, {refused:,} refused with 503 at the cap, {failed} failed to connect; "
        f"`/healthz` meanwhile: {status} in {probe_ms:.1f} ms |"
    ]


def mcp_sessions(host: str, port: int, pid: int, attempts: int) -> list[str]:
    body = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {"protocolVersion": "2025-03-26", "capabilities": {}, "clientInfo": {"name": "bench", "version": "1"}},
    }
    lines = []
    for label, client_of in (
        ("one client", lambda i: "mcp-bench"),
        ("a client each", lambda i: f"mcp-bench-{i}"),
    ):
        before = rss_mb(pid)
        statuses: Counter[int] = Counter()
        lock = threading.Lock()

        def attempt(i: int, client_of: Callable[[int], str] = client_of) -> None:
            c = Client(host, port, {"x-simweb-client": client_of(i), "accept": "application/json, text/event-stream"})
            status, _, _ = c.call("POST", "/mcp", body)
            c.conn.close()
            with lock:
                statuses[status] += 1

        with ThreadPoolExecutor(16) as pool:
            list(pool.map(attempt, range(attempts)))
        after = rss_mb(pid)
        shown = ", ".join(f"{n:,}× {s}" for s, n in sorted(statuses.items()))
        lines.append(f"| {attempts:,} MCP session attempts, {label} | {before:.0f} MB | {after:.0f} MB | {shown} |")
    return lines


HOSTILE = [
    "while True: pass",
    "x = []\nwhile True: x.append('x' * 10**6)",
    "chunk = b'x' * (1 << 20)\nwith open('/tmp/big', 'wb') as f:\n    while True: f.write(chunk)",
    "while True: print('y' * 10000)",
    "import time\ntime.sleep(3600)",
]


def hostile(host: str, port: int, calls: int, probes: int) -> list[str]:
    probe_no = iter(range(10**9))

    def probe() -> tuple[float, int]:
        # A distinct comment per call: the tool cache must not answer for the sandbox.
        code = f"print(1+1)  # probe {next(probe_no)}"
        c = Client(host, port, {"x-simweb-client": "probe"})
        t0 = time.monotonic()
        status, out = c.json("POST", "/v1/tools/python", {"arguments": {"code": code}})
        ms = (time.monotonic() - t0) * 1000
        if status == 200:
            assert out["text"].strip().endswith("2"), out
        return ms, status

    def row(label: str, results: list[tuple[float, int]]) -> str:
        ok = [ms for ms, status in results if status == 200]
        statuses = Counter(status for _, status in results)
        shown = ", ".join(f"{n}× {s}" for s, n in sorted(statuses.items()))
        return f"| {label} ({len(results)} calls) | {spread(ok) if ok else '–'} | {shown} |"

    before = [probe() for _ in range(probes)]
    outcomes: Counter[str] = Counter()
    lock = threading.Lock()

    def attack(i: int) -> None:
        c = Client(host, port, {"x-simweb-client": f"attacker-{i % 8}"})
        status, data, _ = c.call("POST", "/v1/tools/python", {"arguments": {"code": HOSTILE[i % len(HOSTILE)]}})
        kind = str(status)
        if status == 200:
            kind = json.loads(data)["data"]["kind"]["kind"]
        with lock:
            outcomes[kind] += 1

    started = time.monotonic()
    during: list[tuple[float, int]] = []
    with ThreadPoolExecutor(64) as pool:
        futures = [pool.submit(attack, i) for i in range(calls)]
        while not all(f.done() for f in futures):
            during.append(probe())
        for f in futures:
            f.result()
    batch_s = time.monotonic() - started
    after = [probe() for _ in range(probes)]
    shown = ", ".join(f"{n}× {s}" for s, n in sorted(outcomes.items()))
    return [
        "| `print(1+1)` (uncached) via `POST /v1/tools/python` | latency of the answered, ms, median (min–max) | statuses |",
        "|---|---:|---|",
        row("before the batch", before),
        row(f"during the {calls}-call hostile batch", during),
        row("after it", after),
        "",
        f"The batch ({', '.join(repr(h.split(chr(10))[-1]) for h in HOSTILE)}; 64 in flight) took {batch_s:.0f} s; "
        f"its outcomes: {shown}.",
    ]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--pid", type=int, required=True, help="the server's pid (for RSS)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--idle", type=int, default=10_000)
    ap.add_argument("--mcp", type=int, default=10_000)
    ap.add_argument("--hostile", type=int, default=500)
    ap.add_argument("--probes", type=int, default=20)
    args = ap.parse_args()
    host = "127.0.0.1"
    out = ["### Episode writes (durable) by concurrency", ""]
    out += episodes(host, args.port, args.rounds, args.seconds)
    out += ["", "### Memory under connection and session floods", ""]
    out += ["| load | server RSS before | during / after | outcome |", "|---|---:|---:|---|"]
    out += idle_connections(host, args.port, args.pid, args.idle)
    out += mcp_sessions(host, args.port, args.pid, args.mcp)
    out += ["", "### Python while under attack", ""]
    out += hostile(host, args.port, args.hostile, args.probes)
    print("\n".join(out))


if __name__ == "__main__":
    main()
