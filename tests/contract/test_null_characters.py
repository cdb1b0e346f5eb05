"""NUL characters in addresses, forms and headers never answer 500, and are never stored (issue 12, 6).

Matters on PostgreSQL, which refuses a NUL in any string literal (SQLite stores it): run this module
on both. Every URL pattern of the admin and of the pages is requested with `%00` in each of its
parameters (the list comes from the URL resolver, so a new admin page is covered without a test
of its own), then with `%00` in each filter the admin offers.
"""

import re
from typing import Any

import pytest
from django.contrib import admin
from django.urls import URLPattern, URLResolver, get_resolver

from sessions_app.models import Session
from tests.admin_helpers import superuser_client
from tests.conftest import DESKTOP_CHROME, client_with
from tests.factories import TEST_PASSWORD, UserFactory
from tests.webpages import COOKIE, browser, signed_in

pytestmark = pytest.mark.django_db

GROUP = re.compile(r"\(\?P<\w+>[^)]*\)|<[^>]+>")


def _paths(patterns: list[Any], prefix: str) -> list[str]:
    """Every pattern under `prefix`, each parameter replaced by %00 (regex groups and <converters>)."""
    found = []
    for pattern in patterns:
        text = str(pattern.pattern).lstrip("^").rstrip("$").replace("\\Z", "")
        here = prefix + GROUP.sub("%00", text)
        if isinstance(pattern, URLResolver):
            found.extend(_paths(pattern.url_patterns, here))
        elif isinstance(pattern, URLPattern):
            found.append(here)
    return found


def admin_paths() -> list[str]:
    return sorted({path for path in _paths(admin.site.urls[0], "/admin/") if "%00" in path})


def page_paths() -> list[str]:
    resolver = next(p for p in get_resolver().url_patterns if str(p.pattern) == "t/")
    return sorted({path for path in _paths(resolver.url_patterns, "/t/") if "%00" in path})


def test_the_resolver_lists_every_admin_page_with_an_id() -> None:
    paths = admin_paths()
    for expected in ("/admin/sessions_app/session/%00/change/", "/admin/tenants_app/tenant/%00/change/",
                     "/admin/sessions_app/session/%00/revoke/", "/admin/tenants_app/user/%00/change/"):
        assert expected in paths, paths
    assert len(paths) >= 20


@pytest.mark.parametrize("path", admin_paths())
def test_every_admin_url_with_a_nul_answers_a_404_page(tenant: Any, path: str) -> None:
    client, _ = superuser_client()
    for send in (client.get, client.post):
        response = send(path)
        assert response.status_code == 404, (send, path, response.status_code)
        assert b"Page not found" in response.content


@pytest.mark.parametrize("path", page_paths())
def test_every_page_url_with_a_nul_answers_a_404_page(tenant: Any, user: Any, path: str) -> None:
    client = signed_in()
    token = str(client.get("/t/acme/sessions").context["csrf_token"])
    assert client.get(path).status_code == 404
    assert client.post(path, {"csrfmiddlewaretoken": token}).status_code == 404


FILTERS = ["tenant__id__exact", "revoked_reason", "device_type", "country", "status", "q", "o", "p",
           "user__id__exact", "tenant", "e", "_to_field", "all"]
CHANGELISTS = ["/admin/sessions_app/session/", "/admin/tenants_app/user/", "/admin/tenants_app/tenant/",
               "/admin/tenants_app/apikey/", "/admin/sessions_app/signingkey/", "/admin/"]


@pytest.mark.parametrize("changelist", CHANGELISTS)
def test_a_nul_in_any_filter_or_form_field_answers_400(tenant: Any, changelist: str) -> None:
    client, _ = superuser_client()
    if client.get(changelist).status_code == 404:
        pytest.skip(f"{changelist} is not registered")
    for name in FILTERS:
        assert client.get(f"{changelist}?{name}=%00").status_code == 400, name
        assert client.get(f"{changelist}?{name}%00=1").status_code == 400, name
    response = client.post(changelist, {"action": "revoke_sessions", "_selected_action": ["ses_\x00"]})
    assert response.status_code == 400
    assert b"Bad request" in response.content


def test_a_nul_in_the_user_agent_signs_in_and_is_not_stored(tenant: Any, user: Any) -> None:
    agent = "Mozilla/5.0\x00 (X11; Linux x86_64)\x01\x1f\x7f Firefox/120.0"
    api = client_with(tenant.publishable_key, tenant.id, HTTP_USER_AGENT=agent)
    response = api.post("/v1/auth/sign-in", {"email": "alice@example.com", "password": TEST_PASSWORD}, format="json")
    assert response.status_code == 200, response.content
    page = browser(user_agent=agent)
    assert page.post("/t/acme/sign-in", {"email": "alice@example.com", "password": TEST_PASSWORD}).status_code == 302
    stored = list(Session.objects.filter(user=user).values_list("user_agent", flat=True))
    assert stored == ["Mozilla/5.0 (X11; Linux x86_64) Firefox/120.0"] * 2
    assert response.json()["session"]["user_agent"] == "Mozilla/5.0 (X11; Linux x86_64) Firefox/120.0"


@pytest.mark.parametrize("header", ["HTTP_X_TENANT_ID", "HTTP_AUTHORIZATION", "HTTP_X_FORWARDED_FOR",
                                    "HTTP_COOKIE", "HTTP_USER_AGENT", "HTTP_ORIGIN", "HTTP_HOST", "HTTP_REFERER",
                                    "HTTP_X_REQUEST_ID", "HTTP_ACCEPT_LANGUAGE", "HTTP_CF_IPCOUNTRY"])
def test_a_nul_in_any_header_never_answers_500(tenant: Any, settings: Any, header: str) -> None:
    settings.HJ_COUNTRY_HEADER = "CF-IPCountry"
    settings.HJ_TRUSTED_PROXIES = ["127.0.0.0/8"]
    UserFactory(tenant=tenant.tenant, email="alice@example.com")
    client, _ = superuser_client()
    cookies = f"sessionid=abcdefgh\x00; __Host-sessionid=abcdefgh\x00; {COOKIE}=a\x00"
    value = cookies if header == "HTTP_COOKIE" else "x\x00y"
    sign_in_body = {"email": "alice@example.com", "password": TEST_PASSWORD}
    requests = [
        ("post", "/v1/auth/sign-in", {"data": sign_in_body, "format": "json"}, client_with(tenant.publishable_key,
                                                                                        tenant.id)),
        ("get", "/v1/sessions", {}, client_with(tenant.secret_key, tenant.id)),
        ("get", "/t/acme/sessions", {}, browser()),
        ("post", "/t/acme/sign-in", {"data": sign_in_body}, browser(user_agent=DESKTOP_CHROME)),
        ("get", "/admin/sessions_app/session/", {}, client),
        ("get", "/.well-known/jwks.json", {}, browser()),
    ]
    for method, path, kwargs, sender in requests:
        response = getattr(sender, method)(path, **kwargs, **{header: value})
        assert response.status_code < 500, (header, path, response.status_code)
    assert not [agent for agent in Session.objects.values_list("user_agent", flat=True) if "\x00" in agent]
