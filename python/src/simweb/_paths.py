"""Files shipped inside the package (importable without any framework installed)."""

from __future__ import annotations

from pathlib import Path

#: verl's tool config for simweb's search, visit and python tools (see ``simweb.verl``).
VERL_TOOL_CONFIG = Path(__file__).with_name("verl_tool_config.yaml")
