"""``simweb.ray``: one ``simweb serve`` per Ray node, and a way for tasks to find theirs.

Why one server per node rather than one big one: a rollout worker then talks HTTP to a
server on its own machine (loopback latency, no cross-node traffic), the serving load is
spread exactly as the workers are, and losing a node loses only that node's server. There
is no Python proxy in the request path: the actor here only *owns* the server process;
workers send their requests straight to its URL.

- :func:`deploy` starts one :class:`Replica` actor on every alive node (or the nodes
  named), each pinned to its node with a hard ``NodeAffinitySchedulingStrategy`` and
  reserving no CPU (``num_cpus=0``), so replicas never take the slots rollouts run in.
  Each replica checks the corpus's snapshot id (when one is expected), starts
  ``simweb serve`` through :func:`simweb.serve` with its own ``--state-dir``, waits for
  ``/readyz`` and restarts the server on the *same port* if the process dies, so the URL
  handed out stays valid.
- :class:`Endpoints` is the small, picklable ``node id -> URL`` map to pass to tasks;
  ``endpoints.client()`` inside a task or actor returns a :class:`simweb.Client` for the
  server on that node, or, while it is down, the next healthy one in a fixed order.

Ray is imported by this module only: ``import simweb`` never pulls it in.
"""

from __future__ import annotations

import bisect
import json
import logging
import os
import signal
import tempfile
import threading
import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import ray
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

from .client import Client
from .errors import ServerStartError, SimwebError
from .server import LocalServer, find_binary, serve

__all__ = [
    "Endpoints",
    "NoHealthyReplica",
    "Replica",
    "SimwebDeployment",
    "SnapshotMismatch",
    "deploy",
    "read_snapshot_id",
]

logger = logging.getLogger("simweb.ray")

#: Seconds a task waits for one server's ``/readyz`` before trying the next node's.
DEFAULT_PROBE_TIMEOUT = 1.0
_RECORD = "replica.json"


class SnapshotMismatch(ServerStartError):
    """The corpus a replica would serve is not the snapshot the caller expected.

    Serving two different snapshots behind one deployment would make rewards depend on
    which node a rollout happened to land on, so this refuses to start instead.
    """


class NoHealthyReplica(SimwebError):
    """No server of the deployment answered ``/readyz``: the message lists each one tried."""


