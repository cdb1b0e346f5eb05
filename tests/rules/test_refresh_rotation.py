"""A refresh rotation (sessions_app/services/rotation.py): its statements, its rules, its re-checks under concurrency.

Through HTTP, on committed data, with real threads on their own connections (tests/concurrent.py),
on SQLite and on PostgreSQL. The races are made exact by holding each request at a chosen point: on
SQLite between its read of the token and its writes (a wrapper around the lookup), on PostgreSQL,
whose rotation is one statement, right before that statement, or while it waits for a lock another
connection holds; so the write's own re-checks decide, not luck.
"""

import threading
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import jwt
import pytest
import time_machine
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from hellojohn_project import change_feed, counters
from sessions_app.actors import SYSTEM
from sessions_app.event_model import Event, EventType
from sessions_app.models import CredentialKind, RefreshToken, RevocationReason, Session, idle_cutoff
from sessions_app.services import refresh as refresh_rules
from sessions_app.services import revoke_session, rotation
from sessions_app.services.credentials import issue_refresh_token
from sessions_app.services.signing_keys import rotate_signing_key, withdraw_signing_key
from tenants_app import secrets
from tenants_app.models import TenantConfig, User
from tests.concurrent import Thread, in_parallel, threads_db  # noqa: F401 (threads_db is a fixture)
from tests.conftest import TenantKeys, client_with
from tests.rules.test_change_feed import wait_for_lease

pytestmark = pytest.mark.usefixtures("threads_db")

postgres_only = pytest.mark.skipif("connection.vendor != 'postgresql'", reason="keys are remembered on PostgreSQL")
TRANSACTION_CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE SAVEPOINT")


def refresh(tenant: TenantKeys, token: str) -> tuple[int, dict[str, Any]]:
    response = client_with(tenant.publishable_key, tenant.id).post("/v1/auth/token/refresh",
                                                                    {"refresh_token": token}, format="json")
    return response.status_code, response.json()


SWEEP = counters._SWEEP.split(" WHERE")[0]


def statements_of(call: Callable[[], Any]) -> tuple[Any, list[str]]:
    """The statements `call` made, transaction bookkeeping left out (SQLite's driver shows BEGIN)."""
    with CaptureQueriesContext(connection) as captured:
        result = call()
    # The database counters' sweep of expired windows runs on one hit in 500 (hellojohn_project/counters.py):
    # it belongs to no request in particular.
    return result, [q["sql"] for q in captured.captured_queries
                    if not q["sql"].lstrip().upper().startswith(TRANSACTION_CONTROL)
                    and not q["sql"].startswith(SWEEP)]


def warm_rotation(tenant: TenantKeys, sign_in: Callable[..., dict[str, Any]]) -> str:
    """A session rotated once already: the lease held (PostgreSQL), the keys remembered, last_used_at fresh."""
    if connection.vendor == "postgresql":
        wait_for_lease()
    status, body = refresh(tenant, sign_in()["session"]["refresh_token"])
    assert status == 200, body
    return body["session"]["refresh_token"]


def test_a_refresh_request_makes_two_statements_on_postgresql_one_of_them_rate_limits(
        tenant: TenantKeys, user: Any, sign_in: Callable[..., dict[str, Any]]) -> None:
    token = warm_rotation(tenant, sign_in)
    (status, body), statements = statements_of(lambda: refresh(tenant, token))
    assert status == 200, body
    counters = [sql for sql in statements if "hj_rate_counter" in sql]
    rotation_sql = [sql for sql in statements if "hj_rate_counter" not in sql]
    # Per address and per key, on the database because the test settings have no Redis (production's
    # REDIS_URL counts them on Redis: see the test below).
    if connection.vendor == "postgresql":
        # Both limits in one statement (hellojohn_project/counters.py `hit_in_order`).
        assert len(counters) == 1, counters
        assert counters[0].lstrip().startswith("WITH a0 AS (INSERT INTO hj_rate_counter")
        # One statement for the rotation, the token's lookup (with its session and user) included; the
        # API key, its tenant and config, and the signing key come from memory under the change feed's lease.
        assert len(rotation_sql) == 1, rotation_sql
        assert rotation_sql[0].lstrip().startswith("WITH presented AS")
        assert 'FROM "sessions_app_refreshtoken"' in rotation_sql[0]
        assert len(statements) == 2
    else:
        # SQLite has no INSERT in a CTE: one counter statement per limit. It checks the API key and
        # reads the signing key every time, and writes in three statements.
        assert len(counters) == 2, counters
        assert len(rotation_sql) == 6, rotation_sql
        assert len(statements) == 8
    successor = RefreshToken.objects.get(token_hash=secrets.digest(body["session"]["refresh_token"]))
    assert successor.retired_at is None and successor.kind == CredentialKind.API
    assert successor.expires_at == Session.objects.get(pk=body["session"]["id"]).expires_at
    presented = RefreshToken.objects.get(token_hash=secrets.digest(token))
    assert presented.retired_at == successor.created_at and presented.replaced_by_id == successor.id
    assert Session.objects.get(pk=body["session"]["id"]).last_active_at == successor.created_at


