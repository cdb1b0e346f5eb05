"""Device metadata captured at sign-in: user agent, client IP behind declared proxies, country (issue 3)."""

import pytest

from sessions_app.device import country_for, summarize_user_agent
from sessions_app.models import Session
from tests.conftest import client_with
from tests.factories import TEST_PASSWORD

USER_AGENTS = {
    "desktop chrome": (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/120.0.0.0 Safari/537.36", "desktop", "Chrome 120", "macOS 10.15"),
    "iphone safari": (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Version/17.1 Mobile/15E148 Safari/604.1", "mobile", "Mobile Safari 17", "iOS 17.1"),
    "ipad": (
        "Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Version/16.6 Mobile/15E148 Safari/604.1", "tablet", "Mobile Safari 16", "iOS 16.6"),
    "android chrome": (
        "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/120.0.6099.43 Mobile Safari/537.36", "mobile", "Chrome Mobile 120", "Android 14"),
    "googlebot": (
        "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", "bot", "Googlebot 2", ""),
    "curl": ("curl/8.4.0", "unknown", "curl 8", ""),
    "empty": ("", "unknown", "", ""),
}


@pytest.mark.parametrize("name", USER_AGENTS)
def test_user_agents_give_sensible_devices(name):
    user_agent, device_type, browser, os = USER_AGENTS[name]
    summary = summarize_user_agent(user_agent)
    assert (summary.device_type, summary.browser, summary.os) == (device_type, browser, os)


@pytest.mark.parametrize(("ip", "country"), [
    ("8.8.8.8", "US"), ("127.0.0.1", None), ("10.0.0.1", None), ("203.0.113.42", None),
    ("::ffff:8.8.8.8", "US"), ("::1", None), ("not an ip", None), (None, None),
])
def test_country_lookup(ip, country):
    assert country_for(ip) == country


def sign_in_from(tenant, *, remote_addr, **headers):
    client = client_with(tenant.publishable_key, tenant.id, REMOTE_ADDR=remote_addr, **headers)
    response = client.post("/v1/auth/sign-in", {"email": "alice@example.com", "password": TEST_PASSWORD},
                           format="json")
    assert response.status_code == 200, response.content
    return Session.objects.get(pk=response.json()["session"]["id"])


@pytest.mark.django_db
def test_spoofed_forwarded_for_from_untrusted_client_is_ignored(tenant, user, settings):
    settings.HJ_TRUSTED_PROXIES = []
    session = sign_in_from(tenant, remote_addr="81.2.69.142", HTTP_X_FORWARDED_FOR="8.8.8.8")
    assert (session.ip_address, session.country) == ("81.2.69.142", "GB")


@pytest.mark.django_db
def test_forwarded_for_is_read_behind_a_declared_proxy(tenant, user, settings):
    settings.HJ_TRUSTED_PROXIES = ["10.0.0.0/8"]
    session = sign_in_from(tenant, remote_addr="10.0.0.5", HTTP_X_FORWARDED_FOR="1.2.3.4, 8.8.8.8")
    # The client prepended 1.2.3.4 itself; the proxy appended the address it really saw.
    assert (session.ip_address, session.country) == ("8.8.8.8", "US")
    session = sign_in_from(tenant, remote_addr="10.0.0.5", HTTP_X_FORWARDED_FOR="8.8.8.8, 10.0.0.7")
    assert session.ip_address == "8.8.8.8"


@pytest.mark.django_db
def test_cdn_country_header_only_from_a_trusted_proxy(tenant, user, settings):
    settings.HJ_TRUSTED_PROXIES = ["10.0.0.0/8"]
    settings.HJ_COUNTRY_HEADER = "CF-IPCountry"
    trusted = sign_in_from(tenant, remote_addr="10.0.0.5", HTTP_X_FORWARDED_FOR="203.0.113.9",
                           HTTP_CF_IPCOUNTRY="de")
    assert trusted.country == "DE"
    direct = sign_in_from(tenant, remote_addr="8.8.8.8", HTTP_CF_IPCOUNTRY="DE")
    assert direct.country == "US"


@pytest.mark.django_db
def test_long_user_agent_is_truncated(tenant, user):
    session = sign_in_from(tenant, remote_addr="127.0.0.1", HTTP_USER_AGENT="Mozilla/5.0 " + "x" * 8000)
    assert len(session.user_agent) == 512
