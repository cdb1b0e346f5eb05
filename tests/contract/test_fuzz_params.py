"""Property tests (hypothesis) for the parsers a client can reach: ids, cursors, the `limit` and
`status` query parameters and config bodies. Each property holds through HTTP as well as on the
parser itself: whatever the input, the answer is a value or the contract's 400, never a 500.
"""

import base64
import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from hellojohn_project.api.errors import InvalidParameter
from hellojohn_project.api.pagination import CURSOR_PREFIX, decode_cursor, encode_cursor
from sessions_app.models import SessionStatus
from tenants_app.ids import is_valid_id, new_id
from tenants_app.models import (
    ACCESS_TOKEN_TTL_RANGE,
    IDLE_TIMEOUT_RANGE,
    MAX_SESSIONS_RANGE,
    SESSION_DURATION_RANGE,
    TenantConfig,
)
from tests.conftest import TenantKeys, error_code
from tests.factories import SessionFactory, UserFactory

# Derandomized so CI sees the same inputs every run; the strategies aim at the edges that matter.
FAST = settings(max_examples=60, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
ulid_like = st.text(alphabet=CROCKFORD + "ILOUilou-_/%.", min_size=0, max_size=30)
id_like = st.one_of(
    st.text(max_size=40),
    st.builds(lambda prefix, body: f"{prefix}_{body}", st.sampled_from(["ses", "usr", "tnt", "key", "SES", ""]),
              ulid_like),
)
timezones = st.builds(lambda minutes: timezone(timedelta(minutes=minutes)), st.integers(-23 * 60, 23 * 60))
# The whole range, edges included: 0001-01-01 at +05:00 has no UTC value at all.
any_datetime = st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59, 59),
                            timezones=timezones)
stored_datetime = st.datetimes(min_value=datetime(1970, 1, 1), max_value=datetime(2200, 1, 1), timezones=timezones)
row_ids = st.one_of(st.sampled_from(["ses", "usr"]).map(new_id), st.text(max_size=31),
                    st.just("ses_\x00"), st.just("ses_01JDQ8Z6V4X3N2M1K0HGFEDCB\x00"))
json_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False, allow_infinity=False),
                         st.text(max_size=20))
json_values = st.recursive(json_scalars, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                                  st.dictionaries(st.text(max_size=8), inner,
                                                                                  max_size=3)), max_leaves=8)


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


# --- ids ------------------------------------------------------------------------------------------


@given(value=id_like)
@FAST
def test_is_valid_id_accepts_only_prefix_and_ulid(value: str) -> None:
    accepted = is_valid_id(value, "ses")
    body = value[4:]
    assert accepted == (value.startswith("ses_") and len(body) == 26 and body[0] in "01234567"
                        and all(ch in CROCKFORD for ch in body))


@given(prefix=st.sampled_from(["ses", "usr", "tnt", "key", "req"]))
@FAST
def test_new_ids_are_valid_ids(prefix: str) -> None:
    assert is_valid_id(new_id(prefix), prefix)
    assert not is_valid_id(new_id(prefix), "evt")


@pytest.mark.django_db
@given(value=id_like)
@FAST
def test_any_session_id_in_a_path_answers_404(secret_key_client: APIClient, value: str) -> None:
    response = secret_key_client.get(f"/v1/sessions/{value}")
    if response.status_code == 200:  # only a real session of this tenant could do that
        pytest.fail(f"{value!r} found a session")
    assert response.status_code in {404, 405}, response.content  # "verify" is a route of its own
    assert error_code(response) in {"session_not_found", "not_found", "method_not_allowed"}


@pytest.mark.django_db
@given(value=id_like)
@FAST
def test_any_user_id_in_a_query_is_an_id_or_a_400(secret_key_client: APIClient, value: str) -> None:
    response = secret_key_client.get("/v1/sessions", {"user_id": value})
    if is_valid_id(value, "usr"):
        assert response.status_code == 404 and error_code(response) == "user_not_found"
    else:
        assert response.status_code == 400 and error_code(response) == "invalid_parameter"
        assert "user_id" in response.json()["error"]["fields"]


# --- cursors --------------------------------------------------------------------------------------


@given(moment=stored_datetime, prefix=st.sampled_from(["ses", "usr"]))
@FAST
def test_cursor_round_trips(moment: datetime, prefix: str) -> None:
    row_id = new_id(prefix)
    cursor = encode_cursor(moment, row_id)
    assert cursor.startswith(CURSOR_PREFIX)
    assert decode_cursor(cursor) == (moment, row_id)


cursor_like = st.one_of(
    st.text(max_size=60),
    st.builds(lambda raw: CURSOR_PREFIX + b64(raw), st.binary(max_size=60)),
    st.builds(lambda value: CURSOR_PREFIX + b64(json.dumps(value).encode()), json_values),
    st.builds(lambda moment, row_id: encode_cursor(moment, row_id), any_datetime, row_ids),
    st.builds(lambda text, row_id: CURSOR_PREFIX + b64(json.dumps([text, row_id]).encode()),
              st.text(max_size=40), st.text(max_size=10)),
)


@given(cursor=cursor_like)
@FAST
def test_decode_cursor_answers_a_position_or_invalid_parameter(cursor: str) -> None:
    try:
        moment, row_id = decode_cursor(cursor)
    except InvalidParameter as exc:
        assert exc.error_code == "invalid_parameter" and exc.fields == {"cursor": ["Malformed cursor."]}
    else:
        assert moment.tzinfo is not None and isinstance(row_id, str)


