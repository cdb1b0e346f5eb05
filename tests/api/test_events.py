"""The event log (issue 13): every change of a session or a user writes its event in the change's own
transaction, with the contract's `data` and actor; revocations of many sessions cost a constant number
of statements; a rolled-back change leaves no event and no audit line.
"""

import importlib
import logging
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from sessions_app import services
from sessions_app.actors import Actor
from sessions_app.event_model import Event
from sessions_app.models import RevocationReason, Session
from sessions_app.renderings import event_dict
from tenants_app import secrets
from tenants_app.models import ApiKey, TenantConfig, User
from tests.conftest import DESKTOP_CHROME, TenantKeys, client_with, user_client
from tests.factories import TEST_PASSWORD, SessionFactory
from tests.webpages import session_of, signed_in

pytestmark = pytest.mark.django_db

TOKEN_FIELDS = {"access_token", "refresh_token", "access_token_expires_at", "refresh_token_expires_at"}


def key_id(keys: TenantKeys) -> str:
    return ApiKey.objects.get(key_hash=secrets.digest(keys.secret_key)).id


def envelopes(**filters: Any) -> list[dict[str, Any]]:
    """The matching events, oldest first, as the API renders them."""
    return [event_dict(e) for e in Event.objects.filter(**filters).order_by("seq")]


def without_tokens(session: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in session.items() if k not in TOKEN_FIELDS | {"current"}}


# --- Each type, with its data and actor ------------------------------------------------------------


def test_sign_in_records_session_created(tenant: TenantKeys, user: User, sign_in: Callable[..., dict]) -> None:
    body = sign_in(ip="203.0.113.9")
    [event] = envelopes(type="session.created")
    assert set(event) == {"id", "type", "created_at", "tenant_id", "actor", "data"}
    assert event["id"].startswith("evt_") and len(event["id"]) == 30
    assert (event["tenant_id"], event["actor"]) == (tenant.id, {"type": "user", "id": user.id})
    assert event["data"] == {"session": without_tokens(body["session"])}
    assert event["created_at"] == body["session"]["created_at"]
    stored = Event.objects.get()
    assert (stored.user_id, stored.session_id) == (user.id, body["session"]["id"])


def test_sign_up_records_user_created_then_session_created(tenant: TenantKeys) -> None:
    client = client_with(tenant.publishable_key, tenant.id, HTTP_USER_AGENT=DESKTOP_CHROME)
    body = client.post("/v1/auth/sign-up", {"email": "new@example.com", "password": TEST_PASSWORD, "name": "N"},
                       format="json").json()
    created, session = envelopes()
    assert created["type"] == "user.created" and session["type"] == "session.created"
    me = {"type": "user", "id": body["user"]["id"]}
    assert created["actor"] == session["actor"] == me
    user_before_sign_in = {**body["user"], "last_sign_in_at": None}
    assert created["data"] == {"user": user_before_sign_in}
    assert session["data"] == {"session": without_tokens(body["session"])}


def test_admin_user_creation_and_changes(tenant: TenantKeys, secret_key_client: Any) -> None:
    actor = {"type": "api_key", "id": key_id(tenant)}
    user = secret_key_client.post("/v1/users", {"email": "bob@example.com", "name": "Bob"}, format="json").json()
    renamed = secret_key_client.patch(f"/v1/users/{user['id']}", {"name": "Robert"}, format="json").json()
    secret_key_client.patch(f"/v1/users/{user['id']}", {"name": "Robert"}, format="json")  # no change: no event
    disabled = secret_key_client.patch(f"/v1/users/{user['id']}", {"status": "disabled"}, format="json").json()
    enabled = secret_key_client.patch(f"/v1/users/{user['id']}", {"status": "active"}, format="json").json()
    new_password = secret_key_client.patch(f"/v1/users/{user['id']}", {"password": "An-admin-set-passphrase-7"},
                                      format="json").json()
    assert [(e["type"], e["actor"], e["data"]) for e in envelopes(user_id=user["id"])] == [
        ("user.created", actor, {"user": user}),
        ("user.updated", actor, {"user": renamed}),
        ("user.disabled", actor, {"user": disabled}),
        ("user.updated", actor, {"user": enabled}),
        ("user.password_changed", actor, {"user": new_password}),
    ]


