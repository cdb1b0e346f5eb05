"""A rotated-in signing key is published before it signs, so caching verifiers never miss it (issue 12, 7).

A verifier (PyJWT's PyJWKClient, over real HTTP to a live server) fetches the JWK Set before the
rotation; every token signed after it, during the publication lead, still verifies with that cached
set, without a refetch. Withdrawing a leaked key is a command, and takes effect at once.
"""

import io
from datetime import timedelta
from typing import Any

import jwt
import pytest
import time_machine
from django.conf import settings
from django.core.management import CommandError, call_command
from django.utils import timezone

from sessions_app import tokens
from sessions_app.models import SigningKey
from sessions_app.services import PUBLICATION_LEAD
from tests.conftest import user_client

pytestmark = pytest.mark.django_db(transaction=True)


def verifier(live_server: Any) -> tuple[jwt.PyJWKClient, list[int]]:
    """A PyJWKClient on the live server's key set, and a list that grows by one per fetch."""
    client = jwt.PyJWKClient(f"{live_server.url}/.well-known/jwks.json")
    fetches: list[int] = []
    fetch = client.fetch_data

    def counted() -> Any:
        fetches.append(1)
        return fetch()

    client.fetch_data = counted  # type: ignore[method-assign]
    return client, fetches


def verify(client: jwt.PyJWKClient, token: str, tenant_id: str) -> dict[str, Any]:
    return jwt.decode(token, client.get_signing_key_from_jwt(token), algorithms=["EdDSA"], audience=tenant_id,
                      issuer=settings.HJ_PUBLIC_URL)


def test_tokens_signed_after_a_rotation_verify_with_a_key_set_cached_before_it(live_server, tenant, user, sign_in):
    cached, fetches = verifier(live_server)
    before = sign_in()["session"]["access_token"]
    old_kid = jwt.get_unverified_header(before)["kid"]
    assert verify(cached, before, tenant.id)["sub"] == user.id
    assert len(fetches) == 1

    out = io.StringIO()
    call_command("rotate_signing_key", stdout=out)
    new_key = SigningKey.objects.exclude(pk=old_kid).get()
    assert f"signs from {new_key.activates_at.isoformat()} (in {int(PUBLICATION_LEAD.total_seconds())} s)" in (
        out.getvalue())
    assert timedelta(seconds=tokens.JWKS_MAX_AGE) <= PUBLICATION_LEAD

    # Within the lead: every new token still verifies with the set cached before the rotation.
    for offset in (0, 1, tokens.JWKS_MAX_AGE, PUBLICATION_LEAD.total_seconds() - 1):
        with time_machine.travel(timezone.now() + timedelta(seconds=offset), tick=False):
            token = sign_in()["session"]["access_token"]
            assert jwt.get_unverified_header(token)["kid"] == old_kid, offset
            assert verify(cached, token, tenant.id)["sub"] == user.id
    assert len(fetches) == 1  # no refetch was needed (PyJWT would refuse during its refetch cooldown)

    # Meanwhile the new key is published: whoever fetches the set from now on has it before it signs.
    fresh, _ = verifier(live_server)
    assert {key.key_id for key in fresh.get_signing_keys()} == {old_kid, new_key.id}
    with time_machine.travel(timezone.now() + PUBLICATION_LEAD + timedelta(seconds=1), tick=False):
        after = sign_in()["session"]["access_token"]
        assert jwt.get_unverified_header(after)["kid"] == new_key.id
        assert verify(fresh, after, tenant.id)["sub"] == user.id


def test_withdrawing_a_leaked_key_is_a_command(tenant, user, sign_in, client, monkeypatch):
    body = sign_in()
    leaked = jwt.get_unverified_header(body["session"]["access_token"])["kid"]
    monkeypatch.setattr(tokens, "VERIFICATION_KEY_TTL", 0.0)  # every process has re-read its keys
    out = io.StringIO()
    call_command("withdraw_signing_key", leaked, stdout=out)
    assert f"Withdrawn: {leaked}." in out.getvalue()
    assert SigningKey.objects.get(pk=leaked).retired_at is not None
    assert leaked not in {key["kid"] for key in client.get("/.well-known/jwks.json").json()["keys"]}
    response = user_client(body).get("/v1/auth/me")
    assert (response.status_code, response.json()["error"]["code"]) == (401, "invalid_token")
    # The next token is signed by a new key, at once (nothing signs without it).
    assert jwt.get_unverified_header(sign_in()["session"]["access_token"])["kid"] != leaked
    with pytest.raises(CommandError, match="No unretired signing key"):
        call_command("withdraw_signing_key", leaked)


def test_withdrawing_the_signing_key_during_a_rotation_activates_the_published_key(live_server, tenant, user, sign_in):
    """The key a rotation published is already in the verifiers' cached sets: it signs at once after the
    only signing key is withdrawn, instead of a new key no verifier has."""
    leaked = jwt.get_unverified_header(sign_in()["session"]["access_token"])["kid"]
    call_command("rotate_signing_key", stdout=io.StringIO())
    published = SigningKey.objects.get(retired_at__isnull=True, activates_at__gt=timezone.now())
    client, fetches = verifier(live_server)
    client.get_signing_keys()  # fetched after the rotation, before the withdrawal
    call_command("withdraw_signing_key", leaked, stdout=io.StringIO())
    token = sign_in()["session"]["access_token"]
    assert jwt.get_unverified_header(token)["kid"] == published.id
    assert SigningKey.objects.filter(retired_at__isnull=True).count() == 1
    assert client.get_signing_key_from_jwt(token).key_id == published.id
    assert len(fetches) == 1
