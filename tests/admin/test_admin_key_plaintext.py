"""A new key's plaintext leaves the server only in the page that shows it once (issue 12, 8).

It used to wait for that page in the `messages` cookie (signed, not encrypted). Now it waits in the
operator's database-backed session: no response sets a cookie that carries it, and once shown it is
gone from the session too.
"""

import re

import pytest
from django.contrib.sessions.models import Session as OperatorSession
from django.test import Client

from tests.admin_helpers import superuser_client

pytestmark = pytest.mark.django_db

KEY = re.compile(r"(?:sk|pk)_(?:live|test)_[A-Za-z0-9_-]{30,}")  # a whole key, not its display prefix


def stored_session_texts() -> str:
    return " ".join(str(row.get_decoded()) for row in OperatorSession.objects.all())


def assert_shown_once(client: Client, response, shown_at: str) -> list[str]:
    assert response.status_code == 302
    for morsel in response.cookies.values():
        assert not KEY.search(morsel.value), morsel.key
    assert "messages" not in response.cookies
    waiting = KEY.findall(stored_session_texts())
    assert waiting, "the plaintext waits server-side for the next page"
    page = client.get(response["Location"])
    assert page.status_code == 200
    html = page.content.decode()
    assert all(plaintext in html for plaintext in waiting)
    for morsel in page.cookies.values():
        assert not KEY.search(morsel.value), morsel.key
    assert KEY.findall(stored_session_texts()) == []  # shown, then gone
    assert not any(plaintext in client.get(shown_at).content.decode() for plaintext in waiting)
    return waiting


def test_an_issued_keys_plaintext_never_travels_in_a_cookie(tenant) -> None:
    client, _ = superuser_client()
    response = client.post("/admin/tenants_app/apikey/add/", {"tenant": tenant.id, "kind": "secret", "mode": "test"})
    (plaintext,) = assert_shown_once(client, response, "/admin/tenants_app/apikey/")
    assert plaintext.startswith("sk_test_")


def test_a_new_tenants_keys_never_travel_in_a_cookie() -> None:
    client, _ = superuser_client()
    response = client.post("/admin/tenants_app/tenant/add/", {"name": "Initech", "slug": ""})
    assert len(assert_shown_once(client, response, "/admin/tenants_app/tenant/")) == 2
