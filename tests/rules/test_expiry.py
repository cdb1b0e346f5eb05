"""Absolute and idle expiry, access-token expiry and the throttled last_active_at write (issue 3)."""

from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.utils import timezone

from sessions_app.models import Session
from tenants_app.models import TenantConfig
from tests.conftest import client_with, error_code, user_client

pytestmark = pytest.mark.django_db


def refresh(tenant, token):
    return client_with(tenant.publishable_key, tenant.id).post(
        "/v1/auth/token/refresh", {"refresh_token": token}, format="json"
    )


def test_absolute_expiry_refuses_refresh_and_access(tenant, user, sign_in):
    TenantConfig.objects.filter(tenant=tenant.tenant).update(session_duration=3600, access_token_ttl=86400)
    body = sign_in()
    session = Session.objects.get(pk=body["session"]["id"])
    assert session.expires_at - session.created_at == timedelta(seconds=3600)
    with time_machine.travel(timezone.now() + timedelta(seconds=3601), tick=False):
        me = user_client(body).get("/v1/auth/me")
        assert (me.status_code, error_code(me)) == (401, "session_expired")
        response = refresh(tenant, body["session"]["refresh_token"])
        # docs/api.md, "Refresh": past the session's `expires_at` the refresh token itself has expired.
        assert (response.status_code, error_code(response)) == (401, "refresh_token_expired")


def test_idle_timeout_expires_an_unused_session(tenant, user, sign_in):
    TenantConfig.objects.filter(tenant=tenant.tenant).update(idle_timeout=600, access_token_ttl=86400)
    body = sign_in()
    start = timezone.now()
    with time_machine.travel(start + timedelta(seconds=500), tick=False):
        assert user_client(body).get("/v1/auth/me").status_code == 200  # activity resets the idle clock
    with time_machine.travel(start + timedelta(seconds=1000), tick=False):
        assert user_client(body).get("/v1/auth/me").status_code == 200
    with time_machine.travel(start + timedelta(seconds=1700), tick=False):
        me = user_client(body).get("/v1/auth/me")
        assert (me.status_code, error_code(me)) == (401, "session_expired")
        assert error_code(refresh(tenant, body["session"]["refresh_token"])) == "session_expired"
        listed = client_with(tenant.secret_key, tenant.id).get("/v1/sessions?status=expired").json()
        assert [s["id"] for s in listed["data"]] == [body["session"]["id"]]
        assert listed["data"][0]["status"] == "expired"


def test_access_token_expiry(tenant, user, sign_in):
    body = sign_in()
    with time_machine.travel(timezone.now() + timedelta(seconds=901), tick=False):
        me = user_client(body).get("/v1/auth/me")
        assert (me.status_code, error_code(me)) == (401, "token_expired")
        assert refresh(tenant, body["session"]["refresh_token"]).status_code == 200


def test_last_active_at_is_written_at_most_once_a_minute(tenant, user, sign_in, django_assert_num_queries):
    body = sign_in()
    session_id = body["session"]["id"]
    created = Session.objects.get(pk=session_id).last_active_at
    client = user_client(body)
    assert client.get("/v1/auth/me").status_code == 200  # loads the verification key into this process
    # Inside the test's transaction no check answers from memory; on PostgreSQL, without the change
    # feed's lease, the signing key is read again with the session (docs/api.md "Revocation is immediate").
    check = 2 if connection.vendor == "postgresql" else 1
    with time_machine.travel(created + timedelta(seconds=30), tick=False):
        with django_assert_num_queries(check):  # the session check, no write
            assert client.get("/v1/auth/me").status_code == 200
        assert Session.objects.get(pk=session_id).last_active_at == created
    with time_machine.travel(created + timedelta(seconds=61), tick=False):
        with django_assert_num_queries(check + 1):  # the check and one conditional UPDATE
            assert client.get("/v1/auth/me").status_code == 200
        assert Session.objects.get(pk=session_id).last_active_at == created + timedelta(seconds=61)
        with django_assert_num_queries(check):  # fresh again: no write
            assert client.get("/v1/auth/me").status_code == 200


def test_a_session_in_steady_use_never_idles_out(tenant, user, sign_in):
    """Activity is stored at most once a minute, so idleness is judged with that much grace: a client
    calling every 59 s with idle_timeout=60 must never be cut off."""
    TenantConfig.objects.filter(tenant=tenant.tenant).update(idle_timeout=60, access_token_ttl=86400)
    body = sign_in()
    start = timezone.now()
    for step in range(1, 8):
        with time_machine.travel(start + timedelta(seconds=59 * step), tick=False):
            assert user_client(body).get("/v1/auth/me").status_code == 200, step
    with time_machine.travel(start + timedelta(seconds=59 * 7 + 121), tick=False):
        me = user_client(body).get("/v1/auth/me")
        assert (me.status_code, error_code(me)) == (401, "session_expired")
