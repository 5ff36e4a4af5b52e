"""Typed results of the native API.

Each dataclass mirrors one response object of ``/openapi.json`` and keeps the decoded
JSON in ``raw``, so a field the server adds later is still reachable without a client
upgrade. ``from_json`` is strict about the fields it types: a missing one raises
``KeyError`` naming it, which means client and server disagree.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


def _obj(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


@dataclass(frozen=True)
class ToolResult:
    """One tool call's answer (``POST /v1/tools/{name}``)."""

    tool: str
    #: Exactly what an agent sees.
    text: str
    #: The structured result (hits, page, run outcome, ...).
    data: dict[str, Any]
    cached: bool
    replayed: bool
    #: Server-side time of the call; not part of any deterministic output.
    elapsed_ms: float
    raw: dict[str, Any] = field(repr=False, compare=False, default_factory=dict)

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> ToolResult:
        return cls(
            tool=body["tool"],
            text=body["text"],
            data=_obj(body["data"]),
            cached=bool(body["cached"]),
            replayed=bool(body.get("replayed", False)),
            elapsed_ms=float(body.get("elapsed_ms", 0.0)),
            raw=body,
        )


@dataclass(frozen=True)
class BatchItem:
    """One call of ``POST /v1/tools:batch``; failures are per item, not exceptions."""

    tool: str
    ok: bool
    #: The HTTP status this call alone would have had.
    status: int
    text: str | None
    data: dict[str, Any] | None
    cached: bool
    #: The server's error kind and message when ``ok`` is false.
    error_kind: str | None
    error_message: str | None

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> BatchItem:
        error = body.get("error") or {}
        return cls(
            tool=body["tool"],
            ok=bool(body["ok"]),
            status=int(body["status"]),
            text=body.get("text"),
            data=body.get("data"),
            cached=bool(body.get("cached", False)),
            error_kind=error.get("kind"),
            error_message=error.get("message"),
        )


@dataclass(frozen=True)
class Passage:
    """One retrieved passage (``POST /retrieve``): Search-R1's ``"Title"\\ntext``."""

    id: str
    contents: str
    score: float | None

    @property
    def title(self) -> str:
        first = self.contents.split("\n", 1)[0]
        return first.strip('"')

    @property
    def text(self) -> str:
        parts = self.contents.split("\n", 1)
        return parts[1] if len(parts) == 2 else ""


@dataclass(frozen=True)
class Readiness:
    """``GET /readyz``."""

    ready: bool
    snapshot_id: str
    documents: int
    tools: list[str]
    python: bool
    reason: str | None
    #: The server's ``--replica`` name behind a load balancer (None when unnamed).
    replica: str | None = None
    #: What tool results and replay records are keyed by: the corpus snapshot, plus the
    #: dense index and its search settings when one is attached (None from older servers).
    tools_snapshot_id: str | None = None

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> Readiness:
        return cls(
            ready=bool(body["ready"]),
            snapshot_id=body["snapshot_id"],
            documents=int(body["documents"]),
            tools=list(body["tools"]),
            python=bool(body["python"]),
            reason=body.get("reason"),
            replica=body.get("replica"),
            tools_snapshot_id=body.get("tools_snapshot_id"),
        )


@dataclass(frozen=True)
class CallRecord:
    """One tool call inside an episode step, as the trajectory records it."""

    name: str | None
    arguments: dict[str, Any] | None
    observation: str
    error: str | None
    cached: bool

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> CallRecord:
        return cls(
            name=body.get("name"),
            arguments=body.get("arguments"),
            observation=body.get("observation", ""),
            error=body.get("error"),
            cached=bool(body.get("cached", False)),
        )


@dataclass(frozen=True)
class Score:
    """A prediction scored against the task's gold answers (best over them)."""

    exact_match: float
    f1: float

    @classmethod
    def from_json(cls, body: Any) -> Score | None:
        if not isinstance(body, dict):
            return None
        return cls(exact_match=float(body["exact_match"]), f1=float(body["f1"]))


@dataclass(frozen=True)
class EpisodeCreated:
    """``POST /v1/episodes``: the id and the conversation so far (system + question)."""

    episode_id: str
    #: OpenAI-style messages: ``[{"role": "system", ...}, {"role": "user", ...}]``.
    observation: list[dict[str, Any]]
    tools: list[str]
    max_turns: int

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> EpisodeCreated:
        return cls(
            episode_id=body["episode_id"],
            observation=list(body["observation"]),
            tools=list(body["tools"]),
            max_turns=int(body["max_turns"]),
        )


@dataclass(frozen=True)
class StepResult:
    """``POST /v1/episodes/{id}/step``: Gymnasium's five facts, the info typed."""

    #: The next user turn (``<tool_response>`` blocks); empty when the episode ended.
    observation: str
    reward: float
    terminated: bool
    truncated: bool
    turn: int
    calls: list[CallRecord]
    prediction: str | None
    score: Score | None
    end_reason: str | None
    forced_answer: bool
    approx_context_tokens: int
    #: The server's ``info`` object as sent.
    info: dict[str, Any] = field(repr=False, compare=False, default_factory=dict)

    @property
    def done(self) -> bool:
        return self.terminated or self.truncated

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> StepResult:
        info = _obj(body["info"])
        return cls(
            observation=body["observation"],
            reward=float(body["reward"]),
            terminated=bool(body["terminated"]),
            truncated=bool(body["truncated"]),
            turn=int(info["turn"]),
            calls=[CallRecord.from_json(c) for c in info.get("calls", [])],
            prediction=info.get("prediction"),
            score=Score.from_json(info.get("score")),
            end_reason=info.get("end_reason"),
            forced_answer=bool(info.get("forced_answer", False)),
            approx_context_tokens=int(info.get("approx_context_tokens", 0)),
            info=info,
        )


@dataclass(frozen=True)
class Episode:
    """``GET /v1/episodes/{id}``: settings, conversation, steps and outcome."""

    id: str
    seed: int
    question: str
    answers: list[str]
    tools: list[str]
    max_turns: int
    messages: list[dict[str, Any]]
    steps: list[dict[str, Any]]
    #: ``running``, ``terminated`` or ``truncated``.
    status: str
    end_reason: str | None
    prediction: str | None
    score: Score | None
    raw: dict[str, Any] = field(repr=False, compare=False, default_factory=dict)

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> Episode:
        task = _obj(body["task"])
        return cls(
            id=body["id"],
            seed=int(body["seed"]),
            question=task.get("question", ""),
            answers=list(task.get("answers", [])),
            tools=list(body["tools"]),
            max_turns=int(body["max_turns"]),
            messages=list(body["messages"]),
            steps=list(body["steps"]),
            status=body["status"],
            end_reason=body.get("end_reason"),
            prediction=body.get("prediction"),
            score=Score.from_json(body.get("score")),
            raw=body,
        )
