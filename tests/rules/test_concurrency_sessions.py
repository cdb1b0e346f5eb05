"""Concurrency on PostgreSQL with real threads, each on its own database connection (issue 7).

Every request goes through HTTP (DRF's APIClient) in its own thread, all released at once by a
barrier, against committed data (transaction=True). Rate limits are lifted so that only the
database's rules decide. SQLite runs skip this module: its writers are serialized by IMMEDIATE
transactions, so it cannot show a race.
"""

import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from django.db import connection, connections

from sessions_app.event_model import Event
from sessions_app.models import RefreshToken, RevocationReason, Session
from tenants_app.models import TenantConfig
from tests.conftest import DESKTOP_CHROME, TenantKeys, client_with
from tests.factories import TEST_PASSWORD, UserFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("no_rate_limits")]


@pytest.fixture(autouse=True)
def _postgresql_only() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("races need PostgreSQL's row locks and concurrent connections")


def in_parallel(calls: list[Callable[[], Any]]) -> list[Any]:
    """Runs every call in its own thread, all starting together; answers their results in order.

    Each thread closes its database connection when done, so the test database can be dropped.
    """
    barrier = threading.Barrier(len(calls))

    def run(call: Callable[[], Any]) -> Any:
        try:
            barrier.wait(timeout=30)
            return call()
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(run, calls))


def post(keys: TenantKeys, path: str, body: dict[str, Any], credential: str | None = None) -> Callable[[], Any]:
    def call() -> Any:
        client = client_with(credential or keys.publishable_key, keys.id, HTTP_USER_AGENT=DESKTOP_CHROME,
                             REMOTE_ADDR="203.0.113.10")
        response = client.post(path, body, format="json")
        return response.status_code, response.json() if response.content else None

    return call


def delete(keys: TenantKeys, path: str) -> Callable[[], Any]:
    def call() -> Any:
        response = client_with(keys.secret_key, keys.id).delete(path)
        return response.status_code, response.json() if response.content else None

    return call


def sign_in_once(keys: TenantKeys, email: str) -> dict[str, Any]:
    status, body = post(keys, "/v1/auth/sign-in", {"email": email, "password": TEST_PASSWORD})()
    assert status == 200, body
    return body["session"]


def test_20_parallel_sign_ins_with_a_limit_of_3_leave_exactly_3_active(tenant: TenantKeys) -> None:
    TenantConfig.objects.update_or_create(tenant=tenant.tenant, defaults={"max_sessions_per_user": 3})
    user = UserFactory(tenant=tenant.tenant, email="alice@example.com")
    for _ in range(2):  # sessions from before the rush count against the limit too
        sign_in_once(tenant, "alice@example.com")

    results = in_parallel([post(tenant, "/v1/auth/sign-in", {"email": "alice@example.com",
                                                             "password": TEST_PASSWORD})] * 20)

    assert [status for status, _ in results] == [200] * 20
    active = Session.objects.filter(user=user, revoked_at__isnull=True)
    assert active.count() == 3
    revoked = Session.objects.filter(user=user, revoked_at__isnull=False)
    assert revoked.count() == 19
    assert set(revoked.values_list("revoked_reason", flat=True)) == {RevocationReason.SESSION_LIMIT}
    # The three left are the newest: every revoked one was created no later than the oldest survivor.
    oldest_kept = min(active.values_list("created_at", flat=True))
    assert all(created <= oldest_kept for created in revoked.values_list("created_at", flat=True))


def test_10_parallel_refreshes_of_one_token_let_at_most_one_succeed(tenant: TenantKeys) -> None:
    UserFactory(tenant=tenant.tenant, email="alice@example.com")
    session = sign_in_once(tenant, "alice@example.com")

    results = in_parallel([post(tenant, "/v1/auth/token/refresh", {"refresh_token": session["refresh_token"]})] * 10)

    statuses = Counter(status for status, _ in results)
    assert statuses[200] <= 1, results
    assert statuses[200] + statuses[401] == 10, results
    codes = {body["error"]["code"] for status, body in results if status == 401}
    assert codes <= {"refresh_token_reused", "session_revoked"}, codes
    # The losers presented a retired token: theft, so the session is revoked for everyone.
    stored = Session.objects.get(pk=session["id"])
    assert stored.revoked_reason == RevocationReason.REFRESH_TOKEN_REUSED
    # One rotation at most: the original token plus at most one successor exist.
    assert RefreshToken.objects.filter(session_id=session["id"]).count() == 1 + statuses[200]
    for status, body in results:
        if status == 200:
            after = post(tenant, "/v1/auth/token/refresh", {"refresh_token": body["session"]["refresh_token"]})()
            assert after[0] == 401


