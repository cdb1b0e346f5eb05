"""A sign-in in flight never outlives a password change or a disable that lands during it (issue 12, 1).

Real threads, each on its own database connection, over the API (DRF's APIClient). The sign-in is
held at chosen points (just after its password check, and under the user's lock) while the change
commits, and swept across time offsets around a slowed password check. Whatever the interleaving, the
user has no usable session afterwards but the one the change itself keeps (the caller's own, for
`POST /v1/auth/password`), and re-enabling a user revives nothing.
"""

import importlib
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.contrib.auth import hashers

from sessions_app.models import Session
from tenants_app.models import User
from tests.concurrent import Thread, threads_db  # noqa: F401 (a fixture)
from tests.conftest import DESKTOP_CHROME, TenantKeys, client_with
from tests.factories import TEST_PASSWORD, UserFactory

# The module, not the function of the same name that sessions_app.services exports.
sign_in_rules = importlib.import_module("sessions_app.services.sign_in")

pytestmark = pytest.mark.usefixtures("threads_db")

NEW_PASSWORD = "a different long passphrase"


@pytest.fixture(autouse=True)
def _no_rate_limits(settings: Any) -> None:
    settings.HJ_RATE_LIMITS = {scope: "100000/min" for scope in settings.HJ_RATE_LIMITS}


def sign_in_call(keys: TenantKeys) -> Callable[[], tuple[int, dict[str, Any]]]:
    def call() -> tuple[int, dict[str, Any]]:
        client = client_with(keys.publishable_key, keys.id, HTTP_USER_AGENT=DESKTOP_CHROME)
        response = client.post("/v1/auth/sign-in", {"email": "alice@example.com", "password": TEST_PASSWORD},
                               format="json")
        return response.status_code, response.json()

    return call


def admin_patch(keys: TenantKeys, user: User, body: dict[str, str]) -> Callable[[], int]:
    def call() -> int:
        return client_with(keys.secret_key, keys.id).patch(f"/v1/users/{user.id}", body, format="json").status_code

    return call


def own_password_change(access_token: str, keys: TenantKeys) -> Callable[[], int]:
    def call() -> int:
        response = client_with(access_token, keys.id).post(
            "/v1/auth/password", {"current_password": TEST_PASSWORD, "new_password": NEW_PASSWORD}, format="json")
        return response.status_code

    return call


@contextmanager
def held(monkeypatch: pytest.MonkeyPatch, where: str) -> Iterator[tuple[threading.Event, threading.Event]]:
    """Holds the sign-in at `where` ("after_check": its password check done; "under_lock": the user's
    row locked, the session created) until `go` is set; `reached` is set when it gets there."""
    reached, go = threading.Event(), threading.Event()
    if where == "after_check":
        real = hashers.check_password

        def check_then_wait(password: str, encoded: str, *args: Any, **kwargs: Any) -> bool:
            ok = real(password, encoded, *args, **kwargs)
            reached.set()
            go.wait(timeout=20)
            return ok

        monkeypatch.setattr(sign_in_rules, "check_password", check_then_wait)
    else:
        real_issue = sign_in_rules.issue_refresh_token

        def issue_then_wait(**kwargs: Any) -> Any:
            record = real_issue(**kwargs)
            reached.set()
            go.wait(timeout=20)
            return record

        monkeypatch.setattr(sign_in_rules, "issue_refresh_token", issue_then_wait)
    yield reached, go


def usable_sessions(user: User, *, keep: str | None = None) -> list[str]:
    """The user's unrevoked sessions but `keep`: a change that signs the user out leaves none."""
    return list(Session.objects.filter(user=user, revoked_at__isnull=True).exclude(pk=keep)
                .values_list("pk", flat=True))


def assert_dead(keys: TenantKeys, answer: tuple[int, dict[str, Any]], *, refused: set[int]) -> None:
    """A sign-in that lost the race was refused; one that won has a session that no longer opens."""
    status, body = answer
    if status == 200:
        me = client_with(body["session"]["access_token"], keys.id).get("/v1/auth/me")
        assert me.status_code == 401, me.content
        refresh = client_with(keys.publishable_key, keys.id).post(
            "/v1/auth/token/refresh", {"refresh_token": body["session"]["refresh_token"]}, format="json")
        assert refresh.status_code == 401, refresh.content
    else:
        assert status in refused, body


CHANGES = {
    "admin sets a new password": ({"password": NEW_PASSWORD}, {401}),
    "admin disables the user": ({"status": "disabled"}, {403}),
}


