"""Statements PostgreSQL itself counted (pg_stat_statements), to check the in-process query counts.

The in-process counts (bench/measure.py) see only the queries Django's connection sends; the server
sees every statement: transaction control too (BEGIN, COMMIT, SAVEPOINT: `track_utility` is on by
default), a connection health check's `SELECT 1` (CONN_HEALTH_CHECKS: the project's backend,
hellojohn_project/postgresql/base.py, sends one only for a connection in a transaction or after an
error, so it should count 0), and what the server runs by itself at COMMIT, outside any statement, and so
counts as a statement of its own: the checks of Django's deferred foreign keys (`SELECT 1 FROM ONLY
…`, counted apart) and the change log's triggers. The change feed's listener connects as a role of
its own in the bench (`HJ_LISTENER_DATABASE_URL`, set by bench/run.py), so its background reads of
the change log are counted apart from the requests' statements, by role.

It needs the cluster started with `shared_preload_libraries=pg_stat_statements` (bench/__main__.py
passes it to tests/pgcluster.py through HJ_PG_EXTRA_SETTINGS) and the extension created in the
database (bench/run.py); without them `available()` is False and the sections report no server count.
"""

from dataclasses import dataclass
from typing import Any

from django.db import connection

LISTENER_ROLE = "hellojohn_bench_listener"

# The counting statements name the view, so they leave themselves out.
_READ = """
    SELECT coalesce(sum(s.calls) FILTER (WHERE r.rolname = current_user), 0),
           coalesce(sum(s.calls) FILTER (WHERE r.rolname = current_user
                                         AND s.query ~* '^\\s*(BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE)'), 0),
           coalesce(sum(s.calls) FILTER (WHERE r.rolname = current_user
                                         AND s.query LIKE 'SELECT 1 FROM ONLY %'), 0),
           coalesce(sum(s.calls) FILTER (WHERE r.rolname = current_user AND s.query = 'SELECT $1'), 0),
           coalesce(sum(s.calls) FILTER (WHERE r.rolname <> current_user), 0)
    FROM pg_stat_statements s JOIN pg_roles r ON r.oid = s.userid
    WHERE s.dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
      AND strpos(s.query, 'pg_stat_statements') = 0
"""


@dataclass(frozen=True)
class Counted:
    ours: int  # this process's connections: the requests' statements
    transaction_control: int  # of which BEGIN, COMMIT, ROLLBACK, SAVEPOINT, RELEASE
    foreign_key_checks: int  # of which the server's own, at COMMIT (Django's foreign keys are deferred)
    health_checks: int  # of which `SELECT 1`, a health check's (CONN_HEALTH_CHECKS) when one is sent
    others: int  # other roles: the change feed's listener


def _connection() -> Any:
    """A connection of its own, so that counting adds nothing to what it counts (through Django's, the
    counting statements would be among the requests' own)."""
    global _own
    if _own is None or _own.closed:
        import psycopg

        config = connection.settings_dict
        _own = psycopg.connect(host=config["HOST"], port=config["PORT"] or 5432, user=config["USER"],
                               password=config["PASSWORD"] or None, dbname=config["NAME"], autocommit=True)
    return _own


_own: Any = None


def available() -> bool:
    if connection.vendor != "postgresql":
        return False
    try:
        read()
    except Exception:  # not loaded, or not created: no server counts, which the results say
        return False
    return True


def reset() -> None:
    """Zero the counts (per measurement, so that many distinct SAVEPOINT names never fill the view)."""
    _connection().execute("SELECT pg_stat_statements_reset()")


def read() -> Counted:
    return Counted(*(int(value) for value in _connection().execute(_READ).fetchone()))
