"""Public identifiers (`docs/api.md` section 3): `<prefix>_<ULID>`, and how malformed ids are answered."""

import re
from typing import Any

import pytest
from rest_framework.test import APIClient
from ulid import ULID

from sessions_app.models import Session
from tenants_app.ids import is_valid_id, new_id
from tenants_app.models import ApiKey, Tenant, User
from tests.conftest import TenantKeys, error_code
from tests.factories import SessionFactory

# Written out here rather than imported, so the tests do not trust the code's own pattern.
CROCKFORD_ULID = r"[0-7][0-9A-HJKMNP-TV-Z]{25}"


def id_pattern(prefix: str) -> re.Pattern[str]:
    return re.compile(rf"^{prefix}_{CROCKFORD_ULID}$")


@pytest.mark.parametrize("prefix", ["tnt", "usr", "ses", "key", "req", "evt"])
def test_new_ids_are_prefix_and_upper_case_ulid(prefix: str) -> None:
    value = new_id(prefix)
    assert id_pattern(prefix).match(value)
    assert len(value) == len(prefix) + 1 + 26
    assert str(ULID.from_str(value.split("_", 1)[1])) == value.split("_", 1)[1]


def test_ids_are_unique_and_sort_by_creation_time() -> None:
    values = [new_id("ses") for _ in range(500)]
    assert len(set(values)) == 500
    timestamps = [ULID.from_str(value[4:]).milliseconds for value in values]
    assert timestamps == sorted(timestamps)


def test_rows_get_ids_of_their_kind(tenant: TenantKeys, user: User) -> None:
    session = SessionFactory(user=user)
    assert id_pattern("tnt").match(tenant.tenant.id)
    assert id_pattern("usr").match(user.id)
    assert id_pattern("ses").match(session.id)
    for api_key in ApiKey.objects.filter(tenant=tenant.tenant):
        assert id_pattern("key").match(api_key.id)
    # What the database holds is what the API shows.
    assert Tenant.objects.filter(pk=tenant.tenant.id).exists()
    assert Session.objects.filter(pk=session.id).exists()


@pytest.mark.parametrize(("value", "prefix", "valid"), [
    ("ses_01JDQ8Z6V4X3N2M1K0HGFEDCBA", "ses", True),
    ("ses_7ZZZZZZZZZZZZZZZZZZZZZZZZZ", "ses", True),  # the largest ULID
    ("ses_8ZZZZZZZZZZZZZZZZZZZZZZZZZ", "ses", False),  # over 128 bits
    ("usr_01JDQ8Z6V4X3N2M1K0HGFEDCBA", "ses", False),  # another kind
    ("ses_01jdq8z6v4x3n2m1k0hgfedcba", "ses", False),  # lower case
    ("ses_01JDQ8Z6V4X3N2M1K0HGFEDCB", "ses", False),  # 25 characters
    ("ses_01JDQ8Z6V4X3N2M1K0HGFEDCBAA", "ses", False),  # 27 characters
    ("ses_01JDQ8Z6V4X3N2M1K0HGFEDCBI", "ses", False),  # I, L, O, U are not Crockford
    ("ses_01JDQ8Z6V4X3N2M1K0HGFEDCBU", "ses", False),
    ("ses-01JDQ8Z6V4X3N2M1K0HGFEDCBA", "ses", False),
    ("ses_01JDQ8Z6V4X3N2M1K0HGFEDCBA\n", "ses", False),
    ("", "ses", False),
    (None, "ses", False),
    (12, "ses", False),
])
def test_is_valid_id(value: Any, prefix: str, valid: bool) -> None:
    assert is_valid_id(value, prefix) is valid


@pytest.mark.parametrize("path", ["nope", "usr_01jdq8z6v4x3n2m1k0hgfedcba", "ses_01JDQ8Z6V4X3N2M1K0HGFEDCBA",
                                  "usr_01JDQ8Z6V4X3N2M1K0HGFEDCBA", "x" * 300])
def test_malformed_or_unknown_user_id_in_a_path_answers_404(secret_key_client: APIClient, path: str) -> None:
    response = secret_key_client.get(f"/v1/users/{path}")
    assert response.status_code == 404
    assert error_code(response) == "user_not_found"


@pytest.mark.parametrize("path", ["nope", "ses_01JDQ8Z6V4X3N2M1K0HGFEDCBA", "usr_01JDQ8Z6V4X3N2M1K0HGFEDCBA"])
def test_malformed_or_unknown_session_id_in_a_path_answers_404(secret_key_client: APIClient, path: str) -> None:
    for response in (secret_key_client.get(f"/v1/sessions/{path}"), secret_key_client.delete(f"/v1/sessions/{path}")):
        assert response.status_code == 404
        assert error_code(response) == "session_not_found"


@pytest.mark.parametrize("value", ["nope", "usr_01jdq8z6v4x3n2m1k0hgfedcba", "ses_01JDQ8Z6V4X3N2M1K0HGFEDCBA", ""])
def test_malformed_id_in_a_query_parameter_answers_400_invalid_parameter(secret_key_client: APIClient, user: User,
                                                                         value: str) -> None:
    SessionFactory(user=user)
    for response in (secret_key_client.get("/v1/sessions", {"user_id": value}),
                     secret_key_client.delete(f"/v1/sessions?user_id={value}")):
        assert response.status_code == 400
        assert error_code(response) == "invalid_parameter"
        assert list(response.json()["error"]["fields"]) == ["user_id"]
    assert Session.objects.filter(revoked_at__isnull=True).count() == 1


def test_well_formed_unknown_id_in_a_query_parameter_answers_404_user_not_found(secret_key_client: APIClient) -> None:
    response = secret_key_client.get("/v1/sessions", {"user_id": "usr_01JDQ8Z6V4X3N2M1K0HGFEDCBA"})
    assert response.status_code == 404
    assert error_code(response) == "user_not_found"