def test_with_redis_counting_rate_limits_a_refresh_makes_one_statement_on_postgresql(
        tenant: TenantKeys, user: Any, sign_in: Callable[..., dict[str, Any]], redis_url: str, settings: Any) -> None:
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": redis_url}}
    token = warm_rotation(tenant, sign_in)
    (status, body), statements = statements_of(lambda: refresh(tenant, token))
    assert status == 200, body
    assert not [sql for sql in statements if "hj_rate_counter" in sql]
    assert len(statements) == (1 if connection.vendor == "postgresql" else 6), statements


def after_the_read(monkeypatch: pytest.MonkeyPatch, then: Callable[[], None]) -> None:
    """`then()` runs after a refresh read its token and before it writes: on SQLite between the lookup
    and the writes; on PostgreSQL, where both are one statement, right before that statement."""
    if connection.vendor == "postgresql":
        real = rotation.rotate

        def rotate(**kwargs: Any) -> rotation.Rotation:
            then()
            return real(**kwargs)

        monkeypatch.setattr(refresh_rules, "rotate", rotate)
        return
    real_lookup = rotation.refresh_token_for

    def lookup(**kwargs: Any) -> Any:
        record = real_lookup(**kwargs)
        then()
        return record

    monkeypatch.setattr(rotation, "refresh_token_for", lookup)


def held_after_the_read(monkeypatch: pytest.MonkeyPatch, parties: int) -> threading.Barrier:
    """Every refresh waits after its read (see `after_the_read`) until `parties` have got there."""
    barrier = threading.Barrier(parties)
    after_the_read(monkeypatch, lambda: barrier.wait(timeout=30))
    return barrier


def test_two_refreshes_of_one_token_at_once_one_wins_and_the_other_revokes_as_reuse(
        tenant: TenantKeys, user: Any, sign_in: Callable[..., dict[str, Any]], monkeypatch: pytest.MonkeyPatch) -> None:
    body = sign_in()
    token, session_id = body["session"]["refresh_token"], body["session"]["id"]
    held_after_the_read(monkeypatch, 2)

    results = in_parallel([lambda: refresh(tenant, token)] * 2)

    statuses = sorted(status for status, _ in results)
    assert statuses == [200, 401], results
    (winner,) = [reply for status, reply in results if status == 200]
    (loser,) = [reply for status, reply in results if status == 401]
    assert loser["error"]["code"] == "refresh_token_reused"
    stored = Session.objects.get(pk=session_id)
    assert stored.revoked_reason == RevocationReason.REFRESH_TOKEN_REUSED
    # The one revoking function ran once, and recorded its event.
    revoked_events = Event.objects.filter(session_id=session_id, type=EventType.SESSION_REVOKED)
    assert [e.data["reason"] for e in revoked_events] == ["refresh_token_reused"]
    # Exactly one successor, linked from the presented token, and it is worthless now.
    tokens = list(RefreshToken.objects.filter(session_id=session_id).order_by("id"))
    assert len(tokens) == 2
    assert tokens[0].retired_at is not None and tokens[0].replaced_by_id == tokens[1].id
    assert tokens[1].retired_at is None
    assert tokens[1].token_hash == secrets.digest(winner["session"]["refresh_token"])
    monkeypatch.undo()
    status, after = refresh(tenant, winner["session"]["refresh_token"])
    assert (status, after["error"]["code"]) == (401, "session_revoked")


