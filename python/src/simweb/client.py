"""``Client`` and ``AsyncClient``: every native endpoint of ``simweb serve``, typed.

Both share one connection pool per instance (httpx), one way to build requests and one
retry rule: a 429 or 503 is retried after the server's ``Retry-After`` (or a short
exponential backoff when it sent none), at most ``max_retries`` times and never waiting
longer than ``max_retry_wait`` seconds at once; a connection that could not be opened
is retried the same way (the server never saw the request). Everything else raises at
once, as the typed exception of ``simweb.errors``.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import httpx

from . import errors
from .types import (
    BatchItem,
    Episode,
    EpisodeCreated,
    Passage,
    Readiness,
    StepResult,
    ToolResult,
)

DEFAULT_URL = "http://127.0.0.1:8080"

#: What one batch call is: ``("search", {"query": ["x"]})`` or
#: ``{"tool": "search", "arguments": {...}}``.
BatchCall = tuple[str, Mapping[str, Any]] | Mapping[str, Any]


class _Common:
    """Configuration and request/response handling shared by both clients."""

    def __init__(
        self,
        base_url: str | None,
        api_key: str | None,
        client_id: str | None,
        timeout: float,
        max_retries: int,
        max_retry_wait: float,
    ) -> None:
        self.base_url = (base_url or os.environ.get("SIMWEB_URL") or DEFAULT_URL).rstrip("/")
        key = api_key if api_key is not None else os.environ.get("SIMWEB_API_KEY")
        self.headers: dict[str, str] = {"User-Agent": "simweb-python"}
        if key:
            self.headers["Authorization"] = f"Bearer {key}"
        if client_id:
            self.headers["X-Simweb-Client"] = client_id
        self.timeout = timeout
        self.max_retries = max(0, max_retries)
        self.max_retry_wait = max_retry_wait

    def _delay(self, attempt: int, response: httpx.Response | None) -> float | None:
        """Seconds to wait before retry ``attempt`` (1-based), or ``None``: do not retry."""
        if attempt > self.max_retries:
            return None
        if response is not None:
            if response.status_code not in (429, 503):
                return None
            after = _retry_after(response)
            if after is not None:
                return min(after, self.max_retry_wait)
        return min(0.25 * 2.0 ** (attempt - 1), self.max_retry_wait)

    def _next_delay(
        self, method: str, path: str, attempt: int, result: httpx.Response | httpx.HTTPError
    ) -> float | None:
        """The retry rule for one attempt's result: seconds to wait before the next
        attempt, or ``None`` when ``result`` is the answer. A transport failure that is
        not retried raises ``TransportError``."""
        if isinstance(result, httpx.Response):
            return self._delay(attempt, result)
        delay = self._delay(attempt, None) if isinstance(result, httpx.ConnectError) else None
        if delay is None:
            raise self._transport_error(method, path, result) from result
        return delay

    def _transport_error(self, method: str, path: str, error: Exception) -> errors.TransportError:
        return errors.TransportError(f"{method} {self.base_url}{path}: {error}")

    def _readiness(self, response: httpx.Response) -> Readiness:
        """``/readyz``'s answer; a 503 is a readiness too (``ready=False`` with its reason)."""
        if response.status_code in (200, 503):
            return Readiness.from_json(response.json())
        return Readiness.from_json(self._decode(response))

    @staticmethod
    def _decode(response: httpx.Response) -> Any:
        if response.is_success:
            if response.headers.get("content-type", "").startswith("application/json"):
                return response.json()
            return response.text
        try:
            body: Any = response.json()
        except ValueError:
            body = None
        raise errors.error_for(response.status_code, body, response.text, _retry_after(response))


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def _tool_body(arguments: Mapping[str, Any] | None, extra: Mapping[str, Any]) -> dict[str, Any]:
    args = dict(arguments or {})
    args.update(extra)
    return {"arguments": args}


