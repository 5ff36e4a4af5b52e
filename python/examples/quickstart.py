"""The client in a few lines: search, read a page, run code, play one episode.

Run against `make run`'s server (or set SIMWEB_URL): python examples/quickstart.py
"""

from __future__ import annotations

import simweb


def main() -> None:
    with simweb.Client() as client:  # $SIMWEB_URL, default http://127.0.0.1:8080
        print(client.search("Albedo of snow", top_k=3).text[:400])
        print(client.visit("https://en.wikipedia.org/wiki/Albedo", goal="What is albedo?").text[:400])
        print(client.python("print(sum(range(10)))").text)

        episode = client.create_episode("What is albedo a measure of?", ["diffuse reflection"], seed=1)
        step = client.step(
            episode.episode_id,
            '<tool_call>\n{"name": "search", "arguments": {"query": ["Albedo"]}}\n</tool_call>',
        )
        print(step.observation[:300])
        final = client.step(episode.episode_id, "<answer>diffuse reflection</answer>")
        print("reward:", final.reward, "ended by:", final.end_reason)


if __name__ == "__main__":
    main()