def _revoked(**filters: Any) -> list[tuple[str, str, dict]]:
    return [(e["data"]["session"]["id"], e["data"]["reason"], e["actor"]) for e in
            envelopes(type="session.revoked", **filters)]


def test_disabling_a_user_revokes_each_session_with_its_event(tenant: TenantKeys, user: User,
                                                              sign_in: Callable[..., dict],
                                                              secret_key_client: Any) -> None:
    ids = [sign_in()["session"]["id"] for _ in range(3)]
    Event.objects.all().delete()
    assert secret_key_client.patch(f"/v1/users/{user.id}", {"status": "disabled"}, format="json").status_code == 200
    actor = {"type": "api_key", "id": key_id(tenant)}
    events = envelopes()
    assert events[0]["type"] == "user.disabled"  # the cause first, then its effects
    assert sorted(_revoked()) == sorted((sid, "user_disabled", actor) for sid in ids)
    for event in events[1:]:
        session = event["data"]["session"]
        assert session["status"] == "revoked" and session["revoked_reason"] == "user_disabled"
        assert session["revoked_at"] == event["created_at"]
        assert set(session) == {"id", "user_id", "tenant_id", "status", "user_agent", "ip_address", "country",
                                "device_type", "browser", "os", "created_at", "last_active_at", "expires_at",
                                "revoked_at", "revoked_reason", "flags"}
        assert session == without_tokens(secret_key_client.get(f"/v1/sessions/{session['id']}").json())


def test_every_revocation_path_records_its_reason_and_actor(tenant: TenantKeys, user: User,
                                                            sign_in: Callable[..., dict],
                                                            secret_key_client: Any) -> None:
    me, api_key, system = {"type": "user", "id": user.id}, {"type": "api_key", "id": key_id(tenant)}, \
        {"type": "system", "id": None}
    public = client_with(tenant.publishable_key, tenant.id)
    expected = []

    s = sign_in()
    assert user_client(s).post("/v1/auth/sign-out", {}, format="json").status_code == 204
    expected.append((s["session"]["id"], "signed_out", me))

    s = sign_in()
    assert public.post("/v1/auth/sign-out", {"refresh_token": s["session"]["refresh_token"]},
                       format="json").status_code == 204
    expected.append((s["session"]["id"], "signed_out", me))

    mine, other = sign_in(), sign_in()
    assert user_client(mine).delete(f"/v1/sessions/{other['session']['id']}").status_code == 204
    expected.append((other["session"]["id"], "revoked_by_user", me))

    assert secret_key_client.delete(f"/v1/sessions/{mine['session']['id']}").status_code == 204
    expected.append((mine["session"]["id"], "revoked_by_admin", api_key))

    s = sign_in()
    assert public.post("/v1/auth/token/refresh", {"refresh_token": s["session"]["refresh_token"]},
                       format="json").status_code == 200
    assert public.post("/v1/auth/token/refresh", {"refresh_token": s["session"]["refresh_token"]},
                       format="json").status_code == 401
    expected.append((s["session"]["id"], "refresh_token_reused", system))

    TenantConfig.objects.filter(tenant=tenant.tenant).update(max_sessions_per_user=1)
    oldest = sign_in()
    sign_in()
    expected.append((oldest["session"]["id"], "session_limit", system))
    TenantConfig.objects.filter(tenant=tenant.tenant).update(max_sessions_per_user=None)

    mine, other = sign_in(), sign_in()
    assert user_client(mine).post("/v1/auth/password", {"current_password": TEST_PASSWORD,
                                                        "new_password": "A-brand-new-passphrase-42"},
                                  format="json").status_code == 204
    revoked_by_password = {sid for sid, in Session.objects.filter(revoked_reason="password_changed")
                           .values_list("id")}
    assert other["session"]["id"] in revoked_by_password and mine["session"]["id"] not in revoked_by_password
    expected += [(sid, "password_changed", me) for sid in sorted(revoked_by_password)]
    [changed] = envelopes(type="user.password_changed")
    assert changed["actor"] == me and changed["data"]["user"]["id"] == user.id

    operator = get_user_model().objects.create_superuser("root", password=None)
    s = sign_in(password="A-brand-new-passphrase-42")
    services.revoke_sessions(session_ids=[s["session"]["id"]],
                             reason=RevocationReason.REVOKED_BY_ADMIN,
                             actor=Actor("operator", "root", operator=operator))
    expected.append((s["session"]["id"], "revoked_by_admin", {"type": "operator", "id": "root"}))

    got = _revoked()
    assert sorted(got[:5]) == sorted(expected[:5])
    assert sorted(got) == sorted(expected)
    # Revoking a revoked session changes nothing and records nothing.
    assert secret_key_client.delete(f"/v1/sessions/{s['session']['id']}").status_code == 204
    assert len(_revoked()) == len(expected)


