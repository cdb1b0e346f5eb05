"""Risk flags at sign-in (docs/api.md, "Risk flags"): each rule's hit, miss, threshold, unknown country and
first sign-in, through the API with the country taken from X-Forwarded-For behind a trusted proxy."""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from io import StringIO
from typing import Any

import pytest
import time_machine

from sessions_app.flags import FLAG_CODES
from sessions_app.geo import min_distance_km
from sessions_app.models import Session, SignInFailure
from tests.conftest import DESKTOP_CHROME, IPHONE_SAFARI, client_with
from tests.factories import TEST_PASSWORD

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
IP = {"US": "8.8.8.8", "JP": "133.1.1.1", "DE": "5.9.0.1", "ES": "81.0.0.1", "CA": "24.48.0.1",
      "MX": "189.203.0.1", None: "192.168.1.5"}
PROXY = "10.0.0.7"
FIREFOX_WINDOWS = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0"
CHROME_121 = DESKTOP_CHROME.replace("Chrome/120.0.0.0", "Chrome/121.0.0.0")


@pytest.fixture(autouse=True)
def _behind_a_proxy(settings: Any) -> None:
    settings.HJ_TRUSTED_PROXIES = ["10.0.0.0/8"]
    settings.HJ_RATE_SIGN_IN_PER_EMAIL = "1000/min"


@pytest.fixture
def sign_in_at(tenant: Any, user: Any) -> Callable[..., dict[str, Any]]:
    """Signs alice in at `minutes` after T0 from `country` (through the proxy); answers the session object."""

    def do(minutes: float, country: str | None = "US", user_agent: str = DESKTOP_CHROME) -> dict[str, Any]:
        with time_machine.travel(T0 + timedelta(minutes=minutes), tick=False):
            client = client_with(tenant.publishable_key, tenant.id, HTTP_USER_AGENT=user_agent,
                                 REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=IP[country])
            response = client.post("/v1/auth/sign-in", {"email": "alice@example.com", "password": TEST_PASSWORD},
                                   format="json")
        assert response.status_code == 200, response.content
        session = response.json()["session"]
        assert session["country"] == country
        return session

    return do


def fail_at(tenant: Any, minutes: float, times: int) -> None:
    with time_machine.travel(T0 + timedelta(minutes=minutes), tick=False):
        client = client_with(tenant.publishable_key, tenant.id, REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=IP["US"])
        for _ in range(times):
            response = client.post("/v1/auth/sign-in", {"email": "Alice@Example.com ", "password": "wrong password"},
                                   format="json")
            assert response.status_code == 401


def codes(session: dict[str, Any]) -> list[str]:
    return [flag["code"] for flag in session["flags"]]


def stored(session: dict[str, Any]) -> list[str]:
    return list(Session.objects.get(pk=session["id"]).flags)


