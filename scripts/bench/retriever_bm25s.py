"""The peer of scripts/bench.d/50-server.sh: a Search-R1-style retriever server.

Search-R1 (search_r1/search/retrieval_server.py) serves `POST /retrieve` with FastAPI on
uvicorn: `{"queries": [...], "topk": k, "return_scores": bool}` ->
`{"result": [[{"document": {"id", "contents"}, "score"}, ...], ...]}` (without scores,
each inner list holds the documents alone); `contents` is `"Title"\ntext` as in its
wiki-18 corpus. This is the same endpoint over bm25s (its BM25 retriever is pyserini,
a JVM; bm25s is the pure-Python equivalent the search benchmark already uses), with a
sync `def` endpoint as upstream (FastAPI runs it in its thread pool).

    python retriever_bm25s.py index PASSAGES.jsonl INDEX_DIR   # build and save
    BM25S_INDEX=INDEX_DIR python retriever_bm25s.py serve PORT WORKERS

`serve` binds 127.0.0.1:PORT itself and forks WORKERS uvicorn servers on that socket
(what `uvicorn --workers N` does), but creates the socket with proto IPPROTO_TCP:
uvicorn's own multi-worker socket has proto 0, so asyncio skips TCP_NODELAY on accepted
connections and every keep-alive response after the first waits ~40 ms for a delayed ACK
(measured: 90 requests/s at 44 ms each instead of ~450/s). Upstream Search-R1 runs one
process (`uvicorn.run(app, ...)`), which is not affected.

Tokenisation as in search_bm25s.py: bm25s.tokenize, English stop words, no stemmer.
"""
import json
import os
import sys
from typing import List, Optional

import bm25s


def index(jsonl, out):
    docs, texts = [], []
    with open(jsonl, encoding="utf-8") as f:
        for line in f:
            item = json.loads(line)
            contents = '"' + item["title"] + '"\n' + item["text"]
            docs.append({"id": item["id"], "contents": contents})
            texts.append(item["title"] + "\n" + item["text"])
    retriever = bm25s.BM25()
    retriever.index(bm25s.tokenize(texts, stopwords="en", show_progress=False), show_progress=False)
    retriever.save(out)
    with open(os.path.join(out, "docs.json"), "w", encoding="utf-8") as f:
        json.dump(docs, f, ensure_ascii=False)


def serve(port, workers):
    import signal
    import socket

    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(2048)
    children = []
    for _ in range(workers):
        pid = os.fork()
        if pid == 0:
            config = uvicorn.Config("retriever_bm25s:app", log_level="warning", access_log=False)
            uvicorn.Server(config).run(sockets=[sock])
            os._exit(0)
        children.append(pid)

    def stop(*_):
        for pid in children:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for pid in children:
        os.waitpid(pid, 0)


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "index":
        index(sys.argv[2], sys.argv[3])
        sys.exit(0)
    if len(sys.argv) == 4 and sys.argv[1] == "serve":
        serve(int(sys.argv[2]), int(sys.argv[3]))
        sys.exit(0)
    sys.exit(__doc__)

from fastapi import FastAPI  # noqa: E402 (the index subcommand does not need it)
from pydantic import BaseModel  # noqa: E402

INDEX_DIR = os.environ["BM25S_INDEX"]
RETRIEVER = bm25s.BM25.load(INDEX_DIR)
with open(os.path.join(INDEX_DIR, "docs.json"), encoding="utf-8") as f:
    DOCS = json.load(f)
DEFAULT_TOPK = 3

app = FastAPI()


class QueryRequest(BaseModel):
    queries: List[str]
    topk: Optional[int] = None
    return_scores: bool = False


def batch_search(queries, k):
    k = max(1, min(k, len(DOCS)))
    tokens = bm25s.tokenize(queries, stopwords="en", show_progress=False)
    ids, scores = RETRIEVER.retrieve(tokens, k=k, show_progress=False, n_threads=1)
    results = [[DOCS[int(i)] for i in row] for row in ids]
    return results, [[float(s) for s in row] for row in scores]


@app.post("/retrieve")
def retrieve_endpoint(request: QueryRequest):
    topk = request.topk or DEFAULT_TOPK
    results, scores = batch_search(request.queries, topk)
    resp = []
    for i, single in enumerate(results):
        if request.return_scores:
            resp.append([{"document": doc, "score": score} for doc, score in zip(single, scores[i])])
        else:
            resp.append(single)
    return {"result": resp}


@app.get("/healthz")
def healthz():
    return {"ok": True}
