"""docs/api.md stays current with the code: every route, every domain error code and its status, every
revocation reason and the config bounds it documents are the ones the code has."""

import re

import pytest
from django.conf import settings
from django.urls import URLPattern

from hellojohn_project.api.errors import STATUS_BY_CODE
from sessions_app.api.urls import urlpatterns
from sessions_app.models import DeviceType, RevocationReason
from tenants_app.models import (
    ACCESS_TOKEN_TTL_RANGE,
    DEFAULT_ACCESS_TOKEN_TTL,
    DEFAULT_SESSION_DURATION,
    IDLE_TIMEOUT_RANGE,
    MAX_SESSIONS_RANGE,
    SESSION_DURATION_RANGE,
)

REFERENCE = (settings.BASE_DIR / "docs" / "api.md").read_text()
# Rows of the error table: | 404 | `session_not_found` | when |
DOCUMENTED_CODES = re.findall(r"^\| (\d{3}) \| `([a-z_]+)` \|", REFERENCE, flags=re.MULTILINE)


def routes() -> list[tuple[str, str]]:
    found = []
    for pattern in urlpatterns:
        assert isinstance(pattern, URLPattern)
        path = "/v1/" + re.sub(r"<str:(\w+)>", r"{\1}", str(pattern.pattern))
        callback = pattern.callback
        actions = getattr(callback, "actions", None)
        methods = list(actions) if actions else [
            method for method in ("get", "post", "patch", "put", "delete") if hasattr(callback.view_class, method)
        ]
        found += [(method.upper(), path) for method in methods]
    return found


@pytest.mark.parametrize(("method", "path"), routes())
def test_every_route_is_documented(method: str, path: str) -> None:
    assert f"{method} {path}" in REFERENCE


def test_every_domain_error_code_is_documented_with_its_status() -> None:
    documented = {code: int(status) for status, code in DOCUMENTED_CODES}
    for code, status in STATUS_BY_CODE.items():
        assert documented.get(code) == status, code


def test_the_error_table_has_every_contract_code() -> None:
    contract_codes = {
        "invalid_request", "invalid_parameter", "missing_tenant_id", "missing_token", "invalid_token",
        "token_expired", "invalid_api_key", "invalid_credentials", "session_revoked", "session_expired",
        "refresh_token_invalid", "refresh_token_expired", "refresh_token_reused", "tenant_mismatch",
        "insufficient_permissions", "account_disabled", "not_found", "session_not_found", "user_not_found",
        "method_not_allowed", "email_already_exists", "payload_too_large", "unsupported_media_type",
        "invalid_email", "password_too_weak", "rate_limited", "internal_error",
    }
    assert contract_codes <= {code for _, code in DOCUMENTED_CODES}


def test_revocation_reasons_and_device_types_are_documented() -> None:
    for value in [*RevocationReason.values, *DeviceType.values]:
        assert f"`{value}`" in REFERENCE, value


def test_config_bounds_and_defaults_are_the_models() -> None:
    def span(bounds: tuple[int, int]) -> str:
        return f"{bounds[0]}\N{EN DASH}{bounds[1]}"

    assert f"`null` (unlimited) or {span(MAX_SESSIONS_RANGE)}" in REFERENCE
    assert f"| {DEFAULT_SESSION_DURATION} (30 days) | {span(SESSION_DURATION_RANGE)} " in REFERENCE
    assert f"`null` (none) or {span(IDLE_TIMEOUT_RANGE)}" in REFERENCE
    assert f"| {DEFAULT_ACCESS_TOKEN_TTL} (15 minutes) | {span(ACCESS_TOKEN_TTL_RANGE)} |" in REFERENCE


def test_body_limit_is_the_setting() -> None:
    assert settings.HJ_MAX_BODY_BYTES == 64 * 1024
    assert "64 KiB (65,536 bytes, `HJ_MAX_BODY_BYTES`)" in REFERENCE