def test_revoke_all_of_many_writes_one_event_per_session(tenant: TenantKeys, user: User,
                                                         secret_key_client: Any) -> None:
    sessions = SessionFactory.create_batch(30, user=user)
    SessionFactory(user=user, revoked_at=sessions[0].created_at, revoked_reason="signed_out")
    assert secret_key_client.delete(f"/v1/sessions?user_id={user.id}").json() == {"revoked": 30}
    events = Event.objects.filter(type="session.revoked")
    assert sorted(events.values_list("session_id", flat=True)) == sorted(s.id for s in sessions)
    assert len({e.public_id for e in events}) == 30
    assert {(e.tenant_id, e.user_id, e.data["reason"]) for e in events} == {(tenant.id, user.id, "revoked_by_admin")}


# --- Statements -------------------------------------------------------------------------------------


def _statements(user: User, n: int) -> list[str]:
    SessionFactory.create_batch(n, user=user)
    with CaptureQueriesContext(connection) as queries:
        revoked = services.revoke_sessions(session_ids=Session.objects.filter(user=user).values_list("pk", flat=True),
                                           reason=RevocationReason.REVOKED_BY_ADMIN, actor=services.SYSTEM)
    assert len(revoked) == n
    assert Event.objects.filter(type="session.revoked").count() == n
    Event.objects.all().delete()
    return [q["sql"] for q in queries.captured_queries]


def test_revoke_all_is_one_update_and_one_insert_whatever_the_number(user: User,
                                                                     django_assert_num_queries: Any) -> None:
    ten = _statements(user, 10)
    updates = [sql for sql in ten if sql.startswith('UPDATE "sessions_app_session"')]
    inserts = [sql for sql in ten if sql.startswith('INSERT INTO "sessions_app_event"')]
    assert (len(updates), len(inserts)) == (1, 1)
    locks = [sql for sql in ten if "pg_advisory_xact_lock" in sql]
    assert len(locks) == (connection.vendor == "postgresql")
    # Before the INSERT, right after the UPDATE.
    assert ten.index(inserts[0]) == ten.index(updates[0]) + 1 + len(locks)
    SessionFactory.create_batch(500, user=user)
    with django_assert_num_queries(len(ten)):
        unrevoked = Session.objects.filter(user=user, revoked_at__isnull=True).values_list("pk", flat=True)
        revoked = services.revoke_sessions(session_ids=unrevoked,
                                           reason=RevocationReason.REVOKED_BY_ADMIN, actor=services.SYSTEM)
    assert len(revoked) == 500 == Event.objects.count()


# --- Rollback and the audit trail ---------------------------------------------------------------------


