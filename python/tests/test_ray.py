"""``simweb.ray`` on a real local Ray cluster: a head and two more nodes on this machine
(``ray.cluster_utils.Cluster``), one ``simweb serve`` per node over the session corpus.

Scripted rollouts run as Ray tasks pinned to the nodes; each finds its node's server
through ``Endpoints`` and plays a rewarded episode over the native API. Their rewards
must equal those of the same rollouts against one plain ``simweb.serve`` server, before
and after one node's server is SIGKILLed mid-batch.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import pickle
import shutil
import signal
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Before Ray is imported: keep every Ray address on loopback (Ray otherwise advertises
# the address of the default route, and this test must only talk to 127.0.0.1), and no
# usage-stats report. The cluster's processes inherit the same environment.
os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
os.environ.setdefault("RAY_ACCEL_ENV_VAR_OVERRIDE_ON_ZERO", "0")

import pytest  # noqa: E402
import ray  # noqa: E402
from ray.cluster_utils import Cluster  # noqa: E402
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy  # noqa: E402

import simweb  # noqa: E402
import simweb.ray  # noqa: E402

NODES = 3
#: The injected latency of every `visit` on the Ray replicas: long enough for the test
#: to SIGKILL a server while one `visit` is in flight (only the probe rollout visits).
VISIT_LATENCY_MS = 3000
ALBEDO = "https://en.wikipedia.org/wiki/Albedo"

# (question, gold answers, search query) from the sample corpus; each is played with
# the gold answer, the same in capitals (exact match normalises case) and a wrong one.
TOPICS = [
    ("What is albedo a measure of?", ["diffuse reflection"], "Albedo of snow"),
    ("What instrument did Ray Charles play?", ["piano"], "Ray Charles"),
    ("What does anarchism reject?", ["hierarchy"], "Anarchism"),
    ("数学研究什么？", ["数学"], "数学"),
]


@dataclass(frozen=True)
class Spec:
    index: int
    question: str
    answers: list[str]
    query: str
    given: str


SPECS = [
    Spec(len(TOPICS) * k + t, question, answers, query, given)
    for t, (question, answers, query) in enumerate(TOPICS)
    for k, given in enumerate([answers[0], answers[0].upper(), "no idea"])
]


@dataclass(frozen=True)
class Outcome:
    """What one rollout produced and where it ran."""

    index: int
    reward: float
    f1: float
    search: str  # sha256 of the search step's observation
    node: str = ""
    url: str = ""

    def result(self) -> tuple[int, float, float, str]:
        """The part that must not depend on which server played it."""
        return (self.index, self.reward, self.f1, self.search)


def play(client: simweb.Client, spec: Spec, probe: Any = None) -> Outcome:
    """One scripted ReAct episode: a search in Tongyi's text format, then an answer.

    ``probe`` (the Gate actor) marks the rollout the test kills a server under: it
    reports each attempt, then makes a slow `visit` for the kill to land in. The report
    is fire-and-forget: waiting on it would lend this task's CPU to the next rollout of
    the node, whose requests could then be the ones in flight when the server dies."""
    created = client.create_episode(spec.question, spec.answers, seed=spec.index, max_turns=4)
    call = '{"name": "search", "arguments": {"query": ["%s"]}}' % spec.query
    searched = client.step(created.episode_id, f"<tool_call>\n{call}\n</tool_call>")
    assert not searched.done, searched
    if probe is not None:
        probe.arrive.remote(spec.index)
        client.visit(ALBEDO, "What is albedo?")
    answered = client.step(created.episode_id, f"<answer>{spec.given}</answer>")
    assert answered.terminated and answered.score is not None, answered
    digest = hashlib.sha256(str(searched.observation).encode()).hexdigest()
    return Outcome(spec.index, answered.reward, answered.score.f1, digest)


# Ray's stubs type retry_exceptions as a bool; a list of exception types is documented.
@ray.remote(num_cpus=1, max_retries=2, retry_exceptions=[simweb.SimwebError])  # type: ignore[call-overload, untyped-decorator]
def rollout(endpoints: simweb.ray.Endpoints, spec: Spec, probe: Any = None) -> Outcome:
    """A rollout task: finds the server of its node (or a live fallback) per attempt,
    with no client-side retries, so a server that dies under it fails the attempt and
    Ray retries the whole rollout."""
    node = ray.get_runtime_context().get_node_id()
    with endpoints.client(probe_timeout=5.0, max_retries=0, timeout=30) as client:
        outcome = play(client, spec, probe)
        return dataclasses.replace(outcome, node=node, url=client.base_url)


@ray.remote(num_cpus=0)
class Gate:
    """Counts the attempts of probe rollouts (async actor: calls never block each other)."""

    def __init__(self) -> None:
        self.attempts: dict[int, int] = {}

    async def arrive(self, index: int) -> None:
        self.attempts[index] = self.attempts.get(index, 0) + 1

    async def seen(self) -> dict[int, int]:
        return dict(self.attempts)


def run_batch(
    nodes: list[str], endpoints: simweb.ray.Endpoints, probe_node: str | None = None, probe: Any = None
) -> tuple[list[Any], int | None]:
    """Submits every spec, round-robin over ``nodes`` (soft affinity: still placed if
    that node were gone); the first rollout on ``probe_node`` gets the probe."""
    refs, probed = [], None
    for spec in SPECS:
        node = nodes[spec.index % len(nodes)]
        use_probe = None
        if node == probe_node and probed is None:
            probed, use_probe = spec.index, probe
        strategy = NodeAffinitySchedulingStrategy(node, soft=True)
        refs.append(rollout.options(scheduling_strategy=strategy).remote(endpoints, spec, use_probe))
    return refs, probed


def wait_until(what: str, check: Callable[[], Any], timeout: float = 60.0) -> Any:
    """Polls ``check`` until it returns something true; fails after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def stored_episodes(url: str) -> float:
    with simweb.Client(url) as client:
        return client.metrics()["simweb_episodes_stored"]


