"""simweb: a typed client for the offline, deterministic web of deep-research agents.

``Client`` / ``AsyncClient`` speak the native API of ``simweb serve``; ``serve`` starts
one locally. The adapters live in submodules and import their framework only there:
``simweb.gym`` (Gymnasium), ``simweb.verl`` (verl tools), ``simweb.skyrl`` (SkyRL-gym),
``simweb.tongyi`` (Tongyi DeepResearch's ``inference/`` code); ``simweb.ray`` runs one
server per Ray node.
"""

from __future__ import annotations

from .client import AsyncClient, Client, parse_metrics
from .errors import (
    APIError,
    BadRequest,
    Conflict,
    InvalidRequest,
    NotFound,
    PayloadTooLarge,
    RateLimited,
    Saturated,
    ServerError,
    ServerStartError,
    SimwebError,
    TransportError,
    Unauthorized,
)
from .server import LocalServer, serve
from .types import (
    BatchItem,
    CallRecord,
    Episode,
    EpisodeCreated,
    Passage,
    Readiness,
    Score,
    StepResult,
    ToolResult,
)

__version__ = "0.1.0"

__all__ = [
    "APIError",
    "AsyncClient",
    "BadRequest",
    "BatchItem",
    "CallRecord",
    "Client",
    "Conflict",
    "Episode",
    "EpisodeCreated",
    "InvalidRequest",
    "LocalServer",
    "NotFound",
    "Passage",
    "PayloadTooLarge",
    "RateLimited",
    "Readiness",
    "Saturated",
    "Score",
    "ServerError",
    "ServerStartError",
    "SimwebError",
    "StepResult",
    "ToolResult",
    "TransportError",
    "Unauthorized",
    "__version__",
    "parse_metrics",
    "serve",
]
