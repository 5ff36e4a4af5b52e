"""Exceptions for every way a simweb call can fail.

The server answers every failure with ``{"error": {"kind": ..., "message": ...}}`` and,
for load shedding (429/503), a ``Retry-After`` header. Each exception carries those
three facts plus the HTTP status, and its class says which kind it was, so callers can
``except simweb.RateLimited`` instead of comparing strings.
"""

from __future__ import annotations

from typing import Any


class SimwebError(Exception):
    """Base of every error this package raises."""


class TransportError(SimwebError):
    """The server could not be reached or the connection broke (no HTTP answer)."""


class ServerStartError(SimwebError):
    """``simweb.serve`` could not start a local server; the message carries its stderr."""


class APIError(SimwebError):
    """The server answered with an error status.

    Attributes:
        status: the HTTP status code.
        kind: the server's stable error label (``invalid_request``, ``rate_limited``, ...).
        message: the server's reason, naming what was wrong.
        retry_after: seconds the server asked the client to wait (429/503), else ``None``.
        body: the decoded JSON body when there was one.
    """

    def __init__(
        self,
        status: int,
        kind: str,
        message: str,
        retry_after: float | None = None,
        body: Any = None,
    ) -> None:
        super().__init__(f"{status} {kind}: {message}")
        self.status = status
        self.kind = kind
        self.message = message
        self.retry_after = retry_after
        self.body = body


class BadRequest(APIError):
    """400: the body could not be read (syntax, wrong content type)."""


class Unauthorized(APIError):
    """401: the server requires an API key and none (or a wrong one) was sent."""


class NotFound(APIError):
    """404: unknown tool, episode or page."""


class Conflict(APIError):
    """409: e.g. stepping an episode that has ended."""


class PayloadTooLarge(APIError):
    """413: the request body is over the server's limit."""


class InvalidRequest(APIError):
    """422: the body was read but its content is wrong (bad arguments, unknown field)."""


class RateLimited(APIError):
    """429: over a quota; retry after ``retry_after`` seconds."""


class Saturated(APIError):
    """503: the server or one tool is at capacity; retry after ``retry_after`` seconds."""


class ServerError(APIError):
    """Any other 5xx: a fault on the server side."""


_BY_STATUS: dict[int, type[APIError]] = {
    400: BadRequest,
    401: Unauthorized,
    404: NotFound,
    409: Conflict,
    413: PayloadTooLarge,
    415: BadRequest,
    422: InvalidRequest,
    429: RateLimited,
    503: Saturated,
}


def error_for(
    status: int, body: Any, text: str, retry_after: float | None
) -> APIError:
    """The exception for one error response (``body`` is the decoded JSON or ``None``)."""
    kind, message = "http_error", text.strip() or f"HTTP {status}"
    if isinstance(body, dict):
        detail = body.get("error")
        if isinstance(detail, dict):
            kind = str(detail.get("kind") or detail.get("type") or kind)
            message = str(detail.get("message", message))
    cls = _BY_STATUS.get(status) or (ServerError if status >= 500 else APIError)
    return cls(status, kind, message, retry_after, body)