# -- fixtures ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def cluster() -> Iterator[list[str]]:
    """Head + 2 nodes, 1 CPU and 80 MiB of object store each; yields the sorted node ids.

    The workers import this module and the package from the source tree, like pytest.
    Ray's session files go to a fresh directory under /tmp, removed afterwards (its
    socket paths must stay under the 107-byte limit, which pytest's tmp_path can break).
    """
    here = Path(__file__).resolve().parent
    path = [str(here.parent / "src"), str(here), os.environ.get("PYTHONPATH", "")]
    temp = tempfile.mkdtemp(prefix="simweb-ray-", dir="/tmp")
    # `Cluster` also writes the head's address under $RAY_TMPDIR/ray (default /tmp/ray,
    # which a fresh machine lacks): keep that inside the session's directory too.
    os.makedirs(os.path.join(temp, "ray"), exist_ok=True)
    with pytest.MonkeyPatch.context() as env:
        env.setenv("RAY_TMPDIR", temp)
        env.setenv("PYTHONPATH", os.pathsep.join(p for p in path if p))
        node: dict[str, Any] = {"num_cpus": 1, "object_store_memory": 80 * 1024 * 1024, "temp_dir": temp}
        local = Cluster(initialize_head=True, head_node_args={**node, "include_dashboard": False})
        try:
            for _ in range(NODES - 1):
                local.add_node(**node)
            ray.init(address=local.address, include_dashboard=False)
            local.wait_for_nodes()
            ids = sorted(n["NodeID"] for n in ray.nodes() if n["Alive"])
            assert len(ids) == NODES
            yield ids
        finally:
            ray.shutdown()
            local.shutdown()  # type: ignore[no-untyped-call]
            shutil.rmtree(temp, ignore_errors=True)


