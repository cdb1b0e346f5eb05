"""The ORM helpers that reach below Django's public API, kept together so one file says what they lean on.

Re-read this module whenever Django's minor version changes: `tests/rules/test_orm_internals.py` fails
until `REVIEWED_FOR_DJANGO` below is raised, which is the reminder. It leans on these internals of
`django.db.models` (checked against Django 5.2):

- `QuerySet.query.chain(UpdateQuery)`, `UpdateQuery.add_update_values()` and
  `Query.clear_ordering(force=True)`: how `QuerySet.update()` builds its query.
- `SQLCompiler.as_sql()` (select and update compilers), which raises `EmptyResultSet` when the
  WHERE clause can match nothing (`.none()`, `pk__in=[]`); `SQLCompiler.execute_sql()` catches it,
  and so does `update_returning` here.
- `SQLCompiler.klass_info` and `SQLCompiler.select` (which columns belong to which model),
  `SQLCompiler.get_converters()` and `apply_converters()` (the database's value converters, what
  `results_iter()` applies; found once per compiled lookup, not per row: finding them took about a
  fifth of a refresh token lookup) and `django.db.models.query.get_related_populators()`
  (select_related objects): together the core of `ModelIterable.__iter__`, re-done by
  `PrecompiledLookup.first`.
- `SQLCompiler.annotation_col_map` (where each annotation's value is in a row), and that a compiled
  SELECT begins with `SELECT`, never a WITH list of its own, so `PrecompiledLookup.first` can put
  one before it.
- `Model.from_db()`, which is public but documented only for overriding.
- `Field.get_col()`, `DatabaseOperations.get_db_converters()` and `Col.get_db_converters()`: the
  value converters QuerySet iteration applies, re-applied by `update_returning_instances`.

The helpers:

- `update_returning`: UPDATE … RETURNING for a queryset, which the ORM does not offer (SQLite ≥ 3.35
  and PostgreSQL both support it). Revocation needs it: one statement both ends the sessions and
  says exactly which rows *it* changed, so two racing revoke-alls never count a session twice
  (PostgreSQL re-checks the WHERE clause after waiting for a row lock) and the audit trail names
  exactly the sessions revoked.
- `update_returning_instances`: `update_returning` of every column, as model instances: the revoked
  sessions, whole, for their session.revoked events (sessions_app/events.py).
- `PrecompiledLookup`: a lookup whose SQL is compiled once per thread. For the access-token check,
  a primary-key lookup with three joins, compiling the queryset took about 60% of the check's time
  while the database answered in a fraction of a millisecond (`make bench`, section 1). The
  queryset stays the single description of the lookup.
"""

import threading
from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

from django.core.exceptions import EmptyResultSet
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Model, QuerySet
from django.db.models.query import get_related_populators
from django.db.models.sql import UpdateQuery

from hellojohn_project.postgresql import statement_cursor

# The Django minor version this module was last read against (see the docstring).
REVIEWED_FOR_DJANGO = (5, 2)

M = TypeVar("M", bound=Model)


def update_returning(queryset: QuerySet, values: dict[str, Any], returning: tuple[str, ...]) -> list[tuple]:
    """Runs `queryset.update(**values)` as one statement and answers the `returning` columns of each
    updated row. Fields in `returning` are concrete columns of the queryset's model. A queryset that
    can match nothing updates nothing and answers [], as `update()` answers 0."""
    model = queryset.model
    # The database a write goes to, chosen as QuerySet.update chooses it (the router's db_for_write, never
    # the read replica a lag-tolerant read may be using).
    queryset = queryset._chain()
    queryset._for_write = True
    query = queryset.query.chain(UpdateQuery)
    query.add_update_values(values)
    # Ordering and slicing are meaningless in an UPDATE and would make the SQL invalid.
    query.clear_ordering(force=True)
    compiler = query.get_compiler(queryset.db)
    try:
        sql, params = compiler.as_sql()
    except EmptyResultSet:
        return []
    if not sql:
        return []
    connection = connections[queryset.db]
    columns = ", ".join(connection.ops.quote_name(model._meta.get_field(name).column) for name in returning)
    with connection.cursor() as cursor:
        cursor.execute(f"{sql} RETURNING {columns}", params)
        return [tuple(row) for row in cursor.fetchall()]


