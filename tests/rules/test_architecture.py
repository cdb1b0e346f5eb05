"""The code's shape, enforced: only the revocation rule writes a session's revocation, and the import contracts hold.

Exactly one function revokes sessions (`sessions_app/services/revocation.py`, `_revoke`): the scan
below reads every module of the packages that may name `Session` and fails on any other write of
`revoked_at` or `revoked_reason`. `tenants_app` is not scanned: the kernel contract (run below) forbids
it to import `sessions_app`, and its own `revoked_at` is an API key's.
"""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[2]
SCANNED = ("sessions_app", "hellojohn_project")
REVOCATION_RULE = "sessions_app/services/revocation.py"
FIELDS = frozenset({"revoked_at", "revoked_reason"})
# Calls whose keyword arguments are lookups, not values written.
READS = frozenset({"filter", "exclude", "get", "Q", "aggregate", "annotate", "alias"})
# Calls whose string arguments name the columns written.
COLUMN_LISTS = frozenset({"bulk_update", "save", "refresh_from_db"})


def _call_name(call: ast.Call) -> str:
    func = call.func
    if isinstance(func, ast.Attribute):
        return func.attr
    return func.id if isinstance(func, ast.Name) else ""


def _dict_keys(node: ast.AST) -> set[str]:
    if not isinstance(node, ast.Dict):
        return set()
    return {key.value for key in node.keys if isinstance(key, ast.Constant) and isinstance(key.value, str)}


def _strings_in(node: ast.AST) -> set[str]:
    return {sub.value for sub in ast.walk(node) if isinstance(sub, ast.Constant) and isinstance(sub.value, str)}


def revocation_writes(source: str) -> list[tuple[int, str]]:
    """(line, what) for each write of a revocation field: `x.revoked_at = …`, `setattr(x, "revoked_at", …)`,
    `update(revoked_at=…)`/`create(…)`/`Session(…)`, a dict with the field passed to a call (as
    `update_returning` takes), and the field in `save(update_fields=…)` or `bulk_update(…)`."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                for sub in ast.walk(target):
                    if isinstance(sub, ast.Attribute) and sub.attr in FIELDS and isinstance(sub.ctx, ast.Store):
                        found.append((node.lineno, f"assigns .{sub.attr}"))
        if not isinstance(node, ast.Call):
            continue
        name = _call_name(node)
        if name == "setattr" and len(node.args) >= 2 and _strings_in(node.args[1]) & FIELDS:
            found.append((node.lineno, "setattr of a revocation field"))
        for keyword in node.keywords:
            if keyword.arg in FIELDS and name not in READS:
                found.append((node.lineno, f"{name}({keyword.arg}=…)"))
            if keyword.arg is None and _dict_keys(keyword.value) & FIELDS:
                found.append((node.lineno, f"{name}(**{{…revoked…}})"))
            if keyword.arg in {"defaults", "create_defaults"} and _dict_keys(keyword.value) & FIELDS:
                found.append((node.lineno, f"{name}({keyword.arg}={{…revoked…}})"))
            columns = keyword.arg in {"update_fields", "fields"} and name in COLUMN_LISTS
            if columns and _strings_in(keyword.value) & FIELDS:
                found.append((node.lineno, f"{name}({keyword.arg}=[…revoked…])"))
        for arg in node.args:
            if _dict_keys(arg) & FIELDS:
                found.append((node.lineno, f"{name}({{…revoked…}})"))
            if name in COLUMN_LISTS and isinstance(arg, ast.List | ast.Tuple | ast.Set) and _strings_in(arg) & FIELDS:
                found.append((node.lineno, f"{name}([…revoked…])"))
    return found


def scanned_modules() -> list[Path]:
    modules = [path for package in SCANNED for path in sorted((PROJECT / package).rglob("*.py"))]
    return [path for path in modules if "migrations" not in path.relative_to(PROJECT).parts]


@pytest.mark.parametrize("source", [
    "Session.objects.filter(pk=session_id).update(revoked_at=now, revoked_reason='signed_out')",
    "Session.objects.filter(user=user).update(revoked_reason=reason)",
    "session.revoked_at = timezone.now()",
    "self.session.revoked_reason: str = 'session_limit'",
    "setattr(session, 'revoked_at', now)",
    "Session.objects.create(user=user, revoked_at=now)",
    "Session(user=user, revoked_reason='signed_out').save()",
    "Session.objects.update_or_create(pk=pk, defaults={'revoked_at': now})",
    "update_returning(sessions, {'revoked_at': now}, returning=('id',))",
    "sessions.update(**{'revoked_at': now})",
    "session.save(update_fields=['revoked_at'])",
    "Session.objects.bulk_update(sessions, ['revoked_reason'])",
])
def test_the_scan_sees_each_way_of_writing_a_revocation(source: str) -> None:
    assert revocation_writes(source) != []


@pytest.mark.parametrize("source", [
    "Session.objects.filter(revoked_at__isnull=True, revoked_reason='signed_out').exclude(revoked_at=now)",
    "Count('pk', filter=Q(revoked_reason=reason))",
    "data = {'revoked_at': timestamp(session.revoked_at), 'revoked_reason': session.revoked_reason}",
    "if session.revoked_at is None: pass",
    "fields = ('revoked_at', 'revoked_reason')",
])
def test_the_scan_ignores_reads(source: str) -> None:
    assert revocation_writes(source) == []


def test_only_the_revocation_rule_writes_revoked_at_or_revoked_reason() -> None:
    writers = {}
    for path in scanned_modules():
        writes = revocation_writes(path.read_text(encoding="utf-8"))
        if writes:
            writers[path.relative_to(PROJECT).as_posix()] = writes
    assert REVOCATION_RULE in writers, "the scan no longer sees _revoke's UPDATE: fix the scan"
    del writers[REVOCATION_RULE]
    assert writers == {}, "only sessions_app/services/revocation.py may write a session's revocation"


def lint_imports(*args: str) -> subprocess.CompletedProcess[str]:
    """The `lint-imports` of this interpreter's environment (requirements-test.txt installs it)."""
    command = Path(sys.executable).parent / "lint-imports"
    assert command.exists(), f"{command} is missing: pip install -r requirements-test.txt"
    return subprocess.run([str(command), "--no-cache", *args], cwd=PROJECT, capture_output=True, text=True,
                          timeout=300, check=False)


def test_the_import_contracts_hold() -> None:
    result = lint_imports()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_lint_imports_fails_on_a_broken_contract(tmp_path: Path) -> None:
    """The tool does refuse: the /v1 views import the models, so forbidding that must fail."""
    config = tmp_path / "broken.ini"
    config.write_text("[importlinter]\nroot_packages =\n    sessions_app\n\n"
                      "[importlinter:contract:broken]\nname = deliberately broken\ntype = forbidden\n"
                      "source_modules =\n    sessions_app.api\nforbidden_modules =\n    sessions_app.models\n")
    result = lint_imports("--config", str(config))
    assert result.returncode == 1, result.stdout + result.stderr
    assert "deliberately broken BROKEN" in result.stdout