class Boom(Exception):
    pass


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_change_leaves_no_event_and_no_audit_line(tenant: TenantKeys, user: User,
                                                                caplog: pytest.LogCaptureFixture) -> None:
    sessions = SessionFactory.create_batch(3, user=user)
    caplog.set_level(logging.INFO, logger="hellojohn.audit")
    with pytest.raises(Boom), transaction.atomic():
        services.update_user(user=user, actor=services.SYSTEM, status=User.Status.DISABLED)
        assert Event.objects.count() == 4  # written inside the transaction...
        raise Boom
    assert Event.objects.count() == 0  # ...and gone with it
    assert Session.objects.filter(revoked_at__isnull=False).count() == 0
    assert User.objects.get(pk=user.pk).status == User.Status.ACTIVE
    assert [r for r in caplog.records if r.name == "hellojohn.audit"] == []

    user.refresh_from_db()
    services.update_user(user=user, actor=services.SYSTEM, status=User.Status.DISABLED)
    lines = [(r.event, r.session_id, getattr(r, "reason", None), r.actor) for r in caplog.records
             if r.name == "hellojohn.audit"]
    assert lines[0] == ("user.disabled", None, None, "system")
    assert sorted(lines[1:]) == sorted(("session.revoked", s.id, "user_disabled", "system") for s in sessions)
    event_ids = {r.event_id for r in caplog.records if r.name == "hellojohn.audit"}
    assert event_ids == set(Event.objects.values_list("public_id", flat=True))


@pytest.mark.django_db(transaction=True)
def test_a_failed_sign_in_transaction_leaves_no_event(tenant: TenantKeys, user: User, monkeypatch: Any,
                                                      caplog: pytest.LogCaptureFixture) -> None:
    """The session, its token and its event commit together: a failure after the event's INSERT undoes it."""
    caplog.set_level(logging.INFO, logger="hellojohn.audit")
    TenantConfig.objects.filter(tenant=tenant.tenant).update(max_sessions_per_user=1)
    SessionFactory(user=user)

    def failing_revoke(**kwargs: Any) -> list[str]:
        raise Boom

    # The module, not the function of the same name that sessions_app.services re-exports.
    sign_in_rules = importlib.import_module("sessions_app.services.sign_in")
    monkeypatch.setattr(sign_in_rules, "revoke_sessions", failing_revoke)  # the limit runs after the event
    client = client_with(tenant.publishable_key, tenant.id)
    client.raise_request_exception = False
    response = client.post("/v1/auth/sign-in", {"email": user.email, "password": TEST_PASSWORD}, format="json")
    assert response.status_code == 500
    assert (Event.objects.count(), Session.objects.count()) == (0, 1)
    assert [r for r in caplog.records if r.name == "hellojohn.audit" and r.event.startswith("session.")] == []


# --- GET /v1/events ------------------------------------------------------------------------------------


def _make_events(tenant: TenantKeys, user: User, n: int) -> list[Event]:
    sessions = SessionFactory.create_batch(n, user=user)
    services.revoke_sessions(session_ids=[s.pk for s in sessions],
                             reason=RevocationReason.REVOKED_BY_ADMIN, actor=services.SYSTEM)
    return list(Event.objects.filter(tenant=tenant.tenant).order_by("-seq"))


def test_pages_newest_first_without_gaps_or_repeats(tenant: TenantKeys, user: User, secret_key_client: Any) -> None:
    expected = [event_dict(e) for e in _make_events(tenant, user, 25)]
    seen, cursor, pages = [], None, 0
    while True:
        query = "/v1/events?limit=10" + (f"&cursor={cursor}" if cursor else "")
        body = secret_key_client.get(query).json()
        pages += 1
        assert body["pagination"]["total"] == (25 if pages == 1 else 26) and body["pagination"]["limit"] == 10
        seen += body["data"]
        if pages == 1:  # an event appended meanwhile does not move the cursor
            _make_events(tenant, user, 1)
        cursor = body["pagination"]["next_cursor"]
        assert body["pagination"]["has_more"] is (cursor is not None)
        if cursor is None:
            break
        assert cursor.startswith("cur_")
    assert pages == 3
    assert seen == expected
    assert secret_key_client.get("/v1/events").json()["data"][0]["id"] == Event.objects.order_by("-seq")[0].public_id
    assert len(secret_key_client.get("/v1/events").json()["data"]) == 20  # the default limit


