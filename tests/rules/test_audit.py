"""The audit trail (issue 7): one JSON line per sign-in success and failure, refresh, reuse
detection and revocation, with the fields an investigator needs, and never a token, a key or a
password. Lines are captured from the `hellojohn.audit` logger and formatted with the project's
JsonFormatter, exactly as production writes them.
"""

import json
import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from rest_framework.test import APIClient

from hellojohn_project.logging import JsonFormatter
from sessions_app.models import RefreshToken, RevocationReason
from tenants_app import secrets
from tenants_app.models import ApiKey, TenantConfig, User
from tests.conftest import DESKTOP_CHROME, TenantKeys, client_with, user_client
from tests.factories import TEST_PASSWORD, UserFactory

# Real commits: the lines of changes are written once their events have committed (sessions_app/audit.py).
pytestmark = pytest.mark.django_db(transaction=True)

FORMATTER = JsonFormatter()


class Trail:
    """Every log record of the test (all loggers), and the audit ones as parsed JSON lines."""

    def __init__(self, caplog: pytest.LogCaptureFixture):
        self.caplog = caplog

    def lines(self) -> list[str]:
        return [FORMATTER.format(record) for record in self.caplog.records]

    def events(self, name: str | None = None) -> list[dict[str, Any]]:
        parsed = [json.loads(FORMATTER.format(r)) for r in self.caplog.records if r.name == "hellojohn.audit"]
        return [line for line in parsed if name is None or line["event"] == name]

    def clear(self) -> None:
        self.caplog.clear()


@pytest.fixture
def trail(caplog: pytest.LogCaptureFixture) -> Iterator[Trail]:
    with caplog.at_level(logging.DEBUG):
        yield Trail(caplog)


def public(keys: TenantKeys) -> APIClient:
    return client_with(keys.publishable_key, keys.id, HTTP_USER_AGENT=DESKTOP_CHROME, REMOTE_ADDR="203.0.113.5")


def _common(line: dict[str, Any], event: str, level: str) -> None:
    assert line["event"] == event and line["message"] == event
    assert line["level"] == level and line["logger"] == "hellojohn.audit"
    assert line["time"].endswith("+00:00")


def test_sign_in_success(tenant: TenantKeys, user: User, sign_in: Callable[..., dict], trail: Trail) -> None:
    body = sign_in(ip="203.0.113.5")
    [line] = trail.events("sign_in.succeeded")
    _common(line, "sign_in.succeeded", "INFO")
    assert {k: line[k] for k in ("tenant_id", "user_id", "session_id", "ip_address")} == {
        "tenant_id": tenant.id, "user_id": user.id, "session_id": body["session"]["id"], "ip_address": "203.0.113.5"}


@pytest.mark.parametrize(("email", "password", "reason"), [
    ("nobody@example.com", TEST_PASSWORD, "unknown_email"),
    ("alice@example.com", "Wrong-Password-1234", "wrong_password"),
    ("  ALICE@example.com", "Wrong-Password-1234", "wrong_password"),
    ("disabled@example.com", TEST_PASSWORD, "account_disabled"),
])
def test_sign_in_failure(tenant: TenantKeys, user: User, trail: Trail, email: str, password: str,
                         reason: str) -> None:
    UserFactory(tenant=tenant.tenant, email="disabled@example.com", status=User.Status.DISABLED)
    response = public(tenant).post("/v1/auth/sign-in", {"email": email, "password": password}, format="json")
    assert response.status_code == (403 if reason == "account_disabled" else 401)
    [line] = trail.events("sign_in.failed")
    _common(line, "sign_in.failed", "WARNING")
    assert {k: line[k] for k in ("tenant_id", "email", "reason", "ip_address")} == {
        "tenant_id": tenant.id, "email": email.strip().lower(), "reason": reason, "ip_address": "203.0.113.5"}
    assert not trail.events("sign_in.succeeded")


