"""The per-request connection health check on PostgreSQL sends nothing, and still replaces a connection
the server closed before the request's first query (hellojohn_project/postgresql/base.py).

In-process, the WSGI application is called as a server calls it (bench/wsgi_client.py), so Django's
request signals run its check before each request's first query; what the connection sends is seen
by a hook on the psycopg connection itself, since Django's `SELECT 1` bypasses the query log. What
the check cannot see, a server that vanished without a word, costs one 503 and no more (a relay in
the test plays the vanished server). Over
HTTP, gunicorn runs against a cluster of the test's own that logs every statement, and that is
restarted under it, or behind a PgBouncer that closes its client connections.
"""

import re
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import Any

import psycopg
import pytest
from django.conf import settings
from django.db import connection, transaction
from django.db.backends.postgresql.base import DatabaseWrapper as DjangoPostgreSQLWrapper
from django.test.utils import CaptureQueriesContext

from bench.wsgi_client import WsgiClient
from hellojohn_project.postgresql import base as backend
from tests.conftest import TenantKeys
from tests.live_app import gunicorn, post_json, production_env, set_up_database
from tests.pgcluster import Cluster, primary

pytestmark = [pytest.mark.postgres]

PASSWORD = "correct horse battery staple"


@pytest.fixture
def on_postgresql(transactional_db: None) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("the health check is PostgreSQL's")
    if settings.DATABASE_POOLER:
        pytest.skip("behind PgBouncer the server's backend is not the client connection's")


class Rotation:
    """One device refreshing its session again and again through the WSGI application."""

    def __init__(self, tenant: TenantKeys, refresh_token: str) -> None:
        self.client = WsgiClient(bearer=tenant.publishable_key, tenant_id=tenant.id)
        self.client.headers["HTTP_HOST"] = "testserver"  # the suite's ALLOWED_HOSTS
        self.token = refresh_token

    def __call__(self) -> int:
        reply = self.client.post("/v1/auth/token/refresh", {"refresh_token": self.token})
        if reply.status == 200:
            self.token = reply.json()["session"]["refresh_token"]
        return reply.status


@pytest.fixture
def rotate(on_postgresql: None, tenant: TenantKeys, user: Any, sign_in: Callable[..., dict[str, Any]]) -> Rotation:
    rotation = Rotation(tenant, sign_in()["session"]["refresh_token"])
    assert rotation() == 200  # warm: the connection is open and kept
    return rotation


def backend_pid() -> int:
    return connection.connection.info.backend_pid  # known to libpq: no round trip


def server_connection() -> psycopg.Connection:
    config = connection.settings_dict
    return psycopg.connect(host=config["HOST"], port=config["PORT"] or 5432, user=config["USER"],
                           password=config["PASSWORD"] or None, dbname=config["NAME"], autocommit=True)


@contextmanager
def statements_sent() -> Iterator[list[str]]:
    """Every statement the default connection's psycopg connection executes, Django's health check
    too, through its cursor factory or the backend's server-bound cursors."""
    raw = connection.connection
    original, original_bound = raw.cursor_factory, backend.ServerBindingCursor
    sent: list[str] = []

    def recording(cursor_class: type) -> type:
        class Recording(cursor_class):  # type: ignore[misc, valid-type]
            def execute(self, query: Any, *args: Any, **kwargs: Any) -> Any:
                sent.append(str(query))
                return super().execute(query, *args, **kwargs)
        return Recording

    raw.cursor_factory = recording(original)
    backend.ServerBindingCursor = recording(original_bound)
    try:
        yield sent
    finally:
        raw.cursor_factory, backend.ServerBindingCursor = original, original_bound


def test_the_hook_sees_djangos_own_health_check(on_postgresql: None) -> None:
    connection.ensure_connection()
    with statements_sent() as sent:
        assert DjangoPostgreSQLWrapper.is_usable(connection)
    assert sent == ["SELECT 1"]


def test_a_warm_refresh_sends_no_select_1(rotate: Rotation) -> None:
    pid = backend_pid()
    with statements_sent() as sent, CaptureQueriesContext(connection) as logged:
        assert [rotate() for _ in range(3)] == [200, 200, 200]
    assert backend_pid() == pid  # one kept connection, which Django checked before each request
    assert "SELECT 1" not in sent
    assert len(sent) == len(logged.captured_queries) > 0  # nothing was sent beside the logged statements


