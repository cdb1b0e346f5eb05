"""Query-parameter parsing. Anything a client can put in a query string ends as a value or a
400 invalid_parameter naming the parameter, never as an exception further down."""

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TypeVar

from rest_framework.request import Request

from hellojohn_project.api.errors import InvalidParameter
from tenants_app.ids import is_valid_id

T = TypeVar("T", bound=str)


def _invalid(name: str, message: str) -> InvalidParameter:
    return InvalidParameter(f"Invalid '{name}': {message}", fields={name: [message]})


def int_param(request: Request, name: str, *, default: int, low: int, high: int) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    if not raw.isascii() or not raw.isdigit() or len(raw) > 6:
        raise _invalid(name, f"Must be an integer between {low} and {high}.")
    value = int(raw)
    if not low <= value <= high:
        raise _invalid(name, f"Must be an integer between {low} and {high}.")
    return value


def choice_param(request: Request, name: str, choices: Iterable[T], *, default: T | None = None) -> T | None:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    allowed = list(choices)
    if raw not in allowed:
        raise _invalid(name, f"Must be one of: {', '.join(allowed)}.")
    return raw  # type: ignore[return-value]


def bool_param(request: Request, name: str, *, default: bool = False) -> bool:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    if raw.lower() not in {"true", "false", "1", "0"}:
        raise _invalid(name, "Must be true or false.")
    return raw.lower() in {"true", "1"}


def id_param(request: Request, name: str, prefix: str, *, required: bool = False) -> str | None:
    raw = request.query_params.get(name)
    if raw is None:
        if required:
            raise _invalid(name, "This parameter is required.")
        return None
    if not is_valid_id(raw, prefix):
        raise _invalid(name, f"Must be an id like {prefix}_01JDQ8Z6V4X3N2M1K0HGFEDCBA.")
    return raw


def country_param(request: Request, name: str = "country") -> str | None:
    raw = request.query_params.get(name)
    if raw is None:
        return None
    if len(raw) != 2 or not raw.isascii() or not raw.isalpha():
        raise _invalid(name, "Must be an ISO 3166-1 alpha-2 code such as US.")
    return raw.upper()


def timestamp_param(request: Request, name: str) -> datetime | None:
    """An RFC 3339 timestamp with an offset (`2024-01-15T10:30:00Z`), in UTC."""
    raw = request.query_params.get(name)
    if raw is None:
        return None
    message = "Must be an RFC 3339 timestamp such as 2024-01-15T10:30:00Z."
    if len(raw) > 40 or not raw.isascii():
        raise _invalid(name, message)
    try:
        parsed = datetime.fromisoformat(raw.replace("z", "Z"))
        if parsed.tzinfo is None:
            raise ValueError(raw)
        return parsed.astimezone(UTC)
    except (ValueError, OverflowError) as exc:
        raise _invalid(name, message) from exc