# Each case: earlier sign-ins as (minutes after T0, country, user agent), then the sign-in under test,
# then the codes it must carry. Same device throughout unless the case is about devices.
CASES = {
    # new_country
    "new country: hit": ([(0, "US", DESKTOP_CHROME)], (600, "JP", DESKTOP_CHROME), ["new_country"]),
    "new country: miss": ([(0, "US", DESKTOP_CHROME)], (600, "US", DESKTOP_CHROME), []),
    "new country: unknown country skips it": ([(0, "US", DESKTOP_CHROME)], (600, None, DESKTOP_CHROME), []),
    "new country: only unknown earlier": ([(0, None, DESKTOP_CHROME)], (600, "US", DESKTOP_CHROME), []),
    "new country: older than 90 days does not count": (
        [(0, "JP", DESKTOP_CHROME), (90 * 1440 + 1, "US", DESKTOP_CHROME)], (90 * 1440 + 600, "JP", DESKTOP_CHROME),
        ["new_country"]),
    "new country: exactly 90 days ago still counts": (
        [(0, "JP", DESKTOP_CHROME), (10, "US", DESKTOP_CHROME)], (90 * 1440, "JP", DESKTOP_CHROME), []),
    # new_device
    "new device: hit": ([(0, "US", DESKTOP_CHROME)], (600, "US", IPHONE_SAFARI), ["new_device"]),
    "new device: other browser on another system": (
        [(0, "US", DESKTOP_CHROME)], (600, "US", FIREFOX_WINDOWS), ["new_device"]),
    "new device: a browser update is not new": ([(0, "US", DESKTOP_CHROME)], (600, "US", CHROME_121), []),
    "new device: unknown country still checks the device": (
        [(0, "US", DESKTOP_CHROME)], (600, None, IPHONE_SAFARI), ["new_device"]),
    # impossible_travel (US-JP: at least 1,986 km between the nearest points of their boxes)
    "travel: hit (one hour)": (
        [(0, "US", DESKTOP_CHROME), (0, "JP", DESKTOP_CHROME), (30, "US", DESKTOP_CHROME)],
        (90, "JP", DESKTOP_CHROME), ["impossible_travel"]),
    "travel: miss (three hours)": (
        [(0, "US", DESKTOP_CHROME), (0, "JP", DESKTOP_CHROME), (30, "US", DESKTOP_CHROME)],
        (210, "JP", DESKTOP_CHROME), []),
    "travel: neighbours never": ([(0, "US", DESKTOP_CHROME)], (1, "CA", DESKTOP_CHROME), ["new_country"]),
    "travel: unknown country skips it": ([(0, "US", DESKTOP_CHROME)], (1, None, DESKTOP_CHROME), []),
    "travel: from the latest known country": (
        [(0, "JP", DESKTOP_CHROME), (1, "US", DESKTOP_CHROME), (5, None, DESKTOP_CHROME)],
        (10, "JP", DESKTOP_CHROME), ["impossible_travel"]),
    # many_countries (sessions of US, CA stay active)
    "many countries: hit at three": (
        [(0, "US", DESKTOP_CHROME), (1, "CA", DESKTOP_CHROME)], (600, "MX", DESKTOP_CHROME), ["new_country",
                                                                                               "many_countries"]),
    "many countries: two is fine": ([(0, "US", DESKTOP_CHROME), (1, "CA", DESKTOP_CHROME)],
                                    (600, "CA", DESKTOP_CHROME), []),
    "many countries: unknown country skips it": (
        [(0, "US", DESKTOP_CHROME), (1, "CA", DESKTOP_CHROME), (2, "MX", DESKTOP_CHROME)],
        (600, None, DESKTOP_CHROME), []),
    # burst: the fifth sign-in within 10 minutes
    "burst: hit at the fifth": ([(m, "US", DESKTOP_CHROME) for m in (0, 1, 2, 3)], (9, "US", DESKTOP_CHROME),
                                ["burst"]),
    "burst: the fourth is fine": ([(m, "US", DESKTOP_CHROME) for m in (1, 2, 3)], (9, "US", DESKTOP_CHROME), []),
    "burst: exactly 10 minutes ago is outside": ([(m, "US", DESKTOP_CHROME) for m in (0, 1, 2, 3)],
                                                 (10, "US", DESKTOP_CHROME), []),
    "burst: counts with an unknown country": ([(m, "US", DESKTOP_CHROME) for m in (0, 1, 2, 3)],
                                              (9, None, DESKTOP_CHROME), ["burst"]),
}


@pytest.mark.parametrize("name", CASES)
def test_rule(name: str, sign_in_at: Callable[..., dict[str, Any]]) -> None:
    earlier, (minutes, country, user_agent), expected = CASES[name]
    for when, where, agent in earlier:
        sign_in_at(when, where, agent)
    session = sign_in_at(minutes, country, user_agent)
    assert codes(session) == expected
    assert stored(session) == expected


@pytest.mark.parametrize(("failures", "minutes_before", "expected"), [
    (5, 1, ["after_failures"]),   # hit, at the threshold
    (4, 1, []),                   # one short
    (9, 1, ["after_failures"]),
    (5, 15, ["after_failures"]),  # exactly 15 minutes before still counts
    (5, 16, []),                  # outside the window
])
def test_after_failures(failures: int, minutes_before: int, expected: list[str], tenant: Any,
                        sign_in_at: Callable[..., dict[str, Any]]) -> None:
    sign_in_at(0)
    fail_at(tenant, 600 - minutes_before, failures)
    assert SignInFailure.objects.count() == failures
    assert codes(sign_in_at(600)) == expected