def test_filters(tenant: TenantKeys, user: User, secret_key_client: Any, sign_in: Callable[..., dict]) -> None:
    first = sign_in()
    second = sign_in()
    assert secret_key_client.delete(f"/v1/sessions/{first['session']['id']}").status_code == 204
    bob = secret_key_client.post("/v1/users", {"email": "bob@example.com"}, format="json").json()

    def ids(query: str) -> list[tuple[str, str | None]]:
        response = secret_key_client.get(f"/v1/events?{query}")
        assert response.status_code == 200, response.content
        return [(e["type"], e["data"].get("session", {}).get("id")) for e in response.json()["data"]]

    assert ids("type=session.created") == [("session.created", second["session"]["id"]),
                                           ("session.created", first["session"]["id"])]
    assert ids("type=session.revoked") == [("session.revoked", first["session"]["id"])]
    assert ids(f"session_id={first['session']['id']}") == [("session.revoked", first["session"]["id"]),
                                                           ("session.created", first["session"]["id"])]
    assert ids(f"user_id={bob['id']}") == [("user.created", None)]
    assert ids(f"user_id={user.id}&type=session.revoked") == [("session.revoked", first["session"]["id"])]
    assert ids("type=user.disabled") == []

    # since (inclusive) and until (exclusive) on created_at.
    events = list(Event.objects.order_by("seq"))
    Event.objects.filter(pk=events[0].pk).update(created_at="2024-01-15T10:00:00Z")
    Event.objects.filter(pk=events[1].pk).update(created_at="2024-01-15T11:00:00Z")
    assert len(ids("since=2024-01-15T10:00:00Z&until=2024-01-15T11:00:00Z")) == 1
    assert len(ids("until=2024-01-15T11:00:01Z")) == 2
    assert len(ids("since=2024-01-15T10:00:01%2B00:00")) == len(events) - 1
    assert len(ids("since=2024-01-15T12:00:00%2B02:00")) == len(events)  # 10:00 UTC, inclusive


@pytest.mark.parametrize("query", [
    "type=session.deleted", "type=", "user_id=ses_01JDQ8Z6V4X3N2M1K0HGFEDCBA", "user_id=usr_123",
    "session_id=usr_01JDQ8Z6V4X3N2M1K0HGFEDCBA", "since=yesterday", "since=2024-01-15T10:00:00",
    "until=2024-13-01T00:00:00Z", "since=2024-01-16T00:00:00Z&until=2024-01-15T00:00:00Z",
    "limit=0", "limit=101", "limit=x", "cursor=abc", "cursor=cur_", "cursor=cur_WyJwIiwtMV0",
    "cursor=cur_WyJwIix0cnVlXQ", "cursor=cur_WyIyMDI0LTAxLTE1VDEwOjMwOjAwKzAwOjAwIiwic2VzXzAxIl0",
    "since=%00", "type=%00",
])
def test_bad_parameters_answer_400_invalid_parameter(secret_key_client: Any, query: str) -> None:
    response = secret_key_client.get(f"/v1/events?{query}")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_parameter"