@pytest.fixture(scope="module")
def deployment(
    cluster: list[str], corpus: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[simweb.ray.SimwebDeployment]:
    root = tmp_path_factory.mktemp("ray")
    config = root / "simweb.toml"
    config.write_text(
        f"[layers.faults.tools.visit]\nlatency_rate = 1.0\nlatency_ms = {VISIT_LATENCY_MS}\n", encoding="utf-8"
    )
    started = time.monotonic()
    deployed = simweb.ray.deploy(
        corpus,
        binary=simweb.server.find_binary(),
        expected_snapshot=simweb.ray.read_snapshot_id(corpus),
        serve_args=["--config", str(config)],
        python=False,
        state_root=root / "state",
        ready_timeout=60,
    )
    print(f"deployed on {len(deployed.replicas)} nodes in {time.monotonic() - started:.1f} s")
    pids = ray.get([a.pid.remote() for a in deployed.replicas.values()])
    try:
        yield deployed
    finally:
        pids += ray.get([a.pid.remote() for a in deployed.replicas.values()], timeout=60)
        deployed.shutdown()
        leftover = [pid for pid in pids if pid is not None and simweb.ray._pid_alive(pid)]
        assert not leftover, f"servers still running after shutdown: {leftover}"


@pytest.fixture(scope="module")
def baseline(server: simweb.LocalServer) -> dict[int, Outcome]:
    """The same rollouts, played in this process against the one plain server."""
    with server.client() as client:
        return {spec.index: play(client, spec) for spec in SPECS}


# -- tests ------------------------------------------------------------------------


def test_every_node_serves_its_own_tasks_with_the_single_server_rewards(
    cluster: list[str], deployment: simweb.ray.SimwebDeployment, baseline: dict[int, Outcome]
) -> None:
    endpoints = deployment.endpoints()
    assert endpoints.node_ids == cluster
    assert len(set(endpoints.urls.values())) == NODES
    before = {node: stored_episodes(url) for node, url in endpoints.urls.items()}

    refs, _ = run_batch(cluster, endpoints)
    outcomes = ray.get(refs, timeout=120)

    assert sorted(o.result() for o in outcomes) == sorted(b.result() for b in baseline.values())
    assert {o.reward for o in outcomes} == {0.0, 1.0}
    for o in outcomes:
        assert o.node == cluster[o.index % NODES], o
        assert o.url == endpoints.urls[o.node], o  # its own node's server, no fallback
    # ... and the requests really went there: each server stored its node's episodes.
    per_node = {node: sum(o.node == node for o in outcomes) for node in cluster}
    after = {node: stored_episodes(url) for node, url in endpoints.urls.items()}
    assert {node: after[node] - before[node] for node in cluster} == per_node


def test_a_killed_server_is_restarted_and_no_rollout_is_lost(
    cluster: list[str], deployment: simweb.ray.SimwebDeployment, baseline: dict[int, Outcome]
) -> None:
    endpoints = deployment.endpoints()
    victim = cluster[1]
    replica = deployment.replicas[victim]
    url, pid = ray.get([replica.url.remote(), replica.pid.remote()])
    assert ray.get(replica.restarts.remote()) == 0

    gate = Gate.remote()  # type: ignore[attr-defined]
    refs, probed = run_batch(cluster, endpoints, probe_node=victim, probe=gate)
    assert probed is not None
    # Kill the victim's server while the probe's `visit` is in flight on it.
    wait_until("the probe rollout to reach its visit", lambda: ray.get(gate.seen.remote()).get(probed))
    with simweb.Client(url) as client:
        wait_until("the visit in flight", lambda: client.metrics()["simweb_http_in_flight"] >= 1)
    os.kill(pid, signal.SIGKILL)

    outcomes = ray.get(refs, timeout=180)
    assert sorted(o.result() for o in outcomes) == sorted(b.result() for b in baseline.values())
    # The probe hit the dead server once and was retried once; nothing else was probed.
    assert ray.get(gate.seen.remote()) == {probed: 2}

    wait_until("the replica to restart its server", lambda: ray.get(replica.healthy.remote()))
    assert ray.get(replica.restarts.remote()) == 1
    assert ray.get(replica.url.remote()) == url  # same port: handed-out URLs stay valid
    assert ray.get(replica.pid.remote()) not in (None, pid)
    assert deployment.healthy() == {node: True for node in cluster}


def test_a_recreated_replica_actor_serves_on_the_same_url(
    cluster: list[str], deployment: simweb.ray.SimwebDeployment
) -> None:
    # The actor's worker dies (not just the server): Ray re-creates the actor on the same
    # node, which stops any server the old worker left behind and binds the old port.
    replica = deployment.replicas[cluster[2]]
    url, pid = ray.get([replica.url.remote(), replica.pid.remote()])
    ray.kill(replica, no_restart=False)
    assert ray.get(replica.url.remote(), timeout=60) == url
    assert ray.get(replica.healthy.remote())
    assert ray.get(replica.pid.remote()) != pid
    wait_until("the old server to be gone", lambda: not simweb.ray._pid_alive(pid), timeout=10)
    with simweb.Client(url) as client:
        assert client.search("Albedo").text  # the URL handed out before still serves


def test_a_replica_replaces_a_server_its_predecessor_left_running(
    cluster: list[str], corpus: Path, tmp_path: Path
) -> None:
    # What a re-created actor meets when the old worker's server outlived it: a live
    # server recorded in the node's state dir, holding the port and the episode store.
    node = ray.get_runtime_context().get_node_id()
    with simweb.serve(corpus, state_dir=tmp_path / node / "state", python=False) as orphan:
        port = int(orphan.url.rsplit(":", 1)[1])
        record = {"pid": orphan.process.pid, "port": port, "url": orphan.url}
        (tmp_path / node / "replica.json").write_text(json.dumps(record), encoding="utf-8")
        config = simweb.ray.ReplicaConfig(
            str(corpus), binary=simweb.server.find_binary(), state_root=str(tmp_path), host="127.0.0.1", python=False
        )
        replica = simweb.ray.Replica(config)
        try:
            assert replica.start(reuse_port=True) == orphan.url
            assert orphan.process.wait(10) == -signal.SIGKILL
            assert replica.healthy() and replica.pid() != orphan.process.pid
        finally:
            replica.stop()


def test_endpoints_fall_back_in_a_fixed_order(
    cluster: list[str], deployment: simweb.ray.SimwebDeployment
) -> None:
    endpoints = deployment.endpoints()
    assert pickle.loads(pickle.dumps(endpoints)) == endpoints
    here = ray.get_runtime_context().get_node_id()
    assert endpoints.url_for_current_node() == endpoints.urls[here]

    # Each node tries its own server first, then the sorted ids from its position on.
    for i, node in enumerate(cluster):
        assert endpoints.order(node) == cluster[i:] + cluster[:i]

    # This node's server down (a port nothing listens on): the next one in order.
    dead = "http://127.0.0.1:9"
    down_here = simweb.ray.Endpoints({**endpoints.urls, here: dead})
    following = endpoints.order(here)[1]
    assert down_here.url_for_current_node(timeout=0.5) == endpoints.urls[following]
    with down_here.client() as client:
        assert client.base_url == endpoints.urls[following]

    all_down = simweb.ray.Endpoints({node: dead for node in cluster})
    with pytest.raises(simweb.ray.NoHealthyReplica) as none:
        all_down.url_for_current_node(timeout=0.5)
    assert isinstance(none.value, simweb.SimwebError)
    assert all(node in str(none.value) for node in cluster)


def test_a_corpus_of_another_snapshot_is_refused(cluster: list[str], corpus: Path, tmp_path: Path) -> None:
    with pytest.raises(simweb.ray.SnapshotMismatch) as refused:
        simweb.ray.deploy(
            corpus,
            binary=simweb.server.find_binary(),
            nodes=cluster[:1],
            expected_snapshot="0" * 64,
            python=False,
            state_root=tmp_path,
        )
    message = str(refused.value)
    assert "0" * 64 in message and simweb.ray.read_snapshot_id(corpus) in message
    assert "refusing" in message
