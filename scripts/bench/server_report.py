"""Markdown report of scripts/bench.d/50-server.sh from its results JSONL.

Each line is one wrk run (server_wrk.lua's summary) whose label is
`kind|server|endpoint|mode|round|connections|config`: kind `load` rows are the
interleaved simweb-vs-peer runs, kind `sat` rows the saturation runs.
"""
import json
import os
import platform
import statistics
import sys

path, meta = sys.argv[1], json.loads(sys.argv[2])
rows = []
for line in open(path, encoding="utf-8"):
    if not line.strip():
        continue
    r = json.loads(line)
    kind, server, endpoint, mode, rnd, conns, config = r["label"].split("|")
    r.update(kind=kind, server=server, endpoint=endpoint, mode=mode, round=int(rnd),
             conns=int(conns), config=config)
    rows.append(r)


def spread(values, fmt):
    return f"{fmt(statistics.median(values))} ({fmt(min(values))}–{fmt(max(values))})"


def f0(v):
    return f"{v:.0f}"


def f2(v):
    return f"{v:.2f}" if v < 100 else f"{v:.0f}"


def statuses(rs):
    total = {}
    for r in rs:
        for code, n in r["statuses"].items():
            total[code] = total.get(code, 0) + n
    return ", ".join(f"{c}: {n}" for c, n in sorted(total.items()))


def socket_errors(rs):
    return sum(r["errors"][k] for r in rs for k in ("connect", "read", "write", "timeout"))


load = [r for r in rows if r["kind"] == "load"]
rounds = sorted({r["round"] for r in load})
print(f"Machine: {os.cpu_count()} cores, {platform.machine()}, shared with another engineer's "
      f"builds during the run (load average at start {meta['load']}). {meta['passages']} passages "
      f"(the sample dumps' passages, same JSONL for both servers), {meta['queries']} distinct queries "
      f"(QA questions + article titles) for the uncached runs, one fixed query for the cached runs. "
      f"wrk {meta['wrk']}: {meta['threads']} thread, {meta['conns']} connections, "
      f"{meta['duration']} s per run after a {meta['warmup']} s warm-up, {len(rounds)} interleaved "
      f"rounds (simweb and peer alternate first). Peer: FastAPI {meta['fastapi']} + uvicorn "
      f"{meta['uvicorn']} ({meta['peer_workers']} worker processes on one socket with TCP_NODELAY, access log off) + bm25s "
      f"{meta['bm25s']}. Median (min–max) over rounds; ratio = median of the per-round "
      f"simweb/peer requests/s.\n")
print("| endpoint | mode | server | requests/s | p50 ms | p99 ms | non-200 | socket errors | throughput vs peer |")
print("|---|---|---|---|---|---|---|---|---|")
keys = []
for r in load:
    k = (r["endpoint"], r["mode"])
    if k not in keys:
        keys.append(k)
keys.sort(key=lambda k: (k[1] != "cached", k[0] != "/retrieve", k[0]))
for endpoint, mode in keys:
    peer = {r["round"]: r for r in load if r["server"] == "bm25s" and r["mode"] == mode
            and r["endpoint"] == "/retrieve"}
    for server in ("simweb", "bm25s"):
        rs = [r for r in load if r["server"] == server and r["endpoint"] == endpoint and r["mode"] == mode]
        if not rs:
            continue
        ratios = [r["rps"] / peer[r["round"]]["rps"] for r in rs if r["round"] in peer]
        if server == "bm25s":
            ratio = "1.00×"
        elif not ratios:
            ratio = "—"
        else:
            ratio = f"{statistics.median(ratios):.2f}×"
            if endpoint != "/retrieve":
                ratio += " (vs peer /retrieve)"
        non200 = sum(n for r in rs for c, n in r["statuses"].items() if c != "200")
        label = "simweb" if server == "simweb" else "Search-R1-style bm25s"
        print(f"| `{endpoint}` | {mode} | {label} | {spread([r['rps'] for r in rs], f0)} | "
              f"{spread([r['p50_ms'] for r in rs], f2)} | {spread([r['p99_ms'] for r in rs], f2)} | "
              f"{non200} | {socket_errors(rs)} | {ratio} |")

sat = [r for r in rows if r["kind"] == "sat"]
if sat:
    print("\nSaturation (one run each, uncached queries, load at twice the configured limit):\n")
    print("| config | server | endpoint | connections | requests/s | 200/s | p50 ms | p99 ms | max ms | responses by status | socket errors | only 200/429/503 |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in sat:
        ok = set(r["statuses"]) <= {"200", "429", "503"} and socket_errors([r]) == 0
        label = "simweb" if r["server"] == "simweb" else "Search-R1-style bm25s"
        print(f"| {r['config']} | {label} | `{r['endpoint']}` | {r['conns']} | {r['rps']:.0f} | "
              f"{r['statuses'].get('200', 0) / r['seconds']:.0f} | {f2(r['p50_ms'])} | {f2(r['p99_ms'])} | "
              f"{f2(r['max_ms'])} | {statuses([r])} | {socket_errors([r])} | {'yes' if ok else '**no**'} |")
