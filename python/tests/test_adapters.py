"""Each adapter driven the way its framework drives it, against the real server.

Gymnasium and SkyRL-gym are the real packages (pinned, hash-checked in
scripts/requirements.txt). verl does not install within CI's budget (it needs torch and
ray to import its tool base class): its adapter runs against the stand-in of
``tests/contract/`` (which states the upstream file and commit) through verl's own
loading and calling sequence.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import simweb

QUESTION = "What is albedo a measure of?"
ANSWER = "diffuse reflection"
SEARCH = '<tool_call>\n{"name": "search", "arguments": {"query": ["Albedo"]}}\n</tool_call>'
VISIT = (
    '<tool_call>\n{"name": "visit", "arguments": {"url": ["https://en.wikipedia.org/wiki/Albedo"], '
    '"goal": "What does albedo measure?"}}\n</tool_call>'
)

# ----------------------------------------------------------------------------- Gymnasium


def test_gymnasium_episode_search_visit_answer(url: str) -> None:
    import gymnasium
    from gymnasium.utils.env_checker import check_env

    import simweb.gym

    simweb.gym.register()
    env = gymnasium.make(
        "simweb/Research-v0", base_url=url, tasks=[{"question": QUESTION, "answers": [ANSWER]}]
    ).unwrapped
    assert isinstance(env, simweb.gym.SimwebEnv)
    obs, info = env.reset(seed=3)
    first_obs = obs
    assert QUESTION in obs and env.observation_space.contains(obs)
    assert info["messages"][0]["role"] == "system" and info["episode_id"].startswith("ep-")

    obs, reward, terminated, truncated, info = env.step(SEARCH)
    assert "<tool_response>" in obs and "Albedo" in obs and env.observation_space.contains(obs)
    assert (reward, terminated, truncated) == (0.0, False, False)
    obs, reward, terminated, truncated, info = env.step(VISIT)
    assert "Evidence in page" in obs and not terminated
    obs, reward, terminated, truncated, info = env.step(f"<answer>{ANSWER}</answer>")
    assert (reward, terminated, truncated) == (1.0, True, False)
    assert info["prediction"] == ANSWER and info["end_reason"] == "answer"

    # Same seed, same first observation; a wrong answer scores 0.
    again, info_again = env.reset(seed=3)
    assert again == first_obs and info_again["task"]["question"] == QUESTION
    _, reward, terminated, _, _ = env.step("<answer>the colour of the sky</answer>")
    assert reward == 0.0 and terminated
    env.close()

    # Gymnasium's own checker (API shape, seeding determinism, spaces).
    checked = simweb.gym.SimwebEnv([{"question": QUESTION, "answers": [ANSWER]}], base_url=url)
    check_env(checked, skip_render_check=True)
    checked.close()


def test_gymnasium_seeded_resets_are_repeatable(url: str) -> None:
    import simweb.gym

    tasks = [{"question": f"Question number {i}?", "answers": ["x"]} for i in range(5)]
    env = simweb.gym.SimwebEnv(tasks, base_url=url, max_turns=3)
    first = [env.reset(seed=s)[0] for s in (1, 2, 3)]
    second = [env.reset(seed=s)[0] for s in (1, 2, 3)]
    assert first == second and len(set(first)) > 1
    truncated = False
    env.reset(seed=9)
    for _ in range(3):
        _, _, terminated, truncated, info = env.step(SEARCH)
        if terminated or truncated:
            break
    assert truncated and info["end_reason"] == "max_turns"
    env.close()


# ----------------------------------------------------------------------------------- verl


@pytest.fixture()
def verl_stand_in(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.syspath_prepend(str(Path(__file__).parent / "contract"))
    for name in [m for m in sys.modules if m == "verl" or m.startswith("verl.") or m == "simweb.verl"]:
        monkeypatch.delitem(sys.modules, name)
    yield


def _load_verl_tools(config_path: Path) -> list[Any]:
    """What verl's ``initialize_tools_from_config`` does with a tool config file."""
    from omegaconf import OmegaConf
    from verl.tools.schemas import OpenAIFunctionToolSchema

    tools_config = OmegaConf.load(config_path)
    tools = []
    for tool_config in tools_config.tools:
        module_name, class_name = tool_config.class_name.rsplit(".", 1)
        cls = getattr(importlib.import_module(module_name), class_name)
        assert tool_config.config.type == "native"
        schema_dict = OmegaConf.to_container(tool_config.tool_schema, resolve=True) if tool_config.get("tool_schema") else None
        schema = OpenAIFunctionToolSchema.model_validate(schema_dict) if schema_dict else None
        tools.append(cls(config=OmegaConf.to_container(tool_config.config, resolve=True), tool_schema=schema))
    return tools


