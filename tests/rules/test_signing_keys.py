"""Signing keys: created on demand, rotated without breaking tokens in flight, retired later (issue 3)."""

from datetime import timedelta

import pytest
import time_machine
from django.core.management import call_command
from django.utils import timezone

from sessions_app.models import SigningKey
from sessions_app.services import PUBLICATION_LEAD
from tests.conftest import user_client

pytestmark = pytest.mark.django_db


def kid_of(token: str) -> str:
    import jwt

    return jwt.get_unverified_header(token)["kid"]


def test_rotation_keeps_old_tokens_valid_and_signs_new_ones_with_the_new_key(tenant, user, sign_in, client):
    before = sign_in()
    old_kid = kid_of(before["session"]["access_token"])
    call_command("rotate_signing_key")
    new_kid = SigningKey.objects.exclude(pk=old_kid).get().pk
    # Published at once, signing only after the publication lead (tests/rules/test_key_publication.py).
    assert kid_of(sign_in()["session"]["access_token"]) == old_kid
    with time_machine.travel(timezone.now() + PUBLICATION_LEAD, tick=False):
        after = sign_in()
        assert kid_of(after["session"]["access_token"]) == new_kid
        assert user_client(before).get("/v1/auth/me").status_code == 200
        assert user_client(after).get("/v1/auth/me").status_code == 200
        kids = {key["kid"] for key in client.get("/.well-known/jwks.json").json()["keys"]}
    assert kids == {old_kid, new_kid}


def test_keys_replaced_longer_ago_than_the_longest_token_life_are_retired(tenant, user, sign_in, client):
    sign_in()
    first = SigningKey.objects.get()
    call_command("rotate_signing_key")
    second = SigningKey.objects.exclude(pk=first.pk).get()
    # The first key is replaced when the second activates, a publication lead after the rotation.
    with time_machine.travel(timezone.now() + PUBLICATION_LEAD + timedelta(days=1, seconds=10), tick=False):
        call_command("rotate_signing_key")
        kids = {key["kid"] for key in client.get("/.well-known/jwks.json").json()["keys"]}
    first.refresh_from_db()
    assert first.retired_at is not None
    assert second.id in kids and first.id not in kids


def test_a_retired_key_stops_verifying_once_the_process_rereads_it(tenant, user, sign_in, monkeypatch):
    from django.utils import timezone as tz

    from sessions_app import tokens

    body = sign_in()
    assert user_client(body).get("/v1/auth/me").status_code == 200  # the key is now cached
    SigningKey.objects.update(retired_at=tz.now())  # an operator withdraws a leaked key
    monkeypatch.setattr(tokens, "VERIFICATION_KEY_TTL", 0.0)
    response = user_client(body).get("/v1/auth/me")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_token"
