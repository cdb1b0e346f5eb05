"""Real concurrency in tests: threads on their own database connections, on SQLite as on PostgreSQL.

The suite's SQLite test database lives in memory, shared between connections through SQLite's
shared cache, where a writer that meets another's lock fails at once ("database table is locked")
instead of waiting: nothing like a deployment's file database. `threads_db` copies it into a file
for the length of one test, so that every thread's connection opens that file with the project's
own options (WAL, IMMEDIATE transactions, a busy timeout), as production does. On PostgreSQL it
changes nothing: each thread gets its own server connection anyway.
"""

import sqlite3
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import connection, connections


@pytest.fixture
def threads_db(transactional_db: None, tmp_path: Path) -> Iterator[None]:
    """Committed data on a database that threads can share as processes would (see the module)."""
    if connection.vendor != "sqlite":
        yield
        return
    in_memory = connections["default"]
    settings = connections.settings["default"]
    original_name = settings["NAME"]
    path = tmp_path / "threads.sqlite3"
    in_memory.ensure_connection()
    target = sqlite3.connect(path)
    in_memory.connection.backup(target)
    target.close()
    settings["NAME"] = str(path)
    connections["default"] = connections.create_connection("default")
    try:
        yield
    finally:
        connections["default"].close()
        settings["NAME"] = original_name
        connections["default"] = in_memory


class Thread(threading.Thread):
    """Runs `call` on a connection of its own; keeps its result or exception for `outcome()`."""

    def __init__(self, call: Callable[[], Any]) -> None:
        super().__init__(daemon=True)
        self.call, self.result, self.error = call, None, None

    def run(self) -> None:
        try:
            self.result = self.call()
        except BaseException as exc:  # re-raised in the test's thread by outcome()
            self.error = exc
        finally:
            connections.close_all()

    def outcome(self, timeout: float = 30) -> Any:
        self.join(timeout=timeout)
        assert not self.is_alive(), "the call never finished"
        if self.error is not None:
            raise self.error
        return self.result


def in_parallel(calls: list[Callable[[], Any]]) -> list[Any]:
    """Runs every call in its own thread, released together by a barrier; answers results in order."""
    barrier = threading.Barrier(len(calls))

    def released(call: Callable[[], Any]) -> Callable[[], Any]:
        def run() -> Any:
            barrier.wait(timeout=30)
            return call()

        return run

    threads = [Thread(released(call)) for call in calls]
    for thread in threads:
        thread.start()
    return [thread.outcome(timeout=120) for thread in threads]
