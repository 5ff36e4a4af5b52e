"""A scripted agent in a Gymnasium loop over simweb's episode API.

python examples/gymnasium_episode.py   (needs `pip install ./python[gym]`)
"""

from __future__ import annotations

import gymnasium

import simweb.gym

SCRIPT = [
    '<tool_call>\n{"name": "search", "arguments": {"query": ["Albedo"]}}\n</tool_call>',
    '<tool_call>\n{"name": "visit", "arguments": {"url": ["https://en.wikipedia.org/wiki/Albedo"], '
    '"goal": "What does albedo measure?"}}\n</tool_call>',
    "<answer>diffuse reflection</answer>",
]


def main() -> None:
    simweb.gym.register()
    env = gymnasium.make(
        "simweb/Research-v0",
        tasks=[{"question": "What is albedo a measure of?", "answers": ["diffuse reflection"]}],
    )
    observation, info = env.reset(seed=0)
    print(observation)
    for action in SCRIPT:
        observation, reward, terminated, truncated, info = env.step(action)
        print(f"reward={reward} terminated={terminated} truncated={truncated}: {observation[:200]!r}")
        if terminated or truncated:
            break
    env.close()


if __name__ == "__main__":
    main()