def read_snapshot_id(data_dir: str | os.PathLike[str]) -> str:
    """The snapshot id of an ingested corpus, read from its ``manifest.json``.

    The same value ``simweb corpus stats --data DIR`` prints and ``/readyz`` reports; it
    is a content hash of the corpus, so equal ids mean byte-identical search results.
    """
    manifest = Path(data_dir) / "manifest.json"
    try:
        body = json.loads(manifest.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ServerStartError(f"{manifest} does not exist: is {os.fspath(data_dir)!r} an ingested corpus?") from None
    except (OSError, ValueError) as e:
        raise ServerStartError(f"cannot read {manifest}: {e}") from e
    snapshot = body.get("snapshot_id") if isinstance(body, dict) else None
    if not isinstance(snapshot, str) or not snapshot:
        raise ServerStartError(f"{manifest} has no snapshot_id")
    return snapshot


def _is_ready(url: str, timeout: float) -> tuple[bool, str]:
    """``(ready, why not)`` for one server, answering within about ``timeout`` seconds."""
    try:
        with Client(url, timeout=timeout, max_retries=0) as client:
            readiness = client.ready()
    except SimwebError as e:
        return False, str(e)
    return readiness.ready, readiness.reason or ("ready" if readiness.ready else "not ready")


def _node_ip() -> str:
    ip: str = ray.util.get_node_ip_address()  # type: ignore[no-untyped-call]
    return ip


def _current_node_id() -> str:
    node_id: str = ray.get_runtime_context().get_node_id()
    return node_id


@dataclass(frozen=True)
class Endpoints:
    """Where each node's server is: ``urls`` maps Ray node id (hex) to base URL.

    A plain frozen dataclass so it pickles into any task or actor at no cost; pass it
    as an argument rather than calling back into the deployment from workers. The map is
    kept sorted by node id, so the fallback order is the same in every process.
    """

    urls: Mapping[str, str]

    def __post_init__(self) -> None:
        object.__setattr__(self, "urls", dict(sorted(self.urls.items())))

    @property
    def node_ids(self) -> list[str]:
        """The node ids, sorted."""
        return list(self.urls)

    def order(self, node_id: str) -> list[str]:
        """The nodes to try for a caller on ``node_id``: its own first, then the sorted
        ids rotated from its position, so callers on different nodes spread their
        fallback load over different servers rather than all picking the first one.
        A node without a server starts at the position it would sort into."""
        ids = self.node_ids
        start = bisect.bisect_left(ids, node_id)
        return ids[start:] + ids[:start]

    def url_for(self, node_id: str, *, timeout: float = DEFAULT_PROBE_TIMEOUT) -> str:
        """The URL of the first server in :meth:`order` that is ready.

        Each candidate gets one ``/readyz`` with ``timeout`` seconds to answer; a server
        that is restarting or on a lost node is skipped. Raises :class:`NoHealthyReplica`
        when none answers.
        """
        if not self.urls:
            raise NoHealthyReplica("the deployment has no servers")
        tried = []
        for candidate in self.order(node_id):
            url = self.urls[candidate]
            ready, why = _is_ready(url, timeout)
            if ready:
                if candidate != node_id:
                    logger.warning("simweb server of node %s is not ready; using %s's (%s)", node_id, candidate, url)
                return url
            tried.append(f"{candidate} {url}: {why}")
        raise NoHealthyReplica("no simweb server is ready:\n  " + "\n  ".join(tried))

    def url_for_current_node(self, *, timeout: float = DEFAULT_PROBE_TIMEOUT) -> str:
        """:meth:`url_for` the node this task, actor or driver runs on."""
        return self.url_for(_current_node_id(), timeout=timeout)

    def client(self, *, probe_timeout: float = DEFAULT_PROBE_TIMEOUT, **kwargs: Any) -> Client:
        """A :class:`simweb.Client` for :meth:`url_for_current_node` (keyword arguments as
        for ``Client``). Pick the server per rollout, not once per worker, so a rollout
        retried after a server died finds a live one."""
        return Client(self.url_for_current_node(timeout=probe_timeout), **kwargs)


@dataclass(frozen=True)
class ReplicaConfig:
    """What a :class:`Replica` needs to (re)start its server; resolved on its node."""

    data_dir: str
    binary: str | None = None
    state_root: str | None = None
    expected_snapshot: str | None = None
    host: str | None = None
    serve_args: tuple[str, ...] = ()
    python: bool = True
    ready_timeout: float = 120.0


def _was_reconstructed() -> bool:
    """Whether Ray re-created the current actor (``False`` outside an actor). Ray 2.52's
    public property reads a deprecated one of its own and warns about it: silenced."""
    context = ray.get_runtime_context()
    if context.get_actor_id() is None:
        return False
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return bool(context.was_current_actor_reconstructed)


def _pid_alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie, dead but not yet reaped, does not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return True  # no procfs: trust kill(0)
    return stat.rpartition(")")[2].split()[:1] != ["Z"]


class Replica:
    """The body of the per-node actor: owns one ``simweb serve`` child process.

    Created by :func:`deploy` (``ray.remote(Replica)`` with the options there), or used
    in-process like any object (in a Ray driver or worker). The server starts in
    :meth:`start`, not in ``__init__``, so a wrong corpus surfaces as the caller's
    exception (``SnapshotMismatch``) instead of an actor that Ray keeps re-creating.
    When Ray *does* re-create the actor (its worker died, ``max_restarts=-1``),
    ``__init__`` restarts the server at once on the port recorded in the state dir,
    first killing the old server if it outlived the old worker.
    """

    def __init__(self, config: ReplicaConfig) -> None:
        self._config = config
        self._node_id = _current_node_id()
        root = config.state_root or os.path.join(tempfile.gettempdir(), "simweb-ray")
        #: Per node, so two replicas never share one episode store (sled locks it).
        self._state_dir = Path(root) / self._node_id
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server: LocalServer | None = None
        self._monitor: threading.Thread | None = None
        self._port = 0
        self._url = ""
        self._restarts = 0
        if _was_reconstructed():
            try:
                self.start(reuse_port=True)
            except ServerStartError as e:
                # Serving on a new URL beats not serving: Endpoints falls back meanwhile,
                # and deployment.endpoints() hands out the new URL.
                logger.warning("node %s: the old port is not available (%s); taking a new one", self._node_id, e)
                self._port = 0
                self.start()

    # -- lifecycle ---------------------------------------------------------------
    def start(self, reuse_port: bool = False) -> str:
        """Checks the corpus, starts the server, waits for ``/readyz``; returns the URL.

        Idempotent while the server runs; after :meth:`stop` it starts a new one on the
        same port. ``reuse_port``: bind the port this node's last server had (after the
        actor itself was re-created), so URLs handed out before stay valid.
        """
        with self._lock:
            if self._server is not None:
                return self._url
            config = self._config
            if config.expected_snapshot is not None:
                found = read_snapshot_id(config.data_dir)
                if found != config.expected_snapshot:
                    raise SnapshotMismatch(
                        f"node {self._node_id}: the corpus at {config.data_dir} is snapshot {found}, "
                        f"expected {config.expected_snapshot}; refusing to serve a different corpus"
                    )
            self._state_dir.mkdir(parents=True, exist_ok=True)
            previous = self._reap_previous()
            if not self._port and reuse_port:
                self._port = previous
            server = self._spawn()
            self._port = int(server.url.rsplit(":", 1)[1])
            self._url = self._advertised(server.url)
            self._server = server
            self._write_record()
            self._stopping.clear()
            self._monitor = threading.Thread(target=self._watch, name="simweb-replica-monitor", daemon=True)
            self._monitor.start()
            logger.info("simweb replica on node %s serving %s at %s", self._node_id, config.data_dir, self._url)
            return self._url

    def stop(self, timeout: float = 30.0) -> int | None:
        """Stops the server (SIGTERM, so it drains and flushes its episodes) and does not
        restart it; returns its exit code (``None`` if it never started)."""
        self._stopping.set()
        with self._lock:
            server, self._server = self._server, None
            code = server.stop(timeout) if server is not None else None
        if self._monitor is not None and self._monitor is not threading.current_thread():
            self._monitor.join(timeout)
        return code

    # -- what callers ask --------------------------------------------------------
    def url(self) -> str:
        """The base URL, stable across server restarts."""
        return self._url

    def node_id(self) -> str:
        return self._node_id

    def pid(self) -> int | None:
        """The current server process's pid (changes on each restart)."""
        server = self._server
        return server.process.pid if server is not None else None

    def restarts(self) -> int:
        """How many times the monitor restarted a server that died."""
        return self._restarts

    def healthy(self, timeout: float = 2.0) -> bool:
        """The process is running and ``/readyz`` says ready."""
        server = self._server
        if server is None or not server.running():
            return False
        return _is_ready(self._url, timeout)[0]

    def state_dir(self) -> str:
        return os.fspath(self._state_dir)

    # -- internals ---------------------------------------------------------------
    def _spawn(self) -> LocalServer:
        config = self._config
        host = config.host or _node_ip()
        return serve(
            config.data_dir,
            binary=find_binary(config.binary),
            host=host,
            port=self._port,
            state_dir=self._state_dir / "state",
            python=config.python,
            args=config.serve_args,
            ready_timeout=config.ready_timeout,
        )

    def _advertised(self, url: str) -> str:
        """``url`` as other nodes reach it (a wildcard bind address becomes the node's IP)."""
        for wildcard in ("0.0.0.0", "[::]"):
            if f"//{wildcard}:" in url:
                return url.replace(wildcard, _node_ip(), 1)
        return url

    def _watch(self) -> None:
        """Waits on the server process; when it exits unasked, starts a new one on the
        same port (tokio binds with SO_REUSEADDR, so the old socket's TIME_WAIT does not
        block it), retrying with backoff while the start fails."""
        while not self._stopping.is_set():
            server = self._server
            if server is None:  # stopped meanwhile
                return
            code = server.process.wait()
            if self._stopping.is_set():
                return
            tail = "\n".join(server.log.splitlines()[-5:])
            logger.warning(
                "simweb server on node %s (pid %d) exited with %s; restarting it on port %d. Its last lines:\n%s",
                self._node_id, server.process.pid, code, self._port, tail,
            )
            backoff = 0.1
            while True:
                try:
                    fresh = self._spawn()
                except SimwebError as e:
                    logger.warning("restarting the simweb server on node %s failed: %s", self._node_id, e)
                    if self._stopping.wait(backoff):
                        return
                    backoff = min(backoff * 2, 5.0)
                    continue
                with self._lock:
                    if self._stopping.is_set():
                        fresh.stop()
                        return
                    self._server = fresh
                    self._restarts += 1
                    self._write_record()
                break

    def _write_record(self) -> None:
        """Pid and port of the live server, for a re-created actor to find (see
        :meth:`_reap_previous`)."""
        server = self._server
        assert server is not None
        record = {"pid": server.process.pid, "port": self._port, "url": self._url}
        path = self._state_dir / _RECORD
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(record), encoding="utf-8")
        tmp.replace(path)

    def _reap_previous(self) -> int:
        """Kills a server a previous actor on this node left running (a worker killed
        hard does not take its children along, and the orphan would hold both the port
        and the episode store's lock); returns the port it had, 0 if none is recorded."""
        path = self._state_dir / _RECORD
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
            pid, port = int(record["pid"]), int(record["port"])
        except (OSError, ValueError, KeyError, TypeError):
            return 0
        if _pid_alive(pid) and self._is_our_server(pid):
            logger.warning("killing simweb server pid %d left by a previous replica on node %s", pid, self._node_id)
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            deadline = time.monotonic() + 10.0
            while _pid_alive(pid) and time.monotonic() < deadline:
                time.sleep(0.05)
        return port

    def _is_our_server(self, pid: int) -> bool:
        """Whether ``pid`` is a ``simweb serve`` over this replica's state dir (not an
        unrelated process that reused the pid)."""
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            return False
        state = os.fsencode(self._state_dir / "state")
        return b"serve" in argv and state in argv


