"""Three real replicas behind a real nginx (Debian's, installed by ``make setup``) with
the configuration ``simweb.lb`` renders: tool calls spread, episodes keep their replica,
and the replicas' record logs, merged by ``simweb replay merge``, replay strict from
every replica with zero live work."""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import time
from collections import Counter
from collections.abc import Iterator, Mapping
from pathlib import Path

import httpx
import pytest

import simweb
from simweb.lb import nginx_config

REPLICAS = ("r1", "r2", "r3")
QUERIES = [
    "Albedo", "Ray Charles", "Anarchism", "Autism", "Alabama", "Achilles", "Abraham Lincoln",
    "Aristotle", "Academy Award", "Algeria", "Atlantic Ocean", "Apollo", "Andorra", "Alchemy",
    "Astronomy", "Agriculture", "Aluminium", "Amphibian", "Alphabet", "Architecture",
]  # fmt: skip
EPISODES = [
    ("What is albedo a measure of?", ["diffuse reflection"], "Albedo"),
    ("Which musician was nicknamed The Genius?", ["Ray Charles"], "Ray Charles"),
    ("What is anarchism?", ["a political philosophy"], "Anarchism"),
]


def _nginx() -> str:
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if not found:
        pytest.fail("nginx is not installed: `make setup` installs Debian's nginx-light")
    return found


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextlib.contextmanager
def nginx(replicas: Mapping[str, str], root: Path) -> Iterator[str]:
    """nginx in the foreground with ``simweb.lb``'s configuration; yields its URL."""
    root.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    (root / "simweb.conf").write_text(nginx_config(replicas, listen=f"127.0.0.1:{port}"), encoding="utf-8")
    (root / "nginx.conf").write_text(
        "daemon off;\nworker_processes 1;\n"
        f"pid {root}/nginx.pid;\nerror_log {root}/error.log warn;\n"
        "events { worker_connections 1024; }\n"
        "http {\n"
        f"  access_log off;\n  client_body_temp_path {root}/body;\n  proxy_temp_path {root}/proxy;\n"
        f"  fastcgi_temp_path {root}/fcgi;\n  uwsgi_temp_path {root}/uwsgi;\n  scgi_temp_path {root}/scgi;\n"
        f"  include {root}/simweb.conf;\n"
        "}\n",
        encoding="utf-8",
    )
    process = subprocess.Popen(
        [_nginx(), "-p", str(root), "-c", str(root / "nginx.conf")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 10
        while True:
            if process.poll() is not None:
                assert process.stderr is not None
                pytest.fail(f"nginx exited {process.returncode}: {process.stderr.read()}")
            try:
                httpx.get(f"{url}/healthz", timeout=1).raise_for_status()
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        yield url
    finally:
        process.terminate()
        process.wait(10)


@contextlib.contextmanager
def replicas(corpus: Path, root: Path, mode: str, log_for: Mapping[str, Path]) -> Iterator[dict[str, simweb.LocalServer]]:
    """One ``simweb serve --replica NAME`` per name, each with its own state and replay log."""
    servers: dict[str, simweb.LocalServer] = {}
    root.mkdir(parents=True, exist_ok=True)
    try:
        for name in REPLICAS:
            config = root / f"{name}.toml"
            config.write_text(f'[layers.replay]\nmode = "{mode}"\nlog = "{log_for[name]}"\n', encoding="utf-8")
            servers[name] = simweb.serve(
                corpus,
                state_dir=root / f"state-{name}",
                config=config,
                python=False,
                args=["--replica", name],
            )
        yield servers
    finally:
        for server in servers.values():
            server.stop()


def _addresses(servers: Mapping[str, simweb.LocalServer]) -> dict[str, str]:
    return {name: server.url.removeprefix("http://") for name, server in servers.items()}


def _search_all(http: httpx.Client) -> tuple[list[str], Counter[str]]:
    texts, answered_by = [], Counter[str]()
    for query in QUERIES:
        response = http.post("/v1/tools/search", json={"arguments": {"query": [query]}})
        response.raise_for_status()
        texts.append(response.json()["text"])
        answered_by[response.headers["x-simweb-replica"]] += 1
    return texts, answered_by


def _play_episodes(http: httpx.Client) -> list[tuple[str, float, str]]:
    """Creates every episode through the balancer, then plays them interleaved (search,
    then answer); returns (id, reward, search observation) per episode."""
    created = []
    for question, answers, _ in EPISODES:
        response = http.post("/v1/episodes", json={"task": {"question": question, "answers": answers}, "seed": 3})
        response.raise_for_status()
        episode_id = response.json()["episode_id"]
        # The replica that made it is in its id and in the response.
        assert episode_id.startswith(f"ep-{response.headers['x-simweb-replica']}-"), episode_id
        created.append(episode_id)
    observations = []
    for episode_id, (_, _, title) in zip(created, EPISODES):
        action = f'<tool_call>\n{{"name": "search", "arguments": {{"query": ["{title}"]}}}}\n</tool_call>'
        response = http.post(f"/v1/episodes/{episode_id}/step", json={"action": action})
        response.raise_for_status()
        assert episode_id.startswith(f"ep-{response.headers['x-simweb-replica']}-")
        observations.append(response.json()["observation"])
    results = []
    for episode_id, (_, answers, _), observation in zip(created, EPISODES, observations):
        response = http.post(f"/v1/episodes/{episode_id}/step", json={"action": f"<answer>{answers[0]}</answer>"})
        response.raise_for_status()
        body = response.json()
        assert body["terminated"] is True
        results.append((episode_id, float(body["reward"]), observation))
    return results


def _tool_work(server: simweb.LocalServer) -> dict[str, float]:
    """Calls by outcome (all tools together) from the replica's ``/metrics``."""
    with server.client() as client:
        samples = client.metrics()
    totals: dict[str, float] = {}
    for name, value in samples.items():
        if name.startswith("simweb_tool_calls_total{"):
            outcome = name.split('outcome="', 1)[1].split('"', 1)[0]
            totals[outcome] = totals.get(outcome, 0.0) + value
    return totals


def test_replicas_behind_nginx_spread_calls_keep_episodes_and_replay_from_a_merged_log(
    corpus: Path, tmp_path: Path
) -> None:
    logs = {name: tmp_path / f"record-{name}.jsonl" for name in REPLICAS}
    with replicas(corpus, tmp_path / "record", "record", logs) as servers:
        for name, server in servers.items():
            with server.client() as client:
                assert client.ready().replica == name
        with nginx(_addresses(servers), tmp_path / "nginx-record") as lb, httpx.Client(base_url=lb, timeout=60) as http:
            recorded_texts, answered_by = _search_all(http)
            # Stateless calls reach every replica.
            assert set(answered_by) == set(REPLICAS), answered_by
            recorded_episodes = _play_episodes(http)
            assert [reward for _, reward, _ in recorded_episodes] == [1.0, 1.0, 1.0]
            # Episodes were spread too, and each stayed on its own replica.
            first = recorded_episodes[0][0]
            owner = first.split("-")[1]
            other = next(name for name in REPLICAS if name != owner)
            # Asked of the wrong replica directly, an episode is a clear 404.
            misrouted = httpx.get(f"{servers[other].url}/v1/episodes/{first}")
            assert misrouted.status_code == 404 and f"belongs to replica `{owner}`" in misrouted.text
            # Through the balancer it is found wherever the request lands.
            assert http.get(f"/v1/episodes/{first}").status_code == 200
    assert all(log.stat().st_size > 0 for log in logs.values())

    # One merged log, the same bytes whatever the order of the inputs.
    merged, reversed_merge = tmp_path / "merged.jsonl", tmp_path / "merged-reversed.jsonl"
    binary = simweb.server.find_binary()
    names = list(REPLICAS)
    subprocess.run([binary, "replay", "merge", "--out", str(merged), *[str(logs[n]) for n in names]], check=True, capture_output=True)
    subprocess.run(
        [binary, "replay", "merge", "--out", str(reversed_merge), *[str(logs[n]) for n in reversed(names)]],
        check=True,
        capture_output=True,
    )
    assert merged.read_bytes() == reversed_merge.read_bytes()

    with replicas(corpus, tmp_path / "replay", "replay", {n: merged for n in REPLICAS}) as servers:
        with nginx(_addresses(servers), tmp_path / "nginx-replay") as lb, httpx.Client(base_url=lb, timeout=60) as http:
            replayed_texts, answered_by = _search_all(http)
            assert set(answered_by) == set(REPLICAS), answered_by
            assert replayed_texts == recorded_texts
            replayed_episodes = _play_episodes(http)
            assert [(r, o) for _, r, o in replayed_episodes] == [(r, o) for _, r, o in recorded_episodes]
        # Every replica answered from the merged log and did no tool work of its own.
        work = {name: _tool_work(server) for name, server in servers.items()}
        for name, outcomes in work.items():
            assert outcomes.get("replayed", 0) > 0, (name, outcomes)
            assert outcomes.get("miss", 0) == 0 and outcomes.get("hit", 0) == 0, (name, outcomes)


def test_replay_merge_refuses_conflicting_recordings(tmp_path: Path) -> None:
    line = '{{"v":1,"key":"k1","tool":"search","args":{{}},"outcome":{{"ok":{{"text":"{}","data":null}}}}}}\n'
    a, b, out = tmp_path / "a.jsonl", tmp_path / "b.jsonl", tmp_path / "out.jsonl"
    a.write_text(line.format("one"), encoding="utf-8")
    b.write_text(line.format("two"), encoding="utf-8")
    done = subprocess.run(
        [simweb.server.find_binary(), "replay", "merge", "--out", str(out), str(a), str(b)],
        capture_output=True,
        text=True,
    )
    assert done.returncode != 0
    assert "recorded with different results" in done.stderr and str(a) in done.stderr and str(b) in done.stderr
    assert not out.exists()


def test_the_committed_compose_balancer_config_is_the_rendered_one() -> None:
    committed = Path(__file__).resolve().parents[2] / "deploy" / "nginx" / "simweb.conf"
    rendered = nginx_config({f"r{i}": f"simweb-{i}:8080" for i in (1, 2, 3)}, listen="8080")
    assert committed.read_text(encoding="utf-8") == rendered, "re-render deploy/nginx/simweb.conf with `python -m simweb.lb`"
    with pytest.raises(ValueError, match="a-z and 0-9"):
        nginx_config({"R1": "h:1"})
