"""Guest side of simweb's std sandbox engine (runs inside CPython 3.14 on WASI).

componentize-py pre-initialises this module at build time, so every import below is part
of the snapshot: a fresh instance starts with them already loaded. The host runs one
`exec` per fresh instance; nothing persists between calls.
"""

import sys
import traceback

# Pre-imported stdlib: these cost nothing per call once snapshotted. The list is the
# modules agents reach for most; others import from the read-only stdlib mount.
import array, base64, bisect, calendar, cmath, collections, collections.abc  # noqa: E401
import copy, csv, dataclasses, datetime, decimal, difflib, enum, fractions  # noqa: E401
import functools, hashlib, heapq, io, itertools, json, math, numbers, operator  # noqa: E401
import os, pathlib, pprint, random, re, statistics, string, struct, textwrap  # noqa: E401
import time, typing, unicodedata, zlib  # noqa: E401

try:  # sqlite3 is built into this CPython; keep the guest usable if a build lacks it
    import sqlite3  # noqa: F401
except ImportError:  # pragma: no cover - depends on the componentize-py build
    pass

import wit_world


def _exit_code(code) -> int:
    """SystemExit's argument as a process exit status, as CPython's own main() maps it."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFFFFFFFF if code < 0 else min(code, 255)
    # sys.exit("message"): the message goes to stderr and the status is 1.
    print(code, file=sys.stderr)
    return 1


class WitWorld(wit_world.WitWorld):
    def exec(self, code: str) -> int:
        # The snapshot's `random` was seeded at build time; reseed from WASI randomness,
        # which the host seeds per call, so the caller's seed decides the sequence.
        random.seed()
        main = type(sys)("__main__")
        main.__builtins__ = __builtins__
        sys.modules["__main__"] = main
        try:
            compiled = compile(code, "<user>", "exec")
            exec(compiled, main.__dict__)
        except SystemExit as e:
            return _flush(_exit_code(e.code))
        except BaseException as e:  # noqa: BLE001 - report every failure as a traceback
            tb = "".join(traceback.format_exception(e))
            try:
                sys.stderr.write(tb)
            except BaseException:  # noqa: BLE001 - stderr may be closed by the output cap
                pass
            _flush(1)
            raise wit_world.Err(tb)
        return _flush(0)


def _flush(status: int) -> int:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except BaseException:  # noqa: BLE001 - a capped pipe refuses further writes
            pass
    return status
