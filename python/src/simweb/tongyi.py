"""Point Tongyi DeepResearch's unmodified ``inference/`` code at a simweb server.

Tongyi's tools reach four services, two through hard-coded hosts and two through the
environment:

- ``tool_search.py``: ``http.client.HTTPSConnection("google.serper.dev")``, ``POST /search``;
- ``tool_visit.py``: ``requests.get("https://r.jina.ai/" + url)``, then the OpenAI SDK at
  ``$API_BASE`` with ``$API_KEY`` / ``$SUMMARY_MODEL_NAME`` for the extractor prompt;
- ``tool_python.py``: ``sandbox_fusion.run_code`` at ``$SANDBOX_FUSION_ENDPOINT``.

:func:`patch` sends the two hosts to simweb (a connection to ``google.serper.dev``
becomes a connection to the server; a ``https://r.jina.ai/URL`` request becomes
``{server}/compat/jina/URL``) and sets the environment variables that are unset. Call
it once, first thing in the process (before Tongyi's modules are imported, since some
read the environment at import)::

    import simweb.tongyi; simweb.tongyi.patch("http://127.0.0.1:8080")

Every other host is left alone. :func:`unpatch` restores the originals.
"""

from __future__ import annotations

import http.client
import os
from typing import Any
from urllib.parse import urlsplit

SERPER_HOST = "google.serper.dev"
JINA_PREFIX = "https://r.jina.ai/"

_saved: dict[str, Any] = {}


def environment(base_url: str) -> dict[str, str]:
    """The environment Tongyi's tools read, pointed at ``base_url``."""
    base = base_url.rstrip("/")
    return {
        "SERPER_KEY_ID": "simweb",
        "JINA_API_KEYS": "simweb",
        "API_KEY": "simweb",
        "API_BASE": f"{base}/v1",
        "SUMMARY_MODEL_NAME": "simweb-extractor",
        "SANDBOX_FUSION_ENDPOINT": f"{base}/compat/sandbox-fusion",
    }


def patch(base_url: str | None = None, *, override_env: bool = False) -> None:
    """Redirects Tongyi's hard-coded hosts to ``base_url`` (default ``$SIMWEB_URL``).

    Environment variables already set are kept unless ``override_env``. Calling it
    again re-points everything at the new URL.
    """
    base = (base_url or os.environ.get("SIMWEB_URL") or "http://127.0.0.1:8080").rstrip("/")
    target = urlsplit(base)
    if target.scheme not in ("http", "https") or not target.hostname:
        raise ValueError(f"base_url must be http(s)://host[:port], got {base!r}")
    unpatch()
    for key, value in environment(base).items():
        if override_env or not os.environ.get(key):
            os.environ[key] = value
    _patch_serper(target.scheme, target.hostname, target.port)
    _patch_requests(f"{base}/compat/jina/")


def unpatch() -> None:
    """Restores ``http.client.HTTPSConnection`` and ``requests`` (the environment stays)."""
    cls = http.client.HTTPSConnection
    for name in ("__new__", "__init__"):
        original = _saved.pop(f"https_{name}", None)
        if original is _ABSENT:
            delattr(cls, name)
        elif original is not None:
            setattr(cls, name, original)
    request = _saved.pop("requests_request", None)
    if request is not None:
        import requests

        requests.sessions.Session.request = request  # type: ignore[method-assign]


_ABSENT = object()


def _patch_serper(scheme: str, host: str, port: int | None) -> None:
    """Connections to Serper's host go to simweb.

    The class itself stays in place (``http.client`` refers to it by name inside its
    own ``__init__``, and other code checks ``isinstance`` against it): for an ``http``
    server its ``__new__`` hands back a plain ``HTTPConnection`` to simweb; for an
    ``https`` one its ``__init__`` swaps in simweb's host and port.
    """
    cls = http.client.HTTPSConnection
    _saved["https___new__"] = cls.__dict__.get("__new__", _ABSENT)
    _saved["https___init__"] = cls.__dict__["__init__"]
    original_init = cls.__init__

    def is_serper(host_arg: Any) -> bool:
        return isinstance(host_arg, str) and host_arg.split(":", 1)[0] == SERPER_HOST

    if scheme == "http":

        def new(klass: type, host_arg: Any = None, *args: Any, **kwargs: Any) -> Any:
            if is_serper(host_arg):
                timeout = {"timeout": kwargs["timeout"]} if "timeout" in kwargs else {}
                return http.client.HTTPConnection(host, port or 80, **timeout)
            return object.__new__(klass)

        cls.__new__ = staticmethod(new)  # type: ignore[assignment]
    else:

        def init(self: Any, host_arg: Any, *args: Any, **kwargs: Any) -> None:
            if is_serper(host_arg):
                kwargs.pop("port", None)
                original_init(self, host, port or 443, **kwargs)
            else:
                original_init(self, host_arg, *args, **kwargs)

        cls.__init__ = init  # type: ignore[method-assign,assignment]


def _patch_requests(reader_prefix: str) -> None:
    try:
        import requests
    except ImportError:  # Tongyi's visit tool needs requests; without it nothing to patch.
        return
    original = requests.sessions.Session.request
    _saved["requests_request"] = original

    def request(self: Any, method: str, url: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(url, str) and url.startswith(JINA_PREFIX):
            url = reader_prefix + url[len(JINA_PREFIX):]
        return original(self, method, url, *args, **kwargs)

    requests.sessions.Session.request = request  # type: ignore[method-assign]
