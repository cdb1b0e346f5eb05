"""The change feed: answering access checks from memory while proving every process has seen every revocation.

On PostgreSQL only (docs/api.md, "Revocation is immediate"). SQLite, the embedded default, runs in
one server process but management commands write from others and it has no LISTEN, so there
`lease_held()` is always False and every check queries, through the same code path.

The parts:

- **The change log** (`hellojohn_change`, migration sessions_app 0009): deferred constraint triggers on
  sessions, users, tenants, tenant configs, API keys and signing keys append `(kind, key)` rows
  (`session`/`user`/`tenant`/`api_key`/`signing_key` and the id) for every change that can stop a
  credential or change what a cached check answers (never for `last_active_at`, `last_used_at` or
  `last_sign_in_at`, which would make every request a change), and `pg_notify('hellojohn_changes')`.
  They run at COMMIT, in the changing transaction, whatever wrote the row (a service, the admin, a
  command, or SQL typed by an operator). Each takes `pg_advisory_xact_lock(EVENT_LOG_LOCK)` before it
  draws its seq, the lock the event log takes (sessions_app/event_model.py), so seq order is commit
  order: a reader that has seen seq N has seen every change numbered below N. This is a log of its
  own, not internal event types, because the triggers catch every writer, and GET /v1/events and the
  webhooks must never show it; and because it is written at commit, the lock is held only for the
  commit, so it cannot deadlock with row locks taken earlier in the transaction.
- **The listener** (one thread per process, started by the first access check, and again in a
  forked child: `os.getpid()` is compared on every check) holds its own connection
  (`application_name=hellojohn-listener`), LISTENs, and on every notification and at least every
  `POLL` seconds runs one short transaction: lock its own row of `hellojohn_listener`, note the local
  monotonic time t0, read the log after its position, drop the cache entries those rows name, and
  write its row (seq reached, `read_at = clock_timestamp()`). Only once that commits, and only if it
  read everything, does it extend the **lease** to t0 + LEASE. A lost, folded or reordered
  notification only delays the next read to the poll.
- **The cache** answers only while the lease is held (`lease_held()`). With no lease (listener
  down, database restarted, a read failing or slow) every check goes to the database as before,
  and after a reconnection the cache starts empty. A fill that raced an invalidation is refused:
  `generation()` is read before the database load and `Cache.put` stores only if no invalidation was
  applied meanwhile.
- **The revoking call** (`after_change()`, which the rules call in the changing transaction; it
  runs `wait_for_listeners()` once that transaction commits, so it holds for the API, the page, the
  admin and the commands alike) reads the log's highest seq T, then polls the listener rows
  (`FOR SHARE`) until each has seq >= T or a `read_at` older than its lease (each row records the
  lease of its process, so differently configured processes stay safe), and gives up waiting after
  the longest lease in any case.

Why no process accepts the revoked credential once the revoking call has returned: a process accepts
from memory only under a lease that began at t0 of a read R. If R's log read saw the change (seq T),
the entry is gone. If not, R's snapshot predates the change's commit C, so t0 < C, and:
(a) after LEASE from the start of waiting (which is after C) that lease has ended (t0 + LEASE < C +
LEASE): the bounded wait alone is safe; (b) an earlier return needs every row to be caught up or
lapsed. R locked its row before t0 and keeps the lock until it commits its row, and the row itself
exists since an earlier transaction (registration), so the waiter's `FOR SHARE` either waits for R's
commit or sees R's row: seq < T, and `read_at`, taken after t0, lapsed only if t0 + LEASE is
already past. So a row the waiter counts as caught up or lapsed cannot hide a lease still covering
the revoked credential. This assumes the clocks of the database and the application hosts advance at
the same rate (not that they agree), as any lease does.
"""

import atexit
import contextlib
import logging
import os
import socket
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Hashable, Iterable
from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections, transaction

logger = logging.getLogger(__name__)

CHANNEL = "hellojohn_changes"
APPLICATION_NAME = "hellojohn-listener"
# The longest gap between two reads when no notification comes (seconds).
POLL = 0.2
# Rows read per log read; a longer backlog is read in several, the lease waiting for the last.
READ_LIMIT = 10_000
# Log rows and listener rows older than this are deleted by whichever listener gets there first.
RETENTION_SECONDS = 3600
# A listener that has not read for this long (a frozen process) may have missed pruned rows: it
# starts again from an empty cache.
STALL_SECONDS = RETENTION_SECONDS / 2