def test_tenants_never_see_each_other(tenant: TenantKeys, other_tenant: TenantKeys, user: User,
                                      secret_key_client: Any, sign_in: Callable[..., dict]) -> None:
    mine = sign_in()
    theirs_user = services.create_user(tenant=other_tenant.tenant, email="eve@example.com", password=TEST_PASSWORD)
    theirs = sign_in(email="eve@example.com", keys=other_tenant)
    other_admin = client_with(other_tenant.secret_key, other_tenant.id)
    assert {e["tenant_id"] for e in secret_key_client.get("/v1/events").json()["data"]} == {tenant.id}
    assert [e["type"] for e in other_admin.get("/v1/events").json()["data"]] == ["session.created", "user.created"]
    assert secret_key_client.get(f"/v1/events?user_id={theirs_user.id}").json()["data"] == []
    assert secret_key_client.get(f"/v1/events?session_id={theirs['session']['id']}").json()["pagination"]["total"] == 0
    assert other_admin.get(f"/v1/events?session_id={mine['session']['id']}").json()["data"] == []
    # A cursor of another tenant's page only positions; it reveals nothing of theirs.
    cursor_body = other_admin.get("/v1/events?limit=1").json()
    page = secret_key_client.get(f"/v1/events?cursor={cursor_body['pagination']['next_cursor']}").json()
    assert {e["tenant_id"] for e in page["data"]} <= {tenant.id}
    # Another tenant's secret key with this tenant's id.
    response = client_with(other_tenant.secret_key, tenant.id).get("/v1/events")
    assert (response.status_code, response.json()["error"]["code"]) == (403, "tenant_mismatch")


def test_only_the_secret_key_reads_events(tenant: TenantKeys, user: User, sign_in: Callable[..., dict]) -> None:
    body = sign_in()
    for client in (client_with(tenant.publishable_key, tenant.id), user_client(body)):
        response = client.get("/v1/events")
        assert (response.status_code, response.json()["error"]["code"]) == (403, "insufficient_permissions")
    response = client_with(None, tenant.id).get("/v1/events")
    assert (response.status_code, response.json()["error"]["code"]) == (401, "missing_token")


def test_listing_events_costs_two_queries_after_authentication(tenant: TenantKeys, user: User,
                                                               secret_key_client: Any) -> None:
    _make_events(tenant, user, 5)
    secret_key_client.get("/v1/events")  # warm: the key's last_used_at write
    with CaptureQueriesContext(connection) as few:
        secret_key_client.get("/v1/events?limit=100")
    _make_events(tenant, user, 60)
    with CaptureQueriesContext(connection) as many:
        assert len(secret_key_client.get("/v1/events?limit=100").json()["data"]) == 65
    assert len(few) == len(many)


def test_awkward_text_round_trips_through_the_bulk_insert(tenant: TenantKeys, user: User) -> None:
    """The rows travel as one JSON parameter: quotes, backslashes, JSON-looking text, non-BMP characters
    and line separators come back exactly."""
    awkward = 'Mozilla/5.0 "quoted" \\back\\slash {"json": [1]} \u2028 \U0001f600 ü ❤ \'single\' $[0]'
    sessions = SessionFactory.create_batch(3, user=user, user_agent=awkward, browser="", os="", country=None,
                                           ip_address=None)
    services.revoke_sessions(session_ids=[s.pk for s in sessions], reason=RevocationReason.SIGNED_OUT,
                             actor=Actor("operator", 'o"p\\erator'))
    stored = list(Event.objects.order_by("seq"))
    assert [e.data["session"]["user_agent"] for e in stored] == [awkward] * 3
    assert {(e.actor_id, e.data["session"]["country"], e.data["session"]["ip_address"]) for e in stored} == {
        ('o"p\\erator', None, None)}
    assert sorted(e.session_id for e in stored) == sorted(s.id for s in sessions)


def test_the_sessions_page_records_its_sign_in_and_sign_outs(tenant: TenantKeys, user: User) -> None:
    desktop = signed_in()
    phone = signed_in(user_agent="Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) Mobile/15E148 Safari/604.1")
    laptop = signed_in()
    phone_id, desktop_id, laptop_id = session_of(phone).id, session_of(desktop).id, session_of(laptop).id
    assert desktop.post(f"/t/acme/sessions/{phone_id}/sign-out").status_code == 302
    assert desktop.post("/t/acme/sign-out").status_code == 302
    me = {"type": "user", "id": user.id}
    assert [(e["type"], e["actor"]) for e in envelopes(type="session.created")] == [("session.created", me)] * 3
    assert _revoked() == [(phone_id, "revoked_by_user", me), (desktop_id, "signed_out", me)]
    assert laptop_id not in {e["data"]["session"]["id"] for e in envelopes(type="session.revoked")}
