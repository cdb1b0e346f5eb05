"""Django's PostgreSQL backend whose connection health check reads what the server sent, and sends nothing.

Why: with CONN_HEALTH_CHECKS (settings.py) Django asks `is_usable()` before the first query of every
request that reuses a persistent connection, and Django's answer is a `SELECT 1` round trip. On a
warm refresh that was one of five round trips (README, "Performance", section 4). The check stays,
once per request as Django calls it; only its cost changes.

How: a server that closes a connection (a restart in any shutdown mode, `pg_terminate_backend`,
`idle_session_timeout`, PgBouncer closing its client side) sends a FATAL message and closes the
socket while the connection sits idle in this process. So the socket is polled without waiting,
and while it has something to read libpq reads it (PQconsumeInput, which never blocks and never
sends). Reading the end of the stream marks the connection bad, and Django then opens a fresh one
before the request's first query, as it did after a failed `SELECT 1`. Polling again after each
read matters: the FATAL message and the end of the stream usually come in one read each, and
libpq marks the connection bad only on the second (measured on PostgreSQL 15 with libpq 18).
Anything else read (a notice, a parameter change) stays in libpq's buffer for the next query.

Where Django's check says something the socket cannot, Django's check answers: after an error on
the connection (`errors_occurred`, the check at the end of such a request and the 503 decision of
hellojohn_project/unavailable.py) and when the connection is not idle (in a transaction, a failed
one, or a query still running), `SELECT 1` is sent as before.

What it does not detect: a peer that vanished without a word (a network partition, a host that
lost power, a middlebox that dropped the idle connection). Nothing arrives, the socket stays quiet,
and the request's first real query is what finds out: it fails once (after TCP gives up, unless
the server answers with a reset), the request answers 503 `service_unavailable` (docs/api.md
section 5, hellojohn_project/unavailable.py), and Django closes the connection at the end of that
request (`errors_occurred`), so the next request connects afresh (tested with a relay that goes
silent, then resets). Django's `SELECT 1` would have
found such a peer one query earlier, at the cost of a round trip on every request. TCP keepalives
(libpq's `keepalives_idle`, e.g. `?keepalives_idle=30` on DATABASE_URL) should turn a vanished peer
into a socket error this check sees; that is not tested here.

Measured (tests/deploy/test_connection_health_check.py, over TLS and through PgBouncer by hand as
well): a terminated backend, a fast or immediate restart, `idle_session_timeout` and PgBouncer's
KILL are all seen; through PgBouncer a restart of PostgreSQL leaves the client connection usable
(PgBouncer drops its dead server connections), which the check rightly answers.
"""

import select
from typing import Any

from django.db.backends.postgresql.base import TIMESTAMPTZ_OID, ServerBindingCursor
from django.db.backends.postgresql.base import DatabaseWrapper as PostgreSQLDatabaseWrapper
from django.db.backends.postgresql.operations import DatabaseOperations as PostgreSQLDatabaseOperations
from django.db.backends.postgresql.psycopg_any import register_tzloader
from django.db.backends.utils import CursorWrapper
from django.utils.asyncio import async_unsafe
from psycopg import DataError, OperationalError, pq

# Reads before giving up on a socket that keeps having data (a flood of notices): the connection
# is then judged by a round trip, as Django's check would.
MAX_READS = 8


class DatabaseOperations(PostgreSQLDatabaseOperations):
    def last_executed_query(self, cursor: Any, sql: str, params: Any) -> str | None:
        """What the query log shows (DEBUG, the tests' CaptureQueriesContext): psycopg keeps no text for
        the execution of a prepared statement (`server_bound_cursor`), so it is composed here as
        Django composes it under server-side binding."""
        executed = super().last_executed_query(cursor, sql, params)
        if executed is not None:
            return executed
        try:
            return self.compose_sql(sql, params)
        except DataError:
            return sql


class DatabaseWrapper(PostgreSQLDatabaseWrapper):
    ops_class = DatabaseOperations

    @async_unsafe
    def server_bound_cursor(self) -> CursorWrapper:
        """A cursor (wrapped as Django wraps its own: logged, counted, errors translated) that sends its
        parameters apart from the statement, so psycopg prepares a statement it has run
        `prepare_threshold` times on this connection (5 by default; never through PgBouncer, see
        settings.py) and PostgreSQL parses and plans it once per connection.

        For the hot paths' fixed statements (hellojohn_project/postgresql/__init__.py `statement_cursor`).
        Everything else keeps Django's default client-side binding, for which the ORM's SQL is written
        and tested. Mirrors `BaseDatabaseWrapper._cursor` and `create_cursor`."""
        self.close_if_health_check_failed()
        self.ensure_connection()
        with self.wrap_database_errors:
            cursor = ServerBindingCursor(self.connection)
            # The connection's time zone, as create_cursor registers it when the connection's own disagrees.
            loader = self.connection.adapters.get_loader(TIMESTAMPTZ_OID, pq.Format.TEXT)
            if self.timezone != loader.timezone:
                register_tzloader(self.timezone, cursor)
            return self._prepare_cursor(cursor)

    def is_usable(self) -> bool:
        if self.connection is None:
            return False
        if self.errors_occurred:
            return super().is_usable()
        with self.connection.lock:  # psycopg's, held by a query running in another thread
            found = self._read_without_sending()
        return super().is_usable() if found is None else found

    def _read_without_sending(self) -> bool | None:
        """Usable or not from what the server sent; None when only a round trip can tell."""
        pgconn = self.connection.pgconn
        if pgconn.status != pq.ConnStatus.OK:
            return False
        if pgconn.transaction_status != pq.TransactionStatus.IDLE:
            return None
        poller = select.poll()
        poller.register(pgconn.socket, select.POLLIN)
        for _ in range(MAX_READS):
            if not poller.poll(0):
                return pgconn.status == pq.ConnStatus.OK
            try:
                pgconn.consume_input()
            except OperationalError:  # the end of the stream, or a socket error: closed by the server
                return False
        return None