Tag = tuple[str, str]


def lease_seconds() -> float:
    return float(settings.HJ_CACHE_LEASE)


# --- The cache ------------------------------------------------------------------------------------


class _State:
    """Process-wide: the lease, the invalidation generation, every cache, one lock for all of them."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.lease_until = 0.0
        self.generation = 0
        self.caches: list[Cache] = []
        self.listener: _Listener | None = None
        self.pid = 0
        self.stopped = False
        self.exit_hooked = False


_state = _State()


class Cache:
    """A bounded LRU of values that expire (monotonic deadline) and carry tags the change log names.

    `get` answers None for a missing or expired entry; it does not consult the lease (callers ask
    `lease_held()` first, once per check). Invalidating a tag drops every entry carrying it.
    """

    def __init__(self, name: str, *, size: int | None = None) -> None:
        self.name = name
        self._size = size
        self._entries: OrderedDict[Hashable, tuple[Any, float, tuple[Tag, ...]]] = OrderedDict()
        self._by_tag: dict[Tag, set[Hashable]] = {}
        with _state.lock:
            _state.caches.append(self)

    @property
    def size(self) -> int:
        return self._size if self._size is not None else int(settings.HJ_ACCESS_CACHE_SIZE)

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: Hashable) -> Any | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry[1] <= time.monotonic():
            with _state.lock:
                self._drop(key)
            return None
        with contextlib.suppress(KeyError):  # dropped meanwhile by another thread
            self._entries.move_to_end(key)
        return entry[0]

    def put(self, key: Hashable, value: Any, *, tags: Iterable[Tag], generation: int, expires_at: float) -> bool:
        """Stores `value` unless an invalidation was applied since `generation` was read; answers whether it did."""
        expires_at = min(expires_at, time.monotonic() + settings.HJ_ACCESS_CACHE_MAX_AGE)
        tags = tuple(tags)
        with _state.lock:
            # Only under a lease: a fill made while the listener is away could outlive changes it never read.
            if generation != _state.generation or time.monotonic() >= _state.lease_until:
                return False
            self._drop(key)
            self._entries[key] = (value, expires_at, tags)
            for tag in tags:
                self._by_tag.setdefault(tag, set()).add(key)
            while len(self._entries) > self.size:
                self._drop(next(iter(self._entries)))
        return True

    def discard(self, key: Hashable) -> None:
        with _state.lock:
            self._drop(key)

    def _drop(self, key: Hashable) -> None:  # under _state.lock
        entry = self._entries.pop(key, None)
        if entry is None:
            return
        for tag in entry[2]:
            keys = self._by_tag.get(tag)
            if keys is not None:
                keys.discard(key)
                if not keys:
                    del self._by_tag[tag]

    def _invalidate(self, tag: Tag) -> None:  # under _state.lock
        for key in list(self._by_tag.get(tag, ())):
            self._drop(key)

    def _clear(self) -> None:  # under _state.lock
        self._entries.clear()
        self._by_tag.clear()


def generation() -> int:
    """Read before a database load whose result may be cached; hand it to `Cache.put`."""
    return _state.generation


def _apply(tags: Iterable[Tag]) -> None:
    with _state.lock:
        _state.generation += 1
        for tag in tags:
            for cache in _state.caches:
                cache._invalidate(tag)


def _clear_all() -> None:
    with _state.lock:
        _state.generation += 1
        _state.lease_until = 0.0
        for cache in _state.caches:
            cache._clear()


def _drop_lease() -> None:
    with _state.lock:
        _state.lease_until = 0.0


# --- The lease ------------------------------------------------------------------------------------


def enabled() -> bool:
    return connections[DEFAULT_DB_ALIAS].vendor == "postgresql"


def lease_held() -> bool:
    """Whether this process may answer from memory now; starts the listener if it does not run here.

    Never inside a transaction: it may hold changes of its own that the log shows only once they
    commit, and a check made there must see them (requests run in autocommit).
    """
    if connections[DEFAULT_DB_ALIAS].in_atomic_block:
        return False
    return fresh()


def fresh() -> bool:
    """Whether this process's listener holds a lease now (`/readyz`), starting it if it does not run here."""
    if _state.stopped:
        return False
    if _state.pid != os.getpid() or _state.listener is None or not _state.listener.is_alive():
        if not enabled():
            return False
        _start_listener()
    return time.monotonic() < _state.lease_until


