"""The sessions changelist's CSV export: the filtered list, streamed row by row in constant memory.

The rows come from `queryset.values_list(...).iterator(chunk_size=...)`: a server-side cursor on
PostgreSQL, chunked fetches on SQLite; no model instance is built and the table is never loaded.
A status column would need each tenant's idle timeout per row; the export carries the raw fields
the status is computed from (last active, expiry, revocation) instead.
"""

import csv
from collections.abc import Iterator
from typing import Any

from django.db.models import QuerySet
from django.http import StreamingHttpResponse
from django.utils import timezone

from sessions_app.models import Session

CHUNK_SIZE = 2000
COLUMNS = ("id", "tenant_id", "user_id", "user__email", "device_type", "browser", "os", "country",
           "ip_address", "created_at", "last_active_at", "expires_at", "revoked_at", "revoked_reason")
HEADER = ("id", "tenant", "user", "email", "device_type", "browser", "os", "country", "ip_address",
          "created_at", "last_active_at", "expires_at", "revoked_at", "revoked_reason")


class _Echo:
    """A file-like object whose write answers the line: csv.writer then yields lines, not buffers."""

    def write(self, value: str) -> str:
        return value


def _cell(value: Any) -> Any:
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value  # a spreadsheet would run a cell starting with these as a formula
    return "" if value is None else value


def csv_rows(queryset: QuerySet[Session]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield writer.writerow(HEADER)
    rows = queryset.order_by("-created_at", "-id").values_list(*COLUMNS).iterator(chunk_size=CHUNK_SIZE)
    for row in rows:
        yield writer.writerow([_cell(value) for value in row])


def csv_response(queryset: QuerySet[Session]) -> StreamingHttpResponse:
    name = f"sessions-{timezone.now():%Y%m%dT%H%M%SZ}.csv"
    response = StreamingHttpResponse(csv_rows(queryset), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