def test_after_pg_terminate_backend_the_next_refresh_succeeds_on_a_new_connection(rotate: Rotation) -> None:
    pid = backend_pid()
    with server_connection() as other:
        assert other.execute("SELECT pg_terminate_backend(%s, 5000)", [pid]).fetchone() == (True,)
    assert rotate() == 200
    assert backend_pid() != pid


def test_after_idle_session_timeout_the_next_refresh_succeeds_on_a_new_connection(rotate: Rotation) -> None:
    pid = backend_pid()
    connection.connection.execute("SET idle_session_timeout = '100ms'")
    time.sleep(0.5)
    assert rotate() == 200
    assert backend_pid() != pid


def test_in_a_transaction_the_check_asks_the_server_as_djangos_does(on_postgresql: None) -> None:
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT 2")
        with statements_sent() as sent:
            assert connection.is_usable()
    assert sent == ["SELECT 1"]


class VanishingProxy:
    """A TCP relay to the database whose `vanish()` makes the server side of every relayed connection
    disappear without a word: nothing more reaches the app until it sends, and then a reset (a host gone
    or a partition, as a middlebox reports it). Connections made afterwards are relayed again."""

    def __init__(self, port: int) -> None:
        self.upstream_port = port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.relayed: list[tuple[socket.socket, socket.socket, threading.Event]] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
            gone = threading.Event()
            self.relayed.append((client, upstream, gone))
            threading.Thread(target=self._pump, args=(client, upstream, gone, client), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, gone, client), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, target: socket.socket, gone: threading.Event, client: socket.socket) -> None:
        while True:
            try:
                data = source.recv(65536)
            except OSError:
                data = b""
            if gone.is_set():
                if source is client and data:  # the app speaks to a peer that is no more: a reset
                    client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    client.close()
                return
            if not data:
                for end in (source, target):
                    with suppress(OSError):
                        end.shutdown(socket.SHUT_RDWR)
                    end.close()
                return
            target.sendall(data)

    def vanish(self) -> None:
        for _client, upstream, gone in self.relayed:
            gone.set()
            with suppress(OSError):  # shutdown, not only close: it wakes the pump blocked reading it
                upstream.shutdown(socket.SHUT_RDWR)
            upstream.close()

    def close(self) -> None:
        self.listener.close()


@pytest.fixture
def through_proxy(rotate: Rotation) -> Iterator[VanishingProxy]:
    """The default connection reconnected through a VanishingProxy (the suite's server behind it)."""
    config = connection.settings_dict
    proxy = VanishingProxy(int(config["PORT"] or 5432))
    original = config["HOST"], config["PORT"]
    connection.close()
    config["HOST"], config["PORT"] = "127.0.0.1", proxy.port
    try:
        assert rotate() == 200  # connected through the proxy, and kept
        yield proxy
    finally:
        connection.close()
        config["HOST"], config["PORT"] = original
        proxy.close()


def test_a_silently_vanished_server_fails_one_request_with_503_then_the_next_reconnects(
        rotate: Rotation, through_proxy: VanishingProxy) -> None:
    pid = backend_pid()
    through_proxy.vanish()
    reply = rotate.client.post("/v1/auth/token/refresh", {"refresh_token": rotate.token})
    # Nothing arrived to read, so the check passed; the request's first query found the peer gone.
    assert reply.status == 503, reply.body
    assert reply.json()["error"]["code"] == "service_unavailable"
    assert connection.connection is None  # closed at the end of that request (errors_occurred)
    assert rotate() == 200
    assert backend_pid() != pid


# --- Over HTTP, on a cluster of the test's own ----------------------------------------------------

LINE = re.compile(r"^(?P<application>[^:]*):(?P<pid>\d+):(?P<message>.*)$")
STATEMENT = re.compile(r"^LOG:  (?:statement|execute [^:]*): (?P<sql>.*)$")


@pytest.fixture
def logging_cluster() -> Iterator[Cluster]:
    """Every statement in the server's log, each line with its connection's application name and pid
    (no `|` in the prefix: pg_ctl starts the server through a shell). Run with the PostgreSQL suite only."""
    if connection.vendor != "postgresql":
        pytest.skip("the health check is PostgreSQL's")
    with primary(extra=("log_statement=all", "log_line_prefix=%a:%p:")) as cluster:
        cluster.sql("CREATE DATABASE hellojohn")
        yield cluster