class SimwebDeployment:
    """The replicas of one :func:`deploy`: ``replicas`` maps node id to actor handle.

    Use as a context manager, or call :meth:`shutdown`.
    """

    def __init__(self, replicas: Mapping[str, Any], urls: Mapping[str, str]) -> None:
        self.replicas: dict[str, Any] = dict(sorted(replicas.items()))
        self._urls = dict(urls)

    def endpoints(self, timeout: float = 10.0) -> Endpoints:
        """The picklable ``node id -> URL`` map to hand to tasks.

        URLs survive server restarts, so a map taken once stays good; this asks each
        replica anyway (one that does not answer within ``timeout`` keeps its last known
        URL), in case a re-created actor could not get its old port back."""
        for node, url in self._ask("url", timeout).items():
            if url:
                self._urls[node] = str(url)
        return Endpoints(self._urls)

    def healthy(self, timeout: float = 10.0) -> dict[str, bool]:
        """Each replica's :meth:`Replica.healthy` (``False`` for one that did not answer)."""
        answers = self._ask("healthy", timeout)
        return {node: bool(answers.get(node, False)) for node in self.replicas}

    def _ask(self, method: str, timeout: float) -> dict[str, Any]:
        """Calls ``method`` on every replica at once; the answers that came within
        ``timeout`` (an actor being re-created, or on a lost node, is left out)."""
        refs = {node: getattr(actor, method).remote() for node, actor in self.replicas.items()}
        if not refs:
            return {}
        done, _ = ray.wait(list(refs.values()), num_returns=len(refs), timeout=timeout)
        finished = set(done)
        out = {}
        for node, ref in refs.items():
            if ref in finished:
                try:
                    out[node] = ray.get(ref)
                except ray.exceptions.RayError as e:
                    logger.warning("simweb replica on node %s: %s failed: %s", node, method, e)
        return out

    def shutdown(self, timeout: float = 30.0) -> None:
        """Stops every server (SIGTERM, drained) and kills the actors. Idempotent."""
        refs = [actor.stop.remote(timeout) for actor in self.replicas.values()]
        try:
            ray.get(refs, timeout=timeout + 5)
        except Exception as e:  # the actors are killed below either way
            logger.warning("stopping simweb replicas: %s", e)
        for actor in self.replicas.values():
            ray.kill(actor, no_restart=True)
        self.replicas.clear()

    def __enter__(self) -> SimwebDeployment:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.shutdown()


