"""docs/openapi.json through the Node tools clients use: Redocly lint with no errors, and a TypeScript
client whose generated types (openapi-typescript) type-check with tsc against clients/typescript/sessions.ts."""

import re
import shutil
from pathlib import Path

from tests.node_tools import ROOT, run_node_tool


def test_redocly_lint_reports_no_errors() -> None:
    result = run_node_tool("redocly", "lint", "docs/openapi.json", "--format=stylish")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert not re.search(r"\berror\b", re.sub(r"(?m)^.*(Node\.js|nodejs\.org).*$", "", output)), output
    assert "valid" in output


def test_the_typescript_client_type_checks(tmp_path: Path) -> None:
    project = tmp_path / "typescript"
    shutil.copytree(ROOT / "clients" / "typescript", project, ignore=shutil.ignore_patterns("generated"))
    (project / "node_modules").symlink_to(ROOT / "node_modules")
    generated = run_node_tool("openapi-typescript", "docs/openapi.json", "--output",
                              str(project / "generated" / "schema.d.ts"))
    assert generated.returncode == 0, generated.stderr
    checked = run_node_tool("tsc", "--noEmit", "-p", str(project))
    assert checked.returncode == 0, checked.stdout + checked.stderr

    # The check can fail: a use of the types that the schema forbids does not compile.
    (project / "wrong.ts").write_text('import type { components } from "./generated/schema";\n'
                                      'export const s: components["schemas"]["SessionStatusEnum"] = "paused";\n')
    wrong = run_node_tool("tsc", "--noEmit", "-p", str(project))
    assert wrong.returncode != 0
    assert "wrong.ts" in wrong.stdout