def app_statements(cluster: Cluster, since: int) -> list[tuple[int, str]]:
    """(pid, statement) of the app's request connections logged after byte `since`: those without an
    application name, which the log writes `[unknown]` (the listener's is `hellojohn-listener`). A
    statement of several lines goes on without the prefix."""
    found: list[tuple[int, str]] = []
    continues = False
    for line in cluster.log.read_bytes()[since:].decode().splitlines():
        match = LINE.match(line)
        if match is None:
            if continues:
                found[-1] = (found[-1][0], f"{found[-1][1]}\n{line}")
            continue
        statement = STATEMENT.match(match["message"])
        continues = bool(statement) and match["application"] == "[unknown]"
        if continues:
            found.append((int(match["pid"]), statement["sql"]))
    return found


class HttpRotation:
    def __init__(self, base: str, keys: dict[str, str]) -> None:
        self.url = f"{base}/v1/auth/token/refresh"
        self.device = {"Authorization": f"Bearer {keys['publishable_key']}", "X-Tenant-ID": keys["tenant_id"]}
        status, _, body = post_json(f"{base}/v1/auth/sign-in", {"email": "alice@example.com", "password": PASSWORD},
                                    self.device)
        assert status == 200, body
        self.token = body["session"]["refresh_token"]

    def __call__(self) -> int:
        status, _, body = post_json(self.url, {"refresh_token": self.token}, self.device)
        if status == 200:
            self.token = body["session"]["refresh_token"]
        return status


def test_over_http_the_server_runs_no_select_1_for_warm_refreshes(logging_cluster: Cluster) -> None:
    env = production_env(logging_cluster.url())
    keys = set_up_database(env)
    with gunicorn(env, workers=1) as base:
        rotate = HttpRotation(base, keys)
        assert rotate() == 200
        since = logging_cluster.log.stat().st_size
        assert [rotate() for _ in range(5)] == [200] * 5
        time.sleep(0.2)  # the server's log is written as statements run; let the last lines land
        statements = app_statements(logging_cluster, since)
    assert len({pid for pid, _ in statements}) == 1, statements  # one kept connection, checked before each request
    assert [sql for _, sql in statements if sql.strip() == "SELECT 1"] == []
    assert sum("UPDATE" in sql for _, sql in statements) >= 5, statements  # the five rotations' writes


@pytest.mark.parametrize("mode", ["fast", "immediate"])
def test_after_a_postgresql_restart_the_next_refresh_succeeds(logging_cluster: Cluster, mode: str) -> None:
    env = production_env(logging_cluster.url())
    keys = set_up_database(env)
    with gunicorn(env, workers=1) as base:
        rotate = HttpRotation(base, keys)
        assert rotate() == 200
        since = logging_cluster.log.stat().st_size
        logging_cluster.stop(mode)
        logging_cluster.start()
        assert rotate() == 200
        assert rotate() == 200
        time.sleep(0.2)
        statements = app_statements(logging_cluster, since)
    assert sum("UPDATE" in sql for _, sql in statements) >= 2, statements  # the log shows the two rotations
    assert [sql for _, sql in statements if sql.strip() == "SELECT 1"] == []


def test_after_pgbouncer_closes_its_client_side_the_next_refresh_succeeds(logging_cluster: Cluster) -> None:
    from tests.pgbouncer import find_pgbouncer, pgbouncer

    if find_pgbouncer() is None:
        pytest.skip("no pgbouncer on this machine")
    with pgbouncer(postgres_port=logging_cluster.port, workdir=logging_cluster.workdir) as bouncer:
        env = production_env(bouncer.url("hellojohn"), DATABASE_POOLER="pgbouncer",
                             HJ_LISTENER_DATABASE_URL=logging_cluster.url())
        keys = set_up_database(env)
        with gunicorn(env, workers=1) as base:
            rotate = HttpRotation(base, keys)
            assert rotate() == 200
            with psycopg.connect(bouncer.url("pgbouncer"), autocommit=True, prepare_threshold=None) as admin:
                admin.execute("KILL hellojohn")  # closes every client connection to the database, then
                admin.execute("RESUME hellojohn")  # takes new ones again
            since = logging_cluster.log.stat().st_size
            assert rotate() == 200
            time.sleep(0.2)
            statements = app_statements(logging_cluster, since)
    assert statements and [sql for _, sql in statements if sql.strip() == "SELECT 1"] == []
