#!/usr/bin/env python3
"""Runs a command and traces its memory: anonymous (heap) and file-backed (mapped
files) resident pages, sampled from /proc/PID/status.

`/usr/bin/time` reports one peak RSS; this splits it, because an ingest's heap is what
must stay flat as the corpus grows, while mapped index pages are the page cache's and
come and go with the merge that reads them.

Usage: rss_trace.py [--every SECONDS] [--json OUT] -- COMMAND ...   (COMMAND itself, not a
wrapper such as /usr/bin/time: only its own /proc entry is sampled)
Prints one line: wall s, CPU s, max RSS (getrusage, as /usr/bin/time), peak anon MB, peak file MB, peak total MB, and the anon MB at
each tenth of the run (so growth over the run is visible); `--json` also writes every
sample.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path


def status_kb(pid: int) -> dict[str, int]:
    """RssAnon / RssFile / VmRSS of `pid` in KiB (empty once it has exited)."""
    fields: dict[str, int] = {}
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return fields
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key in ("RssAnon", "RssFile", "VmRSS"):
            fields[key] = int(value.split()[0])
    return fields


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--every", type=float, default=1.0, help="seconds between samples")
    parser.add_argument("--json", type=Path, help="write every sample here")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("no command given")
    start = time.monotonic()
    proc = subprocess.Popen(command)
    samples: list[tuple[float, int, int]] = []
    while proc.poll() is None:
        s = status_kb(proc.pid)
        if s:
            samples.append((time.monotonic() - start, s.get("RssAnon", 0), s.get("RssFile", 0)))
        time.sleep(args.every)
    wall = time.monotonic() - start
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = usage.ru_utime + usage.ru_stime
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "command": command,
                    "wall_s": wall,
                    "cpu_s": cpu,
                    "max_rss_kb": usage.ru_maxrss,
                    "samples": samples,
                }
            )
        )
    mb = 1024.0
    anon = max((a for _, a, _ in samples), default=0) / mb
    file = max((f for _, _, f in samples), default=0) / mb
    total = max((a + f for _, a, f in samples), default=0) / mb
    tenths = [
        f"{samples[min(len(samples) - 1, len(samples) * i // 10)][1] / mb:.0f}"
        for i in range(1, 11)
    ] if samples else []
    print(
        f"rss_trace: wall {wall:.1f} s, CPU {cpu:.1f} s, max RSS {usage.ru_maxrss / mb:.0f} MB, "
        f"peak anon {anon:.0f} MB, peak file {file:.0f} MB, "
        f"peak total {total:.0f} MB, anon by tenths {' '.join(tenths)}",
        file=sys.stderr,
    )
    return proc.returncode


if __name__ == "__main__":
    sys.exit(main())
