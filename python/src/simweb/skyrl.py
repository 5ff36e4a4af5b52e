"""SkyRL-gym: ``SimwebTextEnv``, a ``BaseTextEnv`` over simweb's episode API.

SkyRL's generator builds each env as ``skyrl_gym.make(env_class, env_config=...,
extras=...)``: ``env_config`` is the ``environment.skyrl_gym.<env_class>`` block, and a
plain empty ``dict`` for env classes SkyRL does not know, so everything this env needs
can also come from the sample's ``extras`` or the environment:

- the server: ``extras["simweb_url"]``, else ``env_config["base_url"]``, else ``$SIMWEB_URL``;
- the question: ``extras["question"]`` (or ``extras["extra_info"]["question"]``), else the
  last user message of the prompt;
- the gold answers: ``extras["reward_spec"]["ground_truth"]`` (a string, a list, or
  ``{"target": ...}`` as SkyRL's QA datasets store it), or ``extras["answers"]``;
- the turn limit: ``extras["max_turns"]`` (SkyRL sets it), else the server's.

``init`` starts the episode and returns simweb's conversation (Tongyi's system prompt,
which defines the ``<tool_call>`` / ``<answer>`` protocol the env parses, and the
question); ``step`` forwards the model's turn and returns the tool responses as a user
message, the reward (1.0 for a correct answer) and ``done``. The env is synchronous, as
SkyRL's generator runs envs in a thread pool.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

# skyrl-gym ships no type information.
import skyrl_gym  # type: ignore[import-untyped]
from skyrl_gym.envs.base_text_env import (  # type: ignore[import-untyped]
    BaseTextEnv,
    BaseTextEnvStepOutput,
    ConversationType,
)

from .client import Client

ENV_ID = "simweb"


def _get(config: Any, key: str) -> Any:
    """A key of a dict, an OmegaConf ``DictConfig`` or a dataclass config."""
    if config is None:
        return None
    if isinstance(config, Mapping):
        return config.get(key)
    getter = getattr(config, "get", None)
    if callable(getter):
        return getter(key)
    return getattr(config, key, None)


def gold_answers(extras: Mapping[str, Any]) -> list[str]:
    """The gold answers of a SkyRL sample (see the module doc for where they are read)."""
    truth: Any = (extras.get("reward_spec") or {}).get("ground_truth")
    if isinstance(truth, Mapping):
        truth = truth.get("target")
    if truth is None:
        truth = extras.get("answers", [])
    if isinstance(truth, str):
        return [truth]
    return [str(t) for t in truth]


class SimwebTextEnv(BaseTextEnv):  # type: ignore[misc]
    """A SkyRL text env whose every turn is one step of a simweb episode."""

    def __init__(self, env_config: Any = None, extras: Mapping[str, Any] | None = None) -> None:
        super().__init__()
        self.extras = dict(extras or {})
        base_url = self.extras.get("simweb_url") or _get(env_config, "base_url") or os.environ.get("SIMWEB_URL")
        self.client = Client(base_url, api_key=_get(env_config, "api_key"))
        self.answers = gold_answers(self.extras)
        limit = self.extras.get("max_turns")
        self.max_turns = int(limit) if limit is not None else 0
        self.episode_id: str | None = None
        self.tool_calls = 0
        self.last_reward = 0.0

    def _question(self, prompt: ConversationType) -> str:
        extra_info = self.extras.get("extra_info") or {}
        question = self.extras.get("question") or extra_info.get("question")
        if question:
            return str(question)
        for message in reversed(prompt or []):
            if message.get("role") == "user" and message.get("content"):
                return str(message["content"])
        raise ValueError("SimwebTextEnv: no question in extras and no user message in the prompt")

    def init(self, prompt: ConversationType) -> tuple[ConversationType, dict[str, Any]]:
        created = self.client.create_episode(
            self._question(prompt),
            self.answers,
            seed=self.extras.get("seed"),
            max_turns=self.max_turns or None,
        )
        self.episode_id = created.episode_id
        self.max_turns = created.max_turns
        conversation = [{"role": str(m["role"]), "content": str(m["content"])} for m in created.observation]
        return conversation, {"episode_id": created.episode_id, "tools": created.tools}

    def step(self, action: str) -> BaseTextEnvStepOutput:
        if self.episode_id is None:
            raise RuntimeError("SimwebTextEnv.step before init")
        result = self.client.step(self.episode_id, action)
        self.turns = result.turn
        self.tool_calls += len(result.calls)
        self.last_reward = result.reward
        observations = [{"role": "user", "content": result.observation}] if result.observation else []
        metadata = dict(result.info)
        metadata["episode_id"] = self.episode_id
        return BaseTextEnvStepOutput(
            observations=observations, reward=result.reward, done=result.done, metadata=metadata
        )

    def get_metrics(self) -> dict[str, Any]:
        return {"turns": self.turns, "tool_calls": self.tool_calls, "reward": self.last_reward}

    def close(self) -> None:
        self.client.close()


def register(env_id: str = ENV_ID) -> None:
    """Registers the env so ``skyrl_gym.make(env_id, env_config=..., extras=...)`` builds it."""
    if env_id not in skyrl_gym.envs.registration.registry:
        skyrl_gym.register(id=env_id, entry_point="simweb.skyrl:SimwebTextEnv")