def _start_listener() -> None:
    with _state.lock:
        if _state.pid == os.getpid() and _state.listener is not None and _state.listener.is_alive():
            return
        if _state.pid != os.getpid():
            # A forked child: the parent's entries and lease are not this process's to trust.
            _state.lease_until = 0.0
            _state.generation += 1
            for cache in _state.caches:
                cache._clear()
        _state.pid = os.getpid()
        _state.listener = _Listener(_connection_params())
        _state.listener.start()
        if not _state.exit_hooked:
            # A worker that exits (gunicorn's max_requests, a deploy) takes its listener row with it.
            atexit.register(stop, 1.0)
            _state.exit_hooked = True


def _connection_params() -> dict[str, Any]:
    url = settings.HJ_LISTENER_DATABASE_URL
    if url:
        return {"conninfo": url}
    # The default connection's own parameters (TLS files, options, service...), less what only Django's
    # connection takes (its cursor class, adapters, statement preparing) and what the listener sets itself.
    params = connections[DEFAULT_DB_ALIAS].get_connection_params()
    dropped = {"cursor_factory", "context", "prepare_threshold", "application_name", "autocommit", "client_encoding"}
    return {name: value for name, value in params.items() if name not in dropped and value not in (None, "")}


class _Listener(threading.Thread):
    """LISTENs, reads the log after its position, invalidates, and extends the lease (see the module docstring)."""

    def __init__(self, params: dict[str, Any]) -> None:
        super().__init__(name=APPLICATION_NAME, daemon=True)
        self._params = params
        self.id = uuid.uuid4()
        self.position = 0

    def run(self) -> None:
        backoff = 0.05
        while _state.pid == os.getpid() and not _state.stopped:
            try:
                self._serve()
            except Exception as exc:
                _drop_lease()
                logger.warning("change feed listener: %s; checks query the database until it catches up", exc)
                time.sleep(backoff)
                backoff = min(backoff * 2, 1.0)

    def _serve(self) -> None:
        import psycopg

        conninfo = self._params.get("conninfo", "")
        kwargs = {"connect_timeout": 5, **{name: value for name, value in self._params.items() if name != "conninfo"}}
        with psycopg.connect(conninfo, autocommit=True, application_name=APPLICATION_NAME, **kwargs) as conn:
            conn.execute(f"LISTEN {CHANNEL}")
            # Registered in a transaction of its own, before any read: see the module docstring, (b).
            conn.execute(
                "INSERT INTO hellojohn_listener (id, pid, host, seq, read_at, lease) "
                "VALUES (%s, %s, %s, 0, clock_timestamp(), %s) ON CONFLICT (id) DO NOTHING",
                [self.id, os.getpid(), socket.gethostname()[:200], lease_seconds()])
            # A new connection may have missed anything: start from an empty cache, after the log's end
            # as it is now. The end is read first, then the cache emptied: a load that starts after the
            # emptying sees every change up to that end, and any later one is read from the log; a load
            # that started before it holds the old generation, and its fill is refused.
            self.position = conn.execute("SELECT coalesce(max(seq), 0) FROM hellojohn_change").fetchone()[0]
            _clear_all()
            last_prune = 0.0
            last_read = time.monotonic()
            while _state.pid == os.getpid() and not _state.stopped:
                if time.monotonic() - last_read > STALL_SECONDS:
                    raise RuntimeError("stalled past the log's retention")
                caught_up = self._read(conn)
                last_read = time.monotonic()
                if time.monotonic() - last_prune > 60:
                    self._prune(conn)
                    last_prune = time.monotonic()
                if caught_up:
                    for _ in conn.notifies(timeout=POLL, stop_after=1):
                        pass
            if _state.pid == os.getpid():
                # Stopped: no revoking call need wait for this process, and its lag is no one's.
                conn.execute("DELETE FROM hellojohn_listener WHERE id = %s", [self.id])

    def _read(self, conn: Any) -> bool:
        with conn.transaction():
            if conn.execute("SELECT 1 FROM hellojohn_listener WHERE id = %s FOR UPDATE", [self.id]).fetchone() is None:
                raise RuntimeError("listener row deleted")  # pruned while frozen: register again
            started = time.monotonic()
            rows = conn.execute(
                "SELECT seq, kind, key FROM hellojohn_change WHERE seq > %s ORDER BY seq LIMIT %s",
                [self.position, READ_LIMIT]).fetchall()
            if rows:
                _apply((kind, key) for _, kind, key in rows)
                position = rows[-1][0]
            else:
                position = self.position
            conn.execute("UPDATE hellojohn_listener SET seq = %s, read_at = clock_timestamp() WHERE id = %s",
                         [position, self.id])
        self.position = position
        caught_up = len(rows) < READ_LIMIT
        if caught_up:
            with _state.lock:
                _state.lease_until = max(_state.lease_until, started + lease_seconds())
        return caught_up

    def _prune(self, conn: Any) -> None:
        conn.execute("DELETE FROM hellojohn_change WHERE at < clock_timestamp() - make_interval(secs => %s)",
                     [RETENTION_SECONDS])
        conn.execute("DELETE FROM hellojohn_listener WHERE read_at < clock_timestamp() - make_interval(secs => %s)",
                     [RETENTION_SECONDS])


