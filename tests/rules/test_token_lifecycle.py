"""Sign-up, sign-in, access tokens, refresh rotation and reuse, sign-out, me, password change (issue 3)."""

import jwt
import pytest
from django.conf import settings
from jwt.algorithms import OKPAlgorithm

from sessions_app.models import RefreshToken, RevocationReason, Session
from tenants_app.models import User
from tests.conftest import DESKTOP_CHROME, IPHONE_SAFARI, client_with, error_code, user_client
from tests.factories import TEST_PASSWORD

pytestmark = pytest.mark.django_db

SESSION_KEYS = {
    "id", "user_id", "tenant_id", "status", "user_agent", "ip_address", "country", "device_type", "browser",
    "os", "created_at", "last_active_at", "expires_at", "revoked_at", "revoked_reason", "flags",
}
TOKEN_KEYS = {"access_token", "refresh_token", "access_token_expires_at", "refresh_token_expires_at"}


def refresh(tenant, token):
    client = client_with(tenant.publishable_key, tenant.id)
    return client.post("/v1/auth/token/refresh", {"refresh_token": token}, format="json")


def test_sign_up_creates_user_and_first_session(tenant, public_client):
    response = public_client.post(
        "/v1/auth/sign-up", {"email": " New.User@Example.com ", "password": TEST_PASSWORD, "name": "New"},
        format="json", HTTP_USER_AGENT=IPHONE_SAFARI,
    )
    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"user", "session"}
    assert body["user"]["email"] == "new.user@example.com"
    assert set(body["user"]) == {"id", "tenant_id", "email", "name", "status", "created_at", "last_sign_in_at"}
    assert set(body["session"]) == SESSION_KEYS | TOKEN_KEYS
    assert body["session"]["device_type"] == "mobile"
    assert body["session"]["refresh_token"].startswith("rft_")
    assert len(body["session"]["refresh_token"]) >= 4 + 43
    user = User.objects.get(pk=body["user"]["id"])
    assert user.password.startswith("argon2")
    assert Session.objects.filter(user=user).count() == 1


def test_sign_up_rejects_duplicate_weak_and_invalid(tenant, public_client, user):
    taken = public_client.post("/v1/auth/sign-up", {"email": "ALICE@example.com", "password": TEST_PASSWORD},
                               format="json")
    assert (taken.status_code, error_code(taken)) == (409, "email_already_exists")
    weak = public_client.post("/v1/auth/sign-up", {"email": "b@example.com", "password": "123"}, format="json")
    assert (weak.status_code, error_code(weak)) == (422, "password_too_weak")
    assert weak.json()["error"]["fields"]["password"]
    bad = public_client.post("/v1/auth/sign-up", {"email": "not-an-email", "password": TEST_PASSWORD}, format="json")
    assert (bad.status_code, error_code(bad)) == (422, "invalid_email")
    assert User.objects.count() == 1


def test_sign_in_shapes_and_independent_sessions(tenant, user, sign_in):
    first = sign_in(user_agent=DESKTOP_CHROME)
    second = sign_in(user_agent=IPHONE_SAFARI)
    assert set(first) == {"user", "session"}
    assert first["session"]["id"] != second["session"]["id"]
    assert first["session"]["refresh_token"] != second["session"]["refresh_token"]
    assert Session.objects.filter(user=user, revoked_at__isnull=True).count() == 2
    user.refresh_from_db()
    assert user.last_sign_in_at is not None


def test_wrong_password_and_unknown_email_answer_the_same(tenant, user, public_client):
    wrong = public_client.post("/v1/auth/sign-in", {"email": user.email, "password": "nope nope nope"},
                               format="json")
    unknown = public_client.post("/v1/auth/sign-in", {"email": "ghost@example.com", "password": "nope nope nope"},
                                 format="json")
    assert wrong.status_code == unknown.status_code == 401
    assert error_code(wrong) == error_code(unknown) == "invalid_credentials"
    assert wrong.json()["error"]["message"] == unknown.json()["error"]["message"]
    assert Session.objects.count() == 0