@pytest.mark.django_db
@given(cursor=cursor_like)
@FAST
def test_any_cursor_answers_a_page_or_400(secret_key_client: APIClient, cursor: str) -> None:
    for path in ("/v1/sessions", "/v1/users"):
        response = secret_key_client.get(path, {"cursor": cursor})
        assert response.status_code in {200, 400}, (path, cursor, response.content)
        if response.status_code == 400:
            assert error_code(response) == "invalid_parameter"


@pytest.mark.django_db
def test_a_cursor_pages_through_every_session_exactly_once(tenant: TenantKeys, secret_key_client: APIClient) -> None:
    user = UserFactory(tenant=tenant.tenant)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    # Ties on last_active_at too: the id breaks them, so no row is skipped or repeated.
    expected = {SessionFactory(user=user, created_at=start + timedelta(minutes=i // 3)).id for i in range(23)}
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 5, "status": "all", **({"cursor": cursor} if cursor else {})}
        page = secret_key_client.get("/v1/sessions", params).json()
        seen += [row["id"] for row in page["data"]]
        cursor = page["pagination"]["next_cursor"]
        if not page["pagination"]["has_more"]:
            break
    assert len(seen) == len(expected) and set(seen) == expected


# --- limit and status -----------------------------------------------------------------------------


limit_like = st.one_of(st.integers(-1000, 1000).map(str), st.text(max_size=8),
                       st.sampled_from(["", " 5", "5 ", "+5", "05", "1e2", "0x10", "٣", "²", "100", "101", "0"]))


@pytest.mark.django_db
@given(limit=limit_like)
@FAST
def test_limit_is_an_integer_from_1_to_100_or_a_400(secret_key_client: APIClient, limit: str) -> None:
    response = secret_key_client.get("/v1/sessions", {"limit": limit})
    valid = limit.isascii() and limit.isdigit() and 1 <= int(limit) <= 100
    if valid:
        assert response.status_code == 200 and response.json()["pagination"]["limit"] == int(limit)
    else:
        assert response.status_code == 400 and error_code(response) == "invalid_parameter"
        assert set(response.json()["error"]["fields"]) == {"limit"}


@pytest.mark.django_db
@given(status=st.one_of(st.text(max_size=10), st.sampled_from(["active", "expired", "revoked", "all", "ACTIVE",
                                                                "Active", " active", "active "])))
@FAST
def test_status_is_one_of_the_statuses_or_a_400(secret_key_client: APIClient, status: str) -> None:
    response = secret_key_client.get("/v1/sessions", {"status": status})
    if status in {*SessionStatus.values, "all"}:
        assert response.status_code == 200
    else:
        assert response.status_code == 400 and error_code(response) == "invalid_parameter"
        assert set(response.json()["error"]["fields"]) == {"status"}


# --- config bodies --------------------------------------------------------------------------------

CONFIG_FIELDS = ["max_sessions_per_user", "session_duration", "idle_timeout", "access_token_ttl", "sign_in_alerts"]
ALERT_VALUES = ["off", "flagged", "all"]
RANGES = {"max_sessions_per_user": MAX_SESSIONS_RANGE, "session_duration": SESSION_DURATION_RANGE,
          "idle_timeout": IDLE_TIMEOUT_RANGE, "access_token_ttl": ACCESS_TOKEN_TTL_RANGE}
edges = sorted({edge + delta for low, high in RANGES.values() for edge in (low, high) for delta in (-1, 0, 1)})
config_values = st.one_of(json_values, st.integers(-10**20, 10**20), st.sampled_from(edges),
                          st.sampled_from([*ALERT_VALUES, "Off", "none", ""]),
                          st.sampled_from(edges).map(float), st.sampled_from(edges).map(str))
config_bodies = st.dictionaries(st.one_of(st.sampled_from(CONFIG_FIELDS), st.text(max_size=12)), config_values,
                                max_size=4)


def _config_row(tenant: TenantKeys) -> dict[str, Any]:
    config, _ = TenantConfig.objects.get_or_create(tenant=tenant.tenant)
    return {name: getattr(config, name) for name in CONFIG_FIELDS}


def _acceptable(name: str, value: Any) -> bool:
    if name == "sign_in_alerts":
        return value in ALERT_VALUES
    if name == "max_sessions_per_user" and value is None:
        return True
    if name == "idle_timeout" and value is None:
        return True
    if isinstance(value, bool) or not isinstance(value, int):
        return False
    low, high = RANGES[name]
    return low <= value <= high


@pytest.mark.django_db
@given(body=config_bodies)
@FAST
def test_config_patch_applies_exactly_a_valid_body_or_changes_nothing(tenant: TenantKeys, secret_key_client: APIClient,
                                                                      body: dict[str, Any]) -> None:
    before = _config_row(tenant)
    response = secret_key_client.patch("/v1/admin/config", body, format="json")
    after = _config_row(tenant)
    known = set(body) <= set(CONFIG_FIELDS)
    if response.status_code == 200:
        assert known and all(_acceptable(name, value) for name, value in body.items()), body
        assert after == {**before, **body}
        assert response.json() == {**after, "allowed_origins": []}
    else:
        assert response.status_code == 400, response.content
        assert error_code(response) in {"invalid_parameter", "invalid_request"}
        assert after == before
        # A refusal is not a bug only if the body really was unknown or out of range.
        assert not known or not all(_acceptable(name, value) for name, value in body.items()), body