def test_failures_of_another_tenant_or_email_do_not_count(tenant: Any, other_tenant: Any,
                                                          sign_in_at: Callable[..., dict[str, Any]]) -> None:
    sign_in_at(0)
    with time_machine.travel(T0 + timedelta(minutes=599), tick=False):
        for keys, email in ((other_tenant, "alice@example.com"), (tenant, "bob@example.com")):
            client = client_with(keys.publishable_key, keys.id, REMOTE_ADDR=PROXY)
            for _ in range(5):
                client.post("/v1/auth/sign-in", {"email": email, "password": "wrong"}, format="json")
    assert SignInFailure.objects.count() == 10
    assert codes(sign_in_at(600)) == []


def test_failures_are_stored_without_the_email(tenant: Any, user: Any) -> None:
    fail_at(tenant, 0, 1)
    failure = SignInFailure.objects.get()
    assert "alice" not in failure.email_hash and len(failure.email_hash) == 64


@pytest.mark.parametrize("rule_setup", ["nothing before", "failures"])
def test_first_session_is_never_flagged(rule_setup: str, tenant: Any,
                                       sign_in_at: Callable[..., dict[str, Any]]) -> None:
    if rule_setup == "failures":
        fail_at(tenant, 0, 6)
    session = sign_in_at(5, "JP", IPHONE_SAFARI)
    assert codes(session) == [] and stored(session) == []


def test_purge_sessions_deletes_failures_older_than_a_day(tenant: Any, user: Any) -> None:
    from django.core.management import call_command

    fail_at(tenant, 0, 2)
    with time_machine.travel(T0 + timedelta(days=1, minutes=-1), tick=False):
        SignInFailure.objects.create(tenant=tenant.tenant, email_hash="0" * 64, at=T0 + timedelta(hours=23))
        call_command("purge_sessions", stdout=StringIO())
    assert SignInFailure.objects.count() == 3
    with time_machine.travel(T0 + timedelta(days=1, minutes=1), tick=False):
        call_command("purge_sessions", stdout=StringIO())
    assert list(SignInFailure.objects.values_list("email_hash", flat=True)) == ["0" * 64]


def test_sign_up_session_is_not_flagged(tenant: Any) -> None:
    client = client_with(tenant.publishable_key, tenant.id, REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=IP["JP"])
    response = client.post("/v1/auth/sign-up", {"email": "new@example.com", "password": TEST_PASSWORD}, format="json")
    assert response.status_code == 201
    assert response.json()["session"]["flags"] == []


def test_travel_threshold_is_1000_km_per_hour(sign_in_at: Callable[..., dict[str, Any]]) -> None:
    """US then JP: flagged when the time between them is just under distance / 1,000 km/h, not at it."""
    distance = min_distance_km("US", "JP")
    assert distance is not None and 1500 < distance < 12000
    at_threshold = distance / 1000 * 60  # minutes
    sign_in_at(0, "JP")
    sign_in_at(1, "US")
    just_under = sign_in_at(1 + at_threshold - 0.02, "JP")
    assert "impossible_travel" in codes(just_under)
    sign_in_at(2000, "US")
    at = sign_in_at(2000 + at_threshold + 0.02, "JP")
    assert "impossible_travel" not in codes(at)


def test_flag_details_name_what_was_seen(sign_in_at: Callable[..., dict[str, Any]]) -> None:
    sign_in_at(0, "US")
    session = sign_in_at(30, "JP", IPHONE_SAFARI)
    assert session["flags"][0] == {"code": "new_country",
                                   "detail": "First sign-in from JP; earlier sessions were in US."}
    assert codes(session) == ["new_country", "new_device", "impossible_travel"]
    assert session["flags"][2]["detail"].startswith("Signed in from JP 30 minutes after a sign-in from US, at least ")


def test_flags_never_change_after_creation(sign_in_at: Callable[..., dict[str, Any]], secret_key_client: Any) -> None:
    sign_in_at(0, "US")
    flagged = sign_in_at(30, "JP")
    for minutes in (40, 50, 60):
        sign_in_at(minutes, "JP")
    body = secret_key_client.get(f"/v1/sessions/{flagged['id']}").json()
    assert body["flags"] == flagged["flags"]