def test_a_revoke_all_racing_refreshes_leaves_nothing_that_can_refresh(tenant: TenantKeys) -> None:
    user = UserFactory(tenant=tenant.tenant, email="alice@example.com")
    sessions = [sign_in_once(tenant, "alice@example.com") for _ in range(8)]
    tokens = [s["refresh_token"] for s in sessions]

    calls = [post(tenant, "/v1/auth/token/refresh", {"refresh_token": token}) for token in tokens]
    calls.insert(4, delete(tenant, f"/v1/sessions?user_id={user.id}"))
    results = in_parallel(calls)

    revoke_status, revoke_body = results.pop(4)
    assert revoke_status == 200 and revoke_body["revoked"] == 8
    # Every token ever issued for these sessions, original or rotated in the race, is now useless.
    issued = tokens + [body["session"]["refresh_token"] for status, body in results if status == 200]
    for token in issued:
        status, body = post(tenant, "/v1/auth/token/refresh", {"refresh_token": token})()
        assert status == 401, body
        assert body["error"]["code"] in {"session_revoked", "refresh_token_reused"}
    assert not Session.objects.filter(user=user, revoked_at__isnull=True).exists()
    assert set(Session.objects.filter(user=user).values_list("revoked_reason", flat=True)) == {
        RevocationReason.REVOKED_BY_ADMIN}


def test_racing_revoke_alls_count_each_session_once(tenant: TenantKeys) -> None:
    user = UserFactory(tenant=tenant.tenant, email="alice@example.com")
    for _ in range(12):
        sign_in_once(tenant, "alice@example.com")

    results = in_parallel([delete(tenant, f"/v1/sessions?user_id={user.id}") for _ in range(8)])

    assert [status for status, _ in results] == [200] * 8
    assert sum(body["revoked"] for _, body in results) == 12
    assert Session.objects.filter(user=user, revoked_reason=RevocationReason.REVOKED_BY_ADMIN).count() == 12


def test_revocations_racing_each_other_are_each_recorded_once(tenant: TenantKeys,
                                                              caplog: pytest.LogCaptureFixture) -> None:
    user = UserFactory(tenant=tenant.tenant, email="alice@example.com")
    sessions = [sign_in_once(tenant, "alice@example.com") for _ in range(12)]
    calls = [delete(tenant, f"/v1/sessions?user_id={user.id}") for _ in range(4)]
    calls += [delete(tenant, f"/v1/sessions/{s['id']}") for s in sessions[:6]]

    with caplog.at_level("INFO", logger="hellojohn.audit"):
        results = in_parallel(calls)

    assert sorted(status for status, _ in results) == [200] * 4 + [204] * 6
    counted = sum(body["revoked"] for status, body in results if status == 200)
    revoked_lines = Counter(r.session_id for r in caplog.records if getattr(r, "event", "") == "session.revoked")
    # Exactly one audit line per session, whoever won it; revoke-alls counted only what they revoked.
    assert revoked_lines == Counter({s["id"]: 1 for s in sessions})
    assert 6 <= counted <= 12
    assert not Session.objects.filter(user=user, revoked_at__isnull=True).exists()
    # And exactly one session.revoked event per session, in commit order with distinct positions.
    events = Event.objects.filter(user_id=user.id, type="session.revoked")
    assert Counter(events.values_list("session_id", flat=True)) == Counter({s["id"]: 1 for s in sessions})


def test_parallel_sign_ins_and_revocations_leave_a_gap_free_commit_ordered_log(tenant: TenantKeys) -> None:
    """Whatever commits, in whatever order: positions only grow with commit order, so the log read
    after every commit is the log read at the end (nothing appears below a position already seen)."""
    # Different users: their sign-ins share no row lock, only the event log's.
    emails = [f"user{n}@example.com" for n in range(16)]
    for email in emails:
        UserFactory(tenant=tenant.tenant, email=email)
    user = UserFactory(tenant=tenant.tenant, email="bob@example.com")
    for _ in range(8):
        sign_in_once(tenant, "bob@example.com")
    seen: list[list[int]] = []
    stop = threading.Event()

    def follow() -> None:
        last = 0
        try:
            while not stop.is_set():
                new = list(Event.objects.filter(seq__gt=last).order_by("seq").values_list("seq", flat=True))
                if new:
                    seen.append(new)
                    last = new[-1]
        finally:
            connections.close_all()

    follower = threading.Thread(target=follow)
    follower.start()
    try:
        calls = [post(tenant, "/v1/auth/sign-in", {"email": email, "password": TEST_PASSWORD}) for email in emails]
        calls += [delete(tenant, f"/v1/sessions?user_id={user.id}") for _ in range(4)]
        in_parallel(calls)
    finally:
        stop.set()
        follower.join(timeout=30)
    followed = [seq for batch in seen for seq in batch]
    everything = list(Event.objects.order_by("seq").values_list("seq", flat=True))
    assert followed == everything  # a reader following "after the last one seen" missed nothing
    assert Event.objects.filter(type="session.created").count() == 16 + 8
    assert Event.objects.filter(type="session.revoked").count() == 8
