"""on_commit callbacks in tests that run inside the test case's transaction, as they run in production.

A test marked plain `django_db` runs inside a transaction that is rolled back at its end, so
nothing it does ever commits and `transaction.on_commit` callbacks (the audit lines) would never
run. Here the app's own outermost atomic block counts as the commit: its callbacks run when it
exits without error (they are dropped, as Django drops them, when it rolls back), and a callback
registered outside any of the app's blocks runs at once, as in autocommit. Tests with
`transaction=True` are untouched: their commits are real.
"""

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.db import transaction
from django.db.backends.base.base import BaseDatabaseWrapper


def _only_test_blocks(connection: BaseDatabaseWrapper) -> bool:
    blocks = connection.atomic_blocks
    return bool(blocks) and all(block._from_testcase for block in blocks)


@pytest.fixture(autouse=True)
def _on_commit_as_in_production(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    real_on_commit = BaseDatabaseWrapper.on_commit
    real_exit = transaction.Atomic.__exit__

    def on_commit(self: BaseDatabaseWrapper, func: Callable[[], Any], robust: bool = False) -> None:
        if self.in_atomic_block and _only_test_blocks(self):
            func()
            return
        real_on_commit(self, func, robust)

    def exit_block(self: transaction.Atomic, exc_type: Any, exc_value: Any, traceback: Any) -> None:
        real_exit(self, exc_type, exc_value, traceback)
        connection = transaction.get_connection(self.using)
        if self._from_testcase or not _only_test_blocks(connection):
            return
        open_savepoints = set(connection.savepoint_ids)
        ready = [hook for hook in connection.run_on_commit if not hook[0] <= open_savepoints]
        connection.run_on_commit = [hook for hook in connection.run_on_commit if hook[0] <= open_savepoints]
        for _, func, _robust in ready:
            func()

    monkeypatch.setattr(BaseDatabaseWrapper, "on_commit", on_commit)
    monkeypatch.setattr(transaction.Atomic, "__exit__", exit_block)
    yield
