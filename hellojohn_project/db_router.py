"""Which database a query goes to: the replica for the lag-tolerant reads, the primary for everything else.

A face marks the reads that may lag the primary by wrapping them in `lag_tolerant` (the admin's lists
and dashboard, `GET /v1/events`, a tenant backend's session listing: docs/api.md, "Read replica").
Only there, and only for reads, does the router answer `replica`, and only while:

- nothing in this request has written yet (read-your-writes: after any write, or an operator's write
  a few seconds ago, see hellojohn_project/read_your_writes.py, reads go to the primary);
- no transaction is open on the primary (a read there belongs to that transaction);
- the replica is usable (hellojohn_project/replica.py: reachable, not too far behind, not failed lately).

Access checks, `verify`, refresh, the page and every write never run inside `lag_tolerant`, so they
always use the primary. A read that fails on the replica (it went away mid-request) is run again on
the primary, and the replica is left alone for HJ_REPLICA_RETRY_SECONDS: the caller never sees it.
"""

from collections.abc import Callable
from contextvars import ContextVar
from functools import wraps
from typing import Any, ParamSpec, TypeVar

from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections

from hellojohn_project import replica

P = ParamSpec("P")
R = TypeVar("R")

# Per request (reset by ReadYourWritesMiddleware): may reads use the replica now; has anything written.
_replica_allowed: ContextVar[bool] = ContextVar("hj_replica_allowed", default=False)
_replica_used: ContextVar[bool] = ContextVar("hj_replica_used", default=False)
_wrote: ContextVar[bool] = ContextVar("hj_wrote", default=False)
_pinned: ContextVar[bool] = ContextVar("hj_pinned", default=False)


def mark_written() -> None:
    """From now on this request reads from the primary (called on every ORM write)."""
    _wrote.set(True)


def has_written() -> bool:
    return _wrote.get()


def pin_to_primary() -> None:
    """This whole request reads from the primary (it comes just after one that wrote)."""
    _pinned.set(True)


def _reads_from_primary() -> bool:
    return _wrote.get() or _pinned.get()


def start_request() -> Callable[[], None]:
    """Fresh routing state for a request; call the answer when the request ends."""
    variables = (_wrote, _pinned, _replica_allowed, _replica_used)
    tokens = [(variable, variable.set(False)) for variable in variables]

    def end() -> None:
        for variable, token in reversed(tokens):
            variable.reset(token)

    return end


def lag_tolerant(read: Callable[P, R]) -> Callable[P, R]:
    """Runs `read` with its queries on the replica when it is usable, else (or if it fails there) on the primary.

    `read` must only read: it may be run twice.
    """

    @wraps(read)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        if _replica_allowed.get() or _reads_from_primary() or not replica.usable():
            return read(*args, **kwargs)
        allowed, used = _replica_allowed.set(True), _replica_used.set(False)
        try:
            return read(*args, **kwargs)
        except DatabaseError:
            # Lost connection, a query cancelled by the standby's replay (a conflict with recovery), or
            # a replica still behind on a migration (an unknown column). If the primary was the one
            # failing, the second run fails the same way and says so.
            if not _replica_used.get():
                raise
            replica.mark_failed()
        finally:
            _replica_allowed.reset(allowed)
            _replica_used.reset(used)
        return read(*args, **kwargs)

    return run


class ReplicaRouter:
    """Django's database router (settings.DATABASE_ROUTERS); see the module's docstring."""

    def db_for_read(self, model: type, **hints: Any) -> str | None:
        if _replica_allowed.get() and not _reads_from_primary() and not connections[DEFAULT_DB_ALIAS].in_atomic_block:
            _replica_used.set(True)
            return replica.ALIAS
        # The primary, named: left to Django, a related lookup from a row read on the replica would
        # follow that row there, outside any lag-tolerant read.
        return DEFAULT_DB_ALIAS

    def db_for_write(self, model: type, **hints: Any) -> str | None:
        # Asked before every ORM write (and select_for_update): from here on, this request reads its writes.
        mark_written()
        instance = hints.get("instance")
        if instance is not None and instance._state.db == replica.ALIAS:
            return DEFAULT_DB_ALIAS  # a row read from the replica is written on the primary
        return None

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool:
        return True  # one database, two copies of it

    def allow_migrate(self, db: str, app_label: str, model_name: str | None = None, **hints: Any) -> bool:
        return db != replica.ALIAS  # a standby is read-only; it follows the primary's migrations
