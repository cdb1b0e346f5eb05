"""The tenant config's bounds (`docs/api.md` section 7) are enforced by the database itself, not only by the API."""

from typing import Any

import pytest
from django.db import IntegrityError, transaction
from rest_framework.test import APIClient

from tenants_app.models import TenantConfig
from tenants_app.services import update_tenant_config
from tests.conftest import TenantKeys, error_code

YEAR = 365 * 86400

# field: (lowest allowed, highest allowed, whether null is allowed)
BOUNDS = {
    "max_sessions_per_user": (1, 1000, True),
    "session_duration": (300, YEAR, False),
    "idle_timeout": (60, YEAR, True),
    "access_token_ttl": (60, 86400, False),
}
OUT_OF_RANGE = [(field, low - 1) for field, (low, _, _) in BOUNDS.items()] + [
    (field, high + 1) for field, (_, high, _) in BOUNDS.items()
] + [("max_sessions_per_user", -1), ("session_duration", 0)]
IN_RANGE = [(field, bound) for field, (low, high, _) in BOUNDS.items() for bound in (low, high)] + [
    (field, None) for field, (_, _, nullable) in BOUNDS.items() if nullable
]
NOT_NULL = [field for field, (_, _, nullable) in BOUNDS.items() if not nullable]


def stored(tenant: TenantKeys) -> dict[str, Any]:
    return TenantConfig.objects.filter(tenant=tenant.tenant).values(*BOUNDS).get()


DEFAULTS = {"max_sessions_per_user": None, "session_duration": 2592000, "idle_timeout": None,
            "access_token_ttl": 900}


def test_a_new_tenant_has_the_contract_defaults(tenant: TenantKeys) -> None:
    assert stored(tenant) == DEFAULTS


@pytest.mark.parametrize(("field", "value"), OUT_OF_RANGE)
def test_saving_an_out_of_range_value_is_refused_by_the_database(tenant: TenantKeys, field: str, value: int) -> None:
    config = TenantConfig.objects.get(tenant=tenant.tenant)
    setattr(config, field, value)
    with pytest.raises(IntegrityError), transaction.atomic():
        config.save()
    assert stored(tenant) == DEFAULTS


@pytest.mark.parametrize(("field", "value"), OUT_OF_RANGE)
def test_a_bulk_update_out_of_range_is_refused_too(tenant: TenantKeys, field: str, value: int) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        TenantConfig.objects.filter(tenant=tenant.tenant).update(**{field: value})
    assert stored(tenant) == DEFAULTS


@pytest.mark.parametrize(("field", "value"), OUT_OF_RANGE)
def test_the_service_cannot_store_an_out_of_range_value(tenant: TenantKeys, field: str, value: int) -> None:
    """update_tenant_config trusts its caller's validation; the constraint is its safety net."""
    with pytest.raises(IntegrityError), transaction.atomic():
        update_tenant_config(tenant=tenant.tenant, changes={field: value})
    assert stored(tenant) == DEFAULTS


@pytest.mark.parametrize("field", NOT_NULL)
def test_durations_without_a_null_meaning_cannot_be_null(tenant: TenantKeys, field: str) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        TenantConfig.objects.filter(tenant=tenant.tenant).update(**{field: None})
    assert stored(tenant) == DEFAULTS


@pytest.mark.parametrize(("field", "value"), IN_RANGE)
def test_bounds_themselves_and_null_where_allowed_are_stored(tenant: TenantKeys, field: str, value: int | None) -> None:
    config = TenantConfig.objects.get(tenant=tenant.tenant)
    setattr(config, field, value)
    config.save()
    assert stored(tenant) == {**DEFAULTS, field: value}


@pytest.mark.parametrize(("field", "value"), OUT_OF_RANGE)
def test_the_api_answers_400_invalid_parameter_before_the_database_is_asked(
    secret_key_client: APIClient, tenant: TenantKeys, field: str, value: int,
) -> None:
    response = secret_key_client.patch("/v1/admin/config", {field: value}, format="json")
    assert response.status_code == 400
    assert error_code(response) == "invalid_parameter"
    assert list(response.json()["error"]["fields"]) == [field]
    assert stored(tenant) == DEFAULTS


@pytest.mark.parametrize(("field", "value"), IN_RANGE)
def test_the_api_accepts_the_bounds(secret_key_client: APIClient, tenant: TenantKeys, field: str,
                                    value: int | None) -> None:
    response = secret_key_client.patch("/v1/admin/config", {field: value}, format="json")
    assert response.status_code == 200, response.content
    assert response.json() == {**DEFAULTS, "allowed_origins": [], "sign_in_alerts": "off", field: value}
    assert stored(tenant) == {**DEFAULTS, field: value}


@pytest.mark.parametrize("field", NOT_NULL)
def test_the_api_refuses_null_where_it_means_nothing(
    secret_key_client: APIClient, tenant: TenantKeys, field: str,
) -> None:
    response = secret_key_client.patch("/v1/admin/config", {field: None}, format="json")
    assert response.status_code == 400
    assert error_code(response) == "invalid_request"  # null is a wrong type here, not a value out of range
    assert stored(tenant) == DEFAULTS


def test_an_unknown_sign_in_alerts_value_is_refused_by_the_database(tenant: TenantKeys) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        TenantConfig.objects.filter(tenant=tenant.tenant).update(sign_in_alerts="never")
    assert TenantConfig.objects.get(tenant=tenant.tenant).sign_in_alerts == "off"
