"""Gymnasium: ``SimwebEnv``, one simweb episode per ``reset``.

Observations and actions are text. ``reset`` starts an episode in Tongyi's ReAct
protocol and returns the question turn (the system prompt and the whole conversation
are in ``info["messages"]``); ``step(action)`` sends the model's raw turn
(``<tool_call>...</tool_call>`` or ``<answer>...</answer>``) and returns the tool
responses, the reward (1.0 for a correct answer), and whether the episode ended by an
answer (``terminated``) or by a limit (``truncated``). Step ``info`` holds only what the
same seed and actions reproduce (Gymnasium's ``check_env`` verifies it).

Tasks come from ``options={"task": {"question", "answers"}}`` or from the ``tasks``
given to the constructor, picked with the env's seeded ``np_random``: the same seed
gives the same task and, on the same corpus snapshot, the same observations.
"""

from __future__ import annotations

import string
from collections.abc import Mapping, Sequence
from typing import Any, SupportsFloat

import gymnasium
from gymnasium import spaces

from .client import Client
from .types import StepResult

#: Every printable code point of the Basic Multilingual Plane, so observations in any
#: language are inside the observation space.
_CHARSET = frozenset(chr(c) for c in range(0x20, 0xFFFF) if chr(c).isprintable()) | frozenset(
    string.whitespace
)


class SimwebEnv(gymnasium.Env[str, str]):
    """A Gymnasium environment over a simweb server's episode API.

    Args:
        tasks: ``{"question": ..., "answers": [...]}`` mappings to draw from on ``reset``.
        base_url: the server (default ``$SIMWEB_URL``); or pass ``client``.
        client: a :class:`simweb.Client` to use (not closed by ``close()``).
        max_turns: the episode's turn limit (default: the server's).
        tools: tool names offered to the model (default: the server's episode tools).
        max_length: the longest observation the space admits, in characters.
        max_action_length: the longest action (one model turn), in characters.
        render_mode: ``"ansi"`` renders the conversation so far as text.
    """

    metadata = {"render_modes": ["ansi"]}

    def __init__(
        self,
        tasks: Sequence[Mapping[str, Any]] = (),
        *,
        base_url: str | None = None,
        client: Client | None = None,
        max_turns: int | None = None,
        tools: Sequence[str] | None = None,
        max_length: int = 1_000_000,
        max_action_length: int = 16_384,
        render_mode: str | None = None,
    ) -> None:
        self.tasks = [dict(t) for t in tasks]
        self._owns_client = client is None
        self.client = client or Client(base_url)
        self.max_turns = max_turns
        self.tools = list(tools) if tools is not None else None
        self.render_mode = render_mode
        self.observation_space = spaces.Text(max_length=max_length, min_length=0, charset=_CHARSET)
        self.action_space = spaces.Text(max_length=max_action_length, min_length=1, charset=_CHARSET)
        self.episode_id: str | None = None
        self._transcript: list[str] = []

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[str, dict[str, Any]]:
        super().reset(seed=seed)
        options = options or {}
        task = options.get("task")
        if task is None:
            if not self.tasks:
                raise ValueError("no task: pass options={'task': {...}} or tasks=[...] to SimwebEnv")
            task = self.tasks[int(self.np_random.integers(len(self.tasks)))]
        # The server's episode seed follows the env's RNG, so a seeded reset is repeatable.
        episode_seed = int(self.np_random.integers(2**53))
        created = self.client.create_episode(
            task["question"],
            task.get("answers", ()),
            seed=episode_seed,
            tools=self.tools,
            max_turns=options.get("max_turns", self.max_turns),
        )
        self.episode_id = created.episode_id
        self._transcript = [f"[{m['role']}]\n{m['content']}" for m in created.observation]
        observation = str(created.observation[-1]["content"])
        info = {
            "episode_id": created.episode_id,
            "messages": created.observation,
            "tools": created.tools,
            "max_turns": created.max_turns,
            "task": dict(task),
        }
        return observation, info

    def step(self, action: str) -> tuple[str, SupportsFloat, bool, bool, dict[str, Any]]:
        if self.episode_id is None:
            raise RuntimeError("call reset() before step()")
        result: StepResult = self.client.step(self.episode_id, action)
        self._transcript.append(f"[assistant]\n{action}")
        if result.observation:
            self._transcript.append(f"[user]\n{result.observation}")
        # Only what the same seed and actions reproduce: the per-call `cached` flag is
        # the server cache's state, not the episode's (the id is `self.episode_id`).
        info = dict(result.info)
        info["calls"] = [{k: v for k, v in call.items() if k != "cached"} for call in info.get("calls", [])]
        return result.observation, result.reward, result.terminated, result.truncated, info

    def render(self) -> str | None:
        if self.render_mode == "ansi":
            return "\n\n".join(self._transcript)
        return None

    def close(self) -> None:
        if self._owns_client:
            self.client.close()
        super().close()


def register(env_id: str = "simweb/Research-v0") -> None:
    """Registers :class:`SimwebEnv` so ``gymnasium.make(env_id, base_url=..., tasks=...)`` works."""
    if env_id not in gymnasium.registry:
        gymnasium.register(id=env_id, entry_point="simweb.gym:SimwebEnv")