@pytest.mark.parametrize("where", ["after_check", "under_lock"])
@pytest.mark.parametrize("change", sorted(CHANGES))
def test_a_change_that_lands_mid_sign_in_leaves_no_usable_session(
    tenant: TenantKeys, monkeypatch: pytest.MonkeyPatch, where: str, change: str
) -> None:
    user = UserFactory(tenant=tenant.tenant, email="alice@example.com")
    body, refused = CHANGES[change]
    with held(monkeypatch, where) as (reached, go):
        signing_in = Thread(sign_in_call(tenant))
        signing_in.start()
        assert reached.wait(timeout=20)
        changing = Thread(admin_patch(tenant, user, body))
        changing.start()
        # After the check the change commits at once; under the lock it waits for the sign-in.
        changing.join(timeout=0.3 if where == "under_lock" else 20)
        go.set()
        answer = signing_in.outcome()
        assert changing.outcome() == 200
    monkeypatch.undo()
    if where == "after_check":
        assert answer[0] in refused, answer  # the change committed first: the check it made is stale
    assert_dead(tenant, answer, refused=refused)
    assert usable_sessions(user) == []


@pytest.mark.parametrize("where", ["after_check", "under_lock"])
def test_the_users_own_password_change_mid_sign_in_leaves_only_the_changing_session(
    tenant: TenantKeys, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    user = UserFactory(tenant=tenant.tenant, email="alice@example.com")
    first_status, first = sign_in_call(tenant)()
    assert first_status == 200
    changer = first["session"]
    with held(monkeypatch, where) as (reached, go):
        signing_in = Thread(sign_in_call(tenant))
        signing_in.start()
        assert reached.wait(timeout=20)
        changing = Thread(own_password_change(changer["access_token"], tenant))
        changing.start()
        changing.join(timeout=0.3 if where == "under_lock" else 20)
        go.set()
        answer = signing_in.outcome()
        assert changing.outcome() == 204
    monkeypatch.undo()
    assert_dead(tenant, answer, refused={401})
    assert usable_sessions(user, keep=changer["id"]) == []


def test_re_enabling_revives_no_session_signed_in_around_the_disable(
    tenant: TenantKeys, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = UserFactory(tenant=tenant.tenant, email="alice@example.com")
    answers = []
    for where in ("after_check", "under_lock"):
        with held(monkeypatch, where) as (reached, go):
            signing_in = Thread(sign_in_call(tenant))
            signing_in.start()
            assert reached.wait(timeout=20)
            changing = Thread(admin_patch(tenant, user, {"status": "disabled"}))
            changing.start()
            changing.join(timeout=0.3 if where == "under_lock" else 20)
            go.set()
            answers.append(signing_in.outcome())
            assert changing.outcome() == 200
        monkeypatch.undo()
        assert admin_patch(tenant, user, {"status": "active"})() == 200
        for answer in answers:
            assert_dead(tenant, answer, refused={403})
    assert Session.objects.filter(user=user, revoked_at__isnull=True).count() == 0


@pytest.mark.parametrize("change", sorted(CHANGES))
def test_sweeping_the_offset_of_a_change_around_a_slow_sign_in(
    tenant: TenantKeys, monkeypatch: pytest.MonkeyPatch, change: str
) -> None:
    """The change starts 0 to 120 ms into a sign-in whose password check takes 60 ms."""
    real = hashers.check_password

    def slow_check(password: str, encoded: str, *args: Any, **kwargs: Any) -> bool:
        time.sleep(0.06)
        return real(password, encoded, *args, **kwargs)

    monkeypatch.setattr(sign_in_rules, "check_password", slow_check)
    body, refused = CHANGES[change]
    statuses = []
    for step, offset in enumerate((0.0, 0.02, 0.04, 0.05, 0.06, 0.07, 0.09, 0.12)):
        user = UserFactory(tenant=tenant.tenant, email="alice@example.com")
        signing_in = Thread(sign_in_call(tenant))
        signing_in.start()
        time.sleep(offset)
        assert admin_patch(tenant, user, body)() == 200
        answer = signing_in.outcome()
        statuses.append(answer[0])
        assert_dead(tenant, answer, refused=refused)
        assert usable_sessions(user) == [], f"offset {offset}s (try {step})"
        Session.objects.filter(user=user).delete()
        user.delete()
    assert set(statuses) <= {200} | refused