def test_disabled_user_cannot_sign_in(tenant, user, public_client):
    User.objects.filter(pk=user.pk).update(status=User.Status.DISABLED)
    response = public_client.post("/v1/auth/sign-in", {"email": user.email, "password": TEST_PASSWORD},
                                  format="json")
    assert (response.status_code, error_code(response)) == (403, "account_disabled")
    assert Session.objects.count() == 0


def test_access_token_verifies_against_jwks(tenant, user, sign_in, client):
    body = sign_in()
    token = body["session"]["access_token"]
    header = jwt.get_unverified_header(token)
    assert header["alg"] == "EdDSA" and header["typ"] == "JWT" and header["kid"].startswith("key_")
    jwks = client.get("/.well-known/jwks.json").json()
    jwk = next(key for key in jwks["keys"] if key["kid"] == header["kid"])
    public_key = OKPAlgorithm.from_jwk(jwk)
    claims = jwt.decode(token, public_key, algorithms=["EdDSA"], audience=tenant.id, issuer=settings.HJ_PUBLIC_URL)
    assert claims["sub"] == user.id
    assert claims["session_id"] == body["session"]["id"]
    assert claims["tenant_id"] == tenant.id
    assert claims["exp"] - claims["iat"] == 900
    assert claims["jti"]


def test_me_returns_user_and_current_session(tenant, user, sign_in):
    body = sign_in()
    response = user_client(body).get("/v1/auth/me")
    assert response.status_code == 200
    data = response.json()
    assert data["user"]["id"] == user.id
    assert data["session"]["id"] == body["session"]["id"]
    assert data["session"]["current"] is True


def test_refresh_rotates_and_reuse_revokes_the_session(tenant, user, sign_in):
    body = sign_in()
    old = body["session"]["refresh_token"]
    rotated = refresh(tenant, old)
    assert rotated.status_code == 200
    new = rotated.json()["session"]
    assert set(rotated.json()) == {"session"}
    assert new["id"] == body["session"]["id"]
    assert new["refresh_token"] != old and new["access_token"] != body["session"]["access_token"]
    assert RefreshToken.objects.filter(session_id=new["id"], retired_at__isnull=False).count() == 1

    reused = refresh(tenant, old)
    assert (reused.status_code, error_code(reused)) == (401, "refresh_token_reused")
    session = Session.objects.get(pk=new["id"])
    assert session.revoked_reason == RevocationReason.REFRESH_TOKEN_REUSED
    # The thief's and the victim's tokens are both dead now.
    after = refresh(tenant, new["refresh_token"])
    assert (after.status_code, error_code(after)) == (401, "session_revoked")
    me = user_client({"session": new}).get("/v1/auth/me")
    assert (me.status_code, error_code(me)) == (401, "session_revoked")


def test_unknown_refresh_token_and_other_tenants_token(tenant, other_tenant, user, sign_in):
    assert error_code(refresh(tenant, "rft_unknown")) == "refresh_token_invalid"
    body = sign_in()
    foreign = refresh(other_tenant, body["session"]["refresh_token"])
    assert (foreign.status_code, error_code(foreign)) == (401, "refresh_token_invalid")
    assert Session.objects.get(pk=body["session"]["id"]).revoked_at is None


def test_disabled_user_cannot_refresh(tenant, user, sign_in):
    body = sign_in()
    User.objects.filter(pk=user.pk).update(status=User.Status.DISABLED)
    response = refresh(tenant, body["session"]["refresh_token"])
    # docs/api.md, "Refresh": a disabled user's session answers `session_expired` (`account_disabled` is sign-in's).
    assert (response.status_code, error_code(response)) == (401, "session_expired")


def test_revocation_refuses_the_access_token_on_its_next_request(tenant, user, sign_in):
    from sessions_app.services import SYSTEM, revoke_session

    body = sign_in()
    client = user_client(body)
    assert client.get("/v1/auth/me").status_code == 200
    revoke_session(session=Session.objects.get(pk=body["session"]["id"]),
                   reason=RevocationReason.REVOKED_BY_ADMIN, actor=SYSTEM)
    response = client.get("/v1/auth/me")
    assert (response.status_code, error_code(response)) == (401, "session_revoked")


