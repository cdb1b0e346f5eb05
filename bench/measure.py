"""Timing, query counting and query-plan reading shared by the benchmark sections."""

import re
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

from django.db import connection
from django.test.utils import CaptureQueriesContext

WRITE_PREFIXES = ("INSERT", "UPDATE", "DELETE")
SESSIONS_TABLE = "sessions_app_session"
TRANSACTION_CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE SAVEPOINT")


@dataclass(frozen=True)
class Queries:
    total: int
    writes: int
    sql: list[str]

    @property
    def on_sessions(self) -> list[str]:
        """The statements that read or write the sessions table: what grows with sessions, if anything."""
        return [s for s in self.sql if f'"{SESSIONS_TABLE}"' in s or f" {SESSIONS_TABLE} " in s]

    @property
    def session_writes(self) -> int:
        return sum(_is_write(s) for s in self.on_sessions)


# A WITH statement writes when one of its parts is an INSERT, UPDATE or DELETE (the refresh rotation's).
_DATA_MODIFYING = re.compile(r"\b(INSERT\s+INTO|UPDATE\s+\S+\s+SET|DELETE\s+FROM)\b")


def _is_write(sql: str) -> bool:
    statement = sql.lstrip().upper()
    if statement.startswith("WITH"):
        return bool(_DATA_MODIFYING.search(statement))
    return statement.startswith(WRITE_PREFIXES)


def queries_of(call: Callable[[], object]) -> Queries:
    """The statements one call makes. Transaction bookkeeping is left out: SQLite's driver shows
    BEGIN and COMMIT as statements and PostgreSQL's does not, and neither is a query."""
    with CaptureQueriesContext(connection) as captured:
        call()
    sql = [q["sql"] for q in captured.captured_queries if not q["sql"].upper().startswith(TRANSACTION_CONTROL)]
    return Queries(total=len(sql), writes=sum(_is_write(s) for s in sql), sql=sql)


def seconds_per_call(call: Callable[[], object], repeat: int) -> list[float]:
    timings = []
    for _ in range(repeat):
        start = time.perf_counter()
        call()
        timings.append(time.perf_counter() - start)
    return timings


def median(values: list[float]) -> float:
    return statistics.median(values)


def uses_full_scan(sql: str, table: str = SESSIONS_TABLE) -> bool:
    """Whether the database plans to read `table` whole for this statement (a missing index)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"EXPLAIN {sql}")
            return any(f"Seq Scan on {table}" in row[0] for row in cursor.fetchall())
        cursor.execute(f"EXPLAIN QUERY PLAN {sql}")
        # SQLite: "SCAN t" reads the table; "SEARCH t USING INDEX" or "SCAN t USING COVERING INDEX" do not.
        return any(row[-1].startswith(f"SCAN {table}") and "INDEX" not in row[-1] for row in cursor.fetchall())
