"""``simweb.tongyi.patch``: Tongyi DeepResearch's tool code, with its hard-coded hosts
left as they are, served by simweb.

Tongyi's ``inference/`` is not a package (it imports ``qwen_agent`` and its own
``prompt`` module), so its three tools' request/response paths are restated in
``env-api/tests/fixtures/tongyi_tools.py`` from ``Alibaba-NLP/DeepResearch``
(``inference/tool_search.py`` at 1348ac5b, ``tool_visit.py`` and ``tool_python.py`` at
d60f2545). Here they run with the upstream constants: ``HTTPSConnection("google.serper.dev")``
and ``https://r.jina.ai/``, the environment left to the patch. Each run is a fresh
process, as the patch is process-wide and Tongyi reads some variables at import.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parents[2] / "env-api" / "tests" / "fixtures"

SCRIPT = """
import http.client, json, os, sys
import simweb.tongyi
simweb.tongyi.patch(sys.argv[1])  # the one line a Tongyi user adds
sys.path.insert(0, sys.argv[2])
import tongyi_tools as tongyi

untouched = http.client.HTTPSConnection("example.org")
out = {
    "search": tongyi.search(lambda: http.client.HTTPSConnection("google.serper.dev"), "Albedo of snow"),
    "search_zh": tongyi.search(lambda: http.client.HTTPSConnection("google.serper.dev"), "数学"),
    "visit": tongyi.visit("https://r.jina.ai/", "https://en.wikipedia.org/wiki/Albedo", "What is albedo?"),
    "visit_missing": tongyi.visit("https://r.jina.ai/", "https://en.wikipedia.org/wiki/No_such_page_xyz", "x"),
    "python": tongyi.python("print(6 * 7)"),
    "env": {k: os.environ[k] for k in ("API_BASE", "SANDBOX_FUSION_ENDPOINT", "SUMMARY_MODEL_NAME")},
    "other_host": [untouched.host, type(untouched).__name__],
}
simweb.tongyi.unpatch()
out["restored"] = "__new__" not in vars(http.client.HTTPSConnection)
print(json.dumps(out))
"""


def _run(url: str) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if k not in ("API_BASE", "API_KEY", "SANDBOX_FUSION_ENDPOINT", "SERPER_KEY_ID")}
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, url, str(FIXTURES)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout.splitlines()[-1])
    return result


def test_tongyi_tools_unmodified_reach_simweb(url: str) -> None:
    out = _run(url)
    assert out["search"].startswith("A Google search for 'Albedo of snow' found")
    assert "## Web Results\n1. [Albedo](https://en.wikipedia.org/wiki/Albedo)" in out["search"]
    assert "数学" in out["search_zh"] and "zh.wikipedia.org" in out["search_zh"]
    assert out["visit"].startswith(
        "The useful information in https://en.wikipedia.org/wiki/Albedo for user goal What is albedo? as follows:"
    )
    assert "Evidence in page: \n" in out["visit"] and "Summary: \n" in out["visit"]
    assert "could not be accessed" in out["visit_missing"]
    assert out["python"] == "stdout:\n42\n"
    assert out["env"] == {
        "API_BASE": f"{url}/v1",
        "SANDBOX_FUSION_ENDPOINT": f"{url}/compat/sandbox-fusion",
        "SUMMARY_MODEL_NAME": "simweb-extractor",
    }
    # Other hosts keep the real HTTPSConnection, not redirected; unpatch restores it.
    assert out["other_host"] == ["example.org", "HTTPSConnection"]
    assert out["restored"] is True


def test_patch_rejects_a_bad_url() -> None:
    import pytest

    import simweb.tongyi

    with pytest.raises(ValueError, match="base_url"):
        simweb.tongyi.patch("127.0.0.1:8080")
