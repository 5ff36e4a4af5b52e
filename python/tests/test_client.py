"""The client over every native endpoint of a real server, sync and async."""

from __future__ import annotations

import asyncio
import importlib.metadata
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

import simweb

ALBEDO = "https://en.wikipedia.org/wiki/Albedo"


def test_the_installed_distribution_is_this_package() -> None:
    # `make setup` pip-installs ./python into the venv; its metadata matches the tree.
    assert importlib.metadata.version("simweb") == simweb.__version__


def test_health_readiness_and_metrics(client: simweb.Client) -> None:
    assert client.health()
    ready = client.ready()
    assert ready.ready and ready.reason is None
    assert ready.documents > 200
    assert len(ready.snapshot_id) == 64
    assert {"search", "visit", "python"} <= set(ready.tools)
    assert ready.python
    client.search("Albedo")
    metrics = client.metrics()
    searches = [k for k in metrics if k.startswith("simweb_tool_calls_total") and 'tool="search"' in k]
    assert searches and sum(metrics[k] for k in searches) >= 1, sorted(metrics)[:20]


def test_tools_and_openapi(client: simweb.Client) -> None:
    names = [t["function"]["name"] for t in client.tools()]
    assert names[:2] == ["search", "visit"] and "PythonInterpreter" in names
    spec = client.openapi()
    assert spec["openapi"].startswith("3.") and "/v1/tools/{name}" in spec["paths"]


def test_search_visit_python(client: simweb.Client) -> None:
    hits = client.search(["Albedo of snow", "Ray Charles"], top_k=3)
    assert hits.tool == "search" and "Albedo" in hits.text and "Ray Charles" in hits.text
    assert len(hits.data["results"]) == 2
    assert all(len(r["organic"]) <= 3 for r in hits.data["results"])
    again = client.search(["Albedo of snow", "Ray Charles"], top_k=3)
    assert again.text == hits.text and again.cached

    page = client.visit(ALBEDO, "What is albedo?")
    assert "Evidence in page" in page.text and "reflect" in page.text.lower()

    run = client.python("print(6 * 7)")
    assert run.text.startswith("stdout:\n42"), run.text
    assert run.data["exit_code"] == 0


def test_chinese_search_uses_the_chinese_index(client: simweb.Client) -> None:
    hits = client.search("数学", lang="zh")
    assert hits.data["results"][0]["lang"] == "zh"


def test_call_by_name_with_keyword_arguments(client: simweb.Client) -> None:
    by_kwargs = client.call("search", query=["Albedo"], top_k=1)
    by_dict = client.call("search", {"query": ["Albedo"], "top_k": 1})
    assert by_kwargs.text == by_dict.text


def test_batch_reports_failures_per_item(client: simweb.Client) -> None:
    items = client.batch(
        [
            ("search", {"query": ["Albedo"]}),
            {"tool": "no_such_tool", "arguments": {}},
            ("search", {"query": 5}),
        ]
    )
    assert [i.ok for i in items] == [True, False, False]
    assert items[1].status == 404 and items[1].error_kind == "not_found"
    assert items[2].status == 422 and "query" in (items[2].error_message or "")


def test_retrieve_returns_scored_passages(client: simweb.Client) -> None:
    (passages,) = client.retrieve("Albedo of snow", topk=3)
    assert 1 <= len(passages) <= 3
    assert passages[0].title == "Albedo" and passages[0].score is not None
    assert passages[0].text and passages[0].id.startswith("enwiki")
    # `mode`: bm25 is what this server (started without --dense) ranks by anyway;
    # dense is refused with the way to enable it.
    (same,) = client.retrieve("Albedo of snow", topk=3, mode="bm25")
    assert [p.id for p in same] == [p.id for p in passages]
    with pytest.raises(simweb.APIError) as refused:
        client.retrieve("Albedo of snow", mode="dense")
    assert refused.value.status == 422 and "dense index" in refused.value.message


def test_errors_carry_status_kind_and_message(client: simweb.Client) -> None:
    with pytest.raises(simweb.NotFound) as missing:
        client.call("no_such_tool", {})
    assert missing.value.status == 404 and missing.value.kind == "not_found"
    assert "no_such_tool" in missing.value.message

    with pytest.raises(simweb.InvalidRequest) as invalid:
        client.call("search", {"query": 5})
    assert invalid.value.kind == "invalid_request" and "query" in invalid.value.message

    with pytest.raises(simweb.NotFound):
        client.episode("ep-does-not-exist")