def test_sign_in_query_count_does_not_grow_with_history(tenant: Any, user: Any) -> None:
    """The same queries with 10 and with 1,000 earlier sessions in the 90 days (and a flagged result)."""
    import factory
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from sessions_app.device import describe_device
    from sessions_app.services import sign_in
    from tests.factories import SessionFactory

    device = describe_device(user_agent=IPHONE_SAFARI, ip_address=IP["JP"])
    counts = []
    for earlier in (10, 990):
        SessionFactory.create_batch(earlier, user=user, tenant=tenant.tenant,
                                    country=factory.Iterator(["US", "CA", "DE", "ES"]),
                                    created_at=factory.Sequence(lambda n: timezone.now() - timedelta(minutes=20 + n)))
        Session.objects.filter(device_type="mobile").delete()  # the previous round's sign-in
        with CaptureQueriesContext(connection) as queries:
            signed_in = sign_in(tenant=tenant.tenant, email="alice@example.com", password=TEST_PASSWORD,
                                device=device)
        assert {"new_country", "new_device", "many_countries"} <= set(signed_in.issued.session.flags)
        counts.append(len([q for q in queries.captured_queries if "signingkey" not in q["sql"]]))
    assert Session.objects.filter(user=user).count() == 1001
    # The sign-in (lock, re-read, event log and its lock on PostgreSQL, token) and the three of the rules.
    assert counts[0] == counts[1] <= 13


def test_every_code_is_documented() -> None:
    assert set(FLAG_CODES) == {"new_country", "new_device", "impossible_travel", "many_countries", "burst",
                               "after_failures"}


# --- GET /v1/sessions?flagged=…&flag=… ------------------------------------------------------------------


@pytest.fixture
def three_sessions(sign_in_at: Callable[..., dict[str, Any]]) -> dict[str, str]:
    return {
        "plain": sign_in_at(0, "US")["id"],
        "country": sign_in_at(600, "JP")["id"],                   # new_country
        "device": sign_in_at(2000, "US", IPHONE_SAFARI)["id"],    # new_device
    }


@pytest.mark.parametrize(("query", "expected"), [
    ("flagged=true", ["device", "country"]),
    ("flagged=false", ["plain"]),
    ("flag=new_country", ["country"]),
    ("flag=new_device", ["device"]),
    ("flag=burst", []),
    ("flagged=true&flag=new_device", ["device"]),
    ("flagged=false&flag=new_device", []),
    ("", ["device", "country", "plain"]),
])
def test_list_filters_by_flags(query: str, expected: list[str], three_sessions: dict[str, str],
                               secret_key_client: Any) -> None:
    with time_machine.travel(T0 + timedelta(minutes=2001), tick=False):
        response = secret_key_client.get(f"/v1/sessions?{query}")
    assert response.status_code == 200
    assert [row["id"] for row in response.json()["data"]] == [three_sessions[name] for name in expected]


@pytest.mark.parametrize("query", ["flagged=maybe", "flagged=", "flag=unknown", "flag=NEW_COUNTRY", "flag="])
def test_bad_flag_filters_answer_invalid_parameter(query: str, secret_key_client: Any) -> None:
    from tests.conftest import error_code

    response = secret_key_client.get(f"/v1/sessions?{query}")
    assert (response.status_code, error_code(response)) == (400, "invalid_parameter")
    assert list(response.json()["error"]["fields"]) == [query.split("=")[0]]


def test_openapi_documents_flags_and_filters(secret_key_client: Any) -> None:
    schema = secret_key_client.get("/v1/openapi.json").json()
    parameters = {p["name"]: p for p in schema["paths"]["/v1/sessions"]["get"]["parameters"]}
    assert set(parameters["flag"]["schema"]["enum"]) == set(FLAG_CODES)
    assert parameters["flagged"]["schema"]["type"] == "boolean"
    schemas = schema["components"]["schemas"]
    assert "flags" in schemas["SessionWithCurrentOut"]["required"]
    assert schemas["SessionOut"]["properties"]["flags"]["items"] == {"$ref": "#/components/schemas/FlagOut"}
    assert set(schemas["FlagCodeEnum"]["enum"]) == set(FLAG_CODES)
    assert schemas["SignInAlertsEnum"]["enum"] == ["off", "flagged", "all"]
    assert schemas["ConfigOut"]["properties"]["sign_in_alerts"] == {"$ref": "#/components/schemas/SignInAlertsEnum"}