def test_refresh(tenant: TenantKeys, user: User, sign_in: Callable[..., dict], trail: Trail) -> None:
    session = sign_in()["session"]
    trail.clear()
    response = public(tenant).post("/v1/auth/token/refresh", {"refresh_token": session["refresh_token"]},
                                   format="json")
    assert response.status_code == 200
    [line] = trail.events()
    _common(line, "session.refreshed", "INFO")
    assert (line["tenant_id"], line["session_id"]) == (tenant.id, session["id"])


def test_reuse_detection_and_its_revocation(tenant: TenantKeys, user: User, sign_in: Callable[..., dict],
                                            trail: Trail) -> None:
    session = sign_in()["session"]
    client = public(tenant)
    assert client.post("/v1/auth/token/refresh", {"refresh_token": session["refresh_token"]},
                       format="json").status_code == 200
    trail.clear()
    replay = client.post("/v1/auth/token/refresh", {"refresh_token": session["refresh_token"]}, format="json")
    assert replay.status_code == 401
    revoked, reused = trail.events("session.revoked"), trail.events("refresh_token.reused")
    assert [(line["session_id"], line["reason"], line["actor"], line["tenant_id"]) for line in revoked] == [
        (session["id"], "refresh_token_reused", "system", tenant.id)]
    assert len(reused) == 1
    _common(reused[0], "refresh_token.reused", "WARNING")
    assert (reused[0]["tenant_id"], reused[0]["session_id"]) == (tenant.id, session["id"])


def _api_key_id(keys: TenantKeys) -> str:
    return ApiKey.objects.get(key_hash=secrets.digest(keys.secret_key)).id


def _revocations(tenant: TenantKeys, user: User, sign_in: Callable[..., dict]) -> dict[str, Callable[[], tuple]]:
    """Each revocation reason, caused through its own face; answers (session ids, actor) expected."""

    def signed_out() -> tuple:
        s = sign_in()
        assert user_client(s).post("/v1/auth/sign-out", {}, format="json").status_code == 204
        return {s["session"]["id"]}, f"user:{user.id}"

    def revoked_by_user() -> tuple:
        mine, other = sign_in(), sign_in()
        assert user_client(mine).delete(f"/v1/sessions/{other['session']['id']}").status_code == 204
        return {other["session"]["id"]}, f"user:{user.id}"

    def revoked_by_admin() -> tuple:
        ids = {sign_in()["session"]["id"] for _ in range(2)}
        response = client_with(tenant.secret_key, tenant.id).delete(f"/v1/sessions?user_id={user.id}")
        assert response.json() == {"revoked": 2}
        return ids, f"api_key:{_api_key_id(tenant)}"

    def session_limit() -> tuple:
        TenantConfig.objects.update_or_create(tenant=tenant.tenant, defaults={"max_sessions_per_user": 1})
        first = sign_in()
        sign_in()
        return {first["session"]["id"]}, "system"

    def password_changed() -> tuple:
        mine, other = sign_in(), sign_in()
        response = user_client(mine).post("/v1/auth/password", {"current_password": TEST_PASSWORD,
                                                                "new_password": "A-brand-new-passphrase-42"},
                                          format="json")
        assert response.status_code == 204
        return {other["session"]["id"]}, f"user:{user.id}"

    def user_disabled() -> tuple:
        ids = {sign_in()["session"]["id"] for _ in range(2)}
        response = client_with(tenant.secret_key, tenant.id).patch(f"/v1/users/{user.id}", {"status": "disabled"},
                                                                   format="json")
        assert response.status_code == 200
        return ids, f"api_key:{_api_key_id(tenant)}"

    return {fn.__name__: fn for fn in (signed_out, revoked_by_user, revoked_by_admin, session_limit,
                                       password_changed, user_disabled)}


@pytest.mark.parametrize("reason", [r.value for r in RevocationReason if r != RevocationReason.REFRESH_TOKEN_REUSED])
def test_every_revocation_reason(tenant: TenantKeys, user: User, sign_in: Callable[..., dict], trail: Trail,
                                 reason: str) -> None:
    cause = _revocations(tenant, user, sign_in)[reason]
    expected_ids, actor = cause()
    lines = trail.events("session.revoked")
    assert {line["session_id"] for line in lines} == expected_ids
    assert len(lines) == len(expected_ids)  # one line per session
    for line in lines:
        _common(line, "session.revoked", "INFO")
        assert (line["reason"], line["actor"], line["tenant_id"]) == (reason, actor, tenant.id)


