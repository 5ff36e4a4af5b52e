"""verl: simweb's tools as ``verl.tools.base_tool.BaseTool`` subclasses.

verl's agent loop (``verl/experimental/agent_loop/tool_agent_loop.py``) loads tools from
a YAML file (``actor_rollout_ref.rollout.multi_turn.tool_config_path``) and, for every
single tool call, runs ``create`` → ``execute`` → ``release``. These tools keep no state
between calls (simweb's tools are stateless and cached server-side), so that lifecycle
costs nothing; one pooled ``AsyncClient`` per tool object carries every call.

verl's schema model accepts one ``type`` per property and drops ``items``, so the
schemas here are simweb's own flattened by :func:`flatten_schema` (an array property
says in its description what its items are). ``tool_config.yaml`` beside this module is
a ready tool config::

    actor_rollout_ref.rollout.multi_turn.tool_config_path=$(python -m simweb verl-config)

Importing this module needs verl itself (it subclasses verl's ``BaseTool``).
"""

from __future__ import annotations

import copy
import os
from typing import Any
from uuid import uuid4

from verl.tools.base_tool import BaseTool
from verl.tools.schemas import OpenAIFunctionToolSchema, ToolResponse

from ._paths import VERL_TOOL_CONFIG
from .client import AsyncClient, Client
from .errors import APIError, SimwebError

#: The ready tool config: search, visit and python against ``$SIMWEB_URL``.
TOOL_CONFIG = VERL_TOOL_CONFIG

def flatten_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """An OpenAI function schema reduced to what verl's schema model keeps.

    A property typed ``["string", "array"]`` becomes ``array``; ``items`` is folded into
    the description (``"... (array of string)"``); other keywords verl drops are removed,
    so ``model_dump`` of the validated schema equals this dict.
    """
    out = copy.deepcopy(schema)
    params = out.get("function", {}).get("parameters", {})
    properties: dict[str, Any] = params.get("properties", {})
    for name, prop in list(properties.items()):
        kind = prop.get("type", "string")
        if isinstance(kind, list):
            kind = "array" if "array" in kind else next(k for k in kind if k != "null")
        flat: dict[str, Any] = {"type": kind}
        description = prop.get("description", "")
        if kind == "array":
            item_type = prop.get("items", {}).get("type", "string")
            description = f"{description} (array of {item_type})".strip()
        if description:
            flat["description"] = description
        if "enum" in prop:
            flat["enum"] = list(prop["enum"])
        properties[name] = flat
    params["required"] = list(params.get("required", []))
    out["function"] = {k: v for k, v in out["function"].items() if k in ("name", "description", "parameters")}
    return out


def _base_url(config: dict[str, Any]) -> str:
    return str(config.get("base_url") or os.environ.get("SIMWEB_URL") or "http://127.0.0.1:8080")


class SimwebTool(BaseTool):
    """One simweb tool called through ``POST /v1/tools/{name}``.

    ``config`` (the YAML ``config:`` block, passed by verl as a dict):
        ``type``: ``native`` (verl requires it); ``base_url``: the server (default
        ``$SIMWEB_URL``); ``api_key``; ``client_id``; ``timeout`` (seconds).
    Without ``tool_schema`` in the YAML the schema is read from the server.
    """

    #: The simweb tool this class calls (``PythonInterpreter`` is ``python``).
    simweb_tool = ""

    def __init__(self, config: dict[str, Any], tool_schema: OpenAIFunctionToolSchema | None = None) -> None:
        self._config = dict(config or {})
        self._client: AsyncClient | None = None
        super().__init__(self._config, tool_schema)

    def get_openai_tool_schema(self) -> OpenAIFunctionToolSchema:
        with Client(_base_url(self._config), api_key=self._config.get("api_key")) as client:
            for schema in client.tools():
                if schema["function"]["name"] in (self.simweb_tool, _schema_name(self.simweb_tool)):
                    return OpenAIFunctionToolSchema.model_validate(flatten_schema(schema))
        raise SimwebError(f"the simweb server at {_base_url(self._config)} has no `{self.simweb_tool}` tool")

    def _http(self) -> AsyncClient:
        if self._client is None:
            self._client = AsyncClient(
                _base_url(self._config),
                api_key=self._config.get("api_key"),
                client_id=self._config.get("client_id"),
                timeout=float(self._config.get("timeout", 60)),
            )
        return self._client

    async def create(self, instance_id: str | None = None, **kwargs: Any) -> tuple[str, ToolResponse]:
        return instance_id or str(uuid4()), ToolResponse()

    async def execute(self, instance_id: str, parameters: dict[str, Any], **kwargs: Any) -> tuple[ToolResponse, float, dict[str, Any]]:
        """Runs the call; a refused call is the model's to read, not an exception."""
        try:
            result = await self._http().call(self.simweb_tool, dict(parameters or {}))
        except APIError as e:
            return ToolResponse(text=f"[{self.name}] {e.kind}: {e.message}"), 0.0, {"error": e.kind}
        metrics = {"cached": result.cached, "elapsed_ms": result.elapsed_ms}
        return ToolResponse(text=result.text), 0.0, metrics

    async def calc_reward(self, instance_id: str, **kwargs: Any) -> float:
        return 0.0

    async def release(self, instance_id: str, **kwargs: Any) -> None:
        return None

    async def aclose(self) -> None:
        """Closes the connection pool (verl never does; a process exit does too)."""
        if self._client is not None:
            await self._client.aclose()
            self._client = None


def _schema_name(tool: str) -> str:
    return "PythonInterpreter" if tool == "python" else tool


class SimwebSearchTool(SimwebTool):
    """``search``: ranked pages with snippets for a list of queries."""

    simweb_tool = "search"


class SimwebVisitTool(SimwebTool):
    """``visit``: pages read with a goal; evidence and summary extracted."""

    simweb_tool = "visit"


class SimwebPythonTool(SimwebTool):
    """``PythonInterpreter``: code run in a fresh, isolated CPython."""

    simweb_tool = "python"