def test_reusing_a_retired_token_revokes_the_session_through_the_revoking_function(
        tenant: TenantKeys, user: Any, sign_in: Callable[..., dict[str, Any]]) -> None:
    body = sign_in()
    first = body["session"]["refresh_token"]
    status, rotated = refresh(tenant, first)
    assert status == 200
    last_active = Session.objects.get(pk=body["session"]["id"]).last_active_at

    status, reused = refresh(tenant, first)

    assert (status, reused["error"]["code"]) == (401, "refresh_token_reused")
    stored = Session.objects.get(pk=body["session"]["id"])
    assert stored.revoked_reason == RevocationReason.REFRESH_TOKEN_REUSED
    assert stored.last_active_at == last_active  # a reuse is no use of the session
    assert Event.objects.filter(session_id=stored.id, type=EventType.SESSION_REVOKED).count() == 1
    assert RefreshToken.objects.filter(session_id=stored.id).count() == 2  # nothing issued for the reuse
    status, after = refresh(tenant, rotated["session"]["refresh_token"])
    assert (status, after["error"]["code"]) == (401, "session_revoked")


def test_the_page_credential_is_refused_and_revokes_as_reuse(
        tenant: TenantKeys, user: Any, sign_in: Callable[..., dict[str, Any]]) -> None:
    body = sign_in()
    session = Session.objects.get(pk=body["session"]["id"])
    _, page_token = issue_refresh_token(session=session, now=session.created_at, kind=CredentialKind.PAGE)

    status, reply = refresh(tenant, page_token)

    assert (status, reply["error"]["code"]) == (401, "refresh_token_reused")
    assert Session.objects.get(pk=session.pk).revoked_reason == RevocationReason.REFRESH_TOKEN_REUSED
    assert RefreshToken.objects.filter(session=session, retired_at__isnull=False).count() == 0


def test_a_revocation_committed_between_read_and_write_issues_nothing(
        tenant: TenantKeys, user: Any, sign_in: Callable[..., dict[str, Any]], monkeypatch: pytest.MonkeyPatch) -> None:
    body = sign_in()
    session_id = body["session"]["id"]
    before = Session.objects.get(pk=session_id).last_active_at

    def revoke() -> None:
        # Another connection revokes and commits after this request read the token and its session.
        revoker = Thread(lambda: revoke_session(session=Session.objects.get(pk=session_id), actor=SYSTEM,
                                                reason=RevocationReason.REVOKED_BY_ADMIN))
        revoker.start()
        revoker.outcome()

    after_the_read(monkeypatch, revoke)
    status, reply = refresh(tenant, body["session"]["refresh_token"])

    assert (status, reply["error"]["code"]) == (401, "session_revoked")
    assert_nothing_issued(session_id, before)


def test_a_revocation_in_flight_during_the_write_is_waited_for_and_refuses(
        tenant: TenantKeys, user: Any, sign_in: Callable[..., dict[str, Any]], monkeypatch: pytest.MonkeyPatch) -> None:
    body = sign_in()
    session_id = body["session"]["id"]
    before = Session.objects.get(pk=session_id).last_active_at
    revoked, release = threading.Event(), threading.Event()

    def revoke_and_hold() -> None:
        with transaction.atomic():
            revoke_session(session=Session.objects.get(pk=session_id), actor=SYSTEM,
                           reason=RevocationReason.REVOKED_BY_ADMIN)
            revoked.set()  # the session's row is locked (SQLite: the database), not yet committed
            assert release.wait(30)

    revoker = Thread(revoke_and_hold)

    def during_revocation() -> None:
        revoker.start()
        assert revoked.wait(30)
        # Committed while this write waits for the row (PostgreSQL) or the database (SQLite).
        threading.Timer(0.3, release.set).start()

    after_the_read(monkeypatch, during_revocation)
    status, reply = refresh(tenant, body["session"]["refresh_token"])
    revoker.outcome()

    assert (status, reply["error"]["code"]) == (401, "session_revoked")
    assert_nothing_issued(session_id, before)


@postgres_only
def test_a_revocation_committed_while_the_statement_waits_for_the_token_issues_nothing(
        tenant: TenantKeys, user: Any, sign_in: Callable[..., dict[str, Any]]) -> None:
    """The rotation's statement began (its snapshot shows the session unrevoked) and waits for the
    token's lock; the holder revokes the session and commits: the statement's session UPDATE,
    re-evaluated on the newest row, finds it revoked and nothing is written."""
    body = sign_in()
    session_id, token = body["session"]["id"], body["session"]["refresh_token"]
    before = Session.objects.get(pk=session_id).last_active_at
    locked = threading.Event()

    def hold_the_token_then_revoke() -> None:
        with transaction.atomic():
            RefreshToken.objects.select_for_update().get(token_hash=secrets.digest(token))
            locked.set()
            with connection.cursor() as cursor:  # until the refresh's statement waits for this lock
                for _ in range(1000):
                    # Inside a transaction the statistics views answer from a snapshot unless it is cleared.
                    cursor.execute("SELECT pg_stat_clear_snapshot()")
                    cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                                   "AND query LIKE %s", ["%WITH presented AS%"])
                    if cursor.fetchone()[0]:
                        break
                    time.sleep(0.01)
                else:
                    raise AssertionError("the refresh never waited for the token's lock")
            revoke_session(session=Session.objects.get(pk=session_id), actor=SYSTEM,
                           reason=RevocationReason.REVOKED_BY_ADMIN)

    holder = Thread(hold_the_token_then_revoke)
    holder.start()
    assert locked.wait(30)
    status, reply = refresh(tenant, token)
    holder.outcome()

    assert (status, reply["error"]["code"]) == (401, "session_revoked")
    assert_nothing_issued(session_id, before)


