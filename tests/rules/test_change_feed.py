"""Access checks from memory under the change feed's lease (issue 14), in one process.

Warm checks make no query on PostgreSQL and one on SQLite (the same path choosing); every change the
log names reaches the cache before the changing call returns; a fill racing an invalidation is
refused; the caches stay under their cap.
"""

import hashlib
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from hellojohn_project import change_feed
from sessions_app import services
from sessions_app import tokens as tokens_module
from sessions_app.actors import SYSTEM
from sessions_app.models import RevocationReason, Session
from sessions_app.services import session_use
from sessions_app.services.signing_keys import active_signing_key, withdraw_signing_key
from sessions_app.tokens import encode_access_token
from tenants_app import services as tenant_services
from tenants_app.models import ApiKey, Tenant, User
from tests.conftest import client_with, user_client

postgres_only = pytest.mark.skipif("connection.vendor != 'postgresql'")


def wait_for_lease(timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not change_feed.lease_held():
        assert time.monotonic() < deadline, "the listener never took a lease"
        time.sleep(0.02)


@pytest.fixture
def warm(transactional_db: None, user: Any) -> Iterator[None]:
    if connection.vendor == "postgresql":
        wait_for_lease()
    yield


def queries_of(call: Callable[[], Any]) -> tuple[Any, int]:
    with CaptureQueriesContext(connection) as captured:
        result = call()
    return result, len(captured.captured_queries)


@pytest.mark.django_db(transaction=True)
def test_warm_checks_query_nothing_on_postgresql_and_once_on_sqlite(warm: None, sign_in: Any) -> None:
    body = sign_in()
    client = user_client(body)
    for _ in range(2):  # the first fills the caches
        assert client.get("/v1/auth/me").status_code == 200
        assert client.get("/v1/sessions").status_code == 200
    me, count = queries_of(lambda: client.get("/v1/auth/me"))
    assert me.status_code == 200
    assert me.json()["user"]["email"] == "alice@example.com"
    expected = 0 if connection.vendor == "postgresql" else 1
    assert count == expected


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_no_lease_queries_as_before(warm: None, sign_in: Any) -> None:
    client = user_client(sign_in())
    assert client.get("/v1/auth/me").status_code == 200
    change_feed._drop_lease()
    change_feed._state.lease_until = 0.0
    # The listener renews it within POLL; until then a check queries.
    with CaptureQueriesContext(connection) as captured:
        change_feed._drop_lease()
        assert client.get("/v1/auth/me").status_code == 200
    assert len(captured.captured_queries) >= 1
    wait_for_lease()
    _, count = queries_of(lambda: client.get("/v1/auth/me"))
    assert count == 0


def _revoke_session(body: dict, tenant: Any) -> None:
    services.revoke_session(session=Session.objects.get(pk=body["session"]["id"]), actor=SYSTEM,
                            reason=RevocationReason.REVOKED_BY_ADMIN)


def _disable_user(body: dict, tenant: Any) -> None:
    services.update_user(user=User.objects.get(pk=body["user"]["id"]), actor=SYSTEM, status="disabled")


def _disable_tenant(body: dict, tenant: Any) -> None:
    tenant_services.update_tenant(tenant=Tenant.objects.get(pk=tenant.id), changes={"status": "disabled"})


def _withdraw_key(body: dict, tenant: Any) -> None:
    import jwt
    withdraw_signing_key(key_id=jwt.get_unverified_header(body["session"]["access_token"])["kid"])


@postgres_only
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("change", [_revoke_session, _disable_user, _disable_tenant, _withdraw_key])
def test_a_change_reaches_the_cache_before_the_call_returns(warm: None, sign_in: Any, tenant: Any,
                                                            change: Callable[..., None]) -> None:
    body = sign_in()
    client = user_client(body)
    assert client.get("/v1/auth/me").status_code == 200
    _, count = queries_of(lambda: client.get("/v1/auth/me"))
    assert count == 0
    change(body, tenant)
    response = client.get("/v1/auth/me")
    assert response.status_code == 401, response.content


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_resumed_listener_starts_from_an_empty_cache(warm: None, sign_in: Any) -> None:
    """stop() then resume() (the bench's cold series): what changed meanwhile is never answered from memory."""
    body = sign_in()
    client = user_client(body)
    for _ in range(2):
        assert client.get("/v1/auth/me").status_code == 200
    change_feed.stop()
    try:
        assert not change_feed.lease_held()
        _, count = queries_of(lambda: client.get("/v1/auth/me"))
        assert count >= 1
        # A plain UPDATE: nothing in this process drops the entry; only the log names the change.
        assert Session.objects.filter(pk=body["session"]["id"]).update(
            revoked_at=timezone.now(), revoked_reason=RevocationReason.REVOKED_BY_ADMIN) == 1
    finally:
        change_feed.resume()
    wait_for_lease()
    response = client.get("/v1/auth/me")
    assert response.status_code == 401, response.content
    assert response.json()["error"]["code"] == "session_revoked"


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_fill_that_raced_an_invalidation_is_not_stored(warm: None) -> None:
    cache = change_feed.Cache("test", size=10)
    generation = change_feed.generation()
    change_feed._apply([("session", "x")])
    assert not cache.put("k", 1, tags=[("session", "k")], generation=generation, expires_at=time.monotonic() + 60)
    assert cache.get("k") is None
    assert cache.put("k", 1, tags=[("session", "k")], generation=change_feed.generation(),
                     expires_at=time.monotonic() + 60)
    change_feed._apply([("session", "k")])
    assert cache.get("k") is None


def test_a_million_distinct_keys_stay_under_the_cap(settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    settings.HJ_ACCESS_CACHE_SIZE = 1000
    monkeypatch.setattr(change_feed._state, "lease_until", float("inf"))  # fills are stored only under a lease
    cache = change_feed.Cache("bounded")
    far = time.monotonic() + 600
    for i in range(1_000_000):
        cache.put(i.to_bytes(16, "big"), {"exp": i}, tags=[("signing_key", "key_x")],
                  generation=change_feed.generation(), expires_at=far)
    assert len(cache) == 1000
    assert len(cache._by_tag[("signing_key", "key_x")]) == 1000
    assert cache.get((999_999).to_bytes(16, "big")) == {"exp": 999_999}
    assert cache.get((0).to_bytes(16, "big")) is None


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_distinct_tokens_through_the_check_stay_under_the_cap(warm: None, sign_in: Any, settings: Any) -> None:
    """Every access token is remembered by its digest until its exp: 20,000 distinct tokens of one session
    through the whole check leave at most HJ_ACCESS_CACHE_SIZE of them in memory, the newest."""
    settings.HJ_ACCESS_CACHE_SIZE = 500
    session = Session.objects.get(pk=sign_in()["session"]["id"])
    key = active_signing_key(now=timezone.now())
    tokens = [encode_access_token(session=session, key=key, ttl_seconds=900, now=timezone.now()).token
              for _ in range(20_000)]
    assert len(set(tokens)) == len(tokens)
    for token in tokens:
        wait_for_lease()
        services.use_session(access_token=token, record_activity=False)
    assert 0 < len(tokens_module._verified) <= 500
    assert len(session_use._sessions) <= 500
    digest = hashlib.blake2b(tokens[-1].encode(), digest_size=16).digest()
    assert tokens_module._verified.get(digest) is not None  # the newest stays
    first = hashlib.blake2b(tokens[0].encode(), digest_size=16).digest()
    assert tokens_module._verified.get(first) is None  # the oldest made room


@pytest.mark.django_db(transaction=True)
def test_warm_verify_queries_nothing_on_postgresql_and_a_revoked_key_is_refused_at_once(
        warm: None, sign_in: Any, tenant: Any) -> None:
    body = sign_in()
    admin = client_with(tenant.secret_key, tenant.id)
    token = body["session"]["access_token"]
    for _ in range(2):
        assert admin.post("/v1/sessions/verify", {"token": token}, format="json").status_code == 200
    answer, count = queries_of(lambda: admin.post("/v1/sessions/verify", {"token": token}, format="json"))
    assert answer.status_code == 200
    assert answer.json()["session"]["id"] == body["session"]["id"]
    # SQLite: the key and the session (the signing key is remembered for five minutes, as before).
    assert count == (0 if connection.vendor == "postgresql" else 2)
    tenant_services.revoke_api_key(api_key=ApiKey.objects.get(tenant_id=tenant.id, kind=ApiKey.Kind.SECRET))
    refused = admin.post("/v1/sessions/verify", {"token": token}, format="json")
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "invalid_api_key"


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_two_crossed_changes_take_log_positions_in_commit_order_and_both_arrive(warm: None, sign_in: Any,
                                                                               other_tenant: Any) -> None:
    """The case a reader of a sequence must survive (a lower seq committing after a higher one) cannot
    arise: a change draws its seq at COMMIT under the event log's lock. Change A (a tenant disabled)
    is made first but commits after change B (a session revoked); its position is after B's, and both
    reach the cache."""
    import threading

    from django.db import connections, transaction

    from tests.factories import UserFactory

    UserFactory(tenant=other_tenant.tenant, email="alice@example.com")
    first, second = sign_in(keys=other_tenant), sign_in()
    clients = [user_client(first), user_client(second)]
    for client in clients:
        assert client.get("/v1/auth/me").status_code == 200
    with connection.cursor() as cursor:
        cursor.execute("SELECT coalesce(max(seq), 0) FROM hellojohn_change")
        [before] = cursor.fetchone()
    made, release, errors = threading.Event(), threading.Event(), []

    def change_first_commit_last() -> None:
        try:
            with transaction.atomic():
                tenant_services.update_tenant(tenant=Tenant.objects.get(pk=other_tenant.id),
                                              changes={"status": Tenant.Status.DISABLED})
                made.set()
                release.wait(timeout=30)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    thread = threading.Thread(target=change_first_commit_last)
    thread.start()
    assert made.wait(timeout=30)
    services.revoke_sessions(session_ids=[second["session"]["id"]], actor=SYSTEM,
                             reason=RevocationReason.REVOKED_BY_ADMIN)
    release.set()
    thread.join(timeout=30)
    assert errors == []
    with connection.cursor() as cursor:
        # The rows these two changes wrote (each key's earlier rows, from sign-in, are before `before`).
        cursor.execute("SELECT kind, max(seq) FROM hellojohn_change WHERE key IN (%s, %s) AND seq > %s GROUP BY kind",
                       [other_tenant.id, second["session"]["id"], before])
        seqs = dict(cursor.fetchall())
    assert seqs["session"] < seqs["tenant"]
    assert [client.get("/v1/auth/me").status_code for client in clients] == [401, 401]
