"""The bm25s peer of tools/examples/search_bench.rs (scripts/bench.d/20-search.sh).

index: tokenizes the same passages JSONL (bm25s.tokenize, English stop words, no
stemmer) and saves the index (not timed against simweb: simweb's ingest is not timed
either). run: loads it and answers the same queries one at a time with `workers`
threads (bm25s' numpy backend releases the GIL only partly), taking the top 50
passages and keeping the first 10 distinct titles, like a page-level search. Prints
one JSON line like the Rust driver.
"""
import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import bm25s


def strip_replica(title):
    pos = title.rfind(" (replica ")
    return title[:pos] if pos >= 0 and title.endswith(")") else title


def index(jsonl, out):
    titles, texts = [], []
    with open(jsonl, encoding="utf-8") as f:
        for line in f:
            item = json.loads(line)
            titles.append(item["title"])
            texts.append(item["title"] + "\n" + item["text"])
    retriever = bm25s.BM25()
    retriever.index(bm25s.tokenize(texts, stopwords="en", show_progress=False), show_progress=False)
    retriever.save(out)
    with open(out + "/titles.json", "w", encoding="utf-8") as f:
        json.dump(titles, f)


def run(index_dir, queries_path, workers):
    retriever = bm25s.BM25.load(index_dir)
    titles = json.load(open(index_dir + "/titles.json", encoding="utf-8"))
    queries = [json.loads(l) for l in open(queries_path, encoding="utf-8") if l.strip()]
    k = min(50, len(titles))

    def one(item):
        t = time.perf_counter()
        tokens = bm25s.tokenize([item["q"]], stopwords="en", show_progress=False)
        docs, _ = retriever.retrieve(tokens, k=k, show_progress=False, n_threads=1)
        seen = []
        for d in docs[0]:
            title = titles[int(d)]
            if title not in seen:
                seen.append(title)
            if len(seen) == 10:
                break
        ms = (time.perf_counter() - t) * 1000
        hit = None
        if item.get("gold"):
            hit = any(strip_replica(s) == item["gold"] for s in seen)
        return ms, hit

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        rows = list(pool.map(one, queries))
    wall = time.perf_counter() - started
    lat = sorted(r[0] for r in rows)
    pct = lambda p: lat[round((len(lat) - 1) * p)]
    judged = [r[1] for r in rows if r[1] is not None]
    print(json.dumps({"engine": "bm25s", "mode": "cold", "workers": workers, "queries": len(lat),
                      "p50_ms": pct(0.5), "p99_ms": pct(0.99), "qps": len(lat) / wall,
                      "recall_at_10": sum(judged) / max(1, len(judged)), "judged": len(judged)}))


if __name__ == "__main__":
    if sys.argv[1] == "index":
        index(sys.argv[2], sys.argv[3])
    else:
        run(sys.argv[2], sys.argv[3], int(sys.argv[4]))