def stop(timeout: float = 5.0) -> None:
    """Stops this process's listener for good, deletes its row and closes its connection (the test
    suite's end, and the process's)."""
    _state.stopped = True
    _drop_lease()
    listener = _state.listener
    if listener is not None and listener.is_alive():
        listener.join(timeout)


def resume() -> None:
    """Undoes `stop()` (the bench's cold series): the next check starts a new listener, which, like any
    new connection's, starts from an empty cache and takes a lease only once it has read the log."""
    stop()
    _state.stopped = False


# --- The revoking side ----------------------------------------------------------------------------


def after_change(*, using: str = DEFAULT_DB_ALIAS) -> None:
    """Called inside a transaction that revokes or changes something a check relies on: once it
    commits, the call waits until every live process has seen it (`wait_for_listeners`)."""
    if connections[using].vendor != "postgresql":
        return
    # Outside a transaction (autocommit) this runs at once: call it after the write.
    transaction.on_commit(lambda: wait_for_listeners(using=using), using=using, robust=True)


def wait_for_listeners(*, using: str = DEFAULT_DB_ALIAS) -> bool:
    """Waits until every listener has read the log up to its current end, or its lease has lapsed, or
    LEASE has passed; answers whether it returned early (every listener accounted for)."""
    started = time.monotonic()
    deadline = started + lease_seconds()
    connection = connections[using]
    if connection.in_atomic_block:
        # Nothing has committed yet (on_commit runs this after the outermost COMMIT, in autocommit; only
        # the test suite's stand-in for a commit gets here), so there is nothing the listeners could see.
        return True
    try:
        with connection.cursor() as cursor:
            # Each listener's row carries its own lease, so processes configured differently stay safe:
            # the wait is bounded by the longest of them.
            cursor.execute("SELECT (SELECT coalesce(max(seq), 0) FROM hellojohn_change), "
                           "(SELECT coalesce(max(lease), 0) FROM hellojohn_listener)")
            target, longest = cursor.fetchone()
        deadline = started + max(lease_seconds(), longest)
        pause = 0.001
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            with transaction.atomic(using=using), connection.cursor() as cursor:
                cursor.execute(f"SET LOCAL lock_timeout = {max(1, int(remaining * 1000))}")
                cursor.execute(
                    "SELECT seq >= %s OR read_at <= clock_timestamp() - make_interval(secs => lease) "
                    "FROM hellojohn_listener FOR SHARE", [target])
                if all(done for (done,) in cursor.fetchall()):
                    return True
            time.sleep(min(pause, max(0.0, deadline - time.monotonic())))
            pause = min(pause * 2, 0.01)
    except DatabaseError as exc:
        # Unable to see the listeners: waiting out the lease is safe on its own (module docstring, (a)).
        logger.warning("change feed: waiting out the lease (%s)", exc)
        time.sleep(max(0.0, deadline - time.monotonic()))
        return False