def test_sign_out_with_access_token(tenant, user, sign_in):
    body = sign_in()
    other = sign_in()
    response = user_client(body).post("/v1/auth/sign-out")
    assert response.status_code == 204
    assert Session.objects.get(pk=body["session"]["id"]).revoked_reason == RevocationReason.SIGNED_OUT
    assert Session.objects.get(pk=other["session"]["id"]).revoked_at is None


def test_sign_out_with_refresh_token_and_publishable_key(tenant, user, sign_in, public_client):
    body = sign_in()
    response = public_client.post("/v1/auth/sign-out", {"refresh_token": body["session"]["refresh_token"]},
                                  format="json")
    assert response.status_code == 204
    assert Session.objects.get(pk=body["session"]["id"]).revoked_reason == RevocationReason.SIGNED_OUT
    missing = public_client.post("/v1/auth/sign-out", {}, format="json")
    assert (missing.status_code, error_code(missing)) == (400, "invalid_parameter")


def test_password_change_revokes_others_but_not_current(tenant, user, sign_in):
    current, other_a, other_b = sign_in(), sign_in(), sign_in()
    client = user_client(current)
    wrong = client.post("/v1/auth/password", {"current_password": "wrong wrong", "new_password": "x"},
                        format="json")
    assert (wrong.status_code, error_code(wrong)) == (401, "invalid_credentials")
    assert Session.objects.filter(revoked_at__isnull=True).count() == 3
    response = client.post("/v1/auth/password",
                           {"current_password": TEST_PASSWORD, "new_password": "a brand new passphrase"},
                           format="json")
    assert response.status_code == 204
    reasons = dict(Session.objects.values_list("id", "revoked_reason"))
    assert reasons[current["session"]["id"]] is None
    assert reasons[other_a["session"]["id"]] == reasons[other_b["session"]["id"]] == "password_changed"
    assert client.get("/v1/auth/me").status_code == 200


def test_publishable_key_cannot_call_user_routes_and_token_cannot_sign_in(tenant, user, sign_in, public_client):
    response = public_client.get("/v1/auth/me")
    assert (response.status_code, error_code(response)) == (403, "insufficient_permissions")
    body = sign_in()
    response = user_client(body).post("/v1/auth/sign-in", {"email": user.email, "password": TEST_PASSWORD},
                                      format="json")
    assert (response.status_code, error_code(response)) == (403, "insufficient_permissions")


def test_token_for_another_tenant_header_is_refused(tenant, other_tenant, user, sign_in):
    body = sign_in()
    client = client_with(body["session"]["access_token"], other_tenant.id)
    response = client.get("/v1/auth/me")
    assert (response.status_code, error_code(response)) == (403, "tenant_mismatch")
    client = client_with(body["session"]["access_token"], None)
    response = client.get("/v1/auth/me")
    assert (response.status_code, error_code(response)) == (400, "missing_tenant_id")


def test_garbage_tokens_are_invalid(tenant):
    for credential in ["garbage", "a.b.c", "eyJhbGciOiJub25lIn0.e30."]:
        response = client_with(credential, tenant.id).get("/v1/auth/me")
        assert (response.status_code, error_code(response)) == (401, "invalid_token"), credential
    response = client_with(None, tenant.id).get("/v1/auth/me", HTTP_AUTHORIZATION="Basic abc")
    assert (response.status_code, error_code(response)) == (401, "invalid_token")


def test_an_email_that_lower_case_lengthens_past_the_limit_is_refused(tenant, public_client):
    email = "a@" + ("İ" * 31 + ".") * 4 + "com"  # 133 characters; lower() makes it 257
    response = public_client.post("/v1/auth/sign-up", {"email": email, "password": TEST_PASSWORD}, format="json")
    assert (response.status_code, error_code(response)) == (422, "invalid_email")
    assert User.objects.count() == 0


def test_a_disabled_tenants_access_tokens_stop_working(tenant, user, sign_in):
    from tenants_app.models import Tenant

    body = sign_in()
    client = user_client(body)
    assert client.get("/v1/auth/me").status_code == 200
    Tenant.objects.filter(pk=tenant.id).update(status=Tenant.Status.DISABLED)
    for response in (client.get("/v1/auth/me"), client.delete("/v1/sessions")):
        assert (response.status_code, error_code(response)) == (401, "invalid_token")
    assert Session.objects.get(pk=body["session"]["id"]).revoked_at is None