def assert_nothing_issued(session_id: str, last_active_before: Any) -> None:
    stored = Session.objects.get(pk=session_id)
    assert stored.revoked_reason == RevocationReason.REVOKED_BY_ADMIN
    assert stored.last_active_at == last_active_before
    tokens = list(RefreshToken.objects.filter(session_id=session_id))
    assert len(tokens) == 1 and tokens[0].retired_at is None and tokens[0].replaced_by_id is None
    assert Event.objects.filter(session_id=session_id, type=EventType.SESSION_REVOKED).count() == 1


def test_the_signing_key_is_remembered_only_under_the_lease(
        tenant: TenantKeys, user: Any, sign_in: Callable[..., dict[str, Any]]) -> None:
    token = warm_rotation(tenant, sign_in)
    _, statements = statements_of(lambda: refresh(tenant, token))
    reads_key = any("sessions_app_signingkey" in sql for sql in statements)
    assert reads_key == (not change_feed.lease_held())


def access_token_kid(reply: dict[str, Any]) -> str:
    return jwt.get_unverified_header(reply["session"]["access_token"])["kid"]


@postgres_only
def test_a_withdrawn_signing_key_signs_nothing_once_the_withdrawal_returns(
        tenant: TenantKeys, user: Any, sign_in: Callable[..., dict[str, Any]]) -> None:
    token = warm_rotation(tenant, sign_in)
    (status, body), statements = statements_of(lambda: refresh(tenant, token))
    assert status == 200
    assert not any("sessions_app_signingkey" in sql for sql in statements)  # the key was remembered
    withdrawn = access_token_kid(body)

    withdraw_signing_key(key_id=withdrawn)
    status, after = refresh(tenant, body["session"]["refresh_token"])

    assert status == 200 and access_token_kid(after) != withdrawn
    me = client_with(after["session"]["access_token"], tenant.id).get("/v1/auth/me")
    assert me.status_code == 200


@postgres_only
def test_a_rotated_in_signing_key_signs_from_its_activation_though_the_keys_are_remembered(
        tenant: TenantKeys, user: Any, sign_in: Callable[..., dict[str, Any]]) -> None:
    token = warm_rotation(tenant, sign_in)
    status, body = refresh(tenant, token)
    old_kid = access_token_kid(body)
    new_key, _ = rotate_signing_key()
    status, before_activation = refresh(tenant, body["session"]["refresh_token"])
    assert status == 200 and access_token_kid(before_activation) == old_kid

    with time_machine.travel(new_key.activates_at + timedelta(seconds=1), tick=False):
        status, activated = refresh(tenant, before_activation["session"]["refresh_token"])

    assert status == 200, activated
    assert access_token_kid(activated) == new_key.id


# Every rule of a rotation, at its boundary where it has one: (name, change before the refresh, the
# expected answer). The rotation writes only when its SQL finds every rule holding (PostgreSQL: in
# the writing statement; SQLite: in the writes' filters), and refresh.py explains a refusal by the
# rules in Python: each case must give the same answer both ways, and a refusal must write nothing.
def _idle(at: Any) -> Callable[[Session, RefreshToken, Any], None]:
    def change(session: Session, token: RefreshToken, now: Any) -> None:
        TenantConfig.objects.filter(tenant_id=session.tenant_id).update(idle_timeout=600)
        Session.objects.filter(pk=session.pk).update(last_active_at=at(idle_cutoff(now, 600)))
    return change


