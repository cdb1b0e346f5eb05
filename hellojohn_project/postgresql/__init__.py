"""The PostgreSQL database backend: Django's, with a connection health check that sends nothing and a
cursor for prepared statements (base.py)."""

from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.utils import CursorWrapper


def statement_cursor(connection: BaseDatabaseWrapper) -> CursorWrapper:
    """A cursor for one of the hot paths' fixed statements (a refresh rotation, the rate-limit
    counters, the access check's lookup): on this backend one that PostgreSQL plans once per
    connection (`DatabaseWrapper.server_bound_cursor`), on any other database Django's own."""
    server_bound = getattr(connection, "server_bound_cursor", None)
    return server_bound() if server_bound is not None else connection.cursor()
