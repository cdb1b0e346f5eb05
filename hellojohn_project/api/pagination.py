"""Keyset (cursor) pagination, `docs/api.md` section 6: `limit` 1 to 100 (default 20), an opaque `cursor`.

Rows are ordered by (timestamp descending, id descending); a cursor holds the last row's pair, so it stays
valid while rows are added or revoked (never OFFSET).
"""

import base64
import binascii
import json
import re
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from django.db.models import Model, Q, QuerySet
from rest_framework.request import Request

from hellojohn_project.api.errors import InvalidParameter
from hellojohn_project.api.params import int_param

CURSOR_PREFIX = "cur_"
_ROW_ID = re.compile(r"[a-z]{2,3}_[0-9A-HJKMNP-TV-Z]{26}")  # wh_ ids have a two-letter prefix
DEFAULT_LIMIT, MAX_LIMIT = 20, 100


def encode_cursor(timestamp: datetime, row_id: str) -> str:
    raw = json.dumps([timestamp.isoformat(), row_id], separators=(",", ":")).encode()
    return CURSOR_PREFIX + base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    invalid = InvalidParameter("Invalid 'cursor': pass back next_cursor as received.",
                               fields={"cursor": ["Malformed cursor."]})
    if not cursor.startswith(CURSOR_PREFIX) or len(cursor) > 200:
        raise invalid
    payload = cursor[len(CURSOR_PREFIX):]
    try:
        timestamp, row_id = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        parsed = datetime.fromisoformat(timestamp)
        if parsed.tzinfo is None:
            raise invalid
        # In UTC here, not in the database driver: 0001-01-01T00:00+05:00 has no UTC value (OverflowError).
        parsed = parsed.astimezone(UTC)
    except (ValueError, TypeError, OverflowError, binascii.Error, UnicodeDecodeError, RecursionError) as exc:
        raise invalid from exc
    # Row ids are public ids; anything else (a NUL byte, say, which PostgreSQL refuses) is no position.
    if not isinstance(row_id, str) or _ROW_ID.fullmatch(row_id) is None:
        raise invalid
    return parsed, row_id


def paginate(request: Request, queryset: QuerySet, *, time_field: str,
             render: Callable[[Sequence[Model]], list[dict[str, Any]]]) -> dict[str, Any]:
    """One page of `queryset` in (time_field desc, id desc) order: two queries, whatever the size."""
    limit = int_param(request, "limit", default=DEFAULT_LIMIT, low=1, high=MAX_LIMIT)
    cursor = request.query_params.get("cursor")
    total = queryset.count()
    page_qs = queryset.order_by(f"-{time_field}", "-id")
    if cursor is not None:
        after_time, after_id = decode_cursor(cursor)
        page_qs = page_qs.filter(
            Q(**{f"{time_field}__lt": after_time}) | Q(**{time_field: after_time, "id__lt": after_id})
        )
    rows = list(page_qs[: limit + 1])
    has_more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = encode_cursor(getattr(rows[-1], time_field), rows[-1].pk) if has_more else None
    return {
        "data": render(rows),
        "pagination": {"total": total, "limit": limit, "has_more": has_more, "next_cursor": next_cursor},
    }


def paginate_log(request: Request, queryset: QuerySet, *, position_field: str,
                 render: Callable[[Sequence[Model]], list[dict[str, Any]]]) -> dict[str, Any]:
    """One page of a log (the event log) newest first, by its integer position: two queries.

    The cursor holds the last row's position, so it stays valid however many rows are appended."""
    limit = int_param(request, "limit", default=DEFAULT_LIMIT, low=1, high=MAX_LIMIT)
    cursor = request.query_params.get("cursor")
    total = queryset.count()
    page_qs = queryset.order_by(f"-{position_field}")
    if cursor is not None:
        page_qs = page_qs.filter(**{f"{position_field}__lt": _decode_position(cursor)})
    rows = list(page_qs[: limit + 1])
    has_more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = None
    if has_more:
        raw = json.dumps(["p", getattr(rows[-1], position_field)], separators=(",", ":")).encode()
        next_cursor = CURSOR_PREFIX + base64.urlsafe_b64encode(raw).decode().rstrip("=")
    return {
        "data": render(rows),
        "pagination": {"total": total, "limit": limit, "has_more": has_more, "next_cursor": next_cursor},
    }


def _decode_position(cursor: str) -> int:
    invalid = InvalidParameter("Invalid 'cursor': pass back next_cursor as received.",
                               fields={"cursor": ["Malformed cursor."]})
    if not cursor.startswith(CURSOR_PREFIX) or len(cursor) > 100:
        raise invalid
    payload = cursor[len(CURSOR_PREFIX):]
    try:
        kind, position = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError, RecursionError) as exc:
        raise invalid from exc
    # A bool is an int to Python; a position beyond a signed 64-bit integer overflows the database.
    if kind != "p" or type(position) is not int or not 0 < position < 2**63:
        raise invalid
    return position