def test_no_line_ever_contains_a_token_a_key_or_a_password(tenant: TenantKeys, user: User,
                                                          sign_in: Callable[..., dict], trail: Trail) -> None:
    """A whole day of traffic, every logger included (django.request too), searched for every secret."""
    wrong_password = "Wrong-Password-Canary-7731"
    new_password = "A-brand-new-passphrase-Canary-42"
    sign_up_password = "Sign-up-passphrase-Canary-99"
    secrets_seen: set[str] = {tenant.secret_key, tenant.publishable_key, TEST_PASSWORD, wrong_password,
                              new_password, sign_up_password}
    client = public(tenant)
    signed_up = client.post("/v1/auth/sign-up", {"email": "new@example.com", "password": sign_up_password},
                            format="json").json()
    first, second = sign_in(), sign_in()
    client.post("/v1/auth/sign-in", {"email": "alice@example.com", "password": wrong_password}, format="json")
    client.post("/v1/auth/sign-in", {"email": "nobody@example.com", "password": wrong_password}, format="json")
    refreshed = client.post("/v1/auth/token/refresh", {"refresh_token": first["session"]["refresh_token"]},
                            format="json").json()
    client.post("/v1/auth/token/refresh", {"refresh_token": first["session"]["refresh_token"]}, format="json")
    client_with(tenant.secret_key, tenant.id).post("/v1/sessions/verify",
                                                   {"token": second["session"]["access_token"]}, format="json")
    user_client(second).post("/v1/auth/password", {"current_password": wrong_password,
                                                   "new_password": new_password}, format="json")
    user_client(second).post("/v1/auth/password", {"current_password": TEST_PASSWORD,
                                                   "new_password": new_password}, format="json")
    client_with(tenant.secret_key, tenant.id).patch(f"/v1/users/{user.id}", {"password": TEST_PASSWORD + "!x"},
                                                    format="json")
    client.post("/v1/auth/sign-out", {"refresh_token": signed_up["session"]["refresh_token"]}, format="json")
    client_with("sk_live_" + "x" * 43, tenant.id).get("/v1/sessions")  # an unknown key is not logged either

    for body in (signed_up, first, second, refreshed):
        session = body["session"]
        for token in (session["access_token"], session["refresh_token"]):
            secrets_seen.add(token)
            secrets_seen.update(part for part in token.split(".")[1:])  # JWT payload and signature alone
        secrets_seen.add(secrets.digest(session["refresh_token"]))  # even the stored hash
    secrets_seen.update(RefreshToken.objects.values_list("token_hash", flat=True))
    secrets_seen.update(ApiKey.objects.values_list("key_hash", flat=True))
    secrets_seen.add("sk_live_" + "x" * 43)
    # Distinctive pieces, so a truncated or re-encoded leak is caught too.
    secrets_seen |= {s[len(s) // 4: len(s) // 4 + 16] for s in list(secrets_seen) if len(s) >= 32}

    lines = trail.lines()
    events = {line["event"] for line in trail.events()}
    assert {"sign_in.succeeded", "sign_in.failed", "session.refreshed", "refresh_token.reused",
            "session.revoked"} <= events
    leaks = [(secret, line) for line in lines for secret in secrets_seen if secret in line]
    assert leaks == []


def test_the_audit_logger_writes_json_lines_through_the_project_config(settings: Any) -> None:
    assert settings.LOGGING["formatters"]["json"]["()"] == "hellojohn_project.logging.JsonFormatter"
    assert settings.LOGGING["loggers"]["hellojohn.audit"]["level"] == "INFO"
    record = logging.LogRecord("hellojohn.audit", logging.INFO, __file__, 1, "session.revoked", None, None)
    record.event, record.session_id = "session.revoked", "ses_01JDQ8Z6V4X3N2M1K0HGFEDCBA"
    line = FORMATTER.format(record)
    assert "\n" not in line
    assert json.loads(line)["session_id"] == "ses_01JDQ8Z6V4X3N2M1K0HGFEDCBA"
