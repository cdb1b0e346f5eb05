"""The Node tools pinned in package.json (Redocly CLI, openapi-typescript, tsc), for the OpenAPI checks.

Like the browser tests (tests/browser.py): without Node or `npm ci`'s node_modules the tests skip
with a clear message locally, and fail under CI=true, where `.ci/run` installs both.
"""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / "node_modules" / ".bin"


def require_node_tool(name: str) -> Path:
    """The path of a package.json tool, or skip (locally) / fail (CI) when Node or the tool is missing."""
    problem = None
    if shutil.which("node") is None:
        problem = "No Node.js found (install Debian's `nodejs` and `npm`; .ci/run does)."
    elif not (BIN / name).exists():
        problem = f"node_modules/.bin/{name} is missing: run `make node-deps` (npm ci)."
    if problem is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(problem + " CI requires the OpenAPI tool checks to run.")
        pytest.skip(problem)
    return BIN / name


def run_node_tool(name: str, *args: str) -> subprocess.CompletedProcess[str]:
    tool = require_node_tool(name)
    # No telemetry or update check: the only network CI has is the package registries.
    env = {**os.environ, "REDOCLY_TELEMETRY": "off", "REDOCLY_SUPPRESS_UPDATE_NOTICE": "true"}
    return subprocess.run([str(tool), *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
                          check=False)
