"""UPDATE … RETURNING for a queryset, which Django's ORM does not offer (SQLite ≥ 3.35 and
PostgreSQL both support it).

Revocation needs it: one statement both ends the sessions and says exactly which rows *it*
changed. Two racing revoke-alls then never count a session twice (PostgreSQL re-checks the WHERE
clause after waiting for a row lock), and the audit trail names exactly the sessions revoked.
"""

from typing import Any

from django.db import connections
from django.db.models import Model, QuerySet
from django.db.models.sql import UpdateQuery


def update_returning(queryset: QuerySet, values: dict[str, Any], returning: tuple[str, ...]) -> list[tuple]:
    """Runs `queryset.update(**values)` as one statement and answers the `returning` columns of each
    updated row. Fields in `returning` are concrete columns of the queryset's model."""
    model = queryset.model
    query = queryset.query.chain(UpdateQuery)
    query.add_update_values(values)
    # Ordering and slicing are meaningless in an UPDATE and would make the SQL invalid.
    query.clear_ordering(force=True)
    compiler = query.get_compiler(queryset.db)
    sql, params = compiler.as_sql()
    if not sql:
        return []
    connection = connections[queryset.db]
    columns = ", ".join(connection.ops.quote_name(model._meta.get_field(name).column) for name in returning)
    with connection.cursor() as cursor:
        cursor.execute(f"{sql} RETURNING {columns}", params)
        return [tuple(row) for row in cursor.fetchall()]


def update_returning_instances(queryset: QuerySet, values: dict[str, Any]) -> list[Model]:
    """`update_returning` of every concrete column, as model instances (the database's values converted
    as QuerySet iteration converts them): the revoked sessions, whole, for their events."""
    model = queryset.model
    fields = model._meta.concrete_fields
    rows = update_returning(queryset, values, returning=tuple(field.name for field in fields))
    connection = connections[queryset.db]
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