RULES = [
    ("active", lambda s, t, now: None, 200),
    ("session revoked", lambda s, t, now: revoke_session(session=s, actor=SYSTEM,
                                                         reason=RevocationReason.REVOKED_BY_ADMIN), "session_revoked"),
    ("session ends now", lambda s, t, now: Session.objects.filter(pk=s.pk).update(expires_at=now), "session_expired"),
    ("session ends a microsecond later",
     lambda s, t, now: Session.objects.filter(pk=s.pk).update(expires_at=now + timedelta(microseconds=1)), 200),
    ("idle up to the cutoff", _idle(lambda cutoff: cutoff), "session_expired"),
    ("active a microsecond after the cutoff", _idle(lambda cutoff: cutoff + timedelta(microseconds=1)), 200),
    ("user disabled", lambda s, t, now: User.objects.filter(pk=s.user_id).update(status=User.Status.DISABLED),
     "session_expired"),
    ("token expires now", lambda s, t, now: RefreshToken.objects.filter(pk=t.pk).update(expires_at=now),
     "refresh_token_expired"),
    ("token expires a microsecond later", lambda s, t, now: RefreshToken.objects.filter(pk=t.pk).update(
        expires_at=now + timedelta(microseconds=1)), 200),
    ("token retired", lambda s, t, now: RefreshToken.objects.filter(pk=t.pk).update(retired_at=now),
     "refresh_token_reused"),
    ("page credential", lambda s, t, now: RefreshToken.objects.filter(pk=t.pk).update(kind=CredentialKind.PAGE),
     "refresh_token_reused"),
]


@pytest.mark.parametrize(("change", "expected"), [(change, expected) for _, change, expected in RULES],
                         ids=[name for name, _, _ in RULES])
def test_the_writing_statement_and_the_python_rules_agree_on_every_rule(
        tenant: TenantKeys, user: Any, sign_in: Callable[..., dict[str, Any]], change: Any, expected: Any) -> None:
    token = warm_rotation(tenant, sign_in)
    presented = RefreshToken.objects.select_related("session").get(token_hash=secrets.digest(token))
    session = presented.session
    now = timezone.now() + timedelta(seconds=5)
    change(session, presented, now)
    change_feed.wait_for_listeners()  # the raw updates above reach this process's memory first
    before = Session.objects.get(pk=session.pk)
    tokens_before = RefreshToken.objects.filter(session=session).count()

    with time_machine.travel(now, tick=False):
        status, body = refresh(tenant, token)

    after = Session.objects.get(pk=session.pk)
    if expected == 200:
        assert status == 200, body
        assert after.last_active_at == now
        assert RefreshToken.objects.filter(session=session).count() == tokens_before + 1
        assert RefreshToken.objects.get(pk=presented.pk).retired_at == now
        return
    assert (status, body["error"]["code"]) == (401, expected)
    assert after.last_active_at == before.last_active_at
    assert RefreshToken.objects.filter(session=session).count() == tokens_before
    stored = RefreshToken.objects.get(pk=presented.pk)
    assert stored.replaced_by_id is None
    if expected == "refresh_token_reused":
        assert after.revoked_reason == RevocationReason.REFRESH_TOKEN_REUSED
    else:
        assert stored.retired_at is None


def test_another_tenants_token_is_no_token_and_is_left_alone(
        tenant: TenantKeys, other_tenant: TenantKeys, user: Any, sign_in: Callable[..., dict[str, Any]]) -> None:
    token = warm_rotation(tenant, sign_in)
    status, body = refresh(other_tenant, token)
    assert (status, body["error"]["code"]) == (401, "refresh_token_invalid")
    stored = RefreshToken.objects.get(token_hash=secrets.digest(token))
    assert stored.retired_at is None and stored.replaced_by_id is None
    assert Session.objects.get(pk=stored.session_id).revoked_at is None
    status, body = refresh(tenant, token)
    assert status == 200, body


@postgres_only
def test_the_rotation_is_a_statement_prepared_once_on_its_connection(
        tenant: TenantKeys, user: Any, sign_in: Callable[..., dict[str, Any]], settings: Any) -> None:
    """psycopg prepares a server-bound statement run 5 times (settings.py `prepare_threshold`): one
    statement whether the tenant has an idle timeout or not (psycopg keys a statement by its text and
    its parameters' types, and the cutoff is a timestamp either way)."""
    if settings.DATABASE_POOLER:
        pytest.skip("no prepared statements through PgBouncer (settings.py)")
    token = warm_rotation(tenant, sign_in)
    for n in range(8):
        TenantConfig.objects.filter(tenant_id=tenant.id).update(idle_timeout=600 if n % 2 else None)
        change_feed.wait_for_listeners()
        status, body = refresh(tenant, token)
        assert status == 200, body
        token = body["session"]["refresh_token"]
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE %s",
                       ["%WITH presented AS%"])
        assert cursor.fetchone()[0] == 1