async def _verl_call(tool: Any, arguments: str) -> tuple[Any, float, dict[str, Any]]:
    """What verl's ``ToolAgentLoop._call_tool`` does for one call."""
    instance_id, _ = await tool.create(create_kwargs={})
    try:
        return await tool.execute(instance_id, json.loads(arguments), agent_data=None)  # type: ignore[no-any-return]
    finally:
        await tool.release(instance_id)


def test_verl_tools_from_the_shipped_config(verl_stand_in: None, url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIMWEB_URL", url)
    import simweb.verl

    tools = {t.name: t for t in _load_verl_tools(simweb.verl.TOOL_CONFIG)}
    assert sorted(tools) == ["PythonInterpreter", "search", "visit"]
    assert tools["search"].config["base_url"] == url

    async def run() -> list[tuple[Any, float, dict[str, Any]]]:
        calls = await asyncio.gather(
            _verl_call(tools["search"], '{"query": ["Albedo of snow"]}'),
            _verl_call(tools["visit"], '{"url": ["https://en.wikipedia.org/wiki/Albedo"], "goal": "What is albedo?"}'),
            _verl_call(tools["PythonInterpreter"], '{"code": "print(6 * 7)"}'),
            _verl_call(tools["search"], '{"query": 5}'),
        )
        for tool in tools.values():
            await tool.aclose()
        return list(calls)

    searched, visited, ran, refused = asyncio.run(run())
    assert "Albedo" in searched[0].text and searched[1] == 0.0 and "cached" in searched[2]
    assert "Evidence in page" in visited[0].text
    assert ran[0].text.startswith("stdout:\n42")
    assert refused[0].text.startswith("[search] invalid_request") and refused[2] == {"error": "invalid_request"}


def test_verl_shipped_schemas_are_the_servers_flattened(verl_stand_in: None, client: simweb.Client) -> None:
    from omegaconf import OmegaConf
    from verl.tools.schemas import OpenAIFunctionToolSchema

    import simweb.verl

    server = {s["function"]["name"]: s for s in client.tools()}
    shipped = OmegaConf.to_container(OmegaConf.load(simweb.verl.TOOL_CONFIG), resolve=False)
    assert isinstance(shipped, dict)
    for entry in shipped["tools"]:
        schema = entry["tool_schema"]
        name = schema["function"]["name"]
        assert schema == simweb.verl.flatten_schema(server[name]), name
        # verl's model keeps every key of the flattened schema (nothing silently dropped).
        dumped = OpenAIFunctionToolSchema.model_validate(schema).model_dump(exclude_none=True)
        assert dumped["function"]["parameters"] == schema["function"]["parameters"], name
    url_prop = simweb.verl.flatten_schema(server["visit"])["function"]["parameters"]["properties"]["url"]
    assert url_prop["type"] == "array" and "array of string" in url_prop["description"]


def test_verl_schema_from_the_server_when_the_config_has_none(verl_stand_in: None, url: str) -> None:
    import simweb.verl

    tool = simweb.verl.SimwebVisitTool(config={"type": "native", "base_url": url}, tool_schema=None)
    assert tool.name == "visit"
    assert tool.tool_schema.function.parameters.required == ["url", "goal"]


# ------------------------------------------------------------------------------ SkyRL-gym


def test_skyrl_env_through_skyrl_gym_make(url: str) -> None:
    import skyrl_gym  # type: ignore[import-untyped]
    from skyrl_gym.envs.base_text_env import BaseTextEnv  # type: ignore[import-untyped]

    import simweb.skyrl

    simweb.skyrl.register()
    # As SkyRL's generator builds an env of a class it has no config for: an empty dict.
    extras = {
        "reward_spec": {"method": "rule", "ground_truth": {"target": [ANSWER]}},
        "simweb_url": url,
        "max_turns": 4,
    }
    env = skyrl_gym.make("simweb", env_config={}, extras=extras)
    assert isinstance(env, BaseTextEnv)
    prompt = [{"role": "user", "content": QUESTION}]
    conversation, info = env.init(prompt)
    assert conversation[0]["role"] == "system" and conversation[-1]["content"].endswith(QUESTION)
    out = env.step(SEARCH)
    assert not out["done"] and out["reward"] == 0.0
    assert out["observations"][0]["role"] == "user" and "<tool_response>" in out["observations"][0]["content"]
    out = env.step(f"<answer>{ANSWER}</answer>")
    assert out["done"] and out["reward"] == 1.0 and out["observations"] == []
    assert env.get_metrics() == {"turns": 2, "tool_calls": 1, "reward": 1.0}
    env.close()


def test_skyrl_env_reads_the_server_from_the_environment(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import skyrl_gym

    import simweb.skyrl

    simweb.skyrl.register()
    monkeypatch.setenv("SIMWEB_URL", url)
    env = skyrl_gym.make("simweb", env_config={}, extras={"reward_spec": {"ground_truth": ANSWER}})
    env.init([{"role": "user", "content": QUESTION}])
    out = env.step("<answer>something else</answer>")
    assert out["done"] and out["reward"] == 0.0
    env.close()