def _alive_nodes() -> list[str]:
    return sorted(str(node["NodeID"]) for node in ray.nodes() if node.get("Alive"))


def deploy(
    data_dir: str | os.PathLike[str] | Mapping[str, str | os.PathLike[str]],
    *,
    binary: str | os.PathLike[str] | None = None,
    nodes: Sequence[str] | None = None,
    expected_snapshot: str | None = None,
    serve_args: Sequence[str] = (),
    python: bool = True,
    host: str | None = None,
    state_root: str | os.PathLike[str] | None = None,
    ready_timeout: float = 120.0,
) -> SimwebDeployment:
    """Starts ``simweb serve`` on every alive Ray node (or ``nodes``) and waits until all
    are ready.

    Args:
        data_dir: the ingested corpus as each node sees it: one path (a shared
            filesystem, or the same local path on every node), or ``{node_id: path}``.
        binary: the ``simweb`` executable on the nodes (default: each node's
            ``$SIMWEB_BIN`` or ``PATH``).
        nodes: node ids (hex) to deploy on; default every alive node.
        expected_snapshot: refuse (``SnapshotMismatch``) any node whose corpus has
            another snapshot id (see :func:`read_snapshot_id`).
        serve_args: further ``simweb serve`` flags (e.g. ``("--config", path)``).
        python: serve the Python sandbox (needs ``simweb sandbox prepare`` on each node).
        host: the address to bind; default the node's Ray IP, so other nodes can fall
            back to it. ``0.0.0.0`` binds all interfaces and advertises the node's IP.
        state_root: each node's episode store is ``STATE_ROOT/<node_id>/state``
            (default: the node's temp dir).
        ready_timeout: seconds each server has to become ready.

    Connects to Ray (``ray.init()``) if the caller has not. On any failure the replicas
    already started are stopped before the exception propagates.
    """
    if not ray.is_initialized():
        ray.init()
    alive = _alive_nodes()
    if nodes is None:
        targets = alive
    else:
        missing = [n for n in nodes if n not in alive]
        if missing:
            raise ValueError(f"not alive Ray nodes: {missing} (alive: {alive})")
        targets = sorted(set(nodes))
    if not targets:
        raise ValueError("no alive Ray node to deploy simweb on")
    if isinstance(data_dir, Mapping):
        paths = {node: os.fspath(path) for node, path in data_dir.items()}
        unmapped = [n for n in targets if n not in paths]
        if unmapped:
            raise ValueError(f"data_dir has no path for nodes {unmapped}")
    else:
        paths = {node: os.fspath(data_dir) for node in targets}
    remote_replica = ray.remote(Replica)
    replicas: dict[str, Any] = {}
    try:
        for node in targets:
            config = ReplicaConfig(
                data_dir=paths[node],
                binary=os.fspath(binary) if binary is not None else None,
                state_root=os.fspath(state_root) if state_root is not None else None,
                expected_snapshot=expected_snapshot,
                host=host,
                serve_args=tuple(serve_args),
                python=python,
                ready_timeout=ready_timeout,
            )
            replicas[node] = remote_replica.options(
                num_cpus=0,
                max_restarts=-1,
                max_task_retries=3,
                scheduling_strategy=NodeAffinitySchedulingStrategy(node, soft=False),
            ).remote(config)
        starts = {node: actor.start.remote() for node, actor in replicas.items()}
        # The wait covers actor placement and worker start too, hence the margin.
        urls = dict(zip(starts, ray.get(list(starts.values()), timeout=ready_timeout + 60)))
    except BaseException:
        SimwebDeployment(replicas, {}).shutdown(timeout=10)
        raise
    return SimwebDeployment(replicas, urls)