def update_returning_instances(queryset: QuerySet[M], values: dict[str, Any]) -> list[M]:
    """`update_returning` of every concrete column, as model instances (the database's values converted
    as QuerySet iteration converts them): the revoked sessions, whole, for their events."""
    model = queryset.model
    fields = model._meta.concrete_fields
    rows = update_returning(queryset, values, returning=tuple(field.name for field in fields))
    written = queryset._chain()
    written._for_write = True
    connection = connections[written.db]
    converters = []
    for field in fields:
        column = field.get_col(model._meta.db_table)
        converters.append((column, connection.ops.get_db_converters(column) + column.get_db_converters(connection)))
    attnames = [field.attname for field in fields]
    instances = []
    for row in rows:
        converted = []
        for value, (column, field_converters) in zip(row, converters, strict=True):
            for convert in field_converters:
                value = convert(value, column, connection)
            converted.append(value)
        instances.append(model.from_db(queryset.db, attnames, converted))
    return instances


class PrecompiledLookup(Generic[M]):
    """Compiles a one-parameter queryset once per thread, then only executes its SQL and builds the
    instances the way QuerySet iteration does (value converters, select_related objects)."""

    def __init__(self, build: Callable[[str], QuerySet[M]], placeholder: str) -> None:
        """`build(value)` answers the queryset for `value`; `placeholder` is any value of the right
        type that the compiled SQL carries as its only parameter."""
        self._build = build
        self._placeholder = placeholder
        # Per thread: a compiler belongs to its thread's database connection.
        self._compiled = threading.local()

    def _statement(self) -> tuple[str, Any, list[str], int, int, list[Any], dict[int, Any], dict[str, int]]:
        statement = getattr(self._compiled, "statement", None)
        if statement is None:
            queryset = self._build(self._placeholder)
            compiler = queryset.query.get_compiler(using=DEFAULT_DB_ALIAS)
            sql, params = compiler.as_sql()
            if tuple(params) != (self._placeholder,):
                raise ValueError("a precompiled lookup takes exactly one parameter")
            klass_info, select = compiler.klass_info, compiler.select
            start, end = klass_info["select_fields"][0], klass_info["select_fields"][-1] + 1
            init_list = [column[0].target.attname for column in select[start:end]]
            populators = get_related_populators(klass_info, select, DEFAULT_DB_ALIAS)
            converters = compiler.get_converters([column[0] for column in select[0:compiler.col_count]])
            statement = (sql, compiler, init_list, start, end, populators, converters, compiler.annotation_col_map)
            self._compiled.statement = statement
        return statement

    def first(self, value: str, *, with_clause: str = "", with_params: Sequence[Any] = ()) -> M | None:
        """The first row for `value` as a model instance (with its select_related objects and its
        annotations, as QuerySet iteration sets them), or None.

        `with_clause` (with its `with_params`) is put before the SELECT: a WITH list whose
        data-modifying statements run in the same statement as the lookup, and which the
        queryset's RawSQL annotations may read (services/rotation.py)."""
        sql, compiler, init_list, start, end, populators, converters, annotations = self._statement()
        # Planned once per connection on PostgreSQL: the SQL is the same on every call.
        with statement_cursor(connections[DEFAULT_DB_ALIAS]) as cursor:
            cursor.execute(with_clause + sql, [*with_params, value])
            rows = cursor.fetchmany(1)
        model = compiler.klass_info["model"]
        for row in compiler.apply_converters(rows, converters) if converters else rows:
            instance = model.from_db(DEFAULT_DB_ALIAS, init_list, row[start:end])
            for populator in populators:
                populator.populate(row, instance)
            for name, position in annotations.items():
                setattr(instance, name, row[position])
            return instance
        return None
