"""The admin's event history on a session's and a user's page: who did what, when, from the event log."""

import re
from typing import Any

import pytest
from django.contrib.admin.utils import quote

from sessions_app.admin_selectors import HISTORY_LIMIT
from sessions_app.event_model import Event
from tenants_app.models import User
from tests.admin_helpers import action, superuser_client
from tests.conftest import TenantKeys, client_with

pytestmark = pytest.mark.django_db

SESSIONS = "/admin/sessions_app/session/"
USERS = "/admin/tenants_app/user/"


def history_rows(html: str) -> list[list[str]]:
    """The event history's cells as text: when, event, by, [session,] details, event id."""
    [table] = re.findall(r'<table class="hj-events">(.*?)</table>', html, re.S)
    rows = re.findall(r"<tr><td>(.*?)</td></tr>", table, re.S)
    return [[re.sub(r"<[^>]+>", "", cell) for cell in re.split(r"</td><td[^>]*>", row)] for row in rows]


def test_a_sessions_page_shows_who_created_and_who_revoked_it(tenant: TenantKeys, user: User,
                                                               sign_in: Any) -> None:
    client, _ = superuser_client("root")
    body = sign_in(ip="203.0.113.7")
    session_id = body["session"]["id"]
    action(client, SESSIONS, "revoke_selected", [session_id])
    rows = history_rows(client.get(f"{SESSIONS}{quote(session_id)}/change/").content.decode())
    assert [(r[1], r[2]) for r in rows] == [("session.revoked", "Operator root"),
                                            ("session.created", f"User {user.pk}")]
    assert rows[0][3] == "revoked_by_admin"
    assert rows[1][3] == "Chrome 120 on macOS 10.15, 203.0.113.7"
    events = list(Event.objects.order_by("-seq"))
    assert [r[4] for r in rows] == [e.public_id for e in events]
    assert rows[0][0] == events[0].created_at.strftime("%Y-%m-%d %H:%M:%S")


def test_a_users_page_shows_the_users_events_and_escapes_them(tenant: TenantKeys, secret_key_client: Any) -> None:
    client, _ = superuser_client("root")
    user = secret_key_client.post("/v1/users", {"email": "bob@example.com", "name": "<script>x</script>"},
                             format="json").json()
    secret_key_client.patch(f"/v1/users/{user['id']}", {"status": "disabled"}, format="json")
    html = client.get(f"{USERS}{user['id']}/change/").content.decode()
    rows = history_rows(html)
    key = Event.objects.get(type="user.created").actor_id
    # A user's page adds the session column: "—" for events about the user alone.
    assert [(r[1], r[2], r[3], r[4]) for r in rows] == [
        ("user.disabled", f"API key {key}", "—", "bob@example.com, disabled"),
        ("user.created", f"API key {key}", "—", "bob@example.com, active")]
    assert "<script>x</script>" not in html


def test_another_users_events_stay_off_the_page_and_the_history_is_capped(tenant: TenantKeys, user: User,
                                                                          sign_in: Any) -> None:
    client, _ = superuser_client("root")
    other = User.objects.create(tenant=tenant.tenant, email="carol@example.com")
    sign_in()
    admin = client_with(tenant.secret_key, tenant.id)
    for n in range(HISTORY_LIMIT + 1):
        admin.patch(f"/v1/users/{user.id}", {"name": f"name {n}"}, format="json")
    html = client.get(f"{USERS}{user.pk}/change/").content.decode()
    assert len(history_rows(html)) == HISTORY_LIMIT and "GET /v1/events lists them all" in html
    assert "No events." in client.get(f"{USERS}{other.pk}/change/").content.decode()