def test_episode_search_visit_answer(client: simweb.Client) -> None:
    created = client.create_episode("What is albedo a measure of?", ["diffuse reflection"], seed=7, max_turns=5)
    assert created.observation[0]["role"] == "system" and created.tools
    searched = client.step(
        created.episode_id,
        '<tool_call>\n{"name": "search", "arguments": {"query": ["Albedo"]}}\n</tool_call>',
    )
    assert not searched.done and searched.reward == 0.0
    assert searched.calls[0].name == "search" and "<tool_response>" in searched.observation
    answered = client.step(created.episode_id, "<answer>diffuse reflection</answer>")
    assert answered.terminated and answered.reward == 1.0 and answered.end_reason == "answer"
    assert answered.score is not None and answered.score.exact_match == 1.0
    with pytest.raises(simweb.Conflict):
        client.step(created.episode_id, "<answer>again</answer>")
    episode = client.episode(created.episode_id)
    assert episode.status == "terminated" and episode.prediction == "diffuse reflection"
    assert len(episode.steps) == 2 and episode.answers == ["diffuse reflection"]


def test_async_client_matches_the_sync_one(url: str, client: simweb.Client) -> None:
    async def run() -> tuple[list[simweb.ToolResult], simweb.Readiness]:
        async with simweb.AsyncClient(url) as aclient:
            results = await asyncio.gather(*(aclient.search(q) for q in ["Albedo", "Ray Charles", "Anarchism"]))
            return list(results), await aclient.ready()

    results, ready = asyncio.run(run())
    assert ready.ready
    for query, result in zip(["Albedo", "Ray Charles", "Anarchism"], results):
        assert result.text == client.search(query).text


def test_environment_configures_the_client(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIMWEB_URL", url)
    with simweb.Client() as c:
        assert c.base_url == url and c.health()


def test_unreachable_server_is_a_transport_error() -> None:
    with simweb.Client("http://127.0.0.1:9", max_retries=1, max_retry_wait=0.01) as c:
        with pytest.raises(simweb.TransportError):
            c.search("x")


def test_rate_limit_is_retried_after_retry_after(quota_server: simweb.LocalServer) -> None:
    # One search per second per client: a second call at once gets 429 + Retry-After.
    with quota_server.client(client_id="no-retry", max_retries=0) as strict:
        strict.search("Albedo")
        with pytest.raises(simweb.RateLimited) as limited:
            strict.search("Albedo")
    assert limited.value.status == 429 and limited.value.kind == "rate_limited"
    assert limited.value.retry_after is not None and limited.value.retry_after >= 1

    with quota_server.client(client_id="retrying", max_retries=3) as patient:
        patient.search("Albedo")
        started = time.monotonic()
        result = patient.search("Albedo")  # 429, waits Retry-After, then succeeds
        waited = time.monotonic() - started
    assert "Albedo" in result.text
    assert waited >= 0.9, f"retried before Retry-After: {waited:.2f} s"


def test_api_keys_are_sent_and_checked(corpus: Path, tmp_path: Path) -> None:
    with simweb.serve(corpus, state_dir=tmp_path / "state", python=False, api_keys=["s3cret"]) as local:
        with local.client(api_key="wrong", max_retries=0) as bad:
            with pytest.raises(simweb.Unauthorized):
                bad.search("Albedo")
        with local.client(api_key="s3cret") as good:
            assert "Albedo" in good.search("Albedo").text


def test_serve_reports_a_bad_data_dir(tmp_path_factory: pytest.TempPathFactory) -> None:
    empty = tmp_path_factory.mktemp("empty")
    with pytest.raises(simweb.ServerStartError) as failed:
        simweb.serve(empty, python=False, ready_timeout=30)
    assert "did not start" in str(failed.value)


@pytest.mark.parametrize("example", ["quickstart.py", "gymnasium_episode.py", "async_batch.py"])
def test_examples_run_against_a_server(url: str, example: str) -> None:
    path = Path(__file__).resolve().parents[1] / "examples" / example
    done = subprocess.run(
        [sys.executable, str(path)],
        env={**os.environ, "SIMWEB_URL": url},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip()
    if example != "async_batch.py":
        assert "1.0" in done.stdout  # the scripted answer wins
