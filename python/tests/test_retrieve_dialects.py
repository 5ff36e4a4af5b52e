"""``POST /retrieve`` in each retriever dialect RL code sends, read back the way each
client reads it. Request bodies and parsing restate the upstream clients:

- Search-R1 ``search_r1/llm_agent/generation.py`` (PeterGriffinJin/Search-R1 a14dc3a4) and
  verl's ``verl/tools/utils/search_r1_like_utils.py`` (v0.7.1, bec9ef74):
  ``{"queries", "topk", "return_scores": true}`` → ``result[i][j]["document"]["contents"]``;
- SkyRL ``skyrl_gym/tools/search.py`` (skyrl-gym 0.4.0): one ``{"query", "topk",
  "return_scores": true}`` → the same ``result`` lists;
- rLLM ``examples/search/local_retrieval_tool.py`` (rllm-org/rllm 7982c508):
  ``{"query", "top_k"}`` → ``results[j]["document"]["contents"]`` and ``["score"]``, after
  ``GET /health``; rLLM's current ``examples/fully_async/deepresearch/tool.py`` (9beb6e0f):
  ``results[j]["id" | "content" | "score"]``.
"""

from __future__ import annotations

import httpx
import pytest

HEADERS = {"Content-Type": "application/json", "Accept": "application/json"}


def _title_and_text(contents: str) -> tuple[str, str]:
    title, _, text = contents.partition("\n")
    return title, text


def test_search_r1_and_verl_batches(url: str) -> None:
    body = {"queries": ["Albedo of snow", "Ray Charles"], "topk": 3, "return_scores": True}
    response = httpx.post(f"{url}/retrieve", json=body, headers=HEADERS)
    assert response.status_code == 200
    result = response.json()["result"]
    assert len(result) == 2 and all(1 <= len(docs) <= 3 for docs in result)
    title, text = _title_and_text(result[0][0]["document"]["contents"])
    assert title == '"Albedo"' and text
    assert isinstance(result[0][0]["score"], float)
    assert "Ray Charles" in result[1][0]["document"]["contents"]
    # Without scores, Search-R1's server returns the documents themselves.
    bare = httpx.post(f"{url}/retrieve", json={"queries": ["Albedo"], "topk": 1}).json()["result"]
    assert set(bare[0][0]) == {"id", "contents"}


def test_skyrl_single_query(url: str) -> None:
    body = {"query": "Albedo of snow", "topk": 2, "return_scores": True}
    api_response = httpx.post(f"{url}/retrieve", json=body, headers=HEADERS).json()
    lists = api_response.get("result", [])
    assert len(lists) == 1 and len(lists[0]) == 2
    formatted = "".join(f"Doc {i + 1}: {doc['document']['contents'].strip()}\n" for i, doc in enumerate(lists[0]))
    assert formatted.startswith('Doc 1: "Albedo"\n')


def test_rllm_single_query_both_generations(url: str) -> None:
    assert httpx.get(f"{url}/health").status_code == 200
    for top_key in ("top_k", "k"):
        data = httpx.post(f"{url}/retrieve", json={"query": "Albedo of snow", top_key: 2}).json()
        results = data.get("results", [])
        assert len(results) == 2 and data["num_results"] == 2 and data["query"] == "Albedo of snow"
        first = results[0]
        # The earlier LocalRetrievalTool: document.id / document.contents / score.
        assert first["document"]["id"] == first["id"] and first["document"]["contents"].startswith('"Albedo"')
        # The current deepresearch tool: flat id / content / score.
        assert first["content"] == first["document"]["contents"] and isinstance(first["score"], float)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({}, "missing `queries`"),
        ({"query": "a", "queries": ["b"]}, "not both"),
        ({"queries": "not a list"}, "queries: invalid type"),
        ({"query": "a", "topk": -1}, "topk: expected a whole number"),
    ],
)
def test_malformed_retriever_requests_are_422_with_a_reason(url: str, body: dict[str, object], reason: str) -> None:
    response = httpx.post(f"{url}/retrieve", json=body)
    assert response.status_code == 422
    assert reason in response.json()["error"]["message"]
