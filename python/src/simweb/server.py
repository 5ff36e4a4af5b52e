"""``simweb.serve``: a local ``simweb serve`` subprocess for notebooks and tests.

The server binds port 0 and prints the address it got (``simweb listening on
http://ADDR``), so two servers never race for a "free" port. The context manager waits
for ``/readyz`` and stops the process with SIGTERM (the server drains and flushes its
episode store), killing it only if it does not exit in time.
"""

from __future__ import annotations

import collections
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType

from .client import AsyncClient, Client
from .errors import ServerStartError

_LISTENING = "simweb listening on "


def find_binary(binary: str | os.PathLike[str] | None = None) -> str:
    """``binary``, else ``$SIMWEB_BIN``, else ``simweb`` on ``PATH``."""
    candidate = str(binary) if binary else os.environ.get("SIMWEB_BIN") or shutil.which("simweb")
    if not candidate:
        raise ServerStartError(
            "no simweb binary: pass binary=..., set SIMWEB_BIN, or put `simweb` on PATH "
            "(`make build` writes target/release/simweb)"
        )
    if not os.access(candidate, os.X_OK):
        raise ServerStartError(f"simweb binary {candidate!r} is not an executable file")
    return candidate


class LocalServer:
    """A running ``simweb serve`` child process (see :func:`serve`)."""

    def __init__(self, process: subprocess.Popen[str], url: str, log: collections.deque[str]) -> None:
        self.process = process
        #: ``http://127.0.0.1:PORT``
        self.url = url
        self._log = log

    @property
    def log(self) -> str:
        """The last lines the server wrote to stderr."""
        return "\n".join(self._log)

    def client(self, **kwargs: object) -> Client:
        """A :class:`Client` for this server (keyword arguments as for ``Client``)."""
        return Client(self.url, **kwargs)  # type: ignore[arg-type]

    def async_client(self, **kwargs: object) -> AsyncClient:
        """An :class:`AsyncClient` for this server."""
        return AsyncClient(self.url, **kwargs)  # type: ignore[arg-type]

    def running(self) -> bool:
        return self.process.poll() is None

    def stop(self, timeout: float = 30.0) -> int:
        """SIGTERM, wait for the drain; SIGKILL after ``timeout`` s. Returns the exit code."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode

    def __enter__(self) -> LocalServer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def serve(
    data_dir: str | os.PathLike[str],
    *,
    binary: str | os.PathLike[str] | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
    config: str | os.PathLike[str] | None = None,
    state_dir: str | os.PathLike[str] | None = None,
    python: bool = True,
    api_keys: Sequence[str] = (),
    args: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
    ready_timeout: float = 120.0,
) -> LocalServer:
    """Starts ``simweb serve --data DATA_DIR`` and returns once it is ready.

    Args:
        data_dir: an ingested corpus (``simweb ingest --out DIR``).
        binary: the ``simweb`` executable (default ``$SIMWEB_BIN`` or ``PATH``).
        port: 0 (default) lets the OS choose; read the result from ``.url``.
        config: a TOML config file (the fields ``simweb serve`` prints at start).
        state_dir: where episodes are persisted (default: the server's own).
        python: serve the Python sandbox (needs ``simweb sandbox prepare`` once).
        api_keys: require these API keys.
        args: further command-line flags.
        env: extra environment for the child.
        ready_timeout: seconds to wait for ``/readyz``.

    Use it as a context manager (``with simweb.serve(d) as server: ...``) or call
    ``.stop()``.
    """
    command = [find_binary(binary), "serve", "--data", os.fspath(data_dir), "--addr", f"{host}:{port}"]
    if config is not None:
        command += ["--config", os.fspath(config)]
    if state_dir is not None:
        command += ["--state-dir", os.fspath(state_dir)]
    if not python:
        command.append("--no-python")
    for key in api_keys:
        command += ["--api-key", key]
    command += list(args)
    child_env = {k: v for k, v in os.environ.items() if k not in ("SIMWEB_DATA", "SIMWEB_ADDR")}
    child_env.update(env or {})
    if not Path(data_dir).is_dir():
        raise ServerStartError(f"data dir {os.fspath(data_dir)!r} does not exist")
    process = subprocess.Popen(
        command,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=child_env,
    )
    log: collections.deque[str] = collections.deque(maxlen=200)
    found = threading.Event()
    address: list[str] = []

    def drain() -> None:
        # Reads stderr to the end so the child never blocks on a full pipe.
        assert process.stderr is not None
        for line in process.stderr:
            line = line.rstrip("\n")
            log.append(line)
            if not found.is_set() and line.startswith(_LISTENING):
                address.append(line[len(_LISTENING):].strip())
                found.set()
        found.set()

    threading.Thread(target=drain, name="simweb-serve-stderr", daemon=True).start()
    deadline = time.monotonic() + ready_timeout
    found.wait(ready_timeout)
    server = LocalServer(process, address[0] if address else "", log)
    if not address:
        server.stop(5)
        raise ServerStartError(f"simweb serve did not start (exit {process.returncode}):\n{server.log}")
    with server.client(max_retries=0) as client:
        try:
            client.wait_ready(max(1.0, deadline - time.monotonic()))
        except Exception as e:
            server.stop(5)
            raise ServerStartError(f"simweb serve at {server.url} never became ready: {e}\n{server.log}") from e
    return server