def _as_list(value: str | Sequence[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


SearchMode = Literal["bm25", "dense", "hybrid"]
"""How ``/retrieve`` ranks: keywords, embeddings (multilingual-e5-small) or both fused."""


def _retrieve_body(
    queries: str | Sequence[str], topk: int, return_scores: bool, mode: SearchMode | None
) -> dict[str, Any]:
    body: dict[str, Any] = {"queries": _as_list(queries), "topk": topk, "return_scores": return_scores}
    if mode is not None:
        body["mode"] = mode
    return body


def _search_args(query: str | Sequence[str], top_k: int | None, lang: str | None) -> dict[str, Any]:
    args: dict[str, Any] = {"query": _as_list(query)}
    if top_k is not None:
        args["top_k"] = top_k
    if lang is not None:
        args["lang"] = lang
    return args


def _batch_body(calls: Sequence[BatchCall]) -> dict[str, Any]:
    out = []
    for call in calls:
        if isinstance(call, tuple):
            name, arguments = call
            out.append({"tool": name, "arguments": dict(arguments)})
        else:
            out.append({"tool": call["tool"], "arguments": dict(call.get("arguments", {}))})
    return {"calls": out}


def _episode_body(
    question: str,
    answers: Sequence[str],
    seed: int | None,
    tools: Sequence[str] | None,
    max_turns: int | None,
    max_context_tokens: int | None,
    current_date: str | None,
) -> dict[str, Any]:
    body: dict[str, Any] = {"task": {"question": question, "answers": list(answers)}}
    optional = {
        "seed": seed,
        "tools": list(tools) if tools is not None else None,
        "max_turns": max_turns,
        "max_context_tokens": max_context_tokens,
        "current_date": current_date,
    }
    body.update({k: v for k, v in optional.items() if v is not None})
    return body


def _passages(body: Any) -> list[list[Passage]]:
    out = []
    for docs in body["result"]:
        row = []
        for doc in docs:
            document = doc.get("document", doc)
            row.append(Passage(id=document["id"], contents=document["contents"], score=doc.get("score")))
        out.append(row)
    return out


def parse_metrics(text: str) -> dict[str, float]:
    """Prometheus text exposition → ``{"name{labels}": value}`` (comments skipped)."""
    samples: dict[str, float] = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        name, _, value = line.rpartition(" ")
        try:
            samples[name] = float(value)
        except ValueError:
            continue
    return samples


class Client(_Common):
    """A blocking client for one simweb server; use it as a context manager or ``close()`` it.

    Args:
        base_url: the server, e.g. ``http://127.0.0.1:8080`` (default: ``$SIMWEB_URL``).
        api_key: sent as ``Authorization: Bearer`` (default: ``$SIMWEB_API_KEY``).
        client_id: ``X-Simweb-Client``, the key of per-client quotas when the server has
            no API keys.
        timeout: seconds per HTTP request.
        max_retries: retries of a 429/503 or a refused connection.
        max_retry_wait: the longest single wait between retries, in seconds.
        transport: an ``httpx`` transport (for tests or custom networking).
    """

    def __init__(
        self,
        base_url: str | None = None,
        *,
        api_key: str | None = None,
        client_id: str | None = None,
        timeout: float = 60.0,
        max_retries: int = 3,
        max_retry_wait: float = 30.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        super().__init__(base_url, api_key, client_id, timeout, max_retries, max_retry_wait)
        self._http = httpx.Client(
            base_url=self.base_url, headers=self.headers, timeout=timeout, transport=transport
        )

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def request(self, method: str, path: str, json: Any = None) -> Any:
        """One request with the retry rule; the decoded JSON (or text) of a 2xx answer."""
        attempt = 0
        while True:
            attempt += 1
            result: httpx.Response | httpx.HTTPError
            try:
                result = self._http.request(method, path, json=json)
            except httpx.HTTPError as e:
                result = e
            delay = self._next_delay(method, path, attempt, result)
            if delay is None:
                assert isinstance(result, httpx.Response)
                return self._decode(result)
            time.sleep(delay)

    # -- health -------------------------------------------------------------------
    def health(self) -> bool:
        """``GET /healthz``: the process is alive."""
        try:
            return self._http.get("/healthz").status_code == 200
        except httpx.HTTPError:
            return False

    def ready(self) -> Readiness:
        """``GET /readyz`` (a 503 is returned as ``ready=False`` with its reason)."""
        try:
            response = self._http.get("/readyz")
        except httpx.HTTPError as e:
            raise self._transport_error("GET", "/readyz", e) from e
        return self._readiness(response)

    def wait_ready(self, timeout: float = 60.0) -> Readiness:
        """Polls ``/readyz`` until ready; raises ``TimeoutError`` after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        last: Exception | str = "never answered"
        while time.monotonic() < deadline:
            try:
                readiness = self.ready()
                if readiness.ready:
                    return readiness
                last = readiness.reason or "not ready"
            except errors.SimwebError as e:
                last = e
            time.sleep(0.1)
        raise TimeoutError(f"{self.base_url} not ready after {timeout} s: {last}")

    def metrics(self) -> dict[str, float]:
        """``GET /metrics``, parsed: ``{"name{labels}": value}``."""
        return parse_metrics(self.request("GET", "/metrics"))

    def openapi(self) -> dict[str, Any]:
        """The server's OpenAPI 3.1 document."""
        result: dict[str, Any] = self.request("GET", "/openapi.json")
        return result

    # -- tools --------------------------------------------------------------------
    def tools(self) -> list[dict[str, Any]]:
        """OpenAI function-calling schemas of the tools, in registration order."""
        result: list[dict[str, Any]] = self.request("GET", "/v1/tools")["tools"]
        return result

    def call(self, tool: str, arguments: Mapping[str, Any] | None = None, **kwargs: Any) -> ToolResult:
        """Calls one tool: ``call("search", {"query": ["x"]})`` or ``call("search", query=["x"])``."""
        body = self.request("POST", f"/v1/tools/{tool}", _tool_body(arguments, kwargs))
        return ToolResult.from_json(body)

    def search(self, query: str | Sequence[str], *, top_k: int | None = None, lang: str | None = None) -> ToolResult:
        """The ``search`` tool: one query or several."""
        return self.call("search", _search_args(query, top_k, lang))

    def visit(self, url: str | Sequence[str], goal: str) -> ToolResult:
        """The ``visit`` tool: pages read with a goal, evidence and summary extracted."""
        return self.call("visit", {"url": _as_list(url), "goal": goal})

    def python(self, code: str) -> ToolResult:
        """The ``python`` tool: ``code`` in a fresh, isolated interpreter."""
        return self.call("python", {"code": code})

    def batch(self, calls: Sequence[BatchCall]) -> list[BatchItem]:
        """Several tool calls in one request, run concurrently; failures per item."""
        body = self.request("POST", "/v1/tools:batch", _batch_body(calls))
        return [BatchItem.from_json(item) for item in body["results"]]

    def retrieve(
        self,
        queries: str | Sequence[str],
        *,
        topk: int = 3,
        return_scores: bool = True,
        mode: SearchMode | None = None,
    ) -> list[list[Passage]]:
        """Search-R1's ``POST /retrieve``: whole passages per query. ``mode`` ranks by
        ``bm25``, ``dense`` or ``hybrid`` (the last two need a server started with
        ``--dense``); ``None`` leaves it to the server's default."""
        return _passages(self.request("POST", "/retrieve", _retrieve_body(queries, topk, return_scores, mode)))

    # -- episodes -----------------------------------------------------------------
    def create_episode(
        self,
        question: str,
        answers: Sequence[str] = (),
        *,
        seed: int | None = None,
        tools: Sequence[str] | None = None,
        max_turns: int | None = None,
        max_context_tokens: int | None = None,
        current_date: str | None = None,
    ) -> EpisodeCreated:
        """Starts an episode in Tongyi's ReAct protocol; the observation is its prompt."""
        body = _episode_body(question, answers, seed, tools, max_turns, max_context_tokens, current_date)
        return EpisodeCreated.from_json(self.request("POST", "/v1/episodes", body))

    def step(self, episode_id: str, action: str | Mapping[str, Any]) -> StepResult:
        """One assistant turn: raw text (``<tool_call>``/``<answer>``) or OpenAI tool calls."""
        body = {"action": action if isinstance(action, str) else dict(action)}
        return StepResult.from_json(self.request("POST", f"/v1/episodes/{episode_id}/step", body))

    def episode(self, episode_id: str) -> Episode:
        """The whole episode: conversation, steps, outcome."""
        return Episode.from_json(self.request("GET", f"/v1/episodes/{episode_id}"))


class AsyncClient(_Common):
    """The ``asyncio`` twin of :class:`Client`: same arguments, same methods, awaited."""

    def __init__(
        self,
        base_url: str | None = None,
        *,
        api_key: str | None = None,
        client_id: str | None = None,
        timeout: float = 60.0,
        max_retries: int = 3,
        max_retry_wait: float = 30.0,
        max_connections: int = 100,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        super().__init__(base_url, api_key, client_id, timeout, max_retries, max_retry_wait)
        self._http = httpx.AsyncClient(
            base_url=self.base_url,
            headers=self.headers,
            timeout=timeout,
            limits=httpx.Limits(max_connections=max_connections),
            transport=transport,
        )

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def request(self, method: str, path: str, json: Any = None) -> Any:
        """One request with the retry rule; the decoded JSON (or text) of a 2xx answer."""
        attempt = 0
        while True:
            attempt += 1
            result: httpx.Response | httpx.HTTPError
            try:
                result = await self._http.request(method, path, json=json)
            except httpx.HTTPError as e:
                result = e
            delay = self._next_delay(method, path, attempt, result)
            if delay is None:
                assert isinstance(result, httpx.Response)
                return self._decode(result)
            await asyncio.sleep(delay)

    async def health(self) -> bool:
        try:
            return (await self._http.get("/healthz")).status_code == 200
        except httpx.HTTPError:
            return False

    async def ready(self) -> Readiness:
        try:
            response = await self._http.get("/readyz")
        except httpx.HTTPError as e:
            raise self._transport_error("GET", "/readyz", e) from e
        return self._readiness(response)

    async def metrics(self) -> dict[str, float]:
        return parse_metrics(await self.request("GET", "/metrics"))

    async def openapi(self) -> dict[str, Any]:
        result: dict[str, Any] = await self.request("GET", "/openapi.json")
        return result

    async def tools(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = (await self.request("GET", "/v1/tools"))["tools"]
        return result

    async def call(self, tool: str, arguments: Mapping[str, Any] | None = None, **kwargs: Any) -> ToolResult:
        body = await self.request("POST", f"/v1/tools/{tool}", _tool_body(arguments, kwargs))
        return ToolResult.from_json(body)

    async def search(self, query: str | Sequence[str], *, top_k: int | None = None, lang: str | None = None) -> ToolResult:
        return await self.call("search", _search_args(query, top_k, lang))

    async def visit(self, url: str | Sequence[str], goal: str) -> ToolResult:
        return await self.call("visit", {"url": _as_list(url), "goal": goal})

    async def python(self, code: str) -> ToolResult:
        return await self.call("python", {"code": code})

    async def batch(self, calls: Sequence[BatchCall]) -> list[BatchItem]:
        body = await self.request("POST", "/v1/tools:batch", _batch_body(calls))
        return [BatchItem.from_json(item) for item in body["results"]]

    async def retrieve(
        self,
        queries: str | Sequence[str],
        *,
        topk: int = 3,
        return_scores: bool = True,
        mode: SearchMode | None = None,
    ) -> list[list[Passage]]:
        body = _retrieve_body(queries, topk, return_scores, mode)
        return _passages(await self.request("POST", "/retrieve", body))

    async def create_episode(
        self,
        question: str,
        answers: Sequence[str] = (),
        *,
        seed: int | None = None,
        tools: Sequence[str] | None = None,
        max_turns: int | None = None,
        max_context_tokens: int | None = None,
        current_date: str | None = None,
    ) -> EpisodeCreated:
        body = _episode_body(question, answers, seed, tools, max_turns, max_context_tokens, current_date)
        return EpisodeCreated.from_json(await self.request("POST", "/v1/episodes", body))

    async def step(self, episode_id: str, action: str | Mapping[str, Any]) -> StepResult:
        body = {"action": action if isinstance(action, str) else dict(action)}
        return StepResult.from_json(await self.request("POST", f"/v1/episodes/{episode_id}/step", body))

    async def episode(self, episode_id: str) -> Episode:
        return Episode.from_json(await self.request("GET", f"/v1/episodes/{episode_id}"))
