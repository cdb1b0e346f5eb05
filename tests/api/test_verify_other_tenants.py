"""`POST /v1/sessions/verify` says nothing about another tenant's token, expired or not (issue 12, 9)."""

from datetime import timedelta

import time_machine
from django.utils import timezone

from tests.conftest import client_with
from tests.factories import UserFactory


def test_another_tenants_token_is_invalid_token_whether_or_not_it_has_expired(tenant, other_tenant, sign_in):
    UserFactory(tenant=other_tenant.tenant, email="bob@example.com")
    UserFactory(tenant=tenant.tenant, email="alice@example.com")
    foreign = sign_in("bob@example.com", keys=other_tenant)["session"]["access_token"]
    own = sign_in("alice@example.com")["session"]["access_token"]
    verify = client_with(tenant.secret_key, tenant.id)
    live = {"valid": False, "reason": "invalid_token", "session": None}
    assert verify.post("/v1/sessions/verify", {"token": foreign}, format="json").json() == live

    with time_machine.travel(timezone.now() + timedelta(hours=2), tick=False):
        answer = verify.post("/v1/sessions/verify", {"token": foreign}, format="json")
        assert answer.status_code == 200
        assert answer.json() == live  # the same answer as before it expired: nothing tells them apart
        # The tenant's own expired token still says why.
        assert verify.post("/v1/sessions/verify", {"token": own}, format="json").json()["reason"] == "token_expired"
